// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-loopback: the control fd's event queue, and synchronous requests
 * (reset, config write) that wait, bounded, for the adapter's EVENT_DONE.
 */

#include "vl.h"

static unsigned int sync_timeout_ms = 2000;
module_param(sync_timeout_ms, uint, 0644);
MODULE_PARM_DESC(sync_timeout_ms,
		 "How long a driver waits for the adapter to answer a reset or config write (ms)");

/* sync_timeout_ms (at least 1) in milliseconds. */
unsigned int vl_sync_timeout_ms(void)
{
	return max(READ_ONCE(sync_timeout_ms), 1U);
}

/*
 * Queue an event for the control fd; any context. Returns its seq, or 0
 * when the ring is full (the adapter stopped reading).
 */
u64 vl_event_push(struct vl_ctrl *ctrl, struct virtio_loopback_event *ev)
{
	unsigned long flags;
	u64 seq = 0;

	spin_lock_irqsave(&ctrl->ev_lock, flags);
	if (ctrl->ev_count < VL_EVENT_RING) {
		seq = ++ctrl->next_seq;
		ev->seq = seq;
		ctrl->ev[(ctrl->ev_head + ctrl->ev_count) % VL_EVENT_RING] = *ev;
		ctrl->ev_count++;
	}
	spin_unlock_irqrestore(&ctrl->ev_lock, flags);
	if (seq)
		wake_up_interruptible_poll(&ctrl->ev_wq, EPOLLIN | EPOLLRDNORM);
	else
		pr_warn_ratelimited("event queue full, event %u dropped\n",
				    ev->type);
	return seq;
}

/*
 * Config writes normally come from sleepable driver paths (probe, sysfs,
 * work items). in_atomic() only sees held spinlocks with CONFIG_PREEMPT_COUNT
 * (Debian 6.1/6.12 amd64 have it; 5.10 amd64 and 6.1 arm64 do not), so there
 * a write under a driver's spinlock would still wait; irqs_disabled() is
 * always seen.
 */
static bool vl_may_sleep(void)
{
	return !in_atomic() && !irqs_disabled() && !in_interrupt();
}

static void vl_mark_broken(struct vl_dev *d, const char *what,
			   unsigned int ms)
{
	dev_err(&d->vdev.dev, "no reply to %s within %u ms: device broken\n",
		what, ms);
	/*
	 * Only virtqueues break. Before 5.19 register_virtio_device()
	 * initialises the device's virtqueue list after its first reset, so a
	 * timeout of that reset must not walk the list.
	 */
	if (READ_ONCE(d->vqs_live))
		virtio_break_device(&d->vdev);
}

/*
 * Send @ev to user space. When the caller may sleep and the device is live,
 * wait (bounded) for EVENT_DONE; a timeout breaks the device. Otherwise the
 * event is only queued.
 */
void vl_sync_request(struct vl_dev *d, struct virtio_loopback_event *ev,
			    const char *what)
{
	unsigned int ms = vl_sync_timeout_ms();
	bool wait = vl_may_sleep(), locked = wait;
	unsigned long flags;
	bool timed_out;
	long left;
	u64 seq;

	if (locked)
		mutex_lock(&d->sync_mutex);
	spin_lock_irqsave(&d->sync_lock, flags);
	if (d->removing) {
		spin_unlock_irqrestore(&d->sync_lock, flags);
		goto out;
	}
	if (wait && !d->broken)
		ev->flags |= VIRTIO_LOOPBACK_EVENT_F_NEED_REPLY;
	else
		wait = false;
	seq = vl_event_push(d->ctrl, ev);
	if (!seq)
		wait = false;
	if (wait) {
		d->sync_seq = seq;
		d->sync_state = VL_SYNC_WAITING;
	}
	spin_unlock_irqrestore(&d->sync_lock, flags);
	if (!wait)
		goto out;

	left = wait_event_timeout(d->sync_wq,
				  READ_ONCE(d->sync_state) != VL_SYNC_WAITING ||
				  READ_ONCE(d->removing),
				  msecs_to_jiffies(ms));

	spin_lock_irqsave(&d->sync_lock, flags);
	timed_out = !left && d->sync_state == VL_SYNC_WAITING && !d->removing;
	if (timed_out)
		d->broken = true;
	if (d->sync_state == VL_SYNC_DONE && d->sync_status)
		dev_warn(&d->vdev.dev, "%s failed in user space: %u\n", what,
			 d->sync_status);
	d->sync_state = VL_SYNC_IDLE;
	spin_unlock_irqrestore(&d->sync_lock, flags);
	if (timed_out)
		vl_mark_broken(d, what, ms);
out:
	if (locked)
		mutex_unlock(&d->sync_mutex);
}

int vl_ioctl_event_done(struct vl_ctrl *ctrl, void __user *uarg)
{
	struct virtio_loopback_event_done arg;
	unsigned long flags;
	struct vl_dev *d;
	int ret = -ENOENT;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	d = vl_arg_dev(ctrl, arg.handle, !arg.reserved);
	if (IS_ERR(d))
		return PTR_ERR(d);

	spin_lock_irqsave(&d->sync_lock, flags);
	if (d->sync_state == VL_SYNC_WAITING && d->sync_seq == arg.seq) {
		d->sync_state = VL_SYNC_DONE;
		d->sync_status = arg.status;
		ret = 0;
	}
	spin_unlock_irqrestore(&d->sync_lock, flags);
	if (!ret)
		wake_up(&d->sync_wq);
	return ret;
}
