/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * dspm - Distributed Shared Persistent Memory: node <-> dispatcher wire
 * protocol, shared by the kernel driver (C) and the dispatcher (C++).
 *
 * Every message is a fixed-size little-endian struct (no padding, natural
 * alignment) that starts with struct dspm_wire_hdr.  hdr.length is the size
 * of the whole message including the header; it equals the struct size for
 * fixed messages and is the fixed part plus count * entry size for the three
 * variable ones (NODE_TABLE, DATASET_REPLY, LIST_REPLY).  A receiver drops a
 * message whose magic, version, type, length, reserved fields (must be zero)
 * or contents are not valid, and never reads beyond hdr.length nor beyond
 * DSPM_WIRE_MAX_MESSAGE bytes.
 *
 * Joining (challenge-response with the cluster key K, HMAC-SHA256):
 *   node -> dispatcher  HELLO       uuid, claimed id, capacity, free,
 *                                   address, nonce_n
 *   dispatcher -> node  CHALLENGE   nonce_d,
 *                                   mac = HMAC(K, "dspm-d" nonce_n nonce_d)
 *   node -> dispatcher  AUTH        uuid,
 *                                   mac = HMAC(K, "dspm-n" nonce_d nonce_n uuid)
 *   dispatcher -> node  JOIN_ACCEPT assigned node id (or ERROR)
 * Each MAC is HMAC-SHA256 keyed with the bytes of K over the concatenation
 * of its inputs, with nothing in between: the 6 ASCII bytes "dspm-d" or
 * "dspm-n" (no NUL), then the 32-byte nonces and the 16-byte uuid exactly
 * as they travel in HELLO, CHALLENGE and AUTH.  nonce_n is HELLO's nonce,
 * nonce_d CHALLENGE's; both are fresh random bytes for every join.  K is
 * the cluster key, 16 to 1024 bytes; the dispatcher reads it from its key
 * file, ignoring one trailing newline.  The node checks CHALLENGE's mac
 * before it answers; the dispatcher answers an AUTH with another uuid than
 * HELLO's or a wrong mac with ERROR EACCES and closes the connection.
 * Receivers compare MACs in constant time.
 * then HEARTBEAT from the node, NODE_TABLE from the dispatcher whenever the
 * membership changes, and the dataset requests, each answered by its reply
 * (same request id) or by ERROR.
 *
 * Node ids: 0 is "none" (a node that has not joined yet, an unused slot);
 * DSPM_WIRE_NODE_DISPATCHER is the dispatcher itself.  hdr.sender is 0 in
 * HELLO and AUTH, the sender's assigned id in HEARTBEAT and the DATASET_*
 * requests, DSPM_WIRE_NODE_DISPATCHER in everything the dispatcher sends but
 * ERROR (which either side may send).
 *
 * Transports.  Over TCP the messages follow each other on the byte stream.
 * Over RDMA (rdma_cm, port space RDMA_PS_TCP, the same port numbers as TCP,
 * one RC queue pair per connection, no connection private data) the same
 * byte stream is carried in SEND work requests of 1 to
 * DSPM_WIRE_RDMA_SEGMENT bytes each, with no header of their own: a message
 * may span several SENDs and a SEND may hold the end of one message and the
 * start of the next.  Each side keeps at least DSPM_WIRE_RDMA_RECV_DEPTH
 * receive buffers of DSPM_WIRE_RDMA_SEGMENT bytes posted and reposts each
 * as soon as its bytes are consumed; senders connect with rnr_retry_count 7
 * so a receiver that lags only slows them down.  A SEND larger than the
 * segment is a protocol error: the receiver disconnects.
 *
 * The driver checks every struct size with BUILD_BUG_ON against the
 * DSPM_WIRE_*_SIZE constants below; the dispatcher with static_assert.
 */
#ifndef _UAPI_LINUX_DSPM_WIRE_H
#define _UAPI_LINUX_DSPM_WIRE_H

#include <linux/types.h>

#define DSPM_WIRE_MAGIC		0x4d505344U	/* "DSPM" little-endian */
#define DSPM_WIRE_VERSION	2	/* 2: HELLO and node entries carry incarnation */

/* Largest message of any type, header included. */
#define DSPM_WIRE_MAX_MESSAGE	0x11000

