// SPDX-License-Identifier: GPL-2.0
/* The TCP transport backend: kernel sockets in the initial network namespace. */
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <linux/uio.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "xprt.h"

struct dspm_tcp_conn {
	struct dspm_conn base;
	struct socket *sock;
};

struct dspm_tcp_listener {
	struct dspm_listener base;
	struct socket *sock;
	bool shut;
};

static struct dspm_tcp_conn *dspm_tcp_conn_of(struct dspm_conn *c)
{
	return container_of(c, struct dspm_tcp_conn, base);
}

static struct dspm_tcp_listener *dspm_tcp_listener_of(struct dspm_listener *l)
{
	return container_of(l, struct dspm_tcp_listener, base);
}

static long dspm_tcp_timeo(unsigned int ms)
{
	return ms ? msecs_to_jiffies(ms) : MAX_SCHEDULE_TIMEOUT;
}

static void dspm_tcp_tune(struct sock *sk)
{
	tcp_sock_set_nodelay(sk);
	/* notice a peer that vanished without a FIN within seconds */
	sock_set_keepalive(sk);
	tcp_sock_set_keepidle(sk, 2);
	tcp_sock_set_keepintvl(sk, 1);
	tcp_sock_set_keepcnt(sk, 3);
	/* keepalive stops while data is unacknowledged: bound that too */
	tcp_sock_set_user_timeout(sk, 10000);
}

static int dspm_tcp_addr_len(const struct sockaddr_storage *addr)
{
	return addr->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					   : sizeof(struct sockaddr_in);
}

static int dspm_tcp_connect(const struct sockaddr_storage *addr,
			    unsigned int timeout_ms, struct dspm_conn **out)
{
	int len = dspm_tcp_addr_len(addr);
	struct dspm_tcp_conn *conn;
	int ret;

	conn = kzalloc(sizeof(*conn), GFP_KERNEL);
	if (!conn)
		return -ENOMEM;
	conn->base.ops = &dspm_tcp_transport;
	ret = sock_create_kern(&init_net, addr->ss_family, SOCK_STREAM,
			       IPPROTO_TCP, &conn->sock);
	if (ret)
		goto free;
	conn->sock->sk->sk_sndtimeo = dspm_tcp_timeo(timeout_ms);
	conn->sock->sk->sk_rcvtimeo = dspm_tcp_timeo(timeout_ms);
	ret = kernel_connect(conn->sock, (struct sockaddr *)addr, len, 0);
	if (ret)
		goto release;
	dspm_tcp_tune(conn->sock->sk);
	*out = &conn->base;
	return 0;
release:
	sock_release(conn->sock);
free:
	kfree(conn);
	return ret;
}

static int dspm_tcp_send(struct dspm_conn *c, const void *buf, size_t len)
{
	struct socket *sock = dspm_tcp_conn_of(c)->sock;

	while (len) {
		struct kvec iov = { .iov_base = (void *)buf, .iov_len = len };
		struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
		int ret = kernel_sendmsg(sock, &msg, &iov, 1, len);

		if (ret < 0)
			return ret == -EAGAIN ? -ETIMEDOUT : ret;
		if (ret == 0)
			return -ECONNRESET;
		buf += ret;
		len -= ret;
	}
	return 0;
}

static int dspm_tcp_recv(struct dspm_conn *c, void *buf, size_t len)
{
	struct socket *sock = dspm_tcp_conn_of(c)->sock;

	while (len) {
		struct kvec iov = { .iov_base = buf, .iov_len = len };
		struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
		int ret = kernel_recvmsg(sock, &msg, &iov, 1, len,
					 MSG_WAITALL);

		if (ret < 0)
			return ret == -EAGAIN ? -ETIMEDOUT : ret;
		if (ret == 0)
			return -ECONNRESET;
		buf += ret;
		len -= ret;
	}
	return 0;
}

static void dspm_tcp_set_recv_timeout(struct dspm_conn *c, unsigned int ms)
{
	struct socket *sock = dspm_tcp_conn_of(c)->sock;

	WRITE_ONCE(sock->sk->sk_rcvtimeo, dspm_tcp_timeo(ms));
}

