/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The transport interface: a reliable, ordered byte stream to one peer.
 * Backends: TCP (kernel sockets, transport_tcp.c); RDMA comes next.
 */
#ifndef _DSPM_TRANSPORT_H
#define _DSPM_TRANSPORT_H

#include <linux/socket.h>
#include <linux/types.h>

struct dspm_conn;

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
	/* make a blocked recv() return; close() still follows */
	void (*shutdown)(struct dspm_conn *conn);
	void (*close)(struct dspm_conn *conn);
};

extern const struct dspm_transport_ops dspm_tcp_transport;

#endif /* _DSPM_TRANSPORT_H */
