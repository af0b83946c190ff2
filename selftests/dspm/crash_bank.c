// SPDX-License-Identifier: GPL-2.0
/*
 * crash_bank: a bank-transfer workload for dspm crash tests.
 *
 *   crash_bank init  PMEM NAME ACCOUNTS    format PMEM, create NAME, commit
 *   crash_bank run   PMEM NAME LOGFILE SEED transfer money until killed
 *   crash_bank check PMEM NAME LOGFILE      attach (recovery), verify
 *
 * Dataset layout (4 KiB pages):
 *   page 0: header: magic, seq (number of the last transfer commit),
 *           accounts, and the pages that commit wrote;
 *   pages 1..: accounts, one signed 64-bit balance every 512 bytes
 *           (8 per page), so a transfer spans several pages.
 *   Every page ends in a trailer {page_seq, checksum}: the seq of the
 *   commit that last wrote it and an FNV-1a hash of the page's bytes, its
 *   index and page_seq, written in the same commit.  A torn page (some
 *   bytes of a commit landed, others not) fails its checksum.
 *
 * run appends "SEQ PAGE..." to LOGFILE (write + fsync) after every COMMIT
 * that returned 0.  check verifies, after the crash and recovery:
 *   - the sum of all balances is ACCOUNTS * 1000 (no half transfer);
 *   - every page's checksum holds (no torn page), page_seq <= seq;
 *   - the pages the last commit wrote all carry its seq (all of it landed);
 *   - seq >= the last logged seq (no lost commit) and <= last + 1 (at most
 *     the one in-flight commit landed);
 *   - the dataset's version is seq + 1 (the init commit + one per transfer);
 *   - info.free == info.capacity - sum over LIST of pages * 4096.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dspm_test.h"

#define BANK_MAGIC	0x6b6e61626d707364ULL	/* "dspmbank" */
#define ACCT_STRIDE	512
#define ACCTS_PER_PAGE	(PG / ACCT_STRIDE)
#define TRAILER_OFF	(PG - 16)
#define INITIAL		1000
#define MAX_TOUCH	16

struct bank_header {
	__u64 magic;
	__u64 seq;
	__u64 accounts;
	__u64 nr_touched;
	__u64 touched[MAX_TOUCH];
};

struct trailer {
	__u64 page_seq;
	__u64 csum;
};

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "crash_bank: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static __u64 npages_for(__u64 accounts)
{
	return 1 + (accounts + ACCTS_PER_PAGE - 1) / ACCTS_PER_PAGE;
}

static __s64 *account(unsigned char *m, __u64 i)
{
	return (__s64 *)(m + (1 + i / ACCTS_PER_PAGE) * PG +
			 (i % ACCTS_PER_PAGE) * ACCT_STRIDE);
}

static __u64 page_of(__u64 i)
{
	return 1 + i / ACCTS_PER_PAGE;
}

static struct trailer *trailer_of(unsigned char *m, __u64 page)
{
	return (struct trailer *)(m + page * PG + TRAILER_OFF);
}

