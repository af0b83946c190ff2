// SPDX-License-Identifier: GPL-2.0
/*
 * What other system calls can do with a dataset mapping (abi.md, "Calls on
 * a mapping"): debuggers read and write it through ptrace and
 * /proc/PID/mem, and see what the process sees; calls that must pin its
 * pages (shared futexes, process_vm_readv, vmsplice) fail with the errno
 * abi.md names, since the mapping is VM_PFNMAP.
 */
#include "kselftest_harness.h"
#include "dspm_test.h"
#include <linux/futex.h>
#include <sys/ptrace.h>
#include <sys/uio.h>

FIXTURE(map) {
	struct dspm_env e;
	int fd;		/* writable */
	int ro;		/* read-only, second open file description */
	unsigned char *m;
	unsigned char *r;
};

#define MAP_PAGES	4

FIXTURE_SETUP(map)
{
	env_setup(_metadata, &self->e);
	env_create(_metadata, &self->e, "map", MAP_PAGES * PG, 0644);
	self->fd = env_open(_metadata, &self->e, "map", DSPM_OPEN_WRITE);
	self->m = env_map(_metadata, &self->e, self->fd, MAP_PAGES * PG,
			  PROT_READ | PROT_WRITE);
	self->ro = env_open(_metadata, &self->e, "map", 0);
	self->r = env_map(_metadata, &self->e, self->ro, MAP_PAGES * PG,
			  PROT_READ);
}

FIXTURE_TEARDOWN(map)
{
	env_teardown(_metadata, &self->e);
}

static ssize_t mem_rw(pid_t pid, bool write, void *addr, void *buf,
		      size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write ? pwrite(fd, buf, len, (off_t)(uintptr_t)addr) :
		    pread(fd, buf, len, (off_t)(uintptr_t)addr);
	if (n < 0)
		n = -errno;
	close(fd);
	return n;
}

static __u64 dirty_pages(struct __test_metadata *_metadata, int fd)
{
	struct dspm_stat st;

	ASSERT_EQ(0, dspm_stat(fd, &st));
	return st.dirty_pages;
}

/* Committed, uncommitted and never-written bytes, as each fd sees them. */
TEST_F(map, proc_mem_reads_what_the_process_sees)
{
	unsigned char buf[2 * PG], want[2 * PG];

	memset(self->m, 0x5a, PG);
	ASSERT_EQ(0, dspm_commit(self->fd, NULL, 0, NULL));
	memset(self->m + 10, 0x77, 100);	/* uncommitted */

	/* across a page boundary: pages 0 (shadowed) and 1 (never written) */
	ASSERT_EQ((ssize_t)sizeof(buf),
		  mem_rw(getpid(), false, self->m, buf, sizeof(buf)));
	memset(want, 0, sizeof(want));
	memset(want, 0x5a, PG);
	memset(want + 10, 0x77, 100);
	ASSERT_EQ(0, memcmp(buf, want, sizeof(want)));

	/* the other fd sees the committed bytes only */
	ASSERT_EQ((ssize_t)PG, mem_rw(getpid(), false, self->r, buf, PG));
	memset(want, 0x5a, PG);
	ASSERT_EQ(0, memcmp(buf, want, PG));
	/* a read makes nothing dirty */
	ASSERT_EQ(1, dirty_pages(_metadata, self->fd));
	ASSERT_EQ(0, dirty_pages(_metadata, self->ro));
}

/* A debugger's store is the process's own uncommitted store. */
TEST_F(map, proc_mem_write_is_an_uncommitted_store)
{
	unsigned char buf[64];

	memset(buf, 0xc3, sizeof(buf));
	ASSERT_EQ((ssize_t)sizeof(buf),
		  mem_rw(getpid(), true, self->m + 2 * PG + 100, buf,
			 sizeof(buf)));
	ASSERT_EQ(0xc3, READ_ONCE(self->m[2 * PG + 100]));
	ASSERT_EQ(0xc3, READ_ONCE(self->m[2 * PG + 163]));
	ASSERT_EQ(0, READ_ONCE(self->m[2 * PG + 164]));
	ASSERT_EQ(1, dirty_pages(_metadata, self->fd));
	ASSERT_EQ(0, READ_ONCE(self->r[2 * PG + 100]));
	ASSERT_EQ(0, dspm_commit(self->fd, NULL, 0, NULL));
	ASSERT_EQ(0xc3, READ_ONCE(self->r[2 * PG + 100]));

	/* not through a read-only mapping: /proc/PID/mem then says EIO */
	ASSERT_EQ(-EIO, mem_rw(getpid(), true, self->r + PG, buf, 1));
	ASSERT_EQ(0, dirty_pages(_metadata, self->ro));
}

