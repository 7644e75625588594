// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-loopback, layer 2: virtqueues whose driver rings stay private.
 *
 * virtio_ring reads its own ring back: detach_buf_split() follows
 * VRING_DESC_F_NEXT through the descriptor table (and 5.10 also takes the
 * next index from it). So the ring the driver uses lives in module memory,
 * out of the back end's reach, and the back end works on a shadow copy in the
 * pool, the way QEMU's shadow virtqueue sits between a driver and a vDPA
 * device:
 *
 *  - Kick. vl_vq_notify() copies the new avail entries and their
 *    descriptors into the shadow ring, notes each head's device-writable
 *    length, and signals the back end's kick eventfd unless the back end
 *    suppressed that (its shadow used->flags or avail_event). The driver
 *    itself is always asked to kick, so nothing it adds is missed.
 *  - Call. The back end's call eventfd wakes vl_vq_call_wakeup(), which only
 *    queues the delivery: an irq_work, so that the driver's callback runs in
 *    hard interrupt context as with a real device's interrupt, never inside
 *    the eventfd's wake-up (where a callback that kicks would nest eventfd
 *    locks). The delivery takes the shadow used entries, each checked: the
 *    id is an outstanding head, the length at most that head's writable
 *    bytes, the index moved by at most what is outstanding. It writes them
 *    into the driver's ring and runs vring_interrupt() unless the driver
 *    suppressed it. Deliveries of one queue never overlap (VL_Q_BUSY).
 *
 * A broken rule halts the queue and tells the device (vl_vq_ops), which
 * revokes the pool and fails what is outstanding (vl_vq_fail()). Failing
 * uses only the module's own bookkeeping and the driver's ring, never what
 * the back end wrote.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitops.h>
#include <linux/file.h>
#include <linux/module.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>
#include <uapi/linux/virtio_blk.h>
#include <uapi/linux/virtio_console.h>
#include <uapi/linux/virtio_ids.h>

#include "compat.h"
#include "vq.h"

/* struct vl_queue.deliver_bits */
#define VL_Q_BUSY	0
#define VL_Q_AGAIN	1

static unsigned int call_context;
module_param(call_context, uint, 0644);
MODULE_PARM_DESC(call_context,
		 "Where used buffers reach the driver: 0 hard interrupt (irq_work, the default), 1 work item (for measurements)");

/* The ring alignment of both rings. */
#define VL_VRING_ALIGN	SMP_CACHE_BYTES

#define vl16(q, v)	virtio16_to_cpu((q)->vdev, v)
#define vl32(q, v)	virtio32_to_cpu((q)->vdev, v)
#define vl64(q, v)	virtio64_to_cpu((q)->vdev, v)

/* --- the driver's chains --------------------------------------------------- */

/* Called for every buffer of a chain: its DMA address, length, direction. */
typedef void (*vl_buf_fn)(struct vl_queue *q, u64 addr, u32 len, bool writable,
			  void *arg);

/*
 * Visit the buffers of an indirect table. The table is read from the
 * driver's original (the pool copy is the back end's to scribble on).
 */
static bool vl_vq_walk_indirect(struct vl_queue *q, u64 addr, u32 len,
				vl_buf_fn fn, void *arg)
{
	struct vring_desc batch[8];
	u32 n = len / sizeof(batch[0]), i = 0, j, k;

	if (!len || len % sizeof(batch[0]))
		return false;
	while (i < n) {
		k = min_t(u32, n - i, ARRAY_SIZE(batch));
		if (!vl_dma_read_orig(q->pool, addr + i * sizeof(batch[0]), batch,
				      k * sizeof(batch[0])))
			return false;
		for (j = 0; j < k; j++) {
			u16 flags = vl16(q, batch[j].flags);

			if (flags & VRING_DESC_F_INDIRECT)
				return false;
			fn(q, vl64(q, batch[j].addr), vl32(q, batch[j].len),
			   flags & VRING_DESC_F_WRITE, arg);
		}
		i += k;
	}
	return true;
}

/*
 * Visit every buffer of the driver's chain at @head, indirect tables
 * included; with @copy, also copy each descriptor of the chain into the
 * shadow table (same index). False for a chain virtio_ring never builds.
 * q->lock held.
 */
static bool vl_vq_walk(struct vl_queue *q, u16 head, bool copy, vl_buf_fn fn,
		       void *arg)
{
	unsigned int hops = 0;
	u16 i = head;

	for (;;) {
		struct vring_desc d = q->priv.desc[i];
		u16 flags = vl16(q, d.flags);

		if (copy)
			q->shadow.desc[i] = d;
		if (flags & VRING_DESC_F_INDIRECT) {
			if (!vl_vq_walk_indirect(q, vl64(q, d.addr), vl32(q, d.len),
						 fn, arg))
				return false;
		} else {
			fn(q, vl64(q, d.addr), vl32(q, d.len),
			   flags & VRING_DESC_F_WRITE, arg);
		}
		if (!(flags & VRING_DESC_F_NEXT))
			return true;
		i = vl16(q, d.next);
		if (i >= q->num || ++hops >= q->num)
			return false;
	}
}

struct vl_chain_sum {
	u64 wlen;
	u64 rlen;
	bool readable;
};

static void vl_vq_sum_buf(struct vl_queue *q, u64 addr, u32 len, bool writable,
			  void *arg)
{
	struct vl_chain_sum *sum = arg;

	if (writable) {
		sum->wlen += len;
	} else {
		sum->rlen += len;
		sum->readable = true;
	}
}

/* What taking one chain of the driver's ring came to. */
enum vl_take {
	VL_TAKEN,	/* forwarded (or, on a posted queue, used) */
	VL_BAD,		/* a chain virtio_ring never builds: skipped */
	VL_WAIT,	/* a posted queue is out of room: taken later */
};

/*
 * Take the driver's new chain at @head: note it outstanding with its
 * writable length; in a live queue also copy its descriptors into the
 * shadow table and make it available there. q->lock held.
 */
static enum vl_take vl_vq_take_chain(struct vl_queue *q, u16 head)
{
	bool live = q->state == VL_VQ_LIVE;
	struct vl_chain_sum sum = {};
	struct vl_vq_chain *c;

	if (head >= q->num || (q->chains[head].flags & VL_CHAIN_OUT))
		return VL_BAD;
	if (!vl_vq_walk(q, head, live, vl_vq_sum_buf, &sum))
		return VL_BAD;
	c = &q->chains[head];
	c->wlen = min_t(u64, sum.wlen, U32_MAX);
	c->flags = VL_CHAIN_OUT | (sum.readable ? VL_CHAIN_REQ : 0);
	q->outstanding++;
	if (live)
		q->shadow.avail->ring[q->shadow_avail++ & (q->num - 1)] =
			cpu_to_virtio16(q->vdev, head);
	return VL_TAKEN;
}

struct vl_chain_fail {
	u64 last_addr;
	u32 last_len;
};

