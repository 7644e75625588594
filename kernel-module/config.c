// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-loopback, layer 3: virtio_config_ops: config space, status,
 * features and queues as the virtio drivers see them.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/version.h>
#include <linux/virtio_config.h>

#include "dev.h"

static void vl_get(struct virtio_device *vdev, unsigned int offset,
		   void *buf, unsigned int len)
{
	struct vl_dev *d = to_vl_dev(vdev);
	unsigned long flags;

	if (offset > d->config_size || len > d->config_size - offset) {
		memset(buf, 0, len);
		return;
	}
	spin_lock_irqsave(&d->config_lock, flags);
	memcpy(buf, d->config + offset, len);
	spin_unlock_irqrestore(&d->config_lock, flags);
}

/*
 * A config write reaches the back end before the driver's next read
 * (virtio-input writes select/subsel, then reads the answer): each chunk
 * waits for the adapter, which pushes the fresh config with SET_CONFIG.
 */
static void vl_set(struct virtio_device *vdev, unsigned int offset,
		   const void *buf, unsigned int len)
{
	struct vl_dev *d = to_vl_dev(vdev);
	struct virtio_loopback_event ev;
	unsigned long flags;
	unsigned int n;

	if (offset > d->config_size || len > d->config_size - offset)
		return;
	/* Apply locally, so a read sees the write even before the adapter. */
	spin_lock_irqsave(&d->config_lock, flags);
	memcpy(d->config + offset, buf, len);
	spin_unlock_irqrestore(&d->config_lock, flags);

	while (len) {
		n = min_t(unsigned int, len, VIRTIO_LOOPBACK_CONFIG_WRITE_MAX);
		memset(&ev, 0, sizeof(ev));
		ev.type = VIRTIO_LOOPBACK_EVENT_CONFIG_WRITE;
		ev.u.config_write.offset = offset;
		ev.u.config_write.size = n;
		memcpy(ev.u.config_write.data, buf, n);
		vl_sync_request(d, &ev, "config write", false);
		buf += n;
		offset += n;
		len -= n;
	}
}

static u32 vl_generation(struct virtio_device *vdev)
{
	return READ_ONCE(to_vl_dev(vdev)->config_gen);
}

static u8 vl_get_status(struct virtio_device *vdev)
{
	return READ_ONCE(to_vl_dev(vdev)->status);
}

