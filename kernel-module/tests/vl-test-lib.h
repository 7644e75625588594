/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vl-test-lib: what the static stand-in devices (vl-rng-test, vl-blk-test,
 * vl-input-test, vl-churn) share: the control fd, CREATE_DEVICE with the
 * pool mapped and one kick/call eventfd pair per queue, the event stream
 * with EVENT_DONE replies, and a split-ring server (walk a chain, return it
 * on the used ring, signal the call eventfd).
 *
 * Output lines start with "VL " (the guest scripts grep them).
 */
#ifndef VL_TEST_LIB_H
#define VL_TEST_LIB_H

#include <signal.h>
#include <stdint.h>

#include <linux/virtio_loopback.h>

#define VRING_DESC_F_NEXT	1
#define VRING_DESC_F_WRITE	2
#define VRING_DESC_F_INDIRECT	4

#define VLT_MAX_QUEUES	8
#define VLT_MAX_SEGS	64
/* A serve callback's answer: leave the chain queued and stop serving. */
#define VLT_STALL	UINT32_MAX

struct vlt_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vlt_used_elem {
	uint32_t id;
	uint32_t len;
};

/* One descriptor of a flattened chain. */
struct vlt_seg {
	uint8_t *p;
	uint32_t len;
	int wr;
};

struct vlt_queue {
	int ready;
	uint32_t size;
	struct vlt_desc *desc;
	uint16_t *avail;	/* flags, idx, ring[] */
	uint16_t *used;		/* flags, idx, then elems */
	uint16_t last_avail;
	int kick, call;
};

struct vlt_dev;

/*
 * Serve one chain of queue @qi: @segs holds @ns descriptors (@ns < 0: the
 * chain is malformed). *@id (the head) may be rewritten. Returns the used
 * length, or VLT_STALL to leave this chain and the rest queued.
 */
typedef uint32_t vlt_serve_fn(struct vlt_dev *t, unsigned int qi,
			      uint16_t *id, struct vlt_seg *segs, int ns);

struct vlt_dev {
	int ctrl;
	uint32_t handle;
	uint32_t device_id;
	uint8_t *pool;
	uint64_t pool_size;
	uint64_t dma_base;
	unsigned int nq;
	struct vlt_queue q[VLT_MAX_QUEUES];
	int quiet;		/* no per-event log lines */
	int driver_ok;		/* DRIVER_OK seen since the last RESET */
	unsigned long indirect;	/* indirect tables walked */
	/*
	 * Called for every event after the default handling (DRIVER_OK maps
	 * the queues, RESET unmaps them). Returns the EVENT_DONE status for an
	 * event that needs a reply, or -1 to send none.
	 */
	int (*on_event)(struct vlt_dev *t,
			const struct virtio_loopback_event *e);
	/* Called when queue @qi was kicked (its counter already read). */
	void (*on_kick)(struct vlt_dev *t, unsigned int qi);
	void *priv;
};

/*
 * Device IDs no driver claims, for tests that create devices without
 * serving them (vl-fuzz, vl-churn): a bound driver waits for its device.
 * The module allows them only when its allowed_device_ids parameter lists
 * them (VL_ALLOW_BARE in vl-guest-lib.sh).
 */
#define VLT_BARE_ID		0x4000
#define VLT_BARE_IDS		8

extern volatile sig_atomic_t vlt_stop;

/* Line-buffered stdout; SIGTERM and SIGINT set vlt_stop. */
void vlt_init(void);
/* open(/dev/virtio-loopback); -1 (reported) on failure. */
int vlt_open(void);
/* GET_API_VERSION, printed as "VL api ..."; -1 on failure. */
int vlt_api(int ctrl, struct virtio_loopback_api_info *info);
/*
 * CREATE_DEVICE parameters: device @id, @nq queues of at most @qsize,
 * @pool bytes of pool, @cfg_size bytes of config space at @cfg.
 */
