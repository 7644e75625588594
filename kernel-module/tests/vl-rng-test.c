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

#define FILL_BYTE	0xa5
#define POOL_SIZE	(1u << 20)
#define QUEUE_SIZE	1024

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

static volatile sig_atomic_t stop;
static int bad_used;
static int ctrl, kick_fd, call_fd;
static uint8_t *pool;
static uint64_t dma_base;
static uint32_t handle;

static struct {
	int ready;
	uint32_t size;
	struct vdesc *desc;
	uint16_t *avail;	/* flags, idx, ring[] */
	uint16_t *used;		/* flags, idx, then elems */
	uint16_t last_avail;
	unsigned long served, bytes;
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

static void check_negative(void)
{
	struct virtio_loopback_create c;

	memset(&c, 0, sizeof(c));
	c.device_id = 4;
	c.num_queues = 1;
	c.max_queue_size = 1000;	/* not a power of two */
	c.pool_size = POOL_SIZE;
	printf("VL neg queue_size_1000 %s\n",
	       ioctl(ctrl, VIRTIO_LOOPBACK_IOC_CREATE_DEVICE, &c) < 0 &&
	       errno == EINVAL ? "EINVAL" : "UNEXPECTED");
	c.max_queue_size = 256;
	c.reserved_in[1] = 1;
	printf("VL neg reserved %s\n",
	       ioctl(ctrl, VIRTIO_LOOPBACK_IOC_CREATE_DEVICE, &c) < 0 &&
	       errno == EINVAL ? "EINVAL" : "UNEXPECTED");
	c.reserved_in[1] = 0;
	c.pool_size = 12345;
	printf("VL neg pool_size %s\n",
	       ioctl(ctrl, VIRTIO_LOOPBACK_IOC_CREATE_DEVICE, &c) < 0 &&
	       errno == EINVAL ? "EINVAL" : "UNEXPECTED");
}

static void serve_queue(void);

static void setup_queue(void)
{
	struct virtio_loopback_queue_info qi;

	memset(&qi, 0, sizeof(qi));
	qi.handle = handle;
	qi.queue = 0;
	if (ioctl(ctrl, VIRTIO_LOOPBACK_IOC_GET_QUEUE_INFO, &qi) < 0) {
		perror("VL GET_QUEUE_INFO");
		return;
	}
	printf("VL queue0 ready=%u size=%u desc=0x%llx avail=0x%llx used=0x%llx\n",
	       qi.ready, qi.size, (unsigned long long)qi.desc_addr,
	       (unsigned long long)qi.avail_addr,
	       (unsigned long long)qi.used_addr);
	if (!(qi.ready & VIRTIO_LOOPBACK_QUEUE_READY))
		return;
	q.size = qi.size;
	q.desc = pool_ptr(qi.desc_addr, 16ull * qi.size);
	q.avail = pool_ptr(qi.avail_addr, 6 + 2ull * qi.size);
	q.used = pool_ptr(qi.used_addr, 6 + 8ull * qi.size);
	q.last_avail = 0;
	q.ready = q.desc && q.avail && q.used;
	printf("VL queue0 %s\n", q.ready ? "mapped" : "OUTSIDE POOL");
	serve_queue();	/* kicks read before DRIVER_OK */
}

static void serve_queue(void)
{
	uint16_t avail_idx, used_idx;
	int n = 0;

	if (!q.ready)
		return;
	avail_idx = __atomic_load_n(&q.avail[1], __ATOMIC_ACQUIRE);
	used_idx = q.used[1];
	while (q.last_avail != avail_idx) {
		uint16_t head = q.avail[2 + q.last_avail % q.size];
		uint16_t i = head;
		uint32_t total = 0, hops = 0;
		struct vused_elem *ue;

		for (;;) {
			struct vdesc *d;
			uint8_t *buf;

			if (i >= q.size || hops++ >= q.size)
				break;
			d = &q.desc[i];
			buf = pool_ptr(d->addr, d->len);
			if (buf && (d->flags & VRING_DESC_F_WRITE)) {
				memset(buf, FILL_BYTE, d->len);
				total += d->len;
			}
			if (!(d->flags & VRING_DESC_F_NEXT))
				break;
			i = d->next;
		}
		ue = (struct vused_elem *)&q.used[2] + used_idx % q.size;
		ue->id = head;
		ue->len = total;
		if (bad_used && q.served >= 2) {
			ue->id = q.size + 7;	/* no such descriptor */
			printf("VL wrote bad used id %u\n", ue->id);
		}
		used_idx++;
		q.last_avail++;
		q.served++;
		q.bytes += total;
		n++;
	}
	if (n) {
		uint64_t one = 1;

		__atomic_store_n(&q.used[1], used_idx, __ATOMIC_RELEASE);
		if (write(call_fd, &one, sizeof(one)) != sizeof(one))
			perror("VL call write");
	}
}

static void handle_events(void)
{
	struct virtio_loopback_event ev[8];
	ssize_t r;
	int i;

	r = read(ctrl, ev, sizeof(ev));
	if (r < 0)
		return;
	for (i = 0; i < (int)(r / sizeof(ev[0])); i++) {
		struct virtio_loopback_event *e = &ev[i];

		switch (e->type) {
		case VIRTIO_LOOPBACK_EVENT_FEATURES_OK:
			printf("VL event FEATURES_OK seq=%llu features=0x%llx\n",
			       (unsigned long long)e->seq,
			       (unsigned long long)e->u.features_ok.features);
			break;
		case VIRTIO_LOOPBACK_EVENT_DRIVER_OK:
			printf("VL event DRIVER_OK seq=%llu num_queues=%u\n",
			       (unsigned long long)e->seq,
			       e->u.driver_ok.num_queues);
			setup_queue();
			break;
		case VIRTIO_LOOPBACK_EVENT_RESET:
			printf("VL event RESET seq=%llu flags=%u\n",
			       (unsigned long long)e->seq, e->flags);
			q.ready = 0;
			break;
		case VIRTIO_LOOPBACK_EVENT_CONFIG_WRITE:
			printf("VL event CONFIG_WRITE seq=%llu off=%u size=%u\n",
			       (unsigned long long)e->seq,
			       e->u.config_write.offset,
			       e->u.config_write.size);
			break;
		default:
			printf("VL event type=%u\n", e->type);
		}
		if (e->flags & VIRTIO_LOOPBACK_EVENT_F_NEED_REPLY) {
			struct virtio_loopback_event_done done = {
				.handle = e->handle, .seq = e->seq,
			};

			if (ioctl(ctrl, VIRTIO_LOOPBACK_IOC_EVENT_DONE, &done) < 0)
				perror("VL EVENT_DONE");
		}
	}
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct virtio_loopback_api_info info;
	struct virtio_loopback_create c;
	struct virtio_loopback_queue_fds qf;
	int seconds = argc > 1 ? atoi(argv[1]) : 60;
	time_t end = time(NULL) + seconds;

	setvbuf(stdout, NULL, _IOLBF, 0);
	bad_used = getenv("VL_BAD_USED") && atoi(getenv("VL_BAD_USED"));
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	ctrl = open("/dev/" VIRTIO_LOOPBACK_DEV_NAME, O_RDWR | O_CLOEXEC);
	if (ctrl < 0) {
		perror("VL open");
		return 1;
	}
	if (ioctl(ctrl, VIRTIO_LOOPBACK_IOC_GET_API_VERSION, &info) < 0) {
		perror("VL GET_API_VERSION");
		return 1;
	}
	printf("VL api version=%u max_queues=%u max_queue_size=%u max_config=%u event_size=%u max_pool=%llu\n",
	       info.api_version, info.max_queues, info.max_queue_size,
	       info.max_config_size, info.event_size,
	       (unsigned long long)info.max_pool_size);
	check_negative();

	memset(&c, 0, sizeof(c));
	c.device_id = 4;		/* VIRTIO_ID_RNG */
	c.vendor_id = 0x4c4f4f50;
	c.num_queues = 1;
	c.max_queue_size = QUEUE_SIZE;
	c.pool_size = POOL_SIZE;
	if (ioctl(ctrl, VIRTIO_LOOPBACK_IOC_CREATE_DEVICE, &c) < 0) {
		perror("VL CREATE_DEVICE");
		return 1;
	}
	handle = c.handle;
	dma_base = c.pool_dma_base;
	printf("VL created handle=%u pool_fd=%d pool_dma_base=0x%llx cloexec=%d\n",
	       c.handle, c.pool_fd, (unsigned long long)c.pool_dma_base,
	       !!(fcntl(c.pool_fd, F_GETFD) & FD_CLOEXEC));
	pool = mmap(NULL, POOL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		    c.pool_fd, 0);
	if (pool == MAP_FAILED) {
		perror("VL mmap");
		return 1;
	}
	close(c.pool_fd);	/* the mapping keeps the pool */

	kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	memset(&qf, 0, sizeof(qf));
	qf.handle = handle;
	qf.queue = 0;
	qf.kick_fd = kick_fd;
	qf.call_fd = kick_fd;
	printf("VL neg same_kick_call %s\n",
	       ioctl(ctrl, VIRTIO_LOOPBACK_IOC_SET_QUEUE_FDS, &qf) < 0 &&
	       errno == EINVAL ? "EINVAL" : "UNEXPECTED");
	qf.queue = 1;
	qf.call_fd = call_fd;
	printf("VL neg queue_out_of_range %s\n",
	       ioctl(ctrl, VIRTIO_LOOPBACK_IOC_SET_QUEUE_FDS, &qf) < 0 &&
	       errno == EINVAL ? "EINVAL" : "UNEXPECTED");
	qf.queue = 0;
	if (ioctl(ctrl, VIRTIO_LOOPBACK_IOC_SET_QUEUE_FDS, &qf) < 0) {
		perror("VL SET_QUEUE_FDS");
		return 1;
	}
	printf("VL queue fds set\n");

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
	printf("VL served requests=%lu bytes=%lu\n", q.served, q.bytes);
	if (!bad_used) {
		/* Normal runs remove explicitly; the bad-used run by close(). */
		struct virtio_loopback_handle h = { .handle = handle };
		int r1, r2, e2;

		r1 = ioctl(ctrl, VIRTIO_LOOPBACK_IOC_DESTROY_DEVICE, &h);
		r2 = ioctl(ctrl, VIRTIO_LOOPBACK_IOC_DESTROY_DEVICE, &h);
		e2 = errno;
		printf("VL destroy=%d again=%d (%s)\n", r1, r2,
		       r2 < 0 && e2 == ENOENT ? "ENOENT" : "UNEXPECTED");
	}
	close(ctrl);
	printf("VL closed control fd\n");
	munmap(pool, POOL_SIZE);
	return 0;
}