static void vl_set_status(struct virtio_device *vdev, u8 status)
{
	struct vl_dev *d = to_vl_dev(vdev);
	struct virtio_loopback_event ev = {};
	unsigned long flags;
	unsigned int i;
	bool failed;
	u8 old;

	spin_lock_irqsave(&d->config_lock, flags);
	old = d->status;
	/* The driver's status came from get_status(); keep what we add. */
	if (d->failed)
		status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	d->status = status;
	failed = d->failed;
	spin_unlock_irqrestore(&d->config_lock, flags);

	if ((status & ~old) & VIRTIO_CONFIG_S_FEATURES_OK) {
		ev.type = VIRTIO_LOOPBACK_EVENT_FEATURES_OK;
		ev.u.features_ok.features = vdev->features;
		vl_dev_event(d, &ev);
	}
	if (!((status & ~old) & VIRTIO_CONFIG_S_DRIVER_OK))
		return;
	/* Used entries reach the driver from now on. */
	for (i = 0; i < d->num_queues; i++)
		vl_vq_enable(&d->queues[i]);
	if (failed) {
		/* User space gave up on it already: no DRIVER_OK event. */
		vl_dev_break(d);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = VIRTIO_LOOPBACK_EVENT_DRIVER_OK;
	ev.u.driver_ok.num_queues = d->num_queues;
	vl_dev_event(d, &ev);
}

/*
 * A reset ends FAIL_DEVICE's state (the driver may start again; a
 * FAIL_DEVICE that comes while the adapter handles this reset counts for
 * the next start), but not a broken rule's, and not removal. The adapter
 * stops the back end's rings before the shadow rings go back to the pool;
 * then no delivery runs any more.
 */
static void vl_reset(struct virtio_device *vdev)
{
	struct vl_dev *d = to_vl_dev(vdev);
	struct virtio_loopback_event ev = {
		.type = VIRTIO_LOOPBACK_EVENT_RESET,
	};
	unsigned long flags;
	unsigned int i;

	mutex_lock(&d->lock);
	spin_lock_irqsave(&d->config_lock, flags);
	d->status = 0;
	d->failed = d->dead;
	spin_unlock_irqrestore(&d->config_lock, flags);
	if (!d->dead && !READ_ONCE(d->removing))
		d->failing = false;
	mutex_unlock(&d->lock);
	vl_sync_request(d, &ev, "reset", true);
	for (i = 0; i < d->num_queues; i++)
		vl_vq_stop(&d->queues[i]);
}

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
static int vl_find_vqs(struct virtio_device *vdev, unsigned int nvqs,
		       struct virtqueue *vqs[],
		       struct virtqueue_info vqs_info[],
		       struct irq_affinity *desc)
#else
static int vl_find_vqs(struct virtio_device *vdev, unsigned int nvqs,
		       struct virtqueue *vqs[], vq_callback_t *callbacks[],
		       const char * const names[], const bool *ctx,
		       struct irq_affinity *desc)
#endif
{
	struct vl_dev *d = to_vl_dev(vdev);
	unsigned int i, queue_idx = 0;
	int err = 0;

	mutex_lock(&d->lock);
	for (i = 0; i < nvqs; i++) {
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
		const char *name = vqs_info[i].name;
		vq_callback_t *cb = vqs_info[i].callback;
		bool c = vqs_info[i].ctx;
#else
		const char *name = names[i];
		vq_callback_t *cb = callbacks[i];
		bool c = ctx ? ctx[i] : false;
#endif
		struct vl_queue *q;

		if (!name) {
			vqs[i] = NULL;
			continue;
		}
		err = -ENOENT;
		if (queue_idx >= d->num_queues)
			break;
		q = &d->queues[queue_idx++];
		err = vl_vq_setup(q, d->max_queue_size, cb, name, c, &vqs[i]);
		if (err)
			break;
		d->vqs_live++;
		/* Removal or a failure got here first: fail from the start. */
		if (d->failing)
			vl_vq_fail(q);
	}
	mutex_unlock(&d->lock);
	if (err)
		vdev->config->del_vqs(vdev);
	return err;
}

static void vl_del_vqs(struct virtio_device *vdev)
{
	struct vl_dev *d = to_vl_dev(vdev);
	unsigned int i;

	mutex_lock(&d->lock);
	for (i = 0; i < d->num_queues; i++) {
		if (!d->queues[i].vq)
			continue;
		vl_vq_del(&d->queues[i]);
		d->vqs_live--;
	}
	mutex_unlock(&d->lock);
}

#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 19, 0)
/* No callback started before this call still runs when it returns. */
static void vl_synchronize_cbs(struct virtio_device *vdev)
{
	struct vl_dev *d = to_vl_dev(vdev);
	unsigned int i;

	for (i = 0; i < d->num_queues; i++)
		vl_vq_synchronize(&d->queues[i]);
}
#endif

static u64 vl_get_features(struct virtio_device *vdev)
{
	return to_vl_dev(vdev)->device_features;
}

static int vl_finalize_features(struct virtio_device *vdev)
{
	vring_transport_features(vdev);
	/* The data plane needs the DMA API (the pool) and modern split rings. */
	if (!__virtio_test_bit(vdev, VIRTIO_F_VERSION_1) ||
	    !__virtio_test_bit(vdev, VIRTIO_F_ACCESS_PLATFORM) ||
	    __virtio_test_bit(vdev, VIRTIO_F_RING_PACKED))
		return -EINVAL;
	return 0;
}

static const char *vl_bus_name(struct virtio_device *vdev)
{
	return dev_name(vdev->dev.parent);
}

const struct virtio_config_ops vl_config_ops = {
	.get			= vl_get,
	.set			= vl_set,
	.generation		= vl_generation,
	.get_status		= vl_get_status,
	.set_status		= vl_set_status,
	.reset			= vl_reset,
	.find_vqs		= vl_find_vqs,
	.del_vqs		= vl_del_vqs,
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 19, 0)
	.synchronize_cbs	= vl_synchronize_cbs,
#endif
	.get_features		= vl_get_features,
	.finalize_features	= vl_finalize_features,
	.bus_name		= vl_bus_name,
};
