// SPDX-License-Identifier: GPL-2.0-only
/*
 * vl-churn: create and remove devices over and over, for leak checks (the
 * guest script compares /proc/meminfo and /proc/slabinfo around a run).
 *
 *  a  a bare device (an ID no driver claims, two queues): CREATE_DEVICE,
 *     pool mapped, queue eventfds attached, the registration's RESET
 *     answered (or not yet), DESTROY_DEVICE, everything closed;
 *  b  a virtio-rng device: the real virtio_rng driver binds, a child reads
 *     /dev/hwrng while this process serves the requests (as vl-rng-test
 *     does), then DESTROY_DEVICE. With VL_RNG_KEEP=virtio_rng.N in the
 *     environment (another rng device that stays, so that the hwrng core
 *     always has one: removing the last one races its fill thread on 5.10),
 *     the child first makes this device the current one (rng_current);
 *  c  a control fd with a bare and a virtio-rng device, served for a random
 *     moment (0-50 ms: mid-probe or running), then closed with both alive.
 *
 * Usage: vl-churn [-n ROUNDS] [-m MODES] [-s SEED]   (default 100, "abc")
 * Prints "VL churn mode=X rounds=N ok=N failed=N ..." per mode; exits 0
 * when every round worked.
 *
 * vl-churn -S prints "name active_objs objsize objperslab reclaimable" per
 * slab cache instead, right after flushing SLUB's per-CPU slabs (whose free
 * objects /proc/slabinfo counts as active): every shrink file and
 * /proc/slabinfo are opened first, so nothing is allocated between the
 * flush and the read. reclaimable is the cache's reclaim_account (dentries,
 * inodes: memory the kernel frees under pressure).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vl-test-lib.h"

#define FILL_BYTE	0x5a

static unsigned long served;
static uint64_t rs = 1;

static unsigned int rndn(unsigned int n)
{
	rs = rs * 6364136223846793005ULL + 1442695040888963407ULL;
	return (rs >> 33) % n;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static uint32_t fill(struct vlt_dev *t, unsigned int qi, uint16_t *id,
		     struct vlt_seg *segs, int ns)
{
	uint32_t total = 0;
	int i;

	(void)t;
	(void)qi;
	(void)id;
	for (i = 0; i < ns; i++) {
		if (!segs[i].wr)
			continue;
		memset(segs[i].p, FILL_BYTE, segs[i].len);
		total += segs[i].len;
	}
	served++;
	return total;
}

static void rng_kick(struct vlt_dev *t, unsigned int qi)
{
	vlt_serve(t, qi, fill);
}

static int create(struct vlt_dev *t, int ctrl, uint32_t id, unsigned int nq)
{
	struct virtio_loopback_create c;

	vlt_params(&c, id, nq, 64, 256 << 10, NULL, 0);
	memset(t, 0, sizeof(*t));
	t->quiet = 1;
	if (vlt_create(t, ctrl, &c) < 0)
		return -1;
	t->on_kick = id == 4 ? rng_kick : NULL;
	return 0;
}

/* Serve @t for @ms milliseconds (events of other devices get replies). */
static void serve_for(struct vlt_dev *t, int ms)
{
	double end = now() + ms / 1000.0;

	do
		vlt_poll(t, 5);
	while (now() < end);
}

/* a: a bare device, created and destroyed. */
static int round_bare(int ctrl)
{
	struct vlt_dev t;
	int r;

	if (create(&t, ctrl, VLT_BARE_ID, 2) < 0)
		return -1;
	/* Mostly let the registration finish; sometimes remove it mid-way. */
	serve_for(&t, rndn(4) ? 5 : 0);
	r = vlt_destroy(&t);
	if (r < 0)
		perror("VL DESTROY_DEVICE");
	vlt_release(&t);
	return r;
}

#define HWRNG_SYSFS	"/sys/class/misc/hw_random/"

/* Make the virtio_rng device other than @keep the current rng; 0 if done. */
static int select_rng(const char *keep)
{
	char avail[512], *tok, *save;
	FILE *f = fopen(HWRNG_SYSFS "rng_available", "r");
	int r = -1;

	if (!f)
		return -1;
	if (!fgets(avail, sizeof(avail), f))
		avail[0] = 0;
	fclose(f);
	for (tok = strtok_r(avail, " \n", &save); tok;
	     tok = strtok_r(NULL, " \n", &save)) {
		if (strncmp(tok, "virtio_rng.", 11) || !strcmp(tok, keep))
			continue;
		f = fopen(HWRNG_SYSFS "rng_current", "w");
		if (!f)
			return -1;
		r = fputs(tok, f) < 0 ? -1 : 0;
		if (fclose(f))
			r = -1;
		break;
	}
	return r;
}

/*
 * A child that reads 16 bytes of /dev/hwrng; exit 0 when they are ours.
 * DRIVER_OK comes before virtio_rng registers with the hwrng core: until
 * then reads fail with ENODEV (or the device cannot be selected yet).
 */
