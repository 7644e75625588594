// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-loopback: virtqueues. Kicks signal the back end's kick eventfd; its
 * call eventfd is watched irqfd-style and runs vring_interrupt. When the back
 * end is gone, the module completes what it left queued.
 */

#include "vl.h"

void vl_kick_work(struct work_struct *work)
{
	struct vl_queue *q = container_of(work, struct vl_queue, kick_work);
	struct vl_dev *d = q->dev;
	unsigned long flags;

	/*
	 * The back end is gone, or failed the device: the module fails what
	 * the driver queued.
	 */
	if (READ_ONCE(d->removing) || READ_ONCE(d->failed)) {
		mutex_lock(&d->lock);
		if (READ_ONCE(d->removing))
			vl_queue_fail_pending(q);
		else if (READ_ONCE(d->failed))
			vl_queue_fail_new(q);
		mutex_unlock(&d->lock);
		return;
	}

	spin_lock_irqsave(&q->kick_lock, flags);
	if (q->kick_ctx && q->kick_pending) {
		q->kick_pending = false;
		vl_eventfd_signal(q->kick_ctx);
	}
	spin_unlock_irqrestore(&q->kick_lock, flags);
}

static bool vl_notify(struct virtqueue *vq)
{
	struct vl_queue *q = vq->priv;
	unsigned long flags;

	atomic64_inc(&q->dev->dma->kicks);
	/*
	 * During removal, or once user space failed the device, nobody serves
	 * the ring; fail the new buffers from process context (the driver may
	 * hold its queue lock here, and the completion runs its callback,
	 * which takes that lock).
	 */
	if (READ_ONCE(q->dev->removing) || READ_ONCE(q->dev->failed)) {
		schedule_work(&q->kick_work);
		return true;
	}
	spin_lock_irqsave(&q->kick_lock, flags);
	if (q->kick_ctx && vl_eventfd_signal_allowed()) {
		vl_eventfd_signal(q->kick_ctx);
	} else {
		/* No fd yet, or nested in another eventfd's wake-up. */
		q->kick_pending = true;
		if (q->kick_ctx)
			schedule_work(&q->kick_work);
	}
	spin_unlock_irqrestore(&q->kick_lock, flags);
	return true;
}

/* Run a queue's interrupt handler from process context; d->lock held. */
void vl_call_deliver(struct vl_queue *q)
{
	unsigned long flags;

	atomic64_inc(&q->dev->dma->interrupts);
	local_irq_save(flags);
	vring_interrupt(0, q->vq);
	local_irq_restore(flags);
}

/*
 * Wake-up callback on the call eventfd's wait queue: runs with the eventfd's
 * wait-queue lock held and interrupts off, like an interrupt handler.
 */
static int vl_call_wakeup(wait_queue_entry_t *wait, unsigned int mode,
			  int sync, void *key)
{
	struct vl_queue *q = container_of(wait, struct vl_queue, call_wait);
	u64 cnt;

	if (key_to_poll(key) & EPOLLIN) {
		eventfd_ctx_do_read(q->call_ctx, &cnt);
		if (vl_driver_ok(q->dev)) {
			atomic64_inc(&q->dev->dma->interrupts);
			vring_interrupt(0, q->vq);
		}
	}
	return 0;
}

static void vl_call_queue_proc(struct file *file, wait_queue_head_t *wqh,
			       poll_table *pt)
{
	struct vl_queue *q = container_of(pt, struct vl_queue, call_pt);

	add_wait_queue(wqh, &q->call_wait);
}

/* Start watching the call eventfd; d->lock held. */
static void vl_call_arm(struct vl_queue *q)
{
	__poll_t events;

	if (q->call_armed || !q->call_file || !q->vq ||
	    READ_ONCE(q->dev->removing) || READ_ONCE(q->dev->failed))
		return;
	init_waitqueue_func_entry(&q->call_wait, vl_call_wakeup);
	init_poll_funcptr(&q->call_pt, vl_call_queue_proc);
	events = vfs_poll(q->call_file, &q->call_pt);
	q->call_armed = true;
	/*
	 * A count already pending: deliver it now. The counter stays set; the
	 * next write's wake-up consumes it.
	 */
	if ((events & EPOLLIN) && vl_driver_ok(q->dev))
		vl_call_deliver(q);
}

