// SPDX-License-Identifier: GPL-2.0
/*
 * dspm data semantics: what a store, COMMIT, ABORT, close and process death
 * do to what every fd of a dataset sees, versions, free-space accounting and
 * the fields GET_INFO / LIST / STAT report.
 *
 * Runs on a fresh 64 MiB DRAM backend, or on the pmem device named by
 * DSPM_TEST_PMEM (formatted by every test).
 */
#include "kselftest_harness.h"
#include "dspm_test.h"

#include <poll.h>
#include <sys/socket.h>

FIXTURE(sem) {
	struct dspm_env e;
};

FIXTURE_SETUP(sem)
{
	env_setup(_metadata, &self->e);
}

FIXTURE_TEARDOWN(sem)
{
	env_teardown(_metadata, &self->e);
}

struct ds {
	int fd;
	unsigned char *m;
	size_t len;
};

/* Opens @name with @flags and maps @len bytes (read-write when writable). */
static void ds_open(struct __test_metadata *_metadata, struct dspm_env *e,
		    const char *name, __u32 flags, size_t len, struct ds *d)
{
	int prot = PROT_READ;

	if (flags & DSPM_OPEN_WRITE)
		prot |= PROT_WRITE;
	d->fd = env_open(_metadata, e, name, flags);
	d->m = env_map(_metadata, e, d->fd, len, prot);
	d->len = len;
}

static void ds_close(struct dspm_env *e, struct ds *d)
{
	env_unmap(e, d->m);
	env_close(e, d->fd);
	d->fd = -1;
	d->m = NULL;
}

static __u64 dirty_of(struct __test_metadata *_metadata, int fd)
{
	struct dspm_stat st;

	ASSERT_EQ(0, dspm_stat(fd, &st));
	return st.dirty_pages;
}

static __u64 version_of(struct __test_metadata *_metadata, int fd)
{
	struct dspm_stat st;

	ASSERT_EQ(0, dspm_stat(fd, &st));
	return st.version;
}

/* Reads every byte (READ_ONCE) so stale mappings get exercised. */
static bool range_is(const unsigned char *p, int c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (READ_ONCE(p[i]) != (unsigned char)c)
			return false;
	return true;
}

static inline __u64 tag(__u64 page, __u64 gen)
{
	return (page << 32) | gen;
}

static void fill_page(unsigned char *m, __u64 page, __u64 gen)
{
	__u64 *w = (__u64 *)(m + page * PG);
	size_t i;

	for (i = 0; i < PG / 8; i++)
		WRITE_ONCE(w[i], tag(page, gen));
}

/* Returns -1 if every word of @page is tag(page, gen), else a bad index. */
static long check_page(const unsigned char *m, __u64 page, __u64 gen)
{
	const __u64 *w = (const __u64 *)(m + page * PG);
	size_t i;

	for (i = 0; i < PG / 8; i++)
		if (READ_ONCE(w[i]) != tag(page, gen))
			return i;
	return -1;
}

/* ------------------------------------------------------------------ */
/* (6), (8): fresh and recreated datasets read as zero                 */

TEST_F(sem, fresh_dataset_reads_zero)
{
	const size_t len = 1 << 20;
	struct ds a, b;
	int i;

	/* Leave committed non-zero bytes in space that is then freed. */
	for (i = 0; i < 4; i++) {
		char name[16];

		snprintf(name, sizeof(name), "junk%d", i);
		env_create(_metadata, &self->e, name, len, 0644);
		ds_open(_metadata, &self->e, name, DSPM_OPEN_WRITE, len, &a);
		memset(a.m, 0xff, len);
		ASSERT_EQ(0, dspm_commit(a.fd, NULL, 0, NULL));
		ds_close(&self->e, &a);
	}
	for (i = 0; i < 4; i++) {
		char name[16];

		snprintf(name, sizeof(name), "junk%d", i);
		ASSERT_EQ(0, dspm_delete(self->e.ctl, name));
	}
	/* Fresh datasets of every size cover that space: all zero. */
	env_create(_metadata, &self->e, "fresh", 4 * len, 0644);
	ds_open(_metadata, &self->e, "fresh", 0, 4 * len, &b);
	ASSERT_TRUE(range_is(b.m, 0, 4 * len));
	ds_open(_metadata, &self->e, "fresh", DSPM_OPEN_WRITE, 4 * len, &a);
	ASSERT_TRUE(range_is(a.m, 0, 4 * len));
	ASSERT_EQ(0, version_of(_metadata, a.fd));
	ASSERT_EQ(0, dirty_of(_metadata, a.fd));
}

TEST_F(sem, recreate_same_name_is_zeroed)
{
	struct dspm_dataset_info di;
	struct ds a;

	env_create(_metadata, &self->e, "re", 8 * PG, 0644);
	ds_open(_metadata, &self->e, "re", DSPM_OPEN_WRITE, 8 * PG, &a);
	memset(a.m, 0xee, 8 * PG);
	ASSERT_EQ(0, dspm_commit(a.fd, NULL, 0, NULL));
	ASSERT_EQ(0, dspm_commit_range(a.fd, 0, 1, NULL));
	memset(a.m, 0xdd, PG);
	ASSERT_EQ(0, dspm_commit(a.fd, NULL, 0, NULL));
	ds_close(&self->e, &a);
	ASSERT_EQ(0, dspm_delete(self->e.ctl, "re"));

	env_create(_metadata, &self->e, "re", 8 * PG, 0600);
	ASSERT_EQ(0, dspm_find(self->e.ctl, "re", &di));
	ASSERT_EQ(0, di.version);
	ASSERT_EQ(0600, di.mode);
	ds_open(_metadata, &self->e, "re", DSPM_OPEN_WRITE, 8 * PG, &a);
	ASSERT_TRUE(range_is(a.m, 0, 8 * PG));
	ASSERT_EQ(0, version_of(_metadata, a.fd));
	ds_close(&self->e, &a);
	ASSERT_EQ(0, dspm_delete(self->e.ctl, "re"));

	/* Different size, same name. */
	env_create(_metadata, &self->e, "re", 16 * PG, 0644);
	ds_open(_metadata, &self->e, "re", 0, 16 * PG, &a);
	ASSERT_TRUE(range_is(a.m, 0, 16 * PG));
}

/* ------------------------------------------------------------------ */
/* (1): uncommitted bytes are private to the fd that wrote them        */

TEST_F(sem, uncommitted_private_to_fd)
{
	struct ds a, b, c;

	env_create(_metadata, &self->e, "priv", 4 * PG, 0644);
	ds_open(_metadata, &self->e, "priv", DSPM_OPEN_WRITE, 4 * PG, &a);
	ds_open(_metadata, &self->e, "priv", 0, 4 * PG, &b);
	ds_open(_metadata, &self->e, "priv", DSPM_OPEN_WRITE, 4 * PG, &c);
	/* b and c have the pages mapped before a writes. */
	ASSERT_TRUE(range_is(b.m, 0, 4 * PG));
	ASSERT_TRUE(range_is(c.m, 0, 4 * PG));

	memset(a.m, 0xa1, PG);
	memset(a.m + 2 * PG + 10, 0xa2, 10);
	ASSERT_TRUE(range_is(a.m, 0xa1, PG));
	ASSERT_TRUE(range_is(a.m + 2 * PG + 10, 0xa2, 10));
	ASSERT_TRUE(range_is(a.m + 2 * PG, 0, 10));
	ASSERT_TRUE(range_is(b.m, 0, 4 * PG));
	ASSERT_TRUE(range_is(c.m, 0, 4 * PG));
	ASSERT_EQ(2, dirty_of(_metadata, a.fd));
	ASSERT_EQ(0, dirty_of(_metadata, b.fd));
	ASSERT_EQ(0, dirty_of(_metadata, c.fd));

	/* c's own writes to the same page are just as private. */
	memset(c.m + 100, 0xc3, 50);
	ASSERT_TRUE(range_is(c.m, 0, 100));
	ASSERT_TRUE(range_is(c.m + 100, 0xc3, 50));
	ASSERT_TRUE(range_is(a.m, 0xa1, PG));
	ASSERT_TRUE(range_is(b.m, 0, PG));
	ASSERT_EQ(1, dirty_of(_metadata, c.fd));

	/* A fd opened now sees none of it. */
	{
		struct ds d;

		ds_open(_metadata, &self->e, "priv", 0, 4 * PG, &d);
		ASSERT_TRUE(range_is(d.m, 0, 4 * PG));
	}
	ASSERT_EQ(0, version_of(_metadata, b.fd));
}

