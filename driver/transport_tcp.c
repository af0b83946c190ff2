// SPDX-License-Identifier: GPL-2.0
/* The TCP transport backend: kernel sockets in the initial network namespace. */
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <linux/uio.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "transport.h"

struct dspm_conn {
	struct socket *sock;
};

static long dspm_tcp_timeo(unsigned int ms)
{
	return ms ? msecs_to_jiffies(ms) : MAX_SCHEDULE_TIMEOUT;
}

static int dspm_tcp_connect(const struct sockaddr_storage *addr,
			    unsigned int timeout_ms, struct dspm_conn **out)
{
	int len = addr->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					      : sizeof(struct sockaddr_in);
	struct dspm_conn *conn;
	int ret;

	conn = kzalloc(sizeof(*conn), GFP_KERNEL);
	if (!conn)
		return -ENOMEM;
	ret = sock_create_kern(&init_net, addr->ss_family, SOCK_STREAM,
			       IPPROTO_TCP, &conn->sock);
	if (ret)
		goto free;
	conn->sock->sk->sk_sndtimeo = dspm_tcp_timeo(timeout_ms);
	conn->sock->sk->sk_rcvtimeo = dspm_tcp_timeo(timeout_ms);
	ret = kernel_connect(conn->sock, (struct sockaddr *)addr, len, 0);
	if (ret)
		goto release;
	tcp_sock_set_nodelay(conn->sock->sk);
	/* notice a peer that vanished without a FIN within seconds */
	sock_set_keepalive(conn->sock->sk);
	tcp_sock_set_keepidle(conn->sock->sk, 2);
	tcp_sock_set_keepintvl(conn->sock->sk, 1);
	tcp_sock_set_keepcnt(conn->sock->sk, 3);
	*out = conn;
	return 0;
release:
	sock_release(conn->sock);
free:
	kfree(conn);
	return ret;
}

static int dspm_tcp_send(struct dspm_conn *conn, const void *buf, size_t len)
{
	while (len) {
		struct kvec iov = { .iov_base = (void *)buf, .iov_len = len };
		struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
		int ret = kernel_sendmsg(conn->sock, &msg, &iov, 1, len);

		if (ret < 0)
			return ret == -EAGAIN ? -ETIMEDOUT : ret;
		if (ret == 0)
			return -ECONNRESET;
		buf += ret;
		len -= ret;
	}
	return 0;
}

static int dspm_tcp_recv(struct dspm_conn *conn, void *buf, size_t len)
{
	while (len) {
		struct kvec iov = { .iov_base = buf, .iov_len = len };
		struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
		int ret = kernel_recvmsg(conn->sock, &msg, &iov, 1, len,
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

static void dspm_tcp_set_recv_timeout(struct dspm_conn *conn, unsigned int ms)
{
	WRITE_ONCE(conn->sock->sk->sk_rcvtimeo, dspm_tcp_timeo(ms));
}

static int dspm_tcp_local_addr(struct dspm_conn *conn,
			       struct sockaddr_storage *out)
{
	int ret = kernel_getsockname(conn->sock, (struct sockaddr *)out);

	return ret < 0 ? ret : 0;
}

static void dspm_tcp_shutdown(struct dspm_conn *conn)
{
	kernel_sock_shutdown(conn->sock, SHUT_RDWR);
}

static void dspm_tcp_close(struct dspm_conn *conn)
{
	sock_release(conn->sock);
	kfree(conn);
}

const struct dspm_transport_ops dspm_tcp_transport = {
	.name = "tcp",
	.connect = dspm_tcp_connect,
	.send = dspm_tcp_send,
	.recv = dspm_tcp_recv,
	.set_recv_timeout = dspm_tcp_set_recv_timeout,
	.local_addr = dspm_tcp_local_addr,
	.shutdown = dspm_tcp_shutdown,
	.close = dspm_tcp_close,
};