static void vl_vq_poison_buf(struct vl_queue *q, u64 addr, u32 len,
			     bool writable, void *arg)
{
	struct vl_chain_fail *f = arg;

	if (!writable)
		return;
	vl_dma_fail_range(q->pool, addr, len, VL_POISON);
	if (len) {
		f->last_addr = addr;
		f->last_len = len;
	}
}

/*
 * The module fails the outstanding chain at @head: its device-writable
 * buffers get VL_POISON in the driver's memory and, for virtio-blk, the
 * status byte (the last writable byte, virtio spec 5.2.6) gets
 * VIRTIO_BLK_S_IOERR; nothing is taken from the pool. q->lock held.
 */
static void vl_vq_poison_chain(struct vl_queue *q, u16 head)
{
	struct vl_chain_fail f = {};

	vl_vq_walk(q, head, false, vl_vq_poison_buf, &f);
	if (q->device_id == VIRTIO_ID_BLOCK && f.last_len)
		vl_dma_fail_range(q->pool, f.last_addr + f.last_len - 1, 1,
				  VIRTIO_BLK_S_IOERR);
}

/* Write a used entry into the driver's ring (published later). q->lock held. */
static void vl_vq_push_used(struct vl_queue *q, u16 head, u32 len)
{
	struct vring_used_elem *e = &q->priv.used->ring[q->priv_used++ & (q->num - 1)];

	e->id = cpu_to_virtio32(q->vdev, head);
	e->len = cpu_to_virtio32(q->vdev, len);
}

/* --- posted queues ----------------------------------------------------------- */

/*
 * virtio-console's transmit queues of console ports are posted: port 0's
 * (1), that of each port N the back end makes a console (2N + 3, from its
 * VIRTIO_CONSOLE_CONSOLE_PORT message; vl_vq_snoop_control()), and the
 * control queue's (3; virtio spec 5.3.2). For those the driver waits for a
 * sent buffer by spinning, with interrupts off (hvc's put_chars()) or
 * preemption off (control messages), until the device uses it; a serial
 * port's writer sleeps instead, so its queue keeps the back end's flow
 * control. Through the loopback the device is a task of this very kernel,
 * which that CPU cannot run, and may even be queued on it: the wait can
 * last for ever. So a posted chain is copied into the pool under a shadow
 * head of its own and used at once, at the kick; the back end gets the
 * copy, and returns that head. It costs one more copy of bytes the back end
 * sees anyway. The used entry of a transmit buffer tells the driver only
 * that it may reuse the buffer, which is true once the module holds the
 * copy.
 */
static bool vl_vq_is_posted(u32 device_id, unsigned int index)
{
	return device_id == VIRTIO_ID_CONSOLE && (index == 1 || index == 3);
}

/* Any console transmit queue may become posted: it gets a backlog. */
static bool vl_vq_may_post(u32 device_id, unsigned int index)
{
	return device_id == VIRTIO_ID_CONSOLE && (index & 1);
}

/*
 * Whether a failed device's queue may be broken at any moment. Not a
 * console's transmit queue: virtio_console's put_chars() and control
 * messages wait for their buffer until virtqueue_get_buf() returns it or the
 * queue is broken, and then free or reuse it. Broken between their add and
 * that get, the buffer stays in the ring, and the driver's removal frees it
 * as a port buffer (KASAN: use-after-free in free_buf()). Such a queue
 * breaks from its next kick instead (vl_vq_notify()), once that driver has
 * its buffer back; until then it fails each new buffer as it comes.
 */
bool vl_vq_breakable(const struct vl_queue *q)
{
	return !vl_vq_may_post(q->device_id, q->index);
}

/*
 * A kick with interrupts off on a failed console transmit queue returned
 * its buffer (posted queues at the kick itself). The driver takes it back
 * before it lets interrupts on again, so an irq_work on this CPU runs after
 * that: then the queue breaks, and the next writer's add fails at once
 * instead of leaving a buffer in the ring while it waits. hvc keeps the
 * output and retries. Hard interrupt context.
 */
static void vl_vq_break_irq(struct irq_work *work)
{
	struct vl_queue *q = container_of(work, struct vl_queue, break_irq);

	spin_lock(&q->lock);
	if (q->vq && q->state == VL_VQ_FAILING)
		vl_virtqueue_break(q->vq);
	spin_unlock(&q->lock);
}

/* Let the driver see the fail pass's completions (a failing device). */
void vl_vq_unbreak(struct vl_queue *q)
{
	spin_lock_irq(&q->lock);
	if (q->vq && vl_vq_breakable(q))
		vl_virtqueue_unbreak(q->vq);
	spin_unlock_irq(&q->lock);
}

/*
 * A copy waits in the queue's backlog (in order) until a shadow head is
 * free, so the back end may lag by up to VL_POST_BACKLOG copies or a
 * quarter of the pool, not just by a ring: a writer that outruns it for a
 * while does not wait, and yields its CPU at its next chance (below). A
 * copy that waits has room for VL_POST_CHUNK bytes, and the writes after it
 * join it while they fit (the back end cannot see it yet).
 *
 * Room runs out when the back end lags by all of that. Then the kick itself
 * waits for room (vl_vq_post_wait()), with the driver's locks held and
 * perhaps interrupts off, but never for long:
 *  - the back end is woken from another CPU (vl_vq_kick()), so the
 *    scheduler does not queue it behind the CPU that waits for it;
 *  - from half a ring behind, the writer's CPU is asked to reschedule at
 *    its next chance (the tty write loop reschedules between chunks), so
 *    that a back end already queued there runs before room runs out;
 *  - the wait ends once the back end has taken nothing for
 *    VL_POST_STALL_MS (longer than our console back end's own wait for a
 *    slow peer, 1 s), or after VL_POST_WAIT_MS whatever it does: the queue
 *    then drops what it cannot post (used unsent, logged) until the back
 *    end takes something again. On a single CPU nothing could run the back
 *    end meanwhile: no wait.
 * Lost console output is bad; a CPU that spins for a back end's sake, with
 * interrupts off, for as long as that back end likes is worse.
 */
#define VL_POST_STALL_MS	1500
#define VL_POST_WAIT_MS		3000
#define VL_POST_BACKLOG		1024	/* copies; a power of 2 */
#define VL_POST_CHUNK		4096	/* least room of a copy that waits */

static void vl_vq_post_yield(struct vl_queue *q)
{
	if (q->outstanding >= q->num / 2 || q->bl_head != q->bl_tail) {
		set_tsk_need_resched(current);
		set_preempt_need_resched();
	}
}

/*
 * The module's own messages about a posted queue. Never printed from the
 * kick: the driver's locks are held there, and the kernel's console may be
 * this very port (hvc's console write would take them again).
 */
