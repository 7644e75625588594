// SPDX-License-Identifier: GPL-2.0-only
/*
 * vl-fuzz: random operations on /dev/virtio-loopback.
 *
 * Every operation is a system call on a control fd, a pool fd or a pool
 * mapping: ioctls with random numbers (inside magic 0xBE with wrong sizes
 * and directions, and outside it), random argument pointers (NULL, unmapped,
 * kernel-half, misaligned, straddling a guard page, read-only, valid buffers
 * full of random bytes), valid and invalid CREATE_DEVICE parameters, random
 * and live handles for DESTROY_DEVICE, SET_QUEUE_FDS (closed fds, pipes,
 * /dev/null, control fds, eventfds), GET_QUEUE_INFO, SET_CONFIG,
 * EVENT_DONE (random seq and status, or the seq of an event read),
 * FAIL_DEVICE and SET_API_VERSION, device types the module refuses, reads of the event stream with odd sizes, write(), poll(),
 * lseek(), mmap of pool fds with random offsets, lengths, protections and
 * flags, mmap of control fds, writes to the eventfds (interrupts), and up to
 * MAX_CTRL control fds at once, some closed (or dup'ed and closed) with
 * devices alive.
 *
 * Each call must succeed or fail with -1 and an errno from the set the UAPI
 * header documents for it; where the arguments are known to be wrong the
 * call must fail, with a known pointer fault it must fail with EFAULT.
 * Anything else is counted and printed as "VL UNEXPECTED ...".
 *
 * Devices use IDs no driver claims (VLT_BARE_ID.., which the guest allows
 * with the allowed_device_ids parameter): a bound driver waits for its device,
 * and an unserved one can hold up others for good (the hwrng core reads
 * the current virtio-rng device with a global mutex held, and removing one
 * rng device makes it read the next). vl-churn and the stand-ins cover
 * devices with drivers. The virtio core still resets each new device: the
 * RESET events wait for EVENT_DONE, which the fuzzer sends now and then,
 * so registrations also time out (later config writes then stop waiting); worker
 * 0 keeps two devices on a control fd of its own unanswered until their
 * registration timed out (sync_timeout_ms, read from sysfs, and a half).
 *
 * Usage: vl-fuzz [-n OPS] [-s SEED] [-j WORKERS] [-v]
 *   -n  operations per run (default 20000), split over the workers
 *   -s  seed (default: time and pid); worker i uses SEED + i
 *   -j  processes fuzzing at once, each with its own control fds
 *   -v  print every unexpected result (default: the first 20 per worker)
 * Prints "VL fuzz seed=..." first and "VL fuzz summary ..." last; exits 0
 * when nothing unexpected happened.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vl-test-lib.h"

#define MAX_CTRL	4
#define MAX_DEVS	256
#define MAX_POOLFDS	24
#define MAX_MAPS	16
#define MAX_EVS		64
#define NR_ERRNO	134
#define PAGE		4096UL
#define MIN_POOL	(64UL << 10)
#define MAX_POOL	(256UL << 20)
/*
 * Pool memory one worker keeps at most (live devices, pool fds, mappings):
 * the API is under test, not the machine's memory (only op_create_huge
 * goes further, and gives its pools back at once).
 */
#define POOL_BUDGET	(40UL << 20)

/* A set of errno values (all below 128). */
typedef unsigned __int128 emask;
#define E(x)		((emask)1 << (x))
#define ERR_IOCTL	(E(EFAULT) | E(EINVAL) | E(ENOENT))
#define ERR_CREATE	(E(EFAULT) | E(EINVAL) | E(EPERM) | E(ENOSPC) | E(ENOMEM) | E(EMFILE))
#define ERR_QFDS	(ERR_IOCTL | E(EBADF))
#define ERR_CREATE_OK	(E(ENOSPC) | E(ENOMEM) | E(EMFILE))

struct dev {
	int live;
	int ctrl;		/* index into ctrls[] */
	uint32_t handle;
	uint32_t device_id;
	uint32_t nq;
	uint32_t config_size;
	uint64_t pool;
};

struct poolfd {
	int fd;
	uint64_t size;
	int bound;		/* a driver may use its rings */
};

struct map {
	uint8_t *addr;
	size_t len;
	int prot;
	int bound;
};

struct seen_ev {
	int ctrl;
	uint32_t handle;
	uint64_t seq;
};

static uint64_t rs;
static int verbose;
static unsigned long op_index;
static int ctrls[MAX_CTRL];
static uint64_t last_seq[MAX_CTRL];
static uint32_t ctrl_api[MAX_CTRL];	/* API version each control fd speaks */
static int ctrl_created[MAX_CTRL];	/* it created a device (SET_API_VERSION: EBUSY) */
static struct dev devs[MAX_DEVS];
static struct poolfd poolfds[MAX_POOLFDS];
static struct map maps[MAX_MAPS];
static struct seen_ev evs[MAX_EVS];
static unsigned int nevs;
static int evfds[6], pipefd[2], nullfd, closedfd;
static uint8_t *guard;		/* two RW pages, then a PROT_NONE page */
static uint8_t *ro_page;
static uint8_t buf[3 * PAGE] __attribute__((aligned(64)));

static unsigned long calls, n_ok, n_err, n_unexpected, n_created, n_events;
static unsigned long n_maps, live_max;
static unsigned long errcount[NR_ERRNO];

static uint64_t rnd(void)
{
	/* xorshift64* */
	rs ^= rs >> 12;
	rs ^= rs << 25;
	rs ^= rs >> 27;
	return rs * 0x2545F4914F6CDD1DULL;
}

static uint32_t rndn(uint32_t n)
{
	return n ? rnd() % n : 0;
}

static int chance(unsigned int pct)
{
	return rndn(100) < pct;
}

static void fill_random(void *p, size_t n)
{
	uint8_t *b = p;

	while (n--)
		*b++ = rnd();
}

