// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-loopback, layer 3: the device's lifecycle. CREATE_DEVICE builds the
 * pool, the DMA parent and the virtio device (registered from a work item);
 * failing a device (FAIL_DEVICE, a broken rule) and removing it
 * (DESTROY_DEVICE, closing the control fd) end its requests with errors.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/version.h>
#include <linux/virtio_config.h>
#include <uapi/linux/virtio_ids.h>
#include <uapi/linux/virtio_net.h>

#include "compat.h"
#include "dev.h"

/*
 * Device types user space may create, and why each is safe to serve from an
 * untrusted back end: its driver reaches the device only through its
 * virtqueues and config space, and does not wait on it with locks held.
 *   net 1      without the control queue (filtered below)
 *   blk 2, console 3, rng 4, input 18, vsock 19, sound 25, fs 26 (no DAX
 *   window: the transport has no shared memory regions), scmi 32, i2c 34,
 *   can 36, gpio 41
 * Never, whatever the parameter says: pmem 27 (the driver memremaps the
 * physical range the config names) and mem 24 (the driver hot-plugs the
 * ranges the device names).
 */
static unsigned int allowed_device_ids[32] = {
	1, 2, 3, 4, 18, 19, 25, 26, 32, 34, 36, 41,
};

static int n_allowed_device_ids = 12;
module_param_array_named(allowed_device_ids, allowed_device_ids, uint,
			 &n_allowed_device_ids, 0444);
MODULE_PARM_DESC(allowed_device_ids,
		 "virtio device IDs user space may create (default 1,2,3,4,18,19,25,26,32,34,36,41); 24 (mem) and 27 (pmem) never");

#define VL_ID_MEM	24
#define VL_ID_PMEM	27

/*
 * virtio-net features that need the control queue (virtio spec 5.1.3.1,
 * virtnet_validate_features()): CTRL_GUEST_OFFLOADS 2, CTRL_VQ 17, CTRL_RX
 * 18, CTRL_VLAN 19, CTRL_RX_EXTRA 20, GUEST_ANNOUNCE 21, MQ 22,
 * CTRL_MAC_ADDR 23, DEVICE_STATS 50, VQ_NOTF_COAL 52, NOTF_COAL 53,
 * HASH_REPORT 57, RSS 60. virtio_net busy-waits for control commands with
 * rtnl held, so a back end that never answers would stall the system.
 */
#define VL_NET_CTRL_FEATURES	(BIT_ULL(2) | GENMASK_ULL(23, 17) |	\
				 BIT_ULL(50) | BIT_ULL(52) | BIT_ULL(53) | \
				 BIT_ULL(57) | BIT_ULL(60))

/* Transport feature bits (virtio spec 6) and those the module implements. */
#define VL_TRANSPORT_FEATURES	GENMASK_ULL(41, 24)
#define VL_TRANSPORT_KEPT	(BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC) |	\
				 BIT_ULL(VIRTIO_RING_F_EVENT_IDX))

/* How long the used indexes must stand still before removal takes the rings. */
#define VL_QUIET_MS		100

/* Registration (the driver's probe) and broken-rule handling run here. */
struct workqueue_struct *vl_wq;

/* Numbers the DMA devices' names; unique across control fds. */
static atomic_t vl_next_id = ATOMIC_INIT(0);

static bool vl_device_allowed(u32 id)
{
	int i;

	if (id == VL_ID_MEM || id == VL_ID_PMEM)
		return false;
	for (i = 0; i < n_allowed_device_ids; i++)
		if (allowed_device_ids[i] == id)
			return true;
	return false;
}

/* What the driver is offered of what the back end offers. */
static u64 vl_filter_features(u32 id, u64 features)
{
	features &= ~VL_TRANSPORT_FEATURES | VL_TRANSPORT_KEPT;
	if (id == VIRTIO_ID_NET)
		features &= ~VL_NET_CTRL_FEATURES;
	return features | BIT_ULL(VIRTIO_F_VERSION_1) |
	       BIT_ULL(VIRTIO_F_ACCESS_PLATFORM);
}

