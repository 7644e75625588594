// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-loopback: a virtio transport whose devices are served from user
 * space. Each open fd of /dev/virtio-loopback creates and owns devices; the
 * host's own virtio drivers bind to them. Kicks and interrupts go through
 * eventfds that a vhost-user back end uses directly; rings and buffers live
 * in one shared pool per device, so a back end never sees other kernel memory.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/bitmap.h>
#include <linux/dma-map-ops.h>
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/kref.h>
#include <linux/log2.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#include <linux/vmalloc.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include <linux/virtio_loopback.h>

#define VL_MAX_QUEUES		64
#define VL_MAX_QUEUE_SIZE	32768
#define VL_MAX_DEVICES		64		/* per control fd */
#define VL_MIN_POOL_SIZE	(64UL << 10)
#define VL_MAX_POOL_SIZE	(256UL << 20)
#define VL_SLOT_SHIFT		8		/* bounce allocation unit */
#define VL_SLOT_SIZE		BIT(VL_SLOT_SHIFT)
#define VL_MAX_MAPPING		(256UL << 10)	/* largest streaming mapping */
#define VL_EVENT_RING		256		/* pending events per control fd */
/*
 * DMA address of pool byte 0. Any value works for the back end; a non-zero
 * base keeps a stray zero address from looking valid.
 */
#define VL_POOL_DMA_BASE	0x100000000ULL

static unsigned int sync_timeout_ms = 2000;
module_param(sync_timeout_ms, uint, 0644);
MODULE_PARM_DESC(sync_timeout_ms,
		 "How long a driver waits for the adapter to answer a reset or config write (ms)");

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
#define vl_eventfd_signal(ctx)	eventfd_signal(ctx)
#else
#define vl_eventfd_signal(ctx)	eventfd_signal(ctx, 1)
#endif

/*
 * Before 5.17 the recursion check reads a per-CPU counter that is not
 * exported to modules. Nesting needs an in-kernel signaller of the call
 * eventfd (user-space writes never nest), so those kernels signal directly.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 17, 0)
#define vl_eventfd_signal_allowed()	eventfd_signal_allowed()
#else
#define vl_eventfd_signal_allowed()	true
#endif

#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 11, 0)
#define vl_kmap(page)		kmap_local_page(page)
#define vl_kunmap(addr)		kunmap_local(addr)
#else
#define vl_kmap(page)		kmap_atomic(page)
#define vl_kunmap(addr)		kunmap_atomic(addr)
#endif

/* ------------------------------------------------------------------ pool -- */

/**
 * struct vl_pool - one device's shared memory: rings and bounce buffers
 * @ref: held by the DMA device and by the pool file.
 * @vaddr: vmalloc_user() memory, mapped into user space by the pool fd.
 * @size: bytes.
 * @nslots: @size / VL_SLOT_SIZE.
 * @lock: protects @bitmap and @hint; taken from DMA map calls (any context).
 * @bitmap: one bit per slot, set while allocated.
 * @hint: where the next search starts.
 * @used: slots allocated (under @lock).
 * @map_failures: streaming mappings refused because the pool was full.
 * @orig: per slot, the physical address of the original buffer a bounce
 *	slot mirrors (0 for coherent allocations). Written at map time, read at
 *	unmap/sync time by the mapping's owner, so it needs no lock.
 */
struct vl_pool {
	struct kref ref;
	void *vaddr;
	size_t size;
	unsigned long nslots;
	spinlock_t lock;		/* bitmap, hint; any context */
	unsigned long *bitmap;
	unsigned long hint;
	unsigned long used;
	atomic_long_t map_failures;
	phys_addr_t *orig;
};

static void vl_pool_release(struct kref *ref)
{
	struct vl_pool *pool = container_of(ref, struct vl_pool, ref);

	vfree(pool->orig);
	bitmap_free(pool->bitmap);
	vfree(pool->vaddr);
	kfree(pool);
}

static void vl_pool_put(struct vl_pool *pool)
{
	kref_put(&pool->ref, vl_pool_release);
}

static struct vl_pool *vl_pool_create(size_t size)
{
	struct vl_pool *pool;

	pool = kzalloc(sizeof(*pool), GFP_KERNEL);
	if (!pool)
		return NULL;
	kref_init(&pool->ref);
	spin_lock_init(&pool->lock);
	pool->size = size;
	pool->nslots = size >> VL_SLOT_SHIFT;
	pool->vaddr = vmalloc_user(size);
	if (!pool->vaddr)
		goto err_vaddr;
	pool->bitmap = bitmap_zalloc(pool->nslots, GFP_KERNEL);
	if (!pool->bitmap)
		goto err_bitmap;
	pool->orig = vzalloc(array_size(pool->nslots, sizeof(*pool->orig)));
	if (!pool->orig)
		goto err_orig;
	return pool;

err_orig:
	bitmap_free(pool->bitmap);
err_bitmap:
	vfree(pool->vaddr);
err_vaddr:
	kfree(pool);
	return NULL;
}

/* Allocate slots for @size bytes; returns the first slot or -1. Any context. */
static long vl_pool_alloc(struct vl_pool *pool, size_t size,
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

static void vl_pool_free(struct vl_pool *pool, unsigned long idx, size_t size)
{
	unsigned long n = DIV_ROUND_UP(max_t(size_t, size, 1), VL_SLOT_SIZE);
	unsigned long flags;

	spin_lock_irqsave(&pool->lock, flags);
	bitmap_clear(pool->bitmap, idx, n);
	pool->used -= n;
	spin_unlock_irqrestore(&pool->lock, flags);
}

static int vl_pool_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vl_pool *pool = file->private_data;

	/* A private (copy-on-write) mapping would not be shared with us. */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	/* Bounds-checks offset and length against the vmalloc area. */
	return remap_vmalloc_range(vma, pool->vaddr, vma->vm_pgoff);
}

