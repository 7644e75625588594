// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-loopback: device lifecycle. CREATE_DEVICE builds the pool, the DMA
 * parent and the virtio device, registered from a work item; DESTROY_DEVICE
 * and closing the control fd fail what is in flight and unregister.
 */

#include "vl.h"

/* Numbers the DMA devices' names; unique across control fds. */
static atomic_t vl_next_id = ATOMIC_INIT(0);

static void vl_dev_free(struct vl_dev *d)
{
	struct vl_ctrl *ctrl = d->ctrl;
	unsigned int i;

	for (i = 0; i < d->num_queues; i++) {
		struct vl_queue *q = &d->queues[i];

		if (q->kick_ctx)
			eventfd_ctx_put(q->kick_ctx);
		if (q->call_ctx)
			eventfd_ctx_put(q->call_ctx);
		if (q->call_file)
			fput(q->call_file);
	}
	kfree(d);
	vl_ctrl_put(ctrl);
}

static void vl_vdev_release(struct device *dev)
{
	vl_dev_free(to_vl_dev(dev_to_virtio(dev)));
}

static void vl_dev_teardown(struct vl_dev *d);

/*
 * Register the virtio device; the driver probes here. When the device was
 * removed meanwhile (VL_REG_ORPHANED), finish its removal: the remover did
 * not wait for the probe, which may block on things user space cannot
 * release (see vl_dev_finish_removal()).
 */
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

	err = register_virtio_device(&d->vdev);
	state = err ? VL_REG_FAILED : VL_REG_DONE;
	if (err)
		dev_err(&d->dma->dev, "register_virtio_device: %d\n", err);
	mutex_lock(&d->lock);
	orphan = d->reg_state == VL_REG_ORPHANED;
	d->reg_state = state;
	mutex_unlock(&d->lock);
	if (orphan) {
		vl_dev_teardown(d);	/* frees d and this work item */
		return;
	}
	/* A remover waits for this work item before it frees d. */
	complete_all(&d->registered);
}

/*
 * The back end is gone: stop delivering its interrupts and fail what it left
 * queued. The device is not broken: a broken ring would hide these
 * completions from the driver, and a request it queues during removal is
 * failed from vl_kick_work() (@removing is set). Nothing to do before
 * DRIVER_OK (no rings; the virtio device may not even be registered yet).
 */
static void vl_dev_fail_inflight(struct vl_dev *d)
{
	unsigned int i;

	mutex_lock(&d->lock);
	if (vl_driver_ok(d)) {
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 0, 0)
		/*
		 * A sync-request timeout or FAIL_DEVICE may have broken it:
		 * the module now answers instead.
		 */
		__virtio_unbreak_device(&d->vdev);
#endif
		for (i = 0; i < d->num_queues; i++) {
			vl_call_disarm(&d->queues[i]);
			vl_queue_fail_pending(&d->queues[i]);
		}
	}
	mutex_unlock(&d->lock);
}

/*
 * Unregister and free a removed device whose registration is over
 * (reg_state DONE, FAILED or SKIPPED, and the work item no longer pending).
 */
static void vl_dev_teardown(struct vl_dev *d)
{
	struct vl_dma_dev *dma = d->dma;
	unsigned int i;

	switch (d->reg_state) {
	case VL_REG_DONE:
		/* Again: what was queued before DRIVER_OK, or since. */
		vl_dev_fail_inflight(d);
		get_device(&d->vdev.dev);
		unregister_virtio_device(&d->vdev);
		break;
	case VL_REG_FAILED:
		break;
	default:
		vl_dev_free(d);
		d = NULL;
		break;
	}
	if (d) {
		/* The driver's del_vqs disarmed the watches; be sure. */
		mutex_lock(&d->lock);
		for (i = 0; i < d->num_queues; i++)
			vl_call_disarm(&d->queues[i]);
		mutex_unlock(&d->lock);
		/* Outside d->lock: a kick work item takes it while removing. */
		for (i = 0; i < d->num_queues; i++)
			cancel_work_sync(&d->queues[i].kick_work);
		put_device(&d->vdev.dev);	/* frees d */
	}
	device_unregister(&dma->dev);
}

/* How long the used indexes must stand still before removal takes the rings. */
#define VL_QUIET_MS	100