void vl_dev_get(struct vl_dev *d)
{
	kref_get(&d->ref);
}

static void vl_dev_release(struct kref *ref)
{
	struct vl_dev *d = container_of(ref, struct vl_dev, ref);
	unsigned int i;

	for (i = 0; i < d->num_queues; i++)
		vl_vq_release(&d->queues[i]);
	vl_events_release(d->events, d->handle);
	vl_events_put(d->events);
	device_unregister(&d->dma->dev);	/* drops the pool at its release */
	mutex_destroy(&d->lock);
	kfree(d);
}

void vl_dev_put(struct vl_dev *d)
{
	kref_put(&d->ref, vl_dev_release);
}

static void vl_vdev_release(struct device *dev)
{
	vl_dev_put(to_vl_dev(dev_to_virtio(dev)));
}

/* A queue's rule broke (any context): the break work takes over. */
static void vl_dev_violation(struct vl_queue *q)
{
	struct vl_dev *d = to_vl_dev(q->vdev);

	if (!kref_get_unless_zero(&d->ref))
		return;
	/*
	 * Already queued: that work holds its own reference. Ours is never
	 * the last here: a queue delivers only while the virtio device exists,
	 * and the device holds a reference until its release.
	 */
	if (!queue_work(vl_wq, &d->break_work))
		vl_dev_put(d);
}

/* Queue @index of @d, or NULL when out of range (no speculation past). */
static struct vl_queue *vl_dev_queue(struct vl_dev *d, u32 index)
{
	if (index >= d->num_queues)
		return NULL;
	return &d->queues[array_index_nospec(index, d->num_queues)];
}

static struct vl_queue *vl_dev_sibling(struct vl_queue *q, u32 index)
{
	return vl_dev_queue(to_vl_dev(q->vdev), index);
}

static const struct vl_vq_ops vl_dev_vq_ops = {
	.violation = vl_dev_violation,
	.queue = vl_dev_sibling,
};

/* Unbreak (where allowed) and fail every queue. d->lock held. */
static void vl_dev_fail_each_queue(struct vl_dev *d)
{
	unsigned int i;

	for (i = 0; i < d->num_queues; i++) {
		vl_vq_unbreak(&d->queues[i]);
		vl_vq_fail(&d->queues[i]);
	}
}

/*
 * The module fails the device's requests from now on: every outstanding one
 * on every queue, each new one as it comes, and those of queues set up later
 * (vl_find_vqs() checks @failing). A queue broken before gets unbroken
 * first, so that the driver sees the completions; a console's transmit
 * queue stays broken (vl_vq_breakable()).
 */
void vl_dev_fail_queues(struct vl_dev *d)
{
	mutex_lock(&d->lock);
	d->failing = true;
	vl_dev_fail_each_queue(d);
	mutex_unlock(&d->lock);
}

/*
 * A failed device (FAIL_DEVICE, a broken rule) after DRIVER_OK: fail what is
 * queued, then break the virtqueues (those vl_vq_breakable() allows) so that
 * new requests fail at once, and tell the driver (NEEDS_RESET is in the
 * status already). Process context; d->lock serialises against
 * vl_find_vqs() and vl_del_vqs().
 *
 * virtqueue_notify() skips a broken queue, so a buffer that a driver adds
 * while the queues break would never be kicked. Drivers add under a
 * spinlock: after a grace period every add that passed the broken check has
 * published its avail entry; such stragglers make another round (unbreak,
 * fail, break), a few at most. Before 6.0 the teardown could not unbreak the
 * device, so the queues stay unbroken and the kick path fails each new
 * request instead.
 */
void vl_dev_break(struct vl_dev *d)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 0, 0)
	unsigned int i, round;
	bool again = true;

	vl_dev_fail_queues(d);
	mutex_lock(&d->lock);
	for (round = 0; round < 4 && again; round++) {
		if (round)
			vl_dev_fail_each_queue(d);
		for (i = 0; i < d->num_queues; i++)
			if (d->queues[i].vq && vl_vq_breakable(&d->queues[i]))
				vl_virtqueue_break(d->queues[i].vq);
		synchronize_rcu();
		again = false;
		for (i = 0; i < d->num_queues; i++)
			if (vl_vq_breakable(&d->queues[i]))
				again |= vl_vq_has_unseen(&d->queues[i]);
	}
	mutex_unlock(&d->lock);
	if (again)
		dev_warn(&d->dma->dev, "requests still arriving on a failed device\n");