/* ptrace PEEKDATA/POKEDATA of a child that shares the fd (and its shadows). */
TEST_F(map, ptrace_peek_and_poke)
{
	unsigned long *w = (unsigned long *)(self->m + 3 * PG);
	long word;
	pid_t kid;
	int st;

	WRITE_ONCE(w[0], 0x1122334455667788UL);
	kid = fork();
	ASSERT_LE(0, kid);
	if (kid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
			_exit(2);
		raise(SIGSTOP);
		/* the parent's POKE must show in this process's loads */
		_exit(READ_ONCE(w[1]) == 0xabcdefUL ? 0 : 1);
	}
	env_track_kid(&self->e, kid);
	ASSERT_EQ(kid, waitpid(kid, &st, WSTOPPED));
	ASSERT_TRUE(WIFSTOPPED(st));

	errno = 0;
	word = ptrace(PTRACE_PEEKDATA, kid, &w[0], NULL);
	ASSERT_EQ(0, errno) TH_LOG("PEEKDATA: %s", strerror(errno));
	ASSERT_EQ(0x1122334455667788L, word);
	ASSERT_EQ(0, ptrace(PTRACE_POKEDATA, kid, &w[1], (void *)0xabcdefUL))
		TH_LOG("POKEDATA: %s", strerror(errno));
	/* one fd: the parent sees it too, uncommitted */
	ASSERT_EQ(0xabcdefUL, READ_ONCE(w[1]));
	ASSERT_EQ(0, READ_ONCE(((unsigned long *)(self->r + 3 * PG))[1]));
	ASSERT_EQ(0, ptrace(PTRACE_CONT, kid, NULL, NULL));
	ASSERT_EQ(0, env_wait(&self->e, kid));
}

/* A shared futex needs the page pinned; a process-private one does not. */
TEST_F(map, futexes)
{
	unsigned int *word = (unsigned int *)(self->m + PG);
	struct timespec never = { 0, 1000000 };

	WRITE_ONCE(*word, 7);
	ASSERT_EQ(-1, syscall(SYS_futex, word, FUTEX_WAIT, 8, &never, NULL, 0));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, 8, &never,
			      NULL, 0));
	ASSERT_EQ(EAGAIN, errno);	/* the value was read: not 8 */
	ASSERT_EQ(-1, syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, 7, &never,
			      NULL, 0));
	ASSERT_EQ(ETIMEDOUT, errno);
	ASSERT_EQ(0, syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL,
			     NULL, 0));
}

/* Calls that pin the pages of another process's, or of a pipe's, buffer. */
TEST_F(map, pinning_calls_fail_with_efault)
{
	unsigned char buf[PG];
	struct iovec local = { buf, sizeof(buf) }, remote = { self->m, PG };
	struct iovec from_map = { self->r, PG };
	int p[2];

	memset(self->m, 1, PG);
	ASSERT_EQ(-1, process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
	ASSERT_EQ(EFAULT, errno);
	local.iov_base = self->m;
	remote.iov_base = buf;
	ASSERT_EQ(-1, process_vm_writev(getpid(), &remote, 1, &local, 1, 0));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(-1, vmsplice(p[1], &from_map, 1, 0));
	ASSERT_EQ(EFAULT, errno);
	close(p[0]);
	close(p[1]);
}

/* O_DIRECT I/O pins its buffer: here a loop device's, on a tmpfs file. */
TEST_F(map, o_direct_fails_with_efault)
{
	int bfd, lfd, dfd, rd_errno, wr_errno;
	ssize_t rd, wr;
	char dev[64];

	if (!loop_get(_metadata, dev, 1 << 20, &lfd, &bfd))
		SKIP(return, "no loop device");
	dfd = open(dev, O_RDWR | O_DIRECT | O_CLOEXEC);

	memset(self->m, 3, PG);
	rd = dfd < 0 ? 0 : pread(dfd, self->m + PG, PG, 0);
	rd_errno = errno;
	wr = dfd < 0 ? 0 : pwrite(dfd, self->m, PG, 0);
	wr_errno = errno;

	if (dfd >= 0)
		close(dfd);
	loop_put(lfd, bfd);
	ASSERT_LE(0, dfd) TH_LOG("open %s O_DIRECT", dev);
	ASSERT_EQ(-1, rd);
	ASSERT_EQ(EFAULT, rd_errno);
	ASSERT_EQ(-1, wr);
	ASSERT_EQ(EFAULT, wr_errno);
}

/* madvise and friends on a VM_PFNMAP mapping (abi.md lists each). */
TEST_F(map, madvise_mlock_msync)
{
	ASSERT_EQ(-1, madvise(self->m, PG, MADV_DONTNEED));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, madvise(self->m, PG, MADV_NORMAL));
	ASSERT_EQ(0, madvise(self->m, PG, MADV_DONTFORK));
	ASSERT_EQ(0, madvise(self->m, PG, MADV_DOFORK));
	ASSERT_EQ(0, mlock(self->m, PG));
	ASSERT_EQ(0, munlock(self->m, PG));
	ASSERT_EQ(0, msync(self->m, PG, MS_ASYNC));
	/* durability is COMMIT's: a dataset fd has no fsync */
	ASSERT_EQ(-1, msync(self->m, PG, MS_SYNC));
	ASSERT_EQ(EINVAL, errno);
}

TEST_HARNESS_MAIN