static void unexpected(const char *op, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void unexpected(const char *op, const char *fmt, ...)
{
	va_list ap;

	n_unexpected++;
	if (!verbose && n_unexpected > 20)
		return;
	printf("VL UNEXPECTED op#%lu %s: ", op_index, op);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/*
 * Judge a call: @ret >= 0 is success, unless @must_fail; -1 needs an errno
 * in @allowed. Returns @ret.
 */
static long judge(const char *op, long ret, emask allowed, int must_fail)
{
	int err = errno;

	calls++;
	if (ret >= 0) {
		n_ok++;
		errcount[0]++;
		if (must_fail)
			unexpected(op, "succeeded (%ld), should have failed", ret);
		return ret;
	}
	n_err++;
	if (err > 0 && err < NR_ERRNO)
		errcount[err]++;
	if (ret != -1 || err <= 0 || err >= 128 || !(allowed & E(err)))
		unexpected(op, "ret %ld errno %s", ret, vlt_errname(err));
	errno = err;
	return ret;
}

/* ---------------------------------------------------------- pointers ---- */

enum ptr_kind {
	P_VALID, P_MISALIGNED, P_NULL, P_UNMAPPED, P_KERNEL, P_GUARD, P_RO,
	P_KINDS
};

/* An argument pointer of @kind for @size bytes (valid ones: random bytes). */
static void *ptr_of(enum ptr_kind kind, size_t size)
{
	void *p;

	switch (kind) {
	case P_MISALIGNED:
		p = buf + 1 + rndn(7);
		break;
	case P_NULL:
		return NULL;
	case P_UNMAPPED:	/* below mmap_min_addr: never mapped */
		return (void *)(uintptr_t)(0x1000 + rndn(0xe000));
	case P_KERNEL:
		return (void *)(uintptr_t)(0xffff888000000000ULL +
					   (rnd() & 0xfffffff8ULL));
	case P_GUARD:		/* ends in the PROT_NONE page */
		return guard + 2 * PAGE - rndn(size ? size : 1);
	case P_RO:
		return ro_page;
	default:
		p = buf;
		break;
	}
	fill_random(p, size);
	return p;
}

static int ptr_faults(enum ptr_kind kind)
{
	return kind == P_NULL || kind == P_UNMAPPED || kind == P_KERNEL ||
	       kind == P_GUARD;
}

/* Mostly valid pointers; a bad one now and then. */
static enum ptr_kind pick_ptr(void)
{
	if (chance(75))
		return chance(80) ? P_VALID : P_MISALIGNED;
	return rndn(P_KINDS);
}

/* -------------------------------------------------------------- state ---- */

static int pick_ctrl(void)
{
	int i, n = 0, pick[MAX_CTRL];

	for (i = 0; i < MAX_CTRL; i++)
		if (ctrls[i] >= 0)
			pick[n++] = i;
	return n ? pick[rndn(n)] : -1;
}

static struct dev *pick_dev(void)
{
	int i, n = 0;
	static int pick[MAX_DEVS];

	for (i = 0; i < MAX_DEVS; i++)
		if (devs[i].live)
			pick[n++] = i;
	return n ? &devs[pick[rndn(n)]] : NULL;
}

static struct dev *find_dev(int ctrl, uint32_t handle)
{
	int i;

	for (i = 0; i < MAX_DEVS; i++)
		if (devs[i].live && devs[i].ctrl == ctrl &&
		    devs[i].handle == handle)
			return &devs[i];
	return NULL;
}

/* Pool bytes this worker keeps alive, counting shared ones twice. */
static uint64_t pinned(void)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < MAX_DEVS; i++)
		n += devs[i].live ? devs[i].pool : 0;
	for (i = 0; i < MAX_POOLFDS; i++)
		n += poolfds[i].fd >= 0 ? poolfds[i].size : 0;
	for (i = 0; i < MAX_MAPS; i++)
		n += maps[i].addr ? maps[i].len : 0;
	return n;
}

static unsigned int live_devs(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < MAX_DEVS; i++)
		n += devs[i].live;
	return n;
}

/* A handle for @ctrl: a live one, or one that names nothing. */
static uint32_t pick_handle(int ctrl, struct dev **d)
{
	static const uint32_t odd[] = { 0, 65, 0x7fffffff, 0xffffffff };
	struct dev *x = pick_dev();

	if (x && x->ctrl == ctrl && chance(85)) {
		*d = x;
		return x->handle;
	}
	x = NULL;
	for (;;) {
		uint32_t h = chance(50) ? odd[rndn(4)] : rndn(70);

		*d = find_dev(ctrl, h);
		if (!*d || chance(50))
			return h;
	}
}

static void ctrl_closed(int c)
{
	int i;

	for (i = 0; i < MAX_DEVS; i++)
		if (devs[i].ctrl == c)
			devs[i].live = 0;
	for (i = 0; i < MAX_EVS && i < (int)nevs; i++)
		if (evs[i].ctrl == c)
			evs[i].handle = 0xffffffff;
	ctrls[c] = -1;
	last_seq[c] = 0;
	ctrl_api[c] = 1;
	ctrl_created[c] = 0;
}

static void add_poolfd(int fd, uint64_t size, int bound)
{
	int i = rndn(MAX_POOLFDS);

	if (poolfds[i].fd >= 0)
		close(poolfds[i].fd);
	poolfds[i].fd = fd;
	poolfds[i].size = size;
	poolfds[i].bound = bound;
}

static void drop_map(int i)
{
	if (!maps[i].addr)
		return;
	if (munmap(maps[i].addr, maps[i].len))
		unexpected("munmap", "%p+%zu: errno %s", maps[i].addr,
			   maps[i].len, vlt_errname(errno));
	maps[i].addr = NULL;
}

/* Touch every page of a mapping: read it, and scribble if nobody uses it. */
static void touch_map(struct map *m)
{
	volatile uint8_t sum = 0;
	size_t off;

	for (off = 0; off < m->len; off += PAGE) {
		if (m->prot & PROT_READ)
			sum += m->addr[off];
		if ((m->prot & PROT_WRITE) && !m->bound)
			m->addr[off] = rnd();
	}
	(void)sum;
}

/* ---------------------------------------------------------- operations ---- */