#else
	vl_dev_fail_queues(d);
#endif
	virtio_config_changed(&d->vdev);
}

/* Set the failed state; true when it is new and the driver is running. */
static bool vl_dev_set_failed(struct vl_dev *d)
{
	unsigned long flags;
	bool was, running;

	spin_lock_irqsave(&d->config_lock, flags);
	was = d->failed;
	d->failed = true;
	d->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	running = d->status & VIRTIO_CONFIG_S_DRIVER_OK;
	spin_unlock_irqrestore(&d->config_lock, flags);
	return !was && running;
}

/*
 * A rule broke (vl_dev_violation()): the back end loses the pool before the
 * module fails what it had, and the device never runs again.
 */
static void vl_dev_break_work(struct work_struct *work)
{
	struct vl_dev *d = container_of(work, struct vl_dev, break_work);
	struct virtio_loopback_event ev = {
		.type = VIRTIO_LOOPBACK_EVENT_BROKEN,
	};
	unsigned int i;

	mutex_lock(&d->lock);
	if (d->dead || READ_ONCE(d->removing)) {
		mutex_unlock(&d->lock);
		goto out;
	}
	d->dead = true;
	mutex_unlock(&d->lock);
	for (i = 0; i < d->num_queues; i++) {
		u32 rule = READ_ONCE(d->queues[i].violation);

		if (!rule)
			continue;
		dev_err(&d->dma->dev,
			"the back end broke rule %u on queue %u: device failed, pool revoked\n",
			rule, i);
		if (!ev.u.broken.rule) {
			ev.u.broken.queue = i;
			ev.u.broken.rule = rule;
		}
	}
	vl_pool_revoke(d->dma->pool, vl_sync_timeout_ms());
	if (vl_dev_set_failed(d))
		vl_dev_break(d);
	else
		vl_dev_fail_queues(d);
	if (d->api_version >= 2)
		vl_dev_event(d, &ev);
out:
	vl_dev_put(d);
}

/* FAIL_DEVICE: the back end cannot run the device. */
void vl_dev_fail(struct vl_dev *d, u32 status)
{
	unsigned long flags;
	bool was, running;

	spin_lock_irqsave(&d->config_lock, flags);
	was = d->failed;
	spin_unlock_irqrestore(&d->config_lock, flags);
	if (was)
		return;
	running = vl_dev_set_failed(d);
	dev_warn(&d->dma->dev, "back end failed the device (%u)%s\n", status,
		 running ? "" : ", before DRIVER_OK");
	/* Otherwise vl_set_status() breaks it at DRIVER_OK. */
	if (running)
		vl_dev_break(d);
}

/*
 * Register the virtio device; the driver probes here. When the device was
 * removed meanwhile (VL_REG_ORPHANED), finish its removal: the remover did
 * not wait for the probe, which may block on things user space cannot
 * release (see vl_dev_remove()).
 */
static void vl_dev_teardown(struct vl_dev *d);

static void vl_register_work(struct work_struct *work)
{
	struct vl_dev *d = container_of(work, struct vl_dev, register_work);
	enum vl_reg_state state;
	bool orphan;
	int err;

	mutex_lock(&d->lock);
	if (d->reg_state == VL_REG_SKIPPED) {
		mutex_unlock(&d->lock);
		return;
	}
	d->reg_state = VL_REG_RUNNING;
	mutex_unlock(&d->lock);

	vl_dev_get(d);			/* dropped by vl_vdev_release() */
	err = register_virtio_device(&d->vdev);
	state = err ? VL_REG_FAILED : VL_REG_DONE;
	if (err)
		dev_err(&d->dma->dev, "register_virtio_device: %d\n", err);
	mutex_lock(&d->lock);
	orphan = d->reg_state == VL_REG_ORPHANED;
	d->reg_state = state;
	mutex_unlock(&d->lock);
	if (orphan) {
		vl_dev_teardown(d);
		vl_dev_put(d);		/* the handle's reference */
		return;
	}
	/* A remover waits for this work item. */
	complete_all(&d->registered);
}

