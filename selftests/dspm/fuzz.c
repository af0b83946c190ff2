// SPDX-License-Identifier: GPL-2.0
/*
 * dspm ioctl fuzzer: random commands (inside and outside the 0xD5 range),
 * random sizes, flags, struct contents and pointers (NULL, kernel, unmapped,
 * read-only, running into a guard page) against the control fd and dataset
 * fds, with random stores into a mapping in between.
 *
 * Passes if the process survives, every error is one the ABI allows for
 * that command, and afterwards the device still works (create, open,
 * commit, read back through another fd, accounting consistent).  The kernel
 * log is checked by the runner.
 *
 * DSPM_FUZZ_SEED (default fixed, printed) and DSPM_FUZZ_ITERATIONS
 * (default 100000) control a run.  ATTACH and DETACH are never issued
 * against a pmem device (DSPM_TEST_PMEM); on DRAM they are fuzzed too.
 */
#include "kselftest_harness.h"
#include "dspm_test.h"

#define FUZZ_SEED_DEFAULT	0xd5d5f00dcafe1234ULL
#define FUZZ_ITER_DEFAULT	100000UL
#define EPOCH			1000

enum kind {
	K_INFO, K_ATTACH, K_DETACH, K_CREATE, K_OPEN, K_DELETE, K_LIST,
	K_COMMIT, K_ABORT, K_STAT, K_BEGIN, K_LOCK, K_UNLOCK, K_BARRIER,
	K_NR, K_UNKNOWN = K_NR,
};

static const char *const kname[K_NR + 1] = {
	"GET_INFO", "ATTACH", "DETACH", "CREATE", "OPEN", "DELETE", "LIST",
	"COMMIT", "ABORT", "STAT", "BEGIN", "LOCK", "UNLOCK", "BARRIER",
	"unknown",
};

static const unsigned long kcmd[K_NR] = {
	DSPM_IOC_GET_INFO, DSPM_IOC_ATTACH, DSPM_IOC_DETACH, DSPM_IOC_CREATE,
	DSPM_IOC_OPEN, DSPM_IOC_DELETE, DSPM_IOC_LIST, DSPM_IOC_COMMIT,
	DSPM_IOC_ABORT, DSPM_IOC_STAT, DSPM_IOC_BEGIN, DSPM_IOC_LOCK,
	DSPM_IOC_UNLOCK, DSPM_IOC_BARRIER,
};

static const size_t ksize[K_NR] = {
	sizeof(struct dspm_info), sizeof(struct dspm_attach),
	sizeof(struct dspm_detach), sizeof(struct dspm_create),
	sizeof(struct dspm_open), sizeof(struct dspm_delete),
	sizeof(struct dspm_list), sizeof(struct dspm_commit),
	sizeof(struct dspm_abort), sizeof(struct dspm_stat),
	sizeof(struct dspm_begin), sizeof(struct dspm_lock),
	sizeof(struct dspm_lock), sizeof(struct dspm_barrier),
};

static const bool kdataset[K_NR] = {
	[K_COMMIT] = true, [K_ABORT] = true, [K_STAT] = true, [K_BEGIN] = true,
	[K_LOCK] = true, [K_UNLOCK] = true, [K_BARRIER] = true,
};

