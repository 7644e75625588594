// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-loopback, layer 1: a control fd's event queue. Lifecycle events are
 * never dropped: each device holds VL_EVENT_LIFECYCLE reserved slots, and a
 * RESET replaces what the device had queued before it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/slab.h>

#include "events.h"

struct vl_events *vl_events_create(void)
{
	struct vl_events *evq = kvzalloc(sizeof(*evq), GFP_KERNEL);

	if (!evq)
		return NULL;
	kref_init(&evq->ref);
	spin_lock_init(&evq->lock);
	init_waitqueue_head(&evq->wq);
	return evq;
}

void vl_events_get(struct vl_events *evq)
{
	kref_get(&evq->ref);
}

static void vl_events_free(struct kref *ref)
{
	kvfree(container_of(ref, struct vl_events, ref));
}

void vl_events_put(struct vl_events *evq)
{
	kref_put(&evq->ref, vl_events_free);
}

static bool vl_event_is_lifecycle(u32 type)
{
	return type == VIRTIO_LOOPBACK_EVENT_FEATURES_OK ||
	       type == VIRTIO_LOOPBACK_EVENT_DRIVER_OK ||
	       type == VIRTIO_LOOPBACK_EVENT_RESET ||
	       type == VIRTIO_LOOPBACK_EVENT_BROKEN;
}

/*
 * Drop the pending events of @handle that @drop() selects, keeping the order
 * of the rest. evq->lock held.
 */
static void vl_events_drop(struct vl_events *evq, u32 handle,
			   bool (*drop)(const struct virtio_loopback_event *ev))
{
	unsigned int i, kept = 0;

	for (i = 0; i < evq->count; i++) {
		struct virtio_loopback_event *ev =
			&evq->ev[(evq->head + i) % VL_EVENT_RING];

		if (ev->handle == handle && drop(ev)) {
			if (vl_event_is_lifecycle(ev->type))
				evq->lifecycle--;
			continue;
		}
		if (kept != i)
			evq->ev[(evq->head + kept) % VL_EVENT_RING] = *ev;
		kept++;
	}
	evq->count = kept;
}

static bool vl_event_superseded_by_reset(const struct virtio_loopback_event *ev)
{
	return ev->type == VIRTIO_LOOPBACK_EVENT_FEATURES_OK ||
	       ev->type == VIRTIO_LOOPBACK_EVENT_DRIVER_OK ||
	       ev->type == VIRTIO_LOOPBACK_EVENT_RESET;
}

static bool vl_event_any(const struct virtio_loopback_event *ev)
{
	return true;
}

/* A new device's lifecycle slots; false when the queue cannot hold them. */
bool vl_events_reserve(struct vl_events *evq)
{
	unsigned long flags;
	bool ok;

	spin_lock_irqsave(&evq->lock, flags);
	ok = evq->reserved + VL_EVENT_LIFECYCLE +
	     (evq->count - evq->lifecycle) <= VL_EVENT_RING;
	if (ok)
		evq->reserved += VL_EVENT_LIFECYCLE;
	spin_unlock_irqrestore(&evq->lock, flags);
	return ok;
}

/*
 * The device @handle is gone: its pending events go (a handle is not reused
 * at once, but a stale event is useless) and so do its slots.
 */
void vl_events_release(struct vl_events *evq, u32 handle)
{
	unsigned long flags;

	spin_lock_irqsave(&evq->lock, flags);
	vl_events_drop(evq, handle, vl_event_any);
	evq->reserved -= VL_EVENT_LIFECYCLE;
	spin_unlock_irqrestore(&evq->lock, flags);
}

/*
 * Queue @ev and set its seq; any context. Returns the seq, or 0 when a
 * CONFIG_WRITE found the queue full (the adapter stopped reading); a
 * lifecycle event always fits.
 */
u64 vl_events_push(struct vl_events *evq, struct virtio_loopback_event *ev)
{
	bool lifecycle = vl_event_is_lifecycle(ev->type);
	unsigned long flags;
	u64 seq = 0;

	spin_lock_irqsave(&evq->lock, flags);
	if (ev->type == VIRTIO_LOOPBACK_EVENT_RESET)
		vl_events_drop(evq, ev->handle, vl_event_superseded_by_reset);
	if (lifecycle || evq->count - evq->lifecycle + evq->reserved < VL_EVENT_RING) {
		if (!WARN_ON_ONCE(evq->count == VL_EVENT_RING)) {
			seq = ++evq->next_seq;
			ev->seq = seq;
			evq->ev[(evq->head + evq->count) % VL_EVENT_RING] = *ev;
			evq->count++;
			if (lifecycle)
				evq->lifecycle++;
		}
	}
	spin_unlock_irqrestore(&evq->lock, flags);
	if (seq)
		wake_up_interruptible_poll(&evq->wq, EPOLLIN | EPOLLRDNORM);
	else
		pr_warn_ratelimited("event queue full, event %u of device %u dropped\n",
				    ev->type, ev->handle);
	return seq;
}

/* Take the oldest event; false when none is pending. */
bool vl_events_pop(struct vl_events *evq, struct virtio_loopback_event *ev)
{
	unsigned long flags;
	bool got = false;

	spin_lock_irqsave(&evq->lock, flags);
	if (evq->count) {
		*ev = evq->ev[evq->head];
		evq->head = (evq->head + 1) % VL_EVENT_RING;
		evq->count--;
		if (vl_event_is_lifecycle(ev->type))
			evq->lifecycle--;
		got = true;
	}
	spin_unlock_irqrestore(&evq->lock, flags);
	return got;
}

bool vl_events_pending(struct vl_events *evq)
{
	return READ_ONCE(evq->count);
}