static int vl_pool_file_release(struct inode *inode, struct file *file)
{
	vl_pool_put(file->private_data);
	return 0;
}

static const struct file_operations vl_pool_fops = {
	.owner		= THIS_MODULE,
	.mmap		= vl_pool_mmap,
	.release	= vl_pool_file_release,
};

/* ------------------------------------------------------------------- DMA -- */

/**
 * struct vl_dma_dev - the parent of a virtio device; carries the DMA ops
 * @dev: registered under the misc device; virtio_ring maps through it.
 * @pool: the pool all mappings come from (one reference).
 * @dma_mask: storage for @dev.dma_mask.
 */
struct vl_dma_dev {
	struct device dev;
	struct vl_pool *pool;
	u64 dma_mask;
};

static struct vl_pool *vl_dev_pool(struct device *dev)
{
	return container_of(dev, struct vl_dma_dev, dev)->pool;
}

/* Copy between the pool at @off and the original buffer at @phys. */
static void vl_bounce(struct vl_pool *pool, unsigned long off,
		      phys_addr_t phys, size_t size, bool to_pool)
{
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
 * Translate a DMA range of a streaming mapping to its pool offset; false
 * (with a one-time warning) for an address this pool never handed out.
 */
static bool vl_dma_range(struct device *dev, struct vl_pool *pool,
			 dma_addr_t addr, size_t size, unsigned long *off)
{
	if (addr < VL_POOL_DMA_BASE || addr - VL_POOL_DMA_BASE >= pool->size ||
	    size > pool->size - (addr - VL_POOL_DMA_BASE)) {
		dev_WARN_ONCE(dev, 1, "bad DMA range %pad+%zu\n", &addr, size);
		return false;
	}
	*off = addr - VL_POOL_DMA_BASE;
	return true;
}

static phys_addr_t vl_orig(struct vl_pool *pool, unsigned long off)
{
	return pool->orig[off >> VL_SLOT_SHIFT] + (off & (VL_SLOT_SIZE - 1));
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
	for (i = 0; i < n; i++)
		pool->orig[idx + i] = phys + i * VL_SLOT_SIZE;
	off = (unsigned long)idx << VL_SLOT_SHIFT;
	/*
	 * Copy in for every direction: a device-writable buffer the back end
	 * fills only partly must not pick up stale pool bytes at unmap time.
	 */
	vl_bounce(pool, off, phys, size, true);
	return VL_POOL_DMA_BASE + off;
}

static void vl_dma_unmap_page(struct device *dev, dma_addr_t addr, size_t size,
			      enum dma_data_direction dir, unsigned long attrs)
{
	struct vl_pool *pool = vl_dev_pool(dev);
	unsigned long off;

	if (!vl_dma_range(dev, pool, addr, size, &off))
		return;
	if ((dir == DMA_FROM_DEVICE || dir == DMA_BIDIRECTIONAL) &&
	    !(attrs & DMA_ATTR_SKIP_CPU_SYNC))
		vl_bounce(pool, off, vl_orig(pool, off), size, false);
	vl_pool_free(pool, off >> VL_SLOT_SHIFT, size);
}

static void vl_dma_sync_for_cpu(struct device *dev, dma_addr_t addr,
				size_t size, enum dma_data_direction dir)
{
	struct vl_pool *pool = vl_dev_pool(dev);
	unsigned long off;

	if (!vl_dma_range(dev, pool, addr, size, &off))
		return;
	if (dir == DMA_FROM_DEVICE || dir == DMA_BIDIRECTIONAL)
		vl_bounce(pool, off, vl_orig(pool, off), size, false);
}

static void vl_dma_sync_for_device(struct device *dev, dma_addr_t addr,
				   size_t size, enum dma_data_direction dir)
{
	struct vl_pool *pool = vl_dev_pool(dev);
	unsigned long off;

	if (!vl_dma_range(dev, pool, addr, size, &off))
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

static struct attribute *vl_dma_attrs[] = {
	&dev_attr_pool_size.attr,
	&dev_attr_pool_used.attr,
	&dev_attr_pool_map_failures.attr,
	NULL,
};
ATTRIBUTE_GROUPS(vl_dma);

/* --------------------------------------------------------------- devices -- */

struct vl_ctrl;
struct vl_dev;

/**
 * struct vl_queue - one virtqueue and its eventfds
 * @dev: the owning device.
 * @index: queue index.
 * @vq: the virtqueue while the driver has it (under @dev->lock).
 * @kick_lock: protects @kick_ctx and @kick_pending; taken by notify, which
 *	may run in atomic context.
 * @kick_ctx: eventfd signalled on notify, or NULL.
 * @kick_pending: a notify arrived with no @kick_ctx, or where signalling
 *	was not allowed; replayed on attach or by @kick_work.
 * @kick_work: signals a kick that could not be signalled in place.
 * @call_file: the call eventfd's file, or NULL (under @dev->lock).
 * @call_ctx: its eventfd context (under @dev->lock).
 * @call_armed: @call_wait is on the eventfd's wait queue; true only while
 *	@vq is set, so the wake-up callback always sees a live @vq.
 * @call_wait: our entry on the call eventfd's wait queue.
 * @call_pt: poll table used to add @call_wait.
 */
struct vl_queue {
	struct vl_dev *dev;
	unsigned int index;
	struct virtqueue *vq;
	spinlock_t kick_lock;		/* kick_ctx, kick_pending */
	struct eventfd_ctx *kick_ctx;
	bool kick_pending;
	struct work_struct kick_work;
	struct file *call_file;
	struct eventfd_ctx *call_ctx;
	bool call_armed;
	wait_queue_entry_t call_wait;
	poll_table call_pt;
};

enum vl_reg_state {
	VL_REG_NONE,		/* registration has not run */
	VL_REG_DONE,		/* registered with the virtio bus */
	VL_REG_FAILED,		/* register_virtio_device() failed */
	VL_REG_SKIPPED,		/* removed before registration ran */
};

enum vl_sync_state {
	VL_SYNC_IDLE,
	VL_SYNC_WAITING,
	VL_SYNC_DONE,
};

/**
 * struct vl_dev - one loopback virtio device
 * @vdev: the virtio device; its release frees this structure.
 * @ctrl: the owning control fd (outlives the device).
 * @dma: the parent device with the DMA ops.
 * @handle: handle on @ctrl.
 * @device_features: features offered to the driver.
 * @num_queues: number of queues.
 * @max_queue_size: largest ring size.
 * @lock: protects the queues' @vq and call fields, and @reg_state.
 * @reg_state: enum vl_reg_state.
 * @register_work: registers @vdev after CREATE_DEVICE returned.
 * @config_lock: protects @config, @config_gen and @status; config reads may
 *	come from atomic context.
 * @config_size: bytes of @config in use.
 * @config_gen: bumped by every SET_CONFIG.
 * @status: virtio status byte.
 * @config: config space.
 * @sync_mutex: serialises sleeping synchronous requests (one in flight).
 * @sync_lock: protects @sync_state, @sync_seq, @sync_status, @removing and
 *	@broken.
 * @sync_wq: a synchronous request waits here for EVENT_DONE.
 * @sync_state: enum vl_sync_state.
 * @sync_seq: the event seq the waiter expects.
 * @sync_status: the adapter's reply status.
 * @removing: the device is going away; nothing waits for user space.
 * @broken: a synchronous request timed out; nothing waits any more.
 * @queues: @num_queues queues.
 */
struct vl_dev {
	struct virtio_device vdev;
	struct vl_ctrl *ctrl;
	struct vl_dma_dev *dma;
	u32 handle;
	u64 device_features;
	u32 num_queues;
	u32 max_queue_size;

	struct mutex lock;		/* queues' vq/call fields, reg_state */
	enum vl_reg_state reg_state;
	struct work_struct register_work;

	spinlock_t config_lock;		/* config, config_gen, status */
	u32 config_size;
	u32 config_gen;
	u8 status;
	u8 config[VIRTIO_LOOPBACK_CONFIG_MAX];

	struct mutex sync_mutex;	/* one sleeping request at a time */
	spinlock_t sync_lock;		/* sync_*, removing, broken */
	wait_queue_head_t sync_wq;
	enum vl_sync_state sync_state;
	u64 sync_seq;
	u32 sync_status;
	bool removing;
	bool broken;

	struct vl_queue queues[];
};

/**
 * struct vl_ctrl - one open fd of /dev/virtio-loopback
 * @lock: protects @devices against concurrent create/destroy/lookup; held
 *	across each ioctl.
 * @devices: handle -> struct vl_dev.
 * @ev_lock: protects @ev, @ev_head, @ev_count and @next_seq; events are
 *	queued from any context.
 * @ev_wq: readers and pollers wait here.
 * @ev_head: index of the oldest pending event.
 * @ev_count: pending events.
 * @next_seq: seq of the next event.
 * @ev: ring of pending events.
 */
struct vl_ctrl {
	struct mutex lock;		/* devices; held across each ioctl */
	struct xarray devices;
	spinlock_t ev_lock;		/* ev ring, next_seq; any context */
	wait_queue_head_t ev_wq;
	unsigned int ev_head;
	unsigned int ev_count;
	u64 next_seq;
	struct virtio_loopback_event ev[VL_EVENT_RING];
};

static struct miscdevice vl_misc;

/* Numbers the DMA devices' names; unique across control fds. */
static atomic_t vl_next_id = ATOMIC_INIT(0);

static struct vl_dev *to_vl_dev(struct virtio_device *vdev)
{
	return container_of(vdev, struct vl_dev, vdev);
}

/*
 * Queue an event for the control fd; any context. Returns its seq, or 0
 * when the ring is full (the adapter stopped reading).
 */
static u64 vl_event_push(struct vl_ctrl *ctrl, struct virtio_loopback_event *ev)
{
	unsigned long flags;
	u64 seq = 0;

	spin_lock_irqsave(&ctrl->ev_lock, flags);
	if (ctrl->ev_count < VL_EVENT_RING) {
		seq = ++ctrl->next_seq;
		ev->seq = seq;
		ctrl->ev[(ctrl->ev_head + ctrl->ev_count) % VL_EVENT_RING] = *ev;
		ctrl->ev_count++;
	}
	spin_unlock_irqrestore(&ctrl->ev_lock, flags);
	if (seq)
		wake_up_interruptible_poll(&ctrl->ev_wq, EPOLLIN | EPOLLRDNORM);
	else
		pr_warn_ratelimited("event queue full, event %u dropped\n",
				    ev->type);
	return seq;
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

static void vl_mark_broken(struct vl_dev *d, const char *what,
			   unsigned int ms)
{
	dev_err(&d->vdev.dev, "no reply to %s within %u ms: device broken\n",
		what, ms);
	virtio_break_device(&d->vdev);
}

/*
 * Send @ev to user space. When the caller may sleep and the device is live,
 * wait (bounded) for EVENT_DONE; a timeout breaks the device. Otherwise the
 * event is only queued.
 */
static void vl_sync_request(struct vl_dev *d, struct virtio_loopback_event *ev,
			    const char *what)
{
	unsigned int ms = max(READ_ONCE(sync_timeout_ms), 1U);
	bool wait = vl_may_sleep(), locked = wait;
	unsigned long flags;
	bool timed_out;
	long left;
	u64 seq;

	if (locked)
		mutex_lock(&d->sync_mutex);
	spin_lock_irqsave(&d->sync_lock, flags);
	if (d->removing) {
		spin_unlock_irqrestore(&d->sync_lock, flags);
		goto out;
	}
	if (wait && !d->broken)
		ev->flags |= VIRTIO_LOOPBACK_EVENT_F_NEED_REPLY;
	else
		wait = false;
	seq = vl_event_push(d->ctrl, ev);
	if (!seq)
		wait = false;
	if (wait) {
		d->sync_seq = seq;
		d->sync_state = VL_SYNC_WAITING;
	}
	spin_unlock_irqrestore(&d->sync_lock, flags);
	if (!wait)
		goto out;

	left = wait_event_timeout(d->sync_wq,
				  READ_ONCE(d->sync_state) != VL_SYNC_WAITING ||
				  READ_ONCE(d->removing),
				  msecs_to_jiffies(ms));

	spin_lock_irqsave(&d->sync_lock, flags);
	timed_out = !left && d->sync_state == VL_SYNC_WAITING && !d->removing;
	if (timed_out)
		d->broken = true;
	if (d->sync_state == VL_SYNC_DONE && d->sync_status)
		dev_warn(&d->vdev.dev, "%s failed in user space: %u\n", what,
			 d->sync_status);
	d->sync_state = VL_SYNC_IDLE;
	spin_unlock_irqrestore(&d->sync_lock, flags);
	if (timed_out)
		vl_mark_broken(d, what, ms);
out:
	if (locked)
		mutex_unlock(&d->sync_mutex);
}

/* ------------------------------------------------------------- eventfds -- */

static void vl_kick_work(struct work_struct *work)
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

static bool vl_notify(struct virtqueue *vq)
{
	struct vl_queue *q = vq->priv;
	unsigned long flags;

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

/*
 * Used-buffer notifications reach the driver only after DRIVER_OK: until
 * then the driver may not have stored its virtqueue pointers, and a back end
 * writing the used ring early must not run its callbacks. vl_set_status()
 * delivers one notification per queue when DRIVER_OK is set, so nothing
 * signalled earlier is lost.
 */
static bool vl_driver_ok(struct vl_dev *d)
{
	return READ_ONCE(d->status) & VIRTIO_CONFIG_S_DRIVER_OK;
}

/* Run a queue's interrupt handler from process context; d->lock held. */
static void vl_call_deliver(struct vl_queue *q)
{
	unsigned long flags;

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
		if (vl_driver_ok(q->dev))
			vring_interrupt(0, q->vq);
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

	if (q->call_armed || !q->call_file || !q->vq)
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
static void vl_call_disarm(struct vl_queue *q)
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

/* ------------------------------------------------------ virtio transport -- */

static void vl_get(struct virtio_device *vdev, unsigned int offset,
		   void *buf, unsigned int len)
{
	struct vl_dev *d = to_vl_dev(vdev);
	unsigned long flags;

	if (offset > d->config_size || len > d->config_size - offset) {
		memset(buf, 0, len);
		return;
	}
	spin_lock_irqsave(&d->config_lock, flags);
	memcpy(buf, d->config + offset, len);
	spin_unlock_irqrestore(&d->config_lock, flags);
}

static void vl_set(struct virtio_device *vdev, unsigned int offset,
		   const void *buf, unsigned int len)
{
	struct vl_dev *d = to_vl_dev(vdev);
	struct virtio_loopback_event ev;
	unsigned long flags;
	unsigned int n;

	if (offset > d->config_size || len > d->config_size - offset)
		return;
	/* Apply locally, so a read sees the write even before the adapter. */
	spin_lock_irqsave(&d->config_lock, flags);
	memcpy(d->config + offset, buf, len);
	spin_unlock_irqrestore(&d->config_lock, flags);

	while (len) {
		n = min_t(unsigned int, len, VIRTIO_LOOPBACK_CONFIG_WRITE_MAX);
		memset(&ev, 0, sizeof(ev));
		ev.type = VIRTIO_LOOPBACK_EVENT_CONFIG_WRITE;
		ev.handle = d->handle;
		ev.u.config_write.offset = offset;
		ev.u.config_write.size = n;
		memcpy(ev.u.config_write.data, buf, n);
		vl_sync_request(d, &ev, "config write");
		buf += n;
		offset += n;
		len -= n;
	}
}

static u32 vl_generation(struct virtio_device *vdev)
{
	return READ_ONCE(to_vl_dev(vdev)->config_gen);
}

static u8 vl_get_status(struct virtio_device *vdev)
{
	return READ_ONCE(to_vl_dev(vdev)->status);
}

static void vl_set_status(struct virtio_device *vdev, u8 status)
{
	struct vl_dev *d = to_vl_dev(vdev);
	struct virtio_loopback_event ev = { .handle = d->handle };
	unsigned long flags;
	u8 old;

	spin_lock_irqsave(&d->config_lock, flags);
	old = d->status;
	d->status = status;
	spin_unlock_irqrestore(&d->config_lock, flags);

	if (READ_ONCE(d->removing))
		return;
	if ((status & ~old) & VIRTIO_CONFIG_S_FEATURES_OK) {
		ev.type = VIRTIO_LOOPBACK_EVENT_FEATURES_OK;
		ev.u.features_ok.features = vdev->features;
		vl_event_push(d->ctrl, &ev);
	}
	if ((status & ~old) & VIRTIO_CONFIG_S_DRIVER_OK) {
		unsigned int i;

		/* Deliver what the back end signalled before DRIVER_OK. */
		mutex_lock(&d->lock);
		for (i = 0; i < d->num_queues; i++)
			if (d->queues[i].call_armed)
				vl_call_deliver(&d->queues[i]);
		mutex_unlock(&d->lock);

		memset(&ev.u, 0, sizeof(ev.u));
		ev.type = VIRTIO_LOOPBACK_EVENT_DRIVER_OK;
		ev.u.driver_ok.num_queues = d->num_queues;
		vl_event_push(d->ctrl, &ev);
	}
}

static void vl_reset(struct virtio_device *vdev)
{
	struct vl_dev *d = to_vl_dev(vdev);
	struct virtio_loopback_event ev = {
		.type = VIRTIO_LOOPBACK_EVENT_RESET,
		.handle = d->handle,
	};
	unsigned long flags;

	spin_lock_irqsave(&d->config_lock, flags);
	d->status = 0;
	spin_unlock_irqrestore(&d->config_lock, flags);
	/* The back end must stop using the rings before the driver frees them. */
	vl_sync_request(d, &ev, "reset");
}

static void vl_del_vqs(struct virtio_device *vdev)
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
	}
	mutex_unlock(&d->lock);
}

static int vl_setup_vq(struct vl_dev *d, unsigned int index,
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
	vl_call_arm(q);
	*out = vq;
	return 0;
}

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
static int vl_find_vqs(struct virtio_device *vdev, unsigned int nvqs,
		       struct virtqueue *vqs[],
		       struct virtqueue_info vqs_info[],
		       struct irq_affinity *desc)
#else
static int vl_find_vqs(struct virtio_device *vdev, unsigned int nvqs,
		       struct virtqueue *vqs[], vq_callback_t *callbacks[],
		       const char * const names[], const bool *ctx,
		       struct irq_affinity *desc)
#endif
{
	struct vl_dev *d = to_vl_dev(vdev);
	unsigned int i, queue_idx = 0;
	int err = 0;

	mutex_lock(&d->lock);
	for (i = 0; i < nvqs; i++) {
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
		const char *name = vqs_info[i].name;
		vq_callback_t *cb = vqs_info[i].callback;
		bool c = vqs_info[i].ctx;
#else
		const char *name = names[i];
		vq_callback_t *cb = callbacks[i];
		bool c = ctx ? ctx[i] : false;
#endif
		if (!name) {
			vqs[i] = NULL;
			continue;
		}
		err = vl_setup_vq(d, queue_idx++, cb, name, c, &vqs[i]);
		if (err)
			break;
	}
	mutex_unlock(&d->lock);
	if (err)
		vl_del_vqs(vdev);
	return err;
}

static u64 vl_get_features(struct virtio_device *vdev)
{
	return to_vl_dev(vdev)->device_features;
}

static int vl_finalize_features(struct virtio_device *vdev)
{
	vring_transport_features(vdev);
	/* The data plane needs the DMA API (the pool) and modern rings. */
	if (!__virtio_test_bit(vdev, VIRTIO_F_VERSION_1) ||
	    !__virtio_test_bit(vdev, VIRTIO_F_ACCESS_PLATFORM))
		return -EINVAL;
	return 0;
}

static const char *vl_bus_name(struct virtio_device *vdev)
{
	return dev_name(vdev->dev.parent);
}

static const struct virtio_config_ops vl_config_ops = {
	.get			= vl_get,
	.set			= vl_set,
	.generation		= vl_generation,
	.get_status		= vl_get_status,
	.set_status		= vl_set_status,
	.reset			= vl_reset,
	.find_vqs		= vl_find_vqs,
	.del_vqs		= vl_del_vqs,
	.get_features		= vl_get_features,
	.finalize_features	= vl_finalize_features,
	.bus_name		= vl_bus_name,
};

/* ------------------------------------------------------------- lifecycle -- */

static void vl_dma_dev_release(struct device *dev)
{
	struct vl_dma_dev *dma = container_of(dev, struct vl_dma_dev, dev);

	vl_pool_put(dma->pool);
	kfree(dma);
	module_put(THIS_MODULE);
}

/* Drop the queues' eventfds; the call watches are disarmed already. */
static void vl_dev_free(struct vl_dev *d)
{
	unsigned int i;

	for (i = 0; i < d->num_queues; i++) {
		struct vl_queue *q = &d->queues[i];

		if (q->kick_ctx)
			eventfd_ctx_put(q->kick_ctx);
		if (q->call_ctx)
			eventfd_ctx_put(q->call_ctx);
		if (q->call_file)
			fput(q->call_file);
	}
	kfree(d);
}

static void vl_vdev_release(struct device *dev)
{
	vl_dev_free(to_vl_dev(dev_to_virtio(dev)));
}

static void vl_register_work(struct work_struct *work)
{
	struct vl_dev *d = container_of(work, struct vl_dev, register_work);
	enum vl_reg_state state = VL_REG_SKIPPED;
	int err;

	if (!READ_ONCE(d->removing)) {
		err = register_virtio_device(&d->vdev);
		state = err ? VL_REG_FAILED : VL_REG_DONE;
		if (err)
			dev_err(&d->dma->dev, "register_virtio_device: %d\n",
				err);
	}
	mutex_lock(&d->lock);
	d->reg_state = state;
	mutex_unlock(&d->lock);
}

/*
 * Remove a device whose handle is already gone from its control fd. The
 * driver unbinds; requests in flight fail because the device is broken.
 */
static void vl_dev_destroy(struct vl_dev *d)
{
	struct vl_dma_dev *dma = d->dma;
	unsigned long flags;
	unsigned int i;

	spin_lock_irqsave(&d->sync_lock, flags);
	d->removing = true;
	spin_unlock_irqrestore(&d->sync_lock, flags);
	wake_up_all(&d->sync_wq);

	flush_work(&d->register_work);

	switch (d->reg_state) {
	case VL_REG_DONE:
		virtio_break_device(&d->vdev);
		get_device(&d->vdev.dev);
		unregister_virtio_device(&d->vdev);
		break;
	case VL_REG_FAILED:
		break;
	default:
		vl_dev_free(d);
		d = NULL;
		break;
	}
	if (d) {
		/* The driver's del_vqs disarmed the watches; be sure. */
		mutex_lock(&d->lock);
		for (i = 0; i < d->num_queues; i++) {
			vl_call_disarm(&d->queues[i]);
			cancel_work_sync(&d->queues[i].kick_work);
		}
		mutex_unlock(&d->lock);
		put_device(&d->vdev.dev);	/* frees d */
	}
	device_unregister(&dma->dev);
}

static struct vl_dev *vl_lookup(struct vl_ctrl *ctrl, u32 handle)
{
	return xa_load(&ctrl->devices, handle);
}

static int vl_ioctl_create(struct vl_ctrl *ctrl,
			   struct virtio_loopback_create __user *uarg)
{
	struct virtio_loopback_create arg;
	struct vl_dma_dev *dma;
	struct vl_pool *pool;
	struct file *file;
	struct vl_dev *d;
	unsigned int i;
	u32 handle;
	int ret, fd;

	ret = -EFAULT;
	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return ret;
	ret = -EINVAL;
	if (!arg.device_id || arg.flags ||
	    memchr_inv(arg.reserved_in, 0, sizeof(arg.reserved_in)) ||
	    arg.num_queues < 1 || arg.num_queues > VL_MAX_QUEUES ||
	    arg.max_queue_size < 2 || arg.max_queue_size > VL_MAX_QUEUE_SIZE ||
	    !is_power_of_2(arg.max_queue_size) ||
	    arg.pool_size < VL_MIN_POOL_SIZE ||
	    arg.pool_size > VL_MAX_POOL_SIZE ||
	    !PAGE_ALIGNED(arg.pool_size) ||
	    arg.config_size > VIRTIO_LOOPBACK_CONFIG_MAX)
		return ret;

	ret = -ENOMEM;
	d = kzalloc(struct_size(d, queues, arg.num_queues), GFP_KERNEL);
	if (!d)
		return ret;
	ret = -EFAULT;
	if (arg.config_size &&
	    copy_from_user(d->config, u64_to_user_ptr(arg.config_addr),
			   arg.config_size))
		goto err_free_dev;

	d->ctrl = ctrl;
	d->config_size = arg.config_size;
	d->num_queues = arg.num_queues;
	d->max_queue_size = arg.max_queue_size;
	/* Bit 30 is vhost-user's PROTOCOL_FEATURES, not a virtio feature. */
	d->device_features = (arg.device_features & ~BIT_ULL(30)) |
			     BIT_ULL(VIRTIO_F_VERSION_1) |
			     BIT_ULL(VIRTIO_F_ACCESS_PLATFORM);
	mutex_init(&d->lock);
	mutex_init(&d->sync_mutex);
	spin_lock_init(&d->config_lock);
	spin_lock_init(&d->sync_lock);
	init_waitqueue_head(&d->sync_wq);
	INIT_WORK(&d->register_work, vl_register_work);
	for (i = 0; i < d->num_queues; i++) {
		struct vl_queue *q = &d->queues[i];

		q->dev = d;
		q->index = i;
		spin_lock_init(&q->kick_lock);
		INIT_WORK(&q->kick_work, vl_kick_work);
	}
	d->vdev.id.device = arg.device_id;
	d->vdev.id.vendor = arg.vendor_id;
	d->vdev.config = &vl_config_ops;
	d->vdev.dev.release = vl_vdev_release;

	ret = -ENOMEM;
	pool = vl_pool_create(arg.pool_size);
	if (!pool)
		goto err_free_dev;

	dma = kzalloc(sizeof(*dma), GFP_KERNEL);
	if (!dma)
		goto err_put_pool;
	/* From here the DMA device's release drops the pool and module refs. */
	__module_get(THIS_MODULE);
	dma->pool = pool;
	device_initialize(&dma->dev);
	dma->dev.parent = vl_misc.this_device;
	dma->dev.release = vl_dma_dev_release;
	dma->dev.groups = vl_dma_groups;
	dma->dev.dma_mask = &dma->dma_mask;
	dma->dev.coherent_dma_mask = DMA_BIT_MASK(64);
	dma->dma_mask = DMA_BIT_MASK(64);
	set_dma_ops(&dma->dev, &vl_dma_ops);

	ret = -ENOSPC;
	if (xa_alloc(&ctrl->devices, &handle, d,
		     XA_LIMIT(1, VL_MAX_DEVICES), GFP_KERNEL))
		goto err_put_dma;
	d->handle = handle;
	ret = dev_set_name(&dma->dev, "virtio-loopback.%u",
			   atomic_inc_return(&vl_next_id));
	if (ret)
		goto err_erase;
	ret = device_add(&dma->dev);
	if (ret)
		goto err_erase;
	d->dma = dma;
	d->vdev.dev.parent = &dma->dev;

	fd = get_unused_fd_flags(O_CLOEXEC);
	ret = fd;
	if (fd < 0)
		goto err_del_dma;
	kref_get(&pool->ref);
	file = anon_inode_getfile("[virtio-loopback-pool]", &vl_pool_fops,
				  pool, O_RDWR);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		vl_pool_put(pool);
		goto err_put_fd;
	}

	arg.handle = handle;
	arg.pool_fd = fd;
	arg.pool_dma_base = VL_POOL_DMA_BASE;
	memset(arg.reserved_out, 0, sizeof(arg.reserved_out));
	ret = -EFAULT;
	if (copy_to_user(uarg, &arg, sizeof(arg)))
		goto err_fput;

	fd_install(fd, file);
	/* Probing may wait for the adapter: keep it off the per-CPU pool. */
	queue_work(system_unbound_wq, &d->register_work);
	return 0;

err_fput:
	fput(file);
err_put_fd:
	put_unused_fd(fd);
err_del_dma:
	device_del(&dma->dev);
err_erase:
	xa_erase(&ctrl->devices, handle);
err_put_dma:
	put_device(&dma->dev);	/* drops pool and module references */
	pool = NULL;
err_put_pool:
	if (pool)
		vl_pool_put(pool);
err_free_dev:
	kfree(d);
	return ret;
}

static int vl_ioctl_destroy(struct vl_ctrl *ctrl, void __user *uarg)
{
	struct virtio_loopback_handle arg;
	struct vl_dev *d;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags || arg.reserved)
		return -EINVAL;
	d = xa_erase(&ctrl->devices, arg.handle);
	if (!d)
		return -ENOENT;
	vl_dev_destroy(d);
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

static int vl_ioctl_set_queue_fds(struct vl_ctrl *ctrl, void __user *uarg)
{
	struct virtio_loopback_queue_fds arg;
	struct eventfd_ctx *kick = NULL, *call = NULL;
	struct file *call_file = NULL;
	struct vl_queue *q;
	struct vl_dev *d;
	int ret;

	ret = -EFAULT;
	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return ret;
	ret = -EINVAL;
	if (arg.flags || memchr_inv(arg.reserved, 0, sizeof(arg.reserved)) ||
	    arg.kick_fd < -1 || arg.call_fd < -1)
		return ret;
	ret = -ENOENT;
	d = vl_lookup(ctrl, arg.handle);
	if (!d)
		return ret;
	ret = -EINVAL;
	if (arg.queue >= d->num_queues)
		return ret;
	q = &d->queues[array_index_nospec(arg.queue, d->num_queues)];

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

static int vl_ioctl_get_queue_info(struct vl_ctrl *ctrl, void __user *uarg)
{
	struct virtio_loopback_queue_info arg;
	struct virtqueue *vq;
	struct vl_dev *d;
	u32 queue;
	int ret;

	ret = -EFAULT;
	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return ret;
	ret = -EINVAL;
	if (arg.reserved_in)
		return ret;
	ret = -ENOENT;
	d = vl_lookup(ctrl, arg.handle);
	if (!d)
		return ret;
	ret = -EINVAL;
	if (arg.queue >= d->num_queues)
		return ret;
	queue = array_index_nospec(arg.queue, d->num_queues);

	arg.size = 0;
	arg.ready = 0;
	arg.desc_addr = 0;
	arg.avail_addr = 0;
	arg.used_addr = 0;
	memset(arg.reserved_out, 0, sizeof(arg.reserved_out));
	mutex_lock(&d->lock);
	vq = d->queues[queue].vq;
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
	ret = -EFAULT;
	if (copy_to_user(uarg, &arg, sizeof(arg)))
		return ret;
	return 0;
}

static int vl_ioctl_set_config(struct vl_ctrl *ctrl, void __user *uarg)
{
	struct virtio_loopback_config arg;
	u8 buf[VIRTIO_LOOPBACK_CONFIG_MAX];
	unsigned long flags;
	struct vl_dev *d;
	bool notify;
	int ret;

	ret = -EFAULT;
	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return ret;
	ret = -EINVAL;
	if (arg.reserved || (arg.flags & ~VIRTIO_LOOPBACK_CONFIG_F_NOTIFY))
		return ret;
	ret = -ENOENT;
	d = vl_lookup(ctrl, arg.handle);
	if (!d)
		return ret;
	ret = -EINVAL;
	if (arg.offset > d->config_size ||
	    arg.size > d->config_size - arg.offset)
		return ret;
	ret = -EFAULT;
	if (copy_from_user(buf, u64_to_user_ptr(arg.config_addr), arg.size))
		return ret;

	spin_lock_irqsave(&d->config_lock, flags);
	memcpy(d->config + arg.offset, buf, arg.size);
	WRITE_ONCE(d->config_gen, d->config_gen + 1);
	notify = (arg.flags & VIRTIO_LOOPBACK_CONFIG_F_NOTIFY) &&
		 (d->status & VIRTIO_CONFIG_S_DRIVER_OK);
	spin_unlock_irqrestore(&d->config_lock, flags);

	mutex_lock(&d->lock);
	if (notify && d->reg_state == VL_REG_DONE)
		virtio_config_changed(&d->vdev);
	mutex_unlock(&d->lock);
	return 0;
}

static int vl_ioctl_event_done(struct vl_ctrl *ctrl, void __user *uarg)
{
	struct virtio_loopback_event_done arg;
	unsigned long flags;
	struct vl_dev *d;
	int ret;

	ret = -EFAULT;
	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return ret;
	ret = -EINVAL;
	if (arg.reserved)
		return ret;
	ret = -ENOENT;
	d = vl_lookup(ctrl, arg.handle);
	if (!d)
		return ret;

	spin_lock_irqsave(&d->sync_lock, flags);
	if (d->sync_state == VL_SYNC_WAITING && d->sync_seq == arg.seq) {
		d->sync_state = VL_SYNC_DONE;
		d->sync_status = arg.status;
		ret = 0;
	}
	spin_unlock_irqrestore(&d->sync_lock, flags);
	if (!ret)
		wake_up(&d->sync_wq);
	return ret;
}

static long vl_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct vl_ctrl *ctrl = file->private_data;
	void __user *uarg = (void __user *)arg;
	struct virtio_loopback_api_info info;
	long ret;

	if (cmd == VIRTIO_LOOPBACK_IOC_GET_API_VERSION) {
		memset(&info, 0, sizeof(info));
		info.api_version = VIRTIO_LOOPBACK_API_VERSION;
		info.max_queues = VL_MAX_QUEUES;
		info.max_queue_size = VL_MAX_QUEUE_SIZE;
		info.max_config_size = VIRTIO_LOOPBACK_CONFIG_MAX;
		info.event_size = sizeof(struct virtio_loopback_event);
		info.max_devices = VL_MAX_DEVICES;
		info.max_pool_size = VL_MAX_POOL_SIZE;
		info.min_pool_size = VL_MIN_POOL_SIZE;
		return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
	}

	mutex_lock(&ctrl->lock);
	switch (cmd) {
	case VIRTIO_LOOPBACK_IOC_CREATE_DEVICE:
		ret = vl_ioctl_create(ctrl, uarg);
		break;
	case VIRTIO_LOOPBACK_IOC_DESTROY_DEVICE:
		ret = vl_ioctl_destroy(ctrl, uarg);
		break;
	case VIRTIO_LOOPBACK_IOC_SET_QUEUE_FDS:
		ret = vl_ioctl_set_queue_fds(ctrl, uarg);
		break;
	case VIRTIO_LOOPBACK_IOC_GET_QUEUE_INFO:
		ret = vl_ioctl_get_queue_info(ctrl, uarg);
		break;
	case VIRTIO_LOOPBACK_IOC_SET_CONFIG:
		ret = vl_ioctl_set_config(ctrl, uarg);
		break;
	case VIRTIO_LOOPBACK_IOC_EVENT_DONE:
		ret = vl_ioctl_event_done(ctrl, uarg);
		break;
	default:
		ret = -ENOTTY;
		break;
	}
	mutex_unlock(&ctrl->lock);
	return ret;
}

static ssize_t vl_read(struct file *file, char __user *buf, size_t count,
		       loff_t *ppos)
{
	struct vl_ctrl *ctrl = file->private_data;
	struct virtio_loopback_event ev;
	size_t done = 0;
	int ret;

	if (count < sizeof(ev))
		return -EINVAL;
	while (done + sizeof(ev) <= count) {
		spin_lock_irq(&ctrl->ev_lock);
		if (!ctrl->ev_count) {
			spin_unlock_irq(&ctrl->ev_lock);
			if (done)
				break;
			if (file->f_flags & O_NONBLOCK)
				return -EAGAIN;
			ret = wait_event_interruptible(ctrl->ev_wq,
						       READ_ONCE(ctrl->ev_count));
			if (ret)
				return ret;
			continue;
		}
		ev = ctrl->ev[ctrl->ev_head];
		ctrl->ev_head = (ctrl->ev_head + 1) % VL_EVENT_RING;
		ctrl->ev_count--;
		spin_unlock_irq(&ctrl->ev_lock);
		/*
		 * A faulting buffer loses this event; the adapter is broken
		 * then anyway, and waiters time out.
		 */
		if (copy_to_user(buf + done, &ev, sizeof(ev)))
			return done ? done : -EFAULT;
		done += sizeof(ev);
	}
	return done;
}

static __poll_t vl_poll(struct file *file, poll_table *wait)
{
	struct vl_ctrl *ctrl = file->private_data;

	poll_wait(file, &ctrl->ev_wq, wait);
	return READ_ONCE(ctrl->ev_count) ? EPOLLIN | EPOLLRDNORM : 0;
}

static int vl_open(struct inode *inode, struct file *file)
{
	struct vl_ctrl *ctrl;

	ctrl = kvzalloc(sizeof(*ctrl), GFP_KERNEL);
	if (!ctrl)
		return -ENOMEM;
	mutex_init(&ctrl->lock);
	xa_init_flags(&ctrl->devices, XA_FLAGS_ALLOC1);
	spin_lock_init(&ctrl->ev_lock);
	init_waitqueue_head(&ctrl->ev_wq);
	file->private_data = ctrl;
	return nonseekable_open(inode, file);
}

static int vl_release(struct inode *inode, struct file *file)
{
	struct vl_ctrl *ctrl = file->private_data;
	struct vl_dev *d;
	unsigned long handle;

	mutex_lock(&ctrl->lock);
	xa_for_each(&ctrl->devices, handle, d) {
		xa_erase(&ctrl->devices, handle);
		vl_dev_destroy(d);
	}
	mutex_unlock(&ctrl->lock);
	xa_destroy(&ctrl->devices);
	mutex_destroy(&ctrl->lock);
	kvfree(ctrl);
	return 0;
}

static const struct file_operations vl_fops = {
	.owner		= THIS_MODULE,
	.open		= vl_open,
	.release	= vl_release,
	.read		= vl_read,
	.poll		= vl_poll,
	.unlocked_ioctl	= vl_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

static struct miscdevice vl_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= VIRTIO_LOOPBACK_DEV_NAME,
	.fops	= &vl_fops,
	.mode	= 0600,
};

static int __init vl_init(void)
{
	/* The UAPI layouts are fixed; see the header. */
	BUILD_BUG_ON(sizeof(struct virtio_loopback_api_info) != 64);
	BUILD_BUG_ON(sizeof(struct virtio_loopback_create) != 96);
	BUILD_BUG_ON(sizeof(struct virtio_loopback_handle) != 16);
	BUILD_BUG_ON(sizeof(struct virtio_loopback_queue_fds) != 32);
	BUILD_BUG_ON(sizeof(struct virtio_loopback_queue_info) != 64);
	BUILD_BUG_ON(sizeof(struct virtio_loopback_config) != 32);
	BUILD_BUG_ON(sizeof(struct virtio_loopback_event_done) != 24);
	BUILD_BUG_ON(sizeof(struct virtio_loopback_event) != 128);
	return misc_register(&vl_misc);
}

static void __exit vl_exit(void)
{
	misc_deregister(&vl_misc);
}

module_init(vl_init);
module_exit(vl_exit);

MODULE_DESCRIPTION("virtio transport served by user-space back ends");
MODULE_LICENSE("GPL");