static void op_open(void)
{
	int i, fd;

	for (i = 0; i < MAX_CTRL && ctrls[i] >= 0; i++)
		;
	if (i == MAX_CTRL)
		return;
	fd = judge("open", open("/dev/" VIRTIO_LOOPBACK_DEV_NAME,
				O_RDWR | O_CLOEXEC | O_NONBLOCK),
		   E(ENOMEM) | E(EMFILE) | E(ENFILE), 0);
	if (fd >= 0)
		ctrls[i] = fd;
}

static void op_close_ctrl(void)
{
	int c = pick_ctrl();

	if (c < 0)
		return;
	if (chance(50)) {
		/* A second fd on the same file: release waits for the last. */
		int d = judge("dup", dup(ctrls[c]), E(EMFILE), 0);

		if (d >= 0) {
			judge("close", close(ctrls[c]), 0, 0);
			ctrls[c] = d;
			return;
		}
	}
	judge("close", close(ctrls[c]), 0, 0);
	ctrl_closed(c);
}

static void op_api(void)
{
	int c = pick_ctrl();
	enum ptr_kind k = pick_ptr();
	void *p;
	long r;

	if (c < 0)
		return;
	p = ptr_of(k, sizeof(struct virtio_loopback_api_info));
	r = judge("GET_API_VERSION",
		  ioctl(ctrls[c], VIRTIO_LOOPBACK_IOC_GET_API_VERSION, p),
		  E(EFAULT), ptr_faults(k) || k == P_RO);
	if (r == 0) {
		struct virtio_loopback_api_info info;

		memcpy(&info, p, sizeof(info));
		if (info.api_version != ctrl_api[c] ||
		    info.max_api_version != VIRTIO_LOOPBACK_API_VERSION ||
		    info.capabilities != (VIRTIO_LOOPBACK_CAP_FAIL_DEVICE |
					  VIRTIO_LOOPBACK_CAP_PRIVATE_RINGS |
					  VIRTIO_LOOPBACK_CAP_DEVICE_FILTER |
					  VIRTIO_LOOPBACK_CAP_BROKEN_EVENT) ||
		    info.event_size != sizeof(struct virtio_loopback_event) ||
		    info.reserved32 || info.reserved)
			unexpected("GET_API_VERSION", "bad info (api %u of %u, caps 0x%llx)",
				   info.api_version, info.max_api_version,
				   (unsigned long long)info.capabilities);
	} else if (ptr_faults(k) && errno != EFAULT) {
		unexpected("GET_API_VERSION", "bad pointer gave %s",
			   vlt_errname(errno));
	}
}

static void *arg_ptr(const void *arg, size_t size, int *bad);

/*
 * SET_API_VERSION: versions 1 and 2 before the fd's first CREATE_DEVICE,
 * EBUSY after it; anything else EINVAL.
 */
static void op_set_api(void)
{
	struct virtio_loopback_api_select a = { .api_version = 1 + rndn(2) };
	int c = pick_ctrl(), bad = 0;
	void *p;
	long r;

	if (c < 0)
		return;
	switch (rndn(6)) {
	case 0:
		a.api_version = chance(2) ? 0 : 3 + rndn(100);
		bad = 1;
		break;
	case 1:
		a.flags = 1U << rndn(32);
		bad = 1;
		break;
	case 2:
		a.reserved = 1ULL << rndn(64);
		bad = 1;
		break;
	default:
		break;
	}
	p = arg_ptr(&a, sizeof(a), &bad);
	r = judge("SET_API_VERSION",
		  ioctl(ctrls[c], VIRTIO_LOOPBACK_IOC_SET_API_VERSION, p),
		  E(EFAULT) | E(EINVAL) | E(EBUSY), bad || ctrl_created[c]);
	if (r == 0)
		ctrl_api[c] = a.api_version;
	else if (!bad && errno != EBUSY)
		unexpected("SET_API_VERSION", "version %u gave %s", a.api_version,
			   vlt_errname(errno));
}

/* Valid CREATE_DEVICE parameters; @cfg holds the config bytes. */
static void valid_create(struct virtio_loopback_create *c, uint8_t *cfg)
{
	static const uint64_t pools[] = {
		MIN_POOL, 2 * MIN_POOL, 256UL << 10, 1UL << 20, 4UL << 20,
	};

	memset(c, 0, sizeof(*c));
	c->device_id = VLT_BARE_ID + rndn(VLT_BARE_IDS);	/* no driver */
	c->vendor_id = rnd();
	c->device_features = rnd();
	c->num_queues = chance(10) ? 1 + rndn(64) : 1 + rndn(4);
	c->max_queue_size = 1U << (1 + rndn(15));
	c->pool_size = pools[rndn(5)];
	if (chance(2))
		c->pool_size = 16UL << 20;
	c->config_size = chance(50) ? rndn(257) : 0;
	fill_random(cfg, c->config_size);
	c->config_addr = (uintptr_t)cfg;
}

static void created(int ctrl, struct virtio_loopback_create *c, int bound)
{
	int i;

	uint64_t must = (1ULL << 32) | (1ULL << 33);	/* VERSION_1, ACCESS_PLATFORM */

	n_created++;
	ctrl_created[ctrl] = 1;
	if (find_dev(ctrl, c->handle))
		unexpected("CREATE_DEVICE", "handle %u given twice", c->handle);
	if (c->pool_dma_base == 0 || c->reserved_out ||
	    (ctrl_api[ctrl] == 1 && c->offered_features) ||
	    (ctrl_api[ctrl] >= 2 && ((c->offered_features & must) != must ||
				     (c->offered_features & (1ULL << 34)))))
		unexpected("CREATE_DEVICE", "bad output (api %u, offered 0x%llx)",
			   ctrl_api[ctrl], (unsigned long long)c->offered_features);
	for (i = 0; i < MAX_DEVS && devs[i].live; i++)
		;
	if (i < MAX_DEVS) {
		devs[i].live = 1;
		devs[i].ctrl = ctrl;
		devs[i].handle = c->handle;
		devs[i].device_id = c->device_id;
		devs[i].nq = c->num_queues;
		devs[i].config_size = c->config_size;
		devs[i].pool = c->pool_size;
	}
	if (live_devs() > live_max)
		live_max = live_devs();
	if (c->pool_fd < 0) {
		unexpected("CREATE_DEVICE", "pool_fd %d", c->pool_fd);
		return;
	}
	if (!(fcntl(c->pool_fd, F_GETFD) & FD_CLOEXEC))
		unexpected("CREATE_DEVICE", "pool fd without FD_CLOEXEC");
	if (chance(60))
		add_poolfd(c->pool_fd, c->pool_size, bound);
	else
		close(c->pool_fd);
}

