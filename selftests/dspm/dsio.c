// SPDX-License-Identifier: GPL-2.0
/*
 * dsio: reads and writes a dataset through its mapping, for the multi-node
 * tests (selftests/dspm/cluster_test.sh), which run it on different nodes.
 *
 *   dsio write NAME OFFSET TEXT        store TEXT at OFFSET, commit
 *   dsio hold NAME OFFSET TEXT SECS    store TEXT, do not commit, wait SECS
 *                                      (then exit: the bytes are dropped)
 *   dsio read NAME OFFSET LEN          print LEN bytes at OFFSET ('.' for
 *                                      bytes outside printable ASCII)
 *   dsio peek NAME OFFSET LEN SECS     read as above, unmap, then keep the
 *                                      dataset open SECS without touching
 *                                      it (the node keeps its copy cached)
 *   dsio await NAME OFFSET TEXT SECS   keep one mapping and look at OFFSET
 *                                      every 10 ms until TEXT is there (the
 *                                      page it cached was invalidated) or
 *                                      SECS pass (exit 1)
 *
 * Exit status 0, or 1 with the failing call and errno on stderr.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/dspm.h>

static int fail(const char *what)
{
	fprintf(stderr, "dsio: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	struct dspm_open o = { .size = sizeof(o) };
	struct dspm_stat st = { .size = sizeof(st) };
	bool write = argc >= 5 && (!strcmp(argv[1], "write") ||
				   !strcmp(argv[1], "hold"));
	bool await = argc == 6 && !strcmp(argv[1], "await");
	bool peek = argc == 6 && !strcmp(argv[1], "peek");
	unsigned long off, len, i;
	int ctl, fd;
	char *map;

	if (argc < 5 || (!write && !await && !peek && strcmp(argv[1], "read")) ||
	    (!strcmp(argv[1], "hold") && argc != 6) ||
	    strlen(argv[2]) >= sizeof(o.name)) {
		fprintf(stderr,
			"usage: dsio write|hold|read|peek|await NAME OFFSET TEXT|LEN [SECS]\n");
		return 2;
	}
	off = strtoul(argv[3], NULL, 0);
	len = write || await ? strlen(argv[4]) : strtoul(argv[4], NULL, 0);
	strcpy(o.name, argv[2]);
	o.flags = write ? DSPM_OPEN_WRITE : 0;

	ctl = open("/dev/dspm", O_RDWR);
	if (ctl < 0)
		return fail("open /dev/dspm");
	fd = ioctl(ctl, DSPM_IOC_OPEN, &o);
	if (fd < 0)
		return fail("DSPM_IOC_OPEN");
	if (ioctl(fd, DSPM_IOC_STAT, &st))
		return fail("DSPM_IOC_STAT");
	if (off > st.length || len > st.length - off) {
		errno = EINVAL;
		return fail("range");
	}
	map = mmap(NULL, st.length, write ? PROT_READ | PROT_WRITE : PROT_READ,
		   MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return fail("mmap");

	if (await) {
		unsigned long polls = strtoul(argv[5], NULL, 0) * 100;

		for (i = 0; i < polls; i++) {
			if (!memcmp(map + off, argv[4], len)) {
				printf("seen after %lu polls\n", i);
				return 0;
			}
			usleep(10000);
		}
		printf("not seen; the mapping still holds '%.*s'\n", (int)len,
		       map + off);
		return 1;
	}
	if (!write) {
		for (i = 0; i < len; i++)
			putchar(isprint((unsigned char)map[off + i]) ?
				map[off + i] : '.');
		putchar('\n');
		if (peek) {
			fflush(stdout);
			munmap(map, st.length);
			sleep(strtoul(argv[5], NULL, 0));
		}
		return 0;
	}
	memcpy(map + off, argv[4], len);
	if (!strcmp(argv[1], "hold")) {
		printf("holding %lu uncommitted bytes\n", len);
		fflush(stdout);
		sleep(strtoul(argv[5], NULL, 0));
		return 0;
	}
	{
		struct dspm_commit c = { .size = sizeof(c) };

		if (ioctl(fd, DSPM_IOC_COMMIT, &c))
			return fail("DSPM_IOC_COMMIT");
		printf("committed %llu pages, version %llu\n",
		       (unsigned long long)c.pages,
		       (unsigned long long)c.version);
	}
	return 0;
}
