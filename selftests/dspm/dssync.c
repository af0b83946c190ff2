// SPDX-License-Identifier: GPL-2.0
/*
 * dssync: MRSW ownership, cluster-wide locks and barriers from one node,
 * for the multi-node tests (selftests/dspm/cluster_test.sh), which run it
 * on several nodes at once.
 *
 *   dssync own NAME OFFSET LEN SECS TEXT  own [OFFSET, OFFSET + LEN) (waits
 *                                         for other owners), print "owned
 *                                         after MS ms", store TEXT at
 *                                         OFFSET, wait SECS, commit, print
 *                                         "committed"
 *   dssync try NAME OFFSET LEN            own without waiting: print "owned"
 *                                         (exit 0) or "busy" (EAGAIN, exit 3)
 *   dssync count NAME KEY N               N times: LOCK KEY, add 1 to the
 *                                         64-bit value at offset 0, plain
 *                                         COMMIT, UNLOCK; print "counted N"
 *   dssync barrier NAME ROUNDS DELAY_MS   open, wait DELAY_MS, then ROUNDS
 *                                         barriers: "round R nodes N waited
 *                                         MS" for each
 *   dssync lock NAME KEY SECS             LOCK KEY (waiting), print "locked
 *                                         after MS ms", hold it SECS, exit
 *   dssync trylock NAME KEY               LOCK KEY without waiting: print
 *                                         "locked" (exit 0) or "busy" (exit 3)
 *
 * Exit status 0, 3 (try: busy), or 1 with the failing call and errno on
 * stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/dspm.h>

static int fail(const char *what)
{
	fprintf(stderr, "dssync: %s: %s\n", what, strerror(errno));
	return 1;
}

static unsigned long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

static int open_dataset(const char *name, unsigned int flags)
{
	struct dspm_open o = { .size = sizeof(o), .flags = flags };
	int ctl = open("/dev/dspm", O_RDWR | O_CLOEXEC);

	if (ctl < 0)
		return -1;
	if (strlen(name) >= sizeof(o.name)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(o.name, name);
	return ioctl(ctl, DSPM_IOC_OPEN, &o);
}

static void *map_dataset(int fd, size_t *len)
{
	struct dspm_stat st = { .size = sizeof(st) };
	void *m;

	if (ioctl(fd, DSPM_IOC_STAT, &st))
		return NULL;
	*len = st.length;
	m = mmap(NULL, st.length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return m == MAP_FAILED ? NULL : m;
}

static int own(int fd, unsigned long off, unsigned long len, unsigned int flags)
{
	struct dspm_range r = { .offset = off, .length = len };
	struct dspm_begin b = {
		.size = sizeof(b),
		.flags = flags,
		.ranges = (unsigned long)&r,
		.nr_ranges = 1,
	};

	return ioctl(fd, DSPM_IOC_BEGIN, &b);
}

static int commit(int fd)
{
	struct dspm_commit c = { .size = sizeof(c) };

	return ioctl(fd, DSPM_IOC_COMMIT, &c);
}

static int cmd_own(int fd, char **argv)
{
	unsigned long off = strtoul(argv[3], NULL, 0);
	unsigned long long t0 = now_ms();
	const char *text = argv[6];
	size_t len;
	char *m;

	if (own(fd, off, strtoul(argv[4], NULL, 0), 0))
		return fail("BEGIN");
	printf("owned after %llu ms\n", now_ms() - t0);
	fflush(stdout);
	m = map_dataset(fd, &len);
	if (!m)
		return fail("map");
	if (off > len || strlen(text) > len - off) {
		errno = ERANGE;
		return fail("text");
	}
	memcpy(m + off, text, strlen(text));
	sleep(atoi(argv[5]));
	if (commit(fd))
		return fail("COMMIT");
	printf("committed\n");
	return 0;
}

static int cmd_count(int fd, char **argv)
{
	struct dspm_lock l = { .size = sizeof(l) };
	long n = atol(argv[4]), i;
	__u64 *counter;
	size_t len;

	l.key = strtoull(argv[3], NULL, 0);
	counter = map_dataset(fd, &len);
	if (!counter)
		return fail("map");
	for (i = 0; i < n; i++) {
		if (ioctl(fd, DSPM_IOC_LOCK, &l))
			return fail("LOCK");
		/* a plain load and store: only the lock keeps updates apart */
		__atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + 1,
				 __ATOMIC_RELAXED);
		if (commit(fd))
			return fail("COMMIT");
		if (ioctl(fd, DSPM_IOC_UNLOCK, &l))
			return fail("UNLOCK");
	}
	printf("counted %ld\n", n);
	return 0;
}

static int cmd_lock(int fd, char **argv, bool wait)
{
	struct dspm_lock l = { .size = sizeof(l) };
	unsigned long long t0 = now_ms();

	l.key = strtoull(argv[3], NULL, 0);
	l.flags = wait ? 0 : DSPM_LOCK_NONBLOCK;
	if (ioctl(fd, DSPM_IOC_LOCK, &l)) {
		if (wait || errno != EAGAIN)
			return fail("LOCK");
		printf("busy\n");
		return 3;
	}
	if (!wait) {
		printf("locked\n");
		return 0;
	}
	printf("locked after %llu ms\n", now_ms() - t0);
	fflush(stdout);
	sleep(atoi(argv[4]));
	return 0;
}

static int cmd_barrier(int fd, char **argv)
{
	long rounds = atol(argv[3]), i;

	usleep(atol(argv[4]) * 1000);
	for (i = 0; i < rounds; i++) {
		struct dspm_barrier b = { .size = sizeof(b) };
		unsigned long long t0 = now_ms();

		if (ioctl(fd, DSPM_IOC_BARRIER, &b))
			return fail("BARRIER");
		printf("round %llu nodes %u waited %llu\n",
		       (unsigned long long)b.round, b.nodes, now_ms() - t0);
		fflush(stdout);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	int fd;

	if (!((!strcmp(cmd, "own") && argc == 7) ||
	      (!strcmp(cmd, "try") && argc == 5) ||
	      (!strcmp(cmd, "count") && argc == 5) ||
	      (!strcmp(cmd, "barrier") && argc == 5) ||
	      (!strcmp(cmd, "lock") && argc == 5) ||
	      (!strcmp(cmd, "trylock") && argc == 4))) {
		fprintf(stderr,
			"usage: dssync own NAME OFFSET LEN SECS TEXT | try NAME OFFSET LEN |\n"
			"       count NAME KEY N | barrier NAME ROUNDS DELAY_MS |\n"
			"       lock NAME KEY SECS | trylock NAME KEY\n");
		return 2;
	}
	fd = open_dataset(argv[2], strcmp(cmd, "own") && strcmp(cmd, "try") &&
			  strcmp(cmd, "count") ? 0 : DSPM_OPEN_WRITE);
	if (fd < 0)
		return fail("OPEN");
	if (!strcmp(cmd, "own"))
		return cmd_own(fd, argv);
	if (!strcmp(cmd, "count"))
		return cmd_count(fd, argv);
	if (!strcmp(cmd, "barrier"))
		return cmd_barrier(fd, argv);
	if (!strcmp(cmd, "lock") || !strcmp(cmd, "trylock"))
		return cmd_lock(fd, argv, !strcmp(cmd, "lock"));
	if (!own(fd, strtoul(argv[3], NULL, 0), strtoul(argv[4], NULL, 0),
		 DSPM_BEGIN_NONBLOCK)) {
		printf("owned\n");
		return 0;
	}
	if (errno != EAGAIN)
		return fail("BEGIN");
	printf("busy\n");
	return 3;
}