static int dspm_tcp_local_addr(struct dspm_conn *c,
			       struct sockaddr_storage *out)
{
	struct socket *sock = dspm_tcp_conn_of(c)->sock;
	int ret = kernel_getsockname(sock, (struct sockaddr *)out);

	return ret < 0 ? ret : 0;
}

static int dspm_tcp_peer_addr(struct dspm_conn *c,
			      struct sockaddr_storage *out)
{
	struct socket *sock = dspm_tcp_conn_of(c)->sock;
	int ret = kernel_getpeername(sock, (struct sockaddr *)out);

	return ret < 0 ? ret : 0;
}

static void dspm_tcp_shutdown(struct dspm_conn *c)
{
	struct socket *sock = dspm_tcp_conn_of(c)->sock;

	kernel_sock_shutdown(sock, SHUT_RDWR);
}

static void dspm_tcp_close(struct dspm_conn *c)
{
	struct socket *sock = dspm_tcp_conn_of(c)->sock;

	sock_release(sock);
	kfree(dspm_tcp_conn_of(c));
}

static int dspm_tcp_listen(const struct sockaddr_storage *addr,
			   struct dspm_listener **out)
{
	struct dspm_tcp_listener *l;
	int ret;

	l = kzalloc(sizeof(*l), GFP_KERNEL);
	if (!l)
		return -ENOMEM;
	l->base.ops = &dspm_tcp_transport;
	ret = sock_create_kern(&init_net, addr->ss_family, SOCK_STREAM,
			       IPPROTO_TCP, &l->sock);
	if (ret)
		goto free;
	/* a restarted node takes its port back while old sockets linger */
	sock_set_reuseaddr(l->sock->sk);
	ret = kernel_bind(l->sock, (struct sockaddr *)addr,
			  dspm_tcp_addr_len(addr));
	if (!ret)
		ret = kernel_listen(l->sock, 64);
	if (ret)
		goto release;
	*out = &l->base;
	return 0;
release:
	sock_release(l->sock);
free:
	kfree(l);
	return ret;
}

static int dspm_tcp_accept(struct dspm_listener *listener,
			   struct dspm_conn **out)
{
	struct dspm_tcp_listener *l = dspm_tcp_listener_of(listener);
	struct dspm_tcp_conn *conn;
	int ret;

	conn = kzalloc(sizeof(*conn), GFP_KERNEL);
	if (!conn)
		return -ENOMEM;
	conn->base.ops = &dspm_tcp_transport;
	ret = kernel_accept(l->sock, &conn->sock, 0);
	if (ret) {
		kfree(conn);
		return READ_ONCE(l->shut) ? -ESHUTDOWN : ret;
	}
	dspm_tcp_tune(conn->sock->sk);
	*out = &conn->base;
	return 0;
}

static void dspm_tcp_listener_shutdown(struct dspm_listener *listener)
{
	struct dspm_tcp_listener *l = dspm_tcp_listener_of(listener);

	WRITE_ONCE(l->shut, true);
	kernel_sock_shutdown(l->sock, SHUT_RDWR);
}

static void dspm_tcp_listener_close(struct dspm_listener *listener)
{
	struct dspm_tcp_listener *l = dspm_tcp_listener_of(listener);

	sock_release(l->sock);
	kfree(l);
}

const struct dspm_transport_ops dspm_tcp_transport = {
	.name = "tcp",
	.connect = dspm_tcp_connect,
	.send = dspm_tcp_send,
	.recv = dspm_tcp_recv,
	.set_recv_timeout = dspm_tcp_set_recv_timeout,
	.local_addr = dspm_tcp_local_addr,
	.peer_addr = dspm_tcp_peer_addr,
	.shutdown = dspm_tcp_shutdown,
	.close = dspm_tcp_close,
	.listen = dspm_tcp_listen,
	.accept = dspm_tcp_accept,
	.listener_shutdown = dspm_tcp_listener_shutdown,
	.listener_close = dspm_tcp_listener_close,
};
