// SPDX-License-Identifier: GPL-2.0-only
/*
 * vl-blk-test: a minimal virtio-blk device (an 8 MiB RAM disk) served
 * straight from /dev/virtio-loopback. It offers VIRTIO_BLK_F_FLUSH and
 * VIRTIO_RING_F_INDIRECT_DESC and a deliberately small pool, so large writes
 * exercise bounce buffering, indirect tables and pool back-pressure.
 *
 * Usage: vl-blk-test [SECONDS [STALL_AFTER]]
 *
 * With STALL_AFTER, it serves that many requests and then stops serving
 * (a dead back end): later requests stay in flight until SIGTERM closes the
 * control fd, which must fail them (EIO) and remove the disk.
 *
 * SIGUSR1 makes it give up on the device (VIRTIO_LOOPBACK_IOC_FAIL_DEVICE):
 * queued requests must fail with EIO at once, later ones too, while the disk
 * stays. With VL_FAIL_AT=driver_ok it does so as its answer to DRIVER_OK;
 * with VL_FAIL_AT=reset while answering the first RESET (before DRIVER_OK).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vl-test-lib.h"

#define POOL_SIZE	(256u << 10)	/* small on purpose: back-pressure */
#define QUEUE_SIZE	128
#define DISK_SIZE	(8u << 20)

#define VIRTIO_BLK_F_FLUSH		9
#define VIRTIO_RING_F_INDIRECT_DESC	28

static struct vlt_blk blk;
static unsigned long stall_after, n_served;
static int stalled;
static volatile sig_atomic_t fail_now;
static unsigned int fail_at;	/* an event type */
static int failed_once;

static uint32_t blk_serve(struct vlt_dev *t, unsigned int qi, uint16_t *id,
			  struct vlt_seg *segs, int ns)
{
	struct vlt_queue *q = &t->q[qi];

	(void)id;
	if (stalled)
		return VLT_STALL;
	if (stall_after && n_served >= stall_after) {
		stalled = 1;
		printf("VL stalled after %lu requests, %u left queued\n",
		       n_served,
		       (uint16_t)(__atomic_load_n(&q->avail[1], __ATOMIC_ACQUIRE) -
				  q->last_avail));
		return VLT_STALL;
	}
	n_served++;
	return vlt_blk_request(&blk, segs, ns);
}

static void blk_kick(struct vlt_dev *t, unsigned int qi)
{
	vlt_serve(t, qi, blk_serve);
}

/* FAIL_DEVICE: this back end cannot run the device. */
static void fail_device(struct vlt_dev *t, const char *why)
{
	struct virtio_loopback_fail f = { .handle = t->handle, .status = 5 };
	int r = ioctl(t->ctrl, VIRTIO_LOOPBACK_IOC_FAIL_DEVICE, &f);

	printf("VL FAIL_DEVICE (%s) = %d %s\n", why, r,
	       vlt_errname(r < 0 ? errno : 0));
	stalled = 1;
}

static int blk_event(struct vlt_dev *t, const struct virtio_loopback_event *e)
{
	if (e->type == VIRTIO_LOOPBACK_EVENT_DRIVER_OK)
		printf("VL DRIVER_OK\n");
	/* Failed while answering RESET: the next bring-up fails. */
	if (e->type == fail_at && !failed_once) {
		failed_once = 1;
		fail_device(t, e->type == VIRTIO_LOOPBACK_EVENT_DRIVER_OK ?
			    "at DRIVER_OK" : "at RESET");
	}
	return 0;
}

static void blk_tick(struct vlt_dev *t)
{
	if (fail_now) {
		fail_now = 0;
		fail_device(t, "SIGUSR1");
	}
}

static void on_usr1(int sig)
{
	(void)sig;
	fail_now = 1;
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 60;
	struct virtio_loopback_create c;
	uint64_t cfg[8] = { DISK_SIZE / 512 };	/* capacity in sectors */
	struct vlt_dev t = { .quiet = 1 };
	int ctrl;

	vlt_init();
	signal(SIGUSR1, on_usr1);
	if (argc > 2)
		stall_after = strtoul(argv[2], NULL, 0);
	if (getenv("VL_FAIL_AT") && !strcmp(getenv("VL_FAIL_AT"), "driver_ok"))
		fail_at = VIRTIO_LOOPBACK_EVENT_DRIVER_OK;
	if (getenv("VL_FAIL_AT") && !strcmp(getenv("VL_FAIL_AT"), "reset"))
		fail_at = VIRTIO_LOOPBACK_EVENT_RESET;
	ctrl = vlt_open();
	if (vlt_blk_init(&blk, DISK_SIZE) < 0 || ctrl < 0)
		return 1;
	/* VIRTIO_ID_BLOCK */
	vlt_params(&c, 2, 1, QUEUE_SIZE, POOL_SIZE, cfg, sizeof(cfg));
	c.device_features = (1ull << VIRTIO_BLK_F_FLUSH) |
			    (1ull << VIRTIO_RING_F_INDIRECT_DESC);
	if (vlt_create(&t, ctrl, &c) < 0)
		return 1;
	t.on_kick = blk_kick;
	t.on_event = blk_event;
	printf("VL created blk device handle=%u pool=%u\n", t.handle, POOL_SIZE);
	vlt_run(&t, seconds, blk_tick);
	printf("VL served in=%lu out=%lu flush=%lu other=%lu indirect=%lu bad=%lu largest=%lu\n",
	       blk.n_in, blk.n_out, blk.n_flush, blk.n_other, t.indirect,
	       blk.n_bad, blk.max_bytes);
	vlt_close(&t);
	return 0;
}
