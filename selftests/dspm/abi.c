// SPDX-License-Identifier: GPL-2.0
/*
 * dspm ABI selftests: argument validation of every ioctl of the control fd
 * (/dev/dspm) and of dataset fds, credentials and permissions, mmap rules.
 *
 * Every test starts from a freshly formatted backend: 64 MiB of DRAM, or the
 * pmem device named by DSPM_TEST_PMEM (which is formatted, i.e. destroyed).
 */
#include "kselftest_harness.h"
#include "dspm_test.h"

#include <sys/resource.h>

/* ================================================================== */
/* Generic extensible-struct rules, one variant per ioctl              */

enum ioc_op {
	OP_GET_INFO, OP_ATTACH, OP_DETACH, OP_CREATE, OP_OPEN, OP_DELETE,
	OP_LIST, OP_COMMIT, OP_ABORT, OP_STAT,
};

struct rsv {
	unsigned short off, len;
};

struct ioc_desc {
	const char *name;
	enum ioc_op op;
	unsigned long cmd;
	bool on_dataset;	/* a dataset-fd ioctl */
	size_t ksize;		/* struct size in this header */
	size_t ver0;		/* its VER0 size when smaller, else 0 */
	bool output;		/* the kernel fills the struct in */
	bool flags_input;	/* flags is an input field */
	__u32 valid_flags;
	struct rsv rsv[3];	/* reserved input fields */
	int nrsv;
};

static const struct ioc_desc d_get_info = {
	.name = "GET_INFO", .op = OP_GET_INFO, .cmd = DSPM_IOC_GET_INFO,
	.ksize = DSPM_INFO_SIZE_VER1, .ver0 = DSPM_INFO_SIZE_VER0,
	.output = true,
};

static const struct ioc_desc d_attach = {
	.name = "ATTACH", .op = OP_ATTACH, .cmd = DSPM_IOC_ATTACH,
	.ksize = DSPM_ATTACH_SIZE_VER0, .flags_input = true,
	.valid_flags = DSPM_ATTACH_FLAGS_ALL,
	.rsv = { { offsetof(struct dspm_attach, reserved),
		   sizeof(((struct dspm_attach *)0)->reserved) } }, .nrsv = 1,
};

static const struct ioc_desc d_detach = {
	.name = "DETACH", .op = OP_DETACH, .cmd = DSPM_IOC_DETACH,
	.ksize = DSPM_DETACH_SIZE_VER0, .flags_input = true,
	.rsv = { { offsetof(struct dspm_detach, reserved),
		   sizeof(((struct dspm_detach *)0)->reserved) } }, .nrsv = 1,
};

static const struct ioc_desc d_create = {
	.name = "CREATE", .op = OP_CREATE, .cmd = DSPM_IOC_CREATE,
	.ksize = DSPM_CREATE_SIZE_VER0, .output = true, .flags_input = true,
	.rsv = { { offsetof(struct dspm_create, reserved0),
		   sizeof(((struct dspm_create *)0)->reserved0) },
		 { offsetof(struct dspm_create, reserved),
		   sizeof(((struct dspm_create *)0)->reserved) } }, .nrsv = 2,
};

static const struct ioc_desc d_open = {
	.name = "OPEN", .op = OP_OPEN, .cmd = DSPM_IOC_OPEN,
	.ksize = DSPM_OPEN_SIZE_VER0, .flags_input = true,
	.valid_flags = DSPM_OPEN_FLAGS_ALL,
	.rsv = { { offsetof(struct dspm_open, reserved),
		   sizeof(((struct dspm_open *)0)->reserved) } }, .nrsv = 1,
};

static const struct ioc_desc d_delete = {
	.name = "DELETE", .op = OP_DELETE, .cmd = DSPM_IOC_DELETE,
	.ksize = DSPM_DELETE_SIZE_VER0, .flags_input = true,
	.rsv = { { offsetof(struct dspm_delete, reserved),
		   sizeof(((struct dspm_delete *)0)->reserved) } }, .nrsv = 1,
};

static const struct ioc_desc d_list = {
	.name = "LIST", .op = OP_LIST, .cmd = DSPM_IOC_LIST,
	.ksize = DSPM_LIST_SIZE_VER0, .output = true, .flags_input = true,
	.rsv = { { offsetof(struct dspm_list, reserved),
		   sizeof(((struct dspm_list *)0)->reserved) } }, .nrsv = 1,
};

static const struct ioc_desc d_commit = {
	.name = "COMMIT", .op = OP_COMMIT, .cmd = DSPM_IOC_COMMIT,
	.on_dataset = true, .ksize = DSPM_COMMIT_SIZE_VER0, .output = true,
	.flags_input = true, .valid_flags = DSPM_COMMIT_FLAGS_ALL,
	.rsv = { { offsetof(struct dspm_commit, reserved0),
		   sizeof(((struct dspm_commit *)0)->reserved0) },
		 { offsetof(struct dspm_commit, reserved),
		   sizeof(((struct dspm_commit *)0)->reserved) } }, .nrsv = 2,
};

static const struct ioc_desc d_abort = {
	.name = "ABORT", .op = OP_ABORT, .cmd = DSPM_IOC_ABORT,
	.on_dataset = true, .ksize = DSPM_ABORT_SIZE_VER0, .output = true,
	.flags_input = true,
	.rsv = { { offsetof(struct dspm_abort, reserved0),
		   sizeof(((struct dspm_abort *)0)->reserved0) },
		 { offsetof(struct dspm_abort, reserved),
		   sizeof(((struct dspm_abort *)0)->reserved) } }, .nrsv = 2,
};

/*
 * STAT: flags is an input ("none defined"); reserved[] of this all-output
 * struct is not treated as input here (see the report on ABI doubts).
 */
static const struct ioc_desc d_stat = {
	.name = "STAT", .op = OP_STAT, .cmd = DSPM_IOC_STAT,
	.on_dataset = true, .ksize = DSPM_STAT_SIZE_VER0, .output = true,
	.flags_input = true,
};

#define IOC_ENTRIES 4

FIXTURE(ioc) {
	struct dspm_env e;
	int ds;				/* rw fd of "ioc", -1 when closed */
	unsigned char *map;	/* its 4-page mapping */
	unsigned char tick;
	struct dspm_dataset_info entries[IOC_ENTRIES];
};

/* The fixture's type, for helpers that take self. */
#define IOC_DATA FIXTURE_DATA(ioc)

FIXTURE_VARIANT(ioc) {
	const struct ioc_desc *d;
};

FIXTURE_VARIANT_ADD(ioc, get_info) { .d = &d_get_info };
FIXTURE_VARIANT_ADD(ioc, attach) { .d = &d_attach };
FIXTURE_VARIANT_ADD(ioc, detach) { .d = &d_detach };
FIXTURE_VARIANT_ADD(ioc, create) { .d = &d_create };
FIXTURE_VARIANT_ADD(ioc, open) { .d = &d_open };
FIXTURE_VARIANT_ADD(ioc, delete) { .d = &d_delete };
FIXTURE_VARIANT_ADD(ioc, list) { .d = &d_list };
FIXTURE_VARIANT_ADD(ioc, commit) { .d = &d_commit };
FIXTURE_VARIANT_ADD(ioc, abort) { .d = &d_abort };
FIXTURE_VARIANT_ADD(ioc, stat) { .d = &d_stat };

static void ioc_open_ds(struct __test_metadata *_metadata,
			IOC_DATA *self)
{
	if (self->ds >= 0)
		return;
	self->ds = env_open(_metadata, &self->e, "ioc", DSPM_OPEN_WRITE);
	self->map = env_map(_metadata, &self->e, self->ds, 4 * PG,
			    PROT_READ | PROT_WRITE);
}

static void ioc_close_ds(IOC_DATA *self)
{
	if (self->ds < 0)
		return;
	env_unmap(&self->e, (void *)self->map);
	env_close(&self->e, self->ds);
	self->ds = -1;
	self->map = NULL;
}

FIXTURE_SETUP(ioc)
{
	self->ds = -1;
	env_setup(_metadata, &self->e);
	env_create(_metadata, &self->e, "ioc", 4 * PG, 0644);
	ioc_open_ds(_metadata, self);
}

FIXTURE_TEARDOWN(ioc)
{
	env_teardown(_metadata, &self->e);
}

static bool ioc_attached(struct __test_metadata *_metadata,
			 IOC_DATA *self)
{
	struct dspm_info info;

	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &info));
	return info.flags & DSPM_INFO_ATTACHED;
}

/*
 * Writes a valid struct for @d into @buf (ksize bytes) and establishes what
 * a successful call needs: an existing dataset to delete, a dirty page to
 * commit, a detached device to attach...
 */
static void ioc_prepare(struct __test_metadata *_metadata,
			IOC_DATA *self, const struct ioc_desc *d,
			void *buf)
{
	char name[DSPM_NAME_MAX];

	memset(buf, 0, d->ksize);
	switch (d->op) {
	case OP_GET_INFO:
		break;
	case OP_ATTACH:
		ioc_close_ds(self);
		if (ioc_attached(_metadata, self))
			ASSERT_EQ(0, dspm_detach(self->e.ctl));
		dspm_attach_fill(buf, true);
		break;
	case OP_DETACH:
		ioc_close_ds(self);
		if (!ioc_attached(_metadata, self))
			ASSERT_EQ(0, dspm_attach_backend(self->e.ctl, true));
		break;
	case OP_CREATE: {
		struct dspm_create *c = buf;

		name_set(c->name, env_name(&self->e, name, "c"));
		c->length = PG;
		c->mode = 0644;
		c->model = DSPM_MODEL_MRMW;
		c->replicas = 1;
		break;
	}
	case OP_OPEN: {
		struct dspm_open *o = buf;

		name_set(o->name, "ioc");
		o->flags = DSPM_OPEN_WRITE;
		break;
	}
	case OP_DELETE: {
		struct dspm_delete *dl = buf;

		env_create(_metadata, &self->e, env_name(&self->e, name, "d"),
			   PG, 0644);
		name_set(dl->name, name);
		break;
	}
	case OP_LIST: {
		struct dspm_list *l = buf;

		l->entries = (uintptr_t)self->entries;
		l->entry_size = sizeof(self->entries[0]);
		l->capacity = IOC_ENTRIES;
		break;
	}
	case OP_COMMIT:
	case OP_ABORT:
		ioc_open_ds(_metadata, self);
		WRITE_ONCE(self->map[0], ++self->tick);	/* one dirty page */
		break;
	case OP_STAT:
		ioc_open_ds(_metadata, self);
		break;
	}
	*(__u32 *)buf = d->ksize;
}

static int ioc_call(IOC_DATA *self, const struct ioc_desc *d,
		    void *arg)
{
	return dspm_ioctl(d->on_dataset ? self->ds : self->e.ctl, d->cmd, arg);
}

static void ioc_after(IOC_DATA *self, const struct ioc_desc *d,
		      int ret)
{
	if (d->op == OP_OPEN && ret > 2 && ret != self->e.ctl)
		close(ret);
}

/* What a rejected call must leave unchanged. */
struct snap {
	struct dspm_info info;
	bool ds;
	struct dspm_stat st;
};

static void take_snap(struct __test_metadata *_metadata,
		      IOC_DATA *self, struct snap *s)
{
	memset(s, 0, sizeof(*s));
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &s->info));
	s->ds = self->ds >= 0;
	if (s->ds)
		ASSERT_EQ(0, dspm_stat(self->ds, &s->st));
}

/* Logs @what if a rejected call changed it; returns whether it is unchanged. */
static bool field_same(struct __test_metadata *_metadata, const char *what,
		       __u64 before, __u64 after)
{
	if (before == after)
		return true;
	TH_LOG("state changed by a rejected call: %s %llu -> %llu", what,
	       (unsigned long long)before, (unsigned long long)after);
	return false;
}

static bool snap_same(struct __test_metadata *_metadata,
		      const struct snap *a, const struct snap *b)
{
	bool same = true;

	same &= field_same(_metadata, "info.flags", a->info.flags,
			   b->info.flags);
	same &= field_same(_metadata, "info.free", a->info.free, b->info.free);
	same &= field_same(_metadata, "info.datasets", a->info.datasets,
			   b->info.datasets);
	same &= field_same(_metadata, "info.commits", a->info.commits,
			   b->info.commits);
	same &= field_same(_metadata, "info.aborts", a->info.aborts,
			   b->info.aborts);
	if (memcmp(a->info.uuid, b->info.uuid, sizeof(a->info.uuid))) {
		TH_LOG("state changed by a rejected call: uuid");
		same = false;
	}
	if (a->ds && b->ds) {
		same &= field_same(_metadata, "st.version", a->st.version,
				   b->st.version);
		same &= field_same(_metadata, "st.dirty_pages",
				   a->st.dirty_pages, b->st.dirty_pages);
		same &= field_same(_metadata, "st.open_count",
				   a->st.open_count, b->st.open_count);
		same &= field_same(_metadata, "st.pages", a->st.pages,
				   b->st.pages);
	}
	return same;
}

/* Calls with @arg (already prepared) and expects -@err and no effect. */
static void ioc_expect_err(struct __test_metadata *_metadata,
			   IOC_DATA *self, const struct ioc_desc *d,
			   void *arg, int err, const char *what)
{
	struct snap before, after;
	int ret;

	take_snap(_metadata, self, &before);
	ret = ioc_call(self, d, arg);
	ioc_after(self, d, ret);
	ASSERT_EQ(-err, ret)
		TH_LOG("%s with %s: expected %s, got %s", d->name, what,
		       strerror(err), ret < 0 ? strerror(-ret) : "success");
	take_snap(_metadata, self, &after);
	ASSERT_TRUE(snap_same(_metadata, &before, &after))
		TH_LOG("%s with %s", d->name, what);
}

static void ioc_expect_ok(struct __test_metadata *_metadata,
			  IOC_DATA *self, const struct ioc_desc *d,
			  void *arg, const char *what)
{
	int ret = ioc_call(self, d, arg);

	ioc_after(self, d, ret);
	ASSERT_LE(0, ret)
		TH_LOG("%s with %s: %s", d->name, what, strerror(-ret));
	if (d->op != OP_OPEN)
		ASSERT_EQ(0, ret);
}

union bigbuf {
	unsigned char b[3 * 4096];
	__u64 align;
};

TEST_F(ioc, size_zero)
{
	const struct ioc_desc *d = variant->d;
	union bigbuf u;

	ioc_prepare(_metadata, self, d, u.b);
	*(__u32 *)u.b = 0;
	ioc_expect_err(_metadata, self, d, u.b, EINVAL, "size 0");
}

static size_t ioc_ver0(const struct ioc_desc *d)
{
	return d->ver0 ?: d->ksize;
}