/* Errors each command may return (besides success), on the right fd kind. */
static const int allowed[K_NR][16] = {
	[K_INFO]   = { EINVAL, E2BIG, EFAULT },
	[K_ATTACH] = { EINVAL, E2BIG, EFAULT, EBUSY, ENOENT, ENOTBLK, ENOTDIR,
		       ENAMETOOLONG, ELOOP, EOPNOTSUPP, ENODATA, EUCLEAN,
		       ENOMEM },
	[K_DETACH] = { EINVAL, E2BIG, EFAULT, EBUSY, ENODEV },
	[K_CREATE] = { EINVAL, E2BIG, EFAULT, EEXIST, ENOSPC, ENODEV },
	[K_OPEN]   = { EINVAL, E2BIG, EFAULT, ENOENT, ENODEV },
	[K_DELETE] = { EINVAL, E2BIG, EFAULT, ENOENT, EBUSY, ENODEV },
	[K_LIST]   = { EINVAL, E2BIG, EFAULT, ENODEV },
	[K_COMMIT] = { EINVAL, E2BIG, EFAULT, EBADF, EIO, EFBIG, EAGAIN,
		       EPERM },
	[K_ABORT]  = { EINVAL, E2BIG, EFAULT, EBADF },
	[K_STAT]   = { EINVAL, E2BIG, EFAULT },
	[K_BEGIN]  = { EINVAL, E2BIG, EFAULT, EBADF, EBUSY, EAGAIN, ENOMEM,
		       EINTR },
	/* a waiting LOCK or BARRIER is cut short by the loop's alarm */
	[K_LOCK]   = { EINVAL, E2BIG, EFAULT, EAGAIN, EDEADLK, ENOMEM, EINTR },
	[K_UNLOCK] = { EINVAL, E2BIG, EFAULT, EPERM, ENOMEM },
	[K_BARRIER] = { EINVAL, E2BIG, EFAULT, ENOMEM, EINTR },
};

static const char *const pool_names[] = {
	"fz0", "fz1", "fz2", "fz3", "fz4", "fz5", "fz6", "fz7", "fuzzds",
	"", ".", "..", ".fz", "a/b", "fz 1",
};

/* Never a block device: the fuzzer must not format anything. */
static const char *const pool_paths[] = {
	"", "/", "/dev/null", "/dev/zero", "/dev/dspm", "/nonexistent",
	"/etc/passwd", "/proc/self/fd/0", "/dev/../dev/null", "relative",
	"/dev/null/x", "/tmp",
};

static const uintptr_t wild_ptrs[] = {
	0, 1, 8, 4095, 0xffff888000000000ULL, 0xffffffff81000000ULL,
	0xffffc90000000000ULL, 0xfffffe0000000000ULL, 0x8000000000000000ULL,
	0x0000800000000000ULL, 0x00007ffffffff000ULL, ~0ULL, ~0ULL - 4095,
};

struct fz {
	struct dspm_env *e;
	__u64 rng;
	bool pmem;
	int rw, ro;			/* dataset fds or -1 */
	unsigned char *map;
	__u64 dslen;
	unsigned char *arg;		/* 3 RW pages, then a guard page */
	unsigned char *arg_end;
	unsigned char *aux;		/* 4 RW pages, then a guard page */
	unsigned char *aux_end;
	unsigned char *ro_page;
	unsigned char *unmapped;	/* PROT_NONE */
	long detached_at;		/* iteration of a successful DETACH */
	unsigned long stats[K_NR + 1][2];	/* [kind][ok, error] */
	unsigned long errs[K_NR + 1][140];
	unsigned long violations;
};

static inline __u64 rnd(struct fz *f)
{
	return rnd64(&f->rng);
}

static inline __u64 below(struct fz *f, __u64 n)
{
	return n ? rnd(f) % n : 0;
}

static inline bool chance(struct fz *f, unsigned int percent)
{
	return below(f, 100) < percent;
}

static __u64 interesting64(struct fz *f)
{
	static const __u64 v[] = {
		0, 1, 2, 7, 8, 100, 4095, 4096, 4097, 8191, 8192, 65536,
		DSPM_DRAM_BYTES_MIN - 1, DSPM_DRAM_BYTES_MIN,
		DRAM_TEST_BYTES, DSPM_DRAM_BYTES_MAX + 1,
		DSPM_DATASET_LENGTH_MAX, DSPM_DATASET_LENGTH_MAX + 1,
		0x7fffffffULL, 0x80000000ULL, 0xffffffffULL, 1ULL << 32,
		1ULL << 63, ~0ULL, ~0ULL - 4095, ~0ULL - 1,
	};

	switch (below(f, 4)) {
	case 0:
		return v[below(f, ARRAY_SIZE(v))];
	case 1:
		return below(f, 1 << 16);
	case 2:
		return rnd(f);
	default:
		return v[below(f, ARRAY_SIZE(v))] + below(f, 3) - 1;
	}
}

