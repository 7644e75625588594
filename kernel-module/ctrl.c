// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-loopback, layer 4: the control channel. Each open fd of
 * /dev/virtio-loopback owns devices: ioctls (checked here, then handed to
 * the device), the event stream (read, poll), and removal on close.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include "ctrl.h"
#include "dev.h"

#define VL_MAX_DEVICES		64		/* per control fd */
/*
 * Handles are handed out cyclically up to this: a handle comes back only
 * after about a million others, so a stale one gets -ENOENT, not a new
 * device.
 */
#define VL_MAX_HANDLE		BIT(20)

#define VL_CAPABILITIES		(VIRTIO_LOOPBACK_CAP_FAIL_DEVICE |	\
				 VIRTIO_LOOPBACK_CAP_PRIVATE_RINGS |	\
				 VIRTIO_LOOPBACK_CAP_DEVICE_FILTER |	\
				 VIRTIO_LOOPBACK_CAP_BROKEN_EVENT)

/**
 * struct vl_ctrl - one open fd of /dev/virtio-loopback
 * @lock: serialises changes of @devices (create, destroy, close) and
 *	@api_version; never held while a device is removed or waits for
 *	user space, so one device's slow removal stalls no other device.
 * @devices: handle -> struct vl_dev, one reference each; lookups take
 *	their own reference under the xarray's lock.
 * @next_handle: where the cyclic handle allocation continues.
 * @ndevices: entries in @devices.
 * @api_version: the API version the fd speaks (SET_API_VERSION).
 * @events: the event queue its devices push to (a reference).
 */
struct vl_ctrl {
	struct mutex lock;		/* devices changes, api_version */
	struct xarray devices;
	u32 next_handle;
	unsigned int ndevices;
	u32 api_version;
	struct vl_events *events;
};

/* The device @handle names, with a reference; NULL when there is none. */
static struct vl_dev *vl_ctrl_get(struct vl_ctrl *ctrl, u32 handle)
{
	struct vl_dev *d;

	xa_lock(&ctrl->devices);
	d = xa_load(&ctrl->devices, handle);
	if (d)
		vl_dev_get(d);
	xa_unlock(&ctrl->devices);
	return d;
}

static int vl_ioctl_api_info(struct vl_ctrl *ctrl, void __user *uarg)
{
	struct virtio_loopback_api_info info = {
		.api_version = READ_ONCE(ctrl->api_version),
		.max_queues = VL_MAX_QUEUES,
		.max_queue_size = VL_MAX_QUEUE_SIZE,
		.max_config_size = VIRTIO_LOOPBACK_CONFIG_MAX,
		.event_size = sizeof(struct virtio_loopback_event),
		.max_devices = VL_MAX_DEVICES,
		.max_pool_size = VL_MAX_POOL_SIZE,
		.min_pool_size = VL_MIN_POOL_SIZE,
		.capabilities = VL_CAPABILITIES,
		.max_api_version = VIRTIO_LOOPBACK_API_VERSION,
	};

	return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
}

static int vl_ioctl_set_api(struct vl_ctrl *ctrl, void __user *uarg)
{
	struct virtio_loopback_api_select arg;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags || arg.reserved || arg.api_version < 1 ||
	    arg.api_version > VIRTIO_LOOPBACK_API_VERSION)
		return -EINVAL;
	mutex_lock(&ctrl->lock);
	ret = -EBUSY;
	if (!ctrl->ndevices && !ctrl->next_handle) {
		WRITE_ONCE(ctrl->api_version, arg.api_version);
		ret = 0;
	}
	mutex_unlock(&ctrl->lock);
	return ret;
}

static int vl_ioctl_create(struct vl_ctrl *ctrl,
			   struct virtio_loopback_create __user *uarg)
{
	struct virtio_loopback_create arg;
	u8 config[VIRTIO_LOOPBACK_CONFIG_MAX];
	struct file *file;
	struct vl_dev *d;
	u32 handle;
	int ret, fd;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags || memchr_inv(arg.reserved_in, 0, sizeof(arg.reserved_in)) ||
	    arg.config_size > VIRTIO_LOOPBACK_CONFIG_MAX)
		return -EINVAL;
	if (arg.config_size &&
	    copy_from_user(config, u64_to_user_ptr(arg.config_addr),
			   arg.config_size))
		return -EFAULT;

	/*
	 * Held until the device has its handle and fd: a DESTROY of the new
	 * handle waits for that.
	 */
	mutex_lock(&ctrl->lock);
	d = vl_dev_create(&arg, ctrl->events, ctrl->api_version,
			  vl_misc.this_device);
	if (IS_ERR(d)) {
		ret = PTR_ERR(d);
		goto out_unlock;
	}
	vl_dev_set_config(d, 0, arg.config_size, config, false);
	ret = -ENOSPC;
	if (ctrl->ndevices >= VL_MAX_DEVICES)
		goto err_put;
	ret = xa_alloc_cyclic(&ctrl->devices, &handle, d,
			      XA_LIMIT(1, VL_MAX_HANDLE), &ctrl->next_handle,
			      GFP_KERNEL);
	if (ret < 0)
		goto err_put;
	ctrl->ndevices++;

	fd = get_unused_fd_flags(O_CLOEXEC);
	ret = fd;
	if (fd < 0)
		goto err_erase;
	file = vl_dev_open_pool(d);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto err_put_fd;
	}
	arg.handle = handle;
	arg.pool_fd = fd;
	arg.pool_dma_base = VL_POOL_DMA_BASE;
	arg.offered_features = ctrl->api_version >= 2 ?
			       d->device_features : 0;
	arg.reserved_out = 0;
	ret = -EFAULT;
	if (copy_to_user(uarg, &arg, sizeof(arg)))
		goto err_fput;
	fd_install(fd, file);
	vl_dev_start(d, handle);
	mutex_unlock(&ctrl->lock);
	return 0;

