// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-loopback: DMA ops of the device's parent. Every mapping is a copy
 * (bounce) into the pool, so the back end only ever sees pool memory.
 */

#include "vl.h"

static struct vl_pool *vl_dev_pool(struct device *dev)
{
	return container_of(dev, struct vl_dma_dev, dev)->pool;
}

/* Copy between the pool at @off and the original buffer at @phys. */
static void vl_bounce(struct vl_pool *pool, unsigned long off,
		      phys_addr_t phys, size_t size, bool to_pool)
{
	atomic64_add(size, &pool->bounce_bytes);
	while (size) {
		struct page *page = pfn_to_page(PHYS_PFN(phys));
		size_t poff = offset_in_page(phys);
		size_t n = min_t(size_t, size, PAGE_SIZE - poff);
		void *va = vl_kmap(page);

		if (to_pool)
			memcpy(pool->vaddr + off, va + poff, n);
		else
			memcpy(va + poff, pool->vaddr + off, n);
		vl_kunmap(va);
		off += n;
		phys += n;
		size -= n;
	}
}

/*
 * Translate a DMA range to its pool offset; false (with a rate-limited
 * error) for a range outside the pool. Not a WARN: before 5.14 virtio_ring
 * unmaps what it reads back from the descriptor table, which the back end
 * can rewrite.
 */
static bool vl_dma_range(struct device *dev, struct vl_pool *pool,
			 dma_addr_t addr, size_t size, unsigned long *off)
{
	if (addr < VL_POOL_DMA_BASE || addr - VL_POOL_DMA_BASE >= pool->size ||
	    size > pool->size - (addr - VL_POOL_DMA_BASE)) {
		dev_err_ratelimited(dev, "bad DMA range %pad+%zu\n", &addr,
				    size);
		return false;
	}
	*off = addr - VL_POOL_DMA_BASE;
	return true;
}

/*
 * Translate the range of an unmap (@whole: exactly one live streaming
 * mapping, which the caller then owns) or a sync (within one) to its pool
 * offset; see struct vl_slot.
 */
static bool vl_dma_mapping(struct device *dev, struct vl_pool *pool,
			   dma_addr_t addr, size_t size, bool whole,
			   unsigned long *off)
{
	unsigned long slot, head;
	u32 len;

	if (!vl_dma_range(dev, pool, addr, size, off))
		return false;
	slot = *off >> VL_SLOT_SHIFT;
	head = READ_ONCE(pool->slots[slot].head);
	if (!head--)
		goto bad;
	len = READ_ONCE(pool->slots[head].size);
	if (whole) {
		if (head != slot || (*off & (VL_SLOT_SIZE - 1)) ||
		    size != len || cmpxchg(&pool->slots[head].size, len, 0) != len)
			goto bad;
	} else if (*off + size > (head << VL_SLOT_SHIFT) + len) {
		goto bad;
	}
	return true;

bad:
	dev_err_ratelimited(dev, "DMA range %pad+%zu is no live mapping\n",
			    &addr, size);
	return false;
}

static phys_addr_t vl_orig(struct vl_pool *pool, unsigned long off)
{
	return pool->slots[off >> VL_SLOT_SHIFT].orig +
	       (off & (VL_SLOT_SIZE - 1));
}

/*
 * A quarter of the pool at most, so that any single mapping fits once other
 * requests complete: back-pressure must never turn into a livelock.
 */
static size_t vl_dma_max_mapping_size(struct device *dev)
{
	size_t quarter = rounddown(vl_dev_pool(dev)->size / 4, PAGE_SIZE);

	return min_t(size_t, VL_MAX_MAPPING, quarter);
}

