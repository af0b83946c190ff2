// SPDX-License-Identifier: GPL-2.0
/*
 * Transport loopback test and round-trip benchmark, in debugfs (dspm/):
 *
 *   transport_echo  write "tcp PORT" or "rdma PORT": serve an echo on
 *                   0.0.0.0:PORT (one kthread, one connection at a time);
 *                   write "stop" to stop it.  Reads back its state.
 *   transport_ping  write "tcp|rdma ADDR:PORT COUNT SIZE": connect, make
 *                   COUNT round trips of SIZE (1..65536) payload bytes,
 *                   check every echoed byte; the write fails with the
 *                   error if one does.  Reading returns the last result:
 *                   "transport=T size=S count=N min_ns= avg_ns= p50_ns=
 *                   p99_ns= max_ns=" or "error=-ERRNO".
 *
 * A message is a __le32 payload length (1..65536) and the payload.  The
 * echo server drops a connection idle for DSPM_BENCH_IDLE_MS, or that
 * sends a bad length.  A ping waits at most DSPM_BENCH_TIMEOUT_MS for
 * connect, each send and each reply, so a dead peer fails it in seconds;
 * a signal interrupts it.  Module unload stops the echo server (a running
 * ping holds the file open, hence the module).
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/inet.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>

#include "internal.h"
#include "xprt.h"

#define DSPM_BENCH_MAX_SIZE	65536
#define DSPM_BENCH_MAX_COUNT	1000000
#define DSPM_BENCH_TIMEOUT_MS	5000
#define DSPM_BENCH_IDLE_MS	30000
#define DSPM_BENCH_CMD_MAX	128
#define DSPM_BENCH_RESULT_MAX	192

struct dspm_echo {
	const struct dspm_transport_ops *ops;
	struct dspm_listener *l;
	struct task_struct *task;
	u8 *buf;		/* one message */
	u16 port;
	struct mutex lock;	/* conn, stopping */
	struct dspm_conn *conn;	/* the one being served */
	bool stopping;
};

/* The running echo server, under dspm_bench_lock. */
static DEFINE_MUTEX(dspm_bench_lock);
static struct dspm_echo *dspm_echo_srv;
static bool dspm_bench_dead;

/* One ping at a time; the last result, under dspm_ping_lock. */
static DEFINE_MUTEX(dspm_ping_lock);
static char dspm_ping_result[DSPM_BENCH_RESULT_MAX] = "error=-61\n";

static const struct dspm_transport_ops *dspm_bench_ops(const char *name)
{
	if (!strcmp(name, "tcp"))
		return &dspm_tcp_transport;
	if (!strcmp(name, "rdma"))
		return &dspm_rdma_transport;
	return NULL;
}

/* Copy a command from user space: one line, NUL-terminated, no newline. */
static int dspm_bench_cmd(const char __user *ubuf, size_t len, char *cmd)
{
	if (!len || len >= DSPM_BENCH_CMD_MAX)
		return -EINVAL;
	if (copy_from_user(cmd, ubuf, len))
		return -EFAULT;
	cmd[len] = '\0';
	if (cmd[len - 1] == '\n')
		cmd[len - 1] = '\0';
	if (strchr(cmd, '\n'))
		return -EINVAL;
	return 0;
}