static void vl_vq_post_log_work(struct work_struct *work)
{
	struct vl_queue *q = container_of(work, struct vl_queue, post_log);
	u64 dropped, unsent, held;
	u32 backlog, out;
	bool dropping;

	spin_lock_irq(&q->lock);
	held = q->post_bytes;
	backlog = q->bl_tail - q->bl_head;
	out = q->outstanding;
	dropping = q->dropping;
	dropped = q->dropped;
	unsent = q->unsent;
	q->unsent = 0;
	if (!dropping)
		q->dropped = 0;
	spin_unlock_irq(&q->lock);
	if (unsent)
		dev_err(&q->vdev->dev,
			"queue %u: %llu transmit chains were not plain transmit buffers of at most a quarter of the pool; used unsent\n",
			q->index, unsent);
	if (dropping)
		dev_warn(&q->vdev->dev,
			 "queue %u: the back end took no transmit buffer for %u ms (or kept the driver waiting %u ms) with %u buffers out and %u copies waiting (%llu bytes); dropping what cannot be posted until it takes one\n",
			 q->index, VL_POST_STALL_MS, VL_POST_WAIT_MS, out, backlog, held);
	else if (dropped)
		dev_warn(&q->vdev->dev,
			 "queue %u: the back end takes transmit buffers again; %llu bytes were dropped\n",
			 q->index, dropped);
}

/* Have the log written, from another CPU when there is one. q->lock held. */
static void vl_vq_post_log(struct vl_queue *q)
{
	unsigned int cpu = cpumask_any_but(cpu_online_mask, raw_smp_processor_id());

	if (cpu >= nr_cpu_ids)
		cpu = raw_smp_processor_id();
	queue_work_on(cpu, system_wq, &q->post_log);
}

struct vl_post_copy {
	void *dst;
	u32 pos;
	bool ok;
};

static void vl_vq_copy_buf(struct vl_queue *q, u64 addr, u32 len,
			   bool writable, void *arg)
{
	struct vl_post_copy *pc = arg;

	if (writable || !pc->ok)
		return;
	/* From the driver's original: the pool's bounce copy is the back end's. */
	pc->ok = vl_dma_read_orig(q->pool, addr, pc->dst + pc->pos, len);
	pc->pos += len;
}

/* A shadow head no chain holds or runs through, or -1. q->lock held. */
static int vl_vq_free_shadow_head(struct vl_queue *q)
{
	unsigned int i;
	u16 s;

	if (q->outstanding >= q->num)
		return -1;
	for (i = 0; i < q->num; i++) {
		s = (q->post_hint + i) & (q->num - 1);
		if (!(q->chains[s].flags & (VL_CHAIN_OUT | VL_CHAIN_HELD)))
			return s;
	}
	return -1;
}

/*
 * Move the backlog's copies, oldest first, under free shadow heads and into
 * the shadow avail ring (published by vl_vq_forward()). q->lock held.
 */
static void vl_vq_post_feed(struct vl_queue *q)
{
	struct vl_post_copy_ref *b;
	struct vl_vq_chain *c;
	struct vring_desc *d;
	int s;

	while (q->bl_head != q->bl_tail) {
		s = vl_vq_free_shadow_head(q);
		if (s < 0)
			return;
		b = &q->backlog[q->bl_head++ & (VL_POST_BACKLOG - 1)];
		c = &q->chains[s];
		c->wlen = 0;
		c->flags = VL_CHAIN_OUT | VL_CHAIN_REQ | VL_CHAIN_POSTED;
		c->post_slot = b->slot;
		c->post_cap = b->cap;
		q->outstanding++;
		q->post_hint = s + 1;
		d = &q->shadow.desc[s];
		d->addr = cpu_to_virtio64(q->vdev, VL_POOL_DMA_BASE +
					  ((u64)b->slot << VL_SLOT_SHIFT));
		d->len = cpu_to_virtio32(q->vdev, b->len);
		d->flags = 0;
		d->next = 0;
		q->shadow.avail->ring[q->shadow_avail++ & (q->num - 1)] =
			cpu_to_virtio16(q->vdev, s);
	}
}

/* Use the driver's chain at @head without sending it. q->lock held. */
static void vl_vq_post_unsent(struct vl_queue *q, u16 head)
{
	if (q->state == VL_VQ_LIVE) {
		q->unsent++;
		vl_vq_post_log(q);
	}
	vl_vq_push_used(q, head, 0);
}

/*
 * Post the driver's new chain at @head: copy its bytes into the pool under
 * a free shadow head, make that available, and use the driver's chain. A
 * chain that is not a transmit buffer, too large for one copy or unreadable
 * is used unsent (and logged); so is every chain of a queue whose back end
 * broke a rule, and, while the queue drops, one that finds no room. VL_WAIT
 * when no shadow head or pool space is free (or the queue is not enabled
 * yet): the chain stays in the driver's ring until the back end returns
 * one. q->lock held.
 */
static enum vl_take vl_vq_post_chain(struct vl_queue *q, u16 head)
{
	u64 max = min_t(u64, VL_MAX_MAPPING, q->pool->size / 4);
	struct vl_post_copy pc = { .ok = true };
	struct vl_chain_sum sum = {};
	struct vl_post_copy_ref *b;
	long slot = -1;
	u32 cap;

	if (head >= q->num)
		return VL_BAD;
	if (!vl_vq_walk(q, head, false, vl_vq_sum_buf, &sum) ||
	    q->state != VL_VQ_LIVE || sum.wlen || sum.rlen > max) {
		vl_vq_post_unsent(q, head);
		return VL_TAKEN;
	}
	/* Small writes (a cooked tty's) share the backlog's newest copy. */
	b = &q->backlog[(q->bl_tail - 1) & (VL_POST_BACKLOG - 1)];
	if (q->bl_head != q->bl_tail && b->cap - b->len >= sum.rlen) {
		pc.dst = q->pool->vaddr + ((unsigned long)b->slot << VL_SLOT_SHIFT) + b->len;
		vl_vq_walk(q, head, false, vl_vq_copy_buf, &pc);
		if (!pc.ok) {
			vl_vq_post_unsent(q, head);
			return VL_TAKEN;
		}
		b->len += sum.rlen;
		vl_vq_push_used(q, head, 0);
		vl_vq_post_yield(q);
		return VL_TAKEN;
	}
	/* A copy that will wait for a head leaves room for more. */
	cap = sum.rlen;
	if (q->outstanding >= q->num)
		cap = max_t(u32, cap, VL_POST_CHUNK);
	if (q->enabled && q->bl_tail - q->bl_head < VL_POST_BACKLOG &&
	    q->post_bytes + cap <= q->pool->size / 4)
		slot = vl_pool_alloc(q->pool, cap, 0);
	if (slot < 0) {
		if (!q->dropping)
			return VL_WAIT;
		q->dropped += sum.rlen;
		vl_vq_push_used(q, head, 0);
		return VL_TAKEN;
	}
	pc.dst = q->pool->vaddr + ((unsigned long)slot << VL_SLOT_SHIFT);
	vl_vq_walk(q, head, false, vl_vq_copy_buf, &pc);
	if (!pc.ok) {
		vl_pool_free(q->pool, slot, cap);
		vl_vq_post_unsent(q, head);
		return VL_TAKEN;
	}
	b = &q->backlog[q->bl_tail++ & (VL_POST_BACKLOG - 1)];
	b->slot = slot;
	b->len = sum.rlen;
	b->cap = cap;
	q->post_bytes += cap;
	vl_vq_push_used(q, head, 0);
	vl_vq_post_feed(q);
	vl_vq_post_yield(q);
	return VL_TAKEN;
}

