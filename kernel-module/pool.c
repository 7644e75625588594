// SPDX-License-Identifier: GPL-2.0-only
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

/*
 * virtio-loopback, layer 1: the per-device pool. The shadow rings and the
 * bounce buffers live in vmalloc memory that the back end maps through the
 * pool fd; a slot bitmap allocates it from any context. Removing or breaking
 * the device revokes the pool from user space.
 */

#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "compat.h"
#include "pool.h"

/*
 * A pool may be large (VL_MAX_POOL_SIZE, per device): charge it to the
 * caller's memory cgroup, and let CREATE_DEVICE fail with -ENOMEM instead
 * of invoking the OOM killer or logging an allocation-failure splat.
 */
#define VL_POOL_GFP	(GFP_KERNEL_ACCOUNT | __GFP_NOWARN | __GFP_RETRY_MAYFAIL)

static void vl_pool_release(struct kref *ref)
{
	struct vl_pool *pool = container_of(ref, struct vl_pool, ref);

	if (pool->dead_page)
		put_page(pool->dead_page);
	mutex_destroy(&pool->map_lock);
	kvfree(pool->slots);
	kvfree(pool->bitmap);
	vfree(pool->vaddr);
	kfree(pool);
}

void vl_pool_put(struct vl_pool *pool)
{
	kref_put(&pool->ref, vl_pool_release);
}

struct vl_pool *vl_pool_create(size_t size)
{
	struct vl_pool *pool;

	/*
	 * Even an allocation that fails instead of invoking the OOM killer
	 * drains memory for others while it tries: refuse a pool that would
	 * take more than half of what is available.
	 */
	if (size >> PAGE_SHIFT > si_mem_available() / 2)
		return NULL;

	pool = kzalloc(sizeof(*pool), GFP_KERNEL);
	if (!pool)
		return NULL;
	kref_init(&pool->ref);
	spin_lock_init(&pool->lock);
	mutex_init(&pool->map_lock);
	address_space_init_once(&pool->mapping);
	pool->size = size;
	pool->nslots = size >> VL_SLOT_SHIFT;
	/* Zeroed: the back end must not see stale kernel data. */
	pool->vaddr = __vmalloc(size, VL_POOL_GFP | __GFP_ZERO);
	if (!pool->vaddr)
		goto err_vaddr;
	pool->bitmap = kvcalloc(BITS_TO_LONGS(pool->nslots), sizeof(long),
				VL_POOL_GFP);
	if (!pool->bitmap)
		goto err_bitmap;
	pool->slots = kvcalloc(pool->nslots, sizeof(*pool->slots),
			       VL_POOL_GFP);
	if (!pool->slots)
		goto err_slots;
	return pool;

err_slots:
	kvfree(pool->bitmap);
err_bitmap:
	vfree(pool->vaddr);
err_vaddr:
	kfree(pool);
	return NULL;
}

/* Allocate slots for @size bytes; returns the first slot or -1. Any context. */
long vl_pool_alloc(struct vl_pool *pool, size_t size, unsigned long align_mask)
{
	unsigned long n = DIV_ROUND_UP(max_t(size_t, size, 1), VL_SLOT_SIZE);
	unsigned long idx, flags;

	spin_lock_irqsave(&pool->lock, flags);
	idx = bitmap_find_next_zero_area(pool->bitmap, pool->nslots,
					 pool->hint, n, align_mask);
	if (idx >= pool->nslots)
		idx = bitmap_find_next_zero_area(pool->bitmap, pool->nslots,
						 0, n, align_mask);
	if (idx >= pool->nslots) {
		spin_unlock_irqrestore(&pool->lock, flags);
		return -1;
	}
	bitmap_set(pool->bitmap, idx, n);
	pool->hint = idx + n;
	pool->used += n;
	spin_unlock_irqrestore(&pool->lock, flags);
	return idx;
}

void vl_pool_free(struct vl_pool *pool, unsigned long idx, size_t size)
{
	unsigned long n = DIV_ROUND_UP(max_t(size_t, size, 1), VL_SLOT_SIZE);
	unsigned long flags;

	spin_lock_irqsave(&pool->lock, flags);
	bitmap_clear(pool->bitmap, idx, n);
	pool->used -= n;
	spin_unlock_irqrestore(&pool->lock, flags);
}

/*
 * A user-space access to the pool: map the pool page, or after revocation
 * the dead page. Pages are inserted here rather than at mmap time, under
 * @map_lock, so that none can be mapped after vl_pool_revoke() zapped the
 * mappings (at mmap time the VMA is not yet in @mapping, so a concurrent
 * zap would miss it).
 */
static vm_fault_t vl_pool_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct vl_pool *pool = vma->vm_private_data;
	struct page *page;
	int err;

	if (vmf->pgoff >= pool->size >> PAGE_SHIFT)
		return VM_FAULT_SIGBUS;
	mutex_lock(&pool->map_lock);
	if (pool->revoked)
		page = pool->dead_page;
	else
		page = vmalloc_to_page(pool->vaddr +
				       (vmf->pgoff << PAGE_SHIFT));
	err = page ? vm_insert_page(vma, vmf->address & PAGE_MASK, page) :
		     -EFAULT;
	mutex_unlock(&pool->map_lock);
	/* -EBUSY: another thread's fault mapped it first. */
	if (!err || err == -EBUSY)
		return VM_FAULT_NOPAGE;
	return err == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
}

