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
 * time out, the device must be marked broken, and nothing may hang.
 *
 * Usage: vl-input-test TRIGGER_FILE [SECONDS]
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_loopback.h>

#define POOL_SIZE	(1u << 20)
#define NQ		2	/* eventq, statusq */
#define CFG_SIZE	136	/* struct virtio_input_config */

#define VRING_DESC_F_NEXT	1
#define VRING_DESC_F_WRITE	2

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vused_elem {
	uint32_t id;
	uint32_t len;
};

struct vq {
	int ready;
	uint32_t size;
	struct vdesc *desc;
	uint16_t *avail;
	uint16_t *used;
	uint16_t last_avail;
	int kick, call;
};

static volatile sig_atomic_t stop;
static int ctrl;
static uint8_t *pool;
static uint64_t dma_base;
static uint32_t handle;
static struct vq qs[NQ];
static uint8_t cfg[CFG_SIZE];
static unsigned int config_writes;
static int no_config_reply;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void *pool_ptr(uint64_t addr, uint64_t len)
{
	if (addr < dma_base || addr - dma_base > POOL_SIZE ||
	    len > POOL_SIZE - (addr - dma_base))
		return NULL;
	return pool + (addr - dma_base);
}

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

static void push_config(void)
{
	struct virtio_loopback_config c = {
		.handle = handle,
		.offset = 0,
		.size = CFG_SIZE,
		.config_addr = (uintptr_t)cfg,
	};

	if (ioctl(ctrl, VIRTIO_LOOPBACK_IOC_SET_CONFIG, &c) < 0)
		perror("VL SET_CONFIG");
}

static void setup_queue(unsigned int i)
{
	struct virtio_loopback_queue_info qi = { .handle = handle, .queue = i };
	struct vq *q = &qs[i];

	if (ioctl(ctrl, VIRTIO_LOOPBACK_IOC_GET_QUEUE_INFO, &qi) < 0) {
		perror("VL GET_QUEUE_INFO");
		return;
	}
	printf("VL queue%u ready=%u size=%u desc=0x%llx\n", i, qi.ready,
	       qi.size, (unsigned long long)qi.desc_addr);
	if (!(qi.ready & VIRTIO_LOOPBACK_QUEUE_READY))
		return;
	q->size = qi.size;
	q->desc = pool_ptr(qi.desc_addr, 16ull * qi.size);
	q->avail = pool_ptr(qi.avail_addr, 6 + 2ull * qi.size);
	q->used = pool_ptr(qi.used_addr, 6 + 8ull * qi.size);
	q->last_avail = 0;
	q->ready = q->desc && q->avail && q->used;
}

/* Complete one available buffer with @data (device-writable) or consume it. */
static int complete_one(struct vq *q, const void *data, uint32_t len)
{
	uint16_t avail_idx, head, used_idx;
	struct vused_elem *ue;
	struct vdesc *d;
	void *buf;

	if (!q->ready)
		return -1;
	avail_idx = __atomic_load_n(&q->avail[1], __ATOMIC_ACQUIRE);
	if (q->last_avail == avail_idx)
		return -1;
	head = q->avail[2 + q->last_avail % q->size];
	q->last_avail++;
	if (head >= q->size)
		return -1;
	d = &q->desc[head];
	buf = pool_ptr(d->addr, d->len);
	if (data) {
		if (!buf || !(d->flags & VRING_DESC_F_WRITE) || d->len < len)
			len = 0;
		else
			memcpy(buf, data, len);
	} else {
		len = 0;
	}
	used_idx = q->used[1];
	ue = (struct vused_elem *)&q->used[2] + used_idx % q->size;
	ue->id = head;
	ue->len = len;
	__atomic_store_n(&q->used[1], (uint16_t)(used_idx + 1),
			 __ATOMIC_RELEASE);
	return 0;
}

static void signal_call(struct vq *q)
{
	uint64_t one = 1;

	if (write(q->call, &one, sizeof(one)) != sizeof(one))
		perror("VL call write");
}

static void inject_key(void)
{
	/* struct virtio_input_event: le16 type, le16 code, le32 value */
	static const uint16_t ev[4][4] = {
		{ 1, 30, 1, 0 }, { 0, 0, 0, 0 }, { 1, 30, 0, 0 }, { 0, 0, 0, 0 },
	};
	int i, n = 0;

	for (i = 0; i < 4; i++)
		if (!complete_one(&qs[0], ev[i], 8))
			n++;
	signal_call(&qs[0]);
	printf("VL injected %d events\n", n);
}