TEST_F(ioc, size_below_ver0)
{
	const struct ioc_desc *d = variant->d;
	const size_t v0 = ioc_ver0(d);
	const __u32 sizes[] = { 1, 4, 7, 8, 16, v0 / 2, v0 - 8, v0 - 1 };
	union bigbuf u;
	char what[64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		ioc_prepare(_metadata, self, d, u.b);
		*(__u32 *)u.b = sizes[i];
		snprintf(what, sizeof(what), "size %u", sizes[i]);
		ioc_expect_err(_metadata, self, d, u.b, EINVAL, what);
	}
}

/* size == VER0: works; nothing past the struct is read or written. */
TEST_F(ioc, size_ver0_exact)
{
	const struct ioc_desc *d = variant->d;
	const size_t v0 = ioc_ver0(d);
	union bigbuf u;

	memset(u.b, 0xa5, sizeof(u.b));
	ioc_prepare(_metadata, self, d, u.b);
	memset(u.b + v0, 0xa5, sizeof(u.b) - v0);
	*(__u32 *)u.b = v0;
	ioc_expect_ok(_metadata, self, d, u.b, "size VER0 and junk after it");
	ASSERT_EQ(v0, *(__u32 *)u.b);
	ASSERT_TRUE(all_bytes(u.b + v0, 0xa5, 512))
		TH_LOG("%s wrote past the caller's size", d->name);
}

/*
 * A struct that grew: every size from VER0 to the current one works (an
 * older caller's), the kernel writes exactly what the caller has room for
 * and says so in size.
 */
TEST_F(ioc, size_between_versions)
{
	const struct ioc_desc *d = variant->d;
	const size_t v0 = ioc_ver0(d);
	size_t sz;
	union bigbuf u;
	char what[64];

	if (v0 == d->ksize)
		SKIP(return, "%s has one version", d->name);
	for (sz = v0; sz <= d->ksize; sz += 8) {
		memset(u.b, 0xa5, sizeof(u.b));
		ioc_prepare(_metadata, self, d, u.b);
		memset(u.b + sz, 0xa5, sizeof(u.b) - sz);
		*(__u32 *)u.b = sz;
		snprintf(what, sizeof(what), "size %zu", sz);
		ioc_expect_ok(_metadata, self, d, u.b, what);
		if (d->output)
			ASSERT_EQ(sz, *(__u32 *)u.b) TH_LOG("%s", what);
		ASSERT_TRUE(all_bytes(u.b + sz, 0xa5, 512))
			TH_LOG("%s wrote past the caller's size %zu", d->name,
			       sz);
	}
}

/* Larger than the kernel's struct, zero tail: works like openat2. */
TEST_F(ioc, size_larger_zero_tail)
{
	const struct ioc_desc *d = variant->d;
	const size_t extra[] = { 8, 64, 4096 - d->ksize };
	union bigbuf u;
	char what[64];
	size_t i, sz;

	for (i = 0; i < ARRAY_SIZE(extra); i++) {
		sz = d->ksize + extra[i];
		memset(u.b, 0xa5, sizeof(u.b));
		ioc_prepare(_metadata, self, d, u.b);
		memset(u.b + d->ksize, 0, extra[i]);
		*(__u32 *)u.b = sz;
		snprintf(what, sizeof(what), "size %zu, zero tail", sz);
		ioc_expect_ok(_metadata, self, d, u.b, what);
		if (d->output) {
			ASSERT_EQ(d->ksize, *(__u32 *)u.b)
				TH_LOG("%s: size must say what was written",
				       d->name);
		}
		ASSERT_TRUE(all_bytes(u.b + d->ksize, 0, extra[i]))
			TH_LOG("%s wrote into the tail beyond its struct",
			       d->name);
		ASSERT_TRUE(all_bytes(u.b + sz, 0xa5, 256))
			TH_LOG("%s wrote past the caller's size", d->name);
	}
}

TEST_F(ioc, size_larger_nonzero_tail)
{
	const struct ioc_desc *d = variant->d;
	const struct { size_t size, pos; unsigned char val; } c[] = {
		{ d->ksize + 8, d->ksize, 1 },
		{ d->ksize + 64, d->ksize + 7, 0x80 },
		{ d->ksize + 64, d->ksize + 63, 0xff },
		{ 4096, 4095, 1 },
	};
	union bigbuf u;
	char what[96];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		memset(u.b, 0, sizeof(u.b));
		ioc_prepare(_metadata, self, d, u.b);
		u.b[c[i].pos] = c[i].val;
		*(__u32 *)u.b = c[i].size;
		snprintf(what, sizeof(what), "size %zu, byte %zu = %#x",
			 c[i].size, c[i].pos, c[i].val);
		ioc_expect_err(_metadata, self, d, u.b, E2BIG, what);
	}
}

TEST_F(ioc, size_too_big)
{
	const struct ioc_desc *d = variant->d;
	const __u32 sizes[] = { DSPM_STRUCT_SIZE_MAX + 1,
				DSPM_STRUCT_SIZE_MAX + 8, 8192, 65536,
				0x7fffffff, 0xffffffff };
	union bigbuf u;
	char what[64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		memset(u.b, 0, sizeof(u.b));
		ioc_prepare(_metadata, self, d, u.b);
		*(__u32 *)u.b = sizes[i];
		snprintf(what, sizeof(what), "size %u, zero tail", sizes[i]);
		ioc_expect_err(_metadata, self, d, u.b, E2BIG, what);
	}
}

TEST_F(ioc, unknown_flags)
{
	const struct ioc_desc *d = variant->d;
	union bigbuf u;
	char what[64];
	int bit;

	if (!d->flags_input)
		SKIP(return, "%s: flags is an output field", d->name);
	for (bit = 0; bit < 32; bit++) {
		if (d->valid_flags & (1U << bit))
			continue;
		ioc_prepare(_metadata, self, d, u.b);
		((__u32 *)u.b)[1] |= 1U << bit;
		snprintf(what, sizeof(what), "flag bit %d", bit);
		ioc_expect_err(_metadata, self, d, u.b, EINVAL, what);
	}
}

TEST_F(ioc, reserved_nonzero)
{
	const struct ioc_desc *d = variant->d;
	const __u64 vals[] = { 1, 1ULL << 63 };
	union bigbuf u;
	char what[64];
	int r, v;
	size_t w, wsz;

	if (!d->nrsv)
		SKIP(return, "%s has no reserved input fields", d->name);
	for (r = 0; r < d->nrsv; r++) {
		wsz = d->rsv[r].len >= 8 ? 8 : d->rsv[r].len;
		for (w = 0; w < d->rsv[r].len; w += wsz) {
			for (v = 0; v < 2; v++) {
				unsigned char *p = u.b + d->rsv[r].off + w;

				ioc_prepare(_metadata, self, d, u.b);
				if (wsz == 8) {
					memcpy(p, &vals[v], 8);
				} else {
					__u32 x = v ? 1U << 31 : 1;

					memcpy(p, &x, 4);
				}
				snprintf(what, sizeof(what),
					 "reserved byte %zu = %#llx",
					 d->rsv[r].off + w,
					 (unsigned long long)vals[v]);
				ioc_expect_err(_metadata, self, d, u.b, EINVAL,
					       what);
			}
		}
	}
}

TEST_F(ioc, bad_pointer)
{
	const struct ioc_desc *d = variant->d;
	const uintptr_t wild[] = {
		0, 1, 4095, 0xffff888000000000ULL, 0xffffffff81000000ULL,
		0x8000000000000000ULL, 0x0000800000000000ULL, ~0ULL - 7,
	};
	unsigned char *pages, *p;
	char what[64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(wild); i++) {
		snprintf(what, sizeof(what), "arg %#lx",
			 (unsigned long)wild[i]);
		ioc_expect_err(_metadata, self, d, (void *)wild[i], EFAULT,
			       what);
	}

	/* Unmapped user memory. */
	pages = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, pages);
	ASSERT_EQ(0, munmap(pages, 2 * PG));
	ioc_expect_err(_metadata, self, d, pages, EFAULT, "unmapped arg");

	/* The size field readable, the rest of the struct in a guard page. */
	pages = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, pages);
	ASSERT_EQ(0, mprotect(pages + PG, PG, PROT_NONE));
	p = pages + PG - 8;
	{
		union bigbuf u;

		ioc_prepare(_metadata, self, d, u.b);
		memcpy(p, u.b, 8);
	}
	ioc_expect_err(_metadata, self, d, p, EFAULT,
		       "struct running into a PROT_NONE page");

	/* Whole struct readable, but its declared zero tail is not. */
	p = pages + PG - d->ksize;
	ioc_prepare(_metadata, self, d, p);
	*(__u32 *)p = d->ksize + 64;
	ioc_expect_err(_metadata, self, d, p, EFAULT,
		       "size reaching into a PROT_NONE page");
	munmap(pages, 2 * PG);
}

/*
 * A struct the kernel must write back, in a read-only page: EFAULT, and
 * nothing changed (for COMMIT the ABI promises that an error commits
 * nothing; CREATE must not leave a dataset the caller cannot learn of).
 */
TEST_F(ioc, output_not_writable)
{
	const struct ioc_desc *d = variant->d;
	struct snap before, after;
	unsigned char *page;
	int ret;

	if (!d->output)
		SKIP(return, "%s writes nothing back", d->name);
	page = mmap(NULL, PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	ioc_prepare(_metadata, self, d, page);
	ASSERT_EQ(0, mprotect(page, PG, PROT_READ));
	take_snap(_metadata, self, &before);
	ret = ioc_call(self, d, page);
	take_snap(_metadata, self, &after);
	ASSERT_EQ(-EFAULT, ret)
		TH_LOG("%s into a read-only struct: %s", d->name,
		       ret < 0 ? strerror(-ret) : "success");
	/* A rejected call changes nothing (no dataset, no commit, no abort). */
	ASSERT_TRUE(snap_same(_metadata, &before, &after));
	munmap(page, PG);
}

/* ================================================================== */
/* Control fd                                                          */

FIXTURE(ctl) {
	struct dspm_env e;
};

FIXTURE_SETUP(ctl)
{
	env_setup(_metadata, &self->e);
}

FIXTURE_TEARDOWN(ctl)
{
	env_teardown(_metadata, &self->e);
}

static bool info_attached(int ctl)
{
	struct dspm_info info;

	return !dspm_get_info(ctl, &info) && (info.flags & DSPM_INFO_ATTACHED);
}

TEST_F(ctl, info_fields_attached)
{
	struct dspm_info info;
	int i;

	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &info));
	ASSERT_EQ(sizeof(info), info.size);
	ASSERT_EQ(DSPM_ABI_VERSION, info.abi_version);
	ASSERT_TRUE(info.flags & DSPM_INFO_ATTACHED);
	/* Set for a DRAM backend, clear for pmem. */
	ASSERT_EQ(!self->e.pmem, !!(info.flags & DSPM_INFO_VOLATILE))
		TH_LOG("%s backend", self->e.pmem ? "pmem" : "DRAM");
	ASSERT_EQ(0, info.flags & ~(DSPM_INFO_ATTACHED | DSPM_INFO_VOLATILE));
	ASSERT_NE(0, info.layout_version);
	ASSERT_FALSE(all_bytes(info.uuid, 0, sizeof(info.uuid)));
	ASSERT_EQ(PG, info.page_size);
	ASSERT_LT(0, info.capacity);
	ASSERT_EQ(0, info.capacity % PG);
	if (!self->e.pmem)
		ASSERT_GE(DRAM_TEST_BYTES, info.capacity);
	ASSERT_EQ(info.capacity, info.free) TH_LOG("fresh format");
	ASSERT_EQ(0, info.datasets);
	ASSERT_LT(0, info.max_datasets);
	ASSERT_LE(PG, info.log_capacity);
	ASSERT_EQ(0, info.commits);
	ASSERT_EQ(0, info.aborts);
	ASSERT_EQ(0, info.recovered);
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, info.reserved[i]);
	/* VER1: counters from attach */
	ASSERT_EQ(DSPM_INFO_SIZE_VER1, info.size);
	ASSERT_EQ(0, info.faults_local);
	ASSERT_EQ(0, info.faults_remote);
	ASSERT_EQ(0, info.conflicts);
	ASSERT_EQ(0, info.bytes_committed);
	ASSERT_EQ(0, info.bytes_replicated);
	ASSERT_EQ(0, info.pages_shadowed);
	for (i = 0; i < DSPM_INFO_FETCH_BUCKETS; i++)
		ASSERT_EQ(0, info.fetch_hist[i]);
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, info.reserved1[i]);
}

/* A VER0 caller gets the VER0 fields, and nothing written after them. */
TEST_F(ctl, info_ver0_caller)
{
	union {
		struct dspm_info info;
		unsigned char b[sizeof(struct dspm_info) + 64];
	} u;
	struct dspm_info now;

	memset(&u, 0x5a, sizeof(u));
	memset(&u.info, 0, DSPM_INFO_SIZE_VER0);
	u.info.size = DSPM_INFO_SIZE_VER0;
	ASSERT_EQ(0, dspm_ioctl(self->e.ctl, DSPM_IOC_GET_INFO, &u.info));
	ASSERT_EQ(DSPM_INFO_SIZE_VER0, u.info.size);
	ASSERT_TRUE(u.info.flags & DSPM_INFO_ATTACHED);
	ASSERT_EQ(DSPM_ABI_VERSION, u.info.abi_version);
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &now));
	ASSERT_EQ(now.capacity, u.info.capacity);
	ASSERT_EQ(now.free, u.info.free);
	ASSERT_TRUE(all_bytes(u.b + DSPM_INFO_SIZE_VER0, 0x5a,
			      sizeof(u) - DSPM_INFO_SIZE_VER0))
		TH_LOG("GET_INFO wrote past a VER0 caller's struct");
}

TEST_F(ctl, info_detached)
{
	struct dspm_info info;

	ASSERT_EQ(0, dspm_detach(self->e.ctl));
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	ASSERT_EQ(0, dspm_ioctl(self->e.ctl, DSPM_IOC_GET_INFO, &info));
	ASSERT_EQ(sizeof(info), info.size);
	ASSERT_EQ(0, info.flags);
	ASSERT_EQ(DSPM_ABI_VERSION, info.abi_version);
	ASSERT_TRUE(all_bytes((char *)&info + 12, 0, sizeof(info) - 12))
		TH_LOG("everything but size, flags, abi_version must be 0");
}

/* Reusing the filled-in struct (outputs set) must work: outputs are not inputs. */
TEST_F(ctl, info_reuse_struct)
{
	struct dspm_info info;

	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &info));
	ASSERT_NE(0, info.flags);
	ASSERT_EQ(0, dspm_ioctl(self->e.ctl, DSPM_IOC_GET_INFO, &info));
	ASSERT_EQ(sizeof(info), info.size);
}

