/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * virtio-loopback, layer 2: virtqueues. The driver's split ring stays in
 * module memory; the back end works on a shadow copy in the pool. The module
 * forwards avail entries on the driver's kick, and takes back used entries,
 * each checked, when the back end signals its call eventfd. Calls only
 * layer 1 (pool, DMA).
 */
#ifndef VL_VQ_H
#define VL_VQ_H

#include <linux/eventfd.h>
#include <linux/irq_work.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/spinlock.h>
#include <linux/virtio.h>
#include <linux/virtio_loopback.h>
#include <linux/virtio_ring.h>
#include <linux/workqueue.h>

#include "pool.h"

#define VL_MAX_QUEUE_SIZE	32768

struct vl_queue;

/**
 * struct vl_vq_ops - what a queue tells its device
 * @violation: the back end broke a rule on the queue (q->violation says
 *	which); the queue stopped taking its used entries. Called from the
 *	delivery context (hard interrupt): schedule work, do not sleep.
 * @queue: queue @index of the same device, or NULL; any context.
 */
struct vl_vq_ops {
	void (*violation)(struct vl_queue *q);
	struct vl_queue *(*queue)(struct vl_queue *q, u32 index);
};

/**
 * struct vl_vq_chain - what the module knows of one head of the shadow ring
 * @wlen: device-writable bytes of the chain: the largest used length the
 *	back end may report for it.
 * @flags: VL_CHAIN_*.
 * @post_slot: a posted queue's chain: first pool slot of its copy.
 * @post_cap: the bytes of the pool it holds.
 *
 * A queue forwards each driver chain under the driver's head (the shadow
 * head is the driver's); a posted queue gives each copy a shadow head of
 * its own, since the driver reuses its head once the chain is used.
 */
struct vl_vq_chain {
	u32 wlen;
	u32 flags;
	u32 post_slot;
	u32 post_cap;
};

/* A posted copy waiting in a queue's backlog for a shadow head. */
struct vl_post_copy_ref {
	u32 slot;
	u32 len;	/* bytes copied */
	u32 cap;	/* bytes of the pool it holds */
};

#define VL_CHAIN_OUT	BIT(0)	/* outstanding: forwarded, not yet used */
#define VL_CHAIN_REQ	BIT(1)	/* has a driver-readable part (a request) */
#define VL_CHAIN_POSTED	BIT(2)	/* a posted copy under the module's head */
/* A descriptor of a chain forwarded before its queue was posted: no copy's head. */
#define VL_CHAIN_HELD	BIT(3)

/* struct vl_queue.state */
enum vl_vq_state {
	VL_VQ_LIVE,	/* the back end serves the shadow ring */
	VL_VQ_HALTED,	/* it broke a rule: nothing more is taken from it */
	VL_VQ_FAILING,	/* the module fails every request, now and later */
};

/**
 * struct vl_queue - one virtqueue, its shadow ring and its eventfds
 * @vdev: the virtio device.
 * @pool: the device's pool (holds the shadow ring).
 * @dma: the device's DMA parent (counters).
 * @ops: the device's callbacks.
 * @index: queue index.
 * @device_id: the virtio device ID (what failing a request means).
 * @mutex: serialises setup, teardown and the eventfd changes (process
 *	context); the fields marked (M) change only under it.
 * @lock: the ring state, (L); taken from the driver's kick (any context),
 *	from delivery (hard interrupt) and from the fail pass.
 * @vq: the driver's virtqueue, or NULL (M, L to clear).
 * @priv: the driver's ring, in module memory (M).
 * @priv_mem: that memory (M).
 * @shadow: the back end's ring, in the pool (M).
 * @shadow_dma: DMA addresses of @shadow's desc, avail and used parts (M).
 * @shadow_slot: first pool slot of @shadow (M).
 * @shadow_bytes: bytes of @shadow (M).
 * @chains: per head of @shadow, what is forwarded (L).
 * @num: ring size (M).
 * @event_idx: VIRTIO_RING_F_EVENT_IDX negotiated (M).
 * @posted: a transmit queue whose chains the module posts (vq.c): it copies
 *	each into the pool and uses it at once, before the back end has it
 *	(L; read without it by the kick).
 * @post_asked: the back end made this transmit queue's port a console; the
 *	queue is posted from its next kick on (vq.c); set from the control
 *	receive queue's delivery.
 * @control_rx: virtio-console's control receive queue, whose messages the
 *	module reads (vq.c).
 * @post_hint: where the search for a free shadow head starts (L).
 * @owed: a posted chain was used and the driver wants an interrupt for it;
 *	the next delivery pass raises it (L).
 * @post_waiting: a posted queue left a chain in the driver's ring for want
 *	of room; the kick waits for it (L).
 * @backlog: a posted queue's copies that wait for a shadow head, a ring of
 *	VL_POST_BACKLOG (M to allocate, L).
 * @bl_head: next backlog entry to move into the shadow ring (L).
 * @bl_tail: next backlog entry to fill (L).
 * @post_bytes: bytes of the pool that a posted queue's copies hold (L).
 * @dropping: the back end stalled while the driver waited (vq.c): what
 *	cannot be posted is used unsent until it takes something again (L).
 * @dropped: bytes used unsent since the drop began (L).
 * @unsent: chains used unsent because they were no plain transmit buffers,
 *	not yet logged (L).
 * @post_log: writes the module's messages about a posted queue, never from
 *	the kick (the kernel's console may be this queue).
 * @state: enum vl_vq_state (L).
 * @enabled: the driver set DRIVER_OK; used entries reach it (L).
 * @priv_avail: next position of the driver's avail ring to forward (L).
 * @priv_used: the driver's used index as published (L).
 * @shadow_avail: the shadow avail index as published (L).
 * @shadow_kicked: @shadow_avail at the last kick decision (L).
 * @shadow_used: next position of the shadow used ring to take (L).
 * @outstanding: heads forwarded and not yet used (L).
 * @violation: the rule the back end broke (VIRTIO_LOOPBACK_RULE_*), or 0 (L).
 * @kick_lock: protects @kick_ctx and @kick_pending (any context).
 * @kick_ctx: the back end's kick eventfd, or NULL.
 * @kick_pending: a kick found no @kick_ctx, or could not signal in place;
 *	replayed on attach or by @kick_work.
 * @kick_work: signals a kick that could not be signalled in place, and
 *	a posted queue's kicks, from another CPU.
 * @call_file: the back end's call eventfd's file, or NULL (M).
 * @call_ctx: its eventfd context (M).
 * @call_armed: @call_wait is on the eventfd's wait queue (M).
 * @call_wait: our entry on the call eventfd's wait queue.
 * @call_pt: poll table used to add @call_wait.
 * @call_irq: runs the delivery in hard interrupt context, like a device
 *	interrupt would (never inside the eventfd's wake-up).
 * @owed_irq: runs the delivery that a posted chain's interrupt needs, queued
 *	by the kick (on the CPU of a driver that may spin next).
 * @break_irq: breaks a failed device's console transmit queue on the CPU of
 *	the kick that asked, once that driver has its buffer back
 *	(vl_vq_breakable()).
 * @call_work: runs the delivery from a work item instead (measurement knob
 *	call_context=1).
 * @deliver_bits: VL_Q_BUSY while one context delivers, VL_Q_AGAIN when
 *	another asked meanwhile: deliveries of a queue never overlap.
 */
