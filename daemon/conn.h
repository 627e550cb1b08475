/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_CONN_H
#define KTUN_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <gnutls/gnutls.h>
#include <liburing.h>
#include <linux/time_types.h>
#include <time.h>

#include "addr.h"
#include "buf.h"
#include "connect_request.h"
#include "dest_rule.h"
#include "peer_cert.h"
#include "reason.h"
#include "resolver.h"
#include "tls_hs_walk.h"
#include "tls_record.h"
#include "tls13_rec.h"
#include "user_data.h"
#include "verify.h"

struct worker;
struct phase;
struct resolve_req;
struct tunnel;
struct tunnel_ctx;

/* server, from-client: the addresses a name resolved to after the first, which passed the
 * allow rules too, to try in order when a connect fails (connect.c). */
struct dest_alts {
	size_t n, next;
	struct sockaddr_storage addrs[RESOLVE_ALTS_MAX];
	socklen_t lens[RESOLVE_ALTS_MAX];
	int rules[RESOLVE_ALTS_MAX];
};

/*
 * One tunnelled connection: an accepted socket and the socket ktund opened for it. The TLS
 * side carries records, the plain side carries plaintext. Its phases, in the order phase.c
 * runs them:
 *   server: accept(TLS) -> HANDSHAKE -> REQUEST -> CONNECTING(target) -> HANDOVER -> STREAMING -> CLOSING
 *           (REQUEST reads the CONNECT request of a target = from-client tunnel, else passes)
 *   client: accept(plain) -> CONNECTING(far ktund) -> HANDSHAKE -> [POOLED] -> HANDOVER -> STREAMING -> CLOSING
 *           (with pool, the worker starts connections without an accepted socket: they wait
 *           in POOLED until an accepted one joins them, conn_adopt; pool.c)
 * Owned by one worker. At most one operation per I/O slot (OPS_* below) is in flight.
 * CLOSING waits for every operation to complete (after cancelling them); the worker frees the
 * connection after the completion batch in which the last one came back.
 */
enum conn_state { CONN_CONNECTING, CONN_HANDSHAKE, CONN_REQUEST, CONN_POOLED, CONN_HANDOVER,
		  CONN_STREAMING, CONN_CLOSING };

/* What a phase's handler leaves the connection in: waiting for more completions, done with
 * the phase (phase.c begins the next), or closed. */
enum verdict { VERDICT_AGAIN, VERDICT_NEXT, VERDICT_CLOSED };

enum { P2T, T2P }; /* the two directions: plain to TLS, TLS to plain */

/* The four I/O slots: the operations that may use each, of which one at a time is in flight. */
#define OPS_TLS_RX (OP_BIT(OP_TLS_RECV) | OP_BIT(OP_T2P_RECV) | OP_BIT(OP_T2P_IN_POLL))

#define OPS_TLS_TX (OP_BIT(OP_TLS_SEND) | OP_BIT(OP_P2T_SPLICE_OUT) | OP_BIT(OP_P2T_OUT_POLL) | \
		    OP_BIT(OP_CLOSE_NOTIFY))
#define OPS_PLAIN_RX (OP_BIT(OP_PLAIN_RECV) | OP_BIT(OP_P2T_SPLICE_IN) | OP_BIT(OP_P2T_IN_POLL))
#define OPS_PLAIN_TX (OP_BIT(OP_PLAIN_SEND) | OP_BIT(OP_T2P_OUT_POLL))