/* Any user of the device's group may GET_INFO, on a control fd of its own. */
static int child_info_unprivileged(void *arg)
{
	struct dspm_info info;
	int ctl, ret;

	(void)arg;
	if (!CHILD_CHECK(drop_to_user(NOBODY, NOBODY) == 0, "drop"))
		return 1;
	ctl = open(DSPM_DEVICE_PATH, O_RDWR);
	if (!CHILD_CHECK(ctl >= 0, "open %s as nobody in its group: %s",
			 DSPM_DEVICE_PATH, strerror(errno)))
		return 1;
	ret = dspm_get_info(ctl, &info);
	if (!CHILD_CHECK(ret == 0, "GET_INFO: %s", strerror(-ret)))
		return 1;
	if (!CHILD_CHECK(info.flags & DSPM_INFO_ATTACHED, "flags %#x", info.flags))
		return 1;
	return 0;
}

TEST_F(ctl, info_any_user)
{
	ASSERT_EQ(0, run_child(child_info_unprivileged, NULL));
}

/* Outside the device's group, and not root: /dev/dspm does not open. */
static int child_open_outside_group(void *arg)
{
	int ctl;

	(void)arg;
	if (!CHILD_CHECK(drop_to_user_groups(NOBODY, NOBODY, true) == 0, "drop"))
		return 1;
	ctl = open(DSPM_DEVICE_PATH, O_RDWR);
	if (!CHILD_CHECK(ctl < 0 && errno == EACCES,
			 "open %s outside its group: %s", DSPM_DEVICE_PATH,
			 ctl < 0 ? strerror(errno) : "opened"))
		return 1;
	return 0;
}

/* The driver makes /dev/dspm root's, mode 0660 (a udev rule names the group). */
TEST_F(ctl, device_node_root_group_0660)
{
	struct stat st;

	ASSERT_EQ(0, stat(DSPM_DEVICE_PATH, &st));
	ASSERT_TRUE(S_ISCHR(st.st_mode));
	ASSERT_EQ(0, st.st_uid);
	ASSERT_EQ(0660, st.st_mode & 07777)
		TH_LOG("mode %o", st.st_mode & 07777);
	ASSERT_EQ(0, run_child(child_open_outside_group, NULL));
}

TEST_F(ctl, info_uuid_new_on_format)
{
	struct dspm_info a, b;

	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &a));
	ASSERT_EQ(0, dspm_detach(self->e.ctl));
	ASSERT_EQ(0, dspm_attach_backend(self->e.ctl, true));
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &b));
	ASSERT_NE(0, memcmp(a.uuid, b.uuid, sizeof(a.uuid)))
		TH_LOG("FORMAT must write a new uuid");
}

TEST_F(ctl, attach_twice_busy)
{
	struct dspm_info a, b;

	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &a));
	ASSERT_EQ(-EBUSY, dspm_attach_backend(self->e.ctl, true));
	ASSERT_EQ(-EBUSY, dspm_attach_backend(self->e.ctl, false));
	ASSERT_EQ(-EBUSY, dspm_attach_dram(self->e.ctl, DSPM_ATTACH_FORMAT,
					   DSPM_DRAM_BYTES_MIN));
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &b));
	ASSERT_EQ(0, memcmp(a.uuid, b.uuid, sizeof(a.uuid)));
	ASSERT_TRUE(b.flags & DSPM_INFO_ATTACHED);
}

TEST_F(ctl, attach_dram_sizes)
{
	const __u64 bad[] = { 0, 1, DSPM_DRAM_BYTES_MIN - 1,
			      DSPM_DRAM_BYTES_MIN - PG,
			      DSPM_DRAM_BYTES_MAX + 1,
			      DSPM_DRAM_BYTES_MAX + PG, 1ULL << 62, ~0ULL };
	struct dspm_info info;
	size_t i;
	int ret;

	ASSERT_EQ(0, dspm_detach(self->e.ctl));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ret = dspm_attach_dram(self->e.ctl, DSPM_ATTACH_FORMAT, bad[i]);
		ASSERT_EQ(-EINVAL, ret)
			TH_LOG("dram_bytes %#llx: %s",
			       (unsigned long long)bad[i], strerror(-ret));
		ASSERT_FALSE(info_attached(self->e.ctl));
	}
	/* The minimum itself is valid. */
	ASSERT_EQ(0, dspm_attach_dram(self->e.ctl, DSPM_ATTACH_FORMAT,
				      DSPM_DRAM_BYTES_MIN));
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &info));
	ASSERT_TRUE(info.flags & DSPM_INFO_VOLATILE);
	ASSERT_LT(0, info.capacity);
	ASSERT_GE(DSPM_DRAM_BYTES_MIN, info.capacity);
}

TEST_F(ctl, attach_arg_combinations)
{
	struct dspm_attach a;
	const char *p = "/dev/null";

	ASSERT_EQ(0, dspm_detach(self->e.ctl));

	/* DRAM with a path. */
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.flags = DSPM_ATTACH_DRAM | DSPM_ATTACH_FORMAT;
	a.dram_bytes = DRAM_TEST_BYTES;
	a.path = (uintptr_t)p;
	ASSERT_EQ(-EINVAL, dspm_ioctl(self->e.ctl, DSPM_IOC_ATTACH, &a));

	/* A device without a path. */
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.flags = DSPM_ATTACH_FORMAT;
	ASSERT_EQ(-EINVAL, dspm_ioctl(self->e.ctl, DSPM_IOC_ATTACH, &a));
	a.flags = 0;
	ASSERT_EQ(-EINVAL, dspm_ioctl(self->e.ctl, DSPM_IOC_ATTACH, &a));

	/* A device with dram_bytes. */
	a.flags = DSPM_ATTACH_FORMAT;
	a.path = (uintptr_t)(test_pmem() ? test_pmem() : p);
	a.dram_bytes = DRAM_TEST_BYTES;
	ASSERT_EQ(-EINVAL, dspm_ioctl(self->e.ctl, DSPM_IOC_ATTACH, &a));
	ASSERT_FALSE(info_attached(self->e.ctl));
}

TEST_F(ctl, attach_path_fault)
{
	const uintptr_t bad[] = { 1, 4095, 0xffff888000000000ULL,
				  0xffffffff81000000ULL, 0x8000000000000000ULL };
	char *pages;
	size_t i;
	int ret;

	ASSERT_EQ(0, dspm_detach(self->e.ctl));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ret = dspm_attach_path(self->e.ctl, DSPM_ATTACH_FORMAT,
				       (const char *)bad[i]);
		ASSERT_EQ(-EFAULT, ret)
			TH_LOG("path %#lx: %s", (unsigned long)bad[i],
			       strerror(-ret));
	}
	/* A path string running, unterminated, into a PROT_NONE page. */
	pages = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, pages);
	ASSERT_EQ(0, mprotect(pages + PG, PG, PROT_NONE));
	memset(pages, 'a', PG);
	memcpy(pages + PG - 16, "/dev/pmem0aaaaaa", 16);
	ret = dspm_attach_path(self->e.ctl, DSPM_ATTACH_FORMAT,
			       pages + PG - 16);
	ASSERT_EQ(-EFAULT, ret) TH_LOG("%s", strerror(-ret));
	munmap(pages, 2 * PG);
	ASSERT_FALSE(info_attached(self->e.ctl));
}

TEST_F(ctl, attach_path_errors)
{
	const struct { const char *path; int err; } c[] = {
		{ "/nonexistent-dspm/pmem0", ENOENT },
		{ "/dev/nonexistent-dspm-pmem", ENOENT },
		{ "/dev/null", ENOTBLK },
		{ "/dev/dspm", ENOTBLK },
		{ "/etc/passwd", ENOTBLK },
		{ "/", ENOTBLK },
	};
	char *longpath;
	size_t i;
	int ret;

	ASSERT_EQ(0, dspm_detach(self->e.ctl));
	/* The empty path: lookup_bdev() says EINVAL, a lookup ENOENT. */
	ret = dspm_attach_path(self->e.ctl, DSPM_ATTACH_FORMAT, "");
	ASSERT_TRUE(ret == -EINVAL || ret == -ENOENT)
		TH_LOG("empty path: %s", ret ? strerror(-ret) : "attached");
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		ret = dspm_attach_path(self->e.ctl, DSPM_ATTACH_FORMAT,
				       c[i].path);
		ASSERT_EQ(-c[i].err, ret)
			TH_LOG("path '%s': expected %s, got %s", c[i].path,
			       strerror(c[i].err), strerror(-ret));
		ASSERT_FALSE(info_attached(self->e.ctl));
	}
	/* Longer than PATH_MAX: the ABI does not pin the errno down. */
	longpath = malloc(3 * PG);
	ASSERT_NE(NULL, longpath);
	memset(longpath, 'a', 3 * PG - 1);
	longpath[0] = '/';
	longpath[3 * PG - 1] = 0;
	ret = dspm_attach_path(self->e.ctl, DSPM_ATTACH_FORMAT, longpath);
	ASSERT_TRUE(ret == -ENAMETOOLONG || ret == -EINVAL)
		TH_LOG("12 KiB path: %s", strerror(-ret));
	free(longpath);
	ASSERT_FALSE(info_attached(self->e.ctl));
}

/* A block device that is not DAX-capable: a loop device. */
TEST_F(ctl, attach_not_dax)
{
	int bfd, lfd, ret;
	char dev[64];

	if (!loop_get(_metadata, dev, 32 << 20, &lfd, &bfd))
		SKIP(return, "no non-DAX block device to try");
	ASSERT_EQ(0, dspm_detach(self->e.ctl));
	ret = dspm_attach_path(self->e.ctl, DSPM_ATTACH_FORMAT, dev);
	loop_put(lfd, bfd);
	ASSERT_EQ(-EOPNOTSUPP, ret)
		TH_LOG("%s (32 MiB, no DAX): %s", dev,
		       ret ? strerror(-ret) : "attached");
	ASSERT_FALSE(info_attached(self->e.ctl));
}

TEST_F(ctl, attach_dram_without_format_is_empty)
{
	struct dspm_info info;

	if (self->e.pmem)
		SKIP(return, "DRAM backend only");
	ASSERT_EQ(0, dspm_create(self->e.ctl, "gone", PG, 0644));
	ASSERT_EQ(0, dspm_detach(self->e.ctl));
	ASSERT_EQ(0, dspm_attach_dram(self->e.ctl, 0, DRAM_TEST_BYTES));
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &info));
	ASSERT_TRUE(info.flags & DSPM_INFO_VOLATILE);
	ASSERT_EQ(0, info.datasets);
	ASSERT_EQ(info.capacity, info.free);
	ASSERT_EQ(-ENOENT, dspm_open(self->e.ctl, "gone", 0));
}

TEST_F(ctl, attach_pmem_keeps_datasets)
{
	struct dspm_info a, b;
	struct dspm_dataset_info di;
	unsigned char *m;
	int fd;

	if (!self->e.pmem)
		SKIP(return, "needs DSPM_TEST_PMEM");
	ASSERT_EQ(0, dspm_create(self->e.ctl, "keep", 3 * PG, 0640));
	fd = dspm_open(self->e.ctl, "keep", DSPM_OPEN_WRITE);
	ASSERT_LE(0, fd);
	m = dspm_map(fd, 3 * PG, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, m);
	memcpy(m + PG + 100, "committed", 9);
	ASSERT_EQ(0, dspm_commit(fd, NULL, 0, NULL));
	memcpy(m + 2 * PG, "dirty", 5);
	munmap(m, 3 * PG);
	close(fd);
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &a));
	ASSERT_EQ(0, dspm_detach(self->e.ctl));

	ASSERT_EQ(0, dspm_attach_backend(self->e.ctl, false));
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &b));
	ASSERT_EQ(0, memcmp(a.uuid, b.uuid, sizeof(a.uuid)));
	ASSERT_EQ(a.layout_version, b.layout_version);
	ASSERT_EQ(a.capacity, b.capacity);
	ASSERT_EQ(a.free, b.free);
	ASSERT_EQ(1, b.datasets);
	ASSERT_EQ(0, dspm_find(self->e.ctl, "keep", &di));
	ASSERT_EQ(3 * PG, di.length);
	ASSERT_EQ(0640, di.mode);
	ASSERT_EQ(1, di.version);
	fd = dspm_open(self->e.ctl, "keep", 0);
	ASSERT_LE(0, fd);
	m = dspm_map(fd, 3 * PG, PROT_READ);
	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(0, memcmp(m + PG + 100, "committed", 9));
	ASSERT_TRUE(all_bytes(m + 2 * PG, 0, PG))
		TH_LOG("uncommitted bytes survived detach");
	munmap(m, 3 * PG);
	close(fd);
}

/*
 * Raw access to the pmem device while detached, with O_DIRECT so that the
 * block device's page cache never holds bytes the driver changed via DAX.
 */
static int pmem_io(const char *dev, off_t off, void *buf, size_t len,
		   bool write)
{
	ssize_t n;
	int fd;

	fd = open(dev, (write ? O_RDWR : O_RDONLY) | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);
	if (n == (ssize_t)len && write && fsync(fd))
		n = -1;
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

/* Without FORMAT, a device with no dspm superblock: ENODATA. */
TEST_F_TIMEOUT(ctl, attach_pmem_unformatted, 120)
{
	const char *dev = test_pmem();
	off_t size, off;
	void *zero;
	int bfd;

	if (!dev)
		SKIP(return, "needs DSPM_TEST_PMEM");
	ASSERT_EQ(0, dspm_detach(self->e.ctl));
	bfd = open(dev, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, bfd) TH_LOG("open %s: %s", dev, strerror(errno));
	size = lseek(bfd, 0, SEEK_END);
	close(bfd);
	ASSERT_LT(0, size);
	ASSERT_EQ(0, posix_memalign(&zero, PG, 1 << 20));
	memset(zero, 0, 1 << 20);
	for (off = 0; off < size; off += 1 << 20)
		ASSERT_EQ(0, pmem_io(dev, off, zero, 1 << 20, true));
	free(zero);
	ASSERT_EQ(-ENODATA, dspm_attach_backend(self->e.ctl, false));
	ASSERT_FALSE(info_attached(self->e.ctl));
	ASSERT_EQ(0, dspm_attach_backend(self->e.ctl, true));
}

/*
 * Superblock damage (offsets from Documentation/layout.md, struct
 * dspm_media_sb): the attach refuses, and attaches again once the original
 * bytes are back.
 */
#define SB_MAGIC_OFF		0
#define SB_VERSION_OFF		8
#define SB_UUID_OFF		16
#define SB_FREE_PAGES_OFF	112
#define SB_DATASETS_OFF		120

struct sb_damage {
	const char *what;
	unsigned int off;
	unsigned int len;
	__u64 xor;
	int err;
};

static const struct sb_damage sb_damages[] = {
	{ "magic", SB_MAGIC_OFF, 8, ~0ULL, ENODATA },
	{ "newer layout_version", SB_VERSION_OFF, 4, 1 ^ 2, EOPNOTSUPP },
	{ "uuid byte (checksummed)", SB_UUID_OFF + 3, 1, 0x40, EUCLEAN },
	{ "free_pages counter", SB_FREE_PAGES_OFF, 8, 1, EUCLEAN },
	{ "datasets counter", SB_DATASETS_OFF, 8, 2, EUCLEAN },
};

TEST_F_TIMEOUT(ctl, attach_pmem_damaged_superblock, 120)
{
	const char *dev = test_pmem();
	unsigned char *orig, *bad;
	struct dspm_info info;
	size_t i;
	int ret;

	if (!dev)
		SKIP(return, "needs DSPM_TEST_PMEM");
	/* Some content, so the counters are not all zero. */
	ASSERT_EQ(0, dspm_create(self->e.ctl, "sb1", 3 * PG, 0644));
	ASSERT_EQ(0, dspm_create(self->e.ctl, "sb2", 5 * PG, 0644));
	ASSERT_EQ(0, dspm_detach(self->e.ctl));
	ASSERT_EQ(0, posix_memalign((void **)&orig, PG, PG));
	ASSERT_EQ(0, posix_memalign((void **)&bad, PG, PG));
	ASSERT_EQ(0, pmem_io(dev, 0, orig, PG, false));
	ASSERT_EQ(0, memcmp(orig, "dspm-sb1", 8)) TH_LOG("no dspm superblock at 0");
	ASSERT_EQ(1, *(__u32 *)(orig + SB_VERSION_OFF));
	for (i = 0; i < ARRAY_SIZE(sb_damages); i++) {
		const struct sb_damage *d = &sb_damages[i];
		__u64 v = 0;

		memcpy(bad, orig, PG);
		memcpy(&v, bad + d->off, d->len);
		v ^= d->xor;
		memcpy(bad + d->off, &v, d->len);
		ASSERT_EQ(0, pmem_io(dev, 0, bad, PG, true));
		ret = dspm_attach_backend(self->e.ctl, false);
		if (!ret)
			dspm_detach(self->e.ctl);
		ASSERT_EQ(0, pmem_io(dev, 0, orig, PG, true));
		ASSERT_EQ(-d->err, ret)
			TH_LOG("damaged %s: expected %s, got %s", d->what,
			       strerror(d->err), ret ? strerror(-ret) : "attached");
	}
	ASSERT_EQ(0, dspm_attach_backend(self->e.ctl, false));
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &info));
	ASSERT_EQ(2, info.datasets);
	ASSERT_EQ(0, dspm_find(self->e.ctl, "sb2", NULL));
	free(orig);
	free(bad);
}