/*
 * Stop watching; d->lock held. Removal takes the eventfd's wait-queue lock,
 * so no wake-up callback runs once this returns.
 */
void vl_call_disarm(struct vl_queue *q)
{
	u64 cnt;

	if (!q->call_armed)
		return;
	eventfd_ctx_remove_wait_queue(q->call_ctx, &q->call_wait, &cnt);
	q->call_armed = false;
}

static int vl_queue_set_kick(struct vl_queue *q, struct eventfd_ctx *ctx)
{
	struct eventfd_ctx *old;
	unsigned long flags;

	spin_lock_irqsave(&q->kick_lock, flags);
	old = q->kick_ctx;
	q->kick_ctx = ctx;
	if (ctx && q->kick_pending) {
		q->kick_pending = false;
		vl_eventfd_signal(ctx);
	}
	spin_unlock_irqrestore(&q->kick_lock, flags);
	if (old)
		eventfd_ctx_put(old);
	return 0;
}

/* Replace the call eventfd; d->lock held. Takes over @file and @ctx. */
static void vl_queue_set_call(struct vl_queue *q, struct file *file,
			      struct eventfd_ctx *ctx)
{
	vl_call_disarm(q);
	if (q->call_ctx)
		eventfd_ctx_put(q->call_ctx);
	if (q->call_file)
		fput(q->call_file);
	q->call_file = file;
	q->call_ctx = ctx;
	vl_call_arm(q);
}

/*
 * Walk the split-ring chain at @head (direct, or one indirect table).
 * Returns true when the chain has a driver-readable descriptor, i.e. it is
 * a request rather than a receive buffer; *@status points at the last byte
 * of the last device-writable descriptor (NULL when there is none). Every
 * field is read once and bounded: the back end may have scribbled on it.
 */
static bool vl_chain_scan(struct vl_dev *d, struct vring_desc *ring, u32 num,
			  u16 head, u8 **status)
{
	struct vl_pool *pool = d->dma->pool;
	struct vring_desc *table = ring;
	u32 n = num, i = head, hops = 0;
	bool readable = false;

	*status = NULL;
	while (i < n && hops++ < n) {
		struct vring_desc desc = table[i];
		u16 flags = virtio16_to_cpu(&d->vdev, desc.flags);
		u64 addr = virtio64_to_cpu(&d->vdev, desc.addr);
		u32 len = virtio32_to_cpu(&d->vdev, desc.len);

		if (flags & VRING_DESC_F_INDIRECT) {
			if (table != ring || !len || len % sizeof(desc))
				break;
			table = vl_pool_ptr(pool, addr, len);
			if (!table)
				break;
			n = len / sizeof(desc);
			i = 0;
			hops = 0;
			continue;
		}
		if (flags & VRING_DESC_F_WRITE) {
			u8 *buf = len ? vl_pool_ptr(pool, addr, len) : NULL;

			if (buf)
				*status = buf + len - 1;
		} else {
			readable = true;
		}
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		i = virtio16_to_cpu(&d->vdev, desc.next);
	}
	return readable;
}

/*
 * The back end is gone (its control fd closed or DESTROY_DEVICE): act as a
 * device that fails every request still queued, so that drivers waiting for
 * them (virtio_blk's del_gendisk has no timeout) get them back. d->lock held.
 *
 * Requests are chains with a driver-readable part; each is returned with
 * used length 0. For virtio-blk the status byte is the last device-writable
 * byte (virtio spec 5.2.6); it gets VIRTIO_BLK_S_IOERR in the pool, and the
 * driver's unmap copies it back (bounce buffering), so the request fails with
 * an I/O error. Other types see length 0, which drivers treat as "no data".
 * Receive-only chains (rx, input events) stay queued: drivers reclaim them
 * after reset (virtqueue_detach_unused_buf), and failing them would only
 * make the driver refill and kick again (virtio-input would even take the
 * stale buffer for an event). virtio-rng's entropy requests are the
 * exception, see below.
 *
 * The chains not yet returned are taken to be avail positions from the used
 * index on (a back end that completes in order, or has stopped; see
 * README "Open"). The ring must not be broken (vring_interrupt ignores a
 * broken queue), so the driver's callback runs here, with interrupts off as
 * in vl_call_deliver().
 */