static void op_create_valid(void)
{
	struct virtio_loopback_create c;
	uint8_t cfg[256];
	int ctrl = pick_ctrl();

	if (ctrl < 0)
		return;
	valid_create(&c, cfg);
	if (pinned() + c.pool_size > POOL_BUDGET)
		c.pool_size = MIN_POOL;
	if (pinned() + c.pool_size > POOL_BUDGET)
		return;
	if (judge("CREATE_DEVICE(valid)",
		  ioctl(ctrls[ctrl], VIRTIO_LOOPBACK_IOC_CREATE_DEVICE, &c),
		  ERR_CREATE_OK, 0) == 0)
		created(ctrl, &c, 0);
}

/* One field out of range (or a bad pointer): must fail. */
static void op_create_invalid(void)
{
	struct virtio_loopback_create c;
	uint8_t cfg[256];
	int ctrl = pick_ctrl();
	emask allowed = E(EINVAL);

	if (ctrl < 0)
		return;
	valid_create(&c, cfg);
	switch (rndn(15)) {
	case 0:
		c.device_id = 0;
		break;
	case 8: {
		/* Not allowed: memory-exposing types, or any other ID. */
		static const uint32_t refused[] = { 24, 27, 5, 16, 0x4008 };

		c.device_id = chance(3) ? refused[rndn(5)] : 0x5000 + rndn(0x10000);
		allowed = E(EPERM);
		break;
	}
	case 1:
		c.flags = 1U << rndn(32);
		break;
	case 2:
		c.reserved_in[rndn(2)] = 1ULL << rndn(64);
		break;
	case 3: {
		static const uint32_t nq[] = { 0, 65, 1000, 0xffffffff };

		c.num_queues = nq[rndn(4)];
		break;
	}
	case 4: {
		static const uint32_t qs[] = {
			0, 1, 3, 1000, 65535, 65536, 1U << 31, 0xffffffff,
		};

		c.max_queue_size = qs[rndn(8)];
		break;
	}
	case 5: {
		static const uint64_t ps[] = {
			0, PAGE, MIN_POOL - PAGE, MIN_POOL + 1, MIN_POOL + 2048,
			MAX_POOL + PAGE, 1ULL << 40, 1ULL << 63, ~0ULL,
		};

		c.pool_size = ps[rndn(9)];
		break;
	}
	case 6:
		c.config_size = chance(50) ? 257 + rndn(4096) : 0xffffffff;
		break;
	case 7:
		c.config_size = 1 + rndn(256);
		c.config_addr = (uintptr_t)ptr_of(P_NULL + rndn(4),
						  c.config_size);
		allowed = E(EFAULT);
		break;
	default: {
		/* The whole argument: a bad pointer, or random bytes. */
		enum ptr_kind k = rndn(P_KINDS);
		void *p = ptr_of(k, sizeof(c));
		long r;

		r = judge("CREATE_DEVICE(random)",
			  ioctl(ctrls[ctrl], VIRTIO_LOOPBACK_IOC_CREATE_DEVICE, p),
			  ERR_CREATE, ptr_faults(k) || k == P_RO);
		if (r < 0 && ptr_faults(k) && errno != EFAULT)
			unexpected("CREATE_DEVICE(random)", "bad pointer gave %s",
				   vlt_errname(errno));
		if (r == 0) {	/* random bytes that happen to be valid */
			memcpy(&c, p, sizeof(c));
			created(ctrl, &c, 1);
		}
		return;
	}
	}
	if (judge("CREATE_DEVICE(invalid)",
		  ioctl(ctrls[ctrl], VIRTIO_LOOPBACK_IOC_CREATE_DEVICE, &c),
		  allowed, 1) == 0) {
		printf("VL   id=%u flags=%u nq=%u qsize=%u pool=%llu config=%u@%llx\n",
		       c.device_id, c.flags, c.num_queues, c.max_queue_size,
		       (unsigned long long)c.pool_size, c.config_size,
		       (unsigned long long)c.config_addr);
		created(ctrl, &c, 1);
	}
}

/*
 * Big pools until the module or the memory says no: CREATE_DEVICE must
 * fail with ENOMEM (or ENOSPC), never bring in the OOM killer or an
 * allocation-failure splat. The pools go again at once.
 */
static void op_create_huge(void)
{
	struct virtio_loopback_create c;
	uint32_t handles[6];
	uint8_t cfg[256];
	int ctrl = pick_ctrl(), i, n;

	if (ctrl < 0)
		return;
	for (n = 0; n < 6; n++) {
		valid_create(&c, cfg);
		c.pool_size = MAX_POOL;
		if (judge("CREATE_DEVICE(huge)",
			  ioctl(ctrls[ctrl], VIRTIO_LOOPBACK_IOC_CREATE_DEVICE, &c),
			  ERR_CREATE_OK, 0) < 0)
			break;
		n_created++;
		ctrl_created[ctrl] = 1;
		handles[n] = c.handle;
		close(c.pool_fd);
	}
	printf("VL fuzz %d pools of %lu MiB, then %s\n", n, MAX_POOL >> 20,
	       n < 6 ? vlt_errname(errno) : "enough");
	for (i = 0; i < n; i++) {
		struct virtio_loopback_handle h = { .handle = handles[i] };

		judge("DESTROY_DEVICE(huge)",
		      ioctl(ctrls[ctrl], VIRTIO_LOOPBACK_IOC_DESTROY_DEVICE, &h),
		      0, 0);
	}
}

/*
 * The argument pointer of an ioctl on one device: mostly @arg copied to a
 * valid (perhaps misaligned) buffer, now and then a bad pointer or the
 * read-only zero page, which sets *@bad (the call must fail: handle 0 is
 * never valid).
 */