/* A device someone else holds exclusively: EBUSY. */
TEST_F(ctl, attach_pmem_held_elsewhere)
{
	const char *dev = test_pmem();
	int bfd, ret;

	if (!dev)
		SKIP(return, "needs DSPM_TEST_PMEM");
	ASSERT_EQ(0, dspm_detach(self->e.ctl));
	bfd = open(dev, O_RDONLY | O_EXCL | O_CLOEXEC);
	ASSERT_LE(0, bfd) TH_LOG("exclusive open of %s: %s", dev, strerror(errno));
	ret = dspm_attach_backend(self->e.ctl, false);
	close(bfd);
	ASSERT_EQ(-EBUSY, ret) TH_LOG("%s", ret ? strerror(-ret) : "attached");
	ASSERT_FALSE(info_attached(self->e.ctl));
	ASSERT_EQ(0, dspm_attach_backend(self->e.ctl, false));
}

struct cap_arg {
	int how;		/* 0: drop CAP_SYS_ADMIN, 1: become nobody */
	int op;			/* OP_ATTACH or OP_DETACH */
};

static int child_admin_op(void *arg)
{
	struct cap_arg *a = arg;
	int ctl, ret;

	if (a->how == 0) {
		if (!CHILD_CHECK(drop_cap(CAP_SYS_ADMIN) == 0, "capset"))
			return 1;
	} else {
		if (!CHILD_CHECK(drop_to_user(NOBODY, NOBODY) == 0, "setresuid"))
			return 1;
	}
	ctl = open(DSPM_DEVICE_PATH, O_RDWR);
	if (!CHILD_CHECK(ctl >= 0, "open: %s", strerror(errno)))
		return 1;
	if (a->op == OP_ATTACH)
		ret = dspm_attach_backend(ctl, true);
	else
		ret = dspm_detach(ctl);
	if (!CHILD_CHECK(ret == -EPERM, "%s without CAP_SYS_ADMIN: %s",
			 a->op == OP_ATTACH ? "ATTACH" : "DETACH",
			 ret ? strerror(-ret) : "success"))
		return 1;
	/* Same with DRAM, and the errors of a privileged caller come after. */
	if (a->op == OP_ATTACH) {
		ret = dspm_attach_dram(ctl, DSPM_ATTACH_FORMAT, 1);
		if (!CHILD_CHECK(ret == -EPERM, "bad DRAM ATTACH: %s",
				 strerror(-ret)))
			return 1;
	}
	return 0;
}

TEST_F(ctl, attach_needs_cap_sys_admin)
{
	struct cap_arg a = { .op = OP_ATTACH };

	ASSERT_EQ(0, dspm_detach(self->e.ctl));
	for (a.how = 0; a.how < 2; a.how++) {
		ASSERT_EQ(0, run_child(child_admin_op, &a))
			TH_LOG("%s", a.how ? "uid nobody" : "uid 0 without CAP_SYS_ADMIN");
		ASSERT_FALSE(info_attached(self->e.ctl));
	}
}

TEST_F(ctl, detach_needs_cap_sys_admin)
{
	struct cap_arg a = { .op = OP_DETACH };

	for (a.how = 0; a.how < 2; a.how++) {
		ASSERT_EQ(0, run_child(child_admin_op, &a))
			TH_LOG("%s", a.how ? "uid nobody" : "uid 0 without CAP_SYS_ADMIN");
		ASSERT_TRUE(info_attached(self->e.ctl));
	}
}

TEST_F(ctl, detach_twice)
{
	ASSERT_EQ(0, dspm_detach(self->e.ctl));
	ASSERT_EQ(-ENODEV, dspm_detach(self->e.ctl));
}

TEST_F(ctl, detach_busy_while_fd_open)
{
	int fd;

	env_create(_metadata, &self->e, "busy", PG, 0644);
	fd = env_open(_metadata, &self->e, "busy", 0);
	ASSERT_EQ(-EBUSY, dspm_detach(self->e.ctl));
	ASSERT_TRUE(info_attached(self->e.ctl));
	/* The fd still works. */
	{
		struct dspm_stat st;

		ASSERT_EQ(0, dspm_stat(fd, &st));
	}
	env_close(&self->e, fd);
	ASSERT_EQ(0, dspm_detach(self->e.ctl));
}

/* A mapping keeps the dataset in use even after its fd was closed. */
TEST_F(ctl, detach_busy_while_mapped)
{
	unsigned char *m;
	int fd;

	env_create(_metadata, &self->e, "busy", PG, 0644);
	fd = env_open(_metadata, &self->e, "busy", DSPM_OPEN_WRITE);
	m = env_map(_metadata, &self->e, fd, PG, PROT_READ | PROT_WRITE);
	env_close(&self->e, fd);
	WRITE_ONCE(m[0], 1);
	ASSERT_EQ(-EBUSY, dspm_detach(self->e.ctl));
	ASSERT_EQ(1, READ_ONCE(m[0]));
	env_unmap(&self->e, (void *)m);
	ASSERT_EQ(0, dspm_detach(self->e.ctl));
}

TEST_F(ctl, detach_busy_while_other_process_has_fd)
{
	struct chan c;
	__u64 v;
	pid_t pid;

	env_create(_metadata, &self->e, "busy", PG, 0644);
	ASSERT_EQ(0, chan_init(&c));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = dspm_open(self->e.ctl, "busy", 0);

		chan_put(c.to_parent[1], fd >= 0 ? 0 : -fd);
		chan_get(c.to_child[0], &v);
		_exit(0);
	}
	env_track_kid(&self->e, pid);
	ASSERT_EQ(0, chan_get(c.to_parent[0], &v));
	ASSERT_EQ(0, v) TH_LOG("child OPEN: %s", strerror(v));
	ASSERT_EQ(-EBUSY, dspm_detach(self->e.ctl));
	chan_put(c.to_child[1], 0);
	ASSERT_EQ(0, env_wait(&self->e, pid));
	ASSERT_EQ(0, dspm_detach(self->e.ctl));
	chan_close(&c);
}

TEST_F(ctl, detached_enodev)
{
	struct dspm_dataset_info e[2];
	__u32 count, total;

	env_create(_metadata, &self->e, "x", PG, 0644);
	ASSERT_EQ(0, dspm_detach(self->e.ctl));
	ASSERT_EQ(-ENODEV, dspm_create(self->e.ctl, "y", PG, 0644));
	ASSERT_EQ(-ENODEV, dspm_open(self->e.ctl, "x", 0));
	ASSERT_EQ(-ENODEV, dspm_open(self->e.ctl, "x", DSPM_OPEN_WRITE));
	ASSERT_EQ(-ENODEV, dspm_delete(self->e.ctl, "x"));
	ASSERT_EQ(-ENODEV, dspm_list(self->e.ctl, e, 2, &count, &total));
	ASSERT_EQ(-ENODEV, dspm_list(self->e.ctl, NULL, 0, &count, &total));
}

/* ------------------------------------------------------------------ */
/* Names                                                               */

struct raw_name {
	const char *label;
	char name[DSPM_NAME_MAX];
};

static void fill_invalid_names(struct raw_name *n, int *count)
{
	int i = 0;

#define RAW(l, s) do {							\
	n[i].label = l;							\
	memset(n[i].name, 0, DSPM_NAME_MAX);				\
	memcpy(n[i].name, s, sizeof(s) - 1);				\
	i++;								\
} while (0)
	RAW("empty", "");
	n[i].label = "64 non-NUL bytes (unterminated)";
	memset(n[i].name, 'a', DSPM_NAME_MAX);
	i++;
	n[i].label = "unterminated, bad last byte";
	memset(n[i].name, 'b', DSPM_NAME_MAX);
	n[i].name[DSPM_NAME_MAX - 1] = '/';
	i++;
	RAW("dot", ".");
	RAW("dotdot", "..");
	RAW("leading dot", ".hidden");
	RAW("slash", "a/b");
	RAW("leading slash", "/a");
	RAW("space", "a b");
	RAW("newline", "a\n");
	RAW("tab", "\ta");
	RAW("colon", "a:b");
	RAW("star", "a*");
	RAW("backslash", "a\\b");
	RAW("percent", "100%");
	RAW("high byte 0x80", "a\x80");
	RAW("high byte 0xff", "\xff");
	RAW("utf-8", "caf\xc3\xa9");
	RAW("latin-1 letters", "\xe9t\xe9");
	RAW("latin-1 capital", "A\xc0");
	RAW("DEL", "a\x7f");
	RAW("control 0x01", "\x01");
	RAW("garbage after NUL", "abc\0x");
	RAW("garbage at the last byte", "abc");
	n[i - 1].name[DSPM_NAME_MAX - 1] = 'z';
	RAW("NUL then more NULs then byte", "ab\0\0\0\0\0\0\0\0q");
#undef RAW
	*count = i;
}

static const char * const valid_names[] = {
	"a", "Z", "0", "-", "_", "a.b", "a..b", "trailing.", "-lead",
	"_lead", "Mixed-Case_09.x",
	/* 63 characters: the longest valid name */
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789a",
};

TEST_F(ctl, create_valid_names)
{
	struct dspm_dataset_info di;
	size_t i;
	int ret, fd;

	ASSERT_EQ(63, strlen(valid_names[11]));
	for (i = 0; i < ARRAY_SIZE(valid_names); i++) {
		ret = dspm_create(self->e.ctl, valid_names[i], PG, 0644);
		ASSERT_EQ(0, ret)
			TH_LOG("'%s': %s", valid_names[i], strerror(-ret));
		ASSERT_EQ(0, dspm_find(self->e.ctl, valid_names[i], &di));
		ASSERT_EQ(0, strcmp(di.name, valid_names[i]));
		fd = dspm_open(self->e.ctl, valid_names[i], 0);
		ASSERT_LE(0, fd);
		close(fd);
	}
	for (i = 0; i < ARRAY_SIZE(valid_names); i++)
		ASSERT_EQ(0, dspm_delete(self->e.ctl, valid_names[i]));
}

/* Names differing only in case are different datasets. */
TEST_F(ctl, names_case_sensitive)
{
	ASSERT_EQ(0, dspm_create(self->e.ctl, "Data", PG, 0644));
	ASSERT_EQ(0, dspm_create(self->e.ctl, "data", PG, 0644));
	ASSERT_EQ(-EEXIST, dspm_create(self->e.ctl, "Data", PG, 0644));
}

TEST_F(ctl, invalid_names)
{
	struct raw_name n[32];
	struct dspm_create c;
	struct dspm_open o;
	struct dspm_delete d;
	struct dspm_info before, after;
	int count, i, ret;

	fill_invalid_names(n, &count);
	/* A dataset whose name is the prefix of some invalid ones. */
	ASSERT_EQ(0, dspm_create(self->e.ctl, "abc", PG, 0644));
	ASSERT_EQ(0, dspm_create(self->e.ctl, "a", PG, 0644));
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &before));
	for (i = 0; i < count; i++) {
		memset(&c, 0, sizeof(c));
		c.size = sizeof(c);
		memcpy(c.name, n[i].name, DSPM_NAME_MAX);
		c.length = PG;
		c.mode = 0644;
		c.replicas = 1;
		ret = dspm_ioctl(self->e.ctl, DSPM_IOC_CREATE, &c);
		EXPECT_EQ(-EINVAL, ret)
			TH_LOG("CREATE name %s: %s", n[i].label,
			       ret ? strerror(-ret) : "created");

		memset(&o, 0, sizeof(o));
		o.size = sizeof(o);
		memcpy(o.name, n[i].name, DSPM_NAME_MAX);
		ret = dspm_ioctl(self->e.ctl, DSPM_IOC_OPEN, &o);
		if (ret >= 0)
			close(ret);
		EXPECT_EQ(-EINVAL, ret)
			TH_LOG("OPEN name %s: %s", n[i].label,
			       ret >= 0 ? "opened" : strerror(-ret));

		memset(&d, 0, sizeof(d));
		d.size = sizeof(d);
		memcpy(d.name, n[i].name, DSPM_NAME_MAX);
		ret = dspm_ioctl(self->e.ctl, DSPM_IOC_DELETE, &d);
		EXPECT_EQ(-EINVAL, ret)
			TH_LOG("DELETE name %s: %s", n[i].label,
			       ret ? strerror(-ret) : "deleted");
	}
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &after));
	ASSERT_EQ(before.datasets, after.datasets);
	ASSERT_EQ(before.free, after.free);
}

/* ------------------------------------------------------------------ */
/* CREATE                                                              */

