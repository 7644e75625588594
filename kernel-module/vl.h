/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * virtio-loopback: a virtio transport whose devices are served from user
 * space. Each open fd of /dev/virtio-loopback creates and owns devices; the
 * host's own virtio drivers bind to them. Kicks and interrupts go through
 * eventfds that a vhost-user back end uses directly; rings and buffers live
 * in one shared pool per device, so a back end never sees other kernel memory.
 *
 * Internal header shared by the module's files:
 *   main.c    misc device, control fd file operations, module init/exit
 *   device.c  device create/destroy and lifecycle (registration, teardown)
 *   config.c  virtio_config_ops (config space, status, features, find_vqs)
 *   vq.c      virtqueues: kick/call eventfds, failing a dead back end's rings
 *   pool.c    the per-device shared pool: allocator, mmap, revocation
 *   dma.c     dma_map_ops bouncing through the pool, pool sysfs attributes
 *   events.c  the control fd's event queue and synchronous requests
 */
#ifndef VL_H
#define VL_H

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/bitmap.h>
#include <linux/delay.h>
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
#include <uapi/linux/virtio_blk.h>
#include <uapi/linux/virtio_ids.h>

#include "compat.h"

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

/**
 * struct vl_slot - bounce bookkeeping of one pool slot
 * @orig: physical address of the original buffer byte the slot mirrors.
 * @head: 1 + index of the first slot of the streaming mapping the slot
 *	belongs to; 0 when it belongs to none (free, or coherent memory).
 * @size: in a mapping's first slot, the mapping's size in bytes; cleared
 *	(cmpxchg) by the unmap that claims the mapping.
 *
 * Written at map time and read at unmap/sync time by the mapping's owner.
 * Before 5.14 virtio_ring unmaps the address, length and direction it reads
 * back from the descriptor table, which the back end can rewrite: a range
 * that is not exactly one live mapping is refused, so bounce copies only
 * ever reach buffers the driver has in flight.
 */
struct vl_slot {
	phys_addr_t orig;
	u32 head;
	u32 size;
};

/**
 * struct vl_pool - one device's shared memory: rings and bounce buffers
 * @ref: held by the DMA device and by the pool file.
 * @vaddr: vmalloc memory, mapped into user space by the pool fd.
 * @size: bytes.
 * @nslots: @size / VL_SLOT_SIZE.
 * @lock: protects @bitmap and @hint; taken from DMA map calls (any context).
 * @bitmap: one bit per slot, set while allocated.
 * @hint: where the next search starts.
 * @used: slots allocated (under @lock).
 * @map_failures: streaming mappings refused because the pool was full.
 * @bounce_bytes: bytes copied between driver buffers and the pool.
 * @slots: @nslots bounce records (struct vl_slot).
 * @mapping: the pool file's address space (file->f_mapping): every user
 *	mapping of the pool, so that revocation can zap them all and no other.
 * @map_lock: serialises faults against revocation.
 * @revoked: the device is going away; faults map @dead_page (under
 *	@map_lock).
 * @dead_page: a zeroed page that replaces the pool in user space after
 *	revocation, or NULL.
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
	atomic64_t bounce_bytes;
	struct vl_slot *slots;
	struct address_space mapping;
	struct mutex map_lock;		/* revoked, dead_page vs. faults */
	bool revoked;
	struct page *dead_page;
};

/**
 * struct vl_dma_dev - the parent of a virtio device; carries the DMA ops
 * @dev: registered under the misc device; virtio_ring maps through it.
 * @pool: the pool all mappings come from (one reference).
 * @dma_mask: storage for @dev.dma_mask.
 * @kicks: driver notifications (vl_notify() calls), all queues.
 * @interrupts: used-buffer notifications delivered to the driver from the
 *	call eventfds, all queues.
 *
 * The counters are in sysfs next to the pool's, for per-request accounting
 * (kicks and interrupts per request show whether notification suppression
 * works).
 */
struct vl_dma_dev {
	struct device dev;
	struct vl_pool *pool;
	u64 dma_mask;
	atomic64_t kicks;
	atomic64_t interrupts;
};

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
 * @fail_started: the back end is gone and vl_queue_fail_pending() took
 *	over the ring; @fail_avail and @fail_used are valid (under @dev->lock).
 * @fail_avail: the next avail ring position to fail.
 * @fail_used: the next used ring position to write.
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
	bool fail_started;
	u16 fail_avail;
	u16 fail_used;
};

