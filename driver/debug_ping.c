// SPDX-License-Identifier: GPL-2.0
/*
 * CONFIG_DSPM_DEBUG: "ping ID COUNT SIZE" written to debugfs "peer"
 * measures node-to-node round trips on a connection of its own; the
 * result is the file's last line.
 */
#include <linux/debugfs.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/kthread.h>
#include <linux/random.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>

#include "clu.h"
#include "internal.h"
#include "peer.h"
#include "xprt.h"

static int dspm_ns_cmp(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* @count PINGs of @size bytes to node @id; the result goes to ping_result. */
static int dspm_peer_ping(struct dspm_peers *peers, u32 id, u32 count,
			  u32 size)
{
	u32 self = READ_ONCE(peers->link->node_id), i;
	struct dspm_wire_hdr *req, *reply;
	u64 *ns, total = 0;
	struct dspm_conn *conn;
	int ret = -ENOMEM;

	req = kvzalloc(DSPM_WIRE_MAX_MESSAGE, GFP_KERNEL);
	reply = kvzalloc(DSPM_WIRE_MAX_MESSAGE, GFP_KERNEL);
	ns = kvcalloc(count, sizeof(*ns), GFP_KERNEL);
	if (!req || !reply || !ns)
		goto out;
	ret = dspm_peer_connect(peers, id, reply, &conn);
	if (ret)
		goto out;
	for (i = 0; i < count && !ret; i++) {
		u64 start;

		dspm_wire_hdr_init(req, DSPM_WIRE_PING, sizeof(*req) + size, self,
				   i + 3);
		get_random_bytes(req + 1, min_t(u32, size, 64));
		start = ktime_get_ns();
		ret = dspm_conn_send(conn, req, sizeof(*req) + size);
		if (!ret)
			ret = dspm_peer_expect(peers, conn, reply, DSPM_WIRE_PONG,
					       sizeof(*req) + size, id);
		ns[i] = ktime_get_ns() - start;
		if (!ret && (reply->request_id != req->request_id ||
			     memcmp(reply + 1, req + 1, size)))
			ret = -EPROTO;
		total += ns[i];
	}
	dspm_conn_close(conn);
	if (!ret) {
		sort(ns, count, sizeof(*ns), dspm_ns_cmp, NULL);
		mutex_lock(&peers->lock);
		snprintf(peers->ping_result, sizeof(peers->ping_result),
			 "transport=%s node=%u size=%u count=%u min_ns=%llu avg_ns=%llu p50_ns=%llu p99_ns=%llu max_ns=%llu\n",
			 peers->ops->name, id, size, count, ns[0],
			 div_u64(total, count), ns[count / 2],
			 ns[(u64)count * 99 / 100], ns[count - 1]);
		mutex_unlock(&peers->lock);
	}
out:
	if (ret) {
		mutex_lock(&peers->lock);
		snprintf(peers->ping_result, sizeof(peers->ping_result),
			 "transport=%s node=%u error=%d\n", peers->ops->name,
			 id, ret);
		mutex_unlock(&peers->lock);
	}
	kvfree(ns);
	kvfree(reply);
	kvfree(req);
	return ret;
}

/* "ping ID COUNT SIZE": COUNT 1..100000, SIZE 0..DSPM_WIRE_PING_MAX. */
ssize_t dspm_peer_write(struct file *file, const char __user *ubuf,
			size_t len, loff_t *pos)
{
	struct dspm_peers *peers = file_inode(file)->i_private;
	u32 id, count, size;
	char cmd[64];
	int ret;

	if (len >= sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(cmd, ubuf, len))
		return -EFAULT;
	cmd[len] = '\0';
	if (sscanf(cmd, "ping %u %u %u", &id, &count, &size) != 3 ||
	    !count || count > 100000 || size > DSPM_WIRE_PING_MAX)
		return -EINVAL;
	ret = dspm_peer_ping(peers, id, count, size);
	return ret ?: len;
}
