// SPDX-License-Identifier: GPL-2.0-only
/*
 * vl-rng-test: a minimal virtio-rng device served straight from
 * /dev/virtio-loopback, for smoke-testing the module without the adapter.
 *
 * It creates an rng device (ID 4, one queue), answers RESET/CONFIG_WRITE
 * events, and on every kick fills each device-writable buffer with FILL_BYTE
 * and returns it on the used ring, then signals the call eventfd. It exits on
 * SIGTERM/SIGINT or after the given number of seconds, closing the control fd
 * (which removes the device). Output lines start with "VL ".
 *
 * With VL_BAD_USED=1 in the environment it plays a broken back end: after
 * two good requests it returns an out-of-range id on the used ring, which
 * must only break the virtqueue.
 *
 * Usage: vl-rng-test [SECONDS]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vl-test-lib.h"

#define FILL_BYTE	0xa5
#define POOL_SIZE	(1u << 20)
#define QUEUE_SIZE	1024

static int bad_used;
static unsigned long served, bytes;

static const char *expect_einval(int ctrl, unsigned long cmd, void *arg)
{
	return ioctl(ctrl, cmd, arg) < 0 && errno == EINVAL ?
	       "EINVAL" : "UNEXPECTED";
}

static void check_negative(int ctrl)
{
	struct virtio_loopback_create c;

	memset(&c, 0, sizeof(c));
	c.device_id = 4;
	c.num_queues = 1;
	c.max_queue_size = 1000;	/* not a power of two */
	c.pool_size = POOL_SIZE;
	printf("VL neg queue_size_1000 %s\n",
	       expect_einval(ctrl, VIRTIO_LOOPBACK_IOC_CREATE_DEVICE, &c));
	c.max_queue_size = 256;
	c.reserved_in[1] = 1;
	printf("VL neg reserved %s\n",
	       expect_einval(ctrl, VIRTIO_LOOPBACK_IOC_CREATE_DEVICE, &c));
	c.reserved_in[1] = 0;
	c.pool_size = 12345;
	printf("VL neg pool_size %s\n",
	       expect_einval(ctrl, VIRTIO_LOOPBACK_IOC_CREATE_DEVICE, &c));
}

/* Fill every device-writable buffer of the chain with FILL_BYTE. */
static uint32_t rng_serve(struct vlt_dev *t, unsigned int qi, uint16_t *id,
			  struct vlt_seg *segs, int ns)
{
	uint32_t total = 0;
	int i;

	for (i = 0; i < ns; i++) {
		if (!segs[i].wr)
			continue;
		memset(segs[i].p, FILL_BYTE, segs[i].len);
		total += segs[i].len;
	}
	if (bad_used && served >= 2) {
		*id = t->q[qi].size + 7;	/* no such descriptor */
		printf("VL wrote bad used id %u\n", *id);
	}
	served++;
	bytes += total;
	return total;
}

static void rng_kick(struct vlt_dev *t, unsigned int qi)
{
	vlt_serve(t, qi, rng_serve);
}

int main(int argc, char **argv)
{
	struct virtio_loopback_api_info info;
	struct virtio_loopback_create c;
	struct virtio_loopback_queue_fds qf;
	int seconds = argc > 1 ? atoi(argv[1]) : 60;
	struct vlt_dev t = { .quiet = 0 };
	int ctrl;

	vlt_init();
	bad_used = getenv("VL_BAD_USED") && atoi(getenv("VL_BAD_USED"));
	ctrl = vlt_open();
	if (ctrl < 0 || vlt_api(ctrl, &info) < 0)
		return 1;
	check_negative(ctrl);

	vlt_params(&c, 4, 1, QUEUE_SIZE, POOL_SIZE, NULL, 0);	/* RNG */
	c.vendor_id = 0x4c4f4f50;
	if (vlt_create(&t, ctrl, &c) < 0)
		return 1;
	t.on_kick = rng_kick;

	memset(&qf, 0, sizeof(qf));
	qf.handle = t.handle;
	qf.kick_fd = t.q[0].kick;
	qf.call_fd = t.q[0].kick;
	printf("VL neg same_kick_call %s\n",
	       expect_einval(ctrl, VIRTIO_LOOPBACK_IOC_SET_QUEUE_FDS, &qf));
	qf.queue = 1;
	qf.call_fd = t.q[0].call;
	printf("VL neg queue_out_of_range %s\n",
	       expect_einval(ctrl, VIRTIO_LOOPBACK_IOC_SET_QUEUE_FDS, &qf));
	printf("VL queue fds set\n");

	vlt_run(&t, seconds, NULL);
	printf("VL served requests=%lu bytes=%lu\n", served, bytes);
	if (!bad_used) {
		/* Normal runs remove explicitly; the bad-used run by close(). */
		int r1, r2, e2;

		r1 = vlt_destroy(&t);
		r2 = vlt_destroy(&t);
		e2 = errno;
		printf("VL destroy=%d again=%d (%s)\n", r1, r2,
		       r2 < 0 && e2 == ENOENT ? "ENOENT" : "UNEXPECTED");
	}
	vlt_close(&t);
	return 0;
}