/* The back end returned posted shadow head @s: free its copy. q->lock held. */
static void vl_vq_unpost(struct vl_queue *q, u16 s)
{
	struct vl_vq_chain *c = &q->chains[s];

	vl_pool_free(q->pool, c->post_slot, c->post_cap);
	q->post_bytes -= c->post_cap;
	c->flags = 0;
	q->outstanding--;
	if (q->dropping) {
		q->dropping = false;
		vl_vq_post_log(q);
	}
}

/*
 * Nobody will take the copies any more (a failing or vanishing queue):
 * free those still in the shadow ring and in the backlog. q->lock held.
 */
static void vl_vq_unpost_all(struct vl_queue *q)
{
	struct vl_post_copy_ref *b;
	u32 s;

	/* Not the back end taking copies again: nothing to tell. */
	q->dropping = false;
	q->dropped = 0;
	for (s = 0; s < q->num && q->outstanding; s++)
		if (q->chains[s].flags & VL_CHAIN_POSTED)
			vl_vq_unpost(q, s);
	while (q->bl_head != q->bl_tail) {
		b = &q->backlog[q->bl_head++ & (VL_POST_BACKLOG - 1)];
		vl_pool_free(q->pool, b->slot, b->cap);
		q->post_bytes -= b->cap;
	}
}

/*
 * Mark (@held) or clear the descriptors of the driver's chain at @head as
 * held: its descriptors stay in the shadow table until the back end uses
 * it, so no posted copy may take one as its head. The driver's own chain
 * (taken before, so well formed). q->lock held.
 */
static void vl_vq_hold_chain(struct vl_queue *q, u16 head, bool held)
{
	unsigned int hops = 0;
	u16 i = head;

	for (;;) {
		u16 flags = vl16(q, q->priv.desc[i].flags);

		if (held)
			q->chains[i].flags |= VL_CHAIN_HELD;
		else
			q->chains[i].flags &= ~VL_CHAIN_HELD;
		if (!(flags & VRING_DESC_F_NEXT) || ++hops >= q->num)
			return;
		i = vl16(q, q->priv.desc[i].next) & (q->num - 1);
	}
}

/*
 * The back end made this queue's port a console: post from now on. Chains
 * forwarded before stay outstanding under the driver's heads (their writers
 * sleep) and hold their descriptors until the back end uses them. q->lock
 * held.
 */
static void vl_vq_post_start(struct vl_queue *q)
{
	u32 head, left = q->outstanding;

	if (q->posted || !READ_ONCE(q->post_asked) || !q->backlog)
		return;
	for (head = 0; head < q->num && left; head++) {
		if (!(q->chains[head].flags & VL_CHAIN_OUT))
			continue;
		vl_vq_hold_chain(q, head, true);
		left--;
	}
	WRITE_ONCE(q->posted, true);
}

/*
 * virtio-console's control receive queue (2): the back end's message in the
 * driver's chain at @head, before the driver sees it. A
 * VIRTIO_CONSOLE_CONSOLE_PORT message makes port N a console (hvcN), whose
 * writer spins like port 0's: its transmit queue (2N + 3) is posted from
 * then on. The driver reads the message whatever used length came with
 * it, and gets the bytes the module read (vl_dma_complete_now()): a back
 * end cannot show the module one message and the driver another. A message
 * that lies can only cost its own port the flow control of a serial port.
 * q->lock held.
 */
static void vl_vq_snoop_control(struct vl_queue *q, u16 head)
{
	struct vring_desc d = q->priv.desc[head];
	struct virtio_console_control msg;
	struct vl_queue *tx;
	u64 addr = vl64(q, d.addr);
	u32 id;

	/* virtio_console's control buffers are single whole mappings. */
	if (vl16(q, d.flags) != VRING_DESC_F_WRITE || vl32(q, d.len) < sizeof(msg) ||
	    !vl_dma_complete_now(q->pool, addr, vl32(q, d.len)) ||
	    !vl_dma_read_orig(q->pool, addr, &msg, sizeof(msg)))
		return;
	id = vl32(q, msg.id);
	if (vl16(q, msg.event) != VIRTIO_CONSOLE_CONSOLE_PORT || !msg.value ||
	    !id || id > U16_MAX)
		return;
	tx = q->ops->queue(q, 2 * id + 3);
	if (tx)
		WRITE_ONCE(tx->post_asked, true);
}

static void vl_vq_schedule_delivery(struct vl_queue *q);
static void vl_vq_deliver(struct vl_queue *q);

/* --- kick: the driver's new buffers reach the shadow ring ----------------- */

/*
 * Take what the driver made available since the last call. A live queue
 * forwards it into the shadow ring; a halted or failing one only notes it
 * (the fail pass returns it). A posted queue posts it instead (and stops
 * where it runs out of room). With EVENT_IDX, ask the driver for a kick on
 * its next buffer and look again for one it added before it could see that
 * (it publishes avail->idx, then reads avail_event; we write avail_event,
 * then read avail->idx). q->lock held.
 */
static void vl_vq_forward(struct vl_queue *q)
{
	bool live = q->state == VL_VQ_LIVE;
	u16 mask = q->num - 1, avail;
	enum vl_take took = VL_TAKEN;

	vl_vq_post_start(q);
	for (;;) {
		avail = vl16(q, READ_ONCE(q->priv.avail->idx));
		/* The entries after the index that publishes them. */
		smp_rmb();
		for (; q->priv_avail != avail; q->priv_avail++) {
			u16 head = vl16(q, READ_ONCE(q->priv.avail->ring[q->priv_avail & mask]));

			took = q->posted ? vl_vq_post_chain(q, head) :
					   vl_vq_take_chain(q, head);
			if (took == VL_WAIT)
				break;
			if (took == VL_BAD)
				dev_err_ratelimited(&q->vdev->dev,
						    "queue %u: the driver made head %u available twice, or a malformed chain\n",
						    q->index, head);
		}
		if (live) {
			/* Descriptors and entries before the index. */
			smp_wmb();
			WRITE_ONCE(q->shadow.avail->idx,
				   cpu_to_virtio16(q->vdev, q->shadow_avail));
		}
		/* The rest comes when the back end returns a posted chain. */
		q->post_waiting = took == VL_WAIT;
		if (!q->event_idx || took == VL_WAIT)
			return;
		WRITE_ONCE(vring_avail_event(&q->priv),
			   cpu_to_virtio16(q->vdev, q->priv_avail));
		/* avail_event before avail->idx; pairs with virtio_ring's mb. */
		smp_mb();
		if (vl16(q, READ_ONCE(q->priv.avail->idx)) == q->priv_avail)
			return;
	}
}

