// SPDX-License-Identifier: GPL-2.0
/*
 * Wire helpers both the dispatcher link and the peer code use: headers,
 * replies, errors and addresses in the form uapi/linux/dspm_wire.h gives
 * them.
 */
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/string.h>

#include "clu.h"
#include "clu_link.h"
#include "internal.h"

/* A header with status and reserved zero; the body is the caller's. */
void dspm_wire_hdr_init(struct dspm_wire_hdr *h, u16 type, u32 len, u32 sender,
			u64 request)
{
	memset(h, 0, sizeof(*h));
	h->magic = cpu_to_le32(DSPM_WIRE_MAGIC);
	h->version = cpu_to_le16(DSPM_WIRE_VERSION);
	h->type = cpu_to_le16(type);
	h->length = cpu_to_le32(len);
	h->sender = cpu_to_le32(sender);
	h->request_id = cpu_to_le64(request);
}

/*
 * The header of the reply to @req served from another node: same request
 * id; the serving loop sets the sender.
 */
void dspm_wire_reply_hdr(void *reply, const struct dspm_wire_hdr *req,
			 u16 type, u32 len)
{
	dspm_wire_hdr_init(reply, type, len, 0, le64_to_cpu(req->request_id));
}

/* An ERROR reply to @req carrying @err (negative errno); its length. */
u32 dspm_wire_reply_error(void *reply, const struct dspm_wire_hdr *req,
			  int err)
{
	struct dspm_wire_error *e = reply;

	memset(e, 0, sizeof(*e));
	dspm_wire_reply_hdr(e, req, DSPM_WIRE_ERROR, sizeof(*e));
	e->hdr.status = cpu_to_le32(-err);
	e->request_type = req->type;
	return sizeof(*e);
}

void dspm_wire_build_checks(void)
{
	BUILD_BUG_ON(sizeof(struct dspm_wire_hdr) != DSPM_WIRE_HDR_SIZE);
	BUILD_BUG_ON(sizeof(struct dspm_wire_addr) != DSPM_WIRE_ADDR_SIZE);
	BUILD_BUG_ON(sizeof(struct dspm_wire_hello) != DSPM_WIRE_HELLO_SIZE);
	BUILD_BUG_ON(sizeof(struct dspm_wire_challenge) !=
		     DSPM_WIRE_CHALLENGE_SIZE);
	BUILD_BUG_ON(sizeof(struct dspm_wire_auth) != DSPM_WIRE_AUTH_SIZE);
	BUILD_BUG_ON(sizeof(struct dspm_wire_join_accept) !=
		     DSPM_WIRE_JOIN_ACCEPT_SIZE);
	BUILD_BUG_ON(sizeof(struct dspm_wire_heartbeat) !=
		     DSPM_WIRE_HEARTBEAT_SIZE);
	BUILD_BUG_ON(sizeof(struct dspm_wire_node) != DSPM_WIRE_NODE_SIZE);
	BUILD_BUG_ON(sizeof(struct dspm_wire_node_table) !=
		     DSPM_WIRE_NODE_TABLE_SIZE);
	BUILD_BUG_ON(sizeof(struct dspm_wire_error) != DSPM_WIRE_ERROR_SIZE);
}

/* A header whose magic, version, type, status and length may be trusted. */
bool dspm_wire_hdr_ok(const struct dspm_wire_hdr *h, u16 type_min,
		      u16 type_max, u32 status_max, u32 len_max)
{
	u32 len = le32_to_cpu(h->length);
	u16 type = le16_to_cpu(h->type);

	return le32_to_cpu(h->magic) == DSPM_WIRE_MAGIC &&
	       le16_to_cpu(h->version) == DSPM_WIRE_VERSION &&
	       type >= type_min && type <= type_max && !h->reserved &&
	       le32_to_cpu(h->status) <= status_max &&
	       len >= sizeof(*h) && len <= len_max;
}

void dspm_sockaddr_to_wire(const struct sockaddr_storage *ss, u16 port,
			   struct dspm_wire_addr *w)
{
	memset(w, 0, sizeof(*w));
	w->port = cpu_to_le16(port);
	if (ss->ss_family == AF_INET) {
		w->family = cpu_to_le16(DSPM_WIRE_AF_INET);
		memcpy(w->addr, &((struct sockaddr_in *)ss)->sin_addr, 4);
	} else {
		w->family = cpu_to_le16(DSPM_WIRE_AF_INET6);
		memcpy(w->addr, &((struct sockaddr_in6 *)ss)->sin6_addr, 16);
	}
}

void dspm_wire_addr_to_uapi(const struct dspm_wire_addr *w,
			    struct dspm_addr *a)
{
	u16 family = le16_to_cpu(w->family);

	a->family = family == DSPM_WIRE_AF_INET ? DSPM_AF_INET :
		    family == DSPM_WIRE_AF_INET6 ? DSPM_AF_INET6 : 0;
	a->port = le16_to_cpu(w->port);
	memcpy(a->addr, w->addr, sizeof(a->addr));
}