/*
 * Unregister a device whose registration is over: the driver unbinds (its
 * requests already fail), the registration's reference goes.
 */
static void vl_dev_teardown(struct vl_dev *d)
{
	switch (d->reg_state) {
	case VL_REG_DONE:
		unregister_virtio_device(&d->vdev);
		break;
	case VL_REG_FAILED:
		put_device(&d->vdev.dev);
		break;
	default:
		break;
	}
}

/*
 * Before the pool is revoked, let a back end that outlived its adapter
 * finish what it already took (it stops its rings when it sees the socket
 * close): what it completes meanwhile is still checked and reaches the
 * driver as success. Waits while a queue has buffers outstanding and some
 * shadow used index moved in the last VL_QUIET_MS, sync_timeout_ms at most;
 * a drained or dead back end costs nothing or VL_QUIET_MS.
 */
static void vl_dev_wait_quiet(struct vl_dev *d)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(vl_sync_timeout_ms());
	unsigned long still_since = jiffies;
	u32 sum, last = 0;
	bool busy, first = true;
	unsigned int i;
	u16 idx;

	for (;;) {
		busy = false;
		sum = 0;
		for (i = 0; i < d->num_queues; i++) {
			if (vl_vq_progress(&d->queues[i], &idx))
				busy = true;
			sum += idx * (i + 1);
		}
		if (!busy)
			return;
		if (first || sum != last) {
			last = sum;
			still_since = jiffies;
			first = false;
		} else if (time_after(jiffies, still_since +
				      msecs_to_jiffies(VL_QUIET_MS))) {
			return;
		}
		if (time_after(jiffies, deadline))
			return;
		usleep_range(10000, 20000);
	}
}

/*
 * The first step of removal, on its own for a control fd that closes: all
 * its devices stop waiting for user space before the first one unregisters
 * (one driver's removal may wait for another device of the fd: the hwrng
 * core switches to the next virtio-rng device and reads from it with a
 * global mutex held).
 */
void vl_dev_stop_waiting(struct vl_dev *d)
{
	vl_sync_stop_waiting(d);
}

/*
 * Remove a device whose handle is gone; takes over the handle's reference.
 *  1. Nothing waits for user space any more.
 *  2. A back end that outlived its adapter finishes what it took, bounded.
 *  3. The pool is revoked: the back end loses everything the module reads.
 *  4. Every outstanding request fails, from the module's own bookkeeping,
 *     and each new one as it comes.
 *  5. The driver unbinds: its removal (virtio_blk's del_gendisk waits for
 *     every request) completes. A probe still running may wait where user
 *     space cannot help (hwrng_register() waits for the hwrng core's mutex
 *     while the hwrng thread reads a virtio-rng device of another control fd
 *     that nobody serves): wait for it, bounded and killable, then leave
 *     the device to the registration work, which removes it when the probe
 *     returns. Waiting first also keeps removals from overlapping the next
 *     registrations (the 5.10 hwrng core touches a freed thread then).
 *  6. The handle's reference goes.
 */
void vl_dev_remove(struct vl_dev *d)
{
	bool running;

	vl_dev_stop_waiting(d);
	if (cancel_work_sync(&d->break_work))
		vl_dev_put(d);		/* the break work's reference */
	vl_dev_wait_quiet(d);
	vl_pool_revoke(d->dma->pool, vl_sync_timeout_ms());
	vl_dev_fail_queues(d);

	mutex_lock(&d->lock);
	running = d->reg_state == VL_REG_RUNNING;
	if (d->reg_state == VL_REG_NONE)
		d->reg_state = VL_REG_SKIPPED;
	mutex_unlock(&d->lock);
	if (running)
		wait_for_completion_killable_timeout(&d->registered,
						     msecs_to_jiffies(vl_sync_timeout_ms()));
	mutex_lock(&d->lock);
	running = d->reg_state == VL_REG_RUNNING;
	if (running)
		d->reg_state = VL_REG_ORPHANED;
	mutex_unlock(&d->lock);
	if (running) {
		dev_warn(&d->dma->dev,
			 "probe still running: removal continues when it returns\n");
		return;
	}
	/* Not running the probe: a queued work item returns at once. */
	cancel_work_sync(&d->register_work);
	vl_dev_teardown(d);
	vl_dev_put(d);
}

