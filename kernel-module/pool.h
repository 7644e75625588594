/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * virtio-loopback, layer 1: memory. One pool per device holds everything the
 * back end may see (the shadow rings and bounce copies of the driver's
 * buffers); the DMA ops of the device's parent bounce every streaming mapping
 * into it. Calls nothing of the module's other layers.
 */
#ifndef VL_POOL_H
#define VL_POOL_H

#include <linux/atomic.h>
#include <linux/device.h>
#include <linux/dma-map-ops.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/sched/clock.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#define VL_MIN_POOL_SIZE	(64UL << 10)
#define VL_MAX_POOL_SIZE	(256UL << 20)
#define VL_SLOT_SHIFT		8		/* bounce allocation unit */
#define VL_SLOT_SIZE		BIT(VL_SLOT_SHIFT)
#define VL_MAX_MAPPING		(256UL << 10)	/* largest streaming mapping */
/*
 * DMA address of pool byte 0. Any value works for the back end; a non-zero
 * base keeps a stray zero address from looking valid.
 */
#define VL_POOL_DMA_BASE	0x100000000ULL

/*
 * What a device-writable mapping holds before the back end writes it. Not
 * zero: a virtio-blk status byte the back end never wrote must not read as
 * VIRTIO_BLK_S_OK (0), nor any other status field as success.
 */
#define VL_POISON		0xff

/* struct vl_slot.len: the mapping's size plus one while live. */
#define VL_SLOT_LEN_MASK	GENMASK(30, 0)
/* The module wrote the mapping's result into the original: no copy back. */
#define VL_SLOT_DISCARD		BIT(31)

/**
 * struct vl_slot - bounce bookkeeping of one pool slot
 * @orig: physical address of the original buffer byte the slot mirrors.
 * @head: 1 + index of the first slot of the streaming mapping the slot
 *	belongs to; 0 when it belongs to none (free, or coherent memory).
 * @len: in a mapping's first slot: its size + 1 while the mapping is live
 *	(so that a zero-length mapping is live too), 0 once the unmap that
 *	claims it (cmpxchg) took it; VL_SLOT_DISCARD may be or-ed in.
 *
 * Written at map time and read at unmap/sync time by the mapping's owner.
 * Only the driver's own (private) rings name mappings, but a range that is
 * not exactly one live mapping is still refused, so bounce copies only ever
 * reach buffers the driver has in flight.
 */
struct vl_slot {
	phys_addr_t orig;
	u32 head;
	u32 len;
};

/**
 * struct vl_pool - one device's shared memory: shadow rings and bounce buffers
 * @ref: held by the DMA device and by the pool file.
 * @vaddr: vmalloc memory, mapped into user space by the pool fd.
 * @size: bytes.
 * @nslots: @size / VL_SLOT_SIZE.
 * @lock: protects @bitmap, @hint and @used; taken from DMA map calls (any
 *	context).
 * @bitmap: one bit per slot, set while allocated.
 * @hint: where the next search starts.
 * @used: slots allocated.
 * @map_failures: streaming mappings refused because the pool was full.
 * @bounce_bytes: bytes copied between driver buffers and the pool.
 * @slots: @nslots bounce records.
 * @mapping: the pool file's address space (file->f_mapping): every user
 *	mapping of the pool, so that revocation can zap them all and no other.
 * @map_lock: serialises faults against revocation.
 * @revoked: the device is going away or broke; faults map @dead_page.
 * @dead_page: a zeroed page that replaces the pool in user space after
 *	revocation, or NULL.
 */
struct vl_pool {
	struct kref ref;
	void *vaddr;
	size_t size;
	unsigned long nslots;
	spinlock_t lock;		/* bitmap, hint, used; any context */
	unsigned long *bitmap;
	unsigned long hint;
	unsigned long used;
	atomic_long_t map_failures;
	atomic64_t bounce_bytes;
	struct vl_slot *slots;
	struct address_space mapping;
	struct mutex map_lock;		/* revoked, dead_page vs. faults */
	bool revoked;
	struct page *dead_page;
};

/*
 * The transport's steps whose time the timing parameter sums per device
 * (time_*_ns in sysfs), for measurements. CALLBACK is the driver's own
 * completion work, and includes the UNMAPs it does there.
 */
enum vl_time {
	VL_TIME_KICK,		/* vl_vq_notify(): forward, kick the back end */
	VL_TIME_MAP,		/* a mapping: pool slots, bounce in or poison */
	VL_TIME_UNMAP,		/* an unmapping: bounce out, free */
	VL_TIME_DELIVER,	/* a delivery pass, without the callback */
	VL_TIME_CALLBACK,	/* vring_interrupt(): the driver's callback */
	VL_TIME_NR,
};

/**
 * struct vl_dma_dev - the parent of a virtio device; carries the DMA ops
 * @dev: registered under the misc device; virtio_ring maps through it.
 * @pool: the pool all mappings come from (one reference).
 * @dma_mask: storage for @dev.dma_mask.
 * @kicks: driver notifications forwarded, all queues.
 * @interrupts: used-buffer notifications delivered to the driver, all
 *	queues.
 * @violations: rules the back end broke (each breaks the device).
 * @time_ns: nanoseconds spent in each &enum vl_time step while timing is on.
 *
 * The counters are in sysfs next to the pool's, for per-request accounting.
 */
struct vl_dma_dev {
	struct device dev;
	struct vl_pool *pool;
	u64 dma_mask;
	atomic64_t kicks;
	atomic64_t interrupts;
	atomic64_t violations;
	atomic64_t time_ns[VL_TIME_NR];
};

extern bool vl_timing;

/* The start of a timed step: 0 unless timing is on. */
static inline u64 vl_time_start(void)
{
	return READ_ONCE(vl_timing) ? local_clock() : 0;
}

static inline void vl_time_end(struct vl_dma_dev *dma, enum vl_time step,
			       u64 start)
{
	if (start)
		atomic64_add(local_clock() - start, &dma->time_ns[step]);
}

/* pool.c */
extern const struct file_operations vl_pool_fops;
struct vl_pool *vl_pool_create(size_t size);
void vl_pool_attach_file(struct vl_pool *pool, struct file *file);
void vl_pool_revoke(struct vl_pool *pool, unsigned int wait_ms);
void vl_pool_put(struct vl_pool *pool);
long vl_pool_alloc(struct vl_pool *pool, size_t size, unsigned long align_mask);
void vl_pool_free(struct vl_pool *pool, unsigned long idx, size_t size);
void *vl_pool_ptr(struct vl_pool *pool, u64 addr, u64 len);

/* dma.c */
struct vl_dma_dev *vl_dma_dev_create(struct vl_pool *pool, struct device *parent,
				     const char *name);
bool vl_dma_read_orig(struct vl_pool *pool, dma_addr_t addr, void *buf,
		      size_t len);
bool vl_dma_complete_now(struct vl_pool *pool, dma_addr_t addr, size_t size);
bool vl_dma_fail_range(struct vl_pool *pool, dma_addr_t addr, size_t len,
		       u8 fill);

#endif /* VL_POOL_H */
