// SPDX-License-Identifier: GPL-2.0-only
/*
 * vl-hostile: a back end that attacks the module, one attack per run. It
 * serves a virtio-rng or virtio-blk device straight from
 * /dev/virtio-loopback, honestly until the attack starts, then writes into
 * its pool what a hostile back end would. Whatever it writes, the kernel
 * must stay up, and the driver must get either the right data or an error:
 * never wrong data as success.
 *
 * Usage: vl-hostile ATTACK [SECONDS]
 *
 *   next-loop   rng: after three honest requests, set VRING_DESC_F_NEXT
 *               (pointing at itself) on every shadow descriptor, and go on
 *               returning valid heads. (Old module: virtio_ring followed the
 *               loop with interrupts off: rcu stall.)
 *   next-clear  blk: once armed (SIGUSR1), clear NEXT on each request's head
 *               in the shadow table and serve what is left of the chain:
 *               the header only, so nothing is written and the head goes back
 *               with length 0. (Old module: reads succeeded with buffers that
 *               were never written.)
 *   bad-id      blk: once armed, return an id beyond the ring.
 *   dup-id      blk: once armed, return the same head twice.
 *   bad-len     blk: once armed, report 4096 bytes more than the chain has.
 *   idx-jump    blk: once armed, move the used index by 1000 with no entries.
 *   outlive     blk: a child process keeps serving from the pool after this
 *               process (the adapter's role) closed the control fd on
 *               SIGUSR1; the child goes on until SIGTERM.
 *   call-race   rng: two threads replace the call eventfd (SET_QUEUE_FDS)
 *               and write it as fast as they can while requests are served.
 *   refused     CREATE_DEVICE of virtio-pmem (27) and virtio-mem (24) must
 *               fail with EPERM; a virtio-net device offered the control
 *               queue must not be offered it.
 *   silent-console  a virtio-console (no MULTIPORT) whose back end reads
 *               every kick and answers none, while the guest writes to
 *               /dev/hvc0: virtio_console waits for each console buffer
 *               with interrupts off. (Old module: that CPU spun for good.)
 *   console-bad-id  the same console, honest for its first transmit
 *               buffers, then returns an id beyond the ring while the guest
 *               writes. (Old module: the waiting driver freed a buffer that
 *               stayed in its ring, a use-after-free at removal.)
 *   silent-console-port  a MULTIPORT console with two ports whose back end
 *               answers the control queue honestly and answers nothing on
 *               port 1's transmit queue. Port 1 starts as an open serial
 *               port (the guest leaves writes outstanding on it); once
 *               armed, the back end makes it the console (/dev/hvc0).
 *               (Old module, which posted port 0's queue only: that CPU
 *               spun for good.)
 *   console-swap  the same device; port 1's message is a harmless RESIZE,
 *               and right after returning it the back end rewrites the
 *               buffer into CONSOLE_PORT, for 300 ms. The driver must act on
 *               the message the module read: no console appears. (Module
 *               that read the pool and left the copy to the unmap: the
 *               driver made port 1 a console the module never posted.)
 *
 * Prints "VL ..." lines (the guest script greps them), "VL attack started"
 * when the attack begins. Exits on SIGTERM or after SECONDS (default 60).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vl-test-lib.h"

#define FILL_BYTE	0x5a
#define RNG_POOL	(1u << 20)
#define BLK_POOL	(1u << 20)
#define QUEUE_SIZE	128
#define DISK_SIZE	(8u << 20)

static const char *attack;
static volatile sig_atomic_t armed;
static unsigned long served;
static struct vlt_blk blk;
static int attack_logged;

static int is(const char *name)
{
	return !strcmp(attack, name);
}

static void on_usr1(int sig)
{
	(void)sig;
	armed = 1;
}

static void started(void)
{
	if (!attack_logged) {
		attack_logged = 1;
		printf("VL attack started: %s after %lu requests\n", attack,
		       served);
	}
}

/* --- rng ------------------------------------------------------------------ */

static uint32_t rng_serve(struct vlt_dev *t, unsigned int qi, uint16_t *id,
			  struct vlt_seg *segs, int ns)
{
	struct vlt_queue *q = &t->q[qi];
	uint32_t total = 0, i;