/*
 * Before the pool is revoked, let a back end that outlived its adapter
 * finish what it already took (it stops its rings when it sees the socket
 * close). One that completes out of order (I/O threads) leaves gaps that
 * vl_queue_fail_pending(), which fails from the used index on, cannot see;
 * once it has drained, what is outstanding is exactly the avail entries from
 * the used index on. Waits while a queue has buffers outstanding and some
 * used index moved in the last VL_QUIET_MS, sync_timeout_ms at most. A
 * drained or dead back end costs nothing or VL_QUIET_MS.
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
		mutex_lock(&d->lock);
		for (i = 0; i < d->num_queues; i++) {
			if (vl_queue_outstanding(&d->queues[i], &idx))
				busy = true;
			sum += idx * (i + 1);
		}
		mutex_unlock(&d->lock);
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
		msleep(10);
	}
}

/*
 * First step of removing a device whose handle is already gone: from now on
 * nothing waits for user space, and what the back end left queued fails.
 * Closing a control fd does this for all its devices before the first
 * unregisters: one driver's removal may wait for another device of the fd
 * (the hwrng core switches to the next virtio-rng device and reads from it
 * with a global mutex held).
 */
void vl_dev_begin_removal(struct vl_dev *d)
{
	unsigned long flags;

	spin_lock_irqsave(&d->sync_lock, flags);
	d->removing = true;
	spin_unlock_irqrestore(&d->sync_lock, flags);
	wake_up_all(&d->sync_wq);
	vl_dev_wait_quiet(d);
	/* The rings are the module's alone before it fails what they hold. */
	vl_pool_revoke(d->dma->pool);
	vl_dev_fail_inflight(d);
}

/*
 * Second step: the driver unbinds, the device goes. A running probe no
 * longer waits for user space and normally returns soon; wait for it, but
 * bounded (sync_timeout_ms) and killable: it may block where user space
 * cannot help (hwrng_register() waits for the hwrng core's reading mutex
 * while the hwrng thread waits for data from a virtio-rng device of another
 * control fd that nobody serves), and an unbounded wait with the control
 * fd's lock held would deadlock. Such a device is left to the registration
 * work, which removes it when the probe returns. Waiting first also keeps
 * removals from overlapping the next registrations: the 5.10 hwrng core
 * touches a freed thread when one rng device unregisters while another
 * registers.
 */
void vl_dev_finish_removal(struct vl_dev *d)
{
	bool running, orphan = false;

	mutex_lock(&d->lock);
	running = d->reg_state == VL_REG_RUNNING;
	if (d->reg_state == VL_REG_NONE)
		d->reg_state = VL_REG_SKIPPED;
	mutex_unlock(&d->lock);
	if (running)
		wait_for_completion_killable_timeout(&d->registered,
			msecs_to_jiffies(vl_sync_timeout_ms()));
	mutex_lock(&d->lock);
	if (d->reg_state == VL_REG_RUNNING) {
		d->reg_state = VL_REG_ORPHANED;
		orphan = true;
	}
	mutex_unlock(&d->lock);
	if (orphan) {
		dev_warn(&d->dma->dev,
			 "probe still running: removal continues when it returns\n");
		return;
	}
	/* Not running the probe: a queued work item returns at once. */
	cancel_work_sync(&d->register_work);
	vl_dev_teardown(d);
}

void vl_dev_destroy(struct vl_dev *d)
{
	vl_dev_begin_removal(d);
	vl_dev_finish_removal(d);
}

/*
 * User space failed the device (FAIL_DEVICE) and the driver has set
 * DRIVER_OK: stop listening to the back end, fail what is queued and break
 * the virtqueues, so that no request waits for a back end that will not
 * serve it; then tell the driver (NEEDS_RESET is already in the status).
 * Process context, d->lock not held.
 *
 * virtqueue_notify() skips a broken queue, so a request that a driver adds
 * while the queues break would never reach vl_notify(). Drivers add buffers
 * under a spinlock; after a grace period every add that passed the broken
 * check has published its avail entry. Such stragglers make another round
 * (unbreak, fail, break), a few at most.
 *
 * Before 6.0 the teardown could not unbreak the device again, so the queues
 * stay unbroken and vl_notify() fails each new request instead.
 */