static void *arg_ptr(const void *arg, size_t size, int *bad)
{
	enum ptr_kind k = chance(90) ? P_VALID : pick_ptr();
	void *p = ptr_of(k, size);

	if (k == P_VALID || k == P_MISALIGNED)
		memcpy(p, arg, size);
	else
		*bad = 1;
	return p;
}

/* 1 bit of @n bits at random (a reserved field or flag that must be 0). */
static uint64_t some_bit(unsigned int n)
{
	return 1ULL << rndn(n);
}

static void op_destroy(int ctrl, uint32_t handle, struct dev *d)
{
	struct virtio_loopback_handle h = { .handle = handle };
	int bad = chance(10);
	void *p;
	long r;

	if (bad && chance(50))
		h.flags = some_bit(32);
	else if (bad)
		h.reserved = some_bit(64);
	p = arg_ptr(&h, sizeof(h), &bad);
	r = judge("DESTROY_DEVICE",
		  ioctl(ctrls[ctrl], VIRTIO_LOOPBACK_IOC_DESTROY_DEVICE, p),
		  ERR_IOCTL, bad || !d);
	if (r == 0 && d)
		d->live = 0;
	else if (r < 0 && d && !bad)
		unexpected("DESTROY_DEVICE", "live handle %u: %s", h.handle,
			   vlt_errname(errno));
}

static int random_fd(void)
{
	switch (rndn(12)) {
	case 0:
		return -1;
	case 1:
		return pipefd[rndn(2)];
	case 2:
		return nullfd;
	case 3:
		return closedfd;
	case 4:
		return ctrls[rndn(MAX_CTRL)];
	case 5:
		return chance(50) ? -2 - (int)rndn(100) : 1 << 30;
	case 6:
		return poolfds[rndn(MAX_POOLFDS)].fd;
	default:
		return evfds[rndn(6)];
	}
}

static void op_set_queue_fds(int ctrl, uint32_t handle, struct dev *d)
{
	struct virtio_loopback_queue_fds q = { .handle = handle };
	int bad = chance(5);
	void *p;

	q.queue = d && chance(85) ? rndn(d->nq) : rndn(100);
	q.kick_fd = random_fd();
	q.call_fd = random_fd();
	if (bad && chance(50))
		q.flags = some_bit(32);
	else if (bad)
		q.reserved[rndn(3)] = some_bit(32);
	p = arg_ptr(&q, sizeof(q), &bad);
	if (q.kick_fd < -1 || q.call_fd < -1 || !d || q.queue >= d->nq)
		bad = 1;
	judge("SET_QUEUE_FDS",
	      ioctl(ctrls[ctrl], VIRTIO_LOOPBACK_IOC_SET_QUEUE_FDS, p),
	      ERR_QFDS, bad);
}

static void op_get_queue_info(int ctrl, uint32_t handle, struct dev *d)
{
	struct virtio_loopback_queue_info q = { .handle = handle };
	int bad = chance(5);
	void *p;

	q.queue = d && chance(85) ? rndn(d->nq) : rnd();
	if (bad)
		q.reserved_in = some_bit(64);
	p = arg_ptr(&q, sizeof(q), &bad);
	if (!d || q.queue >= d->nq)
		bad = 1;
	if (judge("GET_QUEUE_INFO",
		  ioctl(ctrls[ctrl], VIRTIO_LOOPBACK_IOC_GET_QUEUE_INFO, p),
		  ERR_IOCTL, bad))
		return;
	memcpy(&q, p, sizeof(q));
	if (q.reserved_out[0] || q.reserved_out[1] || (q.ready & ~3U) ||
	    (!q.ready && q.size) ||
	    (q.ready && (!q.size || q.size & (q.size - 1))))
		unexpected("GET_QUEUE_INFO", "bad output ready=%u size=%u",
			   q.ready, q.size);
}

static void op_set_config(int ctrl, uint32_t handle, struct dev *d)
{
	struct virtio_loopback_config c = { .handle = handle };
	uint8_t data[300];
	int bad = 0;
	void *p;

	if (d && chance(80)) {
		c.offset = rndn(d->config_size + 1);
		c.size = rndn(d->config_size - c.offset + 1);
	} else {
		c.offset = chance(50) ? rndn(300) : rnd();
		c.size = chance(50) ? rndn(300) : rnd();
	}
	c.flags = chance(50) ? VIRTIO_LOOPBACK_CONFIG_F_NOTIFY : 0;
	if (chance(5)) {
		c.flags |= some_bit(32) & ~1ULL;
		c.reserved = chance(50) ? some_bit(64) : 0;
		bad = c.flags > 1 || c.reserved;
	}
	fill_random(data, sizeof(data));
	c.config_addr = (uintptr_t)data;
	if (chance(5) && c.size) {
		c.config_addr = (uintptr_t)ptr_of(P_NULL + rndn(4), c.size);
		bad = 1;
	}
	p = arg_ptr(&c, sizeof(c), &bad);
	if (!d || c.offset > d->config_size ||
	    c.size > d->config_size - c.offset)
		bad = 1;
	judge("SET_CONFIG", ioctl(ctrls[ctrl], VIRTIO_LOOPBACK_IOC_SET_CONFIG, p),
	      ERR_IOCTL, bad);
}

static void op_event_done(int ctrl, uint32_t handle, struct dev *d)
{
	struct virtio_loopback_event_done e = { .handle = handle };
	int bad = chance(5);
	void *p;

	(void)d;
	if (nevs && chance(70)) {
		struct seen_ev *s = &evs[rndn(nevs < MAX_EVS ? nevs : MAX_EVS)];

		if (ctrls[s->ctrl] >= 0)
			ctrl = s->ctrl;
		e.handle = s->handle;
		e.seq = s->seq;
		if (chance(10))
			e.seq += chance(50) ? 1 : -1;
	} else {
		e.seq = chance(50) ? rndn(1000) : rnd();
	}
	e.status = chance(70) ? 0 : chance(50) ? EIO : (uint32_t)rnd();
	if (bad)
		e.reserved = some_bit(64);
	p = arg_ptr(&e, sizeof(e), &bad);
	/* Success depends on what still waits: only the errno is judged. */
	judge("EVENT_DONE", ioctl(ctrls[ctrl], VIRTIO_LOOPBACK_IOC_EVENT_DONE, p),
	      ERR_IOCTL, bad);
}