enum vl_reg_state {
	VL_REG_NONE,		/* registration has not run */
	VL_REG_RUNNING,		/* register_virtio_device() (the probe) runs */
	VL_REG_ORPHANED,	/* removed while RUNNING: the work removes it */
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
 * @ctrl: the owning control fd; the device holds a reference.
 * @dma: the parent device with the DMA ops.
 * @handle: handle on @ctrl.
 * @device_features: features offered to the driver.
 * @num_queues: number of queues.
 * @max_queue_size: largest ring size.
 * @lock: protects the queues' @vq and call fields, @vqs_live and @reg_state.
 * @vqs_live: queues that have a virtqueue.
 * @reg_state: enum vl_reg_state.
 * @register_work: registers @vdev after CREATE_DEVICE returned.
 * @registered: completed when register_virtio_device() returned.
 * @config_lock: protects @config, @config_gen, @status and @failed; config
 *	reads may come from atomic context.
 * @config_size: bytes of @config in use.
 * @config_gen: bumped by every SET_CONFIG.
 * @status: virtio status byte.
 * @failed: user space failed the device (FAIL_DEVICE) and the driver has
 *	not reset it since: NEEDS_RESET is set, kicks fail what is queued.
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
	unsigned int vqs_live;
	enum vl_reg_state reg_state;
	struct work_struct register_work;
	struct completion registered;

	spinlock_t config_lock;		/* config, config_gen, status, failed */
	u32 config_size;
	u32 config_gen;
	u8 status;
	bool failed;
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
 * @ref: held by the open file and by each device (a device whose removal
 *	waits for its probe may outlive the file).
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
	struct kref ref;
	struct mutex lock;		/* devices; held across each ioctl */
	struct xarray devices;
	spinlock_t ev_lock;		/* ev ring, next_seq; any context */
	wait_queue_head_t ev_wq;
	unsigned int ev_head;
	unsigned int ev_count;
	u64 next_seq;
	struct virtio_loopback_event ev[VL_EVENT_RING];
};

/* main.c */
extern struct miscdevice vl_misc;
extern struct workqueue_struct *vl_wq;
void vl_ctrl_put(struct vl_ctrl *ctrl);

static inline struct vl_dev *to_vl_dev(struct virtio_device *vdev)
{
	return container_of(vdev, struct vl_dev, vdev);
}

/*
 * Used-buffer notifications reach the driver only after DRIVER_OK: until
 * then the driver may not have stored its virtqueue pointers, and a back end
 * writing the used ring early must not run its callbacks. vl_set_status()
 * delivers one notification per queue when DRIVER_OK is set, so nothing
 * signalled earlier is lost.
 */
static inline bool vl_driver_ok(struct vl_dev *d)
{
	return READ_ONCE(d->status) & VIRTIO_CONFIG_S_DRIVER_OK;
}

/* pool.c */
extern const struct file_operations vl_pool_fops;
struct vl_pool *vl_pool_create(size_t size);
void vl_pool_attach_file(struct vl_pool *pool, struct file *file);
void vl_pool_revoke(struct vl_pool *pool);
void vl_pool_put(struct vl_pool *pool);
long vl_pool_alloc(struct vl_pool *pool, size_t size, unsigned long align_mask);
void vl_pool_free(struct vl_pool *pool, unsigned long idx, size_t size);
void *vl_pool_ptr(struct vl_pool *pool, u64 addr, u64 len);

/* dma.c */
extern const struct dma_map_ops vl_dma_ops;
extern const struct attribute_group *vl_dma_groups[];
void vl_dma_dev_release(struct device *dev);

/* events.c */
unsigned int vl_sync_timeout_ms(void);
u64 vl_event_push(struct vl_ctrl *ctrl, struct virtio_loopback_event *ev);
void vl_sync_request(struct vl_dev *d, struct virtio_loopback_event *ev,
		     const char *what);
int vl_ioctl_event_done(struct vl_ctrl *ctrl, void __user *uarg);

/* vq.c */
void vl_kick_work(struct work_struct *work);
void vl_call_deliver(struct vl_queue *q);
void vl_call_disarm(struct vl_queue *q);
void vl_queue_fail_pending(struct vl_queue *q);
void vl_queue_fail_new(struct vl_queue *q);
bool vl_queue_has_new(struct vl_queue *q);
bool vl_queue_outstanding(struct vl_queue *q, u16 *used_idx);
int vl_setup_vq(struct vl_dev *d, unsigned int index,
		void (*callback)(struct virtqueue *vq), const char *name,
		bool ctx, struct virtqueue **out);
void vl_del_vqs(struct virtio_device *vdev);
int vl_ioctl_set_queue_fds(struct vl_ctrl *ctrl, void __user *uarg);
int vl_ioctl_get_queue_info(struct vl_ctrl *ctrl, void __user *uarg);

/* config.c */
extern const struct virtio_config_ops vl_config_ops;
int vl_ioctl_set_config(struct vl_ctrl *ctrl, void __user *uarg);

/* device.c */
struct vl_dev *vl_arg_dev(struct vl_ctrl *ctrl, u32 handle, bool valid);
void vl_dev_begin_removal(struct vl_dev *d);
void vl_dev_finish_removal(struct vl_dev *d);
void vl_dev_destroy(struct vl_dev *d);
int vl_ioctl_create(struct vl_ctrl *ctrl,
		    struct virtio_loopback_create __user *uarg);
int vl_ioctl_destroy(struct vl_ctrl *ctrl, void __user *uarg);
void vl_dev_break(struct vl_dev *d);
int vl_ioctl_fail(struct vl_ctrl *ctrl, void __user *uarg);

#endif /* VL_H */