static __u32 interesting32(struct fz *f)
{
	static const __u32 v[] = {
		0, 1, 2, 3, 7, 8, 16, 167, 168, 169, 256, 1023, 1024, 1025,
		4095, 4096, 4097, 0777, 01000, 0x7fffffff, 0x80000000,
		0xffffffff, 0xfffffffe,
	};

	switch (below(f, 3)) {
	case 0:
		return v[below(f, ARRAY_SIZE(v))];
	case 1:
		return below(f, 64);
	default:
		return rnd(f);
	}
}

static void rand_bytes(struct fz *f, void *p, size_t n)
{
	unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = rnd(f);
}

/* A pointer for an embedded field; @need bytes are wanted behind it. */
static __u64 rand_ptr(struct fz *f, size_t need)
{
	switch (below(f, 12)) {
	case 0:
		return 0;
	case 1:
		return wild_ptrs[below(f, ARRAY_SIZE(wild_ptrs))];
	case 2:
		return (uintptr_t)f->unmapped + below(f, PG);
	case 3:	/* runs into the guard page */
		return (uintptr_t)f->aux_end - below(f, need + 16) - 1;
	case 4:
		return (uintptr_t)f->ro_page + below(f, 64);
	case 5:
		return rnd(f);
	default:
		return (uintptr_t)f->aux + below(f, 256);
	}
}

static void rand_name(struct fz *f, char *name)
{
	memset(name, 0, DSPM_NAME_MAX);
	switch (below(f, 6)) {
	case 0:
		rand_bytes(f, name, DSPM_NAME_MAX);
		break;
	case 1:
		memset(name, 'a' + below(f, 26), DSPM_NAME_MAX - below(f, 2));
		break;
	default:
		name_set(name, pool_names[below(f, ARRAY_SIZE(pool_names))]);
		if (chance(f, 10))
			name[below(f, DSPM_NAME_MAX)] = rnd(f);
		break;
	}
}

static __u64 rand_path(struct fz *f)
{
	size_t n;

	if (chance(f, 25))
		return rand_ptr(f, 64);
	switch (below(f, 4)) {
	case 0:	/* unterminated up to the guard page */
		n = 1 + below(f, 64);
		memset(f->aux_end - n, 'a', n);
		return (uintptr_t)(f->aux_end - n);
	case 1:	/* random bytes, maybe terminated */
		rand_bytes(f, f->aux, 256);
		f->aux[below(f, 256)] = 0;
		return (uintptr_t)f->aux;
	case 2:	/* longer than PATH_MAX */
		memset(f->aux, '/', 3 * PG);
		f->aux[3 * PG] = 0;
		return (uintptr_t)f->aux;
	default:
		strcpy((char *)f->aux,
		       pool_paths[below(f, ARRAY_SIZE(pool_paths))]);
		return (uintptr_t)f->aux;
	}
}

static __u64 rand_ranges(struct fz *f, __u32 *nr)
{
	struct dspm_range *r = (struct dspm_range *)f->aux;
	size_t max = (f->aux_end - f->aux) / sizeof(*r);
	__u32 i, n;

	switch (below(f, 5)) {
	case 0:
		n = interesting32(f);
		break;
	case 1:
		n = 0;
		break;
	default:
		n = 1 + below(f, 8);
		break;
	}
	*nr = n;
	if (chance(f, 15))
		return rand_ptr(f, (size_t)n * sizeof(*r));
	for (i = 0; i < n && i < max; i++) {
		if (chance(f, 70) && f->dslen) {
			r[i].offset = below(f, f->dslen);
			r[i].length = 1 + below(f, f->dslen - r[i].offset);
		} else {
			r[i].offset = interesting64(f);
			r[i].length = interesting64(f);
		}
	}
	return (uintptr_t)r;
}

