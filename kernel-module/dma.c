// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-loopback, layer 1: the DMA ops of a device's parent. Every mapping
 * is a copy (bounce) into the pool, so the back end only ever sees pool
 * memory; and the queue layer's access to the originals behind a mapping.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/highmem.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/version.h>

#include "compat.h"
#include "pool.h"

bool vl_timing;
module_param_named(timing, vl_timing, bool, 0644);
MODULE_PARM_DESC(timing,
		 "Sum the time of the transport's steps per device (time_*_ns in sysfs), for measurements");

static struct vl_dma_dev *to_vl_dma(struct device *dev)
{
	return container_of(dev, struct vl_dma_dev, dev);
}

static struct vl_pool *vl_dev_pool(struct device *dev)
{
	return to_vl_dma(dev)->pool;
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

/* Fill @size bytes of the original buffer at @phys with @fill. */
static void vl_fill_orig(phys_addr_t phys, size_t size, u8 fill)
{
	while (size) {
		struct page *page = pfn_to_page(PHYS_PFN(phys));
		size_t poff = offset_in_page(phys);
		size_t n = min_t(size_t, size, PAGE_SIZE - poff);
		void *va = vl_kmap(page);

		memset(va + poff, fill, n);
		vl_kunmap(va);
		phys += n;
		size -= n;
	}
}

/* Translate a DMA range to its pool offset; false for one outside the pool. */
static bool vl_dma_range(struct vl_pool *pool, dma_addr_t addr, size_t size,
			 unsigned long *off)
{
	if (addr < VL_POOL_DMA_BASE || addr - VL_POOL_DMA_BASE >= pool->size ||
	    size > pool->size - (addr - VL_POOL_DMA_BASE))
		return false;
	*off = addr - VL_POOL_DMA_BASE;
	return true;
}

/*
 * The first slot of the live streaming mapping that holds [@addr, @addr +
 * @size), or -1. *@off is the range's pool offset.
 */
static long vl_dma_find(struct vl_pool *pool, dma_addr_t addr, size_t size,
			unsigned long *off)
{
	unsigned long head;
	u32 len;

	if (!vl_dma_range(pool, addr, size, off))
		return -1;
	head = READ_ONCE(pool->slots[*off >> VL_SLOT_SHIFT].head);
	if (!head--)
		return -1;
	len = READ_ONCE(pool->slots[head].len) & VL_SLOT_LEN_MASK;
	if (!len || *off + size > (head << VL_SLOT_SHIFT) + len - 1)
		return -1;
	return head;
}

/*
 * Claim the whole live mapping at @addr for its unmap: it must start there
 * and be @size bytes long. Returns its VL_SLOT_* flags (>= 0), or -1. The
 * claim is atomic, so a second unmap of the same range finds nothing.
 */
static long vl_dma_claim(struct vl_pool *pool, dma_addr_t addr, size_t size,
			 unsigned long *off)
{
	long head = vl_dma_find(pool, addr, size, off);
	u32 len;

	if (head < 0 || (unsigned long)head << VL_SLOT_SHIFT != *off)
		return -1;
	len = READ_ONCE(pool->slots[head].len);
	if ((len & VL_SLOT_LEN_MASK) != size + 1 ||
	    cmpxchg(&pool->slots[head].len, len, 0) != len)
		return -1;
	return len & VL_SLOT_DISCARD;
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
	u64 start = vl_time_start();
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
	off = (unsigned long)idx << VL_SLOT_SHIFT;
	/*
	 * A device-only buffer starts poisoned rather than with a copy of the
	 * original: that costs a store pass instead of a load and a store pass
	 * on every read request's data, and the drivers use only what the
	 * device reported written. Poison rather than zero: a status byte the
	 * back end never wrote must not read as success (VIRTIO_BLK_S_OK is 0),
	 * and nothing of another request may show through.
	 */
	if (dir == DMA_FROM_DEVICE)
		memset(pool->vaddr + off, VL_POISON, size);
	else
		vl_bounce(pool, off, phys, size, true);
	/* Live only once its contents are in place. */
	smp_store_release(&pool->slots[idx].len, size + 1);
	vl_time_end(to_vl_dma(dev), VL_TIME_MAP, start);
	return VL_POOL_DMA_BASE + off;
}

static void vl_dma_unmap_page(struct device *dev, dma_addr_t addr, size_t size,
			      enum dma_data_direction dir, unsigned long attrs)
{
	struct vl_pool *pool = vl_dev_pool(dev);
	u64 start = vl_time_start();
	unsigned long off, i, n;
	long flags;