/* Another process, with its own OPEN, sees the old bytes; and vice versa. */
TEST_F(sem, uncommitted_private_to_process)
{
	struct chan ch;
	struct ds a;
	__u64 v;
	pid_t pid;

	env_create(_metadata, &self->e, "pp", 2 * PG, 0644);
	ds_open(_metadata, &self->e, "pp", DSPM_OPEN_WRITE, 2 * PG, &a);
	memset(a.m, 0x5a, 2 * PG);
	ASSERT_EQ(0, chan_init(&ch));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd, err = 0;
		unsigned char *m;

		/* The inherited mapping is the parent's; use an own fd. */
		fd = dspm_open(self->e.ctl, "pp", DSPM_OPEN_WRITE);
		if (fd < 0)
			_exit(10);
		m = dspm_map(fd, 2 * PG, PROT_READ | PROT_WRITE);
		if (m == MAP_FAILED)
			_exit(11);
		if (!range_is(m, 0, 2 * PG))
			err = 12;
		memset(m + PG, 0x6b, PG);
		chan_put(ch.to_parent[1], err);
		chan_get(ch.to_child[0], &v);
		if (!range_is(m, 0, PG))
			err = 13;
		if (!range_is(m + PG, 0x6b, PG))
			err = 14;
		_exit(err);
	}
	env_track_kid(&self->e, pid);
	ASSERT_EQ(0, chan_get(ch.to_parent[0], &v));
	ASSERT_EQ(0, v) TH_LOG("child saw the parent's uncommitted bytes");
	ASSERT_TRUE(range_is(a.m, 0x5a, 2 * PG))
		TH_LOG("parent sees the child's uncommitted bytes");
	chan_put(ch.to_child[1], 0);
	ASSERT_EQ(0, env_wait(&self->e, pid));
	chan_close(&ch);
}

/*
 * Dirty bytes belong to the fd (its struct file): a second mapping of the
 * same fd sees them, even one that had the committed page mapped already.
 */
TEST_F(sem, dirty_shared_by_mappings_of_one_fd)
{
	unsigned char *m1, *m2;
	int fd;

	env_create(_metadata, &self->e, "twice", 2 * PG, 0644);
	fd = env_open(_metadata, &self->e, "twice", DSPM_OPEN_WRITE);
	m1 = env_map(_metadata, &self->e, fd, 2 * PG, PROT_READ | PROT_WRITE);
	m2 = env_map(_metadata, &self->e, fd, 2 * PG, PROT_READ | PROT_WRITE);
	/* m2 maps page 0 first (committed, zero). */
	ASSERT_TRUE(range_is(m2, 0, PG));
	memset(m1, 0x31, 64);
	ASSERT_TRUE(range_is(m2, 0x31, 64))
		TH_LOG("second mapping of the same fd shows stale bytes");
	/* Page 1: written through m1 before m2 ever touched it. */
	memset(m1 + PG, 0x32, 64);
	ASSERT_TRUE(range_is(m2 + PG, 0x32, 64));
	/* And the other way round. */
	memset(m2 + 64, 0x33, 64);
	ASSERT_TRUE(range_is(m1 + 64, 0x33, 64));
	ASSERT_EQ(2, dirty_of(_metadata, fd));
}

/* Dirty bytes outlive munmap: they belong to the fd until commit/abort/close. */
TEST_F(sem, dirty_survives_munmap)
{
	struct dspm_commit out;
	struct ds a, b;

	env_create(_metadata, &self->e, "um", 2 * PG, 0644);
	ds_open(_metadata, &self->e, "um", DSPM_OPEN_WRITE, 2 * PG, &a);
	ds_open(_metadata, &self->e, "um", 0, 2 * PG, &b);
	memset(a.m + PG, 0x44, 16);
	env_unmap(&self->e, a.m);
	ASSERT_EQ(1, dirty_of(_metadata, a.fd));
	a.m = env_map(_metadata, &self->e, a.fd, 2 * PG,
		      PROT_READ | PROT_WRITE);
	ASSERT_TRUE(range_is(a.m + PG, 0x44, 16));
	ASSERT_TRUE(range_is(b.m + PG, 0, 16));
	env_unmap(&self->e, a.m);
	ASSERT_EQ(0, dspm_commit(a.fd, NULL, 0, &out));
	ASSERT_EQ(1, out.pages);
	ASSERT_TRUE(range_is(b.m + PG, 0x44, 16));
}

/* Passes @fd over the unix socket @sock. */
static int send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char byte = 'f';
	struct iovec iov = { &byte, 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &mh, 0) == 1 ? 0 : -errno;
}

static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char byte;
	struct iovec iov = { &byte, 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &mh, 0) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/*
 * Processes sharing one dataset fd (fork, SCM_RIGHTS) share its dirty
 * bytes; one of them exiting drops nothing while the fd lives on.
 */
TEST_F(sem, shared_fd_shares_dirty_bytes)
{
	struct dspm_commit out;
	struct ds a, b;
	int sv[2], st;
	pid_t p1, p2;

	env_create(_metadata, &self->e, "shfd", 2 * PG, 0644);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	/* This child exists before the fd: it can only get it by SCM_RIGHTS. */
	fflush(stdout);
	fflush(stderr);
	p2 = fork();
	ASSERT_LE(0, p2);
	if (p2 == 0) {
		unsigned char *m;
		int fd = recv_fd(sv[1]);

		if (fd < 0)
			_exit(10);
		m = dspm_map(fd, 2 * PG, PROT_READ | PROT_WRITE);
		if (m == MAP_FAILED)
			_exit(11);
		if (m[0] != 0x11 || m[PG] != 0x22)
			_exit(12);	/* the sender's dirty bytes */
		if (dspm_commit(fd, NULL, 0, &out) || out.pages != 2)
			_exit(13);
		_exit(0);
	}
	env_track_kid(&self->e, p2);

	ds_open(_metadata, &self->e, "shfd", DSPM_OPEN_WRITE, 2 * PG, &a);
	ds_open(_metadata, &self->e, "shfd", 0, 2 * PG, &b);
	a.m[0] = 0x11;
	p1 = fork();
	ASSERT_LE(0, p1);
	if (p1 == 0) {
		/* The inherited mapping and fd are the parent's. */
		if (a.m[0] != 0x11)
			_exit(20);
		a.m[PG] = 0x22;
		_exit(0);
	}
	env_track_kid(&self->e, p1);
	st = env_wait(&self->e, p1);
	ASSERT_EQ(0, st) TH_LOG("forked child: %d", st);
	ASSERT_EQ(0x22, a.m[PG]) TH_LOG("a forked child's store through the shared fd is lost");
	ASSERT_EQ(2, dirty_of(_metadata, a.fd))
		TH_LOG("a child's exit dropped dirty bytes of a still-open fd");
	ASSERT_EQ(0, b.m[0]);
	ASSERT_EQ(0, b.m[PG]);

	ASSERT_EQ(0, send_fd(sv[0], a.fd));
	st = env_wait(&self->e, p2);
	ASSERT_EQ(0, st) TH_LOG("SCM_RIGHTS receiver: %d", st);
	ASSERT_EQ(0x11, b.m[0]);
	ASSERT_EQ(0x22, b.m[PG]);
	ASSERT_EQ(0, dirty_of(_metadata, a.fd));
	close(sv[0]);
	close(sv[1]);
}

/* read(2) into and write(2) out of a mapping: the kernel copies fault in. */
TEST_F(sem, syscalls_copy_through_mapping)
{
	unsigned char buf[PG];
	struct ds a, b;
	int p[2], i;

	env_create(_metadata, &self->e, "sys", 2 * PG, 0644);
	ds_open(_metadata, &self->e, "sys", DSPM_OPEN_WRITE, 2 * PG, &a);
	ds_open(_metadata, &self->e, "sys", 0, 2 * PG, &b);
	ASSERT_EQ(0, pipe(p));
	for (i = 0; i < (int)PG; i++)
		buf[i] = i * 13;
	/* Into a page never touched before: the kernel's store makes it dirty. */
	ASSERT_EQ((ssize_t)PG, write(p[1], buf, PG));
	ASSERT_EQ((ssize_t)PG, read(p[0], a.m + PG, PG));
	ASSERT_EQ(1, dirty_of(_metadata, a.fd));
	ASSERT_TRUE(range_is(b.m + PG, 0, PG));
	ASSERT_EQ(0, dspm_commit(a.fd, NULL, 0, NULL));
	ASSERT_EQ(0, memcmp(b.m + PG, buf, PG));
	/* Out of a read-only mapping's page never touched before. */
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ((ssize_t)PG, write(p[1], b.m + PG, PG));
	ASSERT_EQ((ssize_t)PG, read(p[0], buf, PG));
	for (i = 0; i < (int)PG; i++)
		ASSERT_EQ((unsigned char)(i * 13), buf[i]);
	close(p[0]);
	close(p[1]);
}

/* ------------------------------------------------------------------ */
/* (2): COMMIT is visible to every fd right after it returns            */