/* Builds a struct of @k in @buf: mostly valid, then damaged a little. */
static size_t build(struct fz *f, enum kind k, unsigned char *buf)
{
	size_t ks = ksize[k], sz;
	int m;

	memset(buf, 0, 2 * PG);
	if (chance(f, 10)) {
		rand_bytes(f, buf, ks + 64);
	} else {
		switch (k) {
		case K_ATTACH: {
			struct dspm_attach *a = (void *)buf;

			a->flags = chance(f, 70) ? DSPM_ATTACH_DRAM |
				   DSPM_ATTACH_FORMAT : interesting32(f) & 3;
			if (a->flags & DSPM_ATTACH_DRAM && chance(f, 80))
				a->dram_bytes = chance(f, 50) ? DRAM_TEST_BYTES :
						interesting64(f);
			else
				a->path = rand_path(f);
			if (chance(f, 10))
				a->dram_bytes = interesting64(f);
			break;
		}
		case K_CREATE: {
			struct dspm_create *c = (void *)buf;

			rand_name(f, c->name);
			c->length = chance(f, 70) ? 1 + below(f, 64 * PG) :
				    interesting64(f);
			c->mode = chance(f, 80) ? below(f, 01000) :
				  interesting32(f);
			c->model = chance(f, 80) ? below(f, 2) : interesting32(f);
			c->replicas = chance(f, 80) ? 1 + below(f, 2) :
				      interesting32(f);
			if (chance(f, 5))
				c->id = rnd(f);
			break;
		}
		case K_OPEN: {
			struct dspm_open *o = (void *)buf;

			rand_name(f, o->name);
			o->flags = chance(f, 80) ? below(f, 4) : interesting32(f);
			break;
		}
		case K_DELETE: {
			struct dspm_delete *d = (void *)buf;

			rand_name(f, d->name);
			break;
		}
		case K_LIST: {
			struct dspm_list *l = (void *)buf;

			l->entry_size = chance(f, 70) ?
				sizeof(struct dspm_dataset_info) +
				8 * below(f, 8) : interesting32(f);
			l->capacity = chance(f, 70) ? below(f, 24) :
				      interesting32(f);
			l->entries = chance(f, 75) ? (uintptr_t)f->aux :
				     rand_ptr(f, 4096);
			break;
		}
		case K_COMMIT: {
			struct dspm_commit *c = (void *)buf;

			c->ranges = rand_ranges(f, &c->nr_ranges);
			break;
		}
		case K_ABORT: {
			struct dspm_abort *a = (void *)buf;

			a->ranges = rand_ranges(f, &a->nr_ranges);
			break;
		}
		case K_BEGIN: {
			struct dspm_begin *b = (void *)buf;

			if (chance(f, 50))
				b->ranges = rand_ranges(f, &b->nr_ranges);
			b->flags = chance(f, 50) ? DSPM_BEGIN_NONBLOCK : 0;
			break;
		}
		case K_LOCK:
		case K_UNLOCK: {
			struct dspm_lock *l = (void *)buf;

			l->flags = chance(f, 70) ? DSPM_LOCK_NONBLOCK : 0;
			l->key = chance(f, 70) ? below(f, 4) : rnd(f);
			break;
		}
		default:
			break;
		}
		/* A few random mutations. */
		for (m = below(f, 4) == 0 ? 1 + below(f, 3) : 0; m > 0; m--) {
			switch (below(f, 3)) {
			case 0:	/* a flag bit */
				((__u32 *)buf)[1] ^= 1U << below(f, 32);
				break;
			case 1:	/* a byte anywhere */
				buf[8 + below(f, ks - 8)] = rnd(f);
				break;
			default: /* the reserved tail words */
				((__u64 *)buf)[ks / 8 - 1 - below(f, 2)] =
					interesting64(f);
				break;
			}
		}
	}

	/* The size field. */
	switch (below(f, 20)) {
	case 0:
		sz = 0;
		break;
	case 1:
		sz = below(f, ks);
		break;
	case 2:	/* larger, zero tail */
		sz = ks + below(f, DSPM_STRUCT_SIZE_MAX - ks + 1);
		memset(buf + ks, 0, sz - ks);
		break;
	case 3:	/* larger, junk in the tail */
		sz = ks + 1 + below(f, DSPM_STRUCT_SIZE_MAX - ks);
		buf[ks + below(f, sz - ks)] = 1 + below(f, 255);
		break;
	case 4:
		sz = DSPM_STRUCT_SIZE_MAX + 1 + below(f, 8192);
		break;
	case 5:
		sz = (__u32)rnd(f);
		break;
	default:
		sz = ks;
		break;
	}
	*(__u32 *)buf = sz;
	return sz;
}