	flags = vl_dma_claim(pool, addr, size, &off);
	if (flags < 0) {
		dev_err_ratelimited(dev, "unmap of %pad+%zu: no live mapping\n",
				    &addr, size);
		return;
	}
	if ((dir == DMA_FROM_DEVICE || dir == DMA_BIDIRECTIONAL) &&
	    !(attrs & DMA_ATTR_SKIP_CPU_SYNC) && !(flags & VL_SLOT_DISCARD))
		vl_bounce(pool, off, vl_orig(pool, off), size, false);
	n = DIV_ROUND_UP(max_t(size_t, size, 1), VL_SLOT_SIZE);
	for (i = 0; i < n; i++)
		WRITE_ONCE(pool->slots[(off >> VL_SLOT_SHIFT) + i].head, 0);
	vl_pool_free(pool, off >> VL_SLOT_SHIFT, size);
	vl_time_end(to_vl_dma(dev), VL_TIME_UNMAP, start);
}

static void vl_dma_sync_for_cpu(struct device *dev, dma_addr_t addr,
				size_t size, enum dma_data_direction dir)
{
	struct vl_pool *pool = vl_dev_pool(dev);
	unsigned long off;
	long head = vl_dma_find(pool, addr, size, &off);

	if (head < 0) {
		dev_err_ratelimited(dev, "sync of %pad+%zu: no live mapping\n",
				    &addr, size);
		return;
	}
	if ((dir == DMA_FROM_DEVICE || dir == DMA_BIDIRECTIONAL) &&
	    !(READ_ONCE(pool->slots[head].len) & VL_SLOT_DISCARD))
		vl_bounce(pool, off, vl_orig(pool, off), size, false);
}

static void vl_dma_sync_for_device(struct device *dev, dma_addr_t addr,
				   size_t size, enum dma_data_direction dir)
{
	struct vl_pool *pool = vl_dev_pool(dev);
	unsigned long off;

	if (vl_dma_find(pool, addr, size, &off) < 0) {
		dev_err_ratelimited(dev, "sync of %pad+%zu: no live mapping\n",
				    &addr, size);
		return;
	}
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

/*
 * Coherent memory, should a driver ask for it; the module's own rings do not
 * come from here (the driver's are private, the shadow rings come from the
 * pool directly).
 */
static void *vl_dma_alloc(struct device *dev, size_t size,
			  dma_addr_t *dma_handle, gfp_t gfp,
			  unsigned long attrs)
{
	struct vl_pool *pool = vl_dev_pool(dev);
	unsigned long off;
	long idx;

	/* Page aligned, as the DMA API promises. */
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

	if (!vl_dma_range(pool, dma_handle, size, &off)) {
		dev_err_ratelimited(dev, "free of %pad+%zu: outside the pool\n",
				    &dma_handle, size);
		return;
	}
	vl_pool_free(pool, off >> VL_SLOT_SHIFT, size);
}

static const struct dma_map_ops vl_dma_ops = {
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

/*
 * Copy @len bytes of the original buffer behind [@addr, @addr + @len), which
 * must lie in one live streaming mapping, into @buf. The queue layer reads
 * the driver's indirect tables this way: the pool copy is the back end's to
 * scribble on. Any context.
 */
bool vl_dma_read_orig(struct vl_pool *pool, dma_addr_t addr, void *buf,
		      size_t len)
{
	unsigned long off;
	phys_addr_t phys;

	if (vl_dma_find(pool, addr, len, &off) < 0)
		return false;
	phys = vl_orig(pool, off);
	while (len) {
		size_t poff = offset_in_page(phys);
		size_t n = min_t(size_t, len, PAGE_SIZE - poff);
		void *va = vl_kmap(pfn_to_page(PHYS_PFN(phys)));

		memcpy(buf, va + poff, n);
		vl_kunmap(va);
		buf += n;
		phys += n;
		len -= n;
	}
	return true;
}

/*
 * The module fails a request: @fill goes into the original buffer behind
 * [@addr, @addr + @len) directly. When the range is a whole mapping, its
 * unmap then copies nothing back, so whatever the back end (or I/O it
 * pinned before the pool was revoked) writes into the pool afterwards never
 * reaches the driver; a part of a mapping gets @fill in the pool copy too.
 * Any context.
 */
bool vl_dma_fail_range(struct vl_pool *pool, dma_addr_t addr, size_t len,
		       u8 fill)
{
	unsigned long off;
	long head = vl_dma_find(pool, addr, len, &off);
	u32 old;

	if (head < 0)
		return false;
	vl_fill_orig(vl_orig(pool, off), len, fill);
	old = READ_ONCE(pool->slots[head].len);
	if ((unsigned long)head << VL_SLOT_SHIFT == off &&
	    (old & VL_SLOT_LEN_MASK) == len + 1)
		cmpxchg(&pool->slots[head].len, old, old | VL_SLOT_DISCARD);
	else
		memset(pool->vaddr + off, fill, len);
	return true;
}

/*
 * The module reads what the back end returned in the whole mapping at
 * @addr: copy the pool's @size bytes to the original now and leave nothing
 * for the unmap to copy, so that what the driver gets is what the module
 * read (the back end may write the pool again until the unmap). False, and
 * nothing done, when the range is not a whole live mapping. Any context.
 */
bool vl_dma_complete_now(struct vl_pool *pool, dma_addr_t addr, size_t size)
{
	unsigned long off;
	long head = vl_dma_find(pool, addr, size, &off);
	u32 old;

	if (head < 0 || (unsigned long)head << VL_SLOT_SHIFT != off)
		return false;
	old = READ_ONCE(pool->slots[head].len);
	if ((old & VL_SLOT_LEN_MASK) != size + 1 || (old & VL_SLOT_DISCARD))
		return false;
	vl_bounce(pool, off, vl_orig(pool, off), size, false);
	return cmpxchg(&pool->slots[head].len, old, old | VL_SLOT_DISCARD) == old;
}

/* Pool statistics and counters in sysfs, on the DMA device. */
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
	return sysfs_emit(buf, "%lld\n", atomic64_read(&to_vl_dma(dev)->kicks));
}
static DEVICE_ATTR_RO(kicks);

static ssize_t interrupts_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lld\n",
			  atomic64_read(&to_vl_dma(dev)->interrupts));
}
static DEVICE_ATTR_RO(interrupts);