	for (i = 0; (int)i < ns; i++) {
		if (!segs[i].wr)
			continue;
		memset(segs[i].p, FILL_BYTE, segs[i].len);
		total += segs[i].len;
	}
	if (is("next-loop") && served >= 3) {
		started();
		for (i = 0; i < q->size; i++) {
			q->desc[i].flags |= VRING_DESC_F_NEXT;
			q->desc[i].next = i;
		}
	}
	(void)id;
	served++;
	return total;
}

static void rng_kick(struct vlt_dev *t, unsigned int qi)
{
	vlt_serve(t, qi, rng_serve);
}

/* call-race: the queue's call eventfd, replaced under the server's feet. */
static volatile int race_call = -1;
static volatile int race_stop;

static void *race_replace(void *arg)
{
	struct vlt_dev *t = arg;
	unsigned long n = 0;

	while (!race_stop) {
		struct virtio_loopback_queue_fds qf = {
			.handle = t->handle, .kick_fd = t->q[0].kick,
		};
		int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), old;

		if (fd < 0)
			break;
		qf.call_fd = fd;
		if (ioctl(t->ctrl, VIRTIO_LOOPBACK_IOC_SET_QUEUE_FDS, &qf) < 0) {
			close(fd);
			continue;
		}
		old = __atomic_exchange_n(&race_call, fd, __ATOMIC_ACQ_REL);
		t->q[0].call = fd;
		if (old >= 0)
			close(old);
		n++;
	}
	printf("VL call-race: %lu call fds installed\n", n);
	return NULL;
}

static void *race_write(void *arg)
{
	uint64_t one = 1;
	unsigned long n = 0;

	(void)arg;
	while (!race_stop) {
		int fd = __atomic_load_n(&race_call, __ATOMIC_ACQUIRE);

		if (fd >= 0 && write(fd, &one, sizeof(one)) == sizeof(one))
			n++;
	}
	printf("VL call-race: %lu call writes\n", n);
	return NULL;
}

static int run_rng(int seconds)
{
	struct virtio_loopback_create c;
	struct vlt_dev t = { .quiet = 1 };
	pthread_t th[2];
	int ctrl, racing = is("call-race");

	ctrl = vlt_open();
	if (ctrl < 0)
		return 1;
	vlt_params(&c, 4, 1, QUEUE_SIZE, RNG_POOL, NULL, 0);	/* RNG */
	if (vlt_create(&t, ctrl, &c) < 0)
		return 1;
	t.on_kick = rng_kick;
	printf("VL created rng device handle=%u\n", t.handle);
	if (racing) {
		race_call = t.q[0].call;
		served = 0;
		started();
		pthread_create(&th[0], NULL, race_replace, &t);
		pthread_create(&th[1], NULL, race_write, NULL);
	}
	vlt_run(&t, seconds, NULL);
	if (racing) {
		race_stop = 1;
		pthread_join(th[0], NULL);
		pthread_join(th[1], NULL);
	}
	printf("VL served requests=%lu\n", served);
	vlt_close(&t);
	return 0;
}

/* --- blk ------------------------------------------------------------------ */

static uint32_t blk_serve(struct vlt_dev *t, unsigned int qi, uint16_t *id,
			  struct vlt_seg *segs, int ns)
{
	struct vlt_queue *q = &t->q[qi];
	uint32_t len;

	served++;
	if (!armed)
		return vlt_blk_request(&blk, segs, ns);
	started();
	if (is("next-clear")) {
		/* The chain as the back end now sees it: its head alone. */
		q->desc[*id].flags &= ~VRING_DESC_F_NEXT;
		return vlt_blk_request(&blk, segs, vlt_walk(t, q, *id, segs));
	}
	len = vlt_blk_request(&blk, segs, ns);
	if (is("bad-id")) {
		*id = q->size + 5;
	} else if (is("bad-len")) {
		len += 4096;
	} else if (is("dup-id")) {
		vlt_push(q, *id, len);		/* and once more by the caller */
	} else if (is("idx-jump")) {
		q->used[1] += 1000;
	}
	return len;
}

