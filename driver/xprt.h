/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The transport interface: a reliable, ordered byte stream to one peer.
 * Backends: TCP (kernel sockets, xprt_tcp.c) and RDMA (rdma_cm RC queue
 * pairs, xprt_rdma_*.c).  Documentation/transport.md has the contract.
 *
 * A connection (struct dspm_conn, the first part of each backend's own)
 * carries its ops; callers use the dspm_conn_*() helpers below, and the
 * ops table itself only to connect and listen.
 *
 * A connection has at most one sender and one receiver at a time (callers
 * serialise each side); send and recv may run concurrently; shutdown() may
 * be called from any thread until close(), which is called once, when no
 * send or recv is running any more.
 *
 * One-sided access (optional; NULL on TCP): expose() lets the peer of a
 * connection read memory of this node, read() reads memory the peer
 * exposed.  Both post on the connection's send side, so only its sender
 * calls them.  What is exposed stays readable until close(); a failed
 * read() leaves the connection failed, to be closed.
 */
#ifndef _DSPM_XPRT_H
#define _DSPM_XPRT_H

#include <linux/errno.h>
#include <linux/llist.h>
#include <linux/socket.h>
#include <linux/types.h>

struct dspm_transport_ops;

/* What every backend's connection and listener start with. */
struct dspm_conn {
	const struct dspm_transport_ops *ops;
	struct llist_node closing;	/* peer_client.c: closed by a worker */
};

struct dspm_listener {
	const struct dspm_transport_ops *ops;
};

#define DSPM_TRANSPORT_REGIONS		2	/* exposed per connection */
#define DSPM_TRANSPORT_READ_SEGS	4	/* reads per read() */
#define DSPM_TRANSPORT_READ_MAX		(4096 + 64)	/* bytes per read() */

/* Memory to expose: in the kernel's direct map, physically contiguous. */
struct dspm_region {
	void *addr;
	u64 len;
};

/* What the peer needs to read an exposed region. */
struct dspm_region_key {
	u64 addr;		/* the peer's address of the first byte */
	u32 rkey;
};

/* One read of @len bytes at @addr of the peer's region @rkey. */
struct dspm_read_seg {
	u64 addr;
	u32 rkey;
	u32 len;
};

struct dspm_transport_ops {
	const char *name;
	/* connect within @timeout_ms; sends and receives time out likewise */
	int (*connect)(const struct sockaddr_storage *addr,
		       unsigned int timeout_ms, struct dspm_conn **out);
	/* all of @len bytes, or an error */
	int (*send)(struct dspm_conn *conn, const void *buf, size_t len);
	/* exactly @len bytes, or an error (-ECONNRESET at end of stream) */
	int (*recv)(struct dspm_conn *conn, void *buf, size_t len);
	/* 0: receives block until data or shutdown */
	void (*set_recv_timeout)(struct dspm_conn *conn, unsigned int ms);
	int (*local_addr)(struct dspm_conn *conn, struct sockaddr_storage *out);
	int (*peer_addr)(struct dspm_conn *conn, struct sockaddr_storage *out);
	/* make a blocked recv() return; close() still follows */
	void (*shutdown)(struct dspm_conn *conn);
	void (*close)(struct dspm_conn *conn);

	/*
	 * Let the peer read @nr regions (at most DSPM_TRANSPORT_REGIONS)
	 * until close(); their keys go to @keys.  Exposing the same regions
	 * again only returns the keys.
	 */
	int (*expose)(struct dspm_conn *conn, const struct dspm_region *r,
		      unsigned int nr, struct dspm_region_key *keys);
	/*
	 * @nr reads (at most DSPM_TRANSPORT_READ_SEGS, DSPM_TRANSPORT_READ_MAX
	 * bytes in all) from the peer's exposed memory, executed by the peer
	 * in this order; their bytes, concatenated, go to @buf.
	 */
	int (*read)(struct dspm_conn *conn, const struct dspm_read_seg *seg,
		    unsigned int nr, void *buf);

	/* accept connections on @addr (a port is required) */
	int (*listen)(const struct sockaddr_storage *addr,
		      struct dspm_listener **out);
	/* the next connection; blocks; -ESHUTDOWN once shut down */
	int (*accept)(struct dspm_listener *l, struct dspm_conn **out);
	/* make a blocked accept() return; listener_close() still follows */
	void (*listener_shutdown)(struct dspm_listener *l);
	void (*listener_close)(struct dspm_listener *l);
};

static inline int dspm_conn_send(struct dspm_conn *c, const void *buf,
				 size_t len)
{
	return c->ops->send(c, buf, len);
}

static inline int dspm_conn_recv(struct dspm_conn *c, void *buf, size_t len)
{
	return c->ops->recv(c, buf, len);
}

static inline void dspm_conn_set_recv_timeout(struct dspm_conn *c,
					      unsigned int ms)
{
	c->ops->set_recv_timeout(c, ms);
}

static inline int dspm_conn_local_addr(struct dspm_conn *c,
				       struct sockaddr_storage *out)
{
	return c->ops->local_addr(c, out);
}

static inline int dspm_conn_peer_addr(struct dspm_conn *c,
				      struct sockaddr_storage *out)
{
	return c->ops->peer_addr(c, out);
}

static inline void dspm_conn_shutdown(struct dspm_conn *c)
{
	c->ops->shutdown(c);
}

static inline void dspm_conn_close(struct dspm_conn *c)
{
	c->ops->close(c);
}

/* One-sided access: only where the backend has it (RDMA). */
static inline bool dspm_conn_one_sided(const struct dspm_conn *c)
{
	return c->ops->read && c->ops->expose;
}

static inline int dspm_conn_expose(struct dspm_conn *c,
				   const struct dspm_region *r, unsigned int nr,
				   struct dspm_region_key *keys)
{
	return c->ops->expose ? c->ops->expose(c, r, nr, keys) : -EOPNOTSUPP;
}

static inline int dspm_conn_read(struct dspm_conn *c,
				 const struct dspm_read_seg *seg,
				 unsigned int nr, void *buf)
{
	return c->ops->read ? c->ops->read(c, seg, nr, buf) : -EOPNOTSUPP;
}

static inline int dspm_listener_accept(struct dspm_listener *l,
				       struct dspm_conn **out)
{
	return l->ops->accept(l, out);
}

static inline void dspm_listener_shutdown(struct dspm_listener *l)
{
	l->ops->listener_shutdown(l);
}

static inline void dspm_listener_close(struct dspm_listener *l)
{
	l->ops->listener_close(l);
}

extern const struct dspm_transport_ops dspm_tcp_transport;
extern const struct dspm_transport_ops dspm_rdma_transport;

#endif /* _DSPM_XPRT_H */