/*
 * Whether the back end wants a kick for what was forwarded since the last
 * decision; the driver side of the shadow ring (virtio spec 2.7.10). The
 * suppression state is the back end's: it only costs it kicks. q->lock held.
 */
static bool vl_vq_kick_needed(struct vl_queue *q)
{
	u16 old = q->shadow_kicked, new = q->shadow_avail;

	if (old == new)
		return false;
	q->shadow_kicked = new;
	/* The avail index before the back end's suppression state. */
	smp_mb();
	if (q->event_idx)
		return vring_need_event(vl16(q, READ_ONCE(vring_avail_event(&q->shadow))),
					new, old);
	return !(vl16(q, READ_ONCE(q->shadow.used->flags)) & VRING_USED_F_NO_NOTIFY);
}

static void vl_vq_kick(struct vl_queue *q)
{
	unsigned int cpu = nr_cpu_ids;
	unsigned long flags;

	/* A posted queue's back end is woken from another CPU (see above). */
	if (READ_ONCE(q->posted))
		cpu = cpumask_any_but(cpu_online_mask, raw_smp_processor_id());
	spin_lock_irqsave(&q->kick_lock, flags);
	if (q->kick_ctx && cpu < nr_cpu_ids) {
		q->kick_pending = true;
		queue_work_on(cpu, system_highpri_wq, &q->kick_work);
	} else if (q->kick_ctx && vl_eventfd_signal_allowed()) {
		vl_eventfd_signal(q->kick_ctx);
	} else {
		/* No fd yet, or nested in another eventfd's wake-up. */
		q->kick_pending = true;
		if (q->kick_ctx)
			schedule_work(&q->kick_work);
	}
	spin_unlock_irqrestore(&q->kick_lock, flags);
}

static void vl_vq_kick_work(struct work_struct *work)
{
	struct vl_queue *q = container_of(work, struct vl_queue, kick_work);
	unsigned long flags;

	spin_lock_irqsave(&q->kick_lock, flags);
	if (q->kick_ctx && q->kick_pending) {
		q->kick_pending = false;
		vl_eventfd_signal(q->kick_ctx);
	}
	spin_unlock_irqrestore(&q->kick_lock, flags);
}

static bool vl_vq_publish_used(struct vl_queue *q, u16 old);
static bool vl_vq_take_used(struct vl_queue *q, bool *violated, bool loud);

/*
 * Forward what the driver added. A posted queue uses its chains at once, and
 * the driver may want an interrupt for them (q->owed). Returns whether the
 * back end wants a kick. q->lock held.
 */
static bool vl_vq_forward_used(struct vl_queue *q)
{
	u16 old = q->priv_used;

	vl_vq_forward(q);
	if (vl_vq_publish_used(q, old))
		q->owed = true;
	return q->state == VL_VQ_LIVE && vl_vq_kick_needed(q);
}

/*
 * A posted queue ran out of room at the kick: take what the back end
 * returns, post what waits, and once the back end stalls, drop it instead
 * (see VL_POST_STALL_MS). The driver's locks are held and interrupts may be
 * off; only q->lock is taken, a pass at a time, so that deliveries on other
 * CPUs go on.
 */
static void vl_vq_post_wait(struct vl_queue *q)
{
	ktime_t start = ktime_get(), seen = start, now;
	bool waiting = true, kick, violated;
	unsigned long flags;
	u16 used;

	while (waiting) {
		cpu_relax();
		now = ktime_get();
		violated = false;
		spin_lock_irqsave(&q->lock, flags);
		used = q->shadow_used;
		if (q->state == VL_VQ_LIVE && q->enabled &&
		    vl_vq_take_used(q, &violated, false))
			q->owed = true;
		if (q->shadow_used != used) {
			seen = now;
		} else if (q->post_waiting &&
			   (num_online_cpus() == 1 ||
			    ktime_ms_delta(now, seen) >= VL_POST_STALL_MS ||
			    ktime_ms_delta(now, start) >= VL_POST_WAIT_MS)) {
			q->dropping = true;
			vl_vq_post_log(q);
		}
		kick = vl_vq_forward_used(q);
		waiting = q->post_waiting && q->vq;
		spin_unlock_irqrestore(&q->lock, flags);
		if (violated)
			q->ops->violation(q);
		if (kick)
			vl_vq_kick(q);
	}
}

/* virtqueue_notify(): any context, possibly under the driver's queue lock. */
static bool vl_vq_notify(struct virtqueue *vq)
{
	struct vl_queue *q = vq->priv;
	u64 start = vl_time_start();
	bool kick, fail, waiting;
	unsigned long flags;

	atomic64_inc(&q->dma->kicks);
	spin_lock_irqsave(&q->lock, flags);
	kick = vl_vq_forward_used(q);
	fail = q->state == VL_VQ_FAILING;
	waiting = q->post_waiting;
	spin_unlock_irqrestore(&q->lock, flags);
	if (kick)
		vl_vq_kick(q);
	if (waiting)
		vl_vq_post_wait(q);
	/*
	 * Nobody serves the ring: fail the new requests, from the delivery
	 * context (the driver may hold the lock its callback takes).
	 */
	if (fail) {
		vl_vq_schedule_delivery(q);
		/*
		 * A console write kicks with interrupts off, so the break runs
		 * once it has its buffer back. A control message waits with
		 * them on: the break could run inside its wait, so that queue
		 * stays unbroken and fails each message here.
		 */
		if (!vl_vq_breakable(q) && irqs_disabled())
			irq_work_queue(&q->break_irq);
	}
	/*
	 * The driver wants an interrupt for posted chains: the same, through
	 * an irq_work of its own. This one runs on this CPU, whose driver may
	 * next spin with interrupts off; the back end's call must not queue
	 * behind it.
	 */
	if (READ_ONCE(q->owed))
		irq_work_queue(&q->owed_irq);
	vl_time_end(q->dma, VL_TIME_KICK, start);
	return true;
}

/* --- call: used entries reach the driver ----------------------------------- */

/*
 * Whether the driver wants an interrupt for the used entries published
 * since @old: the device side of the driver's ring. q->lock held.
 */
static bool vl_vq_interrupt_needed(struct vl_queue *q, u16 old)
{
	/* The used index before the driver's suppression state. */
	smp_mb();
	if (q->event_idx)
		return vring_need_event(vl16(q, READ_ONCE(vring_used_event(&q->priv))),
					q->priv_used, old);
	return !(vl16(q, READ_ONCE(q->priv.avail->flags)) & VRING_AVAIL_F_NO_INTERRUPT);
}

/* Publish the driver's used entries written since @old. q->lock held. */
static bool vl_vq_publish_used(struct vl_queue *q, u16 old)
{
	if (q->priv_used == old)
		return false;
	/* The entries before the index that publishes them. */
	smp_wmb();
	WRITE_ONCE(q->priv.used->idx, cpu_to_virtio16(q->vdev, q->priv_used));
	return vl_vq_interrupt_needed(q, old);
}