/* RDMA: largest SEND, and receive buffers each side keeps posted. */
#define DSPM_WIRE_RDMA_SEGMENT		4096
#define DSPM_WIRE_RDMA_RECV_DEPTH	16

/* Same values as DSPM_NAME_MAX and DSPM_REPLICAS_MAX in linux/dspm.h. */
#define DSPM_WIRE_NAME_MAX	64
#define DSPM_WIRE_REPLICAS_MAX	16

#define DSPM_WIRE_NONCE_SIZE	32
#define DSPM_WIRE_MAC_SIZE	32
#define DSPM_WIRE_UUID_SIZE	16

#define DSPM_WIRE_NODE_NONE		0
#define DSPM_WIRE_NODE_DISPATCHER	0xffffffffU

/* Bounds of the variable messages. */
#define DSPM_WIRE_NODES_MAX	256	/* entries of one NODE_TABLE */
#define DSPM_WIRE_CHUNKS_MAX	1024	/* chunks of one dataset */
#define DSPM_WIRE_LIST_MAX	256	/* entries of one LIST_REPLY */

/* Chunk sizes: a power of two between these bounds. */
#define DSPM_WIRE_CHUNK_SIZE_MIN	0x1000ULL
#define DSPM_WIRE_CHUNK_SIZE_MAX	0x100000000000ULL

/* dspm_wire_hdr.type */
#define DSPM_WIRE_HELLO			1
#define DSPM_WIRE_CHALLENGE		2
#define DSPM_WIRE_AUTH			3
#define DSPM_WIRE_JOIN_ACCEPT		4
#define DSPM_WIRE_HEARTBEAT		5
#define DSPM_WIRE_NODE_TABLE		6
#define DSPM_WIRE_DATASET_CREATE	7
#define DSPM_WIRE_DATASET_DELETE	8
#define DSPM_WIRE_DATASET_LOOKUP	9
#define DSPM_WIRE_DATASET_LIST		10
#define DSPM_WIRE_DATASET_REPLY		11	/* to CREATE and LOOKUP */
#define DSPM_WIRE_DELETE_REPLY		12
#define DSPM_WIRE_LIST_REPLY		13
#define DSPM_WIRE_ERROR			14
#define DSPM_WIRE_TYPE_MAX		14

/*
 * hdr.status: zero in every message but ERROR, where it is the positive
 * errno (1..4095) of the failed request.
 */
#define DSPM_WIRE_ERRNO_MAX	4095

struct dspm_wire_hdr {
	__le32 magic;		/* DSPM_WIRE_MAGIC */
	__le16 version;		/* DSPM_WIRE_VERSION */
	__le16 type;		/* DSPM_WIRE_* */
	__le32 length;		/* whole message, header included */
	__le32 sender;		/* node id of the sender, 0 before joining */
	__le64 request_id;	/* chosen by the requester, echoed in replies */
	__le32 status;		/* 0, or the errno of an ERROR */
	__le32 reserved;
};

#define DSPM_WIRE_HDR_SIZE	32

/* dspm_wire_addr.family */
#define DSPM_WIRE_AF_INET	4	/* addr[0..3], addr[4..15] zero */
#define DSPM_WIRE_AF_INET6	6

struct dspm_wire_addr {
	__u8   addr[16];	/* network byte order, as in sockaddr */
	__le16 port;		/* host value, little-endian like the rest */
	__le16 family;		/* DSPM_WIRE_AF_* */
	__le32 reserved;
};

#define DSPM_WIRE_ADDR_SIZE	24

struct dspm_wire_hello {
	struct dspm_wire_hdr hdr;
	__u8   uuid[DSPM_WIRE_UUID_SIZE];	/* of the node's dspm format */
	__le32 claimed_id;	/* id held before a restart, or 0 */
	__le32 reserved;
	__le64 capacity;	/* bytes */
	__le64 free;		/* bytes */
	/*
	 * Random and non-zero, new each time the node's dspm instance starts:
	 * a node that restarted has forgotten whom it served as a home.
	 */
	__le64 incarnation;
	struct dspm_wire_addr addr;	/* where peers reach this node */
	__u8   nonce[DSPM_WIRE_NONCE_SIZE];
};

#define DSPM_WIRE_HELLO_SIZE	136

struct dspm_wire_challenge {
	struct dspm_wire_hdr hdr;
	__u8   nonce[DSPM_WIRE_NONCE_SIZE];
	__u8   mac[DSPM_WIRE_MAC_SIZE];
};