struct conn {
	struct worker *w;
	struct tunnel *t;
	struct tunnel_ctx *ctx;
	struct conn *prev, *next; /* the worker's list, which ktunctl conns reads */
	struct conn *closed_next; /* the worker's list of closed connections to free */
	uint64_t id;          /* unique in this process, for ktunctl conns */
	enum conn_state state;
	const struct phase *phase; /* the phase whose table handles completions (phase.c) */
	unsigned step;             /* its place in the mode's sequence */
	enum reason reason;
	int tls_fd, plain_fd;
	unsigned inflight;   /* every SQE submitted for this conn and not yet completed */
	uint64_t ops;        /* OP_BIT per operation in flight (not cancels or link timeouts) */
	gnutls_session_t session;
	struct peer_verdict verdict;
	struct buf tls_in, tls_out, plain_in, plain_out;
	uint8_t *buffers;     /* the one mapping they lie in (the kTLS pump swaps two of them) */
	bool tls_rd_eof, plain_rd_eof;  /* the socket returned end of file */
	bool close_notify_seen, bye_queued;
	bool tls_wr_shut, plain_wr_shut;
	/* userspace pump (pump.c): TLS 1.3 records of our own (tls13_rec.c) while rec_on */
	bool rec_on;
	struct tls13_rec rec;
	int64_t started_ms, deadline_ms, active_ms;
	int64_t request_ms;  /* server: when it entered REQUEST (the drain's grace counts from it) */
	struct timespec hs_started; /* for the handshake-duration histogram */
	uint64_t bytes_p2t, bytes_t2p; /* atomic stores: ktunctl conns reads them */
	struct __kernel_timespec connect_timeout;
	/* kernel TLS (pump_ktls.c) */
	bool ktls;            /* both directions are in the kernel */
	int pipe[2];          /* plain -> kTLS: read end, write end; -1 until kTLS starts */
	size_t piped;         /* bytes waiting in the pipe */
	size_t pipe_cap;      /* its capacity (F_SETPIPE_SZ grows it for bulk data) */
	bool pipe_grow_tried; /* F_SETPIPE_SZ was tried (once, refused or not) */
	unsigned quiet;       /* quiet splices in flight not heard of */
	size_t p2t_asked;     /* bytes the P2T chain in flight asked of the plain socket, 0 if none */
	/* kTLS -> plain: a recvmsg that completed while plain_out was still being sent, held
	 * (its bytes in tls_in, its record type in rx_msg) until that send is done */
	bool t2p_held;
	int t2p_held_res;
	bool t2p_eio_retry;   /* the last recvmsg gave EIO and was issued again (pump_ktls.c) */
	bool t2p_parking;     /* idle: the recvmsg is being cancelled to free the buffers */
	size_t pull_limit;    /* tls_io hands GnuTLS nothing past this offset of tls_in */
	bool pull_starved;    /* tls_io had nothing to give: GnuTLS needs more from the peer */
	uint64_t tx_records;  /* records sent under the kernel's current TX key (upper bound) */
	struct tls_hs_walk hs_walk; /* post-handshake messages across kTLS handshake records */
	bool resumed;         /* the handshake resumed a session (a ticket) */
	bool ticket_stored;   /* client: a ticket from this connection went into the cache */
	uint32_t ticket_lifetime; /* client: of the NewSessionTicket GnuTLS is reading */
	struct record_msg rx_msg, tx_msg;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	struct sockaddr_storage dst; /* client mode: where a steered connection was going; */
	socklen_t dstlen;            /* server, from-client: the allowed destination. 0: none */
	/* client destination (dest_announce.c): the relay's answer head is complete, the
	 * application's end of stream came during the phase, a cancel of its recv is out */
	bool dest_answered, dest_plain_eof, dest_cancelling;
	struct sockaddr_storage fwd; /* server, from-client: the request's Forwarded for= */
	socklen_t fwdlen;            /* 0: it named none */
	int dest_rule;               /* server, from-client: the allow-destination rule, or -1 */
	bool answered;               /* an HTTP refusal is queued in tls_out: close, not reset */
	/* connect.c: the fixed target (index into ctx->targets) this connect goes to, or -1,
	 * and a bit per target tried; from-client: the other allowed addresses of the name */
	int target;
	uint32_t targets_tried;
	struct dest_alts *dest_alts;
	struct resolve_req *resolving; /* the name lookup in flight (OP_RESOLVE), or NULL */
	struct peer_cert cert; /* the peer's leaf: set once, under the worker's conns_lock */
	const char *version, *cipher; /* static names from GnuTLS, set with cert */
	/* client pool (pool.c): made by the pool and not yet taken by an accepted connection;
	 * ready (in its worker's list, pool_list.c) once established; since when; the list */
	bool pooled, pool_ready;
	bool slot; /* holds a max-connections slot (an accepted connection's) */
	bool evicted; /* closed to give its slot to a held connection (evict.c) */
	int64_t pooled_ms;
	struct conn *pool_prev, *pool_next;
	char detail[192];
} __attribute__((aligned(USER_DATA_ALIGN)));

/* A connection for fd, accepted by t's listener on w; takes ownership of fd and of the
 * tunnel slot the accept reserved. dst (or NULL) is the original destination of a steered
 * connection (origdst.c). NULL when out of memory: fd is reset and the slot given back. */
struct conn *conn_new(struct worker *w, struct tunnel *t, int fd, const struct sockaddr_storage *peer,
		      socklen_t peerlen, const struct sockaddr_storage *dst, socklen_t dstlen);
/* A connection the client pool starts (pool.c) on w for client tunnel t: no accepted socket,
 * no slot under max-connections. NULL when out of memory (logged). */
struct conn *conn_new_pooled(struct worker *w, struct tunnel *t);
/* An accepted socket fd, with the slot its accept reserved, joins the pooled connection c,
 * which from now on serves it as if conn_new had made it. */