TEST_F(sem, commit_all_visible_to_every_fd)
{
	struct dspm_commit out;
	struct dspm_stat st;
	struct ds a, b, c;
	struct chan ch;
	__u64 v;
	pid_t pid;
	int p;

	env_create(_metadata, &self->e, "vis", 4 * PG, 0644);
	ds_open(_metadata, &self->e, "vis", DSPM_OPEN_WRITE, 4 * PG, &a);
	ds_open(_metadata, &self->e, "vis", 0, 4 * PG, &b);
	ds_open(_metadata, &self->e, "vis", DSPM_OPEN_WRITE, 4 * PG, &c);
	/* Everyone has every page mapped (read) before the commit. */
	ASSERT_TRUE(range_is(b.m, 0, 4 * PG));
	ASSERT_TRUE(range_is(c.m, 0, 4 * PG));

	ASSERT_EQ(0, chan_init(&ch));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		unsigned char *m;
		int fd, err = 0;

		fd = dspm_open(self->e.ctl, "vis", 0);
		if (fd < 0)
			_exit(10);
		m = dspm_map(fd, 4 * PG, PROT_READ);
		if (m == MAP_FAILED)
			_exit(11);
		if (!range_is(m, 0, 4 * PG))
			err = 12;
		chan_put(ch.to_parent[1], err);
		chan_get(ch.to_child[0], &v);	/* parent committed */
		for (p = 0; p < 4; p++)
			if (p != 2 && check_page(m, p, 7) >= 0)
				err = 20 + p;
		if (!range_is(m + 2 * PG, 0, PG))
			err = 30;
		_exit(err);
	}
	env_track_kid(&self->e, pid);
	ASSERT_EQ(0, chan_get(ch.to_parent[0], &v));
	ASSERT_EQ(0, v);

	fill_page(a.m, 0, 7);
	fill_page(a.m, 1, 7);
	fill_page(a.m, 3, 7);
	ASSERT_EQ(3, dirty_of(_metadata, a.fd));
	ASSERT_EQ(0, dspm_commit(a.fd, NULL, 0, &out));
	ASSERT_EQ(3, out.pages);
	ASSERT_EQ(1, out.version);
	ASSERT_EQ(sizeof(out), out.size);
	ASSERT_EQ(0, dirty_of(_metadata, a.fd));

	for (p = 0; p < 4; p++) {
		if (p == 2)
			continue;
		ASSERT_EQ(-1, check_page(b.m, p, 7))
			TH_LOG("read-only fd, page %d stale after commit", p);
		ASSERT_EQ(-1, check_page(c.m, p, 7))
			TH_LOG("read-write fd, page %d stale after commit", p);
		ASSERT_EQ(-1, check_page(a.m, p, 7));
	}
	ASSERT_TRUE(range_is(b.m + 2 * PG, 0, PG));
	chan_put(ch.to_child[1], 0);
	ASSERT_EQ(0, env_wait(&self->e, pid))
		TH_LOG("other process did not see the commit");
	chan_close(&ch);

	ASSERT_EQ(0, dspm_stat(b.fd, &st));
	ASSERT_EQ(1, st.version);
	ASSERT_EQ(0, st.dirty_pages);
	/* An fd opened afterwards. */
	{
		struct ds d;

		ds_open(_metadata, &self->e, "vis", 0, 4 * PG, &d);
		ASSERT_EQ(-1, check_page(d.m, 3, 7));
	}
}

/* Byte-precise range commits: the rest of a page stays dirty and private. */
TEST_F(sem, commit_range_byte_precise)
{
	struct dspm_commit out;
	struct ds a, b;
	__u64 pages;

	env_create(_metadata, &self->e, "bp", 4 * PG, 0644);
	ds_open(_metadata, &self->e, "bp", DSPM_OPEN_WRITE, 4 * PG, &a);
	ds_open(_metadata, &self->e, "bp", 0, 4 * PG, &b);
	ASSERT_TRUE(range_is(b.m, 0, 4 * PG));

	memset(a.m, 0xab, PG);
	ASSERT_EQ(0, dspm_commit_range(a.fd, 0, PG / 2, &out));
	ASSERT_EQ(1, out.pages);
	ASSERT_EQ(1, out.version);
	ASSERT_TRUE(range_is(b.m, 0xab, PG / 2));
	ASSERT_TRUE(range_is(b.m + PG / 2, 0, PG / 2))
		TH_LOG("bytes outside the committed range became visible");
	ASSERT_TRUE(range_is(a.m, 0xab, PG));
	ASSERT_EQ(1, dirty_of(_metadata, a.fd));
	ASSERT_EQ(0, dspm_commit_range(a.fd, PG / 2, PG / 2, &out));
	ASSERT_EQ(1, out.pages);
	ASSERT_EQ(2, out.version);
	ASSERT_TRUE(range_is(b.m, 0xab, PG));
	/* Both halves committed: nothing of the page is uncommitted. */
	ASSERT_EQ(0, dirty_of(_metadata, a.fd))
		TH_LOG("a page committed in two halves still counts as dirty");
	ASSERT_EQ(0, dspm_commit(a.fd, NULL, 0, &out));
	ASSERT_EQ(0, out.pages);
	ASSERT_EQ(2, out.version) TH_LOG("a commit with nothing changed made a version");

	/* One byte out of a hundred dirty ones. */
	memset(a.m + PG + 100, 0xcd, 100);
	ASSERT_EQ(0, dspm_commit_range(a.fd, PG + 150, 1, &out));
	ASSERT_EQ(3, out.version);
	ASSERT_TRUE(range_is(b.m + PG, 0, 150));
	ASSERT_EQ(0xcd, b.m[PG + 150]);
	ASSERT_TRUE(range_is(b.m + PG + 151, 0, PG - 151));
	ASSERT_EQ(1, dirty_of(_metadata, a.fd));
	/* Abort the rest: this fd now sees only the committed byte. */
	ASSERT_EQ(0, dspm_abort(a.fd, NULL, 0, &pages));
	ASSERT_EQ(1, pages);
	ASSERT_TRUE(range_is(a.m + PG, 0, 150));
	ASSERT_EQ(0xcd, a.m[PG + 150]);
	ASSERT_TRUE(range_is(a.m + PG + 151, 0, PG - 151));
	ASSERT_EQ(3, version_of(_metadata, b.fd));
}

/*
 * Aligned 8-byte words are committed whole (abi.md): two fds that store
 * different values into one word leave one of the values, never a mix -
 * even where a value has bytes equal to the word's old bytes, which a
 * byte-run diff would leave out.  A range that cuts a word commits only
 * the bytes inside it.
 */
TEST_F(sem, commit_whole_words)
{
	const __u64 lo = 0x00000000aaaaaaaaULL, hi = 0xbbbbbbbb00000000ULL;
	__u64 *wa, *wb, *wc;
	struct ds a, b, c;

	env_create(_metadata, &self->e, "ww", PG, 0644);
	ds_open(_metadata, &self->e, "ww", DSPM_OPEN_WRITE, PG, &a);
	ds_open(_metadata, &self->e, "ww", DSPM_OPEN_WRITE, PG, &b);
	ds_open(_metadata, &self->e, "ww", 0, PG, &c);
	wa = (__u64 *)a.m;
	wb = (__u64 *)b.m;
	wc = (__u64 *)c.m;

	/* word 1: a then b; word 2: b then a */
	WRITE_ONCE(wa[1], lo);
	WRITE_ONCE(wb[1], hi);
	WRITE_ONCE(wa[2], hi);
	WRITE_ONCE(wb[2], lo);
	ASSERT_EQ(0, dspm_commit_range(a.fd, 8, 8, NULL));
	ASSERT_EQ(0, dspm_commit_range(b.fd, 8, 16, NULL));
	ASSERT_EQ(0, dspm_commit_range(a.fd, 16, 8, NULL));
	ASSERT_EQ(hi, READ_ONCE(wc[1])) TH_LOG("word 1 is %#llx",
					       (unsigned long long)wc[1]);
	ASSERT_EQ(hi, READ_ONCE(wc[2])) TH_LOG("word 2 is %#llx",
					       (unsigned long long)wc[2]);

	/* single bytes of one word: the later commit's word wins whole */
	WRITE_ONCE(a.m[24 + 3], 0x33);
	WRITE_ONCE(b.m[24 + 5], 0x55);
	ASSERT_EQ(0, dspm_commit(a.fd, NULL, 0, NULL));
	ASSERT_EQ(0x33, READ_ONCE(c.m[24 + 3]));
	ASSERT_EQ(0, dspm_commit(b.fd, NULL, 0, NULL));
	ASSERT_EQ(0x55, READ_ONCE(c.m[24 + 5]));
	ASSERT_EQ(0, READ_ONCE(c.m[24 + 3]))
		TH_LOG("word 3 mixes two fds' bytes");

	/* a range that cuts a word: only its bytes */
	ASSERT_EQ(0, dspm_abort(a.fd, NULL, 0, NULL));
	WRITE_ONCE(wa[5], 0x1122334455667788ULL);
	ASSERT_EQ(0, dspm_commit_range(a.fd, 40 + 2, 3, NULL));
	ASSERT_EQ(0x0000004455660000ULL, READ_ONCE(wc[5]))
		TH_LOG("word 5 is %#llx", (unsigned long long)wc[5]);
}

/* Writer @k's token: each byte at random 0 or 0x10 * (k + 1) + its index. */
static __u64 word_token(unsigned int *seed, int k)
{
	__u64 t = 0;
	int b;

	for (b = 0; b < 8; b++)
		if (rand_r(seed) & 1)
			t |= (__u64)(0x10 * (k + 1) + b) << (8 * b);
	return t;
}

/*
 * Two processes commit tokens into the same words while a third reads
 * them: every word read is one writer's token (writer k's tokens have
 * bytes 0x10*k + i or 0, at random), never bytes of both.
 */
