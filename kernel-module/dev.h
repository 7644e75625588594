/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * virtio-loopback, layer 3: the device. Its virtio_config_ops (config.c),
 * its lifecycle from CREATE_DEVICE to removal (device.c), and the requests
 * that wait for the adapter (sync.c). Calls layers 1 and 2 only; the
 * control channel (layer 4) calls the functions declared here.
 */
#ifndef VL_DEV_H
#define VL_DEV_H

#include <linux/completion.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/virtio.h>
#include <linux/virtio_loopback.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "events.h"
#include "pool.h"
#include "vq.h"

#define VL_MAX_QUEUES		64

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
 * @vdev: the virtio device.
 * @ref: held by the control fd's handle table, by each ioctl working on the
 *	device, and by @vdev from registration to its release; the last put
 *	frees the device.
 * @events: the control fd's event queue (a reference).
 * @dma: the parent device with the DMA ops (a reference).
 * @handle: handle on the control fd.
 * @api_version: the API version of the control fd when it created us.
 * @device_features: features offered to the driver.
 * @num_queues: number of queues.
 * @max_queue_size: largest ring size.
 * @lock: the lifecycle: @reg_state, @vqs_live, @failing and @dead; setting
 *	up queues and failing them hold it, so no queue escapes a fail pass.
 * @reg_state: enum vl_reg_state.
 * @vqs_live: queues that have a virtqueue.
 * @failing: the module fails the device's requests (removal, FAIL_DEVICE
 *	after DRIVER_OK, a broken rule); new queues fail at once.
 * @dead: the back end broke a rule; the pool is revoked and the device
 *	never runs again (a reset does not end it).
 * @register_work: registers @vdev after CREATE_DEVICE returned.
 * @registered: completed when register_virtio_device() returned.
 * @break_work: handles a broken rule (vl_vq_ops.violation) in process
 *	context.
 * @config_lock: protects @config, @config_gen, @status and @failed; config
 *	reads may come from atomic context.
 * @config_size: bytes of @config in use.
 * @config_gen: bumped by every SET_CONFIG.
 * @status: virtio status byte.
 * @failed: FAIL_DEVICE (or a broken rule) and no reset since: NEEDS_RESET is
 *	set.
 * @config: config space.
 * @sync_mutex: serialises sleeping synchronous requests (one in flight).
 * @sync_lock: protects @sync_state, @sync_seq, @sync_status, @removing and
 *	@unresponsive.
 * @sync_wq: a synchronous request waits here for EVENT_DONE.
 * @sync_state: enum vl_sync_state.
 * @sync_seq: the event seq the waiter expects.
 * @sync_status: the adapter's reply status.
 * @removing: the device is going away; nothing waits for user space.
 * @unresponsive: a config write timed out; later ones do not wait, until a
 *	reset is answered in time.
 * @queues: @num_queues queues.
 */
struct vl_dev {
	struct virtio_device vdev;
	struct kref ref;
	struct vl_events *events;
	struct vl_dma_dev *dma;
	u32 handle;
	u32 api_version;
	u64 device_features;
	u32 num_queues;
	u32 max_queue_size;

	struct mutex lock;		/* lifecycle, queue setup vs. fail */
	enum vl_reg_state reg_state;
	unsigned int vqs_live;
	bool failing;
	bool dead;
	struct work_struct register_work;
	struct completion registered;
	struct work_struct break_work;

	spinlock_t config_lock;		/* config, config_gen, status, failed */
	u32 config_size;
	u32 config_gen;
	u8 status;
	bool failed;
	u8 config[VIRTIO_LOOPBACK_CONFIG_MAX];

	struct mutex sync_mutex;	/* one sleeping request at a time */
	spinlock_t sync_lock;		/* sync_*, removing, unresponsive */
	wait_queue_head_t sync_wq;
	enum vl_sync_state sync_state;
	u64 sync_seq;
	u32 sync_status;
	bool removing;
	bool unresponsive;

	struct vl_queue queues[];
};

static inline struct vl_dev *to_vl_dev(struct virtio_device *vdev)
{
	return container_of(vdev, struct vl_dev, vdev);
}

/* sync.c: requests that wait, bounded, for the adapter. */
unsigned int vl_sync_timeout_ms(void);
void vl_sync_init(struct vl_dev *d);
bool vl_sync_request(struct vl_dev *d, struct virtio_loopback_event *ev,
		     const char *what, bool must_wait);
void vl_sync_stop_waiting(struct vl_dev *d);
int vl_sync_done(struct vl_dev *d, u64 seq, u32 status);
void vl_dev_event(struct vl_dev *d, struct virtio_loopback_event *ev);

/* device.c: the lifecycle. */
extern struct workqueue_struct *vl_wq;
struct vl_dev *vl_dev_create(const struct virtio_loopback_create *arg,
			     struct vl_events *events, u32 api_version,
			     struct device *parent);
void vl_dev_start(struct vl_dev *d, u32 handle);
struct file *vl_dev_open_pool(struct vl_dev *d);
void vl_dev_get(struct vl_dev *d);
void vl_dev_put(struct vl_dev *d);
void vl_dev_stop_waiting(struct vl_dev *d);
void vl_dev_remove(struct vl_dev *d);
void vl_dev_fail(struct vl_dev *d, u32 status);
void vl_dev_fail_queues(struct vl_dev *d);
void vl_dev_break(struct vl_dev *d);
int vl_dev_set_queue_fds(struct vl_dev *d, u32 queue, int kick_fd,
			 int call_fd);
int vl_dev_queue_info(struct vl_dev *d, u32 queue,
		      struct virtio_loopback_queue_info *info);
int vl_dev_set_config(struct vl_dev *d, u32 offset, u32 size,
		      const u8 *buf, bool notify);
int vl_dev_init(void);
void vl_dev_exit(void);

/* config.c: what the virtio core calls. */
extern const struct virtio_config_ops vl_config_ops;

#endif /* VL_DEV_H */