static pid_t hwrng_reader(void)
{
	const char *keep = getenv("VL_RNG_KEEP");
	pid_t pid = fork();
	uint8_t b[16];
	ssize_t n;
	int fd, i;

	if (pid)
		return pid;
	for (i = 0; keep && select_rng(keep) && i < 2500; i++)
		usleep(2000);
	fd = open("/dev/hwrng", O_RDONLY);
	if (fd < 0)
		_exit(2);
	for (i = 0; i < 2500; i++) {
		n = read(fd, b, sizeof(b));
		if (n >= 0 || errno != ENODEV)
			break;
		usleep(2000);
	}
	if (n != sizeof(b))
		_exit(3);
	for (i = 0; i < n; i++)
		if (b[i] != FILL_BYTE)
			_exit(4);
	_exit(0);
}

/* b: a virtio-rng device that serves a /dev/hwrng read, then goes. */
static int round_rng(int ctrl)
{
	double end = now() + 10;
	unsigned long before = served;
	struct vlt_dev t;
	int status = -1, r = 0;
	pid_t pid = 0;

	if (create(&t, ctrl, 4, 1) < 0)
		return -1;
	while (now() < end) {
		vlt_poll(&t, 5);
		if (!pid && t.driver_ok)
			pid = hwrng_reader();
		if (pid && waitpid(pid, &status, WNOHANG) == pid)
			break;
	}
	if (!pid || !WIFEXITED(status) || WEXITSTATUS(status) ||
	    served == before) {
		printf("VL rng round failed: driver_ok=%d reader=%d status=0x%x served=%lu\n",
		       t.driver_ok, (int)pid, status, served - before);
		r = -1;
	}
	if (vlt_destroy(&t) < 0) {
		perror("VL DESTROY_DEVICE");
		r = -1;
	}
	if (pid && status == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	vlt_release(&t);
	return r;
}

/* c: a control fd closed with a bare and an rng device alive. */
static int round_close(void)
{
	struct vlt_dev bare, rng;
	int ctrl = vlt_open();

	if (ctrl < 0)
		return -1;
	if (create(&bare, ctrl, VLT_BARE_ID, 2) < 0) {
		close(ctrl);
		return -1;
	}
	if (create(&rng, ctrl, 4, 1) < 0) {
		close(ctrl);
		vlt_release(&bare);
		return -1;
	}
	serve_for(&rng, rndn(51));
	close(ctrl);
	vlt_release(&bare);
	vlt_release(&rng);
	return 0;
}

#define SLAB_SYSFS	"/sys/kernel/slab/"

static int slab_snapshot(void)
{
	static int fds[4096];
	static char buf[1 << 20];
	char path[512], name[128];
	struct dirent *e;
	int n = 0, i, info;
	ssize_t len = 0, r;
	DIR *dir = opendir(SLAB_SYSFS);
	unsigned long act, num, size, per;
	char *line, *save;

	while (dir && (e = readdir(dir)) && n < 4096) {
		if (e->d_name[0] == '.' || e->d_name[0] == ':')
			continue;	/* merged caches show up by name too */
		snprintf(path, sizeof(path), SLAB_SYSFS "%s/shrink", e->d_name);
		fds[n] = open(path, O_WRONLY | O_CLOEXEC);
		if (fds[n] >= 0)
			n++;
	}
	if (dir)
		closedir(dir);
	info = open("/proc/slabinfo", O_RDONLY | O_CLOEXEC);
	if (info < 0) {
		perror("VL /proc/slabinfo");
		return 1;
	}
	for (i = 0; i < n; i++)
		if (write(fds[i], "1", 1) < 0)
			continue;
	while (len < (ssize_t)sizeof(buf) - 1 &&
	       (r = read(info, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += r;
	buf[len] = 0;
	for (i = 0; i < n; i++)
		close(fds[i]);
	close(info);
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char flag = '0';
		int fd;

		if (sscanf(line, "%127s %lu %lu %lu %lu", name, &act, &num, &size,
			   &per) != 5)
			continue;
		snprintf(path, sizeof(path), SLAB_SYSFS "%s/reclaim_account",
			 name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (read(fd, &flag, 1) != 1)
				flag = '0';
			close(fd);
		}
		printf("%s %lu %lu %lu %c\n", name, act, size, per, flag);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *modes = "abc", *m;
	int rounds = 100, opt, ctrl, fails = 0;

	while ((opt = getopt(argc, argv, "n:m:s:S")) != -1) {
		switch (opt) {
		case 'S':
			return slab_snapshot();
		case 'n':
			rounds = atoi(optarg);
			break;
		case 'm':
			modes = optarg;
			break;
		case 's':
			rs = strtoull(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: %s [-n ROUNDS] [-m abc] [-s SEED]\n",
				argv[0]);
			return 2;
		}
	}
	vlt_init();
	ctrl = vlt_open();
	if (ctrl < 0)
		return 1;
	for (m = modes; *m && !vlt_stop; m++) {
		double t0 = now();
		int i, ok = 0, failed = 0;

		served = 0;
		for (i = 0; i < rounds && !vlt_stop; i++) {
			int r;

			switch (*m) {
			case 'a':
				r = round_bare(ctrl);
				break;
			case 'b':
				r = round_rng(ctrl);
				break;
			case 'c':
				r = round_close();
				break;
			default:
				fprintf(stderr, "VL unknown mode %c\n", *m);
				return 2;
			}
			if (r)
				failed++;
			else
				ok++;
		}
		printf("VL churn mode=%c rounds=%d ok=%d failed=%d served=%lu secs=%.1f\n",
		       *m, i, ok, failed, served, now() - t0);
		fails += failed;
	}
	close(ctrl);
	return fails ? 1 : 0;
}
