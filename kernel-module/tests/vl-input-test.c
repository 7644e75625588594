// SPDX-License-Identifier: GPL-2.0-only
/*
 * vl-input-test: a minimal virtio-input keyboard served straight from
 * /dev/virtio-loopback. It proves the synchronous config-write path: the
 * virtio_input driver probes by writing select/subsel and reading the answer,
 * so every CONFIG_WRITE event is answered with SET_CONFIG + EVENT_DONE before
 * the driver's next read. When the file given as argument appears it injects
 * KEY_A press, SYN, KEY_A release, SYN on the event queue.
 *
 * With VL_NO_CONFIG_REPLY=1 in the environment it never answers
 * CONFIG_WRITE (it still answers RESET): the driver's first config write must
 * time out, later ones must not wait, and nothing may hang.
 *
 * With VL_DEAF=SECONDS it reads no event for that long after creating the
 * device (the guest rebinds the driver meanwhile, so the event queue
 * overflows with config writes), then prints every lifecycle event it reads
 * ("VL lifecycle TYPE seq N"): none may have been dropped.
 *
 * Usage: vl-input-test TRIGGER_FILE [SECONDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vl-test-lib.h"

#define POOL_SIZE	(1u << 20)
#define NQ		2	/* eventq, statusq */
#define CFG_SIZE	136	/* struct virtio_input_config */

static uint8_t cfg[CFG_SIZE];
static unsigned int config_writes;
static int no_config_reply, injected;
static const char *trigger;

/* Fill cfg[2..] (size, payload) for the current select/subsel. */
static void answer_config(void)
{
	uint8_t sel = cfg[0], sub = cfg[1];
	uint8_t *u = cfg + 8;

	memset(cfg + 2, 0, CFG_SIZE - 2);
	switch (sel) {
	case 0x01:	/* ID_NAME */
		strcpy((char *)u, "vl-test-input");
		cfg[2] = strlen((char *)u);
		break;
	case 0x02:	/* ID_SERIAL */
		strcpy((char *)u, "vl0001");
		cfg[2] = strlen((char *)u);
		break;
	case 0x03:	/* ID_DEVIDS: bustype, vendor, product, version */
		u[0] = 0x06;	/* BUS_VIRTUAL */
		u[2] = 0x01;
		u[4] = 0x02;
		u[6] = 0x01;
		cfg[2] = 8;
		break;
	case 0x11:	/* EV_BITS */
		if (sub == 0x01) {	/* EV_KEY: KEY_A (30) */
			u[30 / 8] = 1 << (30 % 8);
			cfg[2] = 4;
		}
		break;
	default:
		break;
	}
}

static void push_config(struct vlt_dev *t)
{
	struct virtio_loopback_config c = {
		.handle = t->handle,
		.offset = 0,
		.size = CFG_SIZE,
		.config_addr = (uintptr_t)cfg,
	};

	if (ioctl(t->ctrl, VIRTIO_LOOPBACK_IOC_SET_CONFIG, &c) < 0)
		perror("VL SET_CONFIG");
}

/* Complete one available buffer with @data (device-writable) or consume it. */
static int complete_one(struct vlt_dev *t, struct vlt_queue *q,
			const void *data, uint32_t len)
{
	struct vlt_desc *d;
	uint16_t head;
	void *buf;

	if (vlt_pop(q, &head) < 0 || head >= q->size)
		return -1;
	d = &q->desc[head];
	buf = vlt_pool_ptr(t, d->addr, d->len);
	if (!data || !buf || !(d->flags & VRING_DESC_F_WRITE) || d->len < len)
		len = 0;
	else
		memcpy(buf, data, len);
	vlt_push(q, head, len);
	return 0;
}

static void inject_key(struct vlt_dev *t)
{
	/* struct virtio_input_event: le16 type, le16 code, le32 value */
	static const uint16_t ev[4][4] = {
		{ 1, 30, 1, 0 }, { 0, 0, 0, 0 }, { 1, 30, 0, 0 }, { 0, 0, 0, 0 },
	};
	int i, n = 0;

	for (i = 0; i < 4; i++)
		if (!complete_one(t, &t->q[0], ev[i], 8))
			n++;
	vlt_call(&t->q[0]);
	printf("VL injected %d events\n", n);
}

static int input_event(struct vlt_dev *t,
		       const struct virtio_loopback_event *e)
{
	unsigned int off, size;

	if (e->type == VIRTIO_LOOPBACK_EVENT_DRIVER_OK)
		printf("VL DRIVER_OK after %u config writes\n", config_writes);
	if (e->type == VIRTIO_LOOPBACK_EVENT_RESET ||
	    e->type == VIRTIO_LOOPBACK_EVENT_FEATURES_OK ||
	    e->type == VIRTIO_LOOPBACK_EVENT_DRIVER_OK)
		printf("VL lifecycle %u seq %llu\n", e->type,
		       (unsigned long long)e->seq);
	if (e->type != VIRTIO_LOOPBACK_EVENT_CONFIG_WRITE)
		return 0;
	if (no_config_reply) {
		printf("VL ignoring CONFIG_WRITE flags=%u\n", e->flags);
		return -1;
	}
	off = e->u.config_write.offset;
	size = e->u.config_write.size;
	if (off < CFG_SIZE && size <= CFG_SIZE - off)
		memcpy(cfg + off, e->u.config_write.data, size);
	if (off < 2)
		answer_config();
	push_config(t);
	config_writes++;
	return 0;
}

static void input_kick(struct vlt_dev *t, unsigned int qi)
{
	if (qi != 1)
		return;
	/* statusq (LEDs): consume and return the buffers. */
	while (!complete_one(t, &t->q[1], NULL, 0))
		;
	vlt_call(&t->q[1]);
}

static void input_tick(struct vlt_dev *t)
{
	if (!injected && t->q[0].ready && access(trigger, F_OK) == 0) {
		inject_key(t);
		injected = 1;
	}
}

int main(int argc, char **argv)
{
	struct virtio_loopback_create c;
	int seconds = argc > 2 ? atoi(argv[2]) : 60;
	struct vlt_dev t = { .quiet = 1 };
	int ctrl;

	trigger = argc > 1 ? argv[1] : "/tmp/inject";
	vlt_init();
	no_config_reply = getenv("VL_NO_CONFIG_REPLY") &&
			  atoi(getenv("VL_NO_CONFIG_REPLY"));
	ctrl = vlt_open();
	if (ctrl < 0)
		return 1;
	/* VIRTIO_ID_INPUT */
	vlt_params(&c, 18, NQ, 64, POOL_SIZE, cfg, CFG_SIZE);
	if (vlt_create(&t, ctrl, &c) < 0)
		return 1;
	t.on_event = input_event;
	t.on_kick = input_kick;
	printf("VL created input device handle=%u\n", t.handle);
	if (getenv("VL_DEAF")) {
		sleep(atoi(getenv("VL_DEAF")));
		printf("VL deaf period over\n");
	}
	vlt_run(&t, seconds, input_tick);
	printf("VL config writes answered=%u\n", config_writes);
	vlt_close(&t);
	return 0;
}