TEST_F(ctl, create_length_limits)
{
	const __u64 bad[] = { 0, DSPM_DATASET_LENGTH_MAX + 1,
			      DSPM_DATASET_LENGTH_MAX + PG, 1ULL << 63,
			      ~0ULL, ~0ULL - PG + 2 };
	const struct { __u64 len, pages; } good[] = {
		{ 1, 1 }, { PG - 1, 1 }, { PG, 1 }, { PG + 1, 2 },
		{ 5000, 2 }, { 10 * PG, 10 },
	};
	struct dspm_dataset_info di;
	struct dspm_info info;
	char name[DSPM_NAME_MAX];
	size_t i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ret = dspm_create(self->e.ctl, "len", bad[i], 0644);
		ASSERT_EQ(-EINVAL, ret)
			TH_LOG("length %#llx: %s",
			       (unsigned long long)bad[i], strerror(-ret));
	}
	/* The largest valid length: valid, but far more than there is. */
	ASSERT_EQ(-ENOSPC, dspm_create(self->e.ctl, "len",
				       DSPM_DATASET_LENGTH_MAX, 0644));
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &info));
	ASSERT_EQ(0, info.datasets);
	ASSERT_EQ(-ENOSPC, dspm_create(self->e.ctl, "len",
				       info.free + 1, 0644));
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		env_name(&self->e, name, "g");
		ret = dspm_create(self->e.ctl, name, good[i].len, 0644);
		ASSERT_EQ(0, ret) TH_LOG("length %llu: %s",
					 (unsigned long long)good[i].len,
					 strerror(-ret));
		ASSERT_EQ(0, dspm_find(self->e.ctl, name, &di));
		ASSERT_EQ(good[i].len, di.length);
		ASSERT_EQ(good[i].pages, di.pages);
	}
}

/* A dataset can take every free byte; then nothing more fits. */
TEST_F(ctl, create_fills_space_exactly)
{
	struct dspm_info info, full, back;

	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &info));
	ASSERT_EQ(0, dspm_create(self->e.ctl, "all", info.free, 0644))
		TH_LOG("free %llu", (unsigned long long)info.free);
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &full));
	ASSERT_EQ(0, full.free);
	ASSERT_EQ(-ENOSPC, dspm_create(self->e.ctl, "more", 1, 0644));
	ASSERT_EQ(0, dspm_delete(self->e.ctl, "all"));
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &back));
	ASSERT_EQ(info.free, back.free);
	ASSERT_EQ(0, dspm_create(self->e.ctl, "more", 1, 0644));
}

TEST_F(ctl, create_mode_model_replicas)
{
	const __u32 bad_mode[] = { 01000, 02000, 04000, 07777, 010000,
				   0x80000000, ~0U };
	const __u32 bad_model[] = { 2, 3, 0x100, ~0U };
	const __u32 bad_rep[] = { 0, DSPM_REPLICAS_MAX + 1, 1000, ~0U };
	struct dspm_dataset_info di;
	size_t i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(bad_mode); i++) {
		ret = dspm_create(self->e.ctl, "m", PG, bad_mode[i]);
		ASSERT_EQ(-EINVAL, ret) TH_LOG("mode %#o", bad_mode[i]);
	}
	for (i = 0; i < ARRAY_SIZE(bad_model); i++) {
		ret = dspm_create_full(self->e.ctl, "m", PG, 0644,
				       bad_model[i], 1, NULL);
		ASSERT_EQ(-EINVAL, ret) TH_LOG("model %u", bad_model[i]);
	}
	for (i = 0; i < ARRAY_SIZE(bad_rep); i++) {
		ret = dspm_create_full(self->e.ctl, "m", PG, 0644,
				       DSPM_MODEL_MRMW, bad_rep[i], NULL);
		ASSERT_EQ(-EINVAL, ret) TH_LOG("replicas %u", bad_rep[i]);
	}
	ASSERT_EQ(-ENOENT, dspm_find(self->e.ctl, "m", NULL));

	ASSERT_EQ(0, dspm_create_full(self->e.ctl, "m0", PG, 0, DSPM_MODEL_MRSW,
				      DSPM_REPLICAS_MAX, NULL));
	ASSERT_EQ(0, dspm_find(self->e.ctl, "m0", &di));
	ASSERT_EQ(0, di.mode);
	ASSERT_EQ(DSPM_MODEL_MRSW, di.model);
	ASSERT_EQ(DSPM_REPLICAS_MAX, di.replicas);
	ASSERT_EQ(0, dspm_create_full(self->e.ctl, "m1", PG, 0777,
				      DSPM_MODEL_MRMW, 1, NULL));
	ASSERT_EQ(0, dspm_find(self->e.ctl, "m1", &di));
	ASSERT_EQ(0777, di.mode);
	ASSERT_EQ(DSPM_MODEL_MRMW, di.model);
	ASSERT_EQ(1, di.replicas);
}

TEST_F(ctl, create_duplicate)
{
	struct dspm_dataset_info di;
	struct dspm_info a, b;
	__u64 id1, id2;

	ASSERT_EQ(0, dspm_create_full(self->e.ctl, "dup", PG, 0644,
				      DSPM_MODEL_MRMW, 1, &id1));
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &a));
	ASSERT_EQ(-EEXIST, dspm_create(self->e.ctl, "dup", PG, 0644));
	ASSERT_EQ(-EEXIST, dspm_create_full(self->e.ctl, "dup", 100 * PG, 0600,
					    DSPM_MODEL_MRSW, 2, NULL));
	/* Exists beats no space. */
	ASSERT_EQ(-EEXIST, dspm_create(self->e.ctl, "dup", a.free + PG, 0644));
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &b));
	ASSERT_EQ(a.free, b.free);
	ASSERT_EQ(a.datasets, b.datasets);
	ASSERT_EQ(0, dspm_find(self->e.ctl, "dup", &di));
	ASSERT_EQ(id1, di.id);
	ASSERT_EQ(PG, di.length);
	ASSERT_EQ(0644, di.mode);
	ASSERT_EQ(0, dspm_delete(self->e.ctl, "dup"));
	ASSERT_EQ(0, dspm_create_full(self->e.ctl, "dup", 2 * PG, 0644,
				      DSPM_MODEL_MRMW, 1, &id2));
}

TEST_F(ctl, create_ids_unique)
{
	__u64 ids[16];
	char name[DSPM_NAME_MAX];
	struct dspm_dataset_info di;
	int i, j;

	for (i = 0; i < 16; i++) {
		snprintf(name, sizeof(name), "id%d", i);
		ASSERT_EQ(0, dspm_create_full(self->e.ctl, name, PG, 0644,
					      DSPM_MODEL_MRMW, 1, &ids[i]));
		ASSERT_EQ(0, dspm_find(self->e.ctl, name, &di));
		ASSERT_EQ(ids[i], di.id);
		for (j = 0; j < i; j++)
			ASSERT_NE(ids[j], ids[i]);
	}
}

TEST_F(ctl, create_reuse_struct)
{
	struct dspm_create c = {
		.size = sizeof(c), .length = PG, .mode = 0644, .replicas = 1,
	};
	__u64 first;

	name_set(c.name, "r1");
	ASSERT_EQ(0, dspm_ioctl(self->e.ctl, DSPM_IOC_CREATE, &c));
	first = c.id;
	/* c.id is set now; it is an output and must not be rejected. */
	name_set(c.name, "r2");
	ASSERT_EQ(0, dspm_ioctl(self->e.ctl, DSPM_IOC_CREATE, &c));
	ASSERT_NE(first, c.id);
	ASSERT_EQ(sizeof(c), c.size);
}

struct owner_arg {
	int how;	/* 0: setfsuid/setfsgid only, 1: setresuid */
	uid_t uid;
	gid_t gid;
	const char *name;
	__u32 mode;
};

static int child_create_as(void *arg)
{
	struct owner_arg *a = arg;
	gid_t dev = DEVICE_GID;
	int ctl, ret;

	if (a->how == 0) {
		/* in the device's group, as every user of it is */
		if (!CHILD_CHECK(setgroups(1, &dev) == 0, "setgroups"))
			return 1;
		setfsgid(a->gid);
		setfsuid(a->uid);
		if (!CHILD_CHECK(setfsuid(-1) == (int)a->uid, "setfsuid"))
			return 1;
	} else {
		if (!CHILD_CHECK(drop_to_user(a->uid, a->gid) == 0, "drop"))
			return 1;
	}
	ctl = open(DSPM_DEVICE_PATH, O_RDWR);
	if (!CHILD_CHECK(ctl >= 0, "open: %s", strerror(errno)))
		return 1;
	ret = dspm_create(ctl, a->name, PG, a->mode);
	if (!CHILD_CHECK(ret == 0, "CREATE as %u: %s", a->uid, strerror(-ret)))
		return 1;
	return 0;
}

TEST_F(ctl, create_owner_is_fsuid)
{
	struct owner_arg a1 = { 0, 1234, 4321, "fsid", 0640 };
	struct owner_arg a2 = { 1, NOBODY, NOBODY, "nobody", 0600 };
	struct dspm_dataset_info di;

	ASSERT_EQ(0, run_child(child_create_as, &a1));
	ASSERT_EQ(0, dspm_find(self->e.ctl, "fsid", &di));
	ASSERT_EQ(1234, di.uid);
	ASSERT_EQ(4321, di.gid);
	ASSERT_EQ(0640, di.mode);
	ASSERT_EQ(0, run_child(child_create_as, &a2));
	ASSERT_EQ(0, dspm_find(self->e.ctl, "nobody", &di));
	ASSERT_EQ(NOBODY, di.uid);
	ASSERT_EQ(NOBODY, di.gid);
	ASSERT_EQ(0, dspm_create(self->e.ctl, "root", PG, 0644));
	ASSERT_EQ(0, dspm_find(self->e.ctl, "root", &di));
	ASSERT_EQ(0, di.uid);
	ASSERT_EQ(0, di.gid);
}

TEST_F_TIMEOUT(ctl, create_table_full, 300)
{
	struct dspm_info info, after;
	char name[DSPM_NAME_MAX];
	__u64 i, n;
	int ret;

	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &info));
	if (info.max_datasets > 4096 || info.max_datasets > info.free / PG)
		SKIP(return, "%llu table slots: too many to fill with %llu free pages",
		     (unsigned long long)info.max_datasets,
		     (unsigned long long)(info.free / PG));
	n = info.max_datasets - info.datasets;
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "t%llu", (unsigned long long)i);
		ret = dspm_create(self->e.ctl, name, 1, 0644);
		ASSERT_EQ(0, ret) TH_LOG("dataset %llu of %llu: %s",
					 (unsigned long long)i,
					 (unsigned long long)n,
					 strerror(-ret));
	}
	ASSERT_EQ(-ENOSPC, dspm_create(self->e.ctl, "onemore", 1, 0644));
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &after));
	ASSERT_EQ(info.max_datasets, after.datasets);
	ASSERT_EQ(0, dspm_delete(self->e.ctl, "t0"));
	ASSERT_EQ(0, dspm_create(self->e.ctl, "onemore", 1, 0644));
}

/* ------------------------------------------------------------------ */
/* OPEN                                                                */

TEST_F(ctl, open_enoent)
{
	ASSERT_EQ(-ENOENT, dspm_open(self->e.ctl, "missing", 0));
	ASSERT_EQ(-ENOENT, dspm_open(self->e.ctl, "missing", DSPM_OPEN_WRITE));
	ASSERT_EQ(0, dspm_create(self->e.ctl, "missin", PG, 0644));
	ASSERT_EQ(-ENOENT, dspm_open(self->e.ctl, "missing", 0));
	ASSERT_EQ(-ENOENT, dspm_open(self->e.ctl, "missin.", 0));
}

TEST_F(ctl, open_cloexec_and_mode)
{
	int a, b, fl;

	env_create(_metadata, &self->e, "cx", PG, 0644);
	a = env_open(_metadata, &self->e, "cx", 0);
	b = env_open(_metadata, &self->e, "cx",
		     DSPM_OPEN_CLOEXEC | DSPM_OPEN_WRITE);
	ASSERT_NE(a, b);
	ASSERT_NE(self->e.ctl, a);
	fl = fcntl(a, F_GETFD);
	ASSERT_EQ(0, fl & FD_CLOEXEC);
	fl = fcntl(b, F_GETFD);
	ASSERT_EQ(FD_CLOEXEC, fl & FD_CLOEXEC);
	ASSERT_EQ(O_RDONLY, fcntl(a, F_GETFL) & O_ACCMODE);
	ASSERT_EQ(O_RDWR, fcntl(b, F_GETFL) & O_ACCMODE);
}

struct perm_case {
	const char *owner;	/* "root" or "nobody": who created it */
	__u32 mode;
	uid_t uid;		/* opener */
	gid_t gid;
	__u32 flags;
	int err;		/* 0 or errno */
	const char *why;
};

static const struct perm_case perm_cases[] = {
	{ "root", 0600, NOBODY, NOBODY, 0, EACCES, "other, no bits" },
	{ "root", 0600, NOBODY, NOBODY, DSPM_OPEN_WRITE, EACCES, "other, no bits" },
	{ "root", 0644, NOBODY, NOBODY, 0, 0, "other r" },
	{ "root", 0644, NOBODY, NOBODY, DSPM_OPEN_WRITE, EACCES, "other r, no w" },
	{ "root", 0666, NOBODY, NOBODY, DSPM_OPEN_WRITE, 0, "other rw" },
	{ "root", 0622, NOBODY, NOBODY, DSPM_OPEN_WRITE, EACCES, "write needs r too" },
	{ "root", 0622, NOBODY, NOBODY, 0, EACCES, "other w only" },
	{ "root", 0640, NOBODY, 0, 0, 0, "group r" },
	{ "root", 0640, NOBODY, 0, DSPM_OPEN_WRITE, EACCES, "group r, no w" },
	{ "root", 0660, NOBODY, 0, DSPM_OPEN_WRITE, 0, "group rw" },
	{ "root", 0640, NOBODY, NOBODY, 0, EACCES, "not in group" },
	{ "root", 0604, NOBODY, 0, 0, EACCES, "group class has no r (other's r ignored)" },
	{ "root", 0444, NOBODY, NOBODY, DSPM_OPEN_WRITE, EACCES, "read-only mode" },
	{ "nobody", 0060, NOBODY, NOBODY, 0, EACCES, "owner class has no r (group's r ignored)" },
	{ "nobody", 0400, NOBODY, NOBODY, 0, 0, "owner r" },
	{ "nobody", 0400, NOBODY, NOBODY, DSPM_OPEN_WRITE, EACCES, "owner r, no w" },
	{ "nobody", 0600, NOBODY, NOBODY, DSPM_OPEN_WRITE, 0, "owner rw" },
	{ "nobody", 0600, 1000, 1000, 0, EACCES, "other user" },
	{ "nobody", 0000, NOBODY, NOBODY, 0, EACCES, "mode 0, owner" },
};