/*
 * A valid DRAM ATTACH of more than the test size could take most of the
 * guest's memory: keep successful DRAM attaches at 64 MiB.
 */
static void tame_attach(struct fz *f, void *arg)
{
	unsigned char *p = arg;
	struct dspm_attach a;

	if ((uintptr_t)p < (uintptr_t)f->arg ||
	    (uintptr_t)p > (uintptr_t)f->arg_end - sizeof(a))
		return;
	memcpy(&a, p, sizeof(a));
	if ((a.flags & DSPM_ATTACH_DRAM) && a.dram_bytes > DRAM_TEST_BYTES &&
	    a.dram_bytes <= DSPM_DRAM_BYTES_MAX) {
		a.dram_bytes = DRAM_TEST_BYTES;
		memcpy(p, &a, sizeof(a));
	}
}

/*
 * LIST writes to entries.  A mutated pointer could land in the fuzzer's own
 * stack or heap, which the kernel may legitimately overwrite: only the aux
 * area, NULL, the read-only page, the unmapped page and non-user addresses
 * are allowed.
 */
static void tame_list(struct fz *f, void *arg)
{
	uintptr_t p = (uintptr_t)arg, e;
	struct dspm_list l;

	if (p < (uintptr_t)f->arg || p > (uintptr_t)f->arg_end - 16)
		return;
	memcpy(&l, arg, 16);
	e = l.entries;
	if (!e || e >= 0x0000800000000000ULL ||
	    (e >= (uintptr_t)f->aux && e < (uintptr_t)f->aux_end + PG) ||
	    (e >= (uintptr_t)f->ro_page && e < (uintptr_t)f->ro_page + PG) ||
	    (e >= (uintptr_t)f->unmapped && e < (uintptr_t)f->unmapped + PG))
		return;
	l.entries = (uintptr_t)f->aux;
	memcpy(arg, &l, 16);
}

static bool cmd_is_generic(unsigned long cmd)
{
	unsigned int type = _IOC_TYPE(cmd);

	/* Handled by the VFS before the driver (fs/ioctl.c), on any fd. */
	return type == 0x00 || type == 'T' || type == 'X' || type == 'f' ||
	       type == 0x94 || type == 0x15;
}

static void setup_epoch(struct __test_metadata *_metadata, struct fz *f,
			bool with_fds)
{
	struct dspm_dataset_info *ents;
	struct dspm_info info;
	__u32 count, total, i;
	int ret;

	if (f->map)
		munmap(f->map, pages_of(f->dslen) * PG);
	f->map = NULL;
	if (f->rw >= 0)
		close(f->rw);
	if (f->ro >= 0)
		close(f->ro);
	f->rw = -1;
	f->ro = -1;
	f->dslen = 0;

	ASSERT_EQ(0, dspm_get_info(f->e->ctl, &info));
	if (!(info.flags & DSPM_INFO_ATTACHED)) {
		ASSERT_FALSE(f->pmem) TH_LOG("pmem backend got detached");
		ret = dspm_attach_backend(f->e->ctl, true);
		ASSERT_EQ(0, ret) TH_LOG("re-attach: %s", strerror(-ret));
	}
	f->detached_at = -1;

	/* Delete every dataset (the fuzzer may have created any name). */
	ASSERT_EQ(0, dspm_list(f->e->ctl, NULL, 0, &count, &total));
	ents = calloc(total + 1, sizeof(*ents));
	ASSERT_NE(NULL, ents);
	ASSERT_EQ(0, dspm_list(f->e->ctl, ents, total + 1, &count, &total));
	for (i = 0; i < count; i++) {
		ret = dspm_delete(f->e->ctl, ents[i].name);
		ASSERT_EQ(0, ret) TH_LOG("cleanup DELETE '%.64s': %s",
					 ents[i].name, strerror(-ret));
	}
	free(ents);
	ASSERT_EQ(0, dspm_get_info(f->e->ctl, &info));
	ASSERT_EQ(0, info.datasets);
	ASSERT_EQ(info.capacity, info.free) TH_LOG("space leaked");

	if (!with_fds)
		return;
	f->dslen = 1 + below(f, 32 * PG);
	ret = dspm_create_full(f->e->ctl, "fuzzds", f->dslen, 0644,
			       below(f, 2), chance(f, 10) ? 2 : 1, NULL);
	ASSERT_EQ(0, ret) TH_LOG("CREATE fuzzds: %s", strerror(-ret));
	f->rw = dspm_open(f->e->ctl, "fuzzds", DSPM_OPEN_WRITE);
	ASSERT_LE(0, f->rw);
	f->ro = dspm_open(f->e->ctl, "fuzzds", 0);
	ASSERT_LE(0, f->ro);
	f->map = dspm_map(f->rw, pages_of(f->dslen) * PG,
			  PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, f->map);
}

