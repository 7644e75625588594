// SPDX-License-Identifier: GPL-2.0-only
/*
 * vl-test-lib: shared code of the static stand-in devices; see
 * vl-test-lib.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vl-test-lib.h"

volatile sig_atomic_t vlt_stop;

static void vlt_on_signal(int sig)
{
	(void)sig;
	vlt_stop = 1;
}

void vlt_init(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGTERM, vlt_on_signal);
	signal(SIGINT, vlt_on_signal);
}

int vlt_open(void)
{
	int fd = open("/dev/" VIRTIO_LOOPBACK_DEV_NAME, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		perror("VL open");
	return fd;
}

int vlt_api(int ctrl, struct virtio_loopback_api_info *info)
{
	if (ioctl(ctrl, VIRTIO_LOOPBACK_IOC_GET_API_VERSION, info) < 0) {
		perror("VL GET_API_VERSION");
		return -1;
	}
	printf("VL api version=%u max_queues=%u max_queue_size=%u max_config=%u event_size=%u max_pool=%llu\n",
	       info->api_version, info->max_queues, info->max_queue_size,
	       info->max_config_size, info->event_size,
	       (unsigned long long)info->max_pool_size);
	return 0;
}

void vlt_release(struct vlt_dev *t)
{
	unsigned int i;

	if (t->pool && t->pool != MAP_FAILED)
		munmap(t->pool, t->pool_size);
	t->pool = NULL;
	for (i = 0; i < t->nq; i++) {
		if (t->q[i].kick >= 0)
			close(t->q[i].kick);
		if (t->q[i].call >= 0)
			close(t->q[i].call);
		t->q[i].kick = t->q[i].call = -1;
		t->q[i].ready = 0;
	}
}

void vlt_params(struct virtio_loopback_create *c, uint32_t id, uint32_t nq,
		uint32_t qsize, uint64_t pool, const void *cfg,
		uint32_t cfg_size)
{
	memset(c, 0, sizeof(*c));
	c->device_id = id;
	c->num_queues = nq;
	c->max_queue_size = qsize;
	c->pool_size = pool;
	c->config_size = cfg_size;
	c->config_addr = (uintptr_t)cfg;
}

void vlt_close(struct vlt_dev *t)
{
	close(t->ctrl);
	printf("VL closed control fd\n");
	vlt_release(t);
}

int vlt_create(struct vlt_dev *t, int ctrl, struct virtio_loopback_create *c)
{
	int quiet = t->quiet;
	unsigned int i;

	memset(t, 0, sizeof(*t));
	t->quiet = quiet;
	t->ctrl = ctrl;
	for (i = 0; i < VLT_MAX_QUEUES; i++)
		t->q[i].kick = t->q[i].call = -1;
	if (c->num_queues > VLT_MAX_QUEUES) {
		fprintf(stderr, "VL too many queues: %u\n", c->num_queues);
		return -1;
	}
	if (ioctl(ctrl, VIRTIO_LOOPBACK_IOC_CREATE_DEVICE, c) < 0) {
		perror("VL CREATE_DEVICE");
		return -1;
	}
	t->handle = c->handle;
	t->device_id = c->device_id;
	t->dma_base = c->pool_dma_base;
	t->pool_size = c->pool_size;
	t->nq = c->num_queues;
	if (!t->quiet)
		printf("VL created device_id=%u handle=%u pool_fd=%d pool=%llu pool_dma_base=0x%llx cloexec=%d seek_end=%lld\n",
		       c->device_id, c->handle, c->pool_fd,
		       (unsigned long long)c->pool_size,
		       (unsigned long long)c->pool_dma_base,
		       !!(fcntl(c->pool_fd, F_GETFD) & FD_CLOEXEC),
		       (long long)lseek(c->pool_fd, 0, SEEK_END));
	t->pool = mmap(NULL, t->pool_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       c->pool_fd, 0);
	close(c->pool_fd);	/* the mapping keeps the pool */
	if (t->pool == MAP_FAILED) {
		perror("VL mmap");
		goto err;
	}
	for (i = 0; i < t->nq; i++) {
		struct virtio_loopback_queue_fds qf = {
			.handle = t->handle, .queue = i,
		};

		t->q[i].kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		t->q[i].call = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		qf.kick_fd = t->q[i].kick;
		qf.call_fd = t->q[i].call;
		if (qf.kick_fd < 0 || qf.call_fd < 0 ||
		    ioctl(ctrl, VIRTIO_LOOPBACK_IOC_SET_QUEUE_FDS, &qf) < 0) {
			perror("VL SET_QUEUE_FDS");
			goto err;
		}
	}
	return 0;