#define DSPM_WIRE_CHALLENGE_SIZE	96

struct dspm_wire_auth {
	struct dspm_wire_hdr hdr;
	__u8   uuid[DSPM_WIRE_UUID_SIZE];
	__u8   mac[DSPM_WIRE_MAC_SIZE];
};

#define DSPM_WIRE_AUTH_SIZE	80

struct dspm_wire_join_accept {
	struct dspm_wire_hdr hdr;
	__le32 node_id;		/* 1..DSPM_WIRE_NODE_DISPATCHER - 1 */
	__le32 heartbeat_ms;	/* interval the node must keep, > 0 */
	__le64 reserved;
};

#define DSPM_WIRE_JOIN_ACCEPT_SIZE	48

struct dspm_wire_heartbeat {
	struct dspm_wire_hdr hdr;
	__le64 free;		/* bytes */
	__le64 table_epoch;	/* epoch of the last NODE_TABLE applied */
};

#define DSPM_WIRE_HEARTBEAT_SIZE	48

/* dspm_wire_node.state */
#define DSPM_WIRE_NODE_ALIVE	1
#define DSPM_WIRE_NODE_SUSPECT	2
#define DSPM_WIRE_NODE_DEAD	3

struct dspm_wire_node {
	__le32 id;
	__le32 state;		/* DSPM_WIRE_NODE_* */
	__u8   uuid[DSPM_WIRE_UUID_SIZE];
	struct dspm_wire_addr addr;
	__le64 capacity;
	__le64 free;
	__le64 incarnation;	/* from the node's last HELLO; 0 if unknown */
};

#define DSPM_WIRE_NODE_SIZE	72

/* Ids strictly increasing; length = 48 + count * DSPM_WIRE_NODE_SIZE. */
struct dspm_wire_node_table {
	struct dspm_wire_hdr hdr;
	__le64 epoch;		/* bumped on every membership change */
	__le32 count;		/* 0..DSPM_WIRE_NODES_MAX */
	__le32 reserved;
	struct dspm_wire_node nodes[];
};

#define DSPM_WIRE_NODE_TABLE_SIZE	48

/* Dataset name: 1..63 of [A-Za-z0-9._-], not starting with '.', NUL-padded. */
struct dspm_wire_dataset_create {
	struct dspm_wire_hdr hdr;
	char   name[DSPM_WIRE_NAME_MAX];
	__le64 length;		/* 1..DSPM_DATASET_LENGTH_MAX */
	__le32 mode;		/* 0..0777 */
	__le32 uid;
	__le32 gid;
	__le32 model;		/* DSPM_MODEL_* */
	__le32 replicas;	/* 1..DSPM_WIRE_REPLICAS_MAX */
	__le32 reserved;
	__le64 chunk_size;	/* 0: the dispatcher chooses */
};

#define DSPM_WIRE_DATASET_CREATE_SIZE	136

/* DATASET_DELETE and DATASET_LOOKUP */
struct dspm_wire_dataset_name {
	struct dspm_wire_hdr hdr;
	char   name[DSPM_WIRE_NAME_MAX];
};

#define DSPM_WIRE_DATASET_NAME_SIZE	96

struct dspm_wire_dataset_list {
	struct dspm_wire_hdr hdr;
	__le64 cursor;		/* list ids > cursor; 0 to start */
	__le32 max;		/* 1..DSPM_WIRE_LIST_MAX */
	__le32 reserved;
};

#define DSPM_WIRE_DATASET_LIST_SIZE	48

struct dspm_wire_dataset {
	char   name[DSPM_WIRE_NAME_MAX];
	__le64 id;		/* > 0, never reused */
	__le64 length;
	__le32 mode;
	__le32 uid;
	__le32 gid;
	__le32 model;
	__le32 replicas;
	__le32 chunks;		/* length / chunk_size rounded up */
	__le64 chunk_size;
};

#define DSPM_WIRE_DATASET_SIZE	112

/* node[0] is the home, node[1..replicas-1] the replicas, the rest 0. */
struct dspm_wire_chunk {
	__le32 node[DSPM_WIRE_REPLICAS_MAX];
};

#define DSPM_WIRE_CHUNK_SIZE	64

