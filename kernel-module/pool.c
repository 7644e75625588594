// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-loopback: the per-device pool. Rings and bounce buffers live in
 * vmalloc memory that the back end maps through the pool fd; a slot bitmap
 * allocates it from any context.
 */

#include "vl.h"

/*
 * A pool may be large (VL_MAX_POOL_SIZE, per device): charge it to the
 * caller's memory cgroup, and let CREATE_DEVICE fail with -ENOMEM instead
 * of invoking the OOM killer or logging an allocation-failure splat.
 */
#define VL_POOL_GFP	(GFP_KERNEL_ACCOUNT | __GFP_NOWARN | __GFP_RETRY_MAYFAIL)

static void vl_pool_release(struct kref *ref)
{
	struct vl_pool *pool = container_of(ref, struct vl_pool, ref);

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
long vl_pool_alloc(struct vl_pool *pool, size_t size,
			  unsigned long align_mask)
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
 * Map pool pages [vm_pgoff, vm_pgoff + length) of the pool. Like
 * remap_vmalloc_range(), which needs vmalloc_user()'s VM_USERMAP area.
 */
static int vl_pool_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vl_pool *pool = file->private_data;
	unsigned long len = vma->vm_end - vma->vm_start, off;
	unsigned long pages = pool->size >> PAGE_SHIFT;
	void *start;
	int ret;

	/* A private (copy-on-write) mapping would not be shared with us. */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_pgoff > pages || len > (pages - vma->vm_pgoff) << PAGE_SHIFT)
		return -EINVAL;
	start = pool->vaddr + (vma->vm_pgoff << PAGE_SHIFT);
	vl_vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	for (off = 0; off < len; off += PAGE_SIZE) {
		ret = vm_insert_page(vma, vma->vm_start + off,
				     vmalloc_to_page(start + off));
		if (ret)
			return ret;
	}
	return 0;
}

static int vl_pool_file_release(struct inode *inode, struct file *file)
{
	vl_pool_put(file->private_data);
	return 0;
}

const struct file_operations vl_pool_fops = {
	.owner		= THIS_MODULE,
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