static void blk_kick(struct vlt_dev *t, unsigned int qi)
{
	vlt_serve(t, qi, blk_serve);
}

/*
 * outlive: from DRIVER_OK on, a child serves the rings from the shared pool
 * mapping; this process only answers events, and closes the control fd on
 * SIGUSR1 (the adapter dies) while the child goes on.
 */
static pid_t child;

static void blk_fork_server(struct vlt_dev *t)
{
	if (child || !t->driver_ok || !t->q[0].ready)
		return;
	child = fork();
	if (child == 0) {
		int kick = t->q[0].kick;

		close(t->ctrl);
		t->ctrl = -1;
		t->on_kick = blk_kick;
		while (!vlt_stop) {
			struct pollfd p = { .fd = kick, .events = POLLIN };
			uint64_t cnt;

			/* A kick, or every 100 ms anyway. */
			if (poll(&p, 1, 100) > 0 &&
			    read(kick, &cnt, sizeof(cnt)) < 0)
				cnt = 0;
			blk_kick(t, 0);
		}
		printf("VL outlive child: served %lu requests, exiting\n",
		       served);
		_exit(0);
	}
	printf("VL outlive: child %d serves the rings\n", child);
}

static void blk_tick(struct vlt_dev *t)
{
	if (is("outlive")) {
		blk_fork_server(t);
		if (armed && t->ctrl >= 0) {
			printf("VL outlive: closing the control fd, the child serves on\n");
			close(t->ctrl);
			t->ctrl = -1;
			vlt_stop = 1;
		}
	}
}

static int run_blk(int seconds)
{
	struct virtio_loopback_create c;
	uint64_t cfg[8] = { DISK_SIZE / 512 };	/* capacity in sectors */
	struct vlt_dev t = { .quiet = 1 };
	int ctrl, outlive = is("outlive");

	ctrl = vlt_open();
	if (ctrl < 0 || vlt_blk_init(&blk, DISK_SIZE) < 0)
		return 1;
	vlt_params(&c, 2, 1, QUEUE_SIZE, BLK_POOL, cfg, sizeof(cfg));
	/* FLUSH, INDIRECT_DESC; next-clear wants real multi-descriptor heads. */
	c.device_features = (1ull << 9) | (is("next-clear") ? 0 : 1ull << 28);
	if (vlt_create(&t, ctrl, &c) < 0)
		return 1;
	t.on_kick = outlive ? NULL : blk_kick;
	printf("VL created blk device handle=%u\n", t.handle);
	vlt_run(&t, seconds, blk_tick);
	if (outlive) {
		if (t.ctrl < 0 && child > 0) {
			int status;

			/* The child goes on until the guest stops it. */
			waitpid(child, &status, 0);
			printf("VL outlive: child exited %d\n", WEXITSTATUS(status));
		}
		vlt_release(&t);
		return 0;
	}
	printf("VL served requests=%lu in=%lu out=%lu bad=%lu\n", served,
	       blk.n_in, blk.n_out, blk.n_bad);
	vlt_close(&t);
	return 0;
}

/* --- console ------------------------------------------------------------- */

#define CONSOLE_POOL	(8u << 20)

/* Queue 1, port 0's transmit queue: take the bytes, then lie about the id. */
static uint32_t console_serve(struct vlt_dev *t, unsigned int qi, uint16_t *id,
			      struct vlt_seg *segs, int ns)
{
	(void)segs;
	(void)ns;
	if (++served > 16) {
		started();
		*id = t->q[qi].size + 5;
	}
	return 0;
}

static void console_kick(struct vlt_dev *t, unsigned int qi)
{
	/* Receive buffers (queue 0) stay with the back end: nothing to say. */
	if (qi == 1)
		vlt_serve(t, qi, console_serve);
}

/*
 * silent-console-port and console-swap: the control queue (virtio spec
 * 5.3.6.2). Messages for the driver wait here until it has a receive buffer
 * for them.
 */
#define CON_DEVICE_READY	0
#define CON_PORT_ADD		1
#define CON_PORT_READY		3
#define CON_CONSOLE_PORT	4
#define CON_RESIZE		5
#define CON_PORT_OPEN		6
#define CON_PENDING		16