/* Strictly a decimal number in [min, max]. */
static int dspm_bench_uint(const char *s, unsigned int min, unsigned int max,
			   unsigned int *out)
{
	unsigned int v;

	if (!*s || *s == '+' || kstrtouint(s, 10, &v) || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "A.B.C.D:PORT" or "[v6]:PORT", port 1..65535. */
static int dspm_bench_addr(const char *s, struct sockaddr_storage *ss)
{
	const char *end;
	unsigned int port;

	memset(ss, 0, sizeof(*ss));
	if (*s == '[') {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		if (!in6_pton(s + 1, -1, sin6->sin6_addr.s6_addr, ']', &end) ||
		    end[0] != ']' || end[1] != ':')
			return -EINVAL;
		if (dspm_bench_uint(end + 2, 1, 65535, &port))
			return -EINVAL;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (!in4_pton(s, -1, (u8 *)&sin->sin_addr.s_addr, ':', &end) ||
		    end[0] != ':')
			return -EINVAL;
		if (dspm_bench_uint(end + 1, 1, 65535, &port))
			return -EINVAL;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
	}
	return 0;
}

/* Split @cmd at single spaces into at most @max words; the word count. */
static int dspm_bench_words(char *cmd, char **w, int max)
{
	int n = 0;
	char *p;

	while ((p = strsep(&cmd, " ")) != NULL) {
		if (!*p || n == max)
			return -EINVAL;
		w[n++] = p;
	}
	return n;
}

/* ------------------------------------------------------------ echo */

/* Serve one connection until it fails, goes idle or the server stops. */
static void dspm_echo_serve(struct dspm_echo *e, struct dspm_conn *conn,
			    u8 *buf)
{
	__le32 *hdr = (__le32 *)buf;
	u32 len;

	dspm_conn_set_recv_timeout(conn, DSPM_BENCH_IDLE_MS);
	while (!kthread_should_stop()) {
		if (dspm_conn_recv(conn, hdr, sizeof(*hdr)))
			return;
		len = le32_to_cpu(*hdr);
		if (!len || len > DSPM_BENCH_MAX_SIZE)
			return;
		if (dspm_conn_recv(conn, buf + sizeof(*hdr), len))
			return;
		if (dspm_conn_send(conn, buf, sizeof(*hdr) + len))
			return;
	}
}

static int dspm_echo_thread(void *arg)
{
	struct dspm_echo *e = arg;
	struct dspm_conn *conn;
	int ret;

	while (!kthread_should_stop()) {
		ret = dspm_listener_accept(e->l, &conn);
		if (ret == -ESHUTDOWN)
			break;
		if (ret) {
			/* e.g. -ENOMEM: try again a little later */
			schedule_timeout_interruptible(HZ / 10);
			continue;
		}
		mutex_lock(&e->lock);
		if (e->stopping) {
			mutex_unlock(&e->lock);
			dspm_conn_close(conn);
			break;
		}
		e->conn = conn;
		mutex_unlock(&e->lock);

		dspm_echo_serve(e, conn, e->buf);

		mutex_lock(&e->lock);
		e->conn = NULL;
		mutex_unlock(&e->lock);
		dspm_conn_close(conn);
	}
	/* kthread_stop() joins us */
	dspm_wait_for_kthread_stop();
	return 0;
}

static int dspm_echo_start(const struct dspm_transport_ops *ops, u16 port)
{
	struct sockaddr_storage ss = {};
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct dspm_echo *e;
	int ret;

	lockdep_assert_held(&dspm_bench_lock);
	if (dspm_echo_srv)
		return -EBUSY;
	e = kzalloc(sizeof(*e), GFP_KERNEL);
	if (!e)
		return -ENOMEM;
	e->ops = ops;
	e->port = port;
	mutex_init(&e->lock);
	e->buf = kvmalloc(sizeof(__le32) + DSPM_BENCH_MAX_SIZE, GFP_KERNEL);
	if (!e->buf) {
		ret = -ENOMEM;
		goto free;
	}
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_ANY);
	sin->sin_port = htons(port);
	ret = ops->listen(&ss, &e->l);
	if (ret)
		goto free;
	e->task = kthread_run(dspm_echo_thread, e, "dspm-echo-%s", ops->name);
	if (IS_ERR(e->task)) {
		ret = PTR_ERR(e->task);
		dspm_listener_close(e->l);
		goto free;
	}
	dspm_echo_srv = e;
	pr_info("dspm: %s echo server on port %u\n", ops->name, port);
	return 0;
free:
	kvfree(e->buf);
	kfree(e);
	return ret;
}

static void dspm_echo_stop(void)
{
	struct dspm_echo *e = dspm_echo_srv;

	lockdep_assert_held(&dspm_bench_lock);
	if (!e)
		return;
	mutex_lock(&e->lock);
	e->stopping = true;
	if (e->conn)
		dspm_conn_shutdown(e->conn);
	mutex_unlock(&e->lock);
	dspm_listener_shutdown(e->l);
	kthread_stop(e->task);
	dspm_listener_close(e->l);
	pr_info("dspm: %s echo server on port %u stopped\n", e->ops->name,
		e->port);
	kvfree(e->buf);
	kfree(e);
	dspm_echo_srv = NULL;
}

static ssize_t dspm_echo_write(struct file *file, const char __user *ubuf,
			       size_t len, loff_t *ppos)
{
	const struct dspm_transport_ops *ops;
	char cmd[DSPM_BENCH_CMD_MAX];
	unsigned int port;
	char *w[2];
	int n, ret;

	ret = dspm_bench_cmd(ubuf, len, cmd);
	if (ret)
		return ret;
	n = dspm_bench_words(cmd, w, 2);
	if (n == 1 && !strcmp(w[0], "stop")) {
		mutex_lock(&dspm_bench_lock);
		dspm_echo_stop();
		mutex_unlock(&dspm_bench_lock);
		return len;
	}
	if (n != 2)
		return -EINVAL;
	ops = dspm_bench_ops(w[0]);
	if (!ops || dspm_bench_uint(w[1], 1, 65535, &port))
		return -EINVAL;
	mutex_lock(&dspm_bench_lock);
	ret = dspm_bench_dead ? -ENODEV : dspm_echo_start(ops, port);
	mutex_unlock(&dspm_bench_lock);
	return ret ? ret : len;
}

static ssize_t dspm_echo_read(struct file *file, char __user *ubuf,
			      size_t len, loff_t *ppos)
{
	char line[64];
	int n;

	mutex_lock(&dspm_bench_lock);
	if (dspm_echo_srv)
		n = scnprintf(line, sizeof(line), "transport=%s port=%u\n",
			      dspm_echo_srv->ops->name, dspm_echo_srv->port);
	else
		n = scnprintf(line, sizeof(line), "stopped\n");
	mutex_unlock(&dspm_bench_lock);
	return simple_read_from_buffer(ubuf, len, ppos, line, n);
}

static const struct file_operations dspm_echo_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = dspm_echo_read,
	.write = dspm_echo_write,
	.llseek = default_llseek,
};