static dma_addr_t vl_dma_map_page(struct device *dev, struct page *page,
				  unsigned long offset, size_t size,
				  enum dma_data_direction dir,
				  unsigned long attrs)
{
	struct vl_pool *pool = vl_dev_pool(dev);
	phys_addr_t phys = page_to_phys(page) + offset;
	unsigned long off, i, n;
	long idx;

	if (size > vl_dma_max_mapping_size(dev))
		return DMA_MAPPING_ERROR;
	idx = vl_pool_alloc(pool, size, 0);
	if (idx < 0) {
		atomic_long_inc(&pool->map_failures);
		return DMA_MAPPING_ERROR;	/* back-pressure: caller retries */
	}
	n = DIV_ROUND_UP(max_t(size_t, size, 1), VL_SLOT_SIZE);
	for (i = 0; i < n; i++) {
		pool->slots[idx + i].orig = phys + i * VL_SLOT_SIZE;
		pool->slots[idx + i].head = idx + 1;
	}
	pool->slots[idx].size = size;	/* <= VL_MAX_MAPPING */
	off = (unsigned long)idx << VL_SLOT_SHIFT;
	/*
	 * A device-writable buffer the back end fills only partly must not
	 * pick up stale pool bytes (another request's data) at unmap time.
	 * Device-only buffers start zeroed: that costs a store pass where
	 * copying the original in would cost a load and a store pass, on
	 * every read request's data. The drivers use only what the device
	 * reported written (used length, virtio-blk's status), so the original
	 * contents of an unwritten part are never needed.
	 */
	if (dir == DMA_FROM_DEVICE)
		memset(pool->vaddr + off, 0, size);
	else
		vl_bounce(pool, off, phys, size, true);
	return VL_POOL_DMA_BASE + off;
}

static void vl_dma_unmap_page(struct device *dev, dma_addr_t addr, size_t size,
			      enum dma_data_direction dir, unsigned long attrs)
{
	struct vl_pool *pool = vl_dev_pool(dev);
	unsigned long off, i, n;

	if (!vl_dma_mapping(dev, pool, addr, size, true, &off))
		return;
	if ((dir == DMA_FROM_DEVICE || dir == DMA_BIDIRECTIONAL) &&
	    !(attrs & DMA_ATTR_SKIP_CPU_SYNC))
		vl_bounce(pool, off, vl_orig(pool, off), size, false);
	n = DIV_ROUND_UP(max_t(size_t, size, 1), VL_SLOT_SIZE);
	for (i = 0; i < n; i++)
		WRITE_ONCE(pool->slots[(off >> VL_SLOT_SHIFT) + i].head, 0);
	vl_pool_free(pool, off >> VL_SLOT_SHIFT, size);
}

static void vl_dma_sync_for_cpu(struct device *dev, dma_addr_t addr,
				size_t size, enum dma_data_direction dir)
{
	struct vl_pool *pool = vl_dev_pool(dev);
	unsigned long off;

	if (!vl_dma_mapping(dev, pool, addr, size, false, &off))
		return;
	if (dir == DMA_FROM_DEVICE || dir == DMA_BIDIRECTIONAL)
		vl_bounce(pool, off, vl_orig(pool, off), size, false);
}

static void vl_dma_sync_for_device(struct device *dev, dma_addr_t addr,
				   size_t size, enum dma_data_direction dir)
{
	struct vl_pool *pool = vl_dev_pool(dev);
	unsigned long off;

	if (!vl_dma_mapping(dev, pool, addr, size, false, &off))
		return;
	if (dir == DMA_TO_DEVICE || dir == DMA_BIDIRECTIONAL)
		vl_bounce(pool, off, vl_orig(pool, off), size, true);
}

static void vl_dma_unmap_sg(struct device *dev, struct scatterlist *sgl,
			    int nents, enum dma_data_direction dir,
			    unsigned long attrs)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i)
		vl_dma_unmap_page(dev, sg_dma_address(sg), sg_dma_len(sg), dir,
				  attrs);
}

static int vl_dma_map_sg(struct device *dev, struct scatterlist *sgl,
			 int nents, enum dma_data_direction dir,
			 unsigned long attrs)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i) {
		sg->dma_address = vl_dma_map_page(dev, sg_page(sg), sg->offset,
						  sg->length, dir, attrs);
		if (sg->dma_address == DMA_MAPPING_ERROR)
			goto err_unmap;
		sg_dma_len(sg) = sg->length;
	}
	return nents;

err_unmap:
	vl_dma_unmap_sg(dev, sgl, i, dir, attrs | DMA_ATTR_SKIP_CPU_SYNC);
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 16, 0)
	return -ENOMEM;
#else
	return 0;
#endif
}

static void vl_dma_sync_sg_for_cpu(struct device *dev, struct scatterlist *sgl,
				   int nents, enum dma_data_direction dir)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i)
		vl_dma_sync_for_cpu(dev, sg_dma_address(sg), sg_dma_len(sg), dir);
}

static void vl_dma_sync_sg_for_device(struct device *dev,
				      struct scatterlist *sgl, int nents,
				      enum dma_data_direction dir)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i)
		vl_dma_sync_for_device(dev, sg_dma_address(sg), sg_dma_len(sg),
				       dir);
}