static int child_open_as(void *arg)
{
	const struct perm_case *c = arg;
	int ctl, ret;

	if (!CHILD_CHECK(drop_to_user(c->uid, c->gid) == 0, "drop"))
		return 1;
	ctl = open(DSPM_DEVICE_PATH, O_RDWR);
	if (!CHILD_CHECK(ctl >= 0, "open: %s", strerror(errno)))
		return 1;
	ret = dspm_open(ctl, "perm", c->flags);
	if (ret >= 0)
		close(ret);
	if (!CHILD_CHECK(ret == (c->err ? -c->err : ret) && (c->err || ret >= 0),
			 "owner %s mode %04o uid %u gid %u %s (%s): expected %s, got %s",
			 c->owner, c->mode, c->uid, c->gid,
			 c->flags & DSPM_OPEN_WRITE ? "rw" : "ro", c->why,
			 c->err ? strerror(c->err) : "success",
			 ret >= 0 ? "success" : strerror(-ret)))
		return 1;
	return 0;
}

TEST_F(ctl, open_permissions)
{
	size_t i;
	int fails = 0;

	for (i = 0; i < ARRAY_SIZE(perm_cases); i++) {
		const struct perm_case *c = &perm_cases[i];

		if (!strcmp(c->owner, "root")) {
			ASSERT_EQ(0, dspm_create(self->e.ctl, "perm", PG,
						 c->mode));
		} else {
			struct owner_arg a = { 1, NOBODY, NOBODY, "perm",
					       c->mode };

			ASSERT_EQ(0, run_child(child_create_as, &a));
		}
		if (run_child(child_open_as, (void *)c))
			fails++;
		ASSERT_EQ(0, dspm_delete(self->e.ctl, "perm"));
	}
	ASSERT_EQ(0, fails);
}

TEST_F(ctl, open_root_bypasses_mode)
{
	struct owner_arg a = { 1, NOBODY, NOBODY, "locked", 0 };
	int fd;

	ASSERT_EQ(0, run_child(child_create_as, &a));
	fd = dspm_open(self->e.ctl, "locked", DSPM_OPEN_WRITE);
	ASSERT_LE(0, fd) TH_LOG("root (CAP_DAC_OVERRIDE), mode 0: %s",
				strerror(-fd));
	close(fd);
	ASSERT_EQ(0, dspm_create(self->e.ctl, "rootzero", PG, 0));
	fd = dspm_open(self->e.ctl, "rootzero", DSPM_OPEN_WRITE);
	ASSERT_LE(0, fd);
	close(fd);
}

static int child_open_without_dac(void *arg)
{
	int ctl, ret;

	(void)arg;
	if (!CHILD_CHECK(drop_cap(CAP_DAC_OVERRIDE) == 0, "capset"))
		return 1;
	if (!CHILD_CHECK(drop_cap(CAP_DAC_READ_SEARCH) == 0, "capset"))
		return 1;
	ctl = open(DSPM_DEVICE_PATH, O_RDWR);
	if (!CHILD_CHECK(ctl >= 0, "open: %s", strerror(errno)))
		return 1;
	ret = dspm_open(ctl, "locked", 0);
	if (!CHILD_CHECK(ret == -EACCES, "uid 0 without DAC caps, mode 0: %s",
			 ret >= 0 ? "opened" : strerror(-ret)))
		return 1;
	ret = dspm_open(ctl, "mine", DSPM_OPEN_WRITE);
	if (!CHILD_CHECK(ret >= 0, "uid 0 owner, mode 0600: %s", strerror(-ret)))
		return 1;
	return 0;
}

TEST_F(ctl, open_without_dac_override)
{
	struct owner_arg a = { 1, NOBODY, NOBODY, "locked", 0 };

	ASSERT_EQ(0, run_child(child_create_as, &a));
	ASSERT_EQ(0, dspm_create(self->e.ctl, "mine", PG, 0600));
	ASSERT_EQ(0, run_child(child_open_without_dac, NULL));
}

/* ------------------------------------------------------------------ */
/* DELETE                                                              */

TEST_F(ctl, delete_enoent)
{
	ASSERT_EQ(-ENOENT, dspm_delete(self->e.ctl, "missing"));
	ASSERT_EQ(0, dspm_create(self->e.ctl, "x", PG, 0644));
	ASSERT_EQ(0, dspm_delete(self->e.ctl, "x"));
	ASSERT_EQ(-ENOENT, dspm_delete(self->e.ctl, "x"));
	ASSERT_EQ(-ENOENT, dspm_open(self->e.ctl, "x", 0));
}

struct del_arg {
	int how;	/* 0: nobody, 1: uid 0 without CAP_SYS_ADMIN */
	const char *name;
	int err;
};

static int child_delete(void *arg)
{
	struct del_arg *a = arg;
	int ctl, ret;

	if (a->how == 0) {
		if (!CHILD_CHECK(drop_to_user(NOBODY, NOBODY) == 0, "drop"))
			return 1;
	} else {
		if (!CHILD_CHECK(drop_cap(CAP_SYS_ADMIN) == 0, "capset"))
			return 1;
	}
	ctl = open(DSPM_DEVICE_PATH, O_RDWR);
	if (!CHILD_CHECK(ctl >= 0, "open: %s", strerror(errno)))
		return 1;
	ret = dspm_delete(ctl, a->name);
	if (!CHILD_CHECK(ret == -a->err, "DELETE %s (%s): expected %s, got %s",
			 a->name, a->how ? "uid 0, no CAP_SYS_ADMIN" : "nobody",
			 a->err ? strerror(a->err) : "success",
			 ret ? strerror(-ret) : "success"))
		return 1;
	return 0;
}

TEST_F(ctl, delete_permissions)
{
	struct owner_arg own = { 1, NOBODY, NOBODY, "theirs", 0666 };
	struct del_arg d;

	ASSERT_EQ(0, dspm_create(self->e.ctl, "roots", PG, 0666));
	ASSERT_EQ(0, run_child(child_create_as, &own));

	/* Not the owner, no CAP_SYS_ADMIN: EACCES even with mode 0666. */
	d = (struct del_arg){ 0, "roots", EACCES };
	ASSERT_EQ(0, run_child(child_delete, &d));
	d = (struct del_arg){ 1, "theirs", EACCES };
	ASSERT_EQ(0, run_child(child_delete, &d));
	ASSERT_EQ(0, dspm_find(self->e.ctl, "roots", NULL));
	ASSERT_EQ(0, dspm_find(self->e.ctl, "theirs", NULL));
	/* Unknown names stay ENOENT for them. */
	d = (struct del_arg){ 0, "nothing", ENOENT };
	ASSERT_EQ(0, run_child(child_delete, &d));

	/* The owner may, CAP_SYS_ADMIN may. */
	d = (struct del_arg){ 0, "theirs", 0 };
	ASSERT_EQ(0, run_child(child_delete, &d));
	ASSERT_EQ(-ENOENT, dspm_find(self->e.ctl, "theirs", NULL));
	ASSERT_EQ(0, run_child(child_create_as, &own));
	ASSERT_EQ(0, dspm_delete(self->e.ctl, "theirs"));
	/* uid 0 owns "roots": the owner needs no capability. */
	d = (struct del_arg){ 1, "roots", 0 };
	ASSERT_EQ(0, run_child(child_delete, &d));
}

TEST_F(ctl, delete_busy)
{
	struct dspm_info a, b;
	unsigned char *m;
	int fd, fd2;
	struct chan c;
	__u64 v;
	pid_t pid;

	env_create(_metadata, &self->e, "busy", 2 * PG, 0644);
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &a));

	/* An open read-only fd. */
	fd = env_open(_metadata, &self->e, "busy", 0);
	ASSERT_EQ(-EBUSY, dspm_delete(self->e.ctl, "busy"));
	/* A dup keeps it busy after the original is closed. */
	fd2 = dup(fd);
	env_close(&self->e, fd);
	ASSERT_EQ(-EBUSY, dspm_delete(self->e.ctl, "busy"));
	close(fd2);

	/* Only a mapping left. */
	fd = env_open(_metadata, &self->e, "busy", DSPM_OPEN_WRITE);
	m = env_map(_metadata, &self->e, fd, 2 * PG, PROT_READ | PROT_WRITE);
	env_close(&self->e, fd);
	ASSERT_EQ(-EBUSY, dspm_delete(self->e.ctl, "busy"));
	WRITE_ONCE(m[PG], 7);
	ASSERT_EQ(7, READ_ONCE(m[PG]));
	env_unmap(&self->e, (void *)m);

	/* An fd in another process. */
	ASSERT_EQ(0, chan_init(&c));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int cfd = dspm_open(self->e.ctl, "busy", 0);

		chan_put(c.to_parent[1], cfd >= 0 ? 0 : -cfd);
		chan_get(c.to_child[0], &v);
		_exit(0);
	}
	env_track_kid(&self->e, pid);
	ASSERT_EQ(0, chan_get(c.to_parent[0], &v));
	ASSERT_EQ(0, v);
	ASSERT_EQ(-EBUSY, dspm_delete(self->e.ctl, "busy"));
	chan_put(c.to_child[1], 0);
	ASSERT_EQ(0, env_wait(&self->e, pid));
	chan_close(&c);

	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &b));
	ASSERT_EQ(a.free, b.free);
	ASSERT_EQ(a.datasets, b.datasets);
	ASSERT_EQ(0, dspm_delete(self->e.ctl, "busy"));
}

/* ------------------------------------------------------------------ */
/* LIST                                                                */

TEST_F(ctl, list_entry_size)
{
	static union { struct dspm_dataset_info e[4]; unsigned char b[3 * 4096]; } u;
	const __u32 bad[] = { 0, 1, 8, DSPM_DATASET_INFO_SIZE_VER0 - 8,
			      DSPM_DATASET_INFO_SIZE_VER0 - 1, 4097, 8192,
			      ~0U };
	struct dspm_list l;
	size_t i;
	int ret;

	ASSERT_EQ(0, dspm_create(self->e.ctl, "one", PG, 0644));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&l, 0, sizeof(l));
		l.size = sizeof(l);
		l.entries = (uintptr_t)u.b;
		l.entry_size = bad[i];
		l.capacity = 1;
		ret = dspm_ioctl(self->e.ctl, DSPM_IOC_LIST, &l);
		ASSERT_EQ(-EINVAL, ret) TH_LOG("entry_size %u", bad[i]);
	}
	/* 4096 is the largest valid entry size. */
	memset(u.b, 0xa5, sizeof(u.b));
	memset(&l, 0, sizeof(l));
	l.size = sizeof(l);
	l.entries = (uintptr_t)u.b;
	l.entry_size = 4096;
	l.capacity = 2;
	ASSERT_EQ(0, dspm_ioctl(self->e.ctl, DSPM_IOC_LIST, &l));
	ASSERT_EQ(1, l.count);
	ASSERT_EQ(1, l.total);
	ASSERT_EQ(DSPM_DATASET_INFO_SIZE_VER0, u.e[0].size);
	ASSERT_EQ(0, strcmp(u.e[0].name, "one"));
	/* The record's bytes beyond the kernel's struct are zeroed... */
	ASSERT_TRUE(all_bytes(u.b + DSPM_DATASET_INFO_SIZE_VER0, 0,
			      4096 - DSPM_DATASET_INFO_SIZE_VER0));
	/* ...and nothing past count records is touched. */
	ASSERT_TRUE(all_bytes(u.b + 4096, 0xa5, sizeof(u.b) - 4096));
}

TEST_F(ctl, list_empty_and_count_only)
{
	struct dspm_dataset_info e[2];
	__u32 count = 99, total = 99;

	ASSERT_EQ(0, dspm_list(self->e.ctl, e, 2, &count, &total));
	ASSERT_EQ(0, count);
	ASSERT_EQ(0, total);
	ASSERT_EQ(0, dspm_create(self->e.ctl, "a", PG, 0644));
	ASSERT_EQ(0, dspm_create(self->e.ctl, "b", PG, 0644));
	ASSERT_EQ(0, dspm_create(self->e.ctl, "c", PG, 0644));
	/* capacity 0: just count; entries is not touched (NULL is fine). */
	ASSERT_EQ(0, dspm_list(self->e.ctl, NULL, 0, &count, &total));
	ASSERT_EQ(0, count);
	ASSERT_EQ(3, total);
}

#define LIST_N 5
TEST_F(ctl, list_short_capacity_canary)
{
	static union {
		struct dspm_dataset_info e[LIST_N + 2];
		unsigned char b[(LIST_N + 2) * sizeof(struct dspm_dataset_info)];
	} u;
	const size_t esz = sizeof(struct dspm_dataset_info);
	bool seen[LIST_N] = { false };
	__u32 count, total, i;
	char name[8];
	int k;

	for (k = 0; k < LIST_N; k++) {
		snprintf(name, sizeof(name), "l%d", k);
		ASSERT_EQ(0, dspm_create(self->e.ctl, name, (k + 1) * PG, 0644));
	}
	memset(u.b, 0xa5, sizeof(u.b));
	ASSERT_EQ(0, dspm_list(self->e.ctl, u.e, 3, &count, &total));
	ASSERT_EQ(3, count);
	ASSERT_EQ(LIST_N, total);
	for (i = 0; i < count; i++) {
		ASSERT_EQ(esz, u.e[i].size);
		ASSERT_EQ('l', u.e[i].name[0]);
		k = u.e[i].name[1] - '0';
		ASSERT_TRUE(k >= 0 && k < LIST_N);
		ASSERT_EQ(0, u.e[i].name[2]);
		ASSERT_FALSE(seen[k]);
		seen[k] = true;
		ASSERT_EQ((__u64)(k + 1) * PG, u.e[i].length);
	}
	ASSERT_TRUE(all_bytes(u.b + 3 * esz, 0xa5, sizeof(u.b) - 3 * esz))
		TH_LOG("LIST wrote past capacity");

	/* capacity > total: only total entries written. */
	memset(u.b, 0xa5, sizeof(u.b));
	ASSERT_EQ(0, dspm_list(self->e.ctl, u.e, LIST_N + 2, &count, &total));
	ASSERT_EQ(LIST_N, count);
	ASSERT_EQ(LIST_N, total);
	ASSERT_TRUE(all_bytes(u.b + LIST_N * esz, 0xa5, 2 * esz));
}

/*
 * entry_size larger than the kernel's entry: the stride is honoured, each
 * record's tail is zeroed (Documentation/abi.md), nothing past count records
 * is written.
 */