static ssize_t violations_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lld\n",
			  atomic64_read(&to_vl_dma(dev)->violations));
}
static DEVICE_ATTR_RO(violations);

struct vl_time_attr {
	struct device_attribute attr;
	enum vl_time step;
};

static ssize_t vl_time_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	struct vl_time_attr *ta = container_of(attr, struct vl_time_attr, attr);

	return sysfs_emit(buf, "%lld\n",
			  atomic64_read(&to_vl_dma(dev)->time_ns[ta->step]));
}

#define VL_TIME_ATTR(_name, _step)					\
	struct vl_time_attr dev_attr_##_name = {			\
		.attr = __ATTR(_name, 0444, vl_time_show, NULL),	\
		.step = _step,						\
	}
static VL_TIME_ATTR(time_kick_ns, VL_TIME_KICK);
static VL_TIME_ATTR(time_map_ns, VL_TIME_MAP);
static VL_TIME_ATTR(time_unmap_ns, VL_TIME_UNMAP);
static VL_TIME_ATTR(time_deliver_ns, VL_TIME_DELIVER);
static VL_TIME_ATTR(time_callback_ns, VL_TIME_CALLBACK);

static struct attribute *vl_dma_attrs[] = {
	&dev_attr_pool_size.attr,
	&dev_attr_pool_used.attr,
	&dev_attr_pool_map_failures.attr,
	&dev_attr_bounce_bytes.attr,
	&dev_attr_kicks.attr,
	&dev_attr_interrupts.attr,
	&dev_attr_violations.attr,
	&dev_attr_time_kick_ns.attr.attr,
	&dev_attr_time_map_ns.attr.attr,
	&dev_attr_time_unmap_ns.attr.attr,
	&dev_attr_time_deliver_ns.attr.attr,
	&dev_attr_time_callback_ns.attr.attr,
	NULL,
};
ATTRIBUTE_GROUPS(vl_dma);

static void vl_dma_dev_release(struct device *dev)
{
	struct vl_dma_dev *dma = to_vl_dma(dev);

	vl_pool_put(dma->pool);
	kfree(dma);
	module_put(THIS_MODULE);
}

/*
 * The parent device of a virtio device: its DMA ops bounce through @pool
 * (the new device takes a pool reference). Fails with -EOPNOTSUPP when this
 * kernel ignores set_dma_ops() (CONFIG_DMA_OPS off before 6.12,
 * CONFIG_ARCH_HAS_DMA_OPS off from 6.12): dma-direct would then hand the
 * back end physical addresses of the driver's buffers. Drop it with
 * device_unregister().
 */
struct vl_dma_dev *vl_dma_dev_create(struct vl_pool *pool, struct device *parent,
				     const char *name)
{
	struct vl_dma_dev *dma;
	int ret;

	dma = kzalloc(sizeof(*dma), GFP_KERNEL);
	if (!dma)
		return ERR_PTR(-ENOMEM);
	/* From here the release drops the pool and module references. */
	__module_get(THIS_MODULE);
	kref_get(&pool->ref);
	dma->pool = pool;
	device_initialize(&dma->dev);
	dma->dev.parent = parent;
	dma->dev.release = vl_dma_dev_release;
	dma->dev.groups = vl_dma_groups;
	dma->dev.dma_mask = &dma->dma_mask;
	dma->dev.coherent_dma_mask = DMA_BIT_MASK(64);
	dma->dma_mask = DMA_BIT_MASK(64);
	set_dma_ops(&dma->dev, &vl_dma_ops);
	ret = -EOPNOTSUPP;
	if (get_dma_ops(&dma->dev) != &vl_dma_ops) {
		pr_err_once("this kernel ignores set_dma_ops() (built without CONFIG_DMA_OPS, or from 6.12 without CONFIG_ARCH_HAS_DMA_OPS): devices would bypass their pool; refusing them (see the module's README)\n");
		goto err_put;
	}
	ret = dev_set_name(&dma->dev, "%s", name);
	if (ret)
		goto err_put;
	ret = device_add(&dma->dev);
	if (ret)
		goto err_put;
	return dma;

err_put:
	put_device(&dma->dev);
	return ERR_PTR(ret);
}