struct vl_queue {
	struct virtio_device *vdev;
	struct vl_pool *pool;
	struct vl_dma_dev *dma;
	const struct vl_vq_ops *ops;
	unsigned int index;
	u32 device_id;

	struct mutex mutex;		/* setup, teardown, eventfds */
	spinlock_t lock;		/* ring state; any context */
	struct virtqueue *vq;
	struct vring priv;
	void *priv_mem;
	struct vring shadow;
	dma_addr_t shadow_dma[3];
	unsigned long shadow_slot;
	size_t shadow_bytes;
	struct vl_vq_chain *chains;
	u16 num;
	bool event_idx;
	bool posted;
	bool post_asked;
	bool control_rx;
	u16 post_hint;
	bool owed;
	bool dropping;
	bool post_waiting;
	struct vl_post_copy_ref *backlog;
	u32 bl_head;
	u32 bl_tail;
	u64 post_bytes;
	u64 dropped;
	u64 unsent;
	struct work_struct post_log;
	enum vl_vq_state state;
	bool enabled;
	u16 priv_avail;
	u16 priv_used;
	u16 shadow_avail;
	u16 shadow_kicked;
	u16 shadow_used;
	u32 outstanding;
	u32 violation;

	spinlock_t kick_lock;		/* kick_ctx, kick_pending; any context */
	struct eventfd_ctx *kick_ctx;
	bool kick_pending;
	struct work_struct kick_work;

	struct file *call_file;
	struct eventfd_ctx *call_ctx;
	bool call_armed;
	wait_queue_entry_t call_wait;
	poll_table call_pt;
	struct irq_work call_irq;
	struct irq_work owed_irq;
	struct irq_work break_irq;
	struct work_struct call_work;
	unsigned long deliver_bits;
};

void vl_vq_init(struct vl_queue *q, struct virtio_device *vdev,
		struct vl_dma_dev *dma, const struct vl_vq_ops *ops,
		unsigned int index, u32 device_id);
void vl_vq_release(struct vl_queue *q);
int vl_vq_setup(struct vl_queue *q, u32 num,
		void (*callback)(struct virtqueue *vq), const char *name,
		bool ctx, struct virtqueue **out);
void vl_vq_del(struct vl_queue *q);
void vl_vq_enable(struct vl_queue *q);
void vl_vq_stop(struct vl_queue *q);
void vl_vq_fail(struct vl_queue *q);
bool vl_vq_breakable(const struct vl_queue *q);
void vl_vq_unbreak(struct vl_queue *q);
bool vl_vq_has_unseen(struct vl_queue *q);
u32 vl_vq_progress(struct vl_queue *q, u16 *shadow_used_idx);
void vl_vq_set_fds(struct vl_queue *q, struct eventfd_ctx *kick,
		   struct file *call_file, struct eventfd_ctx *call);
void vl_vq_info(struct vl_queue *q, struct virtio_loopback_queue_info *info);
void vl_vq_synchronize(struct vl_queue *q);

#endif /* VL_VQ_H */