/*
 * The split ring of @q in the pool, or false (no virtqueue, no DRIVER_OK,
 * a packed ring, or rings outside the pool). d->lock held.
 */
static bool vl_queue_rings(struct vl_queue *q, u32 *num,
			   struct vring_desc **desc, struct vring_avail **avail,
			   struct vring_used **used)
{
	struct vl_dev *d = q->dev;
	struct vl_pool *pool = d->dma->pool;
	struct virtqueue *vq = q->vq;

	if (!vq || !vl_driver_ok(d))
		return false;
	if (virtio_has_feature(&d->vdev, VIRTIO_F_RING_PACKED)) {
		dev_warn_once(&d->vdev.dev,
			      "packed ring: in-flight buffers not failed\n");
		return false;
	}
	*num = virtqueue_get_vring_size(vq);
	*desc = vl_pool_ptr(pool, virtqueue_get_desc_addr(vq),
			    array_size(*num, sizeof(**desc)));
	*avail = vl_pool_ptr(pool, virtqueue_get_avail_addr(vq),
			     struct_size(*avail, ring, *num));
	/* The used ring and avail_event after it. */
	*used = vl_pool_ptr(pool, virtqueue_get_used_addr(vq),
			    struct_size(*used, ring, *num) + sizeof(__virtio16));
	return *desc && *avail && *used;
}

/*
 * The back end is gone (its control fd closed or DESTROY_DEVICE) or failed
 * the device (FAIL_DEVICE): act as a device that fails every request still
 * queued, so that drivers waiting for them (virtio_blk's del_gendisk has no
 * timeout) get them back. d->lock held.
 *
 * Requests are chains with a driver-readable part; each is returned with
 * used length 0. For virtio-blk the status byte is the last device-writable
 * byte (virtio spec 5.2.6); it gets VIRTIO_BLK_S_IOERR in the pool, and the
 * driver's unmap copies it back (bounce buffering), so the request fails with
 * an I/O error. Other types see length 0, which drivers treat as "no data".
 * Receive-only chains (rx, input events) stay queued: drivers reclaim them
 * after reset (virtqueue_detach_unused_buf), and failing them would only
 * make the driver refill and kick again (virtio-input would even take the
 * stale buffer for an event). virtio-rng's entropy requests are the
 * exception, see below.
 *
 * The chains not yet returned are taken to be avail positions from the used
 * index on (a back end that completes in order, or has stopped; see
 * README "Open"). The ring must not be broken (vring_interrupt ignores a
 * broken queue), so the driver's callback runs here, with interrupts off as
 * in vl_call_deliver().
 */
void vl_queue_fail_pending(struct vl_queue *q)
{
	struct vl_dev *d = q->dev;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	u16 avail_idx, failed = 0;
	unsigned long flags;
	u32 num;

	if (!vl_queue_rings(q, &num, &desc, &avail, &used))
		return;
	if (!q->fail_started) {
		q->fail_used = virtio16_to_cpu(&d->vdev, READ_ONCE(used->idx));
		q->fail_avail = q->fail_used;
		q->fail_started = true;
	}
again:
	avail_idx = virtio16_to_cpu(&d->vdev, READ_ONCE(avail->idx));
	/* Read avail entries only after the index that publishes them. */
	smp_rmb();
	if ((u16)(avail_idx - q->fail_avail) > num) {
		dev_warn_once(&d->vdev.dev,
			      "queue %u: used index beyond avail, not failed\n",
			      q->index);
		return;
	}
	for (; q->fail_avail != avail_idx; q->fail_avail++) {
		u16 head = virtio16_to_cpu(&d->vdev,
					   READ_ONCE(avail->ring[q->fail_avail % num]));
		struct vring_used_elem *ue;
		u8 *status;

		/*
		 * An entropy request is receive-only, but its reader waits
		 * for it with the hwrng core's global mutex held: fail it
		 * too (length 0: no entropy).
		 */
		if (!vl_chain_scan(d, desc, num, head, &status) &&
		    d->vdev.id.device != VIRTIO_ID_RNG)
			continue;
		if (status && d->vdev.id.device == VIRTIO_ID_BLOCK)
			*status = VIRTIO_BLK_S_IOERR;
		ue = (struct vring_used_elem *)&used->ring[q->fail_used % num];
		ue->id = cpu_to_virtio32(&d->vdev, head);
		ue->len = cpu_to_virtio32(&d->vdev, 0);
		q->fail_used++;
		failed++;
	}
	/*
	 * The back end may have left kicks suppressed (VRING_USED_F_NO_NOTIFY,
	 * or an avail_event the driver has passed): then a buffer the driver
	 * adds from now on would never reach vl_notify() and never be failed.
	 * Ask for a kick on the next one, then look again for one added
	 * before the driver could see that (it publishes avail->idx, then
	 * reads the flags; we write the flags, then read avail->idx).
	 */
	used->flags = cpu_to_virtio16(&d->vdev, 0);
	if (virtio_has_feature(&d->vdev, VIRTIO_RING_F_EVENT_IDX))
		WRITE_ONCE(*(__virtio16 *)&used->ring[num],
			   cpu_to_virtio16(&d->vdev, q->fail_avail));
	smp_mb();
	if (virtio16_to_cpu(&d->vdev, READ_ONCE(avail->idx)) != avail_idx)
		goto again;
	if (!failed)
		return;
	/* Entries (and the status bytes) before the index that publishes them. */
	smp_wmb();
	WRITE_ONCE(used->idx, cpu_to_virtio16(&d->vdev, q->fail_used));
	dev_dbg(&d->vdev.dev, "queue %u: %u buffers failed\n", q->index, failed);
	local_irq_save(flags);
	vring_interrupt(0, q->vq);
	local_irq_restore(flags);
}

