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
 */
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

#define POOL_SIZE	(256u << 10)	/* small on purpose: back-pressure */
#define QUEUE_SIZE	128
#define DISK_SIZE	(8u << 20)
#define MAX_SEGS	64

#define VRING_DESC_F_NEXT	1
#define VRING_DESC_F_WRITE	2
#define VRING_DESC_F_INDIRECT	4

#define VIRTIO_BLK_F_FLUSH		9
#define VIRTIO_RING_F_INDIRECT_DESC	28

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct seg {
	uint8_t *p;
	uint32_t len;
	int wr;
};

static volatile sig_atomic_t stop;
static int ctrl, kick_fd, call_fd;
static uint8_t *pool, *disk;
static uint64_t dma_base;
static uint32_t handle;
static unsigned long n_in, n_out, n_flush, n_other, n_indirect, n_bad;
static unsigned long max_inflight_bytes;
static unsigned long stall_after, n_served;
static int stalled;

static struct {
	int ready;
	uint32_t size;
	struct vdesc *desc;
	uint16_t *avail;
	uint16_t *used;
	uint16_t last_avail;
} q;

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

/* Flatten a chain (direct or one level of indirect) into segs. */
static int walk(uint16_t head, struct seg *segs)
{
	struct vdesc *table = q.desc;
	uint32_t n = q.size, i = head, hops = 0;
	int ns = 0;

	for (;;) {
		struct vdesc *d;

		if (i >= n || hops++ >= n || ns >= MAX_SEGS)
			return -1;
		d = &table[i];
		if (d->flags & VRING_DESC_F_INDIRECT) {
			if (table != q.desc || d->len % 16)
				return -1;
			table = pool_ptr(d->addr, d->len);
			if (!table)
				return -1;
			n = d->len / 16;
			i = 0;
			hops = 0;
			n_indirect++;
			continue;
		}
		segs[ns].p = pool_ptr(d->addr, d->len);
		if (!segs[ns].p)
			return -1;
		segs[ns].len = d->len;
		segs[ns].wr = !!(d->flags & VRING_DESC_F_WRITE);
		ns++;
		if (!(d->flags & VRING_DESC_F_NEXT))
			return ns;
		i = d->next;
	}
}

/* Serve one request; returns the used length. */
static uint32_t serve(struct seg *s, int ns)
{
	uint32_t type, len = 0, done = 0;
	uint64_t sector, off;
	uint8_t *status;
	int i;

	if (ns < 2 || s[0].wr || s[0].len < 16 || !s[ns - 1].wr) {
		n_bad++;
		return 0;
	}
	memcpy(&type, s[0].p, 4);
	memcpy(&sector, s[0].p + 8, 8);
	status = s[ns - 1].p + s[ns - 1].len - 1;
	s[ns - 1].len--;	/* the status byte is not data */
	for (i = 1; i < ns; i++)
		len += s[i].len;
	if (len > max_inflight_bytes)
		max_inflight_bytes = len;
	off = sector * 512;
	*status = 0;
	switch (type) {
	case 0:	/* IN */
	case 1:	/* OUT */
		if (off > DISK_SIZE || len > DISK_SIZE - off) {
			*status = 1;	/* IOERR */
			return 1;
		}
		for (i = 1; i < ns; i++) {
			if (!s[i].len)
				continue;	/* the status-only descriptor */
			if (s[i].wr != (type == 0)) {
				*status = 1;
				return 1;
			}
			if (type == 0)
				memcpy(s[i].p, disk + off, s[i].len);
			else
				memcpy(disk + off, s[i].p, s[i].len);
			off += s[i].len;
		}
		if (type == 0) {
			n_in++;
			done = len;
		} else {
			n_out++;
		}
		return done + 1;
	case 4:	/* FLUSH */
		n_flush++;
		return 1;
	default:
		n_other++;
		*status = 2;	/* UNSUPP */
		return 1;
	}
}

static void serve_queue(void)
{
	struct seg segs[MAX_SEGS];
	uint16_t avail_idx, used_idx;
	int n = 0;

	if (!q.ready || stalled)
		return;
	avail_idx = __atomic_load_n(&q.avail[1], __ATOMIC_ACQUIRE);
	used_idx = q.used[1];
	while (q.last_avail != avail_idx) {
		uint16_t head = q.avail[2 + q.last_avail % q.size];
		uint32_t *ue = (uint32_t *)&q.used[2] + 2 * (used_idx % q.size);
		int ns;

		if (stall_after && n_served >= stall_after) {
			stalled = 1;
			printf("VL stalled after %lu requests, %u left queued\n",
			       n_served, (uint16_t)(avail_idx - q.last_avail));
			break;
		}
		n_served++;
		ns = walk(head, segs);
		ue[0] = head;
		ue[1] = ns > 0 ? serve(segs, ns) : (n_bad++, 0);
		used_idx++;
		q.last_avail++;
		n++;
	}
	if (n) {
		uint64_t one = 1;

		__atomic_store_n(&q.used[1], used_idx, __ATOMIC_RELEASE);
		if (write(call_fd, &one, sizeof(one)) != sizeof(one))
			perror("VL call write");
	}
}