struct con_msg {
	uint32_t id;
	uint16_t event;
	uint16_t value;
};

static struct con_msg con_pending[CON_PENDING];
static unsigned int con_npending;

static void con_say(uint32_t id, uint16_t event, uint16_t value)
{
	if (con_npending < CON_PENDING)
		con_pending[con_npending++] = (struct con_msg){ id, event, value };
}

/* Queue 3: the driver's control messages, each answered at once. */
static uint32_t con_control(struct vlt_dev *t, unsigned int qi, uint16_t *id,
			    struct vlt_seg *segs, int ns)
{
	struct con_msg m;

	(void)t;
	(void)qi;
	(void)id;
	if (ns < 1 || segs[0].wr || segs[0].len < sizeof(m))
		return 0;
	memcpy(&m, segs[0].p, sizeof(m));
	printf("VL control from the driver: id %u event %u value %u\n",
	       m.id, m.event, m.value);
	if (m.event == CON_DEVICE_READY && m.value) {
		con_say(0, CON_PORT_ADD, 0);
		con_say(1, CON_PORT_ADD, 0);
	} else if (m.event == CON_PORT_READY && m.value && m.id == 1) {
		con_say(1, CON_PORT_OPEN, 1);
		if (is("console-swap"))
			con_say(1, CON_RESIZE, 0);
	}
	return 0;
}

/* console-swap: turn the RESIZE just returned into CONSOLE_PORT, again and again. */
static void con_swap(struct con_msg *m)
{
	const struct con_msg console = { 1, CON_CONSOLE_PORT, 1 };
	struct timespec t0, t;

	started();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		__atomic_store_n(&m->event, console.event, __ATOMIC_RELAXED);
		__atomic_store_n(&m->value, console.value, __ATOMIC_RELAXED);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < 300);
}

/* Queue 2: hand the pending messages over, one per receive buffer. */
static void con_flush(struct vlt_dev *t)
{
	struct vlt_queue *q = &t->q[2];
	struct vlt_seg segs[VLT_MAX_SEGS];
	unsigned int sent = 0;
	uint16_t head;

	while (sent < con_npending && q->ready && !vlt_pop(q, &head)) {
		if (vlt_walk(t, q, head, segs) < 1 || !segs[0].wr ||
		    segs[0].len < sizeof(con_pending[0])) {
			vlt_push(q, head, 0);
			continue;
		}
		memcpy(segs[0].p, &con_pending[sent++], sizeof(con_pending[0]));
		vlt_push(q, head, sizeof(con_pending[0]));
		/* console-swap: the driver must have it before the rewriting. */
		if (con_pending[sent - 1].event == CON_RESIZE) {
			vlt_call(q);
			con_swap((struct con_msg *)segs[0].p);
		}
	}
	memmove(con_pending, con_pending + sent,
		(con_npending - sent) * sizeof(con_pending[0]));
	con_npending -= sent;
	if (sent)
		vlt_call(q);
}

static void con_port_kick(struct vlt_dev *t, unsigned int qi)
{
	/* Port 1's transmit queue (5) is the silent one. */
	if (qi == 3)
		vlt_serve(t, qi, con_control);
	if (qi == 2 || qi == 3)
		con_flush(t);
}

/* Once armed: port 1 becomes the console. */
static void con_tick(struct vlt_dev *t)
{
	if (!armed || attack_logged)
		return;
	con_say(1, CON_CONSOLE_PORT, 1);
	started();
	con_flush(t);
}

static int run_console_port(int seconds)
{
	/* virtio_console_config: cols, rows, max_nr_ports, emerg_wr. */
	static const uint32_t cfg[3] = { 0, 2, 0 };
	struct virtio_loopback_create c;
	struct vlt_dev t = { .quiet = 1 };
	int ctrl = vlt_open();

	if (ctrl < 0)
		return 1;
	/* Ports 0 and 1, each a receive and a transmit queue, and control. */
	vlt_params(&c, 3, 6, QUEUE_SIZE, CONSOLE_POOL, cfg, sizeof(cfg));
	c.device_features = 1ull << 1;	/* VIRTIO_CONSOLE_F_MULTIPORT */
	if (vlt_create(&t, ctrl, &c) < 0)
		return 1;
	t.on_kick = con_port_kick;
	printf("VL created console device handle=%u\n", t.handle);
	vlt_run(&t, seconds, con_tick);
	vlt_close(&t);
	return 0;
}