/* ------------------------------------------------------------ ping */

static int dspm_u64_cmp(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static void dspm_ping_fill(u8 *p, u32 size, u32 round)
{
	u32 i;

	for (i = 0; i < size; i++)
		p[i] = (u8)(round * 131 + i * 7 + (i >> 8));
}

/* COUNT round trips; the samples in @ns, the rounds done in *@done. */
static int dspm_ping_run(const struct dspm_transport_ops *ops,
			 const struct sockaddr_storage *addr, u32 count,
			 u32 size, u64 *ns, u32 *done)
{
	size_t msg = sizeof(__le32) + size;
	struct dspm_conn *conn;
	u8 *tx, *rx;
	int ret;
	u32 i;

	*done = 0;
	tx = kvmalloc(msg, GFP_KERNEL);
	rx = kvmalloc(msg, GFP_KERNEL);
	if (!tx || !rx) {
		ret = -ENOMEM;
		goto free;
	}
	ret = ops->connect(addr, DSPM_BENCH_TIMEOUT_MS, &conn);
	if (ret)
		goto free;
	dspm_conn_set_recv_timeout(conn, DSPM_BENCH_TIMEOUT_MS);
	*(__le32 *)tx = cpu_to_le32(size);
	for (i = 0; i < count; i++) {
		u64 t0;

		if (signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		dspm_ping_fill(tx + sizeof(__le32), size, i);
		t0 = ktime_get_ns();
		ret = dspm_conn_send(conn, tx, msg);
		if (!ret)
			ret = dspm_conn_recv(conn, rx, msg);
		if (ret)
			break;
		ns[i] = ktime_get_ns() - t0;
		if (memcmp(tx, rx, msg)) {
			ret = -EBADMSG;
			break;
		}
		*done = i + 1;
		cond_resched();
	}
	dspm_conn_close(conn);
free:
	kvfree(rx);
	kvfree(tx);
	return ret;
}

static void dspm_ping_report(const char *name, u32 size, u64 *ns, u32 n)
{
	u64 sum = 0;
	u32 i;

	sort(ns, n, sizeof(*ns), dspm_u64_cmp, NULL);
	for (i = 0; i < n; i++)
		sum += ns[i];
	scnprintf(dspm_ping_result, sizeof(dspm_ping_result),
		  "transport=%s size=%u count=%u min_ns=%llu avg_ns=%llu p50_ns=%llu p99_ns=%llu max_ns=%llu\n",
		  name, size, n, ns[0], div_u64(sum, n), ns[(n - 1) / 2],
		  ns[div_u64((u64)(n - 1) * 99, 100)], ns[n - 1]);
}

static ssize_t dspm_ping_write(struct file *file, const char __user *ubuf,
			       size_t len, loff_t *ppos)
{
	const struct dspm_transport_ops *ops;
	char cmd[DSPM_BENCH_CMD_MAX];
	struct sockaddr_storage addr;
	u32 count, size, done;
	char *w[4];
	u64 *ns;
	int ret;

	ret = dspm_bench_cmd(ubuf, len, cmd);
	if (ret)
		return ret;
	if (dspm_bench_words(cmd, w, 4) != 4)
		return -EINVAL;
	ops = dspm_bench_ops(w[0]);
	if (!ops || dspm_bench_addr(w[1], &addr) ||
	    dspm_bench_uint(w[2], 1, DSPM_BENCH_MAX_COUNT, &count) ||
	    dspm_bench_uint(w[3], 1, DSPM_BENCH_MAX_SIZE, &size))
		return -EINVAL;
	if (!mutex_trylock(&dspm_ping_lock))
		return -EBUSY;
	ns = kvmalloc_array(count, sizeof(*ns), GFP_KERNEL);
	ret = ns ? dspm_ping_run(ops, &addr, count, size, ns, &done) : -ENOMEM;
	if (ret)
		scnprintf(dspm_ping_result, sizeof(dspm_ping_result),
			  "error=%d\n", ret);
	else
		dspm_ping_report(ops->name, size, ns, done);
	mutex_unlock(&dspm_ping_lock);
	kvfree(ns);
	return ret ? ret : len;
}

static ssize_t dspm_ping_read(struct file *file, char __user *ubuf,
			      size_t len, loff_t *ppos)
{
	char line[DSPM_BENCH_RESULT_MAX];
	int n;

	if (mutex_lock_interruptible(&dspm_ping_lock))
		return -EINTR;
	n = strscpy(line, dspm_ping_result, sizeof(line));
	mutex_unlock(&dspm_ping_lock);
	if (n < 0)
		return n;
	return simple_read_from_buffer(ubuf, len, ppos, line, n);
}

static const struct file_operations dspm_ping_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = dspm_ping_read,
	.write = dspm_ping_write,
	.llseek = default_llseek,
};

void dspm_transport_bench_init(struct dentry *dir)
{
	debugfs_create_file("transport_echo", 0600, dir, NULL, &dspm_echo_fops);
	debugfs_create_file("transport_ping", 0600, dir, NULL, &dspm_ping_fops);
}

/* Module unload: no file is open, so no write runs; stop the server. */
void dspm_transport_bench_exit(void)
{
	mutex_lock(&dspm_bench_lock);
	dspm_bench_dead = true;
	dspm_echo_stop();
	mutex_unlock(&dspm_bench_lock);
}