void vl_dev_break(struct vl_dev *d)
{
	unsigned int i, round;
	bool again = false;

	mutex_lock(&d->lock);
	for (i = 0; i < d->num_queues; i++)
		vl_call_disarm(&d->queues[i]);
	for (round = 0; round < 4 && READ_ONCE(d->failed); round++) {
		for (i = 0; i < d->num_queues; i++)
			vl_queue_fail_pending(&d->queues[i]);
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 0, 0)
		virtio_break_device(&d->vdev);
		synchronize_rcu();
		again = false;
		for (i = 0; i < d->num_queues; i++)
			again |= vl_queue_has_new(&d->queues[i]);
		if (!again)
			break;
		__virtio_unbreak_device(&d->vdev);
#else
		break;
#endif
	}
	mutex_unlock(&d->lock);
	if (again)
		dev_warn(&d->dma->dev, "requests still arriving on a failed device\n");
	virtio_config_changed(&d->vdev);
}

int vl_ioctl_fail(struct vl_ctrl *ctrl, void __user *uarg)
{
	struct virtio_loopback_fail arg;
	unsigned long flags;
	struct vl_dev *d;
	bool was, running;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	d = vl_arg_dev(ctrl, arg.handle, !arg.reserved);
	if (IS_ERR(d))
		return PTR_ERR(d);

	spin_lock_irqsave(&d->config_lock, flags);
	was = d->failed;
	d->failed = true;
	d->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	running = d->status & VIRTIO_CONFIG_S_DRIVER_OK;
	spin_unlock_irqrestore(&d->config_lock, flags);
	if (was)
		return 0;
	dev_warn(&d->dma->dev, "back end failed the device (%u)%s\n",
		 arg.status, running ? "" : ", before DRIVER_OK");
	/* Otherwise vl_set_status() breaks it at DRIVER_OK. */
	if (running)
		vl_dev_break(d);
	return 0;
}

/*
 * The device an ioctl argument names, after its reserved fields and flags
 * were checked (@valid): ERR_PTR(-EINVAL) when they were not zero,
 * ERR_PTR(-ENOENT) for a handle this control fd does not have.
 */
struct vl_dev *vl_arg_dev(struct vl_ctrl *ctrl, u32 handle, bool valid)
{
	struct vl_dev *d;

	if (!valid)
		return ERR_PTR(-EINVAL);
	d = xa_load(&ctrl->devices, handle);
	return d ? d : ERR_PTR(-ENOENT);
}

int vl_ioctl_create(struct vl_ctrl *ctrl,
			   struct virtio_loopback_create __user *uarg)
{
	struct virtio_loopback_create arg;
	struct vl_dma_dev *dma;
	struct vl_pool *pool;
	struct file *file;
	struct vl_dev *d;
	unsigned int i;
	u32 handle;
	int ret, fd;

	ret = -EFAULT;
	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return ret;
	ret = -EINVAL;
	if (!arg.device_id || arg.flags ||
	    memchr_inv(arg.reserved_in, 0, sizeof(arg.reserved_in)) ||
	    arg.num_queues < 1 || arg.num_queues > VL_MAX_QUEUES ||
	    arg.max_queue_size < 2 || arg.max_queue_size > VL_MAX_QUEUE_SIZE ||
	    !is_power_of_2(arg.max_queue_size) ||
	    arg.pool_size < VL_MIN_POOL_SIZE ||
	    arg.pool_size > VL_MAX_POOL_SIZE ||
	    !PAGE_ALIGNED(arg.pool_size) ||
	    arg.config_size > VIRTIO_LOOPBACK_CONFIG_MAX)
		return ret;

	ret = -ENOMEM;
	d = kzalloc(struct_size(d, queues, arg.num_queues), GFP_KERNEL);
	if (!d)
		return ret;
	ret = -EFAULT;
	if (arg.config_size &&
	    copy_from_user(d->config, u64_to_user_ptr(arg.config_addr),
			   arg.config_size))
		goto err_free_dev;