err:
	vlt_destroy(t);
	vlt_release(t);
	return -1;
}

int vlt_destroy(struct vlt_dev *t)
{
	struct virtio_loopback_handle h = { .handle = t->handle };

	return ioctl(t->ctrl, VIRTIO_LOOPBACK_IOC_DESTROY_DEVICE, &h);
}

void *vlt_pool_ptr(struct vlt_dev *t, uint64_t addr, uint64_t len)
{
	if (addr < t->dma_base || addr - t->dma_base > t->pool_size ||
	    len > t->pool_size - (addr - t->dma_base))
		return NULL;
	return t->pool + (addr - t->dma_base);
}

int vlt_setup_queue(struct vlt_dev *t, unsigned int qi)
{
	struct virtio_loopback_queue_info info = {
		.handle = t->handle, .queue = qi,
	};
	struct vlt_queue *q = &t->q[qi];

	q->ready = 0;
	if (ioctl(t->ctrl, VIRTIO_LOOPBACK_IOC_GET_QUEUE_INFO, &info) < 0) {
		perror("VL GET_QUEUE_INFO");
		return -1;
	}
	if (!t->quiet)
		printf("VL queue%u ready=%u size=%u desc=0x%llx avail=0x%llx used=0x%llx\n",
		       qi, info.ready, info.size,
		       (unsigned long long)info.desc_addr,
		       (unsigned long long)info.avail_addr,
		       (unsigned long long)info.used_addr);
	if (!(info.ready & VIRTIO_LOOPBACK_QUEUE_READY))
		return -1;
	q->size = info.size;
	q->desc = vlt_pool_ptr(t, info.desc_addr, 16ull * info.size);
	q->avail = vlt_pool_ptr(t, info.avail_addr, 6 + 2ull * info.size);
	q->used = vlt_pool_ptr(t, info.used_addr, 6 + 8ull * info.size);
	q->last_avail = 0;
	q->ready = q->desc && q->avail && q->used;
	if (!t->quiet)
		printf("VL queue%u %s\n", qi,
		       q->ready ? "mapped" : "OUTSIDE POOL");
	return q->ready ? 0 : -1;
}

int vlt_walk(struct vlt_dev *t, struct vlt_queue *q, uint16_t head,
	     struct vlt_seg *segs)
{
	struct vlt_desc *table = q->desc;
	uint32_t n = q->size, i = head, hops = 0;
	int ns = 0;

