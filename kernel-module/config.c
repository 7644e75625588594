// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-loopback: virtio_config_ops: config space, status, features and
 * queue setup as the virtio drivers see them.
 */

#include "vl.h"

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
		ev.handle = d->handle;
		ev.u.config_write.offset = offset;
		ev.u.config_write.size = n;
		memcpy(ev.u.config_write.data, buf, n);
		vl_sync_request(d, &ev, "config write");
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
	struct virtio_loopback_event ev = { .handle = d->handle };
	unsigned long flags;
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

	if (READ_ONCE(d->removing))
		return;
	if ((status & ~old) & VIRTIO_CONFIG_S_FEATURES_OK) {
		ev.type = VIRTIO_LOOPBACK_EVENT_FEATURES_OK;
		ev.u.features_ok.features = vdev->features;
		vl_event_push(d->ctrl, &ev);
	}
	if (((status & ~old) & VIRTIO_CONFIG_S_DRIVER_OK) && failed) {
		/* User space already gave up on it: no DRIVER_OK event. */
		vl_dev_break(d);
	} else if ((status & ~old) & VIRTIO_CONFIG_S_DRIVER_OK) {
		unsigned int i;

		/* Deliver what the back end signalled before DRIVER_OK. */
		mutex_lock(&d->lock);
		for (i = 0; i < d->num_queues; i++)
			if (d->queues[i].call_armed)
				vl_call_deliver(&d->queues[i]);
		mutex_unlock(&d->lock);

		memset(&ev.u, 0, sizeof(ev.u));
		ev.type = VIRTIO_LOOPBACK_EVENT_DRIVER_OK;
		ev.u.driver_ok.num_queues = d->num_queues;
		vl_event_push(d->ctrl, &ev);
	}
}

static void vl_reset(struct virtio_device *vdev)
{
	struct vl_dev *d = to_vl_dev(vdev);
	struct virtio_loopback_event ev = {
		.type = VIRTIO_LOOPBACK_EVENT_RESET,
		.handle = d->handle,
	};
	unsigned long flags;

	spin_lock_irqsave(&d->config_lock, flags);
	d->status = 0;
	/* A reset ends FAIL_DEVICE's state; the driver may start again. */
	d->failed = false;
	spin_unlock_irqrestore(&d->config_lock, flags);
	/* The back end must stop using the rings before the driver frees them. */
	vl_sync_request(d, &ev, "reset");
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
		if (!name) {
			vqs[i] = NULL;
			continue;
		}
		err = vl_setup_vq(d, queue_idx++, cb, name, c, &vqs[i]);
		if (err)
			break;
	}
	mutex_unlock(&d->lock);
	if (err)
		vl_del_vqs(vdev);
	return err;
}

static u64 vl_get_features(struct virtio_device *vdev)
{
	return to_vl_dev(vdev)->device_features;
}

static int vl_finalize_features(struct virtio_device *vdev)
{
	vring_transport_features(vdev);
	/* The data plane needs the DMA API (the pool) and modern rings. */
	if (!__virtio_test_bit(vdev, VIRTIO_F_VERSION_1) ||
	    !__virtio_test_bit(vdev, VIRTIO_F_ACCESS_PLATFORM))
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
	.get_features		= vl_get_features,
	.finalize_features	= vl_finalize_features,
	.bus_name		= vl_bus_name,
};

int vl_ioctl_set_config(struct vl_ctrl *ctrl, void __user *uarg)
{
	struct virtio_loopback_config arg;
	u8 buf[VIRTIO_LOOPBACK_CONFIG_MAX];
	unsigned long flags;
	struct vl_dev *d;
	bool notify;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	d = vl_arg_dev(ctrl, arg.handle, !arg.reserved &&
		       !(arg.flags & ~VIRTIO_LOOPBACK_CONFIG_F_NOTIFY));
	if (IS_ERR(d))
		return PTR_ERR(d);
	if (arg.offset > d->config_size ||
	    arg.size > d->config_size - arg.offset)
		return -EINVAL;
	if (copy_from_user(buf, u64_to_user_ptr(arg.config_addr), arg.size))
		return -EFAULT;

	spin_lock_irqsave(&d->config_lock, flags);
	memcpy(d->config + arg.offset, buf, arg.size);
	WRITE_ONCE(d->config_gen, d->config_gen + 1);
	notify = (arg.flags & VIRTIO_LOOPBACK_CONFIG_F_NOTIFY) &&
		 (d->status & VIRTIO_CONFIG_S_DRIVER_OK);
	spin_unlock_irqrestore(&d->config_lock, flags);

	mutex_lock(&d->lock);
	if (notify && d->reg_state == VL_REG_DONE)
		virtio_config_changed(&d->vdev);
	mutex_unlock(&d->lock);
	return 0;
}