static const struct vm_operations_struct vl_pool_vm_ops = {
	.fault	= vl_pool_fault,
};

/* Map pool pages [vm_pgoff, vm_pgoff + length), shared, faulted in. */
static int vl_pool_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vl_pool *pool = file->private_data;
	unsigned long len = vma->vm_end - vma->vm_start;
	unsigned long pages = pool->size >> PAGE_SHIFT;

	/* A private (copy-on-write) mapping would not be shared with us. */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_pgoff > pages || len > (pages - vma->vm_pgoff) << PAGE_SHIFT)
		return -EINVAL;
	if (READ_ONCE(pool->revoked))
		return -ENODEV;
	/*
	 * MIXEDMAP: vm_insert_page() from the fault handler. The pages stay
	 * GUP-able, so a back end can do O_DIRECT I/O straight into the pool;
	 * vl_pool_revoke() deals with pins that outlive the mappings.
	 */
	vl_vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP | VM_MIXEDMAP);
	vma->vm_ops = &vl_pool_vm_ops;
	vma->vm_private_data = pool;	/* the VMA holds the file, which holds the pool */
	return 0;
}

/*
 * Give the pool file its own address space (the anonymous inode's is shared
 * by every anon-inode file), before the file is installed anywhere.
 */
void vl_pool_attach_file(struct vl_pool *pool, struct file *file)
{
	struct inode *inode = file_inode(file);

	pool->mapping.host = inode;
	pool->mapping.a_ops = inode->i_mapping->a_ops;
	file->f_mapping = &pool->mapping;
	/* anon_inode_getfile() leaves it out; see vl_pool_llseek(). */
	file->f_mode |= FMODE_LSEEK;
}

/*
 * Whether user space still holds references to pool pages after the zap: a
 * page that is not mapped anywhere has only the vmalloc reference, so more
 * means get_user_pages() (O_DIRECT I/O, io_uring fixed buffers) still has
 * it and may still write into it.
 */
static unsigned long vl_pool_pinned(struct vl_pool *pool)
{
	unsigned long off, pinned = 0;

	for (off = 0; off < pool->size; off += PAGE_SIZE)
		if (page_count(vmalloc_to_page(pool->vaddr + off)) > 1)
			pinned++;
	return pinned;
}

/*
 * The device is going away, or its back end broke a rule: take the pool
 * away from user space before the module fails what is in flight. From here
 * on every mapping sees a zeroed dead page instead: a back end that keeps
 * going reads an empty ring and writes into nothing, and is not killed by
 * SIGBUS. Then wait, at most @wait_ms, until no pool page is pinned by I/O
 * the back end started before (O_DIRECT into the pool, io_uring fixed
 * buffers): such I/O may still land in the pool. The module never takes a
 * failed request's result from the pool (it writes it into the driver's
 * buffer itself, vl_dma_fail_range()), so a pin that outlives the wait can
 * only scribble on pool memory, never on the driver's. Process context.
 */
void vl_pool_revoke(struct vl_pool *pool, unsigned int wait_ms)
{
	struct page *dead = alloc_page(GFP_KERNEL | __GFP_ZERO);
	unsigned long deadline = jiffies + msecs_to_jiffies(wait_ms);
	unsigned long pinned;

	mutex_lock(&pool->map_lock);
	if (pool->revoked) {
		mutex_unlock(&pool->map_lock);
		if (dead)
			__free_page(dead);
		return;
	}
	pool->revoked = true;
	pool->dead_page = dead;		/* NULL: later faults get SIGBUS */
	mutex_unlock(&pool->map_lock);
	/*
	 * Faults insert under map_lock and see @revoked now; what they mapped
	 * before goes here. Once this returns (TLBs flushed) user space no
	 * longer reaches the pool through its mappings.
	 */
	unmap_mapping_range(&pool->mapping, 0, 0, 1);

	while ((pinned = vl_pool_pinned(pool))) {
		if (time_after(jiffies, deadline) || fatal_signal_pending(current)) {
			pr_warn_ratelimited("%lu pool pages still pinned by user space I/O after revocation\n",
					    pinned);
			break;
		}
		usleep_range(10000, 20000);
	}
}

static int vl_pool_file_release(struct inode *inode, struct file *file)
{
	vl_pool_put(file->private_data);
	return 0;
}

/*
 * The pool's size, as a memfd would give it: back ends built on rust-vmm's
 * vm-memory (virtiofsd 1.x, vhost-device-*) check every region against
 * lseek(fd, 0, SEEK_END) before mapping it, and refuse an fd that cannot seek.
 */
static loff_t vl_pool_llseek(struct file *file, loff_t offset, int whence)
{
	struct vl_pool *pool = file->private_data;

	return fixed_size_llseek(file, offset, whence, pool->size);
}

const struct file_operations vl_pool_fops = {
	.owner		= THIS_MODULE,
	.llseek		= vl_pool_llseek,
	.mmap		= vl_pool_mmap,
	.release	= vl_pool_file_release,
};

/*
 * Pool address of @len bytes at DMA address @addr, or NULL. Quiet: ring
 * contents are shared with user space and so untrusted.
 */
void *vl_pool_ptr(struct vl_pool *pool, u64 addr, u64 len)
{
	if (addr < VL_POOL_DMA_BASE || addr - VL_POOL_DMA_BASE > pool->size ||
	    len > pool->size - (addr - VL_POOL_DMA_BASE))
		return NULL;
	return pool->vaddr + (addr - VL_POOL_DMA_BASE);
}
