// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "cert_text.h"
#include "conn.h"
#include "log.h"
#include "peers.h"
#include "resolver.h"
#include "ring.h"
#include "tunnel.h"
#include "tunnel_ctx.h"
#include "worker.h"

/* Buffer sizes: big enough that one syscall moves many 16 KiB records; the per-operation cost
 * (submission, wake-up, task work) is then small beside the per-byte cost. tls_out has slack
 * beyond one encrypted chunk for the record overhead and the occasional alert or KeyUpdate
 * reply queued while a send is in flight. The block is one mapping of its own, left untouched
 * until used, so an idle connection costs little resident memory, and unmapped at close, so the
 * pages a connection touched go back to the kernel. From malloc a block this size comes out of
 * an arena once the first one is freed (glibc raises its mmap threshold), and the pages that
 * thousands of short connections touch at scattered places there stay resident for good. */
#define PLAIN_CHUNK (256 * 1024)
#define TLS_IN_SIZE (256 * 1024 + 8192)
#define TLS_OUT_SIZE (PLAIN_CHUNK + 16 * 1024)
#define BUFFERS_SIZE (TLS_IN_SIZE + TLS_OUT_SIZE + 2 * PLAIN_CHUNK)

static uint64_t next_conn_id;

static int conn_alloc_buffers(struct conn *c)
{
	uint8_t *mem = mmap(NULL, BUFFERS_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (mem == MAP_FAILED)
		return -ENOMEM;
	/* Where transparent huge pages are "always", neighbouring blocks merge into one mapping
	 * and khugepaged would make a whole 2 MiB resident around any touched page of it. */
	madvise(mem, BUFFERS_SIZE, MADV_NOHUGEPAGE);
	c->buffers = mem;
	c->tls_in = (struct buf){ .data = mem, .cap = TLS_IN_SIZE };
	c->tls_out = (struct buf){ .data = mem + TLS_IN_SIZE, .cap = TLS_OUT_SIZE };
	c->plain_in = (struct buf){ .data = c->tls_out.data + TLS_OUT_SIZE, .cap = PLAIN_CHUNK };
	c->plain_out = (struct buf){ .data = c->plain_in.data + PLAIN_CHUNK, .cap = PLAIN_CHUNK };
	return 0;
}

static void conn_link(struct conn *c)
{
	struct worker *w = c->w;

	pthread_mutex_lock(&w->conns_lock);
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->n_conns++;
	pthread_mutex_unlock(&w->conns_lock);
}

static void conn_unlink(struct conn *c)
{
	struct worker *w = c->w;

	pthread_mutex_lock(&w->conns_lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->n_conns--;
	pthread_mutex_unlock(&w->conns_lock);
}

static void set_linger_zero(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

/* The accept reserved a slot under max-connections: give it back, and let the worker's loop
 * serve connections held for one once this completion batch is done. */
static void slot_return(struct worker *w, struct tunnel *t)
{
	tunnel_release(t);
	w->slot_freed = true;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void conn_free(struct conn *c)
{
	struct tunnel *t = c->t;
	struct worker *w = c->w;

	/* Unlinked first: the control thread may use the fds of listed connections only. */
	conn_unlink(c);
	close_fd(&c->tls_fd);
	close_fd(&c->plain_fd);
	close_fd(&c->pipe[0]);
	close_fd(&c->pipe[1]);
	tls13_rec_clear(&c->rec);
	free(c->dest_alts);
	if (c->session)
		gnutls_deinit(c->session);
	tunnel_ctx_put(c->ctx);
	if (c->slot) /* an accepted connection, or a pooled one taken: counted in live */
		__atomic_fetch_sub(&t->live, 1, __ATOMIC_RELAXED);
	if (c->buffers)
		munmap(c->buffers, BUFFERS_SIZE);
	if (c->slot)
		slot_return(w, t);
	free(c);
}

/* dst may be NULL: none. The caller holds the worker's conns_lock once c is listed. */
static void dst_store(struct conn *c, const struct sockaddr_storage *dst, socklen_t dstlen)
{
	if (dst) {
		c->dst = *dst;
		c->dstlen = dstlen;
	}
}

void conn_set_dst(struct conn *c, const struct sockaddr_storage *dst, socklen_t dstlen, int rule)
{
	pthread_mutex_lock(&c->w->conns_lock);
	dst_store(c, dst, dstlen);
	c->dest_rule = rule;
	pthread_mutex_unlock(&c->w->conns_lock);
}

/* Everything conn_free undoes is set before anything can fail, so that a half-built
 * connection is freed the same way as a closed one. fd < 0: a pooled connection. */
static struct conn *conn_make(struct worker *w, struct tunnel *t, int fd,
			      const struct sockaddr_storage *peer, socklen_t peerlen,
			      const struct sockaddr_storage *dst, socklen_t dstlen)
{
	struct conn *c = aligned_alloc(USER_DATA_ALIGN, sizeof(*c));
	char addr[ADDR_TEXT_MAX];

	if (!c) {
		log_err("[%s] out of memory for connection from %s", t->name,
			addr_format((const struct sockaddr *)peer, peerlen, addr));
		if (fd >= 0) {
			set_linger_zero(fd);
			close(fd);
			slot_return(w, t);
		}
		return NULL;
	}
	*c = (struct conn){ .w = w, .t = t, .tls_fd = -1, .plain_fd = -1,
			    .pipe = { -1, -1 }, .pull_limit = SIZE_MAX,
			    .peer = *peer, .peerlen = peerlen, .started_ms = w->now_ms, .dest_rule = -1,
			    .target = -1,
			    .active_ms = w->now_ms, .slot = fd >= 0 };
	if (t->mode == MODE_SERVER)
		c->tls_fd = fd;
	else
		c->plain_fd = fd;
	c->ctx = tunnel_acquire_ctx(t);
	c->verdict.ctx = c->ctx;
	dst_store(c, dst, dstlen); /* not listed yet: no lock */
	c->id = __atomic_add_fetch(&next_conn_id, 1, __ATOMIC_RELAXED);
	peer_cert_describe(NULL, NULL, &c->cert);
	conn_link(c);
	if (c->slot) /* a pooled connection counts from its take (conn_adopt) */
		__atomic_fetch_add(&t->live, 1, __ATOMIC_RELAXED);
	if (conn_alloc_buffers(c) < 0) {
		log_err("[%s] out of memory for connection from %s", t->name,
			addr_format((const struct sockaddr *)peer, peerlen, addr));
		set_linger_zero(fd);
		conn_free(c);
		return NULL;
	}
	return c;
}

static void plain_side_setup(struct conn *c, int fd, const struct sockaddr_storage *peer)
{
	stat_add(&conn_stats(c)->conns_total, 1);
	if (peer->ss_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
}

struct conn *conn_new(struct worker *w, struct tunnel *t, int fd, const struct sockaddr_storage *peer,
		      socklen_t peerlen, const struct sockaddr_storage *dst, socklen_t dstlen)
{
	struct conn *c = conn_make(w, t, fd, peer, peerlen, dst, dstlen);

	if (c)
		plain_side_setup(c, fd, peer);
	return c;
}

struct conn *conn_new_pooled(struct worker *w, struct tunnel *t)
{
	static const struct sockaddr_storage none = { .ss_family = AF_UNSPEC };
	struct conn *c = conn_make(w, t, -1, &none, 0, NULL, 0);

	if (c) {
		c->pooled = true;
		c->pooled_ms = w->now_ms;
	}
	return c;
}

void conn_adopt(struct conn *c, int fd, const struct sockaddr_storage *peer, socklen_t peerlen,
		const struct sockaddr_storage *dst, socklen_t dstlen)
{
	/* c is listed: the control thread's `ktunctl conns` reads these fields (and may use
	 * plain_fd) under the lock. */
	pthread_mutex_lock(&c->w->conns_lock);
	c->plain_fd = fd;
	c->peer = *peer;
	c->peerlen = peerlen;
	dst_store(c, dst, dstlen);
	/* The connection's life, for its close line, starts with the application's. */
	c->started_ms = c->active_ms = c->w->now_ms;
	pthread_mutex_unlock(&c->w->conns_lock);
	c->slot = true;
	__atomic_fetch_add(&c->t->live, 1, __ATOMIC_RELAXED);
	c->pooled = false;
	plain_side_setup(c, fd, peer);
}

enum reason conn_error_reason(int err)
{
	return err == ECONNRESET || err == EPIPE ? REASON_RESET : REASON_IO_ERROR;
}

enum verdict conn_closef(struct conn *c, enum reason reason, const char *fmt, ...)
{
	va_list ap;

	if (c->state == CONN_CLOSING)
		return VERDICT_CLOSED;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	return conn_close(c, reason);
}

enum verdict conn_fail_io(struct conn *c, const char *what, int res)
{
	if (!res)
		return conn_closef(c, REASON_IO_ERROR, "%s: no progress", what);
	return conn_closef(c, conn_error_reason(-res), "%s: %s", what, strerror(-res));
}

struct tunnel_stats *conn_stats(struct conn *c)
{
	return &c->t->stats[c->w->id];
}

struct io_uring_sqe *conn_sqe(struct conn *c)
{
	return ring_sqe(&c->w->ring);
}

void conn_sqe_reserve(struct conn *c, unsigned n)
{
	ring_reserve(&c->w->ring, n);
}

void conn_op_started(struct conn *c, enum op op)
{
	c->inflight++;
	c->ops |= OP_BIT(op);
}

void conn_submit(struct conn *c, struct io_uring_sqe *sqe, enum op op)
{
	io_uring_sqe_set_data64(sqe, user_data_pack(c, op));
	c->inflight++;
	if (op != OP_CANCEL && op != OP_CONNECT_TIMEOUT)
		c->ops |= OP_BIT(op);
}

/* Freed by the worker's loop after the completion batch, never inside a handler: the
 * handler's caller may still read c, and a freed slot must not start another connection's
 * handshake in the middle of this one's close. */
static void conn_retire(struct conn *c)
{
	c->closed_next = c->w->closed;
	c->w->closed = c;
}

void conn_submit_quiet(struct conn *c, struct io_uring_sqe *sqe, enum op op)
{
	sqe->flags |= IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
	conn_submit(c, sqe, op);
	c->quiet++;
}

/* A chain's operations run in order. When its splice out completes, every quiet splice in
 * before it has succeeded, posting nothing. When a quiet one fails instead, the kernel cancels
 * the rest of the chain, splice out included, and posts nothing for them either
 * (REQ_F_SKIP_LINK_CQES): that completion ends the whole chain. */
static void quiet_done(struct conn *c, enum op op)
{
	if (op != OP_P2T_SPLICE_IN && op != OP_P2T_SPLICE_OUT)
		return;
	c->inflight -= c->quiet; /* the quiet ones not heard of (and the splice out) */
	c->quiet = 0;
	c->ops &= ~OP_BIT(op == OP_P2T_SPLICE_IN ? OP_P2T_SPLICE_OUT : OP_P2T_SPLICE_IN);
}

void conn_op_done(struct conn *c, enum op op)
{
	c->inflight--;
	c->ops &= ~OP_BIT(op);
	quiet_done(c, op);
	if (c->state == CONN_CLOSING && !c->inflight)
		conn_retire(c);
}

void conn_count_bytes(struct conn *c, bool p2t, size_t n, enum payload_path path)
{
	bool up = (c->ctx->mode == MODE_CLIENT) == p2t;
	uint64_t *counter = p2t ? &c->bytes_p2t : &c->bytes_t2p;

	__atomic_store_n(counter, *counter + n, __ATOMIC_RELAXED);
	stat_add(up ? &conn_stats(c)->bytes_up : &conn_stats(c)->bytes_down, n);
	if (path == PAYLOAD_USERSPACE)
		stat_add(&conn_stats(c)->payload_userspace, n);
	else if (path == PAYLOAD_COPIED)
		stat_add(&conn_stats(c)->payload_copied, n);
}

enum verdict conn_end_if_done(struct conn *c)
{
	if (c->tls_wr_shut && c->plain_wr_shut)
		return conn_close(c, REASON_DONE);
	return VERDICT_AGAIN;
}

const char *conn_dst_text(const struct conn *c, char buf[static CONN_DST_TEXT_MAX])
{
	char addr[ADDR_TEXT_MAX];

	buf[0] = '\0';
	if (c->ctx->mode == MODE_CLIENT && c->ctx->destination_mode == DESTINATION_FIXED)
		snprintf(buf, CONN_DST_TEXT_MAX, " dst=%s", c->ctx->destination_authority);
	else if (c->dstlen)
		snprintf(buf, CONN_DST_TEXT_MAX, " dst=%s",
			 addr_format((const struct sockaddr *)&c->dst, c->dstlen, addr));
	return buf;
}

const char *conn_rule_text(const struct conn *c, char buf[static CONN_RULE_TEXT_MAX])
{
	static const char key[] = " rule=\"";
	const char *text;

	buf[0] = '\0';
	if (!c->dstlen || c->dest_rule < 0 || (size_t)c->dest_rule >= c->ctx->n_dests)
		return buf;
	/* The operator's text, but a '"' in a cn= value would still end the value. */
	text = c->ctx->dests[c->dest_rule].text;
	memcpy(buf, key, sizeof(key));
	cert_text_escape(text, strlen(text), buf + sizeof(key) - 1,
			 CONN_RULE_TEXT_MAX - sizeof(key) - 1);
	strcat(buf, "\"");
	return buf;
}

static void log_close(const struct conn *c, bool rejected)
{
	bool server = c->ctx->mode == MODE_SERVER;
	char addr[ADDR_TEXT_MAX], dst[CONN_DST_TEXT_MAX], rule[CONN_RULE_TEXT_MAX];
	int64_t ms = c->w->now_ms - c->started_ms;

	/* Rejections carry their detail on the reject line; other failures carry it here. */
	bool detail = c->detail[0] && c->reason != REASON_DONE && !rejected;

	log_info("[%s] close peer=%s%s id=\"%s\" up=%llu down=%llu dur=%lld.%03lld reason=%s%s%s%s%s",
		 c->t->name, addr_format((const struct sockaddr *)&c->peer, c->peerlen, addr),
		 conn_dst_text(c, dst), c->cert.id, (unsigned long long)(server ? c->bytes_t2p : c->bytes_p2t),
		 (unsigned long long)(server ? c->bytes_p2t : c->bytes_t2p),
		 (long long)(ms / 1000), (long long)(ms % 1000), reason_name(c->reason),
		 detail ? " detail=\"" : "", detail ? c->detail : "", detail ? "\"" : "",
		 conn_rule_text(c, rule));
}

static void log_reject(const struct conn *c)
{
	char addr[ADDR_TEXT_MAX];

	const struct peer_cert *pc = &c->cert;

	/* What was presented, verified or not: the operator needs to know whom they refused. */
	if (pc->present)
		log_warn("[%s] reject peer=%s reason=%s detail=\"%s\" id=\"%s\" serial=%s issuer=\"%s\" "
			 "sha256=%s", c->t->name,
			 addr_format((const struct sockaddr *)&c->peer, c->peerlen, addr),
			 reason_name(c->reason), c->detail[0] ? c->detail : c->verdict.detail, pc->id,
			 pc->serial, pc->issuer, pc->sha256);
	else
		log_warn("[%s] reject peer=%s reason=%s detail=\"%s\"", c->t->name,
			 addr_format((const struct sockaddr *)&c->peer, c->peerlen, addr),
			 reason_name(c->reason), c->detail[0] ? c->detail : c->verdict.detail);
}

/* Best effort, never blocking: an alert or close_notify that GnuTLS queued, so the peer
 * learns why. If the socket buffer is full the peer learns from the reset instead. */
static void send_queued_records(struct conn *c)
{
	if (c->tls_fd < 0 || conn_busy(c, OPS_TLS_TX) || !buf_used(&c->tls_out))
		return;
	if (send(c->tls_fd, c->tls_out.data + c->tls_out.off, buf_used(&c->tls_out),
		 MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return;
}

/* The same for a kTLS socket, whose close_notify is a record the kernel encrypts. */
static void send_ktls_close_notify(struct conn *c)
{
	if (c->bye_queued || conn_busy(c, OPS_TLS_TX))
		return;
	tls_record_close_notify(&c->tx_msg);
	c->bye_queued = true;
	if (sendmsg(c->tls_fd, &c->tx_msg.msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return;
}

static void discard_pending_input(int fd)
{
	char sink[4096];

	for (int i = 0; i < 16; i++)
		if (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) <= 0)
			break;
}

static void close_sockets_for(struct conn *c, enum conn_state was)
{
	if (!reason_resets(c->reason)) {
		/* A graceful end we chose (idle, drain): tell a TLS peer with close_notify. */
		if (c->ktls) {
			send_ktls_close_notify(c);
			return;
		}
		/* (REQUEST: a server's request-timeout; POOLED: a client's pool-idle or reload.) */
		if ((was == CONN_STREAMING || was == CONN_REQUEST || was == CONN_POOLED) &&
		    !c->bye_queued && c->session)
			tls13_rec_bye(&c->rec, c->session, false);
		send_queued_records(c);
		if (c->answered)
			discard_pending_input(c->tls_fd); /* as below: keep the answer from a reset */
		return;
	}
	set_linger_zero(c->plain_fd);
	if ((was == CONN_HANDSHAKE || c->answered) && c->session && c->tls_fd >= 0) {
		/* A refused TLS peer gets the alert (a refused CONNECT request its HTTP answer)
		 * and a normal close, so it can read why. Unread input would turn the close
		 * into a reset that destroys the alert. */
		send_queued_records(c);
		discard_pending_input(c->tls_fd);
		return;
	}
	set_linger_zero(c->tls_fd);
}

void conn_cancel_op(struct conn *c, enum op op)
{
	struct io_uring_sqe *sqe = conn_sqe(c);

	io_uring_prep_cancel64(sqe, user_data_pack(c, op), 0);
	conn_submit(c, sqe, OP_CANCEL);
}

/* Cancels by user_data, not by fd: a splice's file is its output, so a splice from a socket
 * into a pipe would escape a cancel by the socket's fd and wait for data forever. */
static void cancel_ops(struct conn *c)
{
	uint64_t ops = c->ops;

	for (enum op op = 0; op < OP_MAX; op++) {
		if (!(ops & OP_BIT(op)))
			continue;
		if (op == OP_RESOLVE) { /* no SQE: the resolver answers, at once if still queued */
			resolver_cancel(c->resolving);
			continue;
		}
		conn_cancel_op(c, op);
	}
}

/* A connection refused by its handshake or hand-over. A TLS 1.3 client learns of its
 * refusal only once streaming (the server's alert follows the client's Finished), so in a
 * TLS 1.3 client a TLS failure before the server sent any data is a refusal too; anything
 * else once streaming is a failed connection, not a failed handshake. */
static bool is_rejection(const struct conn *c, enum reason reason, enum conn_state was)
{
	if (!reason_is_reject(reason))
		return false;
	if (was == CONN_HANDSHAKE || was == CONN_HANDOVER)
		return c->session != NULL; /* none: our setup failed, nobody was refused */
	if (was == CONN_POOLED) /* as streaming before any data: an alert after our Finished */
		return true;
	return was == CONN_STREAMING && c->ctx->mode == MODE_CLIENT && c->version &&
	       !strcmp(c->version, "TLS1.3") && !__atomic_load_n(&c->bytes_t2p, __ATOMIC_RELAXED);
}

enum verdict conn_close(struct conn *c, enum reason reason)
{
	struct tunnel_stats *st = conn_stats(c);
	enum conn_state was = c->state;
	bool rejected;

	if (was == CONN_CLOSING)
		return VERDICT_CLOSED;
	rejected = is_rejection(c, reason, was);
	__atomic_store_n(&c->state, CONN_CLOSING, __ATOMIC_RELAXED);
	c->reason = reason;
	if (rejected) {
		/* A refused handshake never reached handshake_done: name what the peer presented
		 * on the reject and close lines all the same. */
		if (!c->cert.present && c->session) {
			pthread_mutex_lock(&c->w->conns_lock);
			verify_peer_cert(c->session, &c->cert);
			pthread_mutex_unlock(&c->w->conns_lock);
		}
		stat_add(&st->reject[reason], 1);
		log_reject(c);
		peers_rejected(c->t->name, c->cert.id, time(NULL));
	} else if (c->version) {
		/* It completed its handshake (handshake_done counted it). */
		bool server = c->ctx->mode == MODE_SERVER;
		uint64_t p2t = __atomic_load_n(&c->bytes_p2t, __ATOMIC_RELAXED);
		uint64_t t2p = __atomic_load_n(&c->bytes_t2p, __ATOMIC_RELAXED);

		peers_closed(c->t->name, c->cert.id, server ? t2p : p2t, server ? p2t : t2p, time(NULL));
	}
	stat_add(&st->close[reason], 1);
	log_close(c, rejected);
	close_sockets_for(c, was);
	if (c->inflight)
		cancel_ops(c);
	else
		conn_retire(c);
	return VERDICT_CLOSED;
}

/*
 * While draining, an authenticated connection with no request byte gets DRAIN_REQUEST_GRACE_MS
 * from the drain's start or from its entering REQUEST, whichever is later: enough for a
 * client whose request is one round trip in flight (its handshake ended as the drain began),
 * short enough that an idle one (a pooled connection) does not hold the drain.
 */
#define DRAIN_REQUEST_GRACE_MS 1000

static bool drain_grace_over(const struct conn *c)
{
	const struct worker *w = c->w;
	int64_t from = w->drain_started_ms > c->request_ms ? w->drain_started_ms : c->request_ms;

	return w->draining && !c->plain_out.len && !c->resolving &&
	       w->now_ms >= from + DRAIN_REQUEST_GRACE_MS;
}

void conn_check_timers(struct conn *c)
{
	int64_t now = c->w->now_ms;

	/* A client past its handshake waits for the answer to its CONNECT (dest_announce.c):
	 * the far side was verified, so this is no refusal of it. */
	if (c->state == CONN_HANDSHAKE && c->version && now >= c->deadline_ms)
		conn_closef(c, REASON_BAD_ANSWER, "no answer to the CONNECT request within %u s",
			    c->ctx->handshake_timeout_ms / 1000);
	else if (c->state == CONN_HANDSHAKE && now >= c->deadline_ms)
		conn_closef(c, REASON_HANDSHAKE_TIMEOUT, "no complete handshake within %u s",
			    c->ctx->handshake_timeout_ms / 1000);
	else if (c->state == CONN_REQUEST && now >= c->deadline_ms && c->resolving)
		conn_closef(c, REASON_CONNECT_TIMEOUT, "name lookup of %s took longer than %u s "
			    "(with the request, from its first byte)", c->resolving->host,
			    c->ctx->handshake_timeout_ms / 1000);
	else if (c->state == CONN_REQUEST && drain_grace_over(c))
		conn_closef(c, REASON_SHUTDOWN, "draining, and no request came within %d s",
			    DRAIN_REQUEST_GRACE_MS / 1000);
	else if (c->state == CONN_REQUEST && now >= c->deadline_ms && !c->plain_out.len)
		/* An idle authenticated connection (a client's pooled one nobody took). */
		conn_closef(c, REASON_REQUEST_TIMEOUT, "no CONNECT request within %u s of the "
			    "handshake", c->ctx->request_timeout_ms / 1000);
	else if (c->state == CONN_REQUEST && now >= c->deadline_ms)
		conn_closef(c, REASON_HANDSHAKE_TIMEOUT, "no complete CONNECT request within %u s "
			    "of its first byte", c->ctx->handshake_timeout_ms / 1000);
	else if (c->state == CONN_POOLED && now - c->pooled_ms >= c->ctx->pool_idle_ms)
		conn_close(c, REASON_POOL_IDLE);
	else if (c->state == CONN_HANDOVER && now >= c->deadline_ms)
		conn_closef(c, REASON_HANDSHAKE_TIMEOUT,
			    "peer stalled inside a record at the kTLS hand-over");
	else if (c->state == CONN_STREAMING && c->ctx->idle_timeout_ms &&
		 now - c->active_ms >= c->ctx->idle_timeout_ms)
		conn_close(c, REASON_IDLE_TIMEOUT);
}

bool conn_idle(const struct conn *c)
{
	return c->state == CONN_STREAMING && c->w->now_ms - c->active_ms >= CONN_IDLE_MS;
}

void conn_release_buffers(struct conn *c)
{
	/* Anonymous private pages: the next touch maps a zeroed page, so nothing can read
	 * stale data, and the kernel takes the pages back now rather than under pressure
	 * (MADV_FREE), which is what an operator watching RSS would expect. */
	if (madvise(c->buffers, BUFFERS_SIZE, MADV_DONTNEED) < 0)
		log_debug("[%s] madvise(MADV_DONTNEED) of a connection's buffers: %m", c->t->name);
}