/* length = 144 + dataset.chunks * DSPM_WIRE_CHUNK_SIZE. */
struct dspm_wire_dataset_reply {
	struct dspm_wire_hdr hdr;
	struct dspm_wire_dataset dataset;
	struct dspm_wire_chunk chunks[];
};

#define DSPM_WIRE_DATASET_REPLY_SIZE	144

struct dspm_wire_delete_reply {
	struct dspm_wire_hdr hdr;
	char   name[DSPM_WIRE_NAME_MAX];
	__le64 id;
};

#define DSPM_WIRE_DELETE_REPLY_SIZE	104

/* dspm_wire_list_reply.flags */
#define DSPM_WIRE_LIST_MORE	0x1U	/* call again from next_cursor */

/* Ids strictly increasing; length = 48 + count * DSPM_WIRE_DATASET_SIZE. */
struct dspm_wire_list_reply {
	struct dspm_wire_hdr hdr;
	__le64 next_cursor;
	__le32 count;		/* 0..DSPM_WIRE_LIST_MAX */
	__le32 flags;		/* DSPM_WIRE_LIST_* */
	struct dspm_wire_dataset datasets[];
};

#define DSPM_WIRE_LIST_REPLY_SIZE	48

/* hdr.status holds the errno. */
struct dspm_wire_error {
	struct dspm_wire_hdr hdr;
	__le16 request_type;	/* type of the failed request */
	__le16 reserved0;
	__le32 reserved1;
};

#define DSPM_WIRE_ERROR_SIZE	40

/*
 * Node to node.  A node listens where it told the dispatcher peers reach it
 * (HELLO's addr) and accepts only nodes of the dispatcher's latest
 * NODE_TABLE, alive or suspect, connecting from the address listed there,
 * that prove the cluster key.  The connecting node C (id c) and the
 * accepting node A (id a):
 *   C -> A  PEER_HELLO      hdr.sender c, target a, nonce_c
 *   A -> C  PEER_CHALLENGE  hdr.sender a, nonce_a,
 *                           mac = HMAC(K, "dspm-a" nonce_c nonce_a c a)
 *   C -> A  PEER_AUTH       hdr.sender c,
 *                           mac = HMAC(K, "dspm-c" nonce_a nonce_c c a)
 * where c and a enter the MACs as 4-byte little-endian values.  Either side
 * drops the connection on a wrong MAC.  Then C sends requests and A
 * answers each with the same request id: PING, answered by PONG carrying
 * the same 0..DSPM_WIRE_PING_MAX payload bytes.  The dispatcher never sees
 * these types and drops them like any unknown type.
 */
#define DSPM_WIRE_PEER_HELLO		64
#define DSPM_WIRE_PEER_CHALLENGE	65
#define DSPM_WIRE_PEER_AUTH		66
#define DSPM_WIRE_PING			67
#define DSPM_WIRE_PONG			68
#define DSPM_WIRE_PAGE_READ		69
#define DSPM_WIRE_PAGE_DATA		70
#define DSPM_WIRE_INVALIDATE		71
#define DSPM_WIRE_INVALIDATED		72
#define DSPM_WIRE_PREPARE		73
#define DSPM_WIRE_PREPARED		74
#define DSPM_WIRE_DECIDE		75
#define DSPM_WIRE_DECIDED		76
#define DSPM_WIRE_TXN_QUERY		77
#define DSPM_WIRE_TXN_STATE		78
#define DSPM_WIRE_PAGE_MAP		79
#define DSPM_WIRE_PAGE_MAP_REPLY	80
#define DSPM_WIRE_UNSHARE		81
#define DSPM_WIRE_UNSHARED		82
#define DSPM_WIRE_SYNC			83
#define DSPM_WIRE_SYNC_REPLY		84
#define DSPM_WIRE_PEER_TYPE_MIN		64
#define DSPM_WIRE_PEER_TYPE_MAX		84

#define DSPM_WIRE_PING_MAX		0x10000

struct dspm_wire_peer_hello {
	struct dspm_wire_hdr hdr;
	__le32 target;		/* the id of the node connected to */
	__le32 reserved;
	__u8   nonce[DSPM_WIRE_NONCE_SIZE];
};

#define DSPM_WIRE_PEER_HELLO_SIZE	72

/* PEER_CHALLENGE is struct dspm_wire_challenge. */

struct dspm_wire_peer_auth {
	struct dspm_wire_hdr hdr;
	__u8   mac[DSPM_WIRE_MAC_SIZE];
};

