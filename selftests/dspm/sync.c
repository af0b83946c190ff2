// SPDX-License-Identifier: GPL-2.0
/*
 * dspm synchronisation on one node: MRSW write ownership (BEGIN with
 * ranges), cluster-wide locks (LOCK/UNLOCK) and barriers (BARRIER), their
 * argument checks and the reader/writer conflict matrix.  Several fds and
 * processes stand in for several writers; cluster_test.sh checks the same
 * across nodes.
 *
 * Runs on a fresh 64 MiB DRAM backend, or on the pmem device named by
 * DSPM_TEST_PMEM (formatted by every test).
 */
#include "kselftest_harness.h"
#include "dspm_test.h"

#define LEN		(8 * PG)

FIXTURE(sync) {
	struct dspm_env e;
};

FIXTURE_SETUP(sync)
{
	env_setup(_metadata, &self->e);
}

FIXTURE_TEARDOWN(sync)
{
	env_teardown(_metadata, &self->e);
}

static int make(struct __test_metadata *_metadata, struct dspm_env *e,
		const char *name, __u32 model)
{
	int ret = dspm_create_full(e->ctl, name, LEN, 0644, model, 1, NULL);

	EXPECT_EQ(0, ret) TH_LOG("CREATE %s: %s", name, strerror(-ret));
	return ret;
}

static int opened(struct __test_metadata *_metadata, struct dspm_env *e,
		  const char *name, __u32 flags)
{
	int fd = dspm_open(e->ctl, name, flags);

	EXPECT_LE(0, fd) TH_LOG("OPEN %s: %s", name, strerror(-fd));
	if (fd >= 0)
		env_track_fd(e, fd);
	return fd;
}

static unsigned char *mapped(struct __test_metadata *_metadata,
			     struct dspm_env *e, int fd, int prot)
{
	unsigned char *m = dspm_map(fd, LEN, prot);

	EXPECT_NE(NULL, m) TH_LOG("mmap: %s", strerror(errno));
	if (m)
		env_track_map(e, m, LEN);
	return m;
}

static __u64 version_of(int fd)
{
	struct dspm_stat st;

	return dspm_stat(fd, &st) ? 0 : st.version;
}