TEST_F_TIMEOUT(sem, concurrent_word_commits_never_mix, 300)
{
	enum { WORDS = 8, ROUNDS = 400 };
	int k, mixed = 0, reads = 0, done = 0, status[2], i;
	pid_t kids[2];
	struct ds r;

	env_create(_metadata, &self->e, "wm", PG, 0644);
	for (k = 0; k < 2; k++) {
		kids[k] = fork();
		ASSERT_LE(0, kids[k]);
		if (kids[k] == 0) {
			int fd = dspm_open(self->e.ctl, "wm", DSPM_OPEN_WRITE);
			__u64 *w = fd < 0 ? MAP_FAILED :
				   dspm_map(fd, PG, PROT_READ | PROT_WRITE);
			unsigned int seed = 7 + k, i, j;

			if (w == MAP_FAILED)
				_exit(2);
			for (i = 0; i < ROUNDS; i++) {
				for (j = 0; j < WORDS; j++)
					WRITE_ONCE(w[j], word_token(&seed, k));
				/* let the other writer commit in between */
				usleep(100);
				if (dspm_commit(fd, NULL, 0, NULL))
					_exit(3);
			}
			_exit(0);
		}
		env_track_kid(&self->e, kids[k]);
	}
	ds_open(_metadata, &self->e, "wm", 0, PG, &r);
	while (done != 3) {
		const __u64 *w = (const __u64 *)r.m;
		int j, b;

		for (k = 0; k < 2; k++)
			if (!(done & 1 << k) &&
			    waitpid(kids[k], &status[k], WNOHANG) == kids[k])
				done |= 1 << k;

		for (j = 0; j < WORDS; j++) {
			__u64 v = READ_ONCE(w[j]);
			int seen = 0;

			for (b = 0; b < 8; b++) {
				unsigned int byte = (v >> (8 * b)) & 0xff;

				if (byte)
					seen |= byte >> 4;
			}
			mixed += seen == 3;
			reads++;
		}
	}
	for (i = 0; i < self->e.nkids; i++)
		if (self->e.kids[i] == kids[0] || self->e.kids[i] == kids[1])
			self->e.kids[i] = 0;	/* reaped */
	ASSERT_TRUE(WIFEXITED(status[0]) && !WEXITSTATUS(status[0]))
		TH_LOG("writer 0: status %#x", status[0]);
	ASSERT_TRUE(WIFEXITED(status[1]) && !WEXITSTATUS(status[1]))
		TH_LOG("writer 1: status %#x", status[1]);
	TH_LOG("%d word reads, %d mixed", reads, mixed);
	ASSERT_EQ(0, mixed);
	ASSERT_LT(0, reads);
}

TEST_F(sem, commit_ranges_across_pages)
{
	struct dspm_range r[3] = {
		{ PG - 10, 20 },		/* straddles pages 0 and 1 */
		{ 3 * PG, 1 },
		{ 3 * PG + 4095, 1 },
	};
	struct dspm_commit out;
	struct ds a, b;

	env_create(_metadata, &self->e, "rp", 4 * PG, 0644);
	ds_open(_metadata, &self->e, "rp", DSPM_OPEN_WRITE, 4 * PG, &a);
	ds_open(_metadata, &self->e, "rp", 0, 4 * PG, &b);
	ASSERT_TRUE(range_is(b.m, 0, 4 * PG));
	memset(a.m, 0x77, 4 * PG);
	ASSERT_EQ(4, dirty_of(_metadata, a.fd));
	ASSERT_EQ(0, dspm_commit(a.fd, r, 3, &out));
	ASSERT_EQ(3, out.pages);	/* pages 0, 1 and 3 were written */
	ASSERT_EQ(1, out.version);
	ASSERT_TRUE(range_is(b.m, 0, PG - 10));
	ASSERT_TRUE(range_is(b.m + PG - 10, 0x77, 20));
	ASSERT_TRUE(range_is(b.m + PG + 10, 0, 2 * PG - 10));
	ASSERT_EQ(0x77, b.m[3 * PG]);
	ASSERT_TRUE(range_is(b.m + 3 * PG + 1, 0, PG - 2));
	ASSERT_EQ(0x77, b.m[4 * PG - 1]);
	ASSERT_EQ(4, dirty_of(_metadata, a.fd));
	/* Overlapping and adjacent ranges covering everything. */
	r[0] = (struct dspm_range){ 0, 2 * PG };
	r[1] = (struct dspm_range){ PG, 3 * PG };
	ASSERT_EQ(0, dspm_commit(a.fd, r, 2, &out));
	ASSERT_EQ(2, out.version);
	ASSERT_TRUE(range_is(b.m, 0x77, 4 * PG));
	ASSERT_EQ(0, dirty_of(_metadata, a.fd));
}

/*
 * Two writers, disjoint bytes of one page: the second commit must not
 * write back bytes it never changed (a lost update of the first commit).
 * It may instead fail with EAGAIN (conflict), keeping its dirty bytes.
 */
TEST_F(sem, concurrent_writers_no_lost_update)
{
	struct ds a, b, c;
	int ret;

	env_create(_metadata, &self->e, "lu", PG, 0644);
	ds_open(_metadata, &self->e, "lu", DSPM_OPEN_WRITE, PG, &a);
	ds_open(_metadata, &self->e, "lu", DSPM_OPEN_WRITE, PG, &b);
	ds_open(_metadata, &self->e, "lu", 0, PG, &c);
	memset(a.m, 0xa1, 100);
	memset(b.m + 200, 0xb2, 100);
	ASSERT_EQ(0, dspm_commit(b.fd, NULL, 0, NULL));
	ASSERT_TRUE(range_is(c.m + 200, 0xb2, 100));
	ret = dspm_commit(a.fd, NULL, 0, NULL);
	ASSERT_TRUE(ret == 0 || ret == -EAGAIN) TH_LOG("%s", strerror(-ret));
	ASSERT_TRUE(range_is(c.m + 200, 0xb2, 100))
		TH_LOG("a commit reverted bytes its fd never wrote (lost update)");
	if (ret == 0) {
		ASSERT_TRUE(range_is(c.m, 0xa1, 100));
		ASSERT_EQ(2, version_of(_metadata, c.fd));
	} else {
		ASSERT_TRUE(range_is(c.m, 0, 100));
		ASSERT_EQ(1, dirty_of(_metadata, a.fd));
	}
	ASSERT_TRUE(range_is(c.m + 100, 0, 100));
	ASSERT_TRUE(range_is(c.m + 300, 0, PG - 300));
}

/* Writers on different pages: one's commit leaves the other's dirt alone. */
TEST_F(sem, writers_on_different_pages)
{
	struct ds a, b, c;

	env_create(_metadata, &self->e, "wd", 2 * PG, 0644);
	ds_open(_metadata, &self->e, "wd", DSPM_OPEN_WRITE, 2 * PG, &a);
	ds_open(_metadata, &self->e, "wd", DSPM_OPEN_WRITE, 2 * PG, &b);
	ds_open(_metadata, &self->e, "wd", 0, 2 * PG, &c);
	ASSERT_TRUE(range_is(b.m, 0, 2 * PG));
	memset(a.m, 0x0a, PG);
	memset(b.m + PG, 0x0b, PG);
	ASSERT_EQ(0, dspm_commit(a.fd, NULL, 0, NULL));
	ASSERT_TRUE(range_is(c.m, 0x0a, PG));
	ASSERT_TRUE(range_is(c.m + PG, 0, PG));
	ASSERT_TRUE(range_is(b.m, 0x0a, PG))
		TH_LOG("writer b does not see a's commit on a page it did not write");
	ASSERT_TRUE(range_is(b.m + PG, 0x0b, PG));
	ASSERT_TRUE(range_is(a.m + PG, 0, PG));
	ASSERT_EQ(1, dirty_of(_metadata, b.fd));
	ASSERT_EQ(0, dspm_commit(b.fd, NULL, 0, NULL));
	ASSERT_TRUE(range_is(c.m, 0x0a, PG));
	ASSERT_TRUE(range_is(c.m + PG, 0x0b, PG));
	ASSERT_TRUE(range_is(a.m + PG, 0x0b, PG));
	ASSERT_EQ(2, version_of(_metadata, c.fd));
}

/* Write, commit, write again...: the private copy cycle, many times. */
TEST_F(sem, commit_rewrite_cycle)
{
	struct dspm_commit out;
	struct ds a, b;
	__u64 g;

	env_create(_metadata, &self->e, "cyc", 3 * PG, 0644);
	ds_open(_metadata, &self->e, "cyc", DSPM_OPEN_WRITE, 3 * PG, &a);
	ds_open(_metadata, &self->e, "cyc", 0, 3 * PG, &b);
	for (g = 1; g <= 60; g++) {
		__u64 p = g % 3;

		fill_page(a.m, p, g);
		ASSERT_EQ(1, dirty_of(_metadata, a.fd));
		if (g > 3) {
			ASSERT_EQ(-1, check_page(b.m, p, g - 3))
				TH_LOG("gen %llu: old bytes gone before commit",
				       (unsigned long long)g);
		}
		ASSERT_EQ(0, dspm_commit(a.fd, NULL, 0, &out));
		ASSERT_EQ(1, out.pages);
		ASSERT_EQ(g, out.version);
		ASSERT_EQ(-1, check_page(b.m, p, g))
			TH_LOG("gen %llu not visible", (unsigned long long)g);
		ASSERT_EQ(-1, check_page(a.m, p, g));
	}
}