#define DSPM_WIRE_PEER_AUTH_SIZE	64

/* PING and PONG: the header, then the payload (length - header bytes). */

/*
 * Coherence.  PAGE_READ asks a page's home for its committed bytes; the
 * home records the reader as a sharer of the dataset (not of the page) and
 * answers PAGE_DATA with them and the version of the dataset at the home
 * when it read them (each home counts its own commits).  A home that cannot
 * record the reader answers ERROR ENOBUFS instead: it never hands out bytes
 * it would not invalidate.  After a commit the home sends INVALIDATE to
 * every sharer with the pages and the new version, and waits for
 * INVALIDATED: a reader drops its copies of those pages and ignores any
 * PAGE_DATA older than the version it was told about.
 *
 * A sharer stays one until it sends UNSHARE, which the home answers with
 * UNSHARED: a reader sends it to each home it read from once it keeps no
 * copy of the dataset (its last fd of it closed), and does not read from
 * that home again before the answer (or a failure), so an UNSHARE never
 * overtakes a later registration.  The home also drops, without a word, a
 * sharer that is no live member of its node table and one whose INVALIDATE
 * failed; such a node starts with no cached page when it opens the dataset
 * again.
 */
#define DSPM_WIRE_PAGE_SIZE		4096
#define DSPM_WIRE_INVALIDATE_MAX	1024	/* pages of one INVALIDATE */

struct dspm_wire_page_read {
	struct dspm_wire_hdr hdr;
	__le64 dataset;		/* cluster-wide id */
	__le64 page;		/* page index in the dataset */
};

#define DSPM_WIRE_PAGE_READ_SIZE	48

struct dspm_wire_page_data {
	struct dspm_wire_hdr hdr;
	__le64 dataset;
	__le64 page;
	__le64 version;
	__le64 reserved;
	__u8   data[DSPM_WIRE_PAGE_SIZE];
};

#define DSPM_WIRE_PAGE_DATA_SIZE	4160

/* length = 56 + count * 8 */
struct dspm_wire_invalidate {
	struct dspm_wire_hdr hdr;
	__le64 dataset;
	__le64 version;		/* of the dataset at the home after the commit */
	__le32 count;		/* 1..DSPM_WIRE_INVALIDATE_MAX */
	__le32 reserved;
	__le64 pages[];
};

#define DSPM_WIRE_INVALIDATE_SIZE	56

struct dspm_wire_invalidated {
	struct dspm_wire_hdr hdr;
	__le64 dataset;
};

#define DSPM_WIRE_INVALIDATED_SIZE	40

struct dspm_wire_unshare {
	struct dspm_wire_hdr hdr;
	__le64 dataset;
};

#define DSPM_WIRE_UNSHARE_SIZE		40

struct dspm_wire_unshared {
	struct dspm_wire_hdr hdr;
	__le64 dataset;
};

#define DSPM_WIRE_UNSHARED_SIZE		40

/*
 * One-sided reads (RDMA only; Documentation/wire-protocol.md).  PAGE_MAP
 * asks a home how to read the dataset's committed pages with RDMA READ on
 * this very connection, and records the asker as a sharer exactly as
 * PAGE_READ does; PAGE_MAP_REPLY answers with two regions the home
 * exposed to that connection only: its data area (data_addr/data_rkey,
 * data_pages pages; the dataset's page p is data page
 * extents[i].start + p - (count of the extents before i)) and the
 * dataset's 64-bit little-endian sequence word (seq_addr/seq_rkey), and
 * the word's value when the home answered (seq).  The word's high half is
 * the mapping's incarnation (changes when the dataset's table slot is
 * freed or reused), its low half is odd while a commit is being applied
 * to the dataset.  A reader READs the page and then the word, back to back
 * on the connection, and keeps the page only when the word is even,
 * carries the incarnation of seq and equals the last value it saw before
 * posting the READs (seq, or the word read by its previous READs; lacking
 * an even one, it READs the word before the page too); otherwise it
 * retries or falls back to PAGE_READ.  The keys die with the connection.
 * ERROR: ENOENT (the home has no copy of the dataset: read its zeros with
 * PAGE_READ), EOPNOTSUPP (no one-sided transport or memory), ENOBUFS (no
 * memory to record the reader), EHOSTUNREACH (the reader is not alive in
 * the home's node table).
 */
#define DSPM_WIRE_MAP_EXTENTS		16