/* The back end broke @rule (VIRTIO_LOOPBACK_RULE_*): halt the queue. q->lock held. */
static void vl_vq_halt(struct vl_queue *q, u32 rule)
{
	q->state = VL_VQ_HALTED;
	q->violation = rule;
	atomic64_inc(&q->dma->violations);
}

/*
 * Take the back end's new used entries into the driver's ring, each
 * checked. Returns whether the driver wants an interrupt; *@violated when
 * a rule broke (the queue is halted then; entries before the bad one were
 * taken). Without @loud (from a kick: the driver's locks are held, and the
 * kernel's console may be this queue) the bad entry is not described; the
 * device still logs which rule broke. q->lock held.
 */
static bool vl_vq_take_used(struct vl_queue *q, bool *violated, bool loud)
{
	u16 mask = q->num - 1, old = q->priv_used, idx, n;
	bool rearmed = false;

	for (;;) {
		idx = vl16(q, READ_ONCE(q->shadow.used->idx));
		n = idx - q->shadow_used;
		if (n > q->outstanding) {
			if (loud)
				dev_err_ratelimited(&q->vdev->dev,
						    "queue %u: the back end moved the used index by %u with %u buffers outstanding\n",
						    q->index, n, q->outstanding);
			vl_vq_halt(q, VIRTIO_LOOPBACK_RULE_USED_INDEX);
			*violated = true;
			break;
		}
		if (!n) {
			if (!q->event_idx || rearmed)
				break;
			/*
			 * Ask for a signal on the next entry, then look again
			 * for one published before the back end could see that.
			 */
			WRITE_ONCE(vring_used_event(&q->shadow),
				   cpu_to_virtio16(q->vdev, q->shadow_used));
			/* used_event before used->idx, as a driver does. */
			smp_mb();
			rearmed = true;
			continue;
		}
		rearmed = false;
		/* The entries after the index that publishes them. */
		smp_rmb();
		for (; n; n--, q->shadow_used++) {
			struct vring_used_elem *ue = &q->shadow.used->ring[q->shadow_used & mask];
			u32 id = vl32(q, READ_ONCE(ue->id));
			u32 len = vl32(q, READ_ONCE(ue->len));
			struct vl_vq_chain *c;

			if (id >= q->num || !(q->chains[id].flags & VL_CHAIN_OUT)) {
				if (loud)
					dev_err_ratelimited(&q->vdev->dev,
							    "queue %u: the back end used id %u, which is not an outstanding head\n",
							    q->index, id);
				vl_vq_halt(q, VIRTIO_LOOPBACK_RULE_USED_ID);
				*violated = true;
				goto out;
			}
			c = &q->chains[id];
			if (len > c->wlen) {
				if (loud)
					dev_err_ratelimited(&q->vdev->dev,
							    "queue %u: the back end used head %u with length %u, beyond its %u writable bytes\n",
							    q->index, id, len, c->wlen);
				vl_vq_halt(q, VIRTIO_LOOPBACK_RULE_USED_LENGTH);
				*violated = true;
				goto out;
			}
			if (c->flags & VL_CHAIN_POSTED) {
				vl_vq_unpost(q, id);
				continue;
			}
			if (c->flags & VL_CHAIN_HELD)
				vl_vq_hold_chain(q, id, false);
			if (q->control_rx)
				vl_vq_snoop_control(q, id);
			c->flags = 0;
			q->outstanding--;
			vl_vq_push_used(q, id, len);
		}
	}
out:
	/* Room again for the backlog, and for what it could not take. */
	if (q->posted && q->state == VL_VQ_LIVE) {
		vl_vq_post_feed(q);
		vl_vq_forward(q);
	}
	return vl_vq_publish_used(q, old);
}

/*
 * The fail pass: return every outstanding request with used length 0 and
 * its writable buffers poisoned (vl_vq_poison_chain()), including what the
 * driver added since the last kick. Receive-only chains (rx buffers, input
 * events) stay: drivers reclaim them after reset, and failing them would
 * only make the driver refill them (virtio-input would even take the stale
 * buffer for an event). virtio-rng's entropy requests are the exception:
 * their reader waits for them with the hwrng core's global mutex held.
 * q->lock held.
 */
static bool vl_vq_fail_outstanding(struct vl_queue *q)
{
	bool rng = q->device_id == VIRTIO_ID_RNG;
	u16 old = q->priv_used;
	u32 head;

	vl_vq_forward(q);
	if (q->posted)
		vl_vq_unpost_all(q);
	for (head = 0; head < q->num && q->outstanding; head++) {
		struct vl_vq_chain *c = &q->chains[head];

		if (!(c->flags & VL_CHAIN_OUT) ||
		    (!(c->flags & VL_CHAIN_REQ) && !rng))
			continue;
		vl_vq_poison_chain(q, head);
		if (c->flags & VL_CHAIN_HELD)
			vl_vq_hold_chain(q, head, false);
		c->flags = 0;
		q->outstanding--;
		vl_vq_push_used(q, head, 0);
	}
	return vl_vq_publish_used(q, old);
}

/* One delivery pass; the caller holds VL_Q_BUSY, interrupts off. */
static void vl_vq_run(struct vl_queue *q)
{
	bool interrupt = false, violated = false, kick = false;
	u64 start = vl_time_start();
	struct virtqueue *vq;

	spin_lock(&q->lock);
	vq = q->vq;
	if (vq && q->enabled) {
		if (q->state == VL_VQ_LIVE)
			interrupt = vl_vq_take_used(q, &violated, true);
		else if (q->state == VL_VQ_FAILING)
			interrupt = vl_vq_fail_outstanding(q);
		/* A posted queue may have forwarded more. */
		if (q->posted && q->state == VL_VQ_LIVE)
			kick = vl_vq_kick_needed(q);
		interrupt |= q->owed;
		q->owed = false;
	}
	spin_unlock(&q->lock);
	if (kick)
		vl_vq_kick(q);
	if (violated)
		q->ops->violation(q);
	vl_time_end(q->dma, VL_TIME_DELIVER, start);
	if (interrupt) {
		atomic64_inc(&q->dma->interrupts);
		start = vl_time_start();
		vring_interrupt(0, vq);
		vl_time_end(q->dma, VL_TIME_CALLBACK, start);
	}
}

/*
 * Deliver what is due; any context. A second context that asks while one
 * delivers leaves VL_Q_AGAIN for it to pick up, so the driver's callback
 * never runs twice at once for a queue, as with one interrupt line.
 */
static void vl_vq_deliver(struct vl_queue *q)
{
	unsigned long flags;

	set_bit(VL_Q_AGAIN, &q->deliver_bits);
	/* AGAIN before BUSY; pairs with the barrier after the unlock below. */
	smp_mb__after_atomic();
	while (!test_and_set_bit_lock(VL_Q_BUSY, &q->deliver_bits)) {
		while (test_and_clear_bit(VL_Q_AGAIN, &q->deliver_bits)) {
			local_irq_save(flags);
			vl_vq_run(q);
			local_irq_restore(flags);
		}
		clear_bit_unlock(VL_Q_BUSY, &q->deliver_bits);
		/* Pairs with the barrier after set_bit(VL_Q_AGAIN). */
		smp_mb__after_atomic();
		if (!test_bit(VL_Q_AGAIN, &q->deliver_bits))
			break;
	}
}