static __u64 dirty_of(int fd)
{
	struct dspm_stat st;

	return dspm_stat(fd, &st) ? ~0ULL : st.dirty_pages;
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* SIGALRM interrupts blocking ioctls (no SA_RESTART) instead of killing. */
static void arm_alarm_handler(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
}

/* In a child: a new control fd and dataset fd of @name, or -1 (reported). */
static int child_open(const char *name, __u32 flags)
{
	int ctl = open(DSPM_DEVICE_PATH, O_RDWR | O_CLOEXEC), fd;

	if (!CHILD_CHECK(ctl >= 0, "open: %s", strerror(errno)))
		return -1;
	fd = dspm_open(ctl, name, flags);
	if (!CHILD_CHECK(fd >= 0, "OPEN %s: %s", name, strerror(-fd)))
		return -1;
	return fd;
}

/* ---- MRSW ownership --------------------------------------------------- */

TEST_F(sync, mrsw_owner_commits_and_gives_back)
{
	unsigned char *m;
	int a, b;
	__u64 v;

	ASSERT_EQ(0, make(_metadata, &self->e, "m", DSPM_MODEL_MRSW));
	a = opened(_metadata, &self->e, "m", DSPM_OPEN_WRITE);
	b = opened(_metadata, &self->e, "m", DSPM_OPEN_WRITE);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	m = mapped(_metadata, &self->e, a, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, m);

	v = version_of(a);
	ASSERT_EQ(0, dspm_own_range(a, 0, 2 * PG, 0));
	m[0] = 0x5a;
	m[PG + 1] = 0xa5;
	ASSERT_EQ(0, dspm_commit(a, NULL, 0, NULL));
	EXPECT_EQ(v + 1, version_of(a));
	/* the commit ended the transaction: another fd may own the pages */
	EXPECT_EQ(0, dspm_own_range(b, 0, PG, DSPM_BEGIN_NONBLOCK));
	/* and the first fd may not commit any more */
	m[2] = 1;
	EXPECT_EQ(-EPERM, dspm_commit(a, NULL, 0, NULL));
	EXPECT_EQ(1, dirty_of(a)) TH_LOG("a refused commit keeps the dirty page");
}

TEST_F(sync, mrsw_conflict_matrix)
{
	int a, b, c, r;
	unsigned char *ma, *mr;

	ASSERT_EQ(0, make(_metadata, &self->e, "m", DSPM_MODEL_MRSW));
	a = opened(_metadata, &self->e, "m", DSPM_OPEN_WRITE);
	b = opened(_metadata, &self->e, "m", DSPM_OPEN_WRITE);
	c = opened(_metadata, &self->e, "m", DSPM_OPEN_WRITE);
	r = opened(_metadata, &self->e, "m", 0);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_LE(0, c);
	ASSERT_LE(0, r);
	ma = mapped(_metadata, &self->e, a, PROT_READ | PROT_WRITE);
	mr = mapped(_metadata, &self->e, r, PROT_READ);
	ASSERT_NE(NULL, ma);
	ASSERT_NE(NULL, mr);

	/* writer/writer: overlapping pages exclude, disjoint ones do not */
	ASSERT_EQ(0, dspm_own_range(a, PG, 2 * PG, 0));
	EXPECT_EQ(-EAGAIN, dspm_own_range(b, 2 * PG + 100, 10,
					  DSPM_BEGIN_NONBLOCK));
	EXPECT_EQ(-EAGAIN, dspm_own_range(b, 0, LEN, DSPM_BEGIN_NONBLOCK));
	EXPECT_EQ(0, dspm_own_range(b, 3 * PG, PG, DSPM_BEGIN_NONBLOCK));
	EXPECT_EQ(0, dspm_own_range(c, 0, PG, DSPM_BEGIN_NONBLOCK));
	/* one transaction per fd */
	EXPECT_EQ(-EBUSY, dspm_own_range(a, 5 * PG, PG, DSPM_BEGIN_NONBLOCK));

	/* reader/writer: reads go on and see only committed bytes */
	ma[PG] = 7;
	EXPECT_EQ(0, mr[PG]);
	ASSERT_EQ(0, dspm_commit(a, NULL, 0, NULL));
	EXPECT_EQ(7, mr[PG]);

	/* a's commit gave its pages back, b's and c's stay owned */
	EXPECT_EQ(0, dspm_abort(b, NULL, 0, NULL));
	EXPECT_EQ(0, dspm_own_range(b, PG, 3 * PG, DSPM_BEGIN_NONBLOCK));
	EXPECT_EQ(-EAGAIN, dspm_own_range(a, 0, 2 * PG, DSPM_BEGIN_NONBLOCK));
	/* a failed BEGIN owns nothing: page 4 (free) stays free */
	EXPECT_EQ(-EAGAIN, dspm_own_range(a, 0, 5 * PG, DSPM_BEGIN_NONBLOCK));
	EXPECT_EQ(0, dspm_own_range(a, 4 * PG, PG, DSPM_BEGIN_NONBLOCK));
}

TEST_F(sync, mrsw_commit_needs_ownership)
{
	unsigned char *m;
	int a;

	ASSERT_EQ(0, make(_metadata, &self->e, "m", DSPM_MODEL_MRSW));
	a = opened(_metadata, &self->e, "m", DSPM_OPEN_WRITE);
	ASSERT_LE(0, a);
	m = mapped(_metadata, &self->e, a, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, m);

	m[0] = 1;
	EXPECT_EQ(-EPERM, dspm_commit(a, NULL, 0, NULL));
	ASSERT_EQ(0, dspm_own_range(a, PG, PG, 0));
	m[PG] = 2;
	/* page 0 is dirty and not owned: nothing is committed */
	EXPECT_EQ(-EPERM, dspm_commit(a, NULL, 0, NULL));
	EXPECT_EQ(2, dirty_of(a));
	/* committing only what it owns works */
	EXPECT_EQ(0, dspm_commit_range(a, PG, PG, NULL));
	EXPECT_EQ(1, dirty_of(a));
	ASSERT_EQ(0, dspm_begin_own(a, NULL, 0, 0));
	EXPECT_EQ(0, dspm_commit(a, NULL, 0, NULL));
	EXPECT_EQ(0, dirty_of(a));
}

TEST_F(sync, mrsw_arguments)
{
	struct dspm_range bad = { .offset = LEN, .length = 1 };
	struct dspm_begin big = { .size = sizeof(big) };
	int w, ro, mrmw;

	ASSERT_EQ(0, make(_metadata, &self->e, "m", DSPM_MODEL_MRSW));
	ASSERT_EQ(0, make(_metadata, &self->e, "w", DSPM_MODEL_MRMW));
	w = opened(_metadata, &self->e, "m", DSPM_OPEN_WRITE);
	ro = opened(_metadata, &self->e, "m", 0);
	mrmw = opened(_metadata, &self->e, "w", DSPM_OPEN_WRITE);
	ASSERT_LE(0, w);
	ASSERT_LE(0, ro);
	ASSERT_LE(0, mrmw);

	EXPECT_EQ(-EBADF, dspm_own_range(ro, 0, PG, 0));
	EXPECT_EQ(-EINVAL, dspm_own_range(w, 0, PG, 0x2));
	EXPECT_EQ(-EINVAL, dspm_begin_own(w, &bad, 1, 0));
	EXPECT_EQ(-EFAULT, dspm_begin_own(w, NULL, 1, 0));
	big.reserved[0] = 1;
	EXPECT_EQ(-EINVAL, dspm_ioctl(w, DSPM_IOC_BEGIN, &big));
	/* MRMW: a validated transaction takes no ranges and no flags */
	EXPECT_EQ(-EINVAL, dspm_own_range(mrmw, 0, PG, 0));
	EXPECT_EQ(-EINVAL, dspm_begin_own(mrmw, NULL, 0, DSPM_BEGIN_NONBLOCK));
	EXPECT_EQ(0, dspm_begin_own(mrmw, NULL, 0, 0));
	/* nothing was taken by the failed calls */
	EXPECT_EQ(0, dspm_own_range(w, 0, LEN, DSPM_BEGIN_NONBLOCK));
}

struct waiter {
	const char *name;
	__u64 off;
	int ret;
};

/* In a child: open the dataset, take [off, off + PG) blocking, report. */
static int own_blocking(void *arg)
{
	struct waiter *w = arg;
	int fd = child_open(w->name, DSPM_OPEN_WRITE), ret;

	if (fd < 0)
		return 1;
	ret = dspm_own_range(fd, w->off, PG, 0);
	return ret ? -ret : 0;
}

TEST_F(sync, mrsw_begin_waits_for_the_owner)
{
	struct waiter w = { .name = "m", .off = 2 * PG };
	int a, status;
	__u64 t0;
	pid_t pid;

	ASSERT_EQ(0, make(_metadata, &self->e, "m", DSPM_MODEL_MRSW));
	a = opened(_metadata, &self->e, "m", DSPM_OPEN_WRITE);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, dspm_own_range(a, 0, LEN, 0));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(own_blocking(&w));
	self->e.kids[self->e.nkids++] = pid;
	usleep(300 * 1000);
	EXPECT_EQ(0, waitpid(pid, &status, WNOHANG))
		TH_LOG("BEGIN returned while another fd owned the page");
	t0 = now_ns();
	ASSERT_EQ(0, dspm_abort(a, NULL, 0, NULL));
	EXPECT_EQ(0, wait_status(pid)) TH_LOG("the waiting BEGIN failed");
	self->e.kids[self->e.nkids - 1] = 0;
	TH_LOG("BEGIN took the page %llu ms after the owner gave it up",
	       (unsigned long long)(now_ns() - t0) / 1000000);
}

