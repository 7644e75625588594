/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * virtio-loopback, layer 1: the event queue of a control fd. Devices push
 * events (layer 3), the control channel reads them out (layer 4). Calls
 * nothing of the module's other layers.
 */
#ifndef VL_EVENTS_H
#define VL_EVENTS_H

#include <linux/kref.h>
#include <linux/poll.h>
#include <linux/spinlock.h>
#include <linux/virtio_loopback.h>
#include <linux/wait.h>

#define VL_EVENT_RING		512	/* pending events per control fd */
/*
 * Lifecycle events a device can have queued at once: RESET, FEATURES_OK,
 * DRIVER_OK and BROKEN. A RESET drops the device's queued RESET,
 * FEATURES_OK and DRIVER_OK (they describe a state that is gone), FEATURES_OK
 * and DRIVER_OK come at most once between resets, and BROKEN at most once.
 */
#define VL_EVENT_LIFECYCLE	4

/**
 * struct vl_events - the events of one control fd
 * @ref: held by the control fd and by each of its devices.
 * @lock: protects everything below; events are pushed from any context.
 * @wq: readers and pollers wait here.
 * @head: index of the oldest pending event.
 * @count: pending events.
 * @reserved: slots held back for lifecycle events, VL_EVENT_LIFECYCLE per
 *	device: a full queue drops a CONFIG_WRITE (its driver stops waiting),
 *	never a lifecycle event.
 * @lifecycle: lifecycle events pending.
 * @next_seq: seq of the next event.
 * @ev: ring of pending events, in seq order.
 */
struct vl_events {
	struct kref ref;
	spinlock_t lock;		/* all of the below; any context */
	wait_queue_head_t wq;
	unsigned int head;
	unsigned int count;
	unsigned int reserved;
	unsigned int lifecycle;
	u64 next_seq;
	struct virtio_loopback_event ev[VL_EVENT_RING];
};

struct vl_events *vl_events_create(void);
void vl_events_get(struct vl_events *evq);
void vl_events_put(struct vl_events *evq);
bool vl_events_reserve(struct vl_events *evq);
void vl_events_release(struct vl_events *evq, u32 handle);
u64 vl_events_push(struct vl_events *evq, struct virtio_loopback_event *ev);
bool vl_events_pop(struct vl_events *evq, struct virtio_loopback_event *ev);
bool vl_events_pending(struct vl_events *evq);

#endif /* VL_EVENTS_H */