struct vl_dev *vl_dev_create(const struct virtio_loopback_create *arg,
			     struct vl_events *events, u32 api_version,
			     struct device *parent)
{
	struct vl_dma_dev *dma;
	struct vl_pool *pool;
	struct vl_dev *d;
	char name[32];
	unsigned int i;

	if (!arg->device_id ||
	    arg->num_queues < 1 || arg->num_queues > VL_MAX_QUEUES ||
	    arg->max_queue_size < 2 || arg->max_queue_size > VL_MAX_QUEUE_SIZE ||
	    !is_power_of_2(arg->max_queue_size) ||
	    arg->pool_size < VL_MIN_POOL_SIZE ||
	    arg->pool_size > VL_MAX_POOL_SIZE ||
	    !PAGE_ALIGNED(arg->pool_size) ||
	    arg->config_size > VIRTIO_LOOPBACK_CONFIG_MAX)
		return ERR_PTR(-EINVAL);
	if (!vl_device_allowed(arg->device_id)) {
		pr_warn_ratelimited("device type %u refused (allowed_device_ids; pmem and mem never)\n",
				    arg->device_id);
		return ERR_PTR(-EPERM);
	}

	pool = vl_pool_create(arg->pool_size);
	if (!pool)
		return ERR_PTR(-ENOMEM);
	snprintf(name, sizeof(name), "virtio-loopback.%u",
		 atomic_inc_return(&vl_next_id));
	dma = vl_dma_dev_create(pool, parent, name);
	vl_pool_put(pool);		/* the DMA device holds it now */
	if (IS_ERR(dma))
		return ERR_CAST(dma);
	if (!vl_events_reserve(events)) {
		device_unregister(&dma->dev);
		return ERR_PTR(-ENOSPC);
	}

	d = kzalloc(struct_size(d, queues, arg->num_queues), GFP_KERNEL);
	if (!d) {
		vl_events_release(events, 0);
		device_unregister(&dma->dev);
		return ERR_PTR(-ENOMEM);
	}
	kref_init(&d->ref);
	vl_events_get(events);
	d->events = events;
	d->dma = dma;
	d->api_version = api_version;
	d->config_size = arg->config_size;
	d->num_queues = arg->num_queues;
	d->max_queue_size = arg->max_queue_size;
	d->device_features = vl_filter_features(arg->device_id,
						arg->device_features);
	mutex_init(&d->lock);
	spin_lock_init(&d->config_lock);
	vl_sync_init(d);
	INIT_WORK(&d->register_work, vl_register_work);
	INIT_WORK(&d->break_work, vl_dev_break_work);
	init_completion(&d->registered);
	d->vdev.id.device = arg->device_id;
	d->vdev.id.vendor = arg->vendor_id;
	d->vdev.config = &vl_config_ops;
	d->vdev.dev.parent = &dma->dev;
	d->vdev.dev.release = vl_vdev_release;
	for (i = 0; i < d->num_queues; i++)
		vl_vq_init(&d->queues[i], &d->vdev, dma, &vl_dev_vq_ops, i,
			   arg->device_id);
	return d;
}

/* The device has its handle: the driver may probe. */
void vl_dev_start(struct vl_dev *d, u32 handle)
{
	d->handle = handle;
	queue_work(vl_wq, &d->register_work);
}

/* A new file for the device's pool (for the caller to install as an fd). */
struct file *vl_dev_open_pool(struct vl_dev *d)
{
	struct vl_pool *pool = d->dma->pool;
	struct file *file;