/* In a child: blocking BEGIN interrupted by SIGALRM after 200 ms. */
static int own_interrupted(void *arg)
{
	struct waiter *w = arg;
	int fd = child_open(w->name, DSPM_OPEN_WRITE), ret;

	if (fd < 0)
		return 1;
	arm_alarm_handler();
	ualarm(200 * 1000, 0);
	ret = dspm_own_range(fd, w->off, PG, 0);
	if (!CHILD_CHECK(ret == -EINTR, "BEGIN: %s", strerror(-ret)))
		return 1;
	/* nothing is owned after the interruption: a non-blocking try says so */
	ret = dspm_own_range(fd, w->off, PG, DSPM_BEGIN_NONBLOCK);
	return CHILD_CHECK(ret == -EAGAIN, "BEGIN again: %s", strerror(-ret)) ?
	       0 : 1;
}

TEST_F(sync, mrsw_wait_interrupted_by_signal)
{
	struct waiter w = { .name = "m", .off = 0 };
	int a;

	ASSERT_EQ(0, make(_metadata, &self->e, "m", DSPM_MODEL_MRSW));
	a = opened(_metadata, &self->e, "m", DSPM_OPEN_WRITE);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, dspm_own_range(a, 0, PG, 0));
	EXPECT_EQ(0, run_child(own_interrupted, &w));
}