TEST_F(ctl, list_larger_entry_size)
{
	static unsigned char b[8 * 256];
	const __u32 esz = 256;
	struct dspm_list l;
	__u32 i;

	ASSERT_EQ(0, dspm_create(self->e.ctl, "x0", PG, 0644));
	ASSERT_EQ(0, dspm_create(self->e.ctl, "x1", PG, 0644));
	ASSERT_EQ(0, dspm_create(self->e.ctl, "x2", PG, 0644));
	memset(b, 0xa5, sizeof(b));
	memset(&l, 0, sizeof(l));
	l.size = sizeof(l);
	l.entries = (uintptr_t)b;
	l.entry_size = esz;
	l.capacity = 8;
	ASSERT_EQ(0, dspm_ioctl(self->e.ctl, DSPM_IOC_LIST, &l));
	ASSERT_EQ(3, l.count);
	ASSERT_EQ(3, l.total);
	for (i = 0; i < 3; i++) {
		struct dspm_dataset_info *e = (void *)(b + i * esz);

		ASSERT_EQ(DSPM_DATASET_INFO_SIZE_VER0, e->size);
		ASSERT_EQ('x', e->name[0]);
		ASSERT_EQ(PG, e->length);
		ASSERT_TRUE(all_bytes(b + i * esz + DSPM_DATASET_INFO_SIZE_VER0,
				      0, esz - DSPM_DATASET_INFO_SIZE_VER0))
			TH_LOG("entry %u: tail beyond the kernel's record not zeroed", i);
	}
	ASSERT_TRUE(all_bytes(b + 3 * esz, 0xa5, 5 * esz));
}

TEST_F(ctl, list_entries_fault)
{
	unsigned char *pages;
	struct dspm_list l;
	int ret;

	ASSERT_EQ(0, dspm_create(self->e.ctl, "f0", PG, 0644));
	ASSERT_EQ(0, dspm_create(self->e.ctl, "f1", PG, 0644));
	memset(&l, 0, sizeof(l));
	l.size = sizeof(l);
	l.entry_size = sizeof(struct dspm_dataset_info);
	l.capacity = 2;
	l.entries = 0;
	ASSERT_EQ(-EFAULT, dspm_ioctl(self->e.ctl, DSPM_IOC_LIST, &l));
	l.entries = 0xffff888000000000ULL;
	ASSERT_EQ(-EFAULT, dspm_ioctl(self->e.ctl, DSPM_IOC_LIST, &l));

	pages = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, pages);
	/* Read-only array. */
	ASSERT_EQ(0, mprotect(pages, 2 * PG, PROT_READ));
	l.entries = (uintptr_t)pages;
	ret = dspm_ioctl(self->e.ctl, DSPM_IOC_LIST, &l);
	ASSERT_EQ(-EFAULT, ret);
	/* First entry fits, the second runs into a PROT_NONE page. */
	ASSERT_EQ(0, mprotect(pages, PG, PROT_READ | PROT_WRITE));
	ASSERT_EQ(0, mprotect(pages + PG, PG, PROT_NONE));
	l.entries = (uintptr_t)(pages + PG - sizeof(struct dspm_dataset_info) - 8);
	ret = dspm_ioctl(self->e.ctl, DSPM_IOC_LIST, &l);
	ASSERT_EQ(-EFAULT, ret);
	munmap(pages, 2 * PG);
}

TEST_F(ctl, list_reuse_struct)
{
	struct dspm_dataset_info e[4];
	struct dspm_list l = {
		.size = sizeof(l), .entries = (uintptr_t)e,
		.entry_size = sizeof(e[0]), .capacity = 4,
	};

	ASSERT_EQ(0, dspm_create(self->e.ctl, "r", PG, 0644));
	ASSERT_EQ(0, dspm_ioctl(self->e.ctl, DSPM_IOC_LIST, &l));
	ASSERT_EQ(1, l.count);
	ASSERT_EQ(0, dspm_create(self->e.ctl, "s", PG, 0644));
	/* count and total are outputs: reusing the struct works. */
	ASSERT_EQ(0, dspm_ioctl(self->e.ctl, DSPM_IOC_LIST, &l));
	ASSERT_EQ(2, l.count);
	ASSERT_EQ(2, l.total);
}

/* ------------------------------------------------------------------ */
/* Unknown ioctls                                                      */

static const unsigned long ctl_unknown[] = {
	_IO(DSPM_IOC_MAGIC, 0x0b), _IO(DSPM_IOC_MAGIC, 0x0c),
	_IO(DSPM_IOC_MAGIC, 0x1f), _IO(DSPM_IOC_MAGIC, 0x20),
	_IO(DSPM_IOC_MAGIC, 0x21), _IO(DSPM_IOC_MAGIC, 0x22),
	_IO(DSPM_IOC_MAGIC, 0x3f), _IO(DSPM_IOC_MAGIC, 0x40),
	_IO(DSPM_IOC_MAGIC, 0xff),
	_IOWR(DSPM_IOC_MAGIC, 0x00, struct dspm_info),
	_IOR(DSPM_IOC_MAGIC, 0x00, struct dspm_info),
	_IOW(DSPM_IOC_MAGIC, 0x03, struct dspm_create),
	_IOWR(DSPM_IOC_MAGIC, 0x06, struct dspm_list),
	_IO(DSPM_IOC_MAGIC - 1, 0x00), _IO(DSPM_IOC_MAGIC + 1, 0x03),
	_IO('Z', 0), 0, 0xffffffff,
};

static const unsigned long ds_unknown[] = {
	_IO(DSPM_IOC_MAGIC, 0x00), _IO(DSPM_IOC_MAGIC, 0x01),
	_IO(DSPM_IOC_MAGIC, 0x02), _IO(DSPM_IOC_MAGIC, 0x03),
	_IO(DSPM_IOC_MAGIC, 0x04), _IO(DSPM_IOC_MAGIC, 0x05),
	_IO(DSPM_IOC_MAGIC, 0x06), _IO(DSPM_IOC_MAGIC, 0x1f),
	_IO(DSPM_IOC_MAGIC, 0x27), _IO(DSPM_IOC_MAGIC, 0x3f),
	_IO(DSPM_IOC_MAGIC, 0x40), _IO(DSPM_IOC_MAGIC, 0xff),
	_IOWR(DSPM_IOC_MAGIC, 0x20, struct dspm_commit),
	_IOWR(DSPM_IOC_MAGIC, 0x22, struct dspm_stat),
	_IO(DSPM_IOC_MAGIC + 1, 0x20), _IO('Z', 0x20), 0, 0xffffffff,
};

static void expect_enotty(struct __test_metadata *_metadata, int fd,
			  const unsigned long *cmds, size_t n)
{
	static union { unsigned char b[4096]; __u64 a; } u;
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		memset(u.b, 0, sizeof(u.b));
		*(__u32 *)u.b = 168;
		ret = dspm_ioctl(fd, cmds[i], u.b);
		if (ret >= 0 && ret != fd)
			close(ret);
		EXPECT_EQ(-ENOTTY, ret)
			TH_LOG("cmd %#lx: %s", cmds[i],
			       ret >= 0 ? "accepted" : strerror(-ret));
		ret = dspm_ioctl(fd, cmds[i], NULL);
		EXPECT_EQ(-ENOTTY, ret)
			TH_LOG("cmd %#lx, NULL arg: %s", cmds[i],
			       ret >= 0 ? "accepted" : strerror(-ret));
	}
}

TEST_F(ctl, unknown_ioctl_control_fd)
{
	struct dspm_info before, after;

	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &before));
	expect_enotty(_metadata, self->e.ctl, ctl_unknown,
		      ARRAY_SIZE(ctl_unknown));
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &after));
	ASSERT_EQ(before.datasets, after.datasets);
	ASSERT_EQ(before.flags, after.flags);
	/* Detached too. */
	ASSERT_EQ(0, dspm_detach(self->e.ctl));
	expect_enotty(_metadata, self->e.ctl, ctl_unknown,
		      ARRAY_SIZE(ctl_unknown));
}

TEST_F(ctl, unknown_ioctl_dataset_fd)
{
	struct dspm_stat st;
	int rw, ro;

	env_create(_metadata, &self->e, "u", PG, 0644);
	rw = env_open(_metadata, &self->e, "u", DSPM_OPEN_WRITE);
	ro = env_open(_metadata, &self->e, "u", 0);
	expect_enotty(_metadata, rw, ds_unknown,
		      ARRAY_SIZE(ds_unknown));
	expect_enotty(_metadata, ro, ds_unknown,
		      ARRAY_SIZE(ds_unknown));
	ASSERT_EQ(0, dspm_stat(rw, &st));
	ASSERT_EQ(2, st.open_count);
	ASSERT_EQ(0, dspm_find(self->e.ctl, "u", NULL));
}

/* ================================================================== */
/* Dataset fd: mmap                                                    */

TEST_F(ctl, mmap_private_rejected)
{
	void *p;
	int rw, ro;

	env_create(_metadata, &self->e, "mp", 2 * PG, 0644);
	rw = env_open(_metadata, &self->e, "mp", DSPM_OPEN_WRITE);
	ro = env_open(_metadata, &self->e, "mp", 0);
	p = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, rw, 0);
	ASSERT_EQ(MAP_FAILED, p);
	ASSERT_EQ(EINVAL, errno);
	p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, rw, 0);
	ASSERT_EQ(MAP_FAILED, p);
	ASSERT_EQ(EINVAL, errno);
	p = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, ro, 0);
	ASSERT_EQ(MAP_FAILED, p);
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(ctl, mmap_bounds)
{
	const struct { size_t len; off_t off; int err; } c[] = {
		{ 4 * PG, 0, EINVAL },		/* longer than 3 pages */
		{ PG, 3 * PG, EINVAL },		/* starts at the end */
		{ 2 * PG, 2 * PG, EINVAL },	/* runs past the end */
		{ PG, 100 * PG, EINVAL },
		{ PG, (off_t)1 << 40, EINVAL },
		{ 3 * PG, 0, 0 },
		{ PG, 2 * PG, 0 },		/* the last page alone */
		{ 2 * PG, PG, 0 },
	};
	size_t i;
	void *p;
	int fd;

	env_create(_metadata, &self->e, "mb", 3 * PG, 0644);
	fd = env_open(_metadata, &self->e, "mb", DSPM_OPEN_WRITE);
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		p = mmap(NULL, c[i].len, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd, c[i].off);
		if (c[i].err) {
			ASSERT_EQ(MAP_FAILED, p)
				TH_LOG("len %zu off %lld mapped", c[i].len,
				       (long long)c[i].off);
			ASSERT_EQ(c[i].err, errno)
				TH_LOG("len %zu off %lld: %s", c[i].len,
				       (long long)c[i].off, strerror(errno));
		} else {
			ASSERT_NE(MAP_FAILED, p)
				TH_LOG("len %zu off %lld: %s", c[i].len,
				       (long long)c[i].off, strerror(errno));
			ASSERT_TRUE(all_bytes(p, 0, c[i].len));
			munmap(p, c[i].len);
		}
	}
}

/* A length that is not a multiple of the page: the last page maps whole. */
TEST_F(ctl, mmap_partial_last_page)
{
	unsigned char *p;
	void *q;
	int fd;

	env_create(_metadata, &self->e, "odd", 5000, 0644);
	fd = env_open(_metadata, &self->e, "odd", DSPM_OPEN_WRITE);
	p = env_map(_metadata, &self->e, fd, 2 * PG, PROT_READ | PROT_WRITE);
	ASSERT_TRUE(all_bytes(p, 0, 2 * PG));
	q = mmap(NULL, 3 * PG, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_EQ(MAP_FAILED, q);
	ASSERT_EQ(EINVAL, errno);
	/* Commit ranges are checked against the byte length. */
	p[4999] = 1;
	ASSERT_EQ(0, dspm_commit_range(fd, 4999, 1, NULL));
	ASSERT_EQ(-EINVAL, dspm_commit_range(fd, 4999, 2, NULL));
	ASSERT_EQ(-EINVAL, dspm_commit_range(fd, 5000, 1, NULL));
}

TEST_F(ctl, mmap_write_on_read_only_fd)
{
	void *p;
	int ro;

	env_create(_metadata, &self->e, "ro", 2 * PG, 0666);
	ro = env_open(_metadata, &self->e, "ro", 0);
	p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
	ASSERT_EQ(MAP_FAILED, p);
	ASSERT_EQ(EACCES, errno);
	p = mmap(NULL, PG, PROT_WRITE, MAP_SHARED, ro, 0);
	ASSERT_EQ(MAP_FAILED, p);
	ASSERT_EQ(EACCES, errno);
	p = env_map(_metadata, &self->e, ro, 2 * PG, PROT_READ);
	ASSERT_EQ(-1, mprotect(p, PG, PROT_READ | PROT_WRITE));
	ASSERT_EQ(EACCES, errno);
	ASSERT_TRUE(all_bytes(p, 0, 2 * PG));
}

/* A read-only mapping faults on a store: SIGSEGV, nothing becomes dirty. */
TEST_F(ctl, store_to_read_only_mapping)
{
	struct dspm_stat st;
	unsigned char *p;
	pid_t pid;
	int fd;

	env_create(_metadata, &self->e, "rom", PG, 0666);
	fd = env_open(_metadata, &self->e, "rom", DSPM_OPEN_WRITE);
	p = env_map(_metadata, &self->e, fd, PG, PROT_READ);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		WRITE_ONCE(p[0], 1);
		_exit(0);
	}
	ASSERT_EQ(128 + SIGSEGV, wait_status(pid));
	ASSERT_EQ(0, dspm_stat(fd, &st));
	ASSERT_EQ(0, st.dirty_pages);
	ASSERT_EQ(0, READ_ONCE(p[0]));
}

static int child_touch(void *arg)
{
	unsigned char *p = arg;

	return READ_ONCE(p[0]);
}

TEST_F(ctl, mremap_cannot_grow)
{
	unsigned char *res, *p, *q;
	int fd;

	env_create(_metadata, &self->e, "mr", 8 * PG, 0644);
	fd = env_open(_metadata, &self->e, "mr", DSPM_OPEN_WRITE);

	/* Reserve 4 pages, map the dataset's first 3 there: page 4 is free VA. */
	res = mmap(NULL, 4 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, res);
	p = mmap(res, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 fd, 5 * PG);
	ASSERT_EQ(res, p);
	ASSERT_EQ(0, munmap(res + 3 * PG, PG));
	p[0] = 1;

	/* Growing it would reach past the dataset's end (8 pages). */
	q = mremap(p, 3 * PG, 4 * PG, 0);
	if (q != MAP_FAILED) {
		int st = run_child(child_touch, q + 3 * PG);

		TH_LOG("mremap grew the mapping; access past the end: %s",
		       st == 128 + SIGBUS ? "SIGBUS" : "no SIGBUS");
	}
	ASSERT_EQ(MAP_FAILED, q) TH_LOG("mremap in place grew the mapping");
	q = mremap(p, 3 * PG, 4 * PG, MREMAP_MAYMOVE);
	if (q != MAP_FAILED) {
		int st = run_child(child_touch, q + 3 * PG);

		TH_LOG("mremap grew the mapping; access past the end: %s",
		       st == 128 + SIGBUS ? "SIGBUS" : "no SIGBUS");
	}
	ASSERT_EQ(MAP_FAILED, q) TH_LOG("mremap MAYMOVE grew the mapping");
	/* The original mapping is intact. */
	ASSERT_EQ(1, p[0]);
	munmap(p, 3 * PG);
}

/* ================================================================== */
/* Dataset fd: COMMIT / ABORT arguments                                */

