/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The transport interface: a reliable, ordered byte stream to one peer.
 * Backends: TCP (kernel sockets, transport_tcp.c) and RDMA (rdma_cm RC
 * queue pairs, transport_rdma.c).
 *
 * A connection has at most one sender and one receiver at a time (callers
 * serialise each side); send and recv may run concurrently; shutdown() may
 * be called from any thread until close(), which is called once, when no
 * send or recv is running any more.
 */
#ifndef _DSPM_TRANSPORT_H
#define _DSPM_TRANSPORT_H

#include <linux/socket.h>
#include <linux/types.h>

struct dspm_conn;
struct dspm_listener;

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

	/* accept connections on @addr (a port is required) */
	int (*listen)(const struct sockaddr_storage *addr,
		      struct dspm_listener **out);
	/* the next connection; blocks; -ESHUTDOWN once shut down */
	int (*accept)(struct dspm_listener *l, struct dspm_conn **out);
	/* make a blocked accept() return; listener_close() still follows */
	void (*listener_shutdown)(struct dspm_listener *l);
	void (*listener_close)(struct dspm_listener *l);
};

extern const struct dspm_transport_ops dspm_tcp_transport;
extern const struct dspm_transport_ops dspm_rdma_transport;

/* transport_bench.c: debugfs transport_echo and transport_ping in @dir */
struct dentry;
void dspm_transport_bench_init(struct dentry *dir);
void dspm_transport_bench_exit(void);

#endif /* _DSPM_TRANSPORT_H */