	kref_get(&pool->ref);
	file = anon_inode_getfile("[virtio-loopback-pool]", &vl_pool_fops, pool,
				  O_RDWR);
	if (IS_ERR(file)) {
		vl_pool_put(pool);
		return file;
	}
	vl_pool_attach_file(pool, file);
	return file;
}

/*
 * An eventfd must not be both a call fd and a kick fd of the device: the
 * module's kick would read as the back end's call. d->lock held.
 */
static bool vl_dev_fds_conflict(struct vl_dev *d, struct vl_queue *q,
				struct eventfd_ctx *kick,
				struct eventfd_ctx *call)
{
	unsigned int i;

	if (kick && kick == call)
		return true;
	for (i = 0; i < d->num_queues; i++) {
		struct vl_queue *o = &d->queues[i];

		if (o == q)
			continue;
		if ((kick && READ_ONCE(o->call_ctx) == kick) ||
		    (call && READ_ONCE(o->kick_ctx) == call))
			return true;
	}
	return false;
}

int vl_dev_set_queue_fds(struct vl_dev *d, u32 queue, int kick_fd, int call_fd)
{
	struct vl_queue *q = vl_dev_queue(d, queue);
	struct eventfd_ctx *kick = NULL, *call = NULL;
	struct file *call_file = NULL;
	int ret;

	if (!q)
		return -EINVAL;
	if (kick_fd >= 0) {
		kick = eventfd_ctx_fdget(kick_fd);
		if (IS_ERR(kick))
			return PTR_ERR(kick);
	}
	if (call_fd >= 0) {
		ret = -EBADF;
		call_file = fget(call_fd);
		if (!call_file)
			goto err_put_kick;
		call = eventfd_ctx_fileget(call_file);
		if (IS_ERR(call)) {
			ret = PTR_ERR(call);
			call = NULL;
			goto err_fput;
		}
	}

	/* d->lock: no other queue's fds change while we compare. */
	mutex_lock(&d->lock);
	ret = -EINVAL;
	if (vl_dev_fds_conflict(d, q, kick, call)) {
		mutex_unlock(&d->lock);
		goto err_put_call;
	}
	vl_vq_set_fds(q, kick, call_file, call);
	mutex_unlock(&d->lock);
	return 0;

err_put_call:
	if (call)
		eventfd_ctx_put(call);
err_fput:
	if (call_file)
		fput(call_file);
err_put_kick:
	if (kick)
		eventfd_ctx_put(kick);
	return ret;
}

int vl_dev_queue_info(struct vl_dev *d, u32 queue,
		      struct virtio_loopback_queue_info *info)
{
	struct vl_queue *q = vl_dev_queue(d, queue);

	if (!q)
		return -EINVAL;
	vl_vq_info(q, info);
	return 0;
}

/* SET_CONFIG: new config bytes, and optionally a config-change interrupt. */
int vl_dev_set_config(struct vl_dev *d, u32 offset, u32 size, const u8 *buf,
		      bool notify)
{
	unsigned long flags;

	if (offset > d->config_size || size > d->config_size - offset)
		return -EINVAL;
	spin_lock_irqsave(&d->config_lock, flags);
	memcpy(d->config + offset, buf, size);
	WRITE_ONCE(d->config_gen, d->config_gen + 1);
	notify = notify && (d->status & VIRTIO_CONFIG_S_DRIVER_OK);
	spin_unlock_irqrestore(&d->config_lock, flags);

	mutex_lock(&d->lock);
	if (notify && d->reg_state == VL_REG_DONE)
		virtio_config_changed(&d->vdev);
	mutex_unlock(&d->lock);
	return 0;
}

int vl_dev_init(void)
{
	/* Probing may wait for the adapter: unbound, off the per-CPU pools. */
	vl_wq = alloc_workqueue("virtio-loopback", WQ_UNBOUND, 0);
	return vl_wq ? 0 : -ENOMEM;
}

/* Drains the registration and break work items before the code goes. */
void vl_dev_exit(void)
{
	destroy_workqueue(vl_wq);
}
