/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the dspm selftests.
 *
 * The plain helpers return 0 (or a file descriptor) on success and -errno on
 * failure, so that tests can compare against the exact error.  Helpers that
 * use the kselftest harness (ASSERT_*) are only compiled when
 * kselftest_harness.h was included first.
 */
#ifndef DSPM_TEST_H
#define DSPM_TEST_H

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/loop.h>

#include <linux/dspm.h>

#define PG			4096UL
#define DRAM_TEST_BYTES		(64ULL << 20)
#define NOBODY			65534

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(arr)		(sizeof(arr) / sizeof((arr)[0]))
#endif

/*
 * One untorn access to shared (mapped) memory that the compiler may neither
 * omit nor merge with another: the mappings under test change behind its back.
 */
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, val)	__atomic_store_n(&(x), (val), __ATOMIC_RELAXED)

/*
 * The ABI says every VER0 size is the size of the struct in this header,
 * or its latest VER for a struct that grew.
 */
static_assert(sizeof(struct dspm_info) == DSPM_INFO_SIZE_VER1, "info");
static_assert(offsetof(struct dspm_info, faults_local) == DSPM_INFO_SIZE_VER0,
	      "info VER1 starts after VER0");
static_assert(sizeof(struct dspm_attach) == DSPM_ATTACH_SIZE_VER0, "attach");
static_assert(sizeof(struct dspm_detach) == DSPM_DETACH_SIZE_VER0, "detach");
static_assert(sizeof(struct dspm_create) == DSPM_CREATE_SIZE_VER0, "create");
static_assert(sizeof(struct dspm_open) == DSPM_OPEN_SIZE_VER0, "open");
static_assert(sizeof(struct dspm_delete) == DSPM_DELETE_SIZE_VER0, "delete");
static_assert(sizeof(struct dspm_dataset_info) == DSPM_DATASET_INFO_SIZE_VER0,
	      "dataset_info");
static_assert(sizeof(struct dspm_list) == DSPM_LIST_SIZE_VER0, "list");
static_assert(sizeof(struct dspm_commit) == DSPM_COMMIT_SIZE_VER0, "commit");
static_assert(sizeof(struct dspm_abort) == DSPM_ABORT_SIZE_VER0, "abort");
static_assert(sizeof(struct dspm_stat) == DSPM_STAT_SIZE_VER0, "stat");
static_assert(sizeof(struct dspm_range) == 16, "range");
static_assert(sizeof(struct dspm_begin) == DSPM_BEGIN_SIZE_VER0, "begin");
static_assert(sizeof(struct dspm_lock) == DSPM_LOCK_SIZE_VER0, "lock");
static_assert(sizeof(struct dspm_barrier) == DSPM_BARRIER_SIZE_VER0, "barrier");