struct dspm_wire_page_map {
	struct dspm_wire_hdr hdr;
	__le64 dataset;		/* cluster-wide id */
	__le64 reserved;
};

#define DSPM_WIRE_PAGE_MAP_SIZE		48

struct dspm_wire_map_extent {
	__le64 start;		/* first data page of the home's data area */
	__le64 count;		/* pages, > 0 */
};

struct dspm_wire_page_map_reply {
	struct dspm_wire_hdr hdr;
	__le64 dataset;
	__le64 pages;		/* of the dataset at the home; = sum of counts */
	__le64 data_addr;	/* remote address of data page 0 */
	__le64 data_pages;	/* pages readable from data_addr */
	__le64 seq_addr;	/* remote address of the sequence word */
	__le64 seq;		/* the word's value when the home answered */
	__le32 data_rkey;
	__le32 seq_rkey;
	__le32 nr_extents;	/* 1..DSPM_WIRE_MAP_EXTENTS */
	__le32 reserved;
	struct dspm_wire_map_extent extents[DSPM_WIRE_MAP_EXTENTS];
};

#define DSPM_WIRE_PAGE_MAP_REPLY_SIZE	352

/*
 * Commit of a cluster dataset: two phases, coordinated by the committing
 * node C, with every holder (home and replicas) of every page it changes
 * as a participant P (C may be one of them).
 *   C -> P  PREPARE ...      the entries for pages P holds, in one or more
 *                            messages; the last carries PREPARE_LAST.  P
 *                            locks the pages (another transaction holds
 *                            one: ERROR EAGAIN), checks VALIDATE hashes
 *                            (a page changed: ERROR ESTALE), writes the
 *                            entries to a prepare lane of its pmem and
 *                            seals it, then answers PREPARED.
 *   C                        writes its decision (the participants) to a
 *                            lane of its own pmem.
 *   C -> P  DECIDE commit    P marks its lane committed, applies it, bumps
 *                            its version of the dataset, has every reader
 *                            it served drop its copies (INVALIDATE),
 *                            unlocks, answers DECIDED.
 * Any failure before the decision: DECIDE abort to every participant that
 * may have prepared.  A participant with a lane and no decision (after its
 * own restart, or when C went silent) asks C with TXN_QUERY; C answers
 * TXN_STATE: commit while it keeps the decision, pending while the
 * transaction is in flight, abort otherwise (presumed abort).
 */
#define DSPM_WIRE_PREPARE_MAX		0x10000	/* bytes of one PREPARE */
#define DSPM_WIRE_PREPARE_LAST		0x1U
#define DSPM_WIRE_PREPARE_VALIDATE	0x2U
#define DSPM_WIRE_COMMIT		1
#define DSPM_WIRE_ABORT			2
#define DSPM_WIRE_PENDING		3

/* length = 120 + the entries, each followed by its bytes padded to 8 */
struct dspm_wire_prepare {
	struct dspm_wire_hdr hdr;
	__le64 txn;		/* coordinator-chosen, unique cluster-wide */
	__le64 dataset;		/* cluster-wide id */
	char   name[DSPM_WIRE_NAME_MAX];	/* to make the local copy */
	__le32 flags;		/* DSPM_WIRE_PREPARE_* */
	__le32 count;		/* entries, 0..; pages ascending */
};

#define DSPM_WIRE_PREPARE_SIZE		120

struct dspm_wire_prepare_entry {
	__le64 page;		/* page index in the dataset */
	__le64 base_hash;	/* VALIDATE: xxh64 of the page as C read it */
	__le32 offset;		/* in the page */
	__le32 length;		/* bytes that follow; 0 only with VALIDATE */
};

#define DSPM_WIRE_PREPARE_ENTRY_SIZE	24

struct dspm_wire_prepared {
	struct dspm_wire_hdr hdr;
	__le64 txn;
};

#define DSPM_WIRE_PREPARED_SIZE		40

struct dspm_wire_decide {
	struct dspm_wire_hdr hdr;
	__le64 txn;
	__le32 decision;	/* DSPM_WIRE_COMMIT or DSPM_WIRE_ABORT */
	__le32 reserved;
};

#define DSPM_WIRE_DECIDE_SIZE		48

struct dspm_wire_decided {
	struct dspm_wire_hdr hdr;
	__le64 txn;
	__le64 version;		/* of the dataset here after a commit, or 0 */
};