	d->ctrl = ctrl;
	d->config_size = arg.config_size;
	d->num_queues = arg.num_queues;
	d->max_queue_size = arg.max_queue_size;
	/* Bit 30 is vhost-user's PROTOCOL_FEATURES, not a virtio feature. */
	d->device_features = (arg.device_features & ~BIT_ULL(30)) |
			     BIT_ULL(VIRTIO_F_VERSION_1) |
			     BIT_ULL(VIRTIO_F_ACCESS_PLATFORM);
	mutex_init(&d->lock);
	mutex_init(&d->sync_mutex);
	spin_lock_init(&d->config_lock);
	spin_lock_init(&d->sync_lock);
	init_waitqueue_head(&d->sync_wq);
	INIT_WORK(&d->register_work, vl_register_work);
	init_completion(&d->registered);
	for (i = 0; i < d->num_queues; i++) {
		struct vl_queue *q = &d->queues[i];

		q->dev = d;
		q->index = i;
		spin_lock_init(&q->kick_lock);
		INIT_WORK(&q->kick_work, vl_kick_work);
	}
	d->vdev.id.device = arg.device_id;
	d->vdev.id.vendor = arg.vendor_id;
	d->vdev.config = &vl_config_ops;
	d->vdev.dev.release = vl_vdev_release;

	ret = -ENOMEM;
	pool = vl_pool_create(arg.pool_size);
	if (!pool)
		goto err_free_dev;

	dma = kzalloc(sizeof(*dma), GFP_KERNEL);
	if (!dma)
		goto err_put_pool;
	/* From here the DMA device's release drops the pool and module refs. */
	__module_get(THIS_MODULE);
	dma->pool = pool;
	device_initialize(&dma->dev);
	dma->dev.parent = vl_misc.this_device;
	dma->dev.release = vl_dma_dev_release;
	dma->dev.groups = vl_dma_groups;
	dma->dev.dma_mask = &dma->dma_mask;
	dma->dev.coherent_dma_mask = DMA_BIT_MASK(64);
	dma->dma_mask = DMA_BIT_MASK(64);
	set_dma_ops(&dma->dev, &vl_dma_ops);

	ret = -ENOSPC;
	if (xa_alloc(&ctrl->devices, &handle, d,
		     XA_LIMIT(1, VL_MAX_DEVICES), GFP_KERNEL))
		goto err_put_dma;
	d->handle = handle;
	ret = dev_set_name(&dma->dev, "virtio-loopback.%u",
			   atomic_inc_return(&vl_next_id));
	if (ret)
		goto err_erase;
	ret = device_add(&dma->dev);
	if (ret)
		goto err_erase;
	d->dma = dma;
	d->vdev.dev.parent = &dma->dev;

	fd = get_unused_fd_flags(O_CLOEXEC);
	ret = fd;
	if (fd < 0)
		goto err_del_dma;
	kref_get(&pool->ref);
	file = anon_inode_getfile("[virtio-loopback-pool]", &vl_pool_fops,
				  pool, O_RDWR);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		vl_pool_put(pool);
		goto err_put_fd;
	}
	vl_pool_attach_file(pool, file);

	arg.handle = handle;
	arg.pool_fd = fd;
	arg.pool_dma_base = VL_POOL_DMA_BASE;
	memset(arg.reserved_out, 0, sizeof(arg.reserved_out));
	ret = -EFAULT;
	if (copy_to_user(uarg, &arg, sizeof(arg)))
		goto err_fput;

	fd_install(fd, file);
	kref_get(&ctrl->ref);		/* dropped by vl_dev_free() */
	queue_work(vl_wq, &d->register_work);
	return 0;

err_fput:
	fput(file);
err_put_fd:
	put_unused_fd(fd);
err_del_dma:
	device_del(&dma->dev);
err_erase:
	xa_erase(&ctrl->devices, handle);
err_put_dma:
	put_device(&dma->dev);	/* drops pool and module references */
	pool = NULL;
err_put_pool:
	if (pool)
		vl_pool_put(pool);
err_free_dev:
	kfree(d);
	return ret;
}

int vl_ioctl_destroy(struct vl_ctrl *ctrl, void __user *uarg)
{
	struct virtio_loopback_handle arg;
	struct vl_dev *d;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags || arg.reserved)
		return -EINVAL;
	d = xa_erase(&ctrl->devices, arg.handle);
	if (!d)
		return -ENOENT;
	vl_dev_destroy(d);
	return 0;
}
