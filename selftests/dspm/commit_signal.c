// SPDX-License-Identifier: GPL-2.0
/*
 * The signal rule of a cluster COMMIT (abi.md, "Signals"), on a joined
 * node: a signal that arrives before the commit's decision ends it with
 * EINTR, the fd's bytes still uncommitted and nothing of them visible; a
 * signal that arrives after the decision does not interrupt it: COMMIT
 * returns 0 and the bytes are at their home when it does.  The moments are
 * aimed with the driver's fault injection (prepared_stall_ms and
 * decided_stall_ms in /sys/kernel/debug/dspm).
 *
 *   DSPM_TEST_DATASET=NAME commit_signal
 *
 * NAME: a cluster dataset with a chunk this node holds no copy of (the
 * commit then needs the network, and a second fd's read shows what that
 * chunk's home has applied).
 */
#include "kselftest_harness.h"
#include "dspm_test.h"
#include <sys/time.h>

#define KNOBS "/sys/kernel/debug/dspm/"

static int alarms;

static void on_alarm(int sig)
{
	(void)sig;
	__atomic_fetch_add(&alarms, 1, __ATOMIC_RELAXED);
}

FIXTURE(sig) {
	int ctl, fd, ro;
	size_t len;
	__u64 *w;	/* a word of a page homed elsewhere, through fd */
	__u64 *r;	/* the same word, through ro */
};

/* Set a fault-injection knob: 0 or -errno. */
static int knob_set(const char *name, unsigned int ms)
{
	char path[128], val[16];
	int fd, n, ret = 0;

	snprintf(path, sizeof(path), KNOBS "%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(val, sizeof(val), "%u", ms);
	if (write(fd, val, n) != n)
		ret = -EIO;
	close(fd);
	return ret;
}

static void knob(struct __test_metadata *_metadata, const char *name,
		 unsigned int ms)
{
	int ret = knob_set(name, ms);

	ASSERT_EQ(0, ret) TH_LOG(KNOBS "%s: %s (a CONFIG_DSPM_DEBUG driver?)",
				 name, strerror(-ret));
}

FIXTURE_SETUP(sig)
{
	const char *name = getenv("DSPM_TEST_DATASET");
	struct dspm_chunk_nodes where[256];
	struct dspm_placement p = {
		.size = sizeof(p),
		.entries = (uintptr_t)where,
		.capacity = 256,
	};
	struct dspm_nodes nodes = {
		.size = sizeof(nodes),
		.entry_size = DSPM_NODE_INFO_SIZE_VER0,
	};
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	__u32 chunk, k;
	off_t off = -1;
	void *m;

	self->ctl = -1;
	ASSERT_NE(NULL, name) TH_LOG("set DSPM_TEST_DATASET");
	self->ctl = open(DSPM_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->ctl);
	ASSERT_EQ(0, dspm_ioctl(self->ctl, DSPM_IOC_NODES, &nodes))
		TH_LOG("NODES: not joined?");
	snprintf(p.name, sizeof(p.name), "%s", name);
	ASSERT_EQ(0, dspm_ioctl(self->ctl, DSPM_IOC_PLACEMENT, &p));
	for (chunk = 0; chunk < p.chunks && chunk < 256 && off < 0; chunk++) {
		for (k = 0; k < DSPM_REPLICAS_MAX; k++)
			if (where[chunk].node[k] == nodes.self_id)
				break;
		if (k == DSPM_REPLICAS_MAX)
			off = (off_t)chunk * p.chunk_size;
	}
	ASSERT_LE(0, off) TH_LOG("node %u holds every chunk of %s",
				 nodes.self_id, name);
	self->fd = dspm_open(self->ctl, name, DSPM_OPEN_WRITE);
	ASSERT_LE(0, self->fd);
	self->ro = dspm_open(self->ctl, name, 0);
	ASSERT_LE(0, self->ro);
	self->len = PG;
	m = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, off);
	ASSERT_NE(MAP_FAILED, m);
	self->w = m;
	m = mmap(NULL, PG, PROT_READ, MAP_SHARED, self->ro, off);
	ASSERT_NE(MAP_FAILED, m);
	self->r = m;
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	TH_LOG("node %u, page at %lld of %s (home node %u)", nodes.self_id,
	       (long long)off, name, where[off / p.chunk_size].node[0]);
}

