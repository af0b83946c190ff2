// SPDX-License-Identifier: GPL-2.0
/*
 * dsbank: concurrent workloads on a cluster dataset for the multi-node
 * tests (cluster_test.sh, cluster_crash_test.sh), run on several nodes at
 * once.  Every update is a validated transaction (DSPM_IOC_BEGIN, then
 * COMMIT with DSPM_COMMIT_VALIDATE) retried after EAGAIN, so concurrent
 * updates from all nodes serialise.
 *
 * Account i is a __u64 at the start of page i / C of chunk i % C (C: the
 * dataset's chunks), so the accounts are spread over every chunk and so
 * over pages homed on different nodes.
 *
 *   dsbank add NAME K              add 1 to account 0, K times
 *   dsbank get NAME I              print account I
 *   dsbank init NAME N BALANCE     set accounts 0..N-1 to BALANCE (one commit)
 *   dsbank transfer NAME N SECS [LOG]
 *                                  move random amounts between random
 *                                  accounts for SECS; after each commit
 *                                  that returned, write the count of them
 *                                  to LOG (and fsync), and keep account N
 *                                  - a transfer counter of this node's
 *                                  own, slot N + node id - in step
 *   dsbank audit NAME N TOTAL SECS read all N accounts as one validated
 *                                  snapshot again and again for SECS (at
 *                                  least once); exit 1 if a sum is not
 *                                  TOTAL, or if no snapshot commits for
 *                                  AUDIT_PATIENCE seconds
 *
 * A page whose home is out of reach (a node lost power) faults with
 * SIGBUS: the attempt is aborted, counted and tried again, like one whose
 * commit failed with EIO.
 *
 * Prints what it did; exit status 0, 1 on a failed check, 2 on bad use,
 * 3 on an unexpected error (the call and errno on stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/dspm.h>

#define PAGE	4096UL

/* An audit that commits no snapshot for this long reports it and fails. */
#define AUDIT_PATIENCE	100

struct bank {
	int ctl;
	int fd;
	unsigned char *map;
	__u64 length;
	__u64 chunk_size;
	__u32 chunks;
	unsigned long retries;
	unsigned long eio;
	unsigned long sigbus;
	unsigned long done;		/* increments, transfers or audits */
};

static int fail(const char *what)
{
	fprintf(stderr, "dsbank: %s: %s\n", what, strerror(errno));
	exit(3);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void bank_open(struct bank *b, const char *name, bool write)
{
	struct dspm_open o = { .size = sizeof(o) };
	struct dspm_placement p = { .size = sizeof(p) };
	struct dspm_stat st = { .size = sizeof(st) };

	if (strlen(name) >= sizeof(o.name)) {
		errno = ENAMETOOLONG;
		fail("name");
	}
	b->ctl = open("/dev/dspm", O_RDWR);
	if (b->ctl < 0)
		fail("open /dev/dspm");
	strcpy(o.name, name);
	strcpy(p.name, name);
	o.flags = write ? DSPM_OPEN_WRITE : 0;
	if (ioctl(b->ctl, DSPM_IOC_PLACEMENT, &p))
		fail("DSPM_IOC_PLACEMENT");
	b->chunk_size = p.chunk_size;
	b->chunks = p.chunks;
	b->fd = ioctl(b->ctl, DSPM_IOC_OPEN, &o);
	if (b->fd < 0)
		fail("DSPM_IOC_OPEN");
	if (ioctl(b->fd, DSPM_IOC_STAT, &st))
		fail("DSPM_IOC_STAT");
	b->length = st.length;
	b->map = mmap(NULL, st.length, PROT_READ | (write ? PROT_WRITE : 0),
		      MAP_SHARED, b->fd, 0);
	if (b->map == MAP_FAILED)
		fail("mmap");
}

static __u64 *account(struct bank *b, unsigned long i)
{
	__u64 off = (i % b->chunks) * b->chunk_size + (i / b->chunks) * PAGE;

	if (off + PAGE > b->length) {
		errno = ERANGE;
		fail("beyond the dataset");
	}
	return (__u64 *)(b->map + off);
}

static void begin(struct bank *b)
{
	struct dspm_begin t = { .size = sizeof(t) };

	if (ioctl(b->fd, DSPM_IOC_BEGIN, &t))
		fail("DSPM_IOC_BEGIN");
}

/* Validated commit of the transaction: 0, or -EAGAIN after ABORT. */
static int commit(struct bank *b)
{
	struct dspm_commit c = { .size = sizeof(c),
				 .flags = DSPM_COMMIT_VALIDATE };
	struct dspm_abort a = { .size = sizeof(a) };

	if (!ioctl(b->fd, DSPM_IOC_COMMIT, &c))
		return 0;
	if (errno != EAGAIN && errno != EIO)
		fail("DSPM_IOC_COMMIT");
	if (errno == EIO)
		b->eio++;
	else
		b->retries++;
	if (ioctl(b->fd, DSPM_IOC_ABORT, &a))
		fail("DSPM_IOC_ABORT");
	return -EAGAIN;
}

/* Where a SIGBUS in a transaction's body lands: see unreachable(). */
static sigjmp_buf unreachable_jump;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(unreachable_jump, 1);
}

static void drop_attempt(struct bank *b)
{
	struct dspm_abort a = { .size = sizeof(a) };

	b->sigbus++;
	if (ioctl(b->fd, DSPM_IOC_ABORT, &a))
		fail("DSPM_IOC_ABORT");
}

/*
 * True when the attempt that follows touched a page out of reach: it was
 * aborted, try again.  A macro, since sigsetjmp must run in the frame the
 * jump returns to; each attempt is a function of its own, so no local of
 * that frame changes after the jump point, and counts live in *b.
 */
