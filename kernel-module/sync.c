// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-loopback, layer 3: the device's events, and the requests that wait,
 * bounded, for the adapter's EVENT_DONE (reset, config write).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/preempt.h>

#include "dev.h"

static unsigned int sync_timeout_ms = 2000;
module_param(sync_timeout_ms, uint, 0644);
MODULE_PARM_DESC(sync_timeout_ms,
		 "How long a driver waits for the adapter to answer a reset or config write (ms)");

/* sync_timeout_ms (at least 1) in milliseconds. */
unsigned int vl_sync_timeout_ms(void)
{
	return max(READ_ONCE(sync_timeout_ms), 1U);
}

void vl_sync_init(struct vl_dev *d)
{
	mutex_init(&d->sync_mutex);
	spin_lock_init(&d->sync_lock);
	init_waitqueue_head(&d->sync_wq);
}

/* An event that needs no reply; dropped once the device is going away. */
void vl_dev_event(struct vl_dev *d, struct virtio_loopback_event *ev)
{
	if (READ_ONCE(d->removing))
		return;
	ev->handle = d->handle;
	vl_events_push(d->events, ev);
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

/*
 * Send @ev to user space. When the caller may sleep and the device is live,
 * wait (bounded by sync_timeout_ms) for EVENT_DONE. After a timeout the
 * device is unresponsive: later requests only queue their event, except a
 * @must_wait one (a reset: the back end must stop using the shadow rings
 * before they go back to the pool), whose timely answer ends the state.
 * Returns whether the adapter answered.
 */
bool vl_sync_request(struct vl_dev *d, struct virtio_loopback_event *ev,
		     const char *what, bool must_wait)
{
	unsigned int ms = vl_sync_timeout_ms();
	bool wait = vl_may_sleep(), locked = wait, answered = false;
	unsigned long flags;
	bool timed_out;
	u64 seq;

	if (locked)
		mutex_lock(&d->sync_mutex);
	spin_lock_irqsave(&d->sync_lock, flags);
	if (d->removing) {
		spin_unlock_irqrestore(&d->sync_lock, flags);
		goto out;
	}
	if (wait && (!d->unresponsive || must_wait))
		ev->flags |= VIRTIO_LOOPBACK_EVENT_F_NEED_REPLY;
	else
		wait = false;
	ev->handle = d->handle;
	seq = vl_events_push(d->events, ev);
	if (!seq)
		wait = false;
	if (wait) {
		d->sync_seq = seq;
		d->sync_state = VL_SYNC_WAITING;
	}
	spin_unlock_irqrestore(&d->sync_lock, flags);
	if (!wait)
		goto out;

	wait_event_timeout(d->sync_wq,
			   READ_ONCE(d->sync_state) != VL_SYNC_WAITING ||
			   READ_ONCE(d->removing),
			   msecs_to_jiffies(ms));

	spin_lock_irqsave(&d->sync_lock, flags);
	answered = d->sync_state == VL_SYNC_DONE;
	timed_out = !answered && !d->removing;
	if (timed_out)
		d->unresponsive = true;
	else if (answered && must_wait)
		d->unresponsive = false;
	if (answered && d->sync_status)
		dev_warn(&d->dma->dev, "%s failed in user space: %u\n", what,
			 d->sync_status);
	d->sync_state = VL_SYNC_IDLE;
	spin_unlock_irqrestore(&d->sync_lock, flags);
	if (timed_out)
		dev_err(&d->dma->dev,
			"no reply to %s within %u ms: later config writes do not wait until a reset is answered\n",
			what, ms);
out:
	if (locked)
		mutex_unlock(&d->sync_mutex);
	return answered;
}

/* The device is going away: nothing waits for user space any more. */
void vl_sync_stop_waiting(struct vl_dev *d)
{
	unsigned long flags;

	spin_lock_irqsave(&d->sync_lock, flags);
	d->removing = true;
	spin_unlock_irqrestore(&d->sync_lock, flags);
	wake_up_all(&d->sync_wq);
}

/* EVENT_DONE: -ENOENT when nothing waits for @seq (answered, timed out). */
int vl_sync_done(struct vl_dev *d, u64 seq, u32 status)
{
	unsigned long flags;
	int ret = -ENOENT;

	spin_lock_irqsave(&d->sync_lock, flags);
	if (d->sync_state == VL_SYNC_WAITING && d->sync_seq == seq) {
		d->sync_state = VL_SYNC_DONE;
		d->sync_status = status;
		ret = 0;
	}
	spin_unlock_irqrestore(&d->sync_lock, flags);
	if (!ret)
		wake_up(&d->sync_wq);
	return ret;
}