/* A read-only fd never has dirty pages and sees every commit. */
TEST_F(sem, read_only_fd_follows_commits)
{
	struct ds a, b;
	struct dspm_stat st;
	int i;

	env_create(_metadata, &self->e, "rof", PG, 0644);
	ds_open(_metadata, &self->e, "rof", DSPM_OPEN_WRITE, PG, &a);
	ds_open(_metadata, &self->e, "rof", 0, PG, &b);
	for (i = 1; i <= 10; i++) {
		a.m[i] = i;
		ASSERT_EQ(0, dspm_commit(a.fd, NULL, 0, NULL));
		ASSERT_EQ(i, b.m[i]);
		ASSERT_EQ(0, dspm_stat(b.fd, &st));
		ASSERT_EQ(0, st.dirty_pages);
		ASSERT_EQ(i, st.version);
	}
}

/* A mapping whose fd is closed keeps following commits. */
TEST_F(sem, mapping_outlives_fd)
{
	struct ds a, b;

	env_create(_metadata, &self->e, "ol", PG, 0644);
	ds_open(_metadata, &self->e, "ol", DSPM_OPEN_WRITE, PG, &a);
	ds_open(_metadata, &self->e, "ol", 0, PG, &b);
	ASSERT_EQ(0, b.m[0]);
	env_close(&self->e, b.fd);
	a.m[0] = 0x42;
	ASSERT_EQ(0, dspm_commit(a.fd, NULL, 0, NULL));
	ASSERT_EQ(0x42, b.m[0]);
}

/* ------------------------------------------------------------------ */
/* (3): versions                                                       */

TEST_F(sem, version_counting)
{
	struct dspm_commit out;
	struct dspm_info i0, i1;
	struct ds a, b;
	__u64 pages;

	env_create(_metadata, &self->e, "ver", 4 * PG, 0644);
	ds_open(_metadata, &self->e, "ver", DSPM_OPEN_WRITE, 4 * PG, &a);
	ds_open(_metadata, &self->e, "ver", 0, 4 * PG, &b);
	ASSERT_EQ(0, version_of(_metadata, a.fd));

	/* Nothing dirty: succeeds, writes nothing, no new version. */
	ASSERT_EQ(0, dspm_commit(a.fd, NULL, 0, &out));
	ASSERT_EQ(0, out.pages);
	ASSERT_EQ(0, out.version);
	ASSERT_EQ(0, version_of(_metadata, b.fd));
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &i0));

	a.m[0] = 1;
	ASSERT_EQ(0, dspm_commit(a.fd, NULL, 0, &out));
	ASSERT_EQ(1, out.pages);
	ASSERT_EQ(1, out.version);
	ASSERT_EQ(1, version_of(_metadata, b.fd));
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &i1));
	ASSERT_EQ(i0.commits + 1, i1.commits);

	/* Again nothing dirty. */
	ASSERT_EQ(0, dspm_commit(a.fd, NULL, 0, &out));
	ASSERT_EQ(0, out.pages);
	ASSERT_EQ(1, out.version);

	/* Dirty page 2, commit a range over clean page 1 only. */
	a.m[2 * PG] = 2;
	ASSERT_EQ(0, dspm_commit_range(a.fd, PG, PG, &out));
	ASSERT_EQ(0, out.pages);
	ASSERT_EQ(1, out.version);
	ASSERT_EQ(1, version_of(_metadata, b.fd));
	ASSERT_EQ(0, b.m[2 * PG]);

	/* A multi-page commit is one version. */
	a.m[3 * PG] = 3;
	a.m[0] = 4;
	ASSERT_EQ(0, dspm_commit(a.fd, NULL, 0, &out));
	ASSERT_EQ(3, out.pages);
	ASSERT_EQ(2, out.version);
	ASSERT_EQ(2, version_of(_metadata, b.fd));

	/* ABORT does not make a version. */
	a.m[PG] = 5;
	ASSERT_EQ(0, dspm_abort(a.fd, NULL, 0, &pages));
	ASSERT_EQ(1, pages);
	ASSERT_EQ(2, version_of(_metadata, b.fd));

	/* Each fd's commit counts. */
	{
		struct ds c;

		ds_open(_metadata, &self->e, "ver", DSPM_OPEN_WRITE, 4 * PG, &c);
		c.m[PG] = 6;
		ASSERT_EQ(0, dspm_commit(c.fd, NULL, 0, &out));
		ASSERT_EQ(3, out.version);
	}
	ASSERT_EQ(3, version_of(_metadata, a.fd));
}

/* ------------------------------------------------------------------ */
/* (4): what drops dirty bytes: close, process death, ABORT             */

TEST_F(sem, close_drops_dirty)
{
	struct ds a, b;

	env_create(_metadata, &self->e, "cl", 2 * PG, 0644);
	ds_open(_metadata, &self->e, "cl", DSPM_OPEN_WRITE, 2 * PG, &a);
	ds_open(_metadata, &self->e, "cl", 0, 2 * PG, &b);
	a.m[0] = 1;
	ASSERT_EQ(0, dspm_commit(a.fd, NULL, 0, NULL));
	memset(a.m, 0x99, 2 * PG);
	ds_close(&self->e, &a);
	ASSERT_EQ(1, b.m[0]);
	ASSERT_TRUE(range_is(b.m + 1, 0, 2 * PG - 1));
	ASSERT_EQ(1, version_of(_metadata, b.fd));
	ds_open(_metadata, &self->e, "cl", DSPM_OPEN_WRITE, 2 * PG, &a);
	ASSERT_EQ(0, dirty_of(_metadata, a.fd));
	ASSERT_EQ(1, a.m[0]);
	ASSERT_TRUE(range_is(a.m + 1, 0, 2 * PG - 1));
}

/* Closing the fd while still mapped: the bytes live until the last unmap. */
TEST_F(sem, close_then_unmap_drops_dirty)
{
	struct ds a, b;

	env_create(_metadata, &self->e, "cu", PG, 0644);
	ds_open(_metadata, &self->e, "cu", DSPM_OPEN_WRITE, PG, &a);
	ds_open(_metadata, &self->e, "cu", 0, PG, &b);
	a.m[10] = 0x10;
	env_close(&self->e, a.fd);
	ASSERT_EQ(0x10, a.m[10]);
	a.m[11] = 0x11;
	ASSERT_EQ(0, b.m[10]);
	env_unmap(&self->e, a.m);
	ASSERT_EQ(0, b.m[10]);
	ASSERT_EQ(0, b.m[11]);
	ASSERT_EQ(0, version_of(_metadata, b.fd));
}

struct death_arg {
	int ctl;
	int fd_commit_first;	/* commit page 0 before writing page 1 */
	struct chan *ch;
	int normal_exit;
};

static int child_write_and_die(void *arg)
{
	struct death_arg *d = arg;
	unsigned char *m;
	__u64 v;
	int fd;

	fd = dspm_open(d->ctl, "death", DSPM_OPEN_WRITE);
	if (!CHILD_CHECK(fd >= 0, "open: %s", strerror(-fd)))
		return 1;
	m = dspm_map(fd, 2 * PG, PROT_READ | PROT_WRITE);
	if (!CHILD_CHECK(m != MAP_FAILED, "mmap"))
		return 1;
	if (d->fd_commit_first) {
		memset(m, 0xc0, PG);
		if (!CHILD_CHECK(dspm_commit(fd, NULL, 0, NULL) == 0, "commit"))
			return 1;
	}
	memset(m + PG, 0xd1, PG);
	m[0] = 0xd0;
	chan_put(d->ch->to_parent[1], 0);
	if (d->normal_exit)
		return 0;
	chan_get(d->ch->to_child[0], &v);	/* blocks until killed */
	return 0;
}

TEST_F(sem, process_death_drops_dirty)
{
	struct death_arg d;
	struct dspm_stat st;
	struct chan ch;
	struct ds b;
	__u64 v;
	pid_t pid;
	int round;

	env_create(_metadata, &self->e, "death", 2 * PG, 0644);
	ds_open(_metadata, &self->e, "death", 0, 2 * PG, &b);
	for (round = 0; round < 3; round++) {
		ASSERT_EQ(0, chan_init(&ch));
		d = (struct death_arg){ self->e.ctl, round == 2, &ch,
					round == 0 };
		fflush(stdout);
		fflush(stderr);
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0)
			_exit(child_write_and_die(&d));
		env_track_kid(&self->e, pid);
		ASSERT_EQ(0, chan_get(ch.to_parent[0], &v));
		if (round == 0) {
			ASSERT_EQ(0, env_wait(&self->e, pid));
		} else {
			ASSERT_EQ(0, kill(pid, SIGKILL));
			ASSERT_EQ(128 + SIGKILL, env_wait(&self->e, pid));
		}
		chan_close(&ch);
		if (round < 2) {
			ASSERT_TRUE(range_is(b.m, 0, 2 * PG))
				TH_LOG("round %d: a dead process's dirty bytes became visible",
				       round);
		} else {
			/* What it committed stays; what it did not is gone. */
			ASSERT_TRUE(range_is(b.m, 0xc0, PG));
			ASSERT_TRUE(range_is(b.m + PG, 0, PG));
		}
		ASSERT_EQ(0, dspm_stat(b.fd, &st));
		ASSERT_EQ(1, st.open_count) TH_LOG("round %d", round);
		ASSERT_EQ(round == 2 ? 1 : 0, st.version);
	}
	/* No leftovers: the dataset can be deleted once b is closed. */
	ds_close(&self->e, &b);
	ASSERT_EQ(0, dspm_delete(self->e.ctl, "death"));
}