	for (;;) {
		struct vlt_desc *d;

		if (i >= n || hops++ >= n || ns >= VLT_MAX_SEGS)
			return -1;
		d = &table[i];
		if (d->flags & VRING_DESC_F_INDIRECT) {
			if (table != q->desc || !d->len || d->len % 16)
				return -1;
			table = vlt_pool_ptr(t, d->addr, d->len);
			if (!table)
				return -1;
			n = d->len / 16;
			i = 0;
			hops = 0;
			t->indirect++;
			continue;
		}
		segs[ns].p = vlt_pool_ptr(t, d->addr, d->len);
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

int vlt_pop(struct vlt_queue *q, uint16_t *head)
{
	uint16_t avail_idx;

	if (!q->ready)
		return -1;
	avail_idx = __atomic_load_n(&q->avail[1], __ATOMIC_ACQUIRE);
	if (q->last_avail == avail_idx)
		return -1;
	*head = q->avail[2 + q->last_avail % q->size];
	q->last_avail++;
	return 0;
}

void vlt_push(struct vlt_queue *q, uint32_t id, uint32_t len)
{
	uint16_t used_idx = q->used[1];
	struct vlt_used_elem *ue;

	ue = (struct vlt_used_elem *)&q->used[2] + used_idx % q->size;
	ue->id = id;
	ue->len = len;
	__atomic_store_n(&q->used[1], (uint16_t)(used_idx + 1),
			 __ATOMIC_RELEASE);
}

void vlt_call(struct vlt_queue *q)
{
	uint64_t one = 1;

	if (write(q->call, &one, sizeof(one)) != sizeof(one))
		perror("VL call write");
}

int vlt_serve(struct vlt_dev *t, unsigned int qi, vlt_serve_fn *fn)
{
	struct vlt_queue *q = &t->q[qi];
	struct vlt_seg segs[VLT_MAX_SEGS];
	uint16_t avail_idx;
	int n = 0;

	if (!q->ready)
		return 0;
	avail_idx = __atomic_load_n(&q->avail[1], __ATOMIC_ACQUIRE);
	while (q->last_avail != avail_idx) {
		uint16_t head = q->avail[2 + q->last_avail % q->size];
		uint16_t id = head;
		uint32_t len;

		len = fn(t, qi, &id, segs, vlt_walk(t, q, head, segs));
		if (len == VLT_STALL)
			break;
		vlt_push(q, id, len);
		q->last_avail++;
		n++;
	}
	if (n)
		vlt_call(q);
	return n;
}

int vlt_event_done(int ctrl, uint32_t handle, uint64_t seq, uint32_t status)
{
	struct virtio_loopback_event_done done = {
		.handle = handle, .status = status, .seq = seq,
	};

	return ioctl(ctrl, VIRTIO_LOOPBACK_IOC_EVENT_DONE, &done);
}

static void vlt_log_event(const struct virtio_loopback_event *e)
{
	switch (e->type) {
	case VIRTIO_LOOPBACK_EVENT_FEATURES_OK:
		printf("VL event FEATURES_OK seq=%llu features=0x%llx\n",
		       (unsigned long long)e->seq,
		       (unsigned long long)e->u.features_ok.features);
		break;
	case VIRTIO_LOOPBACK_EVENT_DRIVER_OK:
		printf("VL event DRIVER_OK seq=%llu num_queues=%u\n",
		       (unsigned long long)e->seq, e->u.driver_ok.num_queues);
		break;
	case VIRTIO_LOOPBACK_EVENT_RESET:
		printf("VL event RESET seq=%llu flags=%u\n",
		       (unsigned long long)e->seq, e->flags);
		break;
	case VIRTIO_LOOPBACK_EVENT_CONFIG_WRITE:
		printf("VL event CONFIG_WRITE seq=%llu off=%u size=%u flags=%u\n",
		       (unsigned long long)e->seq, e->u.config_write.offset,
		       e->u.config_write.size, e->flags);
		break;
	default:
		printf("VL event type=%u seq=%llu\n", e->type,
		       (unsigned long long)e->seq);
	}
}

void vlt_handle_events(struct vlt_dev *t)
{
	struct virtio_loopback_event ev[8];
	ssize_t r;
	int i, status;

	r = read(t->ctrl, ev, sizeof(ev));
	for (i = 0; r > 0 && i < (int)(r / sizeof(ev[0])); i++) {
		const struct virtio_loopback_event *e = &ev[i];
		unsigned int qi;

		if (!t->quiet)
			vlt_log_event(e);
		if (e->handle != t->handle) {
			/* Another device on this fd: let its driver go on. */
			if (e->flags & VIRTIO_LOOPBACK_EVENT_F_NEED_REPLY)
				vlt_event_done(t->ctrl, e->handle, e->seq, 0);
			continue;
		}
		if (e->type == VIRTIO_LOOPBACK_EVENT_DRIVER_OK) {
			t->driver_ok = 1;
			for (qi = 0; qi < t->nq; qi++)
				vlt_setup_queue(t, qi);
			/* Serve what the driver queued before DRIVER_OK. */
			for (qi = 0; qi < t->nq && t->on_kick; qi++)
				if (t->q[qi].ready)
					t->on_kick(t, qi);
		} else if (e->type == VIRTIO_LOOPBACK_EVENT_RESET) {
			t->driver_ok = 0;
			for (qi = 0; qi < t->nq; qi++)
				t->q[qi].ready = 0;
		}
		status = t->on_event ? t->on_event(t, e) : 0;
		if ((e->flags & VIRTIO_LOOPBACK_EVENT_F_NEED_REPLY) &&
		    status >= 0 &&
		    vlt_event_done(t->ctrl, e->handle, e->seq, status) < 0)
			perror("VL EVENT_DONE");
	}
}

int vlt_poll(struct vlt_dev *t, int timeout_ms)
{
	struct pollfd p[1 + VLT_MAX_QUEUES];
	unsigned int i;
	uint64_t cnt;
	int r;

	p[0].fd = t->ctrl;
	p[0].events = POLLIN;
	for (i = 0; i < t->nq; i++) {
		p[1 + i].fd = t->q[i].kick;
		p[1 + i].events = POLLIN;
	}
	r = poll(p, 1 + t->nq, timeout_ms);
	if (r <= 0)
		return r;
	if (p[0].revents & POLLIN)
		vlt_handle_events(t);
	for (i = 0; i < t->nq; i++) {
		if (!(p[1 + i].revents & POLLIN))
			continue;
		if (read(t->q[i].kick, &cnt, sizeof(cnt)) < 0)
			cnt = 0;
		if (t->on_kick)
			t->on_kick(t, i);
	}
	return r;
}

void vlt_run(struct vlt_dev *t, int seconds, void (*tick)(struct vlt_dev *t))
{
	time_t end = time(NULL) + seconds;

	while (!vlt_stop && time(NULL) < end) {
		vlt_poll(t, 100);
		if (tick)
			tick(t);
	}
}

int vlt_blk_init(struct vlt_blk *b, uint64_t size)
{
	memset(b, 0, sizeof(*b));
	b->disk = calloc(1, size);
	b->size = size;
	return b->disk ? 0 : -1;
}

uint32_t vlt_blk_request(struct vlt_blk *b, struct vlt_seg *s, int ns)
{
	uint32_t type, len = 0, done = 0;
	uint64_t sector, off;
	uint8_t *status;
	int i;

	if (ns < 2 || s[0].wr || s[0].len < 16 || !s[ns - 1].wr ||
	    !s[ns - 1].len) {
		b->n_bad++;
		return 0;
	}
	memcpy(&type, s[0].p, 4);
	memcpy(&sector, s[0].p + 8, 8);
	status = s[ns - 1].p + s[ns - 1].len - 1;
	s[ns - 1].len--;	/* the status byte is not data */
	for (i = 1; i < ns; i++)
		len += s[i].len;
	if (len > b->max_bytes)
		b->max_bytes = len;
	off = sector * 512;
	*status = 0;
	switch (type) {
	case 0:	/* IN */
	case 1:	/* OUT */
		if (off > b->size || len > b->size - off) {
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
				memcpy(s[i].p, b->disk + off, s[i].len);
			else
				memcpy(b->disk + off, s[i].p, s[i].len);
			off += s[i].len;
		}
		if (type == 0) {
			b->n_in++;
			done = len;
		} else {
			b->n_out++;
		}
		return done + 1;
	case 4:	/* FLUSH */
		b->n_flush++;
		return 1;
	default:
		b->n_other++;
		*status = 2;	/* UNSUPP */
		return 1;
	}
}

const char *vlt_errname(int err)
{
	static const struct {
		int err;
		const char *name;
	} names[] = {
		{ 0, "OK" }, { EPERM, "EPERM" }, { ENOENT, "ENOENT" },
		{ EINTR, "EINTR" }, { EIO, "EIO" }, { ENXIO, "ENXIO" },
		{ EBADF, "EBADF" }, { EAGAIN, "EAGAIN" }, { ENOMEM, "ENOMEM" },
		{ EACCES, "EACCES" }, { EFAULT, "EFAULT" }, { EBUSY, "EBUSY" },
		{ EEXIST, "EEXIST" }, { ENODEV, "ENODEV" }, { EINVAL, "EINVAL" },
		{ ENFILE, "ENFILE" }, { EMFILE, "EMFILE" }, { ENOTTY, "ENOTTY" },
		{ ENOSPC, "ENOSPC" }, { ESPIPE, "ESPIPE" }, { ERANGE, "ERANGE" },
		{ EOVERFLOW, "EOVERFLOW" }, { EOPNOTSUPP, "EOPNOTSUPP" },
		{ ENOSYS, "ENOSYS" },
	};
	static char buf[16];
	unsigned int i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].err == err)
			return names[i].name;
	snprintf(buf, sizeof(buf), "errno%d", err);
	return buf;
}