/*
 * Whether @q has buffers outstanding (avail index ahead of used index); its
 * used index in *@used_idx (0 without rings). d->lock held.
 */
bool vl_queue_outstanding(struct vl_queue *q, u16 *used_idx)
{
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	u32 num;

	*used_idx = 0;
	if (!vl_queue_rings(q, &num, &desc, &avail, &used))
		return false;
	*used_idx = virtio16_to_cpu(&q->dev->vdev, READ_ONCE(used->idx));
	return virtio16_to_cpu(&q->dev->vdev, READ_ONCE(avail->idx)) !=
	       *used_idx;
}

/*
 * Whether the driver made buffers available that vl_queue_fail_pending()
 * has not looked at yet. d->lock held.
 */
bool vl_queue_has_new(struct vl_queue *q)
{
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	u32 num;

	if (!q->fail_started || !vl_queue_rings(q, &num, &desc, &avail, &used))
		return false;
	return virtio16_to_cpu(&q->dev->vdev, READ_ONCE(avail->idx)) !=
	       q->fail_avail;
}

/*
 * A kick on a failed device. Before 6.0 its queues are not broken (see
 * vl_dev_break()): fail the new requests. From 6.0 on they are, and
 * virtqueue_notify() does not even call vl_notify(); nothing to do.
 * d->lock held.
 */
void vl_queue_fail_new(struct vl_queue *q)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 0, 0)
	vl_queue_fail_pending(q);
#endif
}

void vl_del_vqs(struct virtio_device *vdev)
{
	struct vl_dev *d = to_vl_dev(vdev);
	unsigned int i;

	mutex_lock(&d->lock);
	for (i = 0; i < d->num_queues; i++) {
		struct vl_queue *q = &d->queues[i];

		if (!q->vq)
			continue;
		vl_call_disarm(q);
		vring_del_virtqueue(q->vq);
		q->vq = NULL;
		WRITE_ONCE(d->vqs_live, d->vqs_live - 1);
	}
	mutex_unlock(&d->lock);
}

int vl_setup_vq(struct vl_dev *d, unsigned int index,
		       void (*callback)(struct virtqueue *vq),
		       const char *name, bool ctx, struct virtqueue **out)
{
	struct vl_queue *q;
	struct virtqueue *vq;

	if (index >= d->num_queues)
		return -ENOENT;
	q = &d->queues[index];
	vq = vring_create_virtqueue(index, d->max_queue_size, SMP_CACHE_BYTES,
				    &d->vdev, true, true, ctx, vl_notify,
				    callback, name);
	if (!vq)
		return -ENOMEM;
	vq->priv = q;
	q->vq = vq;
	WRITE_ONCE(d->vqs_live, d->vqs_live + 1);
	q->fail_started = false;
	vl_call_arm(q);
	*out = vq;
	return 0;
}