static void *vl_dma_alloc(struct device *dev, size_t size,
			  dma_addr_t *dma_handle, gfp_t gfp,
			  unsigned long attrs)
{
	struct vl_pool *pool = vl_dev_pool(dev);
	unsigned long off;
	long idx;

	/* Coherent memory (rings) is page aligned, as the DMA API promises. */
	idx = vl_pool_alloc(pool, size, (PAGE_SIZE >> VL_SLOT_SHIFT) - 1);
	if (idx < 0)
		return NULL;
	off = (unsigned long)idx << VL_SLOT_SHIFT;
	memset(pool->vaddr + off, 0, size);
	*dma_handle = VL_POOL_DMA_BASE + off;
	return pool->vaddr + off;
}

static void vl_dma_free(struct device *dev, size_t size, void *vaddr,
			dma_addr_t dma_handle, unsigned long attrs)
{
	struct vl_pool *pool = vl_dev_pool(dev);
	unsigned long off;

	if (!vl_dma_range(dev, pool, dma_handle, size, &off))
		return;
	vl_pool_free(pool, off >> VL_SLOT_SHIFT, size);
}

const struct dma_map_ops vl_dma_ops = {
	.alloc			= vl_dma_alloc,
	.free			= vl_dma_free,
	.map_page		= vl_dma_map_page,
	.unmap_page		= vl_dma_unmap_page,
	.map_sg			= vl_dma_map_sg,
	.unmap_sg		= vl_dma_unmap_sg,
	.sync_single_for_cpu	= vl_dma_sync_for_cpu,
	.sync_single_for_device	= vl_dma_sync_for_device,
	.sync_sg_for_cpu	= vl_dma_sync_sg_for_cpu,
	.sync_sg_for_device	= vl_dma_sync_sg_for_device,
	.max_mapping_size	= vl_dma_max_mapping_size,
};

/* Pool statistics in sysfs, on the DMA device (the virtio device's parent). */
static ssize_t pool_size_show(struct device *dev, struct device_attribute *attr,
			      char *buf)
{
	return sysfs_emit(buf, "%zu\n", vl_dev_pool(dev)->size);
}
static DEVICE_ATTR_RO(pool_size);

static ssize_t pool_used_show(struct device *dev, struct device_attribute *attr,
			      char *buf)
{
	struct vl_pool *pool = vl_dev_pool(dev);

	return sysfs_emit(buf, "%lu\n", READ_ONCE(pool->used) << VL_SLOT_SHIFT);
}
static DEVICE_ATTR_RO(pool_used);

static ssize_t pool_map_failures_show(struct device *dev,
				      struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%ld\n",
			  atomic_long_read(&vl_dev_pool(dev)->map_failures));
}
static DEVICE_ATTR_RO(pool_map_failures);

static ssize_t bounce_bytes_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lld\n",
			  atomic64_read(&vl_dev_pool(dev)->bounce_bytes));
}
static DEVICE_ATTR_RO(bounce_bytes);

static ssize_t kicks_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct vl_dma_dev *dma = container_of(dev, struct vl_dma_dev, dev);

	return sysfs_emit(buf, "%lld\n", atomic64_read(&dma->kicks));
}
static DEVICE_ATTR_RO(kicks);

static ssize_t interrupts_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct vl_dma_dev *dma = container_of(dev, struct vl_dma_dev, dev);

	return sysfs_emit(buf, "%lld\n", atomic64_read(&dma->interrupts));
}
static DEVICE_ATTR_RO(interrupts);

static struct attribute *vl_dma_attrs[] = {
	&dev_attr_pool_size.attr,
	&dev_attr_pool_used.attr,
	&dev_attr_pool_map_failures.attr,
	&dev_attr_bounce_bytes.attr,
	&dev_attr_kicks.attr,
	&dev_attr_interrupts.attr,
	NULL,
};
static const struct attribute_group vl_dma_group = {
	.attrs = vl_dma_attrs,
};

const struct attribute_group *vl_dma_groups[] = {
	&vl_dma_group,
	NULL,
};

void vl_dma_dev_release(struct device *dev)
{
	struct vl_dma_dev *dma = container_of(dev, struct vl_dma_dev, dev);

	vl_pool_put(dma->pool);
	kfree(dma);
	module_put(THIS_MODULE);
}