static void op_fail(int ctrl, uint32_t handle, struct dev *d)
{
	struct virtio_loopback_fail f = { .handle = handle };
	int bad = chance(10);
	void *p;

	f.status = chance(80) ? EIO : (uint32_t)rnd();
	if (bad)
		f.reserved = some_bit(64);
	p = arg_ptr(&f, sizeof(f), &bad);
	judge("FAIL_DEVICE", ioctl(ctrls[ctrl], VIRTIO_LOOPBACK_IOC_FAIL_DEVICE, p),
	      ERR_IOCTL, bad || !d);
}

static int is_real_cmd(unsigned long cmd)
{
	return cmd == VIRTIO_LOOPBACK_IOC_GET_API_VERSION ||
	       cmd == VIRTIO_LOOPBACK_IOC_SET_API_VERSION ||
	       cmd == VIRTIO_LOOPBACK_IOC_CREATE_DEVICE ||
	       cmd == VIRTIO_LOOPBACK_IOC_DESTROY_DEVICE ||
	       cmd == VIRTIO_LOOPBACK_IOC_SET_QUEUE_FDS ||
	       cmd == VIRTIO_LOOPBACK_IOC_GET_QUEUE_INFO ||
	       cmd == VIRTIO_LOOPBACK_IOC_SET_CONFIG ||
	       cmd == VIRTIO_LOOPBACK_IOC_EVENT_DONE ||
	       cmd == VIRTIO_LOOPBACK_IOC_FAIL_DEVICE;
}

/*
 * A command number that is none of ours: in magic 0xBE (our numbers with
 * another size or direction, or other numbers), or outside it. Types the
 * VFS handles itself for every file (FIOCLEX & co. 'T', FIFREEZE 'X',
 * FS_IOC_* 'f', FICLONE 0x94, FS_IOC_GETFSUUID 0x15, FIBMAP/FIGETBSZ 0)
 * are left out: they never reach the module.
 */
static unsigned long random_cmd(void)
{
	static const unsigned int dirs[] = {
		_IOC_NONE, _IOC_READ, _IOC_WRITE, _IOC_READ | _IOC_WRITE,
	};
	unsigned long cmd;
	unsigned int type;

	do {
		if (chance(60)) {
			type = VIRTIO_LOOPBACK_IOC_MAGIC;
		} else {
			do
				type = rndn(256);
			while (type == 0 || type == 0x15 || type == 'T' ||
			       type == 'X' || type == 'f' || type == 0x94);
		}
		cmd = _IOC(dirs[rndn(4)], type,
			   chance(70) ? rndn(10) : rndn(256),
			   chance(50) ? 8 * rndn(20) : rndn(1 << 14));
		if (chance(5))
			cmd = (uint32_t)rnd();
	} while (is_real_cmd(cmd) || _IOC_TYPE(cmd) == 0 ||
		 _IOC_TYPE(cmd) == 0x15 || _IOC_TYPE(cmd) == 'T' ||
		 _IOC_TYPE(cmd) == 'X' || _IOC_TYPE(cmd) == 'f' ||
		 _IOC_TYPE(cmd) == 0x94);
	return cmd;
}

static void op_ioctl_random(void)
{
	int ctrl = pick_ctrl();
	unsigned long cmd = random_cmd();

	if (ctrl < 0)
		return;
	judge("ioctl(random)", ioctl(ctrls[ctrl], cmd, ptr_of(pick_ptr(), 64)),
	      E(ENOTTY), 1);
}

static void check_event(int ctrl, const struct virtio_loopback_event *e)
{
	n_events++;
	if (e->type < VIRTIO_LOOPBACK_EVENT_FEATURES_OK ||
	    e->type > VIRTIO_LOOPBACK_EVENT_CONFIG_WRITE || e->reserved0 ||
	    (e->flags & ~VIRTIO_LOOPBACK_EVENT_F_NEED_REPLY) ||
	    e->seq <= last_seq[ctrl])
		unexpected("read", "bad event type=%u flags=%u seq=%llu after %llu",
			   e->type, e->flags, (unsigned long long)e->seq,
			   (unsigned long long)last_seq[ctrl]);
	if (e->type == VIRTIO_LOOPBACK_EVENT_CONFIG_WRITE &&
	    (!e->u.config_write.size ||
	     e->u.config_write.size > VIRTIO_LOOPBACK_CONFIG_WRITE_MAX))
		unexpected("read", "CONFIG_WRITE size %u",
			   e->u.config_write.size);
	last_seq[ctrl] = e->seq;
	if (!(e->flags & VIRTIO_LOOPBACK_EVENT_F_NEED_REPLY))
		return;
	evs[nevs % MAX_EVS].ctrl = ctrl;
	evs[nevs % MAX_EVS].handle = e->handle;
	evs[nevs % MAX_EVS].seq = e->seq;
	nevs++;
}

static void op_read(void)
{
	static const size_t sizes[] = {
		0, 1, 64, 127, 128, 129, 200, 255, 256, 384, 1000, 2048,
	};
	int ctrl = pick_ctrl();
	enum ptr_kind k = pick_ptr();
	size_t size = sizes[rndn(12)];
	uint8_t *p;
	long r;

	if (ctrl < 0)
		return;
	if (chance(5))
		size = rnd() >> rndn(64);
	if (size > sizeof(buf) - 8 && !ptr_faults(k) && k != P_RO)
		size = sizeof(buf) - 8;
	p = ptr_of(k, size < sizeof(buf) - 8 ? size : 64);
	r = judge("read", read(ctrls[ctrl], p, size),
		  E(EINVAL) | E(EAGAIN) | E(EFAULT),
		  size < sizeof(struct virtio_loopback_event));
	if (r > 0) {
		long i;

		if (r % sizeof(struct virtio_loopback_event) || (size_t)r > size)
			unexpected("read", "%ld bytes of %zu", r, size);
		for (i = 0; i + (long)sizeof(struct virtio_loopback_event) <= r;
		     i += sizeof(struct virtio_loopback_event)) {
			struct virtio_loopback_event e;

			memcpy(&e, p + i, sizeof(e));
			check_event(ctrl, &e);
		}
	}
}