#define unreachable(b) (sigsetjmp(unreachable_jump, 1) && (drop_attempt(b), 1))

static void print_retries(const struct bank *b)
{
	printf("%lu retries after EAGAIN, %lu after EIO, %lu after SIGBUS\n",
	       b->retries, b->eio, b->sigbus);
}

/* One attempt at adding 1 to account 0: 0 once committed. */
static int add_once(struct bank *b)
{
	__u64 *v = account(b, 0);

	begin(b);
	*v = *v + 1;
	return commit(b);
}

static int cmd_add(struct bank *b, unsigned long k)
{
	double t0 = now();

	while (b->done < k) {
		if (unreachable(b))
			continue;
		if (!add_once(b))
			b->done++;
	}
	printf("added %lu in %.1f s, ", k, now() - t0);
	print_retries(b);
	return 0;
}

/* One random transfer, counted in this node's own account: 0 if committed. */
static int transfer_once(struct bank *b, unsigned long n, unsigned int self)
{
	unsigned long from = rand() % n, to = rand() % n;
	__u64 amount = 1 + rand() % 10;
	__u64 *f, *t, *mine;

	if (from == to)
		return -EAGAIN;
	f = account(b, from);
	t = account(b, to);
	mine = account(b, n + self);
	begin(b);
	if (*f < amount)
		amount = *f;
	*f = *f - amount;
	*t = *t + amount;
	*mine = *mine + 1;
	return commit(b);
}

static int cmd_transfer(struct bank *b, unsigned long n, double secs,
			const char *log, unsigned int self)
{
	double end = now() + secs;
	int lfd = -1;

	if (log) {
		lfd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (lfd < 0)
			fail("open log");
	}
	srand(getpid() ^ (unsigned int)time(NULL));
	while (now() < end) {
		char line[32];
		int len;

		if (unreachable(b) || transfer_once(b, n, self))
			continue;
		b->done++;
		if (lfd < 0)
			continue;
		len = snprintf(line, sizeof(line), "%lu\n", b->done);
		if (pwrite(lfd, line, len, 0) != len || fsync(lfd))
			fail("write log");
	}
	printf("%lu transfers, ", b->done);
	print_retries(b);
	return 0;
}

/* One validated snapshot of accounts 0..n-1: 0 with their sum if committed. */
static int audit_once(struct bank *b, unsigned long n, __u64 *sum)
{
	unsigned long i;

	*sum = 0;
	begin(b);
	for (i = 0; i < n; i++)
		*sum += *account(b, i);
	return commit(b);
}

static int cmd_audit(struct bank *b, unsigned long n, __u64 total, double secs)
{
	double end = now() + secs, last = now();
	__u64 sum;

	do {
		if (unreachable(b) || audit_once(b, n, &sum)) {
			if (now() - last < AUDIT_PATIENCE)
				continue;
			printf("no snapshot committed in %d s: ", AUDIT_PATIENCE);
			print_retries(b);
			return 1;
		}
		last = now();
		b->done++;
		if (sum != total) {
			printf("audit %lu: sum %llu, expected %llu\n", b->done,
			       (unsigned long long)sum,
			       (unsigned long long)total);
			return 1;
		}
	} while (now() < end || !b->done);
	printf("%lu audits, every sum %llu, ", b->done,
	       (unsigned long long)total);
	print_retries(b);
	return 0;
}

int main(int argc, char **argv)
{
	struct bank b = {};
	const char *cmd = argc > 2 ? argv[1] : "";
	struct dspm_nodes nodes = { .size = sizeof(nodes),
				    .entry_size = sizeof(struct dspm_node_info) };
	unsigned long i, n;
	struct sigaction sa = { .sa_handler = on_sigbus };

	if (sigaction(SIGBUS, &sa, NULL))
		fail("sigaction");

	if (!strcmp(cmd, "add") && argc == 4) {
		bank_open(&b, argv[2], true);
		return cmd_add(&b, strtoul(argv[3], NULL, 0));
	}
	if (!strcmp(cmd, "get") && argc == 4) {
		bank_open(&b, argv[2], false);
		printf("%llu\n", (unsigned long long)
		       *account(&b, strtoul(argv[3], NULL, 0)));
		return 0;
	}
	if (!strcmp(cmd, "init") && argc == 5) {
		bank_open(&b, argv[2], true);
		n = strtoul(argv[3], NULL, 0);
		do {
			begin(&b);
			for (i = 0; i < n; i++)
				*account(&b, i) = strtoull(argv[4], NULL, 0);
		} while (commit(&b));
		printf("%lu accounts of %s\n", n, argv[4]);
		return 0;
	}
	if (!strcmp(cmd, "transfer") && (argc == 5 || argc == 6)) {
		bank_open(&b, argv[2], true);
		if (ioctl(b.ctl, DSPM_IOC_NODES, &nodes))
			fail("DSPM_IOC_NODES");
		return cmd_transfer(&b, strtoul(argv[3], NULL, 0),
				    strtod(argv[4], NULL),
				    argc == 6 ? argv[5] : NULL, nodes.self_id);
	}
	if (!strcmp(cmd, "audit") && argc == 6) {
		bank_open(&b, argv[2], true);
		return cmd_audit(&b, strtoul(argv[3], NULL, 0),
				 strtoull(argv[4], NULL, 0), strtod(argv[5], NULL));
	}
	fprintf(stderr, "usage: dsbank add NAME K | get NAME I | init NAME N BALANCE |\n"
		"       transfer NAME N SECS [LOG] | audit NAME N TOTAL SECS\n");
	return 2;
}