TEST_F(sync, mrsw_close_gives_back)
{
	unsigned char *m;
	int a, b;

	ASSERT_EQ(0, make(_metadata, &self->e, "m", DSPM_MODEL_MRSW));
	a = opened(_metadata, &self->e, "m", DSPM_OPEN_WRITE);
	b = opened(_metadata, &self->e, "m", DSPM_OPEN_WRITE);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	m = mapped(_metadata, &self->e, a, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, dspm_own_range(a, 0, LEN, 0));
	m[0] = 9;
	env_unmap(&self->e, m);
	env_close(&self->e, a);
	EXPECT_EQ(0, dspm_own_range(b, 0, LEN, DSPM_BEGIN_NONBLOCK));
}

TEST_F(sync, mrsw_process_death_gives_back)
{
	struct waiter w = { .name = "m", .off = 0 };
	int b;

	ASSERT_EQ(0, make(_metadata, &self->e, "m", DSPM_MODEL_MRSW));
	b = opened(_metadata, &self->e, "m", DSPM_OPEN_WRITE);
	ASSERT_LE(0, b);
	/* the child owns page 0 and exits without giving it up */
	ASSERT_EQ(0, run_child(own_blocking, &w));
	EXPECT_EQ(0, dspm_own_range(b, 0, PG, DSPM_BEGIN_NONBLOCK));
}

/* ---- locks ------------------------------------------------------------ */

TEST_F(sync, lock_matrix)
{
	struct dspm_lock l = { .size = sizeof(l), .key = 5 };
	int a, b, ro;

	ASSERT_EQ(0, make(_metadata, &self->e, "w", DSPM_MODEL_MRMW));
	a = opened(_metadata, &self->e, "w", DSPM_OPEN_WRITE);
	b = opened(_metadata, &self->e, "w", DSPM_OPEN_WRITE);
	ro = opened(_metadata, &self->e, "w", 0);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_LE(0, ro);

	ASSERT_EQ(0, dspm_lock(a, 5, 0));
	EXPECT_EQ(-EDEADLK, dspm_lock(a, 5, DSPM_LOCK_NONBLOCK));
	EXPECT_EQ(-EAGAIN, dspm_lock(b, 5, DSPM_LOCK_NONBLOCK));
	EXPECT_EQ(-EAGAIN, dspm_lock(ro, 5, DSPM_LOCK_NONBLOCK));
	EXPECT_EQ(0, dspm_lock(b, 6, DSPM_LOCK_NONBLOCK));
	EXPECT_EQ(-EPERM, dspm_unlock(b, 5));
	EXPECT_EQ(-EPERM, dspm_unlock(a, 6));
	EXPECT_EQ(0, dspm_unlock(a, 5));
	EXPECT_EQ(-EPERM, dspm_unlock(a, 5));
	/* a read-only fd may lock too */
	EXPECT_EQ(0, dspm_lock(ro, 5, DSPM_LOCK_NONBLOCK));

	/* argument checks */
	l.flags = 0x2;
	EXPECT_EQ(-EINVAL, dspm_ioctl(a, DSPM_IOC_LOCK, &l));
	l.flags = DSPM_LOCK_NONBLOCK;
	EXPECT_EQ(-EINVAL, dspm_ioctl(ro, DSPM_IOC_UNLOCK, &l));
	l.flags = 0;
	l.reserved[1] = 1;
	EXPECT_EQ(-EINVAL, dspm_ioctl(a, DSPM_IOC_LOCK, &l));
	EXPECT_EQ(-EFAULT, dspm_ioctl(a, DSPM_IOC_LOCK, (void *)8));
}

TEST_F(sync, lock_keys_are_per_dataset)
{
	int a, b;

	ASSERT_EQ(0, make(_metadata, &self->e, "w", DSPM_MODEL_MRMW));
	ASSERT_EQ(0, make(_metadata, &self->e, "x", DSPM_MODEL_MRMW));
	a = opened(_metadata, &self->e, "w", 0);
	b = opened(_metadata, &self->e, "x", 0);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, dspm_lock(a, 1, 0));
	EXPECT_EQ(0, dspm_lock(b, 1, DSPM_LOCK_NONBLOCK));
}

TEST_F(sync, lock_close_releases)
{
	int a, b;

	ASSERT_EQ(0, make(_metadata, &self->e, "w", DSPM_MODEL_MRMW));
	a = opened(_metadata, &self->e, "w", 0);
	b = opened(_metadata, &self->e, "w", 0);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, dspm_lock(a, 1, 0));
	ASSERT_EQ(0, dspm_lock(a, 2, 0));
	env_close(&self->e, a);
	EXPECT_EQ(0, dspm_lock(b, 1, DSPM_LOCK_NONBLOCK));
	EXPECT_EQ(0, dspm_lock(b, 2, DSPM_LOCK_NONBLOCK));
}

#define COUNTER_KIDS	4
#define COUNTER_ROUNDS	150