void vlt_params(struct virtio_loopback_create *c, uint32_t id, uint32_t nq,
		uint32_t qsize, uint64_t pool, const void *cfg,
		uint32_t cfg_size);
/*
 * CREATE_DEVICE on @ctrl from @c, then mmap the pool (and close the pool
 * fd), and attach a fresh kick and call eventfd to each of the
 * c->num_queues (<= VLT_MAX_QUEUES) queues. Fills @t (zeroed first but for
 * @quiet, so set the callbacks afterwards). Returns 0, or -1 (reported,
 * nothing left over).
 */
int vlt_create(struct vlt_dev *t, int ctrl,
	       struct virtio_loopback_create *c);
/* DESTROY_DEVICE: 0 or -1 with errno. */
int vlt_destroy(struct vlt_dev *t);
/* Unmap the pool and close the queues' eventfds (the device may live on). */
void vlt_release(struct vlt_dev *t);
/* Close the control fd (which removes its devices), then vlt_release(). */
void vlt_close(struct vlt_dev *t);
/* Pool address of @len bytes at DMA address @addr, or NULL. */
void *vlt_pool_ptr(struct vlt_dev *t, uint64_t addr, uint64_t len);
/* GET_QUEUE_INFO and map queue @qi's rings; 0 when it is ready. */
int vlt_setup_queue(struct vlt_dev *t, unsigned int qi);
/* Flatten the chain at @head (direct or one indirect table); -1 if bad. */
int vlt_walk(struct vlt_dev *t, struct vlt_queue *q, uint16_t head,
	     struct vlt_seg *segs);
/* Take the next available head; 0 on success, -1 when there is none. */
int vlt_pop(struct vlt_queue *q, uint16_t *head);
/* Return @id with @len on the used ring (published at once). */
void vlt_push(struct vlt_queue *q, uint32_t id, uint32_t len);
/* Signal the queue's call eventfd. */
void vlt_call(struct vlt_queue *q);
/* Serve every available chain of queue @qi with @fn; the number served. */
int vlt_serve(struct vlt_dev *t, unsigned int qi, vlt_serve_fn *fn);
/* Read and handle pending events (non-blocking if none). */
void vlt_handle_events(struct vlt_dev *t);
/* EVENT_DONE for @handle/@seq with @status; 0 or -1 with errno. */
int vlt_event_done(int ctrl, uint32_t handle, uint64_t seq, uint32_t status);
/*
 * Wait up to @timeout_ms for the control fd or a kick; handle events and
 * kicks (on_kick). Returns poll()'s result.
 */
int vlt_poll(struct vlt_dev *t, int timeout_ms);
/* vlt_poll() until vlt_stop or @seconds passed; @tick runs every round. */
void vlt_run(struct vlt_dev *t, int seconds, void (*tick)(struct vlt_dev *t));
/**
 * struct vlt_blk - a virtio-blk RAM disk (vl-blk-test, vl-hostile)
 * @disk: @size bytes.
 * @n_in, @n_out, @n_flush, @n_other, @n_bad: requests served by type, and
 *	chains that made no request.
 * @max_bytes: the largest request's data.
 */
struct vlt_blk {
	uint8_t *disk;
	uint64_t size;
	unsigned long n_in, n_out, n_flush, n_other, n_bad;
	unsigned long max_bytes;
};

/* A zeroed disk of @size bytes; -1 without memory. */
int vlt_blk_init(struct vlt_blk *b, uint64_t size);
/*
 * Serve the virtio-blk request in @s (@ns segments, < 0 for a malformed
 * chain): IN, OUT and FLUSH; the status byte is the last writable byte.
 * Returns the used length.
 */
uint32_t vlt_blk_request(struct vlt_blk *b, struct vlt_seg *s, int ns);

/* "EINVAL" and such for an errno value. */
const char *vlt_errname(int err);

#endif /* VL_TEST_LIB_H */