static void handle_events(void)
{
	struct virtio_loopback_event ev[8];
	ssize_t r;
	int i;

	r = read(ctrl, ev, sizeof(ev));
	for (i = 0; r > 0 && i < (int)(r / sizeof(ev[0])); i++) {
		struct virtio_loopback_event *e = &ev[i];
		unsigned int off, size;

		switch (e->type) {
		case VIRTIO_LOOPBACK_EVENT_CONFIG_WRITE:
			if (no_config_reply) {
				printf("VL ignoring CONFIG_WRITE flags=%u\n",
				       e->flags);
				continue;
			}
			off = e->u.config_write.offset;
			size = e->u.config_write.size;
			if (off < CFG_SIZE && size <= CFG_SIZE - off)
				memcpy(cfg + off, e->u.config_write.data, size);
			if (off < 2)
				answer_config();
			push_config();
			config_writes++;
			break;
		case VIRTIO_LOOPBACK_EVENT_FEATURES_OK:
			printf("VL event FEATURES_OK features=0x%llx\n",
			       (unsigned long long)e->u.features_ok.features);
			break;
		case VIRTIO_LOOPBACK_EVENT_DRIVER_OK:
			printf("VL event DRIVER_OK after %u config writes\n",
			       config_writes);
			setup_queue(0);
			setup_queue(1);
			break;
		case VIRTIO_LOOPBACK_EVENT_RESET:
			printf("VL event RESET\n");
			qs[0].ready = qs[1].ready = 0;
			break;
		default:
			break;
		}
		if (e->flags & VIRTIO_LOOPBACK_EVENT_F_NEED_REPLY) {
			struct virtio_loopback_event_done done = {
				.handle = e->handle, .seq = e->seq,
			};

			if (ioctl(ctrl, VIRTIO_LOOPBACK_IOC_EVENT_DONE, &done) < 0)
				perror("VL EVENT_DONE");
		}
	}
}

int main(int argc, char **argv)
{
	struct virtio_loopback_create c;
	const char *trigger = argc > 1 ? argv[1] : "/tmp/inject";
	int seconds = argc > 2 ? atoi(argv[2]) : 60;
	time_t end = time(NULL) + seconds;
	int injected = 0;
	unsigned int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	no_config_reply = getenv("VL_NO_CONFIG_REPLY") &&
			  atoi(getenv("VL_NO_CONFIG_REPLY"));
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	ctrl = open("/dev/" VIRTIO_LOOPBACK_DEV_NAME, O_RDWR | O_CLOEXEC);
	if (ctrl < 0) {
		perror("VL open");
		return 1;
	}
	memset(&c, 0, sizeof(c));
	c.device_id = 18;		/* VIRTIO_ID_INPUT */
	c.num_queues = NQ;
	c.max_queue_size = 64;
	c.pool_size = POOL_SIZE;
	c.config_size = CFG_SIZE;
	c.config_addr = (uintptr_t)cfg;
	if (ioctl(ctrl, VIRTIO_LOOPBACK_IOC_CREATE_DEVICE, &c) < 0) {
		perror("VL CREATE_DEVICE");
		return 1;
	}
	handle = c.handle;
	dma_base = c.pool_dma_base;
	pool = mmap(NULL, POOL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		    c.pool_fd, 0);
	if (pool == MAP_FAILED) {
		perror("VL mmap");
		return 1;
	}
	close(c.pool_fd);
	for (i = 0; i < NQ; i++) {
		struct virtio_loopback_queue_fds qf = {
			.handle = handle, .queue = i,
		};

		qs[i].kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		qs[i].call = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		qf.kick_fd = qs[i].kick;
		qf.call_fd = qs[i].call;
		if (ioctl(ctrl, VIRTIO_LOOPBACK_IOC_SET_QUEUE_FDS, &qf) < 0) {
			perror("VL SET_QUEUE_FDS");
			return 1;
		}
	}
	printf("VL created input device handle=%u\n", handle);

	while (!stop && time(NULL) < end) {
		struct pollfd p[3] = {
			{ .fd = ctrl, .events = POLLIN },
			{ .fd = qs[0].kick, .events = POLLIN },
			{ .fd = qs[1].kick, .events = POLLIN },
		};
		uint64_t cnt;

		if (poll(p, 3, 100) < 0)
			continue;
		if (p[0].revents & POLLIN)
			handle_events();
		if (p[1].revents & POLLIN && read(qs[0].kick, &cnt, 8) < 0)
			cnt = 0;
		if (p[2].revents & POLLIN) {
			/* statusq (LEDs): consume and return the buffers. */
			if (read(qs[1].kick, &cnt, 8) < 0)
				cnt = 0;
			while (!complete_one(&qs[1], NULL, 0))
				;
			signal_call(&qs[1]);
		}
		if (!injected && qs[0].ready && access(trigger, F_OK) == 0) {
			inject_key();
			injected = 1;
		}
	}
	printf("VL config writes answered=%u\n", config_writes);
	close(ctrl);
	printf("VL closed control fd\n");
	munmap(pool, POOL_SIZE);
	return 0;
}
