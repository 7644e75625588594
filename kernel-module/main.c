// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-loopback: the misc device /dev/virtio-loopback. Each open fd is a
 * control fd that owns its devices; ioctls, event reads and module init/exit.
 */

#include "vl.h"

static long vl_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct vl_ctrl *ctrl = file->private_data;
	void __user *uarg = (void __user *)arg;
	struct virtio_loopback_api_info info;
	long ret;

	if (cmd == VIRTIO_LOOPBACK_IOC_GET_API_VERSION) {
		memset(&info, 0, sizeof(info));
		info.api_version = VIRTIO_LOOPBACK_API_VERSION;
		info.max_queues = VL_MAX_QUEUES;
		info.max_queue_size = VL_MAX_QUEUE_SIZE;
		info.max_config_size = VIRTIO_LOOPBACK_CONFIG_MAX;
		info.event_size = sizeof(struct virtio_loopback_event);
		info.max_devices = VL_MAX_DEVICES;
		info.max_pool_size = VL_MAX_POOL_SIZE;
		info.min_pool_size = VL_MIN_POOL_SIZE;
		return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
	}

	mutex_lock(&ctrl->lock);
	switch (cmd) {
	case VIRTIO_LOOPBACK_IOC_CREATE_DEVICE:
		ret = vl_ioctl_create(ctrl, uarg);
		break;
	case VIRTIO_LOOPBACK_IOC_DESTROY_DEVICE:
		ret = vl_ioctl_destroy(ctrl, uarg);
		break;
	case VIRTIO_LOOPBACK_IOC_SET_QUEUE_FDS:
		ret = vl_ioctl_set_queue_fds(ctrl, uarg);
		break;
	case VIRTIO_LOOPBACK_IOC_GET_QUEUE_INFO:
		ret = vl_ioctl_get_queue_info(ctrl, uarg);
		break;
	case VIRTIO_LOOPBACK_IOC_SET_CONFIG:
		ret = vl_ioctl_set_config(ctrl, uarg);
		break;
	case VIRTIO_LOOPBACK_IOC_EVENT_DONE:
		ret = vl_ioctl_event_done(ctrl, uarg);
		break;
	case VIRTIO_LOOPBACK_IOC_FAIL_DEVICE:
		ret = vl_ioctl_fail(ctrl, uarg);
		break;
	default:
		ret = -ENOTTY;
		break;
	}
	mutex_unlock(&ctrl->lock);
	return ret;
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
		spin_lock_irq(&ctrl->ev_lock);
		if (!ctrl->ev_count) {
			spin_unlock_irq(&ctrl->ev_lock);
			if (done)
				break;
			if (file->f_flags & O_NONBLOCK)
				return -EAGAIN;
			ret = wait_event_interruptible(ctrl->ev_wq,
						       READ_ONCE(ctrl->ev_count));
			if (ret)
				return ret;
			continue;
		}
		ev = ctrl->ev[ctrl->ev_head];
		ctrl->ev_head = (ctrl->ev_head + 1) % VL_EVENT_RING;
		ctrl->ev_count--;
		spin_unlock_irq(&ctrl->ev_lock);
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

	poll_wait(file, &ctrl->ev_wq, wait);
	return READ_ONCE(ctrl->ev_count) ? EPOLLIN | EPOLLRDNORM : 0;
}

static void vl_ctrl_release(struct kref *ref)
{
	struct vl_ctrl *ctrl = container_of(ref, struct vl_ctrl, ref);

	xa_destroy(&ctrl->devices);
	mutex_destroy(&ctrl->lock);
	kvfree(ctrl);
}

void vl_ctrl_put(struct vl_ctrl *ctrl)
{
	kref_put(&ctrl->ref, vl_ctrl_release);
}

static int vl_open(struct inode *inode, struct file *file)
{
	struct vl_ctrl *ctrl;

	ctrl = kvzalloc(sizeof(*ctrl), GFP_KERNEL);
	if (!ctrl)
		return -ENOMEM;
	kref_init(&ctrl->ref);
	mutex_init(&ctrl->lock);
	xa_init_flags(&ctrl->devices, XA_FLAGS_ALLOC1);
	spin_lock_init(&ctrl->ev_lock);
	init_waitqueue_head(&ctrl->ev_wq);
	file->private_data = ctrl;
	return nonseekable_open(inode, file);
}

static int vl_release(struct inode *inode, struct file *file)
{
	struct vl_ctrl *ctrl = file->private_data;
	struct vl_dev *d;
	unsigned long handle;

	/* All devices stop waiting before the first one unregisters. */
	mutex_lock(&ctrl->lock);
	xa_for_each(&ctrl->devices, handle, d)
		vl_dev_begin_removal(d);
	xa_for_each(&ctrl->devices, handle, d) {
		xa_erase(&ctrl->devices, handle);
		vl_dev_finish_removal(d);
	}
	mutex_unlock(&ctrl->lock);
	vl_ctrl_put(ctrl);
	return 0;
}

static const struct file_operations vl_fops = {
	.owner		= THIS_MODULE,
	.open		= vl_open,
	.release	= vl_release,
	.read		= vl_read,
	.poll		= vl_poll,
	.unlocked_ioctl	= vl_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

struct miscdevice vl_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= VIRTIO_LOOPBACK_DEV_NAME,
	.fops	= &vl_fops,
	.mode	= 0600,
};

/*
 * Registration (the driver's probe) runs here; a device removed during its
 * probe is removed by that work item, which drops the last module reference
 * on its way out: vl_exit() drains the queue before the code goes.
 */
struct workqueue_struct *vl_wq;

static int __init vl_init(void)
{
	int ret;

	/* The UAPI layouts are fixed; see the header. */
	BUILD_BUG_ON(sizeof(struct virtio_loopback_api_info) != 64);
	BUILD_BUG_ON(sizeof(struct virtio_loopback_create) != 96);
	BUILD_BUG_ON(sizeof(struct virtio_loopback_handle) != 16);
	BUILD_BUG_ON(sizeof(struct virtio_loopback_queue_fds) != 32);
	BUILD_BUG_ON(sizeof(struct virtio_loopback_queue_info) != 64);
	BUILD_BUG_ON(sizeof(struct virtio_loopback_config) != 32);
	BUILD_BUG_ON(sizeof(struct virtio_loopback_event_done) != 24);
	BUILD_BUG_ON(sizeof(struct virtio_loopback_event) != 128);
	BUILD_BUG_ON(sizeof(struct virtio_loopback_fail) != 16);
	/* Probing may wait for the adapter: unbound, off the per-CPU pools. */
	vl_wq = alloc_workqueue("virtio-loopback", WQ_UNBOUND, 0);
	if (!vl_wq)
		return -ENOMEM;
	ret = misc_register(&vl_misc);
	if (ret)
		destroy_workqueue(vl_wq);
	return ret;
}

static void __exit vl_exit(void)
{
	misc_deregister(&vl_misc);
	destroy_workqueue(vl_wq);
}

module_init(vl_init);
module_exit(vl_exit);

MODULE_DESCRIPTION("virtio transport served by user-space back ends");
MODULE_LICENSE("GPL");