FIXTURE_TEARDOWN(sig)
{
	if (self->ctl < 0)
		return;
	/* no ASSERT here: a failed one would come back to this teardown */
	knob_set("prepared_stall_ms", 0);
	knob_set("decided_stall_ms", 0);
	close(self->fd);
	close(self->ro);
	close(self->ctl);
}

static void alarm_in(unsigned int ms)
{
	struct itimerval t = { .it_value = { ms / 1000, ms % 1000 * 1000 } };

	setitimer(ITIMER_REAL, &t, NULL);
}

static __u64 ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	       (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static long long dirty_pages(int fd)
{
	struct dspm_stat st;

	return dspm_stat(fd, &st) ? -1 : (long long)st.dirty_pages;
}

static __u64 token(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (__u64)t.tv_sec << 32 ^ t.tv_nsec ^ (__u64)getpid() << 48;
}

/* What came of a COMMIT that a SIGALRM hit: its result, how long, the alarms. */
struct signalled {
	int ret;
	__u64 ms;
	int alarms;
};

/*
 * COMMIT of @fd with the stall @knob_name set to @stall_ms and a SIGALRM
 * due @alarm_ms after the commit starts (the knob is reset afterwards).
 */
static struct signalled commit_signalled(struct __test_metadata *_metadata,
					 int fd, const char *knob_name,
					 unsigned int stall_ms,
					 unsigned int alarm_ms)
{
	struct signalled out = { 0 };
	struct timespec t0;
	int before;

	knob(_metadata, knob_name, stall_ms);
	before = READ_ONCE(alarms);
	alarm_in(alarm_ms);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	out.ret = dspm_commit(fd, NULL, 0, NULL);
	out.ms = ms_since(&t0);
	out.alarms = READ_ONCE(alarms) - before;
	TH_LOG("COMMIT with %s=%u, SIGALRM at %u ms: %s after %llu ms",
	       knob_name, stall_ms, alarm_ms,
	       out.ret ? strerror(-out.ret) : "0", (unsigned long long)out.ms);
	knob(_metadata, knob_name, 0);
	return out;
}

/* Before the decision: EINTR, the bytes still dirty, nothing applied. */
TEST_F_TIMEOUT(sig, before_decision_eintr_keeps_bytes, 120)
{
	__u64 old = READ_ONCE(self->r[0]), t = token();
	struct signalled c;

	WRITE_ONCE(self->w[0], t);
	c = commit_signalled(_metadata, self->fd, "prepared_stall_ms", 20000,
			     500);
	ASSERT_EQ(-EINTR, c.ret);
	ASSERT_EQ(1, c.alarms);
	ASSERT_GT(10000, c.ms) TH_LOG("the signal did not end the stall");
	ASSERT_EQ(1, dirty_pages(self->fd));
	ASSERT_EQ(t, READ_ONCE(self->w[0]));
	ASSERT_EQ(old, READ_ONCE(self->r[0]))
		TH_LOG("an interrupted commit is visible");

	/* and the same bytes commit afterwards */
	ASSERT_EQ(0, dspm_commit(self->fd, NULL, 0, NULL));
	ASSERT_EQ(0, dirty_pages(self->fd));
	ASSERT_EQ(t, READ_ONCE(self->r[0]));
}

/* After the decision: no interruption, 0, the bytes at their home. */
TEST_F_TIMEOUT(sig, after_decision_runs_to_its_result, 120)
{
	__u64 t = token();
	struct signalled c;

	WRITE_ONCE(self->w[0], t);
	c = commit_signalled(_metadata, self->fd, "decided_stall_ms", 2000, 500);
	ASSERT_EQ(0, c.ret);
	ASSERT_EQ(1, c.alarms);
	ASSERT_LE(2000, c.ms);
	ASSERT_EQ(0, dirty_pages(self->fd));
	/* read through the other fd: fetched from the home, which applied */
	ASSERT_EQ(t, READ_ONCE(self->r[0]))
		TH_LOG("COMMIT returned 0, the home has %#llx",
		       (unsigned long long)READ_ONCE(self->r[0]));
}

TEST_HARNESS_MAIN