static inline int dspm_ioctl(int fd, unsigned long cmd, void *arg)
{
	int ret = ioctl(fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

static inline const char *test_pmem(void)
{
	const char *p = getenv("DSPM_TEST_PMEM");

	return p && *p ? p : NULL;
}

static inline __u64 pages_of(__u64 len)
{
	return (len + PG - 1) / PG;
}

static inline void name_set(char dst[DSPM_NAME_MAX], const char *s)
{
	size_t n = strlen(s);

	memset(dst, 0, DSPM_NAME_MAX);
	memcpy(dst, s, n < DSPM_NAME_MAX ? n : DSPM_NAME_MAX);
}

static inline int dspm_get_info(int ctl, struct dspm_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return dspm_ioctl(ctl, DSPM_IOC_GET_INFO, info);
}

static inline void dspm_attach_fill(struct dspm_attach *a, bool format)
{
	const char *p = test_pmem();

	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->flags = format ? DSPM_ATTACH_FORMAT : 0;
	if (p) {
		a->path = (uintptr_t)p;
	} else {
		a->flags |= DSPM_ATTACH_DRAM;
		a->dram_bytes = DRAM_TEST_BYTES;
	}
}

/* Attaches the test backend: DSPM_TEST_PMEM's device, or 64 MiB of DRAM. */
static inline int dspm_attach_backend(int ctl, bool format)
{
	struct dspm_attach a;

	dspm_attach_fill(&a, format);
	return dspm_ioctl(ctl, DSPM_IOC_ATTACH, &a);
}

static inline int dspm_attach_dram(int ctl, __u32 flags, __u64 bytes)
{
	struct dspm_attach a = {
		.size = sizeof(a),
		.flags = flags | DSPM_ATTACH_DRAM,
		.dram_bytes = bytes,
	};

	return dspm_ioctl(ctl, DSPM_IOC_ATTACH, &a);
}

static inline int dspm_attach_path(int ctl, __u32 flags, const char *path)
{
	struct dspm_attach a = {
		.size = sizeof(a),
		.flags = flags,
		.path = (uintptr_t)path,
	};

	return dspm_ioctl(ctl, DSPM_IOC_ATTACH, &a);
}

static inline int dspm_detach(int ctl)
{
	struct dspm_detach d = { .size = sizeof(d) };

	return dspm_ioctl(ctl, DSPM_IOC_DETACH, &d);
}

static inline int dspm_create_full(int ctl, const char *name, __u64 length,
				   __u32 mode, __u32 model, __u32 replicas,
				   __u64 *id)
{
	struct dspm_create c = {
		.size = sizeof(c),
		.length = length,
		.mode = mode,
		.model = model,
		.replicas = replicas,
	};
	int ret;

	name_set(c.name, name);
	ret = dspm_ioctl(ctl, DSPM_IOC_CREATE, &c);
	if (!ret && id)
		*id = c.id;
	return ret;
}

static inline int dspm_create(int ctl, const char *name, __u64 length,
			      __u32 mode)
{
	return dspm_create_full(ctl, name, length, mode, DSPM_MODEL_MRMW, 1,
				NULL);
}

static inline int dspm_open(int ctl, const char *name, __u32 flags)
{
	struct dspm_open o = { .size = sizeof(o), .flags = flags };

	name_set(o.name, name);
	return dspm_ioctl(ctl, DSPM_IOC_OPEN, &o);
}

static inline int dspm_delete(int ctl, const char *name)
{
	struct dspm_delete d = { .size = sizeof(d) };

	name_set(d.name, name);
	return dspm_ioctl(ctl, DSPM_IOC_DELETE, &d);
}

static inline int dspm_commit(int fd, const struct dspm_range *r, __u32 nr,
			      struct dspm_commit *out)
{
	struct dspm_commit c = {
		.size = sizeof(c),
		.ranges = (uintptr_t)r,
		.nr_ranges = nr,
	};
	int ret = dspm_ioctl(fd, DSPM_IOC_COMMIT, &c);

	if (out)
		*out = c;
	return ret;
}

/* Commits [off, off + len) of @fd. */
static inline int dspm_commit_range(int fd, __u64 off, __u64 len,
				    struct dspm_commit *out)
{
	struct dspm_range r = { .offset = off, .length = len };

	return dspm_commit(fd, &r, 1, out);
}

static inline int dspm_abort(int fd, const struct dspm_range *r, __u32 nr,
			     __u64 *pages)
{
	struct dspm_abort a = {
		.size = sizeof(a),
		.ranges = (uintptr_t)r,
		.nr_ranges = nr,
	};
	int ret = dspm_ioctl(fd, DSPM_IOC_ABORT, &a);

	if (!ret && pages)
		*pages = a.pages;
	return ret;
}

/* BEGIN; on an MRSW dataset taking @nr ranges (all with 0) of @fd. */
static inline int dspm_begin_own(int fd, const struct dspm_range *r, __u32 nr,
				 __u32 flags)
{
	struct dspm_begin b = {
		.size = sizeof(b),
		.flags = flags,
		.ranges = (uintptr_t)r,
		.nr_ranges = nr,
	};

	return dspm_ioctl(fd, DSPM_IOC_BEGIN, &b);
}

/* BEGIN owning [off, off + len) of an MRSW dataset. */
static inline int dspm_own_range(int fd, __u64 off, __u64 len, __u32 flags)
{
	struct dspm_range r = { .offset = off, .length = len };

	return dspm_begin_own(fd, &r, 1, flags);
}

static inline int dspm_lock(int fd, __u64 key, __u32 flags)
{
	struct dspm_lock l = { .size = sizeof(l), .flags = flags, .key = key };

	return dspm_ioctl(fd, DSPM_IOC_LOCK, &l);
}

static inline int dspm_unlock(int fd, __u64 key)
{
	struct dspm_lock l = { .size = sizeof(l), .key = key };

	return dspm_ioctl(fd, DSPM_IOC_UNLOCK, &l);
}

static inline int dspm_barrier(int fd, struct dspm_barrier *out)
{
	struct dspm_barrier b = { .size = sizeof(b) };
	int ret = dspm_ioctl(fd, DSPM_IOC_BARRIER, &b);

	if (!ret && out)
		*out = b;
	return ret;
}

static inline int dspm_stat(int fd, struct dspm_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	return dspm_ioctl(fd, DSPM_IOC_STAT, st);
}

static inline int dspm_list(int ctl, struct dspm_dataset_info *e, __u32 cap,
			    __u32 *count, __u32 *total)
{
	struct dspm_list l = {
		.size = sizeof(l),
		.entries = (uintptr_t)e,
		.entry_size = sizeof(*e),
		.capacity = cap,
	};
	int ret = dspm_ioctl(ctl, DSPM_IOC_LIST, &l);

	if (!ret) {
		if (count)
			*count = l.count;
		if (total)
			*total = l.total;
	}
	return ret;
}

/* Finds @name in the LIST output: 0 and *out filled, -ENOENT, or -errno. */
static inline int dspm_find(int ctl, const char *name,
			    struct dspm_dataset_info *out)
{
	struct dspm_dataset_info *e;
	__u32 count, total, i;
	int ret;

	ret = dspm_list(ctl, NULL, 0, &count, &total);
	if (ret)
		return ret;
	e = calloc(total + 1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	ret = dspm_list(ctl, e, total + 1, &count, &total);
	if (!ret) {
		ret = -ENOENT;
		for (i = 0; i < count; i++) {
			if (!strncmp(e[i].name, name, DSPM_NAME_MAX)) {
				if (out)
					*out = e[i];
				ret = 0;
				break;
			}
		}
	}
	free(e);
	return ret;
}

/* Sum of pages * 4096 over every dataset in LIST. */
static inline int dspm_list_bytes(int ctl, __u64 *bytes, __u32 *n)
{
	struct dspm_dataset_info *e;
	__u32 count, total, i;
	int ret;

	ret = dspm_list(ctl, NULL, 0, &count, &total);
	if (ret)
		return ret;
	e = calloc(total + 1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	ret = dspm_list(ctl, e, total + 1, &count, &total);
	if (!ret) {
		*bytes = 0;
		for (i = 0; i < count; i++)
			*bytes += e[i].pages * PG;
		if (n)
			*n = count;
		if (count != total)
			ret = -EAGAIN;
	}
	free(e);
	return ret;
}

static inline void *dspm_map(int fd, size_t len, int prot)
{
	return mmap(NULL, len, prot, MAP_SHARED, fd, 0);
}

/* ------------------------------------------------------------------ */
/* Credentials                                                         */

/*
 * The group that may open /dev/dspm here: the driver makes the node
 * root:root 0660 and a udev rule gives it group "dspm" on a real system;
 * the tests give it this gid (device_group_setup(), as root), and every
 * user they drop to is a member, as a user added to "dspm" would be.
 */
#define DEVICE_GID		4242

static inline int device_group_setup(void)
{
	return chown(DSPM_DEVICE_PATH, -1, DEVICE_GID) ? -errno : 0;
}

/*
 * Becomes @uid/@gid (dropping every capability) with the device's group as
 * its only supplementary group, or none with @no_device.
 */
static inline int drop_to_user_groups(uid_t uid, gid_t gid, bool no_device)
{
	gid_t dev = DEVICE_GID;

	if (setgroups(no_device ? 0 : 1, &dev))
		return -errno;
	if (setresgid(gid, gid, gid))
		return -errno;
	if (setresuid(uid, uid, uid))
		return -errno;
	return 0;
}

static inline int drop_to_user(uid_t uid, gid_t gid)
{
	return drop_to_user_groups(uid, gid, false);
}

/* Removes @cap from the effective, permitted and inheritable sets. */
static inline int drop_cap(int cap)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	__u32 bit = 1U << (cap % 32);

	if (syscall(SYS_capget, &h, d))
		return -errno;
	d[cap / 32].effective &= ~bit;
	d[cap / 32].permitted &= ~bit;
	d[cap / 32].inheritable &= ~bit;
	if (syscall(SYS_capset, &h, d))
		return -errno;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Child processes (never use ASSERT_* in a child: it would longjmp into */
/* the parent's copy of the test).                                      */

/*
 * CHILD_CHECK() is true when @cond holds; otherwise it logs @cond and the
 * message and is false.  Children use it as
 *	if (!CHILD_CHECK(cond, fmt, ...))
 *		return 1;
 */
#define CHILD_CHECK(cond, fmt, ...)					\
	((cond) ? true :						\
	 (fprintf(stderr, "# child %d %s:%d: '%s' failed: " fmt "\n",	\
		  getpid(), __FILE__, __LINE__, #cond, ##__VA_ARGS__),	\
	  fflush(stderr), false))

typedef int (*child_fn)(void *arg);

/* Runs @fn in a child; returns its exit code, 128 + signal, or -1. */
static inline int run_child(child_fn fn, void *arg)
{
	pid_t pid;
	int st;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(fn(arg));
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

static inline int wait_status(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

/* A pair of pipes to pass 64-bit tokens between parent and child. */
struct chan {
	int to_child[2];
	int to_parent[2];
};

static inline int chan_init(struct chan *c)
{
	if (pipe2(c->to_child, O_CLOEXEC))
		return -errno;
	if (pipe2(c->to_parent, O_CLOEXEC))
		return -errno;
	return 0;
}

static inline int chan_put(int fd, __u64 v)
{
	return write(fd, &v, sizeof(v)) == sizeof(v) ? 0 : -1;
}

/* Returns 0 and *v, or -1 on EOF/error. */
static inline int chan_get(int fd, __u64 *v)
{
	size_t got = 0;

	while (got < sizeof(*v)) {
		ssize_t n = read(fd, (char *)v + got, sizeof(*v) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += n;
	}
	return 0;
}

static inline void chan_close(struct chan *c)
{
	close(c->to_child[0]);
	close(c->to_child[1]);
	close(c->to_parent[0]);
	close(c->to_parent[1]);
}

static inline __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* xorshift64*: deterministic, seedable. */
static inline __u64 rnd64(__u64 *s)
{
	__u64 x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static inline bool all_bytes(const void *p, int c, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != (unsigned char)c)
			return false;
	return true;
}

/* ------------------------------------------------------------------ */
/* Harness fixture base                                                */

#ifdef __KSELFTEST_HARNESS_H

#define ENV_MAX 64

/*
 * Per-test state: the control fd, an attached fresh backend, and everything
 * the test opened or mapped (released in teardown before DETACH).
 */
struct dspm_env {
	int ctl;
	bool pmem;
	unsigned int seq;
	int fds[ENV_MAX];
	int nfds;
	void *map_addr[ENV_MAX];
	size_t map_len[ENV_MAX];
	int nmaps;
	pid_t kids[ENV_MAX];
	int nkids;
};

static inline void env_setup(struct __test_metadata *_metadata,
			     struct dspm_env *e)
{
	struct dspm_info info;
	int ret;

	e->ctl = open(DSPM_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, e->ctl)
		TH_LOG("open %s: %s (is dspm.ko loaded?)", DSPM_DEVICE_PATH,
		       strerror(errno));
	ret = device_group_setup();
	ASSERT_EQ(0, ret) TH_LOG("chgrp %s: %s", DSPM_DEVICE_PATH,
				 strerror(-ret));
	e->pmem = !!test_pmem();
	ret = dspm_get_info(e->ctl, &info);
	ASSERT_EQ(0, ret) TH_LOG("GET_INFO: %s", strerror(-ret));
	if (info.flags & DSPM_INFO_ATTACHED) {
		ret = dspm_detach(e->ctl);
		ASSERT_EQ(0, ret)
			TH_LOG("detaching a stale attachment: %s",
			       strerror(-ret));
	}
	ret = dspm_attach_backend(e->ctl, true);
	ASSERT_EQ(0, ret)
		TH_LOG("ATTACH|FORMAT %s: %s",
		       e->pmem ? test_pmem() : "DRAM 64 MiB", strerror(-ret));
}

static inline void env_teardown(struct __test_metadata *_metadata,
				struct dspm_env *e)
{
	int i, ret;

	/* A failed ASSERT longjmp()ed past the harness's trigger reset. */
	_metadata->trigger = 0;
	for (i = 0; i < e->nkids; i++) {
		if (e->kids[i] > 0) {
			kill(e->kids[i], SIGKILL);
			waitpid(e->kids[i], NULL, 0);
		}
	}
	for (i = 0; i < e->nmaps; i++)
		if (e->map_addr[i])
			munmap(e->map_addr[i], e->map_len[i]);
	for (i = 0; i < e->nfds; i++)
		if (e->fds[i] >= 0)
			close(e->fds[i]);
	if (e->ctl > 0) {
		ret = dspm_detach(e->ctl);
		/* Everything was closed: DETACH must not be busy. */
		EXPECT_TRUE(ret == 0 || ret == -ENODEV)
			TH_LOG("teardown DETACH: %s", strerror(-ret));
		close(e->ctl);
	}
}

static inline void env_track_fd(struct dspm_env *e, int fd)
{
	if (e->nfds < ENV_MAX)
		e->fds[e->nfds++] = fd;
}

static inline void env_close(struct dspm_env *e, int fd)
{
	int i;

	for (i = 0; i < e->nfds; i++)
		if (e->fds[i] == fd)
			e->fds[i] = -1;
	close(fd);
}

static inline void env_track_map(struct dspm_env *e, void *p, size_t len)
{
	if (e->nmaps < ENV_MAX) {
		e->map_addr[e->nmaps] = p;
		e->map_len[e->nmaps++] = len;
	}
}

static inline void env_unmap(struct dspm_env *e, void *p)
{
	int i;

	for (i = 0; i < e->nmaps; i++) {
		if (e->map_addr[i] == p) {
			munmap(p, e->map_len[i]);
			e->map_addr[i] = NULL;
		}
	}
}

static inline void env_track_kid(struct dspm_env *e, pid_t pid)
{
	if (e->nkids < ENV_MAX)
		e->kids[e->nkids++] = pid;
}

/* Reaps a tracked child; returns what wait_status() returns. */
static inline int env_wait(struct dspm_env *e, pid_t pid)
{
	int i;

	for (i = 0; i < e->nkids; i++)
		if (e->kids[i] == pid)
			e->kids[i] = 0;
	return wait_status(pid);
}

static inline const char *env_name(struct dspm_env *e, char *buf,
				   const char *prefix)
{
	snprintf(buf, DSPM_NAME_MAX, "%s%u", prefix, e->seq++);
	return buf;
}

/* Creates @name (MRMW, 1 replica) and asserts success. */
static inline void env_create(struct __test_metadata *_metadata,
			      struct dspm_env *e, const char *name,
			      __u64 length, __u32 mode)
{
	int ret = dspm_create(e->ctl, name, length, mode);

	ASSERT_EQ(0, ret)
		TH_LOG("CREATE %s length %llu: %s", name,
		       (unsigned long long)length, strerror(-ret));
}

static inline int env_open(struct __test_metadata *_metadata,
			   struct dspm_env *e, const char *name, __u32 flags)
{
	int fd = dspm_open(e->ctl, name, flags);

	ASSERT_LE(0, fd) TH_LOG("OPEN %s: %s", name, strerror(-fd));
	env_track_fd(e, fd);
	return fd;
}

static inline void *env_map(struct __test_metadata *_metadata,
			    struct dspm_env *e, int fd, size_t len, int prot)
{
	void *p = dspm_map(fd, len, prot);

	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	env_track_map(e, p, len);
	return p;
}

/*
 * A loop device over an unlinked @bytes-long file in /tmp (a block device
 * without DAX): its path in @dev, the open device in *@lfd, the backing
 * file in *@bfd; loop_put() detaches it.  Returns false, logged, when
 * there is no /dev/loop-control (the caller skips).
 */
static inline bool loop_get(struct __test_metadata *_metadata, char dev[64],
			    off_t bytes, int *lfd, int *bfd)
{
	char backing[] = "/tmp/dspm-loop-XXXXXX";
	int lc, nr;

	lc = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (lc < 0) {
		TH_LOG("no /dev/loop-control: %s", strerror(errno));
		return false;
	}
	nr = ioctl(lc, LOOP_CTL_GET_FREE);
	close(lc);
	ASSERT_LE(0, nr) TH_LOG("LOOP_CTL_GET_FREE: %s", strerror(errno));
	snprintf(dev, 64, "/dev/loop%d", nr);
	*bfd = mkstemp(backing);
	ASSERT_LE(0, *bfd);
	unlink(backing);
	ASSERT_EQ(0, ftruncate(*bfd, bytes));
	*lfd = open(dev, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, *lfd) TH_LOG("open %s: %s", dev, strerror(errno));
	ASSERT_EQ(0, ioctl(*lfd, LOOP_SET_FD, *bfd))
		TH_LOG("LOOP_SET_FD: %s", strerror(errno));
	return true;
}

static inline void loop_put(int lfd, int bfd)
{
	ioctl(lfd, LOOP_CLR_FD, 0);
	close(lfd);
	close(bfd);
}

#endif /* __KSELFTEST_HARNESS_H */

#endif /* DSPM_TEST_H */