void conn_adopt(struct conn *c, int fd, const struct sockaddr_storage *peer, socklen_t peerlen,
		const struct sockaddr_storage *dst, socklen_t dstlen);
/* A from-client server connection's destination, allowed by its dests rule `rule` (worker
 * thread; takes the conns_lock, as `ktunctl conns` reads both). */
void conn_set_dst(struct conn *c, const struct sockaddr_storage *dst, socklen_t dstlen, int rule);
/*
 * The single way a connection ends: counts and logs it, tells the peers, cancels what is in
 * flight. The first reason wins; later calls do nothing. c stays valid until the worker's
 * loop frees it after the current completion batch, so a caller may still read it.
 */
enum verdict conn_close(struct conn *c, enum reason reason);
/* conn_close with the close line's detail. */
enum verdict conn_closef(struct conn *c, enum reason reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Ends c because an I/O operation (what) failed with res, a negative errno, or made no
 * progress (res 0). */
enum verdict conn_fail_io(struct conn *c, const char *what, int res);
/* Frees a closed connection with nothing in flight, or one conn_new could not finish.
 * The worker's loop only. */
void conn_free(struct conn *c);
/* Enforces the handshake deadline and the idle timeout; called once a second. */
void conn_check_timers(struct conn *c);
/* A streaming connection with no completion for this long is idle: its phase may give
 * memory back (phase_idle) until the next completion. */
#define CONN_IDLE_MS 2000
bool conn_idle(const struct conn *c);
/* Gives the pages of c's buffer block back to the kernel: only when no operation in flight
 * reads or writes any of its buffers. They read as zeroes when next touched. */
void conn_release_buffers(struct conn *c);
/* " dst=ADDR" for the log and ktunctl conns, or "" for a connection made to the listener;
 * a client tunnel with a fixed destination: " dst=HOST:PORT", what its CONNECT names. */
#define CONN_DST_TEXT_MAX (CONNECT_AUTHORITY_MAX + 5)
const char *conn_dst_text(const struct conn *c, char buf[static CONN_DST_TEXT_MAX]);
/* ' rule="TEXT"' for a destination an allow-destination rule gave (server, from-client), the
 * rule's text escaped (up to 4 bytes each), else "". A field for the end of a line. */
#define CONN_RULE_TEXT_MAX (4 * DEST_RULE_TEXT_MAX + 10)
const char *conn_rule_text(const struct conn *c, char buf[static CONN_RULE_TEXT_MAX]);

/* For the phase files */
void conn_submit(struct conn *c, struct io_uring_sqe *sqe, enum op op);
/* Cancels c's operation op in flight (by user_data); it completes with -ECANCELED, or with
 * its own result if the cancel came too late. */
void conn_cancel_op(struct conn *c, enum op op);
/* Accounts an operation that completes without an SQE (OP_RESOLVE) as in flight. */
void conn_op_started(struct conn *c, enum op op);
/* Accounts a completed operation; a closed connection whose last one it was goes to the
 * worker's list to free. */
void conn_op_done(struct conn *c, enum op op);
/* Submits sqe (an OP_P2T_SPLICE_IN) as a quiet link of a chain: IOSQE_CQE_SKIP_SUCCESS and
 * IOSQE_IO_LINK, so it completes only if it fails (for a splice: moves less than asked), and
 * then the rest of the chain is cancelled without completions: its completion ends the chain.
 * The chain must end with the OP_P2T_SPLICE_OUT, which completes only when every quiet one
 * succeeded. */
void conn_submit_quiet(struct conn *c, struct io_uring_sqe *sqe, enum op op);
/* How payload bytes crossed ktund: spliced (never in its memory), decrypted by the kernel and
 * copied through a buffer of ktund's, or encrypted/decrypted in userspace (GnuTLS or ktund's
 * own records). */
enum payload_path { PAYLOAD_SPLICED, PAYLOAD_COPIED, PAYLOAD_USERSPACE };
/* Payload bytes moved in one direction (p2t: plain to TLS). */
void conn_count_bytes(struct conn *c, bool p2t, size_t n, enum payload_path path);
/* Closes c as done once both directions have ended; else VERDICT_AGAIN. */
enum verdict conn_end_if_done(struct conn *c);
enum reason conn_error_reason(int err);
/* The counters of c's tunnel that c's worker (and only it) writes. */
struct tunnel_stats *conn_stats(struct conn *c);
struct io_uring_sqe *conn_sqe(struct conn *c);
/* Room for n SQEs of c's that must be submitted together (a linked chain). */
void conn_sqe_reserve(struct conn *c, unsigned n);

static inline bool conn_busy(const struct conn *c, uint64_t ops)
{
	return c->ops & ops;
}

#endif