TEST_F(sem, abort_all_and_ranges)
{
	struct dspm_range r;
	struct ds a, b;
	__u64 pages;

	env_create(_metadata, &self->e, "ab", 3 * PG, 0644);
	ds_open(_metadata, &self->e, "ab", DSPM_OPEN_WRITE, 3 * PG, &a);
	ds_open(_metadata, &self->e, "ab", 0, 3 * PG, &b);
	memset(a.m, 0x01, 3 * PG);
	ASSERT_EQ(0, dspm_commit(a.fd, NULL, 0, NULL));

	/* Nothing dirty. */
	ASSERT_EQ(0, dspm_abort(a.fd, NULL, 0, &pages));
	ASSERT_EQ(0, pages);

	memset(a.m, 0x02, 3 * PG);
	ASSERT_EQ(3, dirty_of(_metadata, a.fd));
	/* Half of page 0: the page stays dirty for its other half. */
	r = (struct dspm_range){ 0, PG / 2 };
	ASSERT_EQ(0, dspm_abort(a.fd, &r, 1, &pages));
	ASSERT_EQ(0, pages);
	ASSERT_EQ(3, dirty_of(_metadata, a.fd));
	ASSERT_TRUE(range_is(a.m, 0x01, PG / 2))
		TH_LOG("aborted bytes still visible to the writer");
	ASSERT_TRUE(range_is(a.m + PG / 2, 0x02, PG / 2));
	/* The whole of page 1. */
	r = (struct dspm_range){ PG, PG };
	ASSERT_EQ(0, dspm_abort(a.fd, &r, 1, &pages));
	ASSERT_EQ(1, pages);
	ASSERT_EQ(2, dirty_of(_metadata, a.fd));
	ASSERT_TRUE(range_is(a.m + PG, 0x01, PG));
	/* Commit what is left of page 0; abort everything else. */
	ASSERT_EQ(0, dspm_commit_range(a.fd, 0, PG, NULL));
	ASSERT_TRUE(range_is(b.m, 0x01, PG / 2));
	ASSERT_TRUE(range_is(b.m + PG / 2, 0x02, PG / 2));
	ASSERT_EQ(0, dspm_abort(a.fd, NULL, 0, &pages));
	ASSERT_EQ(1, pages);
	ASSERT_EQ(0, dirty_of(_metadata, a.fd));
	ASSERT_TRUE(range_is(a.m + 2 * PG, 0x01, PG));
	ASSERT_TRUE(range_is(b.m + PG, 0x01, 2 * PG));
	ASSERT_EQ(2, version_of(_metadata, b.fd));
	/* Writing after an abort works as before. */
	a.m[2 * PG] = 0x03;
	ASSERT_EQ(0, dspm_commit(a.fd, NULL, 0, NULL));
	ASSERT_EQ(0x03, b.m[2 * PG]);
}

/* ------------------------------------------------------------------ */
/* (5): multi-page commits, seen by other processes                    */

struct atom {
	int ctl;
	int pages;
	__u64 gens;
	struct chan *ch;
};

/* After each commit returns: every page shows exactly that generation. */
static int sync_reader(void *arg)
{
	struct atom *a = arg;
	unsigned char *m;
	__u64 g;
	long bad;
	int fd, p;

	fd = dspm_open(a->ctl, "atom", 0);
	if (!CHILD_CHECK(fd >= 0, "open: %s", strerror(-fd)))
		return 1;
	m = dspm_map(fd, a->pages * PG, PROT_READ);
	if (!CHILD_CHECK(m != MAP_FAILED, "mmap"))
		return 1;
	for (p = 0; p < a->pages; p++)
		if (!CHILD_CHECK(check_page(m, p, 0) < 0, "page %d not zero", p))
			return 1;
	chan_put(a->ch->to_parent[1], 0);
	while (chan_get(a->ch->to_child[0], &g) == 0) {
		for (p = 0; p < a->pages; p++) {
			bad = check_page(m, p, g);
			if (!CHILD_CHECK(bad < 0,
					 "after commit %llu returned: page %d word %ld = %#llx",
					 (unsigned long long)g, p, bad,
					 (unsigned long long)((__u64 *)(m + p * PG))[bad]))
				return 1;
		}
		chan_put(a->ch->to_parent[1], g);
	}
	return 0;
}

/*
 * Reads all the time.  Every word must carry its page's tag and a
 * generation that never goes backwards; once told the last generation, one
 * more pass must see it everywhere.
 */
static int free_reader(void *arg)
{
	struct atom *a = arg;
	struct pollfd pfd;
	__u64 *last, final = 0, w, g;
	const __u64 *v;
	unsigned char *m;
	bool done = false;
	int fd, p;
	size_t i;

	fd = dspm_open(a->ctl, "atom", 0);
	if (!CHILD_CHECK(fd >= 0, "open: %s", strerror(-fd)))
		return 1;
	m = dspm_map(fd, a->pages * PG, PROT_READ);
	if (!CHILD_CHECK(m != MAP_FAILED, "mmap"))
		return 1;
	last = calloc(a->pages, sizeof(*last));
	if (!CHILD_CHECK(last, "calloc"))
		return 1;
	pfd.fd = a->ch->to_child[0];
	pfd.events = POLLIN;
	for (;;) {
		if (!done && poll(&pfd, 1, 0) == 1) {
			if (!CHILD_CHECK(chan_get(pfd.fd, &final) == 0, "chan"))
				return 1;
			done = true;
		}
		for (p = 0; p < a->pages; p++) {
			v = (const __u64 *)(m + p * PG);
			for (i = 0; i < PG / 8; i += 64) {
				w = READ_ONCE(v[i]);
				g = w & 0xffffffff;
				if (!CHILD_CHECK(w >> 32 == (__u64)p,
						 "page %d word %zu = %#llx: wrong page",
						 p, i, (unsigned long long)w))
					return 1;
				if (!CHILD_CHECK(g <= a->gens, "page %d: gen %llu",
						 p, (unsigned long long)g))
					return 1;
				if (i == 0) {
					if (!CHILD_CHECK(g >= last[p],
							 "page %d went back from gen %llu to %llu",
							 p, (unsigned long long)last[p],
							 (unsigned long long)g))
						return 1;
					last[p] = g;
				}
				if (done &&
				    !CHILD_CHECK(g == final,
						 "page %d word %zu: gen %llu after the final commit %llu returned",
						 p, i, (unsigned long long)g,
						 (unsigned long long)final))
					return 1;
			}
		}
		if (done)
			return 0;
	}
}