struct range_case {
	__u64 off, len;
	const char *why;
};

/* Dataset of 4 pages + 100 bytes. */
#define RDS_LEN (4 * PG + 100)
static const struct range_case bad_ranges[] = {
	{ 0, 0, "length 0" },
	{ PG, 0, "length 0 inside" },
	{ RDS_LEN, 1, "starts at the end" },
	{ RDS_LEN - 1, 2, "one byte past the end" },
	{ 0, RDS_LEN + 1, "whole + 1" },
	{ RDS_LEN, PG - 100, "the page-rounded tail" },
	{ 1ULL << 40, PG, "far away" },
	{ ~0ULL, 1, "offset ~0" },
	{ ~0ULL - PG + 1, PG, "offset + length == 2^64" },
	{ PG, ~0ULL, "length ~0" },
	{ PG, ~0ULL - PG + 2, "offset + length wraps to 1" },
	{ 0x8000000000000000ULL, 0x8000000000000000ULL, "sum wraps to 0" },
};

static int rds_open(struct __test_metadata *_metadata, struct dspm_env *e,
		    unsigned char **map)
{
	int fd;

	env_create(_metadata, e, "rds", RDS_LEN, 0644);
	fd = env_open(_metadata, e, "rds", DSPM_OPEN_WRITE);
	*map = env_map(_metadata, e, fd, 5 * PG, PROT_READ | PROT_WRITE);
	return fd;
}

TEST_F(ctl, commit_bad_ranges)
{
	struct dspm_stat st0, st;
	struct dspm_range r[2];
	unsigned char *m;
	size_t i;
	int fd, ret;

	fd = rds_open(_metadata, &self->e, &m);
	memset(m, 0x11, RDS_LEN);
	ASSERT_EQ(0, dspm_stat(fd, &st0));
	ASSERT_EQ(5, st0.dirty_pages);
	for (i = 0; i < ARRAY_SIZE(bad_ranges); i++) {
		r[0] = (struct dspm_range){ bad_ranges[i].off, bad_ranges[i].len };
		ret = dspm_commit(fd, r, 1, NULL);
		ASSERT_EQ(-EINVAL, ret)
			TH_LOG("COMMIT range %s: %s", bad_ranges[i].why,
			       ret ? strerror(-ret) : "committed");
		/* A valid range first changes nothing: all or none. */
		r[0] = (struct dspm_range){ 0, PG };
		r[1] = (struct dspm_range){ bad_ranges[i].off, bad_ranges[i].len };
		ret = dspm_commit(fd, r, 2, NULL);
		ASSERT_EQ(-EINVAL, ret)
			TH_LOG("COMMIT valid + %s: %s", bad_ranges[i].why,
			       ret ? strerror(-ret) : "committed");
		ASSERT_EQ(0, dspm_stat(fd, &st));
		ASSERT_EQ(st0.version, st.version);
		ASSERT_EQ(st0.dirty_pages, st.dirty_pages);
	}
}

TEST_F(ctl, abort_bad_ranges)
{
	struct dspm_stat st;
	struct dspm_range r[2];
	unsigned char *m;
	size_t i;
	int fd, ret;

	fd = rds_open(_metadata, &self->e, &m);
	memset(m, 0x11, RDS_LEN);
	for (i = 0; i < ARRAY_SIZE(bad_ranges); i++) {
		r[0] = (struct dspm_range){ 0, PG };
		r[1] = (struct dspm_range){ bad_ranges[i].off, bad_ranges[i].len };
		ret = dspm_abort(fd, r + 1, 1, NULL);
		ASSERT_EQ(-EINVAL, ret)
			TH_LOG("ABORT range %s: %s", bad_ranges[i].why,
			       ret ? strerror(-ret) : "aborted");
		ret = dspm_abort(fd, r, 2, NULL);
		ASSERT_EQ(-EINVAL, ret)
			TH_LOG("ABORT valid + %s: %s", bad_ranges[i].why,
			       ret ? strerror(-ret) : "aborted");
		ASSERT_EQ(0, dspm_stat(fd, &st));
		ASSERT_EQ(5, st.dirty_pages);
	}
	ASSERT_EQ(0x11, m[0]);
}

TEST_F(ctl, commit_range_count_limits)
{
	struct dspm_range *r;
	struct dspm_commit out;
	struct dspm_stat st;
	unsigned char *m;
	__u64 pages;
	int fd, i;

	fd = rds_open(_metadata, &self->e, &m);
	r = calloc(DSPM_RANGES_MAX + 1, sizeof(*r));
	ASSERT_NE(NULL, r);
	for (i = 0; i <= DSPM_RANGES_MAX; i++)
		r[i] = (struct dspm_range){ (__u64)i * 4, 4 };
	memset(m, 0x22, 8192);
	ASSERT_EQ(-EINVAL, dspm_commit(fd, r, DSPM_RANGES_MAX + 1, NULL));
	ASSERT_EQ(-EINVAL, dspm_commit(fd, r, ~0U, NULL));
	ASSERT_EQ(-EINVAL, dspm_abort(fd, r, DSPM_RANGES_MAX + 1, NULL));
	ASSERT_EQ(-EINVAL, dspm_abort(fd, r, ~0U, NULL));
	ASSERT_EQ(0, dspm_stat(fd, &st));
	ASSERT_EQ(0, st.version);
	ASSERT_EQ(2, st.dirty_pages);
	/* Exactly the maximum: 1024 ranges of 4 bytes cover [0, 4096). */
	ASSERT_EQ(0, dspm_commit(fd, r, DSPM_RANGES_MAX, &out));
	ASSERT_EQ(1, out.pages);
	ASSERT_EQ(1, out.version);
	ASSERT_EQ(0, dspm_stat(fd, &st));
	ASSERT_EQ(1, st.dirty_pages);
	for (i = 0; i < DSPM_RANGES_MAX; i++)
		r[i].offset += PG;
	ASSERT_EQ(0, dspm_abort(fd, r, DSPM_RANGES_MAX, &pages));
	ASSERT_EQ(1, pages);
	ASSERT_EQ(0, dspm_stat(fd, &st));
	ASSERT_EQ(0, st.dirty_pages);
	free(r);
}

TEST_F(ctl, commit_ranges_fault)
{
	const uintptr_t bad[] = { 0, 1, 0xffff888000000000ULL,
				  0xffffffff81000000ULL, 0x8000000000000000ULL };
	struct dspm_range *r;
	struct dspm_stat st;
	unsigned char *m, *pages;
	size_t i;
	int fd, ret;

	fd = rds_open(_metadata, &self->e, &m);
	m[0] = 1;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ret = dspm_commit(fd, (void *)bad[i], 1, NULL);
		ASSERT_EQ(-EFAULT, ret)
			TH_LOG("COMMIT ranges %#lx: %s", (unsigned long)bad[i],
			       strerror(-ret));
		ret = dspm_abort(fd, (void *)bad[i], 1, NULL);
		ASSERT_EQ(-EFAULT, ret)
			TH_LOG("ABORT ranges %#lx: %s", (unsigned long)bad[i],
			       strerror(-ret));
	}
	/* The array's second element in a PROT_NONE page. */
	pages = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, pages);
	ASSERT_EQ(0, mprotect(pages + PG, PG, PROT_NONE));
	r = (struct dspm_range *)(pages + PG - sizeof(*r));
	r[0] = (struct dspm_range){ 0, 1 };
	ASSERT_EQ(-EFAULT, dspm_commit(fd, r, 2, NULL));
	ASSERT_EQ(-EFAULT, dspm_abort(fd, r, 2, NULL));
	ASSERT_EQ(0, dspm_stat(fd, &st));
	ASSERT_EQ(0, st.version);
	ASSERT_EQ(1, st.dirty_pages);
	ASSERT_EQ(0, dspm_commit(fd, NULL, 0, NULL));
	ASSERT_EQ(0, dspm_stat(fd, &st));
	ASSERT_EQ(1, st.version);
	ASSERT_EQ(0, st.dirty_pages);
	munmap(pages, 2 * PG);
}

TEST_F(ctl, commit_abort_read_only_fd)
{
	struct dspm_range r = { 0, PG };
	struct dspm_stat st;
	int ro;

	env_create(_metadata, &self->e, "ro", PG, 0666);
	ro = env_open(_metadata, &self->e, "ro", 0);
	ASSERT_EQ(-EBADF, dspm_commit(ro, NULL, 0, NULL));
	ASSERT_EQ(-EBADF, dspm_commit(ro, &r, 1, NULL));
	ASSERT_EQ(-EBADF, dspm_abort(ro, NULL, 0, NULL));
	ASSERT_EQ(-EBADF, dspm_abort(ro, &r, 1, NULL));
	ASSERT_EQ(0, dspm_stat(ro, &st));
	ASSERT_EQ(0, st.version);
	ASSERT_EQ(0, st.dirty_pages);
}

/* replicas 2 while this node is in no cluster: EIO, nothing committed. */
TEST_F(ctl, commit_replicas_unmet)
{
	struct dspm_stat st;
	struct dspm_info a, b;
	unsigned char *m, *r;
	__u64 pages;
	int fd, other;

	ASSERT_EQ(0, dspm_create_full(self->e.ctl, "rep", 2 * PG, 0644,
				      DSPM_MODEL_MRMW, 2, NULL));
	fd = env_open(_metadata, &self->e, "rep", DSPM_OPEN_WRITE);
	other = env_open(_metadata, &self->e, "rep", 0);
	m = env_map(_metadata, &self->e, fd, 2 * PG, PROT_READ | PROT_WRITE);
	r = env_map(_metadata, &self->e, other, 2 * PG, PROT_READ);
	WRITE_ONCE(m[0], 0x5a);
	WRITE_ONCE(m[PG], 0x5b);
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &a));
	ASSERT_EQ(-EIO, dspm_commit(fd, NULL, 0, NULL));
	ASSERT_EQ(-EIO, dspm_commit_range(fd, 0, 1, NULL));
	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &b));
	ASSERT_EQ(a.commits, b.commits);
	ASSERT_EQ(0, dspm_stat(fd, &st));
	ASSERT_EQ(0, st.version);
	ASSERT_EQ(2, st.dirty_pages);
	ASSERT_EQ(0x5a, READ_ONCE(m[0]));
	ASSERT_EQ(0, READ_ONCE(r[0]));
	ASSERT_EQ(0, READ_ONCE(r[PG]));
	ASSERT_EQ(0, dspm_abort(fd, NULL, 0, &pages));
	ASSERT_EQ(2, pages);
	ASSERT_EQ(0, READ_ONCE(m[0]));
}

/* Says how large a whole-page commit of @fd can be (it commits that much). */
static void log_largest_commit(struct __test_metadata *_metadata, int fd,
			       __u64 lc)
{
	__u64 n;

	for (n = lc / PG; n > 0; n--)
		if (!dspm_commit_range(fd, 0, n * PG, NULL))
			break;
	TH_LOG("log_capacity %llu, but the largest whole-page commit is %llu pages (%llu bytes)",
	       (unsigned long long)lc, (unsigned long long)n,
	       (unsigned long long)(n * PG));
}

/* A commit larger than the log: EFBIG, nothing committed; log-sized works. */
TEST_F_TIMEOUT(ctl, commit_larger_than_log, 300)
{
	struct dspm_commit out;
	struct dspm_stat st;
	struct dspm_info info;
	unsigned char *m;
	__u64 lc, n, len;
	int fd, ret;

	ASSERT_EQ(0, dspm_get_info(self->e.ctl, &info));
	lc = info.log_capacity;
	len = (lc / PG + 2) * PG;
	if (len > info.free || len > (256ULL << 20))
		SKIP(return, "log_capacity %llu: no room for a larger dataset",
		     (unsigned long long)lc);
	env_create(_metadata, &self->e, "big", len, 0644);
	fd = env_open(_metadata, &self->e, "big", DSPM_OPEN_WRITE);
	m = env_map(_metadata, &self->e, fd, len, PROT_READ | PROT_WRITE);
	for (n = 0; n < len; n += PG)
		memset(m + n, 0x77, PG);
	ASSERT_EQ(-EFBIG, dspm_commit(fd, NULL, 0, NULL));
	ASSERT_EQ(-EFBIG, dspm_commit_range(fd, 0, lc + 1, NULL));
	ASSERT_EQ(0, dspm_stat(fd, &st));
	ASSERT_EQ(0, st.version);
	ASSERT_EQ(len / PG, st.dirty_pages);
	/* Exactly log_capacity bytes of payload fit. */
	ret = dspm_commit_range(fd, 0, lc, &out);
	if (ret == -EFBIG)
		log_largest_commit(_metadata, fd, lc);
	ASSERT_EQ(0, ret) TH_LOG("commit of log_capacity bytes: %s",
				 strerror(-ret));
	ASSERT_EQ(1, out.version);
	ASSERT_EQ(0, dspm_commit(fd, NULL, 0, &out));
	ASSERT_EQ(2, out.version);
	ASSERT_EQ(0, dspm_stat(fd, &st));
	ASSERT_EQ(0, st.dirty_pages);
}

TEST_F(ctl, commit_reuse_struct)
{
	struct dspm_commit c = { .size = sizeof(c) };
	struct dspm_abort a = { .size = sizeof(a) };
	unsigned char *m;
	int fd, i;

	env_create(_metadata, &self->e, "cr", PG, 0644);
	fd = env_open(_metadata, &self->e, "cr", DSPM_OPEN_WRITE);
	m = env_map(_metadata, &self->e, fd, PG, PROT_READ | PROT_WRITE);
	for (i = 1; i <= 3; i++) {
		WRITE_ONCE(m[0], i);
		/* pages and version are outputs of the previous round. */
		ASSERT_EQ(0, dspm_ioctl(fd, DSPM_IOC_COMMIT, &c));
		ASSERT_EQ(1, c.pages);
		ASSERT_EQ(i, c.version);
		ASSERT_EQ(sizeof(c), c.size);
	}
	for (i = 0; i < 2; i++) {
		WRITE_ONCE(m[0], 9);
		ASSERT_EQ(0, dspm_ioctl(fd, DSPM_IOC_ABORT, &a));
		ASSERT_EQ(1, a.pages);
		ASSERT_EQ(3, READ_ONCE(m[0]));
	}
}

TEST_F(ctl, stat_reuse_and_read_only)
{
	struct dspm_stat st;
	int ro;

	env_create(_metadata, &self->e, "st", PG, 0644);
	ro = env_open(_metadata, &self->e, "st", 0);
	ASSERT_EQ(0, dspm_stat(ro, &st));
	ASSERT_EQ(0, strcmp(st.name, "st"));
	/* Every output field set: the struct can be passed in again. */
	ASSERT_EQ(0, dspm_ioctl(ro, DSPM_IOC_STAT, &st));
	ASSERT_EQ(sizeof(st), st.size);
	ASSERT_EQ(0, strcmp(st.name, "st"));
	ASSERT_EQ(PG, st.length);
}

TEST_HARNESS_MAIN