static __u64 page_csum(const unsigned char *m, __u64 page, __u64 page_seq)
{
	const unsigned char *p = m + page * PG;
	__u64 h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < TRAILER_OFF; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	for (i = 0; i < 8; i++) {
		h ^= (page >> (8 * i)) & 0xff;
		h *= 0x100000001b3ULL;
		h ^= (page_seq >> (8 * i)) & 0xff;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void seal_page(unsigned char *m, __u64 page, __u64 seq)
{
	struct trailer *t = trailer_of(m, page);

	t->page_seq = seq;
	t->csum = page_csum(m, page, seq);
}

/* Attaches PMEM: with FORMAT for init; a running attachment is reused. */
static int attach(int ctl, const char *pmem, bool format)
{
	int ret = dspm_attach_path(ctl, format ? DSPM_ATTACH_FORMAT : 0, pmem);

	if (ret == -EBUSY) {
		struct dspm_info info;

		if (dspm_get_info(ctl, &info) || !(info.flags & DSPM_INFO_ATTACHED))
			return ret;
		if (format || (info.flags & DSPM_INFO_VOLATILE)) {
			/* Start over from a clean detach. */
			ret = dspm_detach(ctl);
			if (ret)
				return ret;
			return dspm_attach_path(ctl,
						format ? DSPM_ATTACH_FORMAT : 0,
						pmem);
		}
		printf("crash_bank: %s already attached, using it\n", pmem);
		return 0;
	}
	return ret;
}

static int open_ctl(void)
{
	int ctl = open(DSPM_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	if (ctl < 0)
		die("open %s: %s", DSPM_DEVICE_PATH, strerror(errno));
	return ctl;
}

static unsigned char *map_dataset(int ctl, const char *name, bool write,
				  int *fdp, struct dspm_stat *st)
{
	unsigned char *m;
	int fd, ret;

	fd = dspm_open(ctl, name, write ? DSPM_OPEN_WRITE : 0);
	if (fd < 0)
		die("OPEN %s: %s", name, strerror(-fd));
	ret = dspm_stat(fd, st);
	if (ret)
		die("STAT %s: %s", name, strerror(-ret));
	m = mmap(NULL, st->pages * PG, PROT_READ | (write ? PROT_WRITE : 0),
		 MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		die("mmap %s: %s", name, strerror(errno));
	*fdp = fd;
	return m;
}

static int cmd_init(const char *pmem, const char *name, __u64 accounts)
{
	struct dspm_commit out;
	struct bank_header *h;
	struct dspm_stat st;
	unsigned char *m;
	__u64 i, p, npages;
	int ctl, fd, ret;

	if (!accounts || accounts > 1000000)
		die("ACCOUNTS must be 1..1000000");
	npages = npages_for(accounts);
	ctl = open_ctl();
	ret = attach(ctl, pmem, true);
	if (ret)
		die("ATTACH|FORMAT %s: %s", pmem, strerror(-ret));
	ret = dspm_create(ctl, name, npages * PG, 0600);
	if (ret)
		die("CREATE %s: %s", name, strerror(-ret));
	m = map_dataset(ctl, name, true, &fd, &st);
	h = (struct bank_header *)m;
	h->magic = BANK_MAGIC;
	h->seq = 0;
	h->accounts = accounts;
	h->nr_touched = 0;
	for (i = 0; i < accounts; i++)
		*account(m, i) = INITIAL;
	for (p = 0; p < npages; p++)
		seal_page(m, p, 0);
	ret = dspm_commit(fd, NULL, 0, &out);
	if (ret)
		die("initial COMMIT: %s", strerror(-ret));
	printf("crash_bank: init %s on %s: %llu accounts, %llu pages, version %llu\n",
	       name, pmem, (unsigned long long)accounts,
	       (unsigned long long)npages, (unsigned long long)out.version);
	munmap(m, st.pages * PG);
	close(fd);
	ret = dspm_detach(ctl);
	if (ret)
		die("DETACH: %s", strerror(-ret));
	return 0;
}

static void add_touched(__u64 *t, __u64 *n, __u64 page)
{
	__u64 i;

	for (i = 0; i < *n; i++)
		if (t[i] == page)
			return;
	t[(*n)++] = page;
}

/*
 * Append "SEQ PAGE..." to the log, durably: the commit SEQ, which wrote
 * those pages, is known to be on the media.
 */
static void log_commit(int logfd, const char *logfile, __u64 seq,
		       const __u64 *touched, __u64 nt)
{
	char line[512];
	int len;
	__u64 i;

	len = snprintf(line, sizeof(line), "%llu", (unsigned long long)seq);
	for (i = 0; i < nt; i++)
		len += snprintf(line + len, sizeof(line) - len, " %llu",
				(unsigned long long)touched[i]);
	line[len++] = '\n';
	if (write(logfd, line, len) != len || fsync(logfd))
		die("log %s: %s", logfile, strerror(errno));
}

static int cmd_run(const char *pmem, const char *name, const char *logfile,
		   __u64 seed)
{
	struct dspm_range r[3 * MAX_TOUCH + 2];
	struct bank_header *h;
	struct dspm_stat st;
	unsigned char *m;
	__u64 rng = seed ? seed : 1, accounts, seq;
	int ctl, fd, logfd, ret;
	unsigned long done = 0;

	ctl = open_ctl();
	ret = attach(ctl, pmem, false);
	if (ret)
		die("ATTACH %s: %s", pmem, strerror(-ret));
	m = map_dataset(ctl, name, true, &fd, &st);
	h = (struct bank_header *)m;
	if (h->magic != BANK_MAGIC)
		die("%s: no bank header", name);
	accounts = h->accounts;
	if (npages_for(accounts) > st.pages)
		die("%s: %llu accounts do not fit", name,
		    (unsigned long long)accounts);
	logfd = open(logfile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (logfd < 0)
		die("open %s: %s", logfile, strerror(errno));
	seq = h->seq;
	/*
	 * What is here now is durable, including a commit that landed but
	 * never returned before the last crash: log it as the new baseline,
	 * or a second such commit later would look like a lost log line.
	 */
	log_commit(logfd, logfile, seq, h->touched, h->nr_touched);
	printf("crash_bank: run from seq %llu, version %llu, seed %llu\n",
	       (unsigned long long)seq, (unsigned long long)st.version,
	       (unsigned long long)seed);
	fflush(stdout);

	for (;;) {
		__u64 touched[MAX_TOUCH], nt = 0, transfers, t, i, nr = 0;
		struct dspm_commit out;

		seq++;
		transfers = 1 + rnd64(&rng) % 4;
		for (t = 0; t < transfers; t++) {
			__u64 a = rnd64(&rng) % accounts, b;
			__s64 amount = 1 + rnd64(&rng) % 100;

			if (npages_for(accounts) < 3)
				b = (a + 1) % accounts;	/* tiny bank */
			else
				do {
					b = rnd64(&rng) % accounts;
				} while (page_of(b) == page_of(a));
			*account(m, a) -= amount;
			*account(m, b) += amount;
			add_touched(touched, &nt, page_of(a));
			add_touched(touched, &nt, page_of(b));
			if (nr < 3 * MAX_TOUCH) {
				r[nr++] = (struct dspm_range){
					(__u8 *)account(m, a) - m, 8 };
				r[nr++] = (struct dspm_range){
					(__u8 *)account(m, b) - m, 8 };
			}
		}
		h->seq = seq;
		h->nr_touched = nt;
		memcpy(h->touched, touched, nt * sizeof(touched[0]));
		seal_page(m, 0, seq);
		for (i = 0; i < nt; i++) {
			seal_page(m, touched[i], seq);
			r[nr++] = (struct dspm_range){
				touched[i] * PG + TRAILER_OFF, 16 };
		}
		r[nr++] = (struct dspm_range){ 0, PG };

		/* Commit everything, or exactly the bytes changed. */
		if (rnd64(&rng) % 2)
			ret = dspm_commit(fd, NULL, 0, &out);
		else
			ret = dspm_commit(fd, r, nr, &out);
		if (ret)
			die("COMMIT seq %llu: %s", (unsigned long long)seq,
			    strerror(-ret));

		log_commit(logfd, logfile, seq, touched, nt);
		if (++done % 200 == 0) {
			printf("crash_bank: %lu commits, seq %llu, version %llu\n",
			       done, (unsigned long long)seq,
			       (unsigned long long)out.version);
			fflush(stdout);
		}
	}
	return 0;
}

/* The last complete line of LOGFILE: seq and pages; 0 if there is none. */
static int read_log(const char *logfile, __u64 *seq, __u64 *pages, __u64 *np,
		    unsigned long *lines)
{
	char *buf = NULL, *p, *end, *last = NULL;
	size_t cap = 0, len = 0;
	ssize_t n;
	int fd;

	*seq = 0;
	*np = 0;
	*lines = 0;
	fd = open(logfile, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	for (;;) {
		if (len + 65536 > cap) {
			cap = cap ? 2 * cap : 1 << 20;
			buf = realloc(buf, cap + 1);
			if (!buf)
				die("out of memory");
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0)
			die("read %s: %s", logfile, strerror(errno));
		if (!n)
			break;
		len += n;
	}
	close(fd);
	if (!buf)
		return 0;
	buf[len] = 0;
	/* Only complete lines count: a crash may cut the last one short. */
	end = memrchr(buf, '\n', len);
	if (end) {
		*end = 0;
		for (p = buf; p < end; p++)
			if (*p == '\n')
				(*lines)++;
		(*lines)++;
		last = memrchr(buf, '\n', end - buf);
		last = last ? last + 1 : buf;
	}
	if (last) {
		char *q;

		*seq = strtoull(last, &q, 10);
		while (*q == ' ' && *np < MAX_TOUCH)
			pages[(*np)++] = strtoull(q + 1, &q, 10);
	}
	free(buf);
	return 0;
}

static int cmd_check(const char *pmem, const char *name, const char *logfile)
{
	__u64 logged, lpages[MAX_TOUCH], nlp, used = 0, i, p, npages, seq, pseq;
	struct bank_header *h;
	struct dspm_info info;
	struct dspm_stat st;
	unsigned long lines, bad_pages = 0;
	unsigned char *m;
	__s64 sum = 0;
	__u32 nds = 0;
	int ctl, fd, ret, fails = 0;

#define FAIL(...) do { printf("crash_bank: FAIL: " __VA_ARGS__); printf("\n"); fails++; } while (0)

	ctl = open_ctl();
	ret = attach(ctl, pmem, false);
	if (ret)
		die("ATTACH %s (recovery): %s", pmem, strerror(-ret));
	ret = dspm_get_info(ctl, &info);
	if (ret)
		die("GET_INFO: %s", strerror(-ret));
	ret = dspm_list_bytes(ctl, &used, &nds);
	if (ret)
		die("LIST: %s", strerror(-ret));
	if (info.free != info.capacity - used)
		FAIL("free %llu != capacity %llu - used %llu",
		     (unsigned long long)info.free,
		     (unsigned long long)info.capacity,
		     (unsigned long long)used);
	if (info.datasets != nds)
		FAIL("info.datasets %llu != %u listed",
		     (unsigned long long)info.datasets, nds);

	m = map_dataset(ctl, name, false, &fd, &st);
	h = (struct bank_header *)m;
	if (h->magic != BANK_MAGIC)
		die("%s: no bank header (magic %#llx)", name,
		    (unsigned long long)h->magic);
	seq = h->seq;
	npages = npages_for(h->accounts);
	if (npages > st.pages)
		die("%s: %llu accounts in %llu pages", name,
		    (unsigned long long)h->accounts,
		    (unsigned long long)st.pages);

	for (p = 0; p < npages; p++) {
		struct trailer *t = trailer_of(m, p);

		if (t->csum != page_csum(m, p, t->page_seq)) {
			if (bad_pages++ < 10)
				FAIL("page %llu torn: checksum mismatch (page_seq %llu)",
				     (unsigned long long)p,
				     (unsigned long long)t->page_seq);
		}
		if (t->page_seq > seq)
			FAIL("page %llu has page_seq %llu > header seq %llu",
			     (unsigned long long)p,
			     (unsigned long long)t->page_seq,
			     (unsigned long long)seq);
	}
	if (trailer_of(m, 0)->page_seq != seq)
		FAIL("header page_seq %llu != seq %llu",
		     (unsigned long long)trailer_of(m, 0)->page_seq,
		     (unsigned long long)seq);
	if (h->nr_touched > MAX_TOUCH) {
		FAIL("header lists %llu touched pages",
		     (unsigned long long)h->nr_touched);
	} else {
		for (i = 0; i < h->nr_touched; i++) {
			p = h->touched[i];
			pseq = p < npages ? trailer_of(m, p)->page_seq : 0;
			if (p >= npages || pseq != seq)
				FAIL("page %llu written by commit %llu carries page_seq %llu: %s",
				     (unsigned long long)p,
				     (unsigned long long)seq,
				     (unsigned long long)pseq,
				     "part of the commit is missing");
		}
	}
	for (i = 0; i < h->accounts; i++)
		sum += *account(m, i);
	if (sum != (__s64)(h->accounts * INITIAL))
		FAIL("sum of balances %lld != %llu", (long long)sum,
		     (unsigned long long)(h->accounts * INITIAL));

	ret = read_log(logfile, &logged, lpages, &nlp, &lines);
	if (ret)
		die("read %s: %s", logfile, strerror(-ret));
	if (seq < logged)
		FAIL("lost commits: dataset seq %llu < last logged seq %llu",
		     (unsigned long long)seq, (unsigned long long)logged);
	if (seq > logged + 1)
		FAIL("dataset seq %llu > last logged seq %llu + 1",
		     (unsigned long long)seq, (unsigned long long)logged);
	if (seq == logged && lines) {
		if (nlp != h->nr_touched ||
		    memcmp(lpages, h->touched, nlp * sizeof(lpages[0])))
			FAIL("the header's page list of commit %llu differs from the log's",
			     (unsigned long long)seq);
	}
	if (st.version != seq + 1)
		FAIL("dataset version %llu != seq %llu + 1 (init commit)",
		     (unsigned long long)st.version, (unsigned long long)seq);
	if (st.dirty_pages)
		FAIL("fresh fd has %llu dirty pages",
		     (unsigned long long)st.dirty_pages);

	/* One line, printed in three parts. */
	printf("crash_bank: check %s: seq %llu, last logged %llu (%lu lines), ",
	       name, (unsigned long long)seq, (unsigned long long)logged,
	       lines);
	printf("version %llu, sum %lld of %llu, %llu pages (%lu torn), ",
	       (unsigned long long)st.version, (long long)sum,
	       (unsigned long long)(h->accounts * INITIAL),
	       (unsigned long long)npages, bad_pages);
	printf("recovered %llu, free %llu = capacity %llu - used %llu: %s\n",
	       (unsigned long long)info.recovered,
	       (unsigned long long)info.free,
	       (unsigned long long)info.capacity, (unsigned long long)used,
	       fails ? "FAIL" : "ok");
	munmap(m, st.pages * PG);
	close(fd);
	ret = dspm_detach(ctl);
	if (ret) {
		printf("crash_bank: FAIL: DETACH: %s\n", strerror(-ret));
		fails++;
	}
	return fails ? 1 : 0;
#undef FAIL
}

static void print_usage(void)
{
	fprintf(stderr,
		"usage: crash_bank init PMEM NAME ACCOUNTS\n"
		"       crash_bank run PMEM NAME LOGFILE SEED\n"
		"       crash_bank check PMEM NAME LOGFILE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 5 && !strcmp(argv[1], "init"))
		return cmd_init(argv[2], argv[3], strtoull(argv[4], NULL, 0));
	if (argc == 6 && !strcmp(argv[1], "run"))
		return cmd_run(argv[2], argv[3], argv[4],
			       strtoull(argv[5], NULL, 0));
	if (argc == 5 && !strcmp(argv[1], "check"))
		return cmd_check(argv[2], argv[3], argv[4]);
	print_usage();
	return 2;
}