TEST_F_TIMEOUT(sem, multipage_commit_atomic, 900)
{
	const int pages = 32;
	struct dspm_range *r;
	struct dspm_commit out;
	struct chan sc, fc;
	struct atom sa, fa;
	unsigned char *m;
	pid_t sp, fp;
	__u64 g, gens = 200, v;
	const char *s = getenv("DSPM_SEM_GENERATIONS");
	int fd, p, ret;

	if (s)
		gens = strtoull(s, NULL, 0);
	if (!gens || gens > 0xffffffffULL)
		gens = 200;
	env_create(_metadata, &self->e, "atom", pages * PG, 0644);
	/* The first writes create page 0 ... n-1 with their tag, gen 0. */
	{
		int w = env_open(_metadata, &self->e, "atom", DSPM_OPEN_WRITE);

		m = env_map(_metadata, &self->e, w, pages * PG,
			    PROT_READ | PROT_WRITE);
		for (p = 0; p < pages; p++)
			fill_page(m, p, 0);
		ASSERT_EQ(0, dspm_commit(w, NULL, 0, &out));
		ASSERT_EQ(pages, out.pages);
		fd = w;
	}
	r = calloc(pages, sizeof(*r));
	ASSERT_NE(NULL, r);
	for (p = 0; p < pages; p++)
		r[p] = (struct dspm_range){ (__u64)p * PG, PG };

	ASSERT_EQ(0, chan_init(&sc));
	ASSERT_EQ(0, chan_init(&fc));
	sa = (struct atom){ self->e.ctl, pages, gens, &sc };
	fa = (struct atom){ self->e.ctl, pages, gens, &fc };
	fflush(stdout);
	fflush(stderr);
	sp = fork();
	ASSERT_LE(0, sp);
	if (sp == 0) {
		close(sc.to_child[1]);
		_exit(sync_reader(&sa));
	}
	env_track_kid(&self->e, sp);
	fp = fork();
	ASSERT_LE(0, fp);
	if (fp == 0) {
		close(sc.to_child[1]);
		_exit(free_reader(&fa));
	}
	env_track_kid(&self->e, fp);
	close(sc.to_child[0]);
	ASSERT_EQ(0, chan_get(sc.to_parent[0], &v));

	for (g = 1; g <= gens; g++) {
		for (p = 0; p < pages; p++)
			fill_page(m, p, g);
		switch (g % 3) {
		case 0:
			ret = dspm_commit(fd, NULL, 0, &out);
			break;
		case 1:
			ret = dspm_commit(fd, r, pages, &out);
			break;
		default:
			ret = dspm_commit_range(fd, 0, pages * PG, &out);
			break;
		}
		ASSERT_EQ(0, ret) TH_LOG("gen %llu: %s",
					 (unsigned long long)g, strerror(-ret));
		ASSERT_EQ(pages, out.pages);
		ASSERT_EQ(g + 1, out.version);
		ASSERT_EQ(0, chan_put(sc.to_child[1], g));
		ASSERT_EQ(0, chan_get(sc.to_parent[0], &v))
			TH_LOG("sync reader failed at gen %llu",
			       (unsigned long long)g);
		ASSERT_EQ(g, v);
	}
	close(sc.to_child[1]);
	ASSERT_EQ(0, env_wait(&self->e, sp));
	ASSERT_EQ(0, chan_put(fc.to_child[1], gens));
	ASSERT_EQ(0, env_wait(&self->e, fp));
	free(r);
}

/* Many scattered pages of a larger dataset in one commit. */
TEST_F_TIMEOUT(sem, scattered_pages, 300)
{
	const size_t npages = 1024;
	struct dspm_commit out;
	struct ds a, b;
	unsigned char *touched;
	__u64 seed = 0x5eed, n = 0;
	size_t i, p;

	env_create(_metadata, &self->e, "scat", npages * PG, 0644);
	ds_open(_metadata, &self->e, "scat", DSPM_OPEN_WRITE, npages * PG, &a);
	ds_open(_metadata, &self->e, "scat", 0, npages * PG, &b);
	touched = calloc(npages, 1);
	ASSERT_NE(NULL, touched);
	for (i = 0; i < 300; i++) {
		p = rnd64(&seed) % npages;
		a.m[p * PG + (p % PG)] = (unsigned char)(p | 1);
		if (!touched[p]++)
			n++;
	}
	ASSERT_EQ(n, dirty_of(_metadata, a.fd));
	ASSERT_EQ(0, dspm_commit(a.fd, NULL, 0, &out));
	ASSERT_EQ(n, out.pages);
	for (p = 0; p < npages; p++) {
		if (touched[p]) {
			ASSERT_EQ((unsigned char)(p | 1), b.m[p * PG + (p % PG)]);
			continue;
		}
		ASSERT_TRUE(range_is(b.m + p * PG, 0, PG)) TH_LOG("page %zu", p);
	}
	free(touched);
}

/* ------------------------------------------------------------------ */
/* (7): free-space accounting                                          */

TEST_F(sem, free_space_accounting)
{
	const __u64 lens[] = { 1, PG, PG + 1, 10 * PG + 5, 1 << 20, 3 * PG };
	const int n = ARRAY_SIZE(lens);
	struct dspm_info i0, i, prev;
	char name[16];
	__u64 used;
	int k;

	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &i0));
	prev = i0;
	for (k = 0; k < n; k++) {
		snprintf(name, sizeof(name), "fs%d", k);
		env_create(_metadata, &self->e, name, lens[k], 0644);
		ASSERT_EQ(0, dspm_get_info(self->e.ctl, &i));
		ASSERT_EQ(prev.free - pages_of(lens[k]) * PG, i.free)
			TH_LOG("create of %llu bytes",
			       (unsigned long long)lens[k]);
		ASSERT_EQ(prev.datasets + 1, i.datasets);
		ASSERT_EQ(i0.capacity, i.capacity);
		prev = i;
	}
	ASSERT_EQ(0, dspm_list_bytes(self->e.ctl, &used, NULL));
	ASSERT_EQ(i.capacity - used, i.free);

	/* Writing and committing does not change the accounting. */
	{
		struct ds a;

		ds_open(_metadata, &self->e, "fs4", DSPM_OPEN_WRITE, 1 << 20, &a);
		memset(a.m, 0x12, 1 << 20);
		ASSERT_EQ(0, dspm_get_info(self->e.ctl, &i));
		ASSERT_EQ(prev.free, i.free);
		ASSERT_EQ(0, dspm_commit(a.fd, NULL, 0, NULL));
		ASSERT_EQ(0, dspm_get_info(self->e.ctl, &i));
		ASSERT_EQ(prev.free, i.free);
		ds_close(&self->e, &a);
	}

	/* Delete in another order: each gives back exactly its pages. */
	for (k = n - 1; k >= 0; k -= 2) {
		snprintf(name, sizeof(name), "fs%d", k);
		ASSERT_EQ(0, dspm_delete(self->e.ctl, name));
		ASSERT_EQ(0, dspm_get_info(self->e.ctl, &i));
		ASSERT_EQ(prev.free + pages_of(lens[k]) * PG, i.free);
		ASSERT_EQ(prev.datasets - 1, i.datasets);
		prev = i;
	}
	for (k = n - 2; k >= 0; k -= 2) {
		snprintf(name, sizeof(name), "fs%d", k);
		ASSERT_EQ(0, dspm_delete(self->e.ctl, name));
		ASSERT_EQ(0, dspm_get_info(self->e.ctl, &i));
		ASSERT_EQ(prev.free + pages_of(lens[k]) * PG, i.free);
		prev = i;
	}
	ASSERT_EQ(i0.free, i.free);
	ASSERT_EQ(i0.datasets, i.datasets);
}

/* ------------------------------------------------------------------ */
/* (9): GET_INFO / LIST / STAT fields, open counts                     */

TEST_F(sem, info_list_stat_fields)
{
	struct dspm_dataset_info di;
	struct dspm_stat st;
	__u64 t0, t1, id;
	int a, b, i;

	t0 = now_ns();
	ASSERT_EQ(0, dspm_create_full(self->e.ctl, "fields", 3 * PG + 7, 0640,
				      DSPM_MODEL_MRSW, 3, &id));
	t1 = now_ns();
	ASSERT_EQ(0, dspm_find(self->e.ctl, "fields", &di));
	ASSERT_EQ(sizeof(di), di.size);
	ASSERT_EQ(0, di.flags);
	ASSERT_EQ(id, di.id);
	ASSERT_EQ(0, strcmp(di.name, "fields"));
	ASSERT_TRUE(all_bytes(di.name + 6, 0, DSPM_NAME_MAX - 6));
	ASSERT_EQ(3 * PG + 7, di.length);
	ASSERT_EQ(4, di.pages);
	ASSERT_EQ(0, di.uid);
	ASSERT_EQ(0, di.gid);
	ASSERT_EQ(0640, di.mode);
	ASSERT_EQ(DSPM_MODEL_MRSW, di.model);
	ASSERT_EQ(3, di.replicas);
	ASSERT_EQ(0, di.open_count);
	ASSERT_EQ(0, di.version);
	ASSERT_LE(t0, di.ctime_ns);
	ASSERT_GE(t1, di.ctime_ns);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, di.reserved[i]);

	a = env_open(_metadata, &self->e, "fields", 0);
	b = env_open(_metadata, &self->e, "fields", DSPM_OPEN_WRITE);
	ASSERT_EQ(0, dspm_find(self->e.ctl, "fields", &di));
	ASSERT_EQ(2, di.open_count);
	ASSERT_EQ(0, dspm_stat(a, &st));
	ASSERT_EQ(sizeof(st), st.size);
	ASSERT_EQ(0, st.flags);
	ASSERT_EQ(di.id, st.id);
	ASSERT_EQ(0, strncmp(di.name, st.name, DSPM_NAME_MAX));
	ASSERT_EQ(di.length, st.length);
	ASSERT_EQ(di.pages, st.pages);
	ASSERT_EQ(di.uid, st.uid);
	ASSERT_EQ(di.gid, st.gid);
	ASSERT_EQ(di.mode, st.mode);
	ASSERT_EQ(di.model, st.model);
	ASSERT_EQ(di.replicas, st.replicas);
	ASSERT_EQ(2, st.open_count);
	ASSERT_EQ(0, st.version);
	ASSERT_EQ(di.ctime_ns, st.ctime_ns);
	ASSERT_EQ(0, st.dirty_pages);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, st.reserved[i]);
	ASSERT_EQ(0, dspm_stat(b, &st));
	ASSERT_EQ(2, st.open_count);
	ASSERT_EQ(di.id, st.id);
}