static void vl_vq_call_irq(struct irq_work *work)
{
	vl_vq_deliver(container_of(work, struct vl_queue, call_irq));
}

static void vl_vq_owed_irq(struct irq_work *work)
{
	vl_vq_deliver(container_of(work, struct vl_queue, owed_irq));
}

static void vl_vq_call_work(struct work_struct *work)
{
	vl_vq_deliver(container_of(work, struct vl_queue, call_work));
}

static void vl_vq_schedule_delivery(struct vl_queue *q)
{
	if (READ_ONCE(call_context))
		queue_work(system_highpri_wq, &q->call_work);
	else
		irq_work_queue(&q->call_irq);
}

/*
 * Wake-up callback on the call eventfd's wait queue: runs with the eventfd's
 * wait-queue lock held and interrupts off. It only consumes the count and
 * queues the delivery.
 */
static int vl_vq_call_wakeup(wait_queue_entry_t *wait, unsigned int mode,
			     int sync, void *key)
{
	struct vl_queue *q = container_of(wait, struct vl_queue, call_wait);
	u64 cnt;

	if (key_to_poll(key) & EPOLLIN) {
		eventfd_ctx_do_read(q->call_ctx, &cnt);
		vl_vq_schedule_delivery(q);
	}
	return 0;
}

static void vl_vq_call_queue_proc(struct file *file, wait_queue_head_t *wqh,
				  poll_table *pt)
{
	struct vl_queue *q = container_of(pt, struct vl_queue, call_pt);

	add_wait_queue(wqh, &q->call_wait);
}

/* Start watching the call eventfd; q->mutex held. */
static void vl_vq_arm_call(struct vl_queue *q)
{
	__poll_t events;

	if (q->call_armed || !q->call_file)
		return;
	init_waitqueue_func_entry(&q->call_wait, vl_vq_call_wakeup);
	init_poll_funcptr(&q->call_pt, vl_vq_call_queue_proc);
	events = vfs_poll(q->call_file, &q->call_pt);
	q->call_armed = true;
	/* A count already pending: deliver now (it stays set; harmless). */
	if (events & EPOLLIN)
		vl_vq_schedule_delivery(q);
}

/*
 * Stop watching; q->mutex held. Removal takes the eventfd's wait-queue
 * lock, so no wake-up callback runs once this returns.
 */
static void vl_vq_disarm_call(struct vl_queue *q)
{
	u64 cnt;

	if (!q->call_armed)
		return;
	eventfd_ctx_remove_wait_queue(q->call_ctx, &q->call_wait, &cnt);
	q->call_armed = false;
}

/* --- what the device layer calls ------------------------------------------- */

void vl_vq_init(struct vl_queue *q, struct virtio_device *vdev,
		struct vl_dma_dev *dma, const struct vl_vq_ops *ops,
		unsigned int index, u32 device_id)
{
	q->vdev = vdev;
	q->dma = dma;
	q->pool = dma->pool;
	q->ops = ops;
	q->index = index;
	q->device_id = device_id;
	q->control_rx = device_id == VIRTIO_ID_CONSOLE && index == 2;
	mutex_init(&q->mutex);
	spin_lock_init(&q->lock);
	spin_lock_init(&q->kick_lock);
	INIT_WORK(&q->kick_work, vl_vq_kick_work);
	init_irq_work(&q->call_irq, vl_vq_call_irq);
	init_irq_work(&q->owed_irq, vl_vq_owed_irq);
	init_irq_work(&q->break_irq, vl_vq_break_irq);
	INIT_WORK(&q->call_work, vl_vq_call_work);
	INIT_WORK(&q->post_log, vl_vq_post_log_work);
}

/*
 * Wait until no delivery of @q runs and none is queued: the driver's
 * callback has returned (virtio_config_ops.synchronize_cbs, reset,
 * teardown). Process context.
 */
void vl_vq_synchronize(struct vl_queue *q)
{
	irq_work_sync(&q->call_irq);
	irq_work_sync(&q->owed_irq);
	irq_work_sync(&q->break_irq);
	flush_work(&q->call_work);
	/* A fail pass runs the delivery from process context. */
	while (test_bit(VL_Q_BUSY, &q->deliver_bits))
		cpu_relax();
}

/* The device goes: drop the eventfds. Process context, no virtqueue left. */
void vl_vq_release(struct vl_queue *q)
{
	mutex_lock(&q->mutex);
	vl_vq_disarm_call(q);
	mutex_unlock(&q->mutex);
	vl_vq_synchronize(q);
	cancel_work_sync(&q->kick_work);
	cancel_work_sync(&q->post_log);
	if (q->kick_ctx)
		eventfd_ctx_put(q->kick_ctx);
	if (q->call_ctx)
		eventfd_ctx_put(q->call_ctx);
	if (q->call_file)
		fput(q->call_file);
	q->kick_ctx = NULL;
	q->call_ctx = NULL;
	q->call_file = NULL;
	mutex_destroy(&q->mutex);
}

static void vl_vq_free_rings(struct vl_queue *q)
{
	kvfree(q->backlog);
	q->backlog = NULL;
	kvfree(q->chains);
	q->chains = NULL;
	kvfree(q->priv_mem);
	q->priv_mem = NULL;
	if (q->shadow_bytes)
		vl_pool_free(q->pool, q->shadow_slot, q->shadow_bytes);
	q->shadow_bytes = 0;
}

/* The driver's ring in module memory, its shadow in the pool. */
static int vl_vq_alloc_rings(struct vl_queue *q, u32 num)
{
	size_t bytes = vring_size(num, VL_VRING_ALIGN);
	unsigned long off;
	void *shadow;
	long slot;

	q->chains = kvcalloc(num, sizeof(*q->chains), GFP_KERNEL);
	if (vl_vq_may_post(q->device_id, q->index))
		q->backlog = kvcalloc(VL_POST_BACKLOG, sizeof(*q->backlog), GFP_KERNEL);
	q->priv_mem = kvzalloc(bytes, GFP_KERNEL);
	slot = vl_pool_alloc(q->pool, bytes, (PAGE_SIZE >> VL_SLOT_SHIFT) - 1);
	if (slot >= 0) {
		q->shadow_slot = slot;
		q->shadow_bytes = bytes;
	}
	if (!q->chains || !q->priv_mem || slot < 0 ||
	    (vl_vq_may_post(q->device_id, q->index) && !q->backlog)) {
		vl_vq_free_rings(q);
		return -ENOMEM;
	}
	vring_init(&q->priv, num, q->priv_mem, VL_VRING_ALIGN);
	off = (unsigned long)slot << VL_SLOT_SHIFT;
	shadow = q->pool->vaddr + off;
	memset(shadow, 0, bytes);
	vring_init(&q->shadow, num, shadow, VL_VRING_ALIGN);
	q->shadow_dma[0] = VL_POOL_DMA_BASE + off;
	q->shadow_dma[1] = q->shadow_dma[0] + ((void *)q->shadow.avail - shadow);
	q->shadow_dma[2] = q->shadow_dma[0] + ((void *)q->shadow.used - shadow);
	return 0;
}