#define DSPM_WIRE_DECIDED_SIZE		48

struct dspm_wire_txn_query {
	struct dspm_wire_hdr hdr;
	__le64 txn;
};

#define DSPM_WIRE_TXN_QUERY_SIZE	40

struct dspm_wire_txn_state {
	struct dspm_wire_hdr hdr;
	__le64 txn;
	__le32 decision;	/* COMMIT, ABORT or PENDING */
	__le32 reserved;
};

#define DSPM_WIRE_TXN_STATE_SIZE	48

/*
 * Synchronisation: MRSW write ownership, cluster-wide locks and barriers
 * (Documentation/wire-protocol.md, "Synchronisation").  A node N asks the
 * manager M, answered by SYNC_REPLY with the same op:
 *   - OWN / DISOWN: M is the home of the pages' chunk.  OWN's @ranges
 *     are pages of the dataset, all homed at M; it takes them all for
 *     @token or none (result EAGAIN, holder_* name one holder in the way).
 *     DISOWN carries no ranges: everything @token owns at M goes.
 *   - LOCK / UNLOCK: M is the home of the dataset's first chunk; @key names
 *     the lock.  LOCK: EAGAIN (holder_*) or EDEADLK; UNLOCK: EPERM when
 *     @token does not hold it.
 *   - MEMBER, ARRIVE, WAIT: barriers, M as for LOCK.  @token names one
 *     open instance of the dataset on N.  MEMBER enters it in the
 *     dataset's members, ARRIVE (a member too from then on) in the current
 *     round and answers that round; WAIT @key answers 0 once round @key
 *     completed, EAGAIN (holder_* a member not yet arrived) before.  A
 *     round completes when every member on a node not dead has arrived.
 *   - RELEASE: everything @token holds at M goes (fd or instance closed).
 *   - ALIVE: asked of the node holding @key (a token): 0 while it is in
 *     use there, ESRCH once not.  A waiter asks it of the holder M named,
 *     and sends BREAK @key to M when the answer is ESRCH or the node table
 *     lists the holder's node as dead; M then drops all @key held.
 * Tokens are chosen by their node: random per boot in the upper 32 bits,
 * so a restarted node never claims its predecessor's.
 */
#define DSPM_WIRE_SYNC_OWN		1
#define DSPM_WIRE_SYNC_DISOWN		2
#define DSPM_WIRE_SYNC_LOCK		3
#define DSPM_WIRE_SYNC_UNLOCK		4
#define DSPM_WIRE_SYNC_MEMBER		5
#define DSPM_WIRE_SYNC_ARRIVE		6
#define DSPM_WIRE_SYNC_WAIT		7
#define DSPM_WIRE_SYNC_RELEASE		8
#define DSPM_WIRE_SYNC_ALIVE		9
#define DSPM_WIRE_SYNC_BREAK		10
#define DSPM_WIRE_SYNC_OP_MAX		10
#define DSPM_WIRE_SYNC_RANGES_MAX	256	/* ranges of one OWN */

struct dspm_wire_sync_range {
	__le64 first;		/* page */
	__le64 count;		/* pages, >= 1 */
};

/* length = 72 + count * 16 */
struct dspm_wire_sync {
	struct dspm_wire_hdr hdr;
	__le64 dataset;		/* cluster-wide id */
	__le64 token;		/* the requester's holder token, not 0 */
	__le64 key;		/* LOCK/UNLOCK: lock; WAIT: round; ALIVE/BREAK: token */
	__le32 op;		/* DSPM_WIRE_SYNC_* */
	__le32 count;		/* OWN: ranges that follow (>= 1); else 0 */
	__le64 reserved;
	struct dspm_wire_sync_range ranges[];
};

#define DSPM_WIRE_SYNC_SIZE		72

struct dspm_wire_sync_reply {
	struct dspm_wire_hdr hdr;
	__le64 dataset;
	__le32 op;
	__le32 result;		/* 0 or a positive errno */
	__le64 round;		/* ARRIVE: the round entered; WAIT: current */
	__le64 holder_token;	/* EAGAIN: who is in the way */
	__le32 holder_node;
	__le32 members;		/* barriers: members counted */
};

#define DSPM_WIRE_SYNC_REPLY_SIZE	72

#endif /* _UAPI_LINUX_DSPM_WIRE_H */