/*
 * The node's counters (GET_INFO VER1) across reads, stores, a commit and
 * an abort: a read fault on a page not yet mapped maps the committed page
 * (faults_local), the first store to a page makes a shadow (pages_shadowed),
 * a commit adds the aligned 8-byte words it changed (bytes_committed: bytes
 * 10..109 are words 8..111, bytes 0..49 words 0..55).  Nothing here
 * fetches, conflicts or replicates.
 */
TEST_F(sem, info_counters)
{
	struct dspm_info i0, i1;
	struct dspm_commit c;
	__u64 pages;
	struct ds d;
	int i;

	env_create(_metadata, &self->e, "cnt", 4 * PG, 0600);
	ds_open(_metadata, &self->e, "cnt", DSPM_OPEN_WRITE, 4 * PG, &d);
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &i0));
	ASSERT_EQ(DSPM_INFO_SIZE_VER1, i0.size);

	/* two read faults, one per page; reading again faults no more */
	ASSERT_TRUE(range_is(d.m, 0, 16));
	ASSERT_TRUE(range_is(d.m + PG, 0, 16));
	ASSERT_TRUE(range_is(d.m, 0, PG));
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &i1));
	ASSERT_EQ(i0.faults_local + 2, i1.faults_local);
	ASSERT_EQ(i0.pages_shadowed, i1.pages_shadowed);

	/* a store to a mapped page and one to an unmapped page: 2 shadows */
	memset(d.m + 10, 0x5a, 100);
	memset(d.m + 2 * PG, 0xa5, 50);
	ASSERT_EQ(2, dirty_of(_metadata, d.fd));
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &i1));
	ASSERT_EQ(i0.faults_local + 2, i1.faults_local);
	ASSERT_EQ(i0.pages_shadowed + 2, i1.pages_shadowed);
	ASSERT_EQ(i0.commits, i1.commits);
	ASSERT_EQ(i0.bytes_committed, i1.bytes_committed);

	ASSERT_EQ(0, dspm_commit(d.fd, NULL, 0, &c));
	ASSERT_EQ(2, c.pages);
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &i1));
	ASSERT_EQ(i0.commits + 1, i1.commits);
	ASSERT_EQ(i0.bytes_committed + 104 + 56, i1.bytes_committed);
	ASSERT_EQ(i0.pages_shadowed + 2, i1.pages_shadowed);
	ASSERT_EQ(i0.aborts, i1.aborts);

	/* the commit zapped page 0: reading it faults the new bytes in */
	ASSERT_TRUE(range_is(d.m + 10, 0x5a, 100));
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &i1));
	ASSERT_EQ(i0.faults_local + 3, i1.faults_local);

	/* a store to page 1 and its abort */
	WRITE_ONCE(d.m[PG + 1], 7);
	ASSERT_EQ(0, dspm_abort(d.fd, NULL, 0, &pages));
	ASSERT_EQ(1, pages);
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &i1));
	ASSERT_EQ(i0.aborts + 1, i1.aborts);
	ASSERT_EQ(i0.commits + 1, i1.commits);
	ASSERT_EQ(i0.bytes_committed + 104 + 56, i1.bytes_committed);
	ASSERT_EQ(i0.pages_shadowed + 3, i1.pages_shadowed);
	ASSERT_EQ(i0.faults_local + 3, i1.faults_local);

	/* single node: nothing remote */
	ASSERT_EQ(i0.faults_remote, i1.faults_remote);
	ASSERT_EQ(i0.conflicts, i1.conflicts);
	ASSERT_EQ(i0.bytes_replicated, i1.bytes_replicated);
	for (i = 0; i < DSPM_INFO_FETCH_BUCKETS; i++)
		ASSERT_EQ(i0.fetch_hist[i], i1.fetch_hist[i]);
	ds_close(&self->e, &d);
}

TEST_F(sem, info_counts_datasets)
{
	struct dspm_info i0, i1;
	struct ds a;

	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &i0));
	env_create(_metadata, &self->e, "c1", PG, 0644);
	env_create(_metadata, &self->e, "c2", PG, 0644);
	ds_open(_metadata, &self->e, "c1", DSPM_OPEN_WRITE, PG, &a);
	a.m[0] = 1;
	ASSERT_EQ(0, dspm_commit(a.fd, NULL, 0, NULL));
	a.m[0] = 2;
	ASSERT_EQ(0, dspm_abort(a.fd, NULL, 0, NULL));
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &i1));
	ASSERT_EQ(i0.datasets + 2, i1.datasets);
	ASSERT_EQ(i0.commits + 1, i1.commits);
	ASSERT_EQ(i0.capacity, i1.capacity);
	ASSERT_EQ(0, memcmp(i0.uuid, i1.uuid, sizeof(i0.uuid)));
}

TEST_F(sem, open_count_tracking)
{
	struct dspm_dataset_info di;
	struct dspm_stat st;
	struct chan ch;
	int a, b, d;
	__u64 v;
	pid_t pid;

	env_create(_metadata, &self->e, "oc", PG, 0644);
	a = env_open(_metadata, &self->e, "oc", 0);
	ASSERT_EQ(0, dspm_stat(a, &st));
	ASSERT_EQ(1, st.open_count);
	b = env_open(_metadata, &self->e, "oc", DSPM_OPEN_WRITE);
	ASSERT_EQ(0, dspm_stat(a, &st));
	ASSERT_EQ(2, st.open_count);
	/* dup shares the open file: no new open. */
	d = dup(a);
	ASSERT_LE(0, d);
	ASSERT_EQ(0, dspm_stat(d, &st));
	ASSERT_EQ(2, st.open_count);
	env_close(&self->e, a);
	ASSERT_EQ(0, dspm_stat(d, &st));
	ASSERT_EQ(2, st.open_count);
	close(d);
	ASSERT_EQ(0, dspm_stat(b, &st));
	ASSERT_EQ(1, st.open_count);

	/* Another process's open counts while it lives. */
	ASSERT_EQ(0, chan_init(&ch));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = dspm_open(self->e.ctl, "oc", 0);

		chan_put(ch.to_parent[1], fd >= 0 ? 0 : -fd);
		chan_get(ch.to_child[0], &v);
		_exit(0);
	}
	env_track_kid(&self->e, pid);
	ASSERT_EQ(0, chan_get(ch.to_parent[0], &v));
	ASSERT_EQ(0, v);
	ASSERT_EQ(0, dspm_find(self->e.ctl, "oc", &di));
	ASSERT_EQ(2, di.open_count);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(128 + SIGKILL, env_wait(&self->e, pid));
	chan_close(&ch);
	ASSERT_EQ(0, dspm_find(self->e.ctl, "oc", &di));
	ASSERT_EQ(1, di.open_count);
	env_close(&self->e, b);
	ASSERT_EQ(0, dspm_find(self->e.ctl, "oc", &di));
	ASSERT_EQ(0, di.open_count);
}

/* ------------------------------------------------------------------ */
/* pmem: committed bytes survive detach + attach, dirty ones do not.   */

TEST_F_TIMEOUT(sem, pmem_persistence, 300)
{
	struct dspm_dataset_info di;
	struct dspm_info i0, i1;
	struct ds a;
	int k, p;
	char name[16];

	if (!self->e.pmem)
		SKIP(return, "needs DSPM_TEST_PMEM");
	for (k = 0; k < 3; k++) {
		snprintf(name, sizeof(name), "per%d", k);
		env_create(_metadata, &self->e, name, (k + 2) * PG, 0600 + k);
		ds_open(_metadata, &self->e, name, DSPM_OPEN_WRITE,
			(k + 2) * PG, &a);
		for (p = 0; p <= k; p++) {
			fill_page(a.m, p, 100 + k);
			ASSERT_EQ(0, dspm_commit(a.fd, NULL, 0, NULL));
		}
		fill_page(a.m, k + 1, 999);	/* never committed */
		ds_close(&self->e, &a);
	}
	ASSERT_EQ(0, dspm_delete(self->e.ctl, "per1"));
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &i0));
	ASSERT_EQ(0, dspm_detach(self->e.ctl));
	ASSERT_EQ(0, dspm_attach_backend(self->e.ctl, false));
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &i1));
	ASSERT_EQ(i0.free, i1.free);
	ASSERT_EQ(i0.datasets, i1.datasets);
	ASSERT_EQ(i0.capacity, i1.capacity);
	ASSERT_EQ(-ENOENT, dspm_find(self->e.ctl, "per1", NULL));
	for (k = 0; k < 3; k += 2) {
		snprintf(name, sizeof(name), "per%d", k);
		ASSERT_EQ(0, dspm_find(self->e.ctl, name, &di));
		ASSERT_EQ((__u64)(k + 2) * PG, di.length);
		ASSERT_EQ(0600U + k, di.mode);
		ASSERT_EQ((__u64)k + 1, di.version);
		ds_open(_metadata, &self->e, name, 0, (k + 2) * PG, &a);
		for (p = 0; p <= k; p++)
			ASSERT_EQ(-1, check_page(a.m, p, 100 + k));
		ASSERT_TRUE(range_is(a.m + (k + 1) * PG, 0, PG))
			TH_LOG("uncommitted page survived");
		ds_close(&self->e, &a);
	}
}

TEST_HARNESS_MAIN
