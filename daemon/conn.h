/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_CONN_H
#define KTUN_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <gnutls/gnutls.h>
#include <linux/time_types.h>
#include <time.h>

#include "addr.h"
#include "buf.h"
#include "reason.h"
#include "tls_hs_walk.h"
#include "uring_data.h"
#include "verify.h"

struct worker;
struct io_uring_sqe;
struct tunnel;
struct tunnel_ctx;

/*
 * One tunnelled connection: an accepted socket and the socket ktund opened for it. The TLS
 * side carries records, the plain side carries plaintext.
 *   server: accept(TLS) -> HANDSHAKE -> CONNECTING(target) -> STREAMING -> CLOSING
 *   client: accept(plain) -> CONNECTING(far ktund) -> HANDSHAKE -> STREAMING -> CLOSING
 * Owned by one worker. At most one operation of each kind is in flight; CLOSING waits for
 * all of them to complete (after cancelling) before the memory is freed.
 */
enum conn_state { CONN_CONNECTING, CONN_HANDSHAKE, CONN_HANDOVER, CONN_STREAMING, CONN_CLOSING };

enum { P2T, T2P }; /* the two directions: plain to TLS, TLS to plain */

/* recvmsg/sendmsg of one TLS record with its type in a cmsg (kTLS control records). */
struct record_msg {
	struct msghdr msg;
	struct iovec iov;
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(uint8_t))];
	} control;
	uint8_t body[2]; /* an alert: level, description */
};

struct conn {
	struct worker *w;
	struct tunnel *t;
	struct tunnel_ctx *ctx;
	struct conn *prev, *next;
	uint64_t id;          /* unique in this process, for ktunctl conns */
	enum conn_state state;
	enum reason reason;
	int tls_fd, plain_fd;
	unsigned inflight;   /* every SQE submitted for this conn and not yet completed */
	unsigned ops;        /* bit per ud_op in flight, for the data and connect ops */
	gnutls_session_t session;
	struct peer_verdict verdict;
	struct buf tls_in, tls_out, plain_in, plain_out;
	bool tls_rd_eof, plain_rd_eof;  /* the socket returned end of file */
	bool close_notify_seen, bye_queued;
	bool tls_wr_shut, plain_wr_shut;
	int64_t started_ms, deadline_ms, active_ms;
	struct timespec hs_started; /* for the handshake-duration histogram */
	uint64_t bytes_p2t, bytes_t2p; /* atomic stores: ktunctl conns reads them */
	struct __kernel_timespec connect_timeout;
	/* kernel TLS (pump_ktls.c) */
	bool ktls;            /* both directions are in the kernel */
	bool rx_control;      /* the TLS receive in flight is a recvmsg for a non-data record */
	int pipes[2][2];      /* per direction: read end, write end; -1 until kTLS starts */
	size_t piped[2];      /* bytes waiting in each pipe */
	unsigned polling;     /* bit per ud_op: what is in flight is a POLL_ADD before its splice */
	size_t pull_limit;    /* tls_pull hands GnuTLS nothing past this offset of tls_in */
	bool pull_starved;    /* tls_pull had nothing to give: GnuTLS needs more from the peer */
	uint64_t tx_records;  /* records sent under the kernel's current TX key (upper bound) */
	struct tls_hs_walk hs_walk; /* post-handshake messages across kTLS handshake records */
	struct record_msg rx_msg, tx_msg;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	struct sockaddr_storage dst; /* client mode: where a steered connection was going */
	socklen_t dstlen;            /* 0: it came to the listener itself */
	char identity[256];   /* set once, under the worker's conns_lock */
	const char *version, *cipher; /* static names from GnuTLS, set with identity */
	char detail[192];
} __attribute__((aligned(16)));

/* Takes ownership of fd and of the tunnel slot the accept reserved. dst (or NULL) is the
 * original destination of a steered connection (origdst.c). */
void conn_accepted(struct worker *w, struct tunnel *t, int fd, const struct sockaddr_storage *peer,
		   socklen_t peerlen, const struct sockaddr_storage *dst, socklen_t dstlen);
/* " dst=ADDR" for the log and ktunctl conns, or "" for a connection made to the listener. */
const char *conn_dst_text(const struct conn *c, char buf[static ADDR_TEXT_MAX + 5]);
/* The single way a connection ends. Idempotent: the first reason wins. */
void conn_close(struct conn *c, enum reason reason);
void conn_on_cqe(struct conn *c, enum ud_op op, int res);
/* Enforces the handshake deadline and the idle timeout; called once a second. */
void conn_check_timers(struct conn *c);

/* conn.c helpers for the state files */
enum reason conn_error_reason(int err);
/* Ends c because an I/O operation (what) failed with res, a negative errno, or made no
 * progress (res 0); the error goes into the close line's detail. */
void conn_fail_io(struct conn *c, const char *what, int res);
void conn_submit(struct conn *c, struct io_uring_sqe *sqe, enum ud_op op);
/* The counters of c's tunnel that c's worker (and only it) writes. */
struct tunnel_stats *conn_stats(struct conn *c);
static inline bool conn_op_busy(const struct conn *c, enum ud_op op)
{
	return c->ops & (1u << op);
}

/* handshake.c: the TLS side's transport and the handshake */
int handshake_start(struct conn *c);
void handshake_step(struct conn *c);
void handshake_tls_received(struct conn *c, int res);
/* Fills c->detail with what + GnuTLS's reason, naming the alert when the peer sent one. */
void tls_error_text(struct conn *c, int rc, const char *what);
/* Sends what GnuTLS queued in tls_out, if no send is in flight. */
void tls_flush(struct conn *c);
/* Arms a receive into tls_in, if none is in flight and the peer has not ended. */
void tls_receive(struct conn *c);
/* Accounts a completed send: negative errno, 1 if more is in flight, 0 when all is out. */
int tls_sent(struct conn *c, int res);

/* connect.c */
void connect_start(struct conn *c);
void connect_done(struct conn *c, int res);

/* pump_ktls.c: hand-over to kernel TLS and the splice data path */
void ktls_handover_start(struct conn *c);
void ktls_on_cqe(struct conn *c, enum ud_op op, int res);
void ktls_close_notify_now(struct conn *c);
void ktls_release(struct conn *c);

/* pump.c: the userspace GnuTLS data path */
void pump_start_userspace(struct conn *c);
void pump_count_bytes(struct conn *c, bool p2t, size_t n, bool via_userspace);
void pump_maybe_done(struct conn *c);
/* Sends plain_out to the plain side, if no send is in flight. */
void pump_plain_flush(struct conn *c);
void pump_start(struct conn *c);
void pump_tls_received(struct conn *c, int res);
void pump_tls_sent(struct conn *c);
void pump_plain_received(struct conn *c, int res);
void pump_plain_sent(struct conn *c, int res);

#endif