err_fput:
	fput(file);
err_put_fd:
	put_unused_fd(fd);
err_erase:
	xa_erase(&ctrl->devices, handle);
	ctrl->ndevices--;
err_put:
	vl_dev_put(d);
out_unlock:
	mutex_unlock(&ctrl->lock);
	return ret;
}

static int vl_ioctl_destroy(struct vl_ctrl *ctrl, void __user *uarg)
{
	struct virtio_loopback_handle arg;
	struct vl_dev *d;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags || arg.reserved)
		return -EINVAL;
	mutex_lock(&ctrl->lock);
	d = xa_erase(&ctrl->devices, arg.handle);
	if (d)
		ctrl->ndevices--;
	mutex_unlock(&ctrl->lock);
	if (!d)
		return -ENOENT;
	vl_dev_remove(d);
	return 0;
}

static int vl_ioctl_queue_fds(struct vl_ctrl *ctrl, void __user *uarg)
{
	struct virtio_loopback_queue_fds arg;
	struct vl_dev *d;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags || memchr_inv(arg.reserved, 0, sizeof(arg.reserved)) ||
	    arg.kick_fd < -1 || arg.call_fd < -1)
		return -EINVAL;
	d = vl_ctrl_get(ctrl, arg.handle);
	if (!d)
		return -ENOENT;
	ret = vl_dev_set_queue_fds(d, arg.queue, arg.kick_fd, arg.call_fd);
	vl_dev_put(d);
	return ret;
}

static int vl_ioctl_queue_info(struct vl_ctrl *ctrl, void __user *uarg)
{
	struct virtio_loopback_queue_info arg;
	struct vl_dev *d;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.reserved_in)
		return -EINVAL;
	d = vl_ctrl_get(ctrl, arg.handle);
	if (!d)
		return -ENOENT;
	arg.size = 0;
	arg.ready = 0;
	arg.desc_addr = 0;
	arg.avail_addr = 0;
	arg.used_addr = 0;
	memset(arg.reserved_out, 0, sizeof(arg.reserved_out));
	ret = vl_dev_queue_info(d, arg.queue, &arg);
	vl_dev_put(d);
	if (ret)
		return ret;
	return copy_to_user(uarg, &arg, sizeof(arg)) ? -EFAULT : 0;
}

static int vl_ioctl_set_config(struct vl_ctrl *ctrl, void __user *uarg)
{
	struct virtio_loopback_config arg;
	u8 buf[VIRTIO_LOOPBACK_CONFIG_MAX];
	struct vl_dev *d;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.reserved || (arg.flags & ~VIRTIO_LOOPBACK_CONFIG_F_NOTIFY) ||
	    arg.size > sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, u64_to_user_ptr(arg.config_addr), arg.size))
		return -EFAULT;
	d = vl_ctrl_get(ctrl, arg.handle);
	if (!d)
		return -ENOENT;
	ret = vl_dev_set_config(d, arg.offset, arg.size, buf,
				arg.flags & VIRTIO_LOOPBACK_CONFIG_F_NOTIFY);
	vl_dev_put(d);
	return ret;
}

static int vl_ioctl_event_done(struct vl_ctrl *ctrl, void __user *uarg)
{
	struct virtio_loopback_event_done arg;
	struct vl_dev *d;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.reserved)
		return -EINVAL;
	d = vl_ctrl_get(ctrl, arg.handle);
	if (!d)
		return -ENOENT;
	ret = vl_sync_done(d, arg.seq, arg.status);
	vl_dev_put(d);
	return ret;
}