/*
 * An eventfd must not be a call fd and a kick fd of the same device: our
 * wake-up callback runs under the call eventfd's wait-queue lock, and a
 * driver callback that kicks would signal that same eventfd and deadlock.
 * d->lock held.
 */
static bool vl_fds_conflict(struct vl_dev *d, struct vl_queue *q,
			    struct eventfd_ctx *kick, struct eventfd_ctx *call)
{
	unsigned int i;

	if (kick && kick == call)
		return true;
	for (i = 0; i < d->num_queues; i++) {
		struct vl_queue *o = &d->queues[i];

		if (o == q)
			continue;
		if ((kick && o->call_ctx == kick) ||
		    (call && READ_ONCE(o->kick_ctx) == call))
			return true;
	}
	return false;
}

/* Queue @index of @d, or NULL when out of range (no speculation past). */
static struct vl_queue *vl_arg_queue(struct vl_dev *d, u32 index)
{
	if (index >= d->num_queues)
		return NULL;
	return &d->queues[array_index_nospec(index, d->num_queues)];
}

int vl_ioctl_set_queue_fds(struct vl_ctrl *ctrl, void __user *uarg)
{
	struct virtio_loopback_queue_fds arg;
	struct eventfd_ctx *kick = NULL, *call = NULL;
	struct file *call_file = NULL;
	struct vl_queue *q;
	struct vl_dev *d;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	d = vl_arg_dev(ctrl, arg.handle, !arg.flags &&
		       !memchr_inv(arg.reserved, 0, sizeof(arg.reserved)) &&
		       arg.kick_fd >= -1 && arg.call_fd >= -1);
	if (IS_ERR(d))
		return PTR_ERR(d);
	q = vl_arg_queue(d, arg.queue);
	if (!q)
		return -EINVAL;

	if (arg.kick_fd >= 0) {
		kick = eventfd_ctx_fdget(arg.kick_fd);
		if (IS_ERR(kick))
			return PTR_ERR(kick);
	}
	if (arg.call_fd >= 0) {
		ret = -EBADF;
		call_file = fget(arg.call_fd);
		if (!call_file)
			goto err_put_kick;
		call = eventfd_ctx_fileget(call_file);
		if (IS_ERR(call)) {
			ret = PTR_ERR(call);
			goto err_fput;
		}
	}

	mutex_lock(&d->lock);
	ret = -EINVAL;
	if (vl_fds_conflict(d, q, kick, call))
		goto err_unlock;
	vl_queue_set_kick(q, kick);
	vl_queue_set_call(q, call_file, call);
	mutex_unlock(&d->lock);
	return 0;

err_unlock:
	mutex_unlock(&d->lock);
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

int vl_ioctl_get_queue_info(struct vl_ctrl *ctrl, void __user *uarg)
{
	struct virtio_loopback_queue_info arg;
	struct virtqueue *vq;
	struct vl_queue *q;
	struct vl_dev *d;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	d = vl_arg_dev(ctrl, arg.handle, !arg.reserved_in);
	if (IS_ERR(d))
		return PTR_ERR(d);
	q = vl_arg_queue(d, arg.queue);
	if (!q)
		return -EINVAL;

	arg.size = 0;
	arg.ready = 0;
	arg.desc_addr = 0;
	arg.avail_addr = 0;
	arg.used_addr = 0;
	memset(arg.reserved_out, 0, sizeof(arg.reserved_out));
	mutex_lock(&d->lock);
	vq = q->vq;
	if (vq) {
		arg.size = virtqueue_get_vring_size(vq);
		arg.ready = VIRTIO_LOOPBACK_QUEUE_READY;
		if (virtio_has_feature(&d->vdev, VIRTIO_F_RING_PACKED))
			arg.ready |= VIRTIO_LOOPBACK_QUEUE_PACKED;
		arg.desc_addr = virtqueue_get_desc_addr(vq);
		arg.avail_addr = virtqueue_get_avail_addr(vq);
		arg.used_addr = virtqueue_get_used_addr(vq);
	}
	mutex_unlock(&d->lock);
	return copy_to_user(uarg, &arg, sizeof(arg)) ? -EFAULT : 0;
}