/*
 * The driver's find_vqs: a virtqueue of @num entries (fewer when memory is
 * short), on a private ring. Process context.
 */
int vl_vq_setup(struct vl_queue *q, u32 num,
		void (*callback)(struct virtqueue *vq), const char *name,
		bool ctx, struct virtqueue **out)
{
	struct virtqueue *vq;
	int err = -ENOMEM;

	mutex_lock(&q->mutex);
	if (WARN_ON_ONCE(q->vq)) {
		err = -EBUSY;
		goto out;
	}
	for (; num >= 2; num /= 2) {
		err = vl_vq_alloc_rings(q, num);
		if (!err)
			break;
	}
	if (err)
		goto out;
	vq = vring_new_virtqueue(q->index, num, VL_VRING_ALIGN, q->vdev, true,
				 ctx, q->priv_mem, vl_vq_notify, callback, name);
	if (!vq) {
		vl_vq_free_rings(q);
		err = -ENOMEM;
		goto out;
	}
	vq->priv = q;
	spin_lock_irq(&q->lock);
	q->num = num;
	q->event_idx = virtio_has_feature(q->vdev, VIRTIO_RING_F_EVENT_IDX);
	q->state = VL_VQ_LIVE;
	q->enabled = false;
	q->priv_avail = 0;
	q->priv_used = 0;
	q->shadow_avail = 0;
	q->shadow_kicked = 0;
	q->shadow_used = 0;
	q->outstanding = 0;
	q->violation = 0;
	q->posted = vl_vq_is_posted(q->device_id, q->index);
	q->post_asked = false;
	q->post_hint = 0;
	q->owed = false;
	q->post_waiting = false;
	q->bl_head = 0;
	q->bl_tail = 0;
	q->post_bytes = 0;
	q->dropping = false;
	q->dropped = 0;
	q->unsent = 0;
	q->vq = vq;
	spin_unlock_irq(&q->lock);
	vl_vq_arm_call(q);
	*out = vq;
out:
	mutex_unlock(&q->mutex);
	return err;
}

/* The driver's del_vqs (after a reset). Process context. */
void vl_vq_del(struct vl_queue *q)
{
	struct virtqueue *vq;

	mutex_lock(&q->mutex);
	vq = q->vq;
	if (!vq)
		goto out;
	spin_lock_irq(&q->lock);
	q->enabled = false;
	spin_unlock_irq(&q->lock);
	vl_vq_synchronize(q);
	spin_lock_irq(&q->lock);
	q->vq = NULL;
	if (q->posted)
		vl_vq_unpost_all(q);
	spin_unlock_irq(&q->lock);
	vring_del_virtqueue(vq);
	vl_vq_free_rings(q);
out:
	mutex_unlock(&q->mutex);
}

/*
 * DRIVER_OK: used entries reach the driver from now on; deliver what the
 * back end signalled before.
 */
void vl_vq_enable(struct vl_queue *q)
{
	spin_lock_irq(&q->lock);
	q->enabled = !!q->vq;
	spin_unlock_irq(&q->lock);
	vl_vq_deliver(q);
}

/* Reset: no more deliveries, and none still running. Process context. */
void vl_vq_stop(struct vl_queue *q)
{
	spin_lock_irq(&q->lock);
	q->enabled = false;
	spin_unlock_irq(&q->lock);
	vl_vq_synchronize(q);
}

/*
 * Nobody serves the ring any more (removal, FAIL_DEVICE, a broken rule):
 * fail every outstanding request now, and each new one as it comes. Call
 * it only once the back end can no longer write the pool, or for a device
 * that failed: results never come from the pool (vl_vq_poison_chain()).
 * Process context.
 */
void vl_vq_fail(struct vl_queue *q)
{
	spin_lock_irq(&q->lock);
	q->state = VL_VQ_FAILING;
	spin_unlock_irq(&q->lock);
	vl_vq_deliver(q);
	/* Another context may have been delivering: it ran our pass too. */
	vl_vq_synchronize(q);
}

/* Whether the driver added buffers that the module has not looked at. */
bool vl_vq_has_unseen(struct vl_queue *q)
{
	bool unseen = false;

	spin_lock_irq(&q->lock);
	if (q->vq)
		unseen = vl16(q, READ_ONCE(q->priv.avail->idx)) != q->priv_avail;
	spin_unlock_irq(&q->lock);
	return unseen;
}

/*
 * Buffers outstanding on @q, and in *@shadow_used_idx the used index the back
 * end last wrote (to see whether it still completes anything).
 */
u32 vl_vq_progress(struct vl_queue *q, u16 *shadow_used_idx)
{
	u32 outstanding = 0;

	*shadow_used_idx = 0;
	spin_lock_irq(&q->lock);
	if (q->vq) {
		outstanding = q->outstanding;
		*shadow_used_idx = vl16(q, READ_ONCE(q->shadow.used->idx));
	}
	spin_unlock_irq(&q->lock);
	return outstanding;
}

/*
 * Replace the kick and call eventfds; takes over the references. A kick that
 * found no fd, or that may have gone to a back end that is gone, is signalled
 * on the new fd: a spurious kick costs a look at the ring, a lost one a hang.
 * Process context.
 */
void vl_vq_set_fds(struct vl_queue *q, struct eventfd_ctx *kick,
		   struct file *call_file, struct eventfd_ctx *call)
{
	struct eventfd_ctx *old_kick;
	unsigned long flags;

	mutex_lock(&q->mutex);
	spin_lock_irqsave(&q->kick_lock, flags);
	old_kick = q->kick_ctx;
	q->kick_ctx = kick;
	if (kick && (q->kick_pending || READ_ONCE(q->outstanding))) {
		q->kick_pending = false;
		vl_eventfd_signal(kick);
	}
	spin_unlock_irqrestore(&q->kick_lock, flags);
	if (old_kick)
		eventfd_ctx_put(old_kick);

	vl_vq_disarm_call(q);
	if (q->call_ctx)
		eventfd_ctx_put(q->call_ctx);
	if (q->call_file)
		fput(q->call_file);
	q->call_file = call_file;
	q->call_ctx = call;
	vl_vq_arm_call(q);
	mutex_unlock(&q->mutex);
}

/* GET_QUEUE_INFO: the shadow ring, which is what the back end serves. */
void vl_vq_info(struct vl_queue *q, struct virtio_loopback_queue_info *info)
{
	mutex_lock(&q->mutex);
	if (q->vq) {
		info->size = q->num;
		info->ready = VIRTIO_LOOPBACK_QUEUE_READY;
		info->desc_addr = q->shadow_dma[0];
		info->avail_addr = q->shadow_dma[1];
		info->used_addr = q->shadow_dma[2];
	}
	mutex_unlock(&q->mutex);
}