/* In a child: COUNTER_ROUNDS increments of the shared counter under lock 1. */
static int count_under_lock(void *arg)
{
	const char *name = arg;
	int fd = child_open(name, DSPM_OPEN_WRITE), i, ret;
	__u64 *counter;

	if (fd < 0)
		return 1;
	counter = dspm_map(fd, LEN, PROT_READ | PROT_WRITE);
	if (!CHILD_CHECK(counter, "mmap: %s", strerror(errno)))
		return 1;
	for (i = 0; i < COUNTER_ROUNDS; i++) {
		ret = dspm_lock(fd, 1, 0);
		if (!CHILD_CHECK(!ret, "LOCK: %s", strerror(-ret)))
			return 1;
		WRITE_ONCE(*counter, READ_ONCE(*counter) + 1);
		ret = dspm_commit(fd, NULL, 0, NULL);
		if (!CHILD_CHECK(!ret, "COMMIT: %s", strerror(-ret)))
			return 1;
		ret = dspm_unlock(fd, 1);
		if (!CHILD_CHECK(!ret, "UNLOCK: %s", strerror(-ret)))
			return 1;
	}
	return 0;
}

TEST_F(sync, lock_serialises_read_modify_write)
{
	pid_t pids[COUNTER_KIDS];
	__u64 *counter;
	int i, r;

	ASSERT_EQ(0, make(_metadata, &self->e, "w", DSPM_MODEL_MRMW));
	r = opened(_metadata, &self->e, "w", 0);
	ASSERT_LE(0, r);
	counter = (__u64 *)mapped(_metadata, &self->e, r, PROT_READ);
	ASSERT_NE(NULL, counter);
	for (i = 0; i < COUNTER_KIDS; i++) {
		fflush(stdout);
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0)
			_exit(count_under_lock("w"));
		self->e.kids[self->e.nkids++] = pids[i];
	}
	for (i = 0; i < COUNTER_KIDS; i++) {
		EXPECT_EQ(0, wait_status(pids[i]));
		self->e.kids[i] = 0;
	}
	/* plain commits, no validation: only the lock kept updates apart */
	EXPECT_EQ(COUNTER_KIDS * COUNTER_ROUNDS, READ_ONCE(*counter));
}

/* In a child: a blocking LOCK of key 3; exit 0 once it is held. */
static int lock_blocking(void *arg)
{
	const char *name = arg;
	int fd = child_open(name, 0), ret;

	if (fd < 0)
		return 1;
	ret = dspm_lock(fd, 3, 0);
	return ret ? -ret : 0;
}

TEST_F(sync, lock_waits_for_unlock)
{
	int a, status;
	pid_t pid;

	ASSERT_EQ(0, make(_metadata, &self->e, "w", DSPM_MODEL_MRMW));
	a = opened(_metadata, &self->e, "w", 0);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, dspm_lock(a, 3, 0));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(lock_blocking("w"));
	self->e.kids[self->e.nkids++] = pid;
	usleep(300 * 1000);
	EXPECT_EQ(0, waitpid(pid, &status, WNOHANG))
		TH_LOG("LOCK returned while another fd held the lock");
	ASSERT_EQ(0, dspm_unlock(a, 3));
	EXPECT_EQ(0, wait_status(pid));
	self->e.kids[self->e.nkids - 1] = 0;
}

/* ---- barriers --------------------------------------------------------- */

TEST_F(sync, barrier_alone_passes_in_rounds)
{
	struct dspm_barrier b, bad = { .size = sizeof(bad), .flags = 1 };
	int a, r;

	ASSERT_EQ(0, make(_metadata, &self->e, "w", DSPM_MODEL_MRMW));
	a = opened(_metadata, &self->e, "w", DSPM_OPEN_WRITE);
	r = opened(_metadata, &self->e, "w", 0);
	ASSERT_LE(0, a);
	ASSERT_LE(0, r);
	/* outside a cluster the node is alone */
	ASSERT_EQ(0, dspm_barrier(a, &b));
	EXPECT_EQ(1, b.round);
	EXPECT_EQ(1, b.nodes);
	ASSERT_EQ(0, dspm_barrier(r, &b));
	EXPECT_EQ(2, b.round);
	EXPECT_EQ(-EINVAL, dspm_ioctl(a, DSPM_IOC_BARRIER, &bad));
	bad.flags = 0;
	bad.reserved0 = 1;
	EXPECT_EQ(-EINVAL, dspm_ioctl(a, DSPM_IOC_BARRIER, &bad));
}

TEST_HARNESS_MAIN