static void op_write(void)
{
	int ctrl = pick_ctrl();

	if (ctrl < 0)
		return;
	judge("write", write(ctrls[ctrl], ptr_of(pick_ptr(), 256), rndn(257)),
	      E(EINVAL) | E(EFAULT), 1);
}

static void op_lseek(void)
{
	int ctrl = pick_ctrl();

	if (ctrl < 0)
		return;
	judge("lseek", lseek(ctrls[ctrl], rnd() >> 40, rndn(3)), E(ESPIPE), 1);
}

static void op_poll(void)
{
	struct pollfd p[MAX_CTRL];
	int i, n = 0;

	for (i = 0; i < MAX_CTRL; i++) {
		if (ctrls[i] < 0)
			continue;
		p[n].fd = ctrls[i];
		p[n].events = POLLIN | POLLOUT | POLLPRI;
		n++;
	}
	if (judge("poll", poll(p, n, 0), 0, 0) < 0)
		return;
	for (i = 0; i < n; i++)
		if (p[i].revents & ~(POLLIN | POLLRDNORM))
			unexpected("poll", "revents 0x%x", p[i].revents);
}

static void op_mmap_pool(void)
{
	static const int prots[] = {
		PROT_NONE, PROT_READ, PROT_WRITE, PROT_READ | PROT_WRITE,
		PROT_READ | PROT_EXEC,
	};
	struct poolfd *pf = &poolfds[rndn(MAX_POOLFDS)];
	int prot = prots[rndn(5)], flags = chance(85) ? MAP_SHARED : MAP_PRIVATE;
	uint64_t len, off;
	int must_fail;
	void *a;
	int i;

	if (pf->fd < 0)
		return;
	switch (rndn(6)) {
	case 0:
		off = 0;
		len = pf->size;
		break;
	case 1:
		off = PAGE * rndn(pf->size / PAGE);
		len = PAGE * (1 + rndn(4));
		break;
	case 2:
		off = PAGE * rndn(pf->size / PAGE + 4);
		len = PAGE * (1 + rndn(pf->size / PAGE + 4));
		break;
	case 3:
		off = rnd() & ~(PAGE - 1);
		len = PAGE;
		break;
	case 4:
		off = rndn(pf->size);
		len = rndn(pf->size) + 1;
		break;
	default:
		off = 0;
		len = chance(50) ? 0 : (rnd() >> rndn(40)) & ~(PAGE - 1);
		break;
	}
	/*
	 * Page-rounded, the range must lie in the pool, shared. A pool whose
	 * device is gone is revoked (-ENODEV).
	 */
	must_fail = flags != MAP_SHARED || (off & (PAGE - 1)) || !len ||
		    off > pf->size ||
		    ((len + PAGE - 1) & ~(PAGE - 1)) > pf->size - off;
	a = mmap(NULL, len, prot, flags, pf->fd, off);
	if (judge("mmap(pool)", a == MAP_FAILED ? -1 : 0,
		  E(EINVAL) | E(ENOMEM) | E(EACCES) | E(EPERM) | E(EOVERFLOW) |
		  E(ENODEV),
		  must_fail) < 0 || must_fail) {
		if (a != MAP_FAILED)
			munmap(a, len);
		return;
	}
	n_maps++;
	i = rndn(MAX_MAPS);
	drop_map(i);
	maps[i].addr = a;
	maps[i].len = len;
	maps[i].prot = prot;
	maps[i].bound = pf->bound;
	touch_map(&maps[i]);
}

static void op_other_fds(void)
{
	struct poolfd *pf = &poolfds[rndn(MAX_POOLFDS)];
	int ctrl = pick_ctrl();
	void *a;

	switch (rndn(6)) {
	case 0:		/* the control fd has no mmap */
		if (ctrl < 0)
			return;
		a = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, ctrls[ctrl], 0);
		judge("mmap(ctrl)", a == MAP_FAILED ? -1 : 0, E(ENODEV), 1);
		if (a != MAP_FAILED)
			munmap(a, PAGE);
		break;
	case 1:
		if (pf->fd >= 0)
			judge("read(pool)", read(pf->fd, buf, rndn(256)),
			      E(EINVAL), 1);
		break;
	case 2:
		if (pf->fd >= 0)
			judge("write(pool)", write(pf->fd, buf, rndn(256)),
			      E(EINVAL), 1);
		break;
	case 3:
		if (pf->fd >= 0)
			judge("ioctl(pool)",
			      ioctl(pf->fd, chance(50) ? random_cmd() :
				    VIRTIO_LOOPBACK_IOC_GET_API_VERSION, buf),
			      E(ENOTTY), 1);
		break;
	case 4:
		if (pf->fd >= 0) {
			judge("close(pool)", close(pf->fd), 0, 0);
			pf->fd = -1;
		}
		break;
	default:
		drop_map(rndn(MAX_MAPS));
		break;
	}
}

/* An eventfd write: a call fd runs the driver's interrupt, a kick fd nothing. */
static void op_eventfd(void)
{
	uint64_t one = 1;
	int fd = evfds[rndn(6)];

	if (chance(50))
		judge("write(eventfd)", write(fd, &one, sizeof(one)), E(EAGAIN), 0);
	else
		judge("read(eventfd)", read(fd, &one, sizeof(one)), E(EAGAIN), 0);
}

static void setup(void)
{
	int i;

	for (i = 0; i < MAX_CTRL; i++) {
		ctrls[i] = -1;
		ctrl_api[i] = 1;
	}
	for (i = 0; i < MAX_POOLFDS; i++)
		poolfds[i].fd = -1;
	for (i = 0; i < 6; i++)
		evfds[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pipe2(pipefd, O_NONBLOCK | O_CLOEXEC))
		perror("VL pipe");
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	closedfd = dup(nullfd);
	close(closedfd);
	guard = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ro_page = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guard == MAP_FAILED || ro_page == MAP_FAILED ||
	    mprotect(guard + 2 * PAGE, PAGE, PROT_NONE)) {
		perror("VL mmap");
		exit(2);
	}
}