static void setup_queue(void)
{
	struct virtio_loopback_queue_info qi = { .handle = handle };

	if (ioctl(ctrl, VIRTIO_LOOPBACK_IOC_GET_QUEUE_INFO, &qi) < 0 ||
	    !(qi.ready & VIRTIO_LOOPBACK_QUEUE_READY))
		return;
	q.size = qi.size;
	q.desc = pool_ptr(qi.desc_addr, 16ull * qi.size);
	q.avail = pool_ptr(qi.avail_addr, 6 + 2ull * qi.size);
	q.used = pool_ptr(qi.used_addr, 6 + 8ull * qi.size);
	q.last_avail = 0;
	q.ready = q.desc && q.avail && q.used;
	printf("VL queue0 ready=%d size=%u\n", q.ready, q.size);
	serve_queue();
}

static void handle_events(void)
{
	struct virtio_loopback_event ev[8];
	ssize_t r = read(ctrl, ev, sizeof(ev));
	int i;

	for (i = 0; r > 0 && i < (int)(r / sizeof(ev[0])); i++) {
		if (ev[i].type == VIRTIO_LOOPBACK_EVENT_FEATURES_OK)
			printf("VL event FEATURES_OK features=0x%llx\n",
			       (unsigned long long)ev[i].u.features_ok.features);
		if (ev[i].type == VIRTIO_LOOPBACK_EVENT_DRIVER_OK)
			setup_queue();
		if (ev[i].type == VIRTIO_LOOPBACK_EVENT_RESET)
			q.ready = 0;
		if (ev[i].flags & VIRTIO_LOOPBACK_EVENT_F_NEED_REPLY) {
			struct virtio_loopback_event_done done = {
				.handle = ev[i].handle, .seq = ev[i].seq,
			};

			ioctl(ctrl, VIRTIO_LOOPBACK_IOC_EVENT_DONE, &done);
		}
	}
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 60;
	time_t end = time(NULL) + seconds;
	struct virtio_loopback_create c;
	struct virtio_loopback_queue_fds qf;
	uint64_t cfg[8] = { DISK_SIZE / 512 };	/* capacity in sectors */

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 2)
		stall_after = strtoul(argv[2], NULL, 0);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	disk = calloc(1, DISK_SIZE);
	ctrl = open("/dev/" VIRTIO_LOOPBACK_DEV_NAME, O_RDWR | O_CLOEXEC);
	if (!disk || ctrl < 0) {
		perror("VL open");
		return 1;
	}
	memset(&c, 0, sizeof(c));
	c.device_id = 2;	/* VIRTIO_ID_BLOCK */
	c.device_features = (1ull << VIRTIO_BLK_F_FLUSH) |
			    (1ull << VIRTIO_RING_F_INDIRECT_DESC);
	c.num_queues = 1;
	c.max_queue_size = QUEUE_SIZE;
	c.pool_size = POOL_SIZE;
	c.config_size = sizeof(cfg);
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
	kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	memset(&qf, 0, sizeof(qf));
	qf.handle = handle;
	qf.kick_fd = kick_fd;
	qf.call_fd = call_fd;
	if (ioctl(ctrl, VIRTIO_LOOPBACK_IOC_SET_QUEUE_FDS, &qf) < 0) {
		perror("VL SET_QUEUE_FDS");
		return 1;
	}
	printf("VL created blk device handle=%u pool=%u\n", handle, POOL_SIZE);
	while (!stop && time(NULL) < end) {
		struct pollfd p[2] = {
			{ .fd = ctrl, .events = POLLIN },
			{ .fd = kick_fd, .events = POLLIN },
		};
		uint64_t cnt;

		if (poll(p, 2, 200) < 0)
			continue;
		if (p[0].revents & POLLIN)
			handle_events();
		if (p[1].revents & POLLIN) {
			if (read(kick_fd, &cnt, sizeof(cnt)) < 0)
				cnt = 0;
			serve_queue();
		}
	}
	printf("VL served in=%lu out=%lu flush=%lu other=%lu indirect=%lu bad=%lu largest=%lu\n",
	       n_in, n_out, n_flush, n_other, n_indirect, n_bad,
	       max_inflight_bytes);
	close(ctrl);
	printf("VL closed control fd\n");
	return 0;
}