static int vl_ioctl_fail(struct vl_ctrl *ctrl, void __user *uarg)
{
	struct virtio_loopback_fail arg;
	struct vl_dev *d;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.reserved)
		return -EINVAL;
	d = vl_ctrl_get(ctrl, arg.handle);
	if (!d)
		return -ENOENT;
	vl_dev_fail(d, arg.status);
	vl_dev_put(d);
	return 0;
}

static long vl_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct vl_ctrl *ctrl = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case VIRTIO_LOOPBACK_IOC_GET_API_VERSION:
		return vl_ioctl_api_info(ctrl, uarg);
	case VIRTIO_LOOPBACK_IOC_SET_API_VERSION:
		return vl_ioctl_set_api(ctrl, uarg);
	case VIRTIO_LOOPBACK_IOC_CREATE_DEVICE:
		return vl_ioctl_create(ctrl, uarg);
	case VIRTIO_LOOPBACK_IOC_DESTROY_DEVICE:
		return vl_ioctl_destroy(ctrl, uarg);
	case VIRTIO_LOOPBACK_IOC_SET_QUEUE_FDS:
		return vl_ioctl_queue_fds(ctrl, uarg);
	case VIRTIO_LOOPBACK_IOC_GET_QUEUE_INFO:
		return vl_ioctl_queue_info(ctrl, uarg);
	case VIRTIO_LOOPBACK_IOC_SET_CONFIG:
		return vl_ioctl_set_config(ctrl, uarg);
	case VIRTIO_LOOPBACK_IOC_EVENT_DONE:
		return vl_ioctl_event_done(ctrl, uarg);
	case VIRTIO_LOOPBACK_IOC_FAIL_DEVICE:
		return vl_ioctl_fail(ctrl, uarg);
	default:
		return -ENOTTY;
	}
}

static ssize_t vl_read(struct file *file, char __user *buf, size_t count,
		       loff_t *ppos)
{
	struct vl_ctrl *ctrl = file->private_data;
	struct virtio_loopback_event ev;
	size_t done = 0;
	int ret;

	if (count < sizeof(ev))
		return -EINVAL;
	while (done + sizeof(ev) <= count) {
		if (!vl_events_pop(ctrl->events, &ev)) {
			if (done)
				break;
			if (file->f_flags & O_NONBLOCK)
				return -EAGAIN;
			ret = wait_event_interruptible(ctrl->events->wq,
						       vl_events_pending(ctrl->events));
			if (ret)
				return ret;
			continue;
		}
		/*
		 * A faulting buffer loses this event; the adapter is broken
		 * then anyway, and waiters time out.
		 */
		if (copy_to_user(buf + done, &ev, sizeof(ev)))
			return done ? done : -EFAULT;
		done += sizeof(ev);
	}
	return done;
}

static __poll_t vl_poll(struct file *file, poll_table *wait)
{
	struct vl_ctrl *ctrl = file->private_data;

	poll_wait(file, &ctrl->events->wq, wait);
	return vl_events_pending(ctrl->events) ? EPOLLIN | EPOLLRDNORM : 0;
}

static int vl_open(struct inode *inode, struct file *file)
{
	struct vl_ctrl *ctrl;

	ctrl = kzalloc(sizeof(*ctrl), GFP_KERNEL);
	if (!ctrl)
		return -ENOMEM;
	ctrl->events = vl_events_create();
	if (!ctrl->events) {
		kfree(ctrl);
		return -ENOMEM;
	}
	mutex_init(&ctrl->lock);
	xa_init_flags(&ctrl->devices, XA_FLAGS_ALLOC1);
	ctrl->api_version = 1;
	file->private_data = ctrl;
	return nonseekable_open(inode, file);
}

/* Close: every device stops waiting for user space, then each is removed. */
static int vl_release(struct inode *inode, struct file *file)
{
	struct vl_ctrl *ctrl = file->private_data;
	struct vl_dev *gone[VL_MAX_DEVICES];
	unsigned int n = 0, i;
	unsigned long handle;
	struct vl_dev *d;

	mutex_lock(&ctrl->lock);
	xa_for_each(&ctrl->devices, handle, d) {
		xa_erase(&ctrl->devices, handle);
		vl_dev_stop_waiting(d);
		if (!WARN_ON_ONCE(n == VL_MAX_DEVICES))
			gone[n++] = d;
	}
	ctrl->ndevices = 0;
	mutex_unlock(&ctrl->lock);
	for (i = 0; i < n; i++)
		vl_dev_remove(gone[i]);
	xa_destroy(&ctrl->devices);
	mutex_destroy(&ctrl->lock);
	vl_events_put(ctrl->events);
	kfree(ctrl);
	return 0;
}

const struct file_operations vl_ctrl_fops = {
	.owner		= THIS_MODULE,
	.open		= vl_open,
	.release	= vl_release,
	.read		= vl_read,
	.poll		= vl_poll,
	.unlocked_ioctl	= vl_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};