/* Worker 0: devices whose first RESET nobody answers. */
static int sticky_fd = -1;
static double sticky_since;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void sticky_open(void)
{
	struct virtio_loopback_create c;
	uint8_t cfg[256];
	int i;

	sticky_fd = open("/dev/" VIRTIO_LOOPBACK_DEV_NAME, O_RDWR | O_CLOEXEC);
	for (i = 0; i < 2 && sticky_fd >= 0; i++) {
		valid_create(&c, cfg);
		c.pool_size = MIN_POOL;
		if (judge("CREATE_DEVICE(sticky)",
			  ioctl(sticky_fd, VIRTIO_LOOPBACK_IOC_CREATE_DEVICE, &c),
			  0, 0) == 0)
			close(c.pool_fd);
	}
	sticky_since = now();
}

static void sticky_close(void)
{
	double wait = 3;
	FILE *f;
	int ms;

	if (sticky_fd < 0)
		return;
	f = fopen("/sys/module/virtio_loopback/parameters/sync_timeout_ms", "r");
	if (f && fscanf(f, "%d", &ms) == 1)
		wait = 1.5 * ms / 1000;
	if (f)
		fclose(f);
	while (now() < sticky_since + wait)
		usleep(10000);
	judge("close(sticky)", close(sticky_fd), 0, 0);
}

static void teardown(void)
{
	int i;

	for (i = 0; i < MAX_MAPS; i++)
		drop_map(i);
	for (i = 0; i < MAX_POOLFDS; i++)
		if (poolfds[i].fd >= 0)
			close(poolfds[i].fd);
	for (i = 0; i < MAX_CTRL; i++)
		if (ctrls[i] >= 0) {
			judge("close", close(ctrls[i]), 0, 0);
			ctrl_closed(i);
		}
}

/* An ioctl on one device: a control fd, a handle, its device if live. */
typedef void dev_op_fn(int ctrl, uint32_t handle, struct dev *d);

static const struct {
	void (*fn)(void);
	dev_op_fn *dev_fn;
	unsigned int weight;
} ops[] = {
	{ op_open, NULL, 3 },
	{ op_close_ctrl, NULL, 1 },
	{ op_api, NULL, 3 },
	{ op_set_api, NULL, 2 },
	{ op_create_valid, NULL, 8 },
	{ op_create_invalid, NULL, 8 },
	{ NULL, op_destroy, 7 },
	{ NULL, op_set_queue_fds, 10 },
	{ NULL, op_get_queue_info, 6 },
	{ NULL, op_set_config, 6 },
	{ NULL, op_event_done, 8 },
	{ NULL, op_fail, 3 },
	{ op_ioctl_random, NULL, 8 },
	{ op_read, NULL, 10 },
	{ op_write, NULL, 2 },
	{ op_lseek, NULL, 1 },
	{ op_poll, NULL, 3 },
	{ op_mmap_pool, NULL, 6 },
	{ op_other_fds, NULL, 5 },
	{ op_eventfd, NULL, 4 },
};

static void run_op(unsigned int i)
{
	struct dev *d;
	uint32_t handle;
	int ctrl;

	if (ops[i].fn) {
		ops[i].fn();
		return;
	}
	ctrl = pick_ctrl();
	handle = pick_handle(ctrl, &d);
	ops[i].dev_fn(ctrl, handle, d);
}

static int fuzz(uint64_t seed, unsigned long nops, int worker)
{
	unsigned int total = 0, i, w;
	struct timespec t0, t1;
	int e;

	rs = seed ? seed : 1;
	setup();
	if (worker == 0)
		sticky_open();
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		total += ops[i].weight;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (op_index = 0; op_index < nops; op_index++) {
		if (pick_ctrl() < 0) {
			op_open();
			continue;
		}
		/* Now and then many big pools at once: ENOMEM, no OOM. */
		if (op_index == nops / 2 && worker == 0)
			op_create_huge();
		w = rndn(total);
		for (i = 0; w >= ops[i].weight; i++)
			w -= ops[i].weight;
		run_op(i);
	}
	teardown();
	sticky_close();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("VL fuzz summary worker=%d seed=%llu ops=%lu calls=%lu ok=%lu failed=%lu unexpected=%lu created=%lu max_live=%lu events=%lu mappings=%lu secs=%.1f errno:",
	       worker, (unsigned long long)seed, nops, calls, n_ok, n_err,
	       n_unexpected, n_created, live_max, n_events, n_maps,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	for (e = 1; e < NR_ERRNO; e++)
		if (errcount[e])
			printf(" %s=%lu", vlt_errname(e), errcount[e]);
	printf("\n");
	return n_unexpected ? 1 : 0;
}

int main(int argc, char **argv)
{
	unsigned long nops = 20000;
	uint64_t seed = 0;
	int opt, workers = 1, i, rc = 0, status;

	while ((opt = getopt(argc, argv, "n:s:j:v")) != -1) {
		switch (opt) {
		case 'n':
			nops = strtoul(optarg, NULL, 0);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'j':
			workers = atoi(optarg);
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			fprintf(stderr, "usage: %s [-n OPS] [-s SEED] [-j WORKERS] [-v]\n",
				argv[0]);
			return 2;
		}
	}
	if (workers < 1 || workers > 16)
		workers = 1;
	if (!seed)
		seed = ((uint64_t)time(NULL) << 16) ^ getpid();
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("VL fuzz seed=%llu ops=%lu workers=%d\n",
	       (unsigned long long)seed, nops, workers);
	if (workers == 1)
		return fuzz(seed, nops, 0);
	for (i = 0; i < workers; i++) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(fuzz(seed + i, nops / workers, i));
		if (pid < 0) {
			perror("VL fork");
			rc = 2;
		}
	}
	while (wait(&status) > 0) {
		if (!WIFEXITED(status)) {
			printf("VL UNEXPECTED worker killed by signal %d\n",
			       WTERMSIG(status));
			rc = 3;
		} else if (WEXITSTATUS(status) && !rc) {
			rc = WEXITSTATUS(status);
		}
	}
	return rc;
}