static bool err_allowed(enum kind k, int err)
{
	int i;

	if (k == K_UNKNOWN)
		return err == ENOTTY;
	for (i = 0; i < 16 && allowed[k][i]; i++)
		if (allowed[k][i] == err)
			return true;
	return false;
}

static void *alloc_guarded(size_t len, unsigned char **end)
{
	unsigned char *p = mmap(NULL, len + PG, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (mprotect(p + len, PG, PROT_NONE))
		return NULL;
	*end = p + len;
	return p;
}

FIXTURE(fuzz) {
	struct dspm_env e;
};

FIXTURE_SETUP(fuzz)
{
	env_setup(_metadata, &self->e);
}

FIXTURE_TEARDOWN(fuzz)
{
	env_teardown(_metadata, &self->e);
}

static void final_check(struct __test_metadata *_metadata, struct fz *f)
{
	struct dspm_commit out;
	struct dspm_info info;
	unsigned char *a, *b;
	__u64 used;
	int w, r, i;

	setup_epoch(_metadata, f, false);
	ASSERT_EQ(0, dspm_create(f->e->ctl, "fzfinal", 4 * PG, 0644));
	w = dspm_open(f->e->ctl, "fzfinal", DSPM_OPEN_WRITE);
	ASSERT_LE(0, w);
	r = dspm_open(f->e->ctl, "fzfinal", 0);
	ASSERT_LE(0, r);
	a = dspm_map(w, 4 * PG, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, a);
	b = dspm_map(r, 4 * PG, PROT_READ);
	ASSERT_NE(MAP_FAILED, b);
	ASSERT_TRUE(all_bytes(b, 0, 4 * PG));
	for (i = 0; i < 4 * (int)PG; i++)
		a[i] = i * 7 + 1;
	ASSERT_EQ(0, dspm_commit(w, NULL, 0, &out));
	ASSERT_EQ(4, out.pages);
	ASSERT_EQ(1, out.version);
	for (i = 0; i < 4 * (int)PG; i++)
		ASSERT_EQ((unsigned char)(i * 7 + 1), b[i]);
	munmap(a, 4 * PG);
	munmap(b, 4 * PG);
	close(w);
	close(r);
	ASSERT_EQ(0, dspm_get_info(f->e->ctl, &info));
	ASSERT_EQ(0, dspm_list_bytes(f->e->ctl, &used, NULL));
	ASSERT_EQ(info.capacity - used, info.free);
	ASSERT_EQ(0, dspm_delete(f->e->ctl, "fzfinal"));
}

static void log_unexpected(struct __test_metadata *_metadata, unsigned long it,
			   const char *kind, unsigned long cmd,
			   const char *fdname, void *arg, int err)
{
	TH_LOG("iteration %lu: %s cmd %#lx on %s fd, arg %p: unexpected %s (%d)",
	       it, kind, cmd, fdname, arg, strerror(err), err);
}

static void on_alarm(int sig)
{
	(void)sig;
}

TEST_F_TIMEOUT(fuzz, random_ioctls, 3600)
{
	const char *s_seed = getenv("DSPM_FUZZ_SEED");
	const char *s_iter = getenv("DSPM_FUZZ_ITERATIONS");
	unsigned long iters = FUZZ_ITER_DEFAULT, it;
	static struct fz fstate;
	struct fz *f = &fstate;
	__u64 seed = FUZZ_SEED_DEFAULT;
	struct sigaction alarm_action = {};
	unsigned char *tmp;
	int k, e;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* the loop's alarm interrupts waits (no SA_RESTART), kills nothing */
	sigemptyset(&alarm_action.sa_mask);
	alarm_action.sa_handler = on_alarm;
	ASSERT_EQ(0, sigaction(SIGALRM, &alarm_action, NULL));
	if (s_seed && *s_seed)
		seed = strtoull(s_seed, NULL, 0);
	if (s_iter && *s_iter)
		iters = strtoul(s_iter, NULL, 0);
	ksft_print_msg("fuzz: seed %#llx (DSPM_FUZZ_SEED), %lu iterations, %s backend\n",
		       (unsigned long long)seed, iters,
		       self->e.pmem ? "pmem" : "DRAM");
	memset(f, 0, sizeof(*f));
	f->e = &self->e;
	f->rng = seed ? seed : 1;
	f->pmem = self->e.pmem;
	f->rw = -1;
	f->ro = -1;
	f->arg = alloc_guarded(3 * PG, &f->arg_end);
	ASSERT_NE(NULL, f->arg);
	f->aux = alloc_guarded(4 * PG, &f->aux_end);
	ASSERT_NE(NULL, f->aux);
	f->ro_page = mmap(NULL, PG, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, f->ro_page);
	*(__u32 *)f->ro_page = 168;
	ASSERT_EQ(0, mprotect(f->ro_page, PG, PROT_READ));
	/* Kept as PROT_NONE: a munmap()ed page could be reused by a later mmap. */
	f->unmapped = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			   -1, 0);
	ASSERT_NE(MAP_FAILED, f->unmapped);
	tmp = malloc(2 * PG + 64);
	ASSERT_NE(NULL, tmp);

	setup_epoch(_metadata, f, true);
	for (it = 0; it < iters; it++) {
		unsigned long cmd;
		enum kind kind, skind;
		int fd, ret, err;
		const char *fdname;
		bool on_dataset;
		void *arg;

		if (it % EPOCH == 0 && it) {
			/*
			 * Now and then an epoch without dataset fds, so
			 * DETACH and DELETE of fuzzds can succeed.
			 */
			setup_epoch(_metadata, f, !chance(f, 15));
		} else if (f->detached_at >= 0 &&
			   (long)it - f->detached_at > 50) {
			setup_epoch(_metadata, f, !chance(f, 15));
		}

		/* Stores into the mapping, so commits have work to do. */
		if (f->map && chance(f, 25)) {
			__u64 n = 1 + below(f, 64), off = below(f, f->dslen);

			if (off + n > f->dslen)
				n = f->dslen - off;
			rand_bytes(f, f->map + off, n);
		}

		/* Which command (never ATTACH or DETACH against pmem). */
pick:
		switch (below(f, 10)) {
		case 0: case 1: case 2: case 3: case 4: case 5: case 6:
			kind = below(f, K_NR);
			cmd = kcmd[kind];
			break;
		case 7:	/* the 0xD5 range, maybe with direction/size bits */
			cmd = _IO(DSPM_IOC_MAGIC, below(f, 256));
			if (chance(f, 30))
				cmd |= (unsigned long)below(f, 4) << _IOC_DIRSHIFT |
				       (unsigned long)below(f, 1 << 14) << _IOC_SIZESHIFT;
			kind = K_UNKNOWN;
			break;
		default:
			do {
				cmd = (__u32)rnd(f);
			} while (cmd_is_generic(cmd));
			kind = K_UNKNOWN;
			break;
		}
		/*
		 * The cluster ioctls talk to the network: cluster.c tests
		 * their bad input; random ones here could reach real addresses.
		 */
		if (cmd == DSPM_IOC_JOIN || cmd == DSPM_IOC_LEAVE ||
		    cmd == DSPM_IOC_NODES || cmd == DSPM_IOC_PLACEMENT)
			goto pick;
		for (k = 0; k < K_NR; k++)
			if (cmd == kcmd[k])
				kind = k;
		if (f->pmem && (kind == K_ATTACH || kind == K_DETACH))
			goto pick;

		/* Which fd: mostly the kind the command belongs to. */
		e = below(f, 10);
		if (kind != K_UNKNOWN && chance(f, 85))
			e = kdataset[kind] ? 5 + below(f, 5) : 0;
		if (e < 5 || f->rw < 0) {
			fd = self->e.ctl;
			fdname = "control";
		} else if (e < 8) {
			fd = f->rw;
			fdname = "dataset rw";
		} else {
			fd = f->ro;
			fdname = "dataset ro";
		}

		/* Which struct (usually the command's own). */
		skind = kind != K_UNKNOWN && chance(f, 85) ? kind :
			(enum kind)below(f, K_NR);

		/* Where. */
		switch (below(f, 20)) {
		case 0:
			arg = NULL;
			break;
		case 1:
			arg = (void *)wild_ptrs[below(f, ARRAY_SIZE(wild_ptrs))];
			break;
		case 2:
			arg = f->unmapped + below(f, PG);
			break;
		case 3:
			arg = f->ro_page + 8 * below(f, 8);
			break;
		case 4:	/* running into the guard page */
			build(f, skind, tmp);
			arg = f->arg_end - 1 - below(f, ksize[skind] + 8);
			memcpy(arg, tmp, f->arg_end - (unsigned char *)arg);
			break;
		case 5:
			arg = (void *)(uintptr_t)rnd(f);
			break;
		default:
			arg = f->arg + below(f, 64);
			build(f, skind, arg);
			break;
		}
		if (kind == K_ATTACH)
			tame_attach(f, arg);
		if (kind == K_LIST)
			tame_list(f, arg);

		/* waiting for a lock another fuzzed fd holds ends with EINTR */
		ualarm(100 * 1000, 0);
		ret = dspm_ioctl(fd, cmd, arg);
		err = ret < 0 ? -ret : 0;
		ualarm(0, 0);

		/* The right command on the wrong kind of fd is unknown there. */
		on_dataset = fd != self->e.ctl;
		if (kind != K_UNKNOWN && kdataset[kind] != on_dataset)
			kind = K_UNKNOWN;

		if (ret >= 0) {
			f->stats[kind][0]++;
			if (kind == K_OPEN) {
				if (ret > 2)
					close(ret);
			} else if (ret > 0) {
				f->violations++;
				TH_LOG("iteration %lu: %s cmd %#lx on %s fd returned %d",
				       it, kname[kind], cmd, fdname, ret);
			}
			if (kind == K_DETACH)
				f->detached_at = it;
		} else {
			f->stats[kind][1]++;
			if (err < 140)
				f->errs[kind][err]++;
			if (!err_allowed(kind, err)) {
				f->violations++;
				if (f->violations <= 30)
					log_unexpected(_metadata, it, kname[kind],
						       cmd, fdname, arg, err);
			}
		}
	}
	free(tmp);

	for (k = 0; k <= K_NR; k++) {
		char line[512];
		int n;

		n = snprintf(line, sizeof(line), "%-8s ok %lu, errors %lu:",
			     kname[k], f->stats[k][0], f->stats[k][1]);
		for (e = 1; e < 140 && n < (int)sizeof(line) - 32; e++)
			if (f->errs[k][e])
				n += snprintf(line + n, sizeof(line) - n,
					      " %s %lu", strerrorname_np(e) ?: "?",
					      f->errs[k][e]);
		ksft_print_msg("%s\n", line);
	}
	ASSERT_EQ(0, f->violations)
		TH_LOG("%lu calls returned an error the ABI does not allow (seed %#llx)",
		       f->violations, (unsigned long long)seed);

	final_check(_metadata, f);
}

TEST_HARNESS_MAIN