static int run_console(int seconds)
{
	struct virtio_loopback_create c;
	struct vlt_dev t = { .quiet = 1 };
	int ctrl = vlt_open();

	if (ctrl < 0)
		return 1;
	/* Port 0's receive and transmit queues; no config, so no MULTIPORT. */
	vlt_params(&c, 3, 2, QUEUE_SIZE, CONSOLE_POOL, NULL, 0);
	if (vlt_create(&t, ctrl, &c) < 0)
		return 1;
	/* silent-console: kicks are read and never answered. */
	t.on_kick = is("console-bad-id") ? console_kick : NULL;
	printf("VL created console device handle=%u\n", t.handle);
	if (!t.on_kick)
		started();
	vlt_run(&t, seconds, NULL);
	printf("VL served requests=%lu\n", served);
	vlt_close(&t);
	return 0;
}

/* --- refused -------------------------------------------------------------- */

static int run_refused(void)
{
	struct virtio_loopback_api_select sel = { .api_version = 2 };
	struct virtio_loopback_create c;
	static const uint32_t ids[] = { 27, 24 };
	int ctrl = vlt_open(), bad = 0, r;
	unsigned int i;

	if (ctrl < 0)
		return 1;
	r = ioctl(ctrl, VIRTIO_LOOPBACK_IOC_SET_API_VERSION, &sel);
	printf("VL refused: SET_API_VERSION 2 = %s\n", vlt_errname(r < 0 ? errno : 0));
	for (i = 0; i < 2; i++) {
		vlt_params(&c, ids[i], 1, 64, 1u << 20, NULL, 0);
		r = ioctl(ctrl, VIRTIO_LOOPBACK_IOC_CREATE_DEVICE, &c);
		printf("VL refused: device %u: %s\n", ids[i],
		       r < 0 ? vlt_errname(errno) : "CREATED");
		if (r == 0 || errno != EPERM)
			bad = 1;
	}
	/* virtio-net offering CTRL_VQ (17), MQ (22) and MAC (5). */
	vlt_params(&c, 1, 3, 64, 1u << 20, NULL, 0);
	c.device_features = (1ull << 17) | (1ull << 22) | (1ull << 5);
	r = ioctl(ctrl, VIRTIO_LOOPBACK_IOC_CREATE_DEVICE, &c);
	if (r < 0) {
		printf("VL refused: net: %s\n", vlt_errname(errno));
		bad = 1;
	} else {
		printf("VL refused: net offered 0x%llx\n",
		       (unsigned long long)c.offered_features);
		if (!(c.offered_features & (1ull << 5)) ||
		    (c.offered_features & ((1ull << 17) | (1ull << 22))))
			bad = 1;
	}
	printf("VL refused: %s\n", bad ? "FAILED" : "all refused or filtered");
	close(ctrl);
	return bad;
}

int main(int argc, char **argv)
{
	int seconds = argc > 2 ? atoi(argv[2]) : 60;

	vlt_init();
	signal(SIGUSR1, on_usr1);
	if (argc < 2) {
		fprintf(stderr, "usage: vl-hostile ATTACK [SECONDS]\n");
		return 2;
	}
	attack = argv[1];
	printf("VL attack %s, pid %d\n", attack, getpid());
	if (is("refused"))
		return run_refused();
	if (is("silent-console") || is("console-bad-id"))
		return run_console(seconds);
	if (is("silent-console-port") || is("console-swap"))
		return run_console_port(seconds);
	if (is("next-loop") || is("call-race"))
		return run_rng(seconds);
	if (is("next-clear") || is("bad-id") || is("dup-id") || is("bad-len") ||
	    is("idx-jump") || is("outlive"))
		return run_blk(seconds);
	fprintf(stderr, "vl-hostile: unknown attack '%s'\n", attack);
	return 2;
}
