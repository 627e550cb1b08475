// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/tls.h>

#include "conn.h"
#include "daemon.h"
#include "log.h"
#include "tls_names.h"
#include "tunnel.h"
#include "tunnel_ctx.h"
#include "worker.h"

/*
 * Kernel TLS. After the handshake, GnuTLS's keys go to the socket and the payload moves by
 * splice through one pipe per direction, never through our buffers:
 *   plain fd --SPLICE--> pipe --SPLICE--> kTLS fd      kTLS fd --SPLICE--> pipe --SPLICE--> plain fd
 * The hand-over happens at a record boundary with nothing pending in GnuTLS: records that
 * arrived with the handshake are decrypted in userspace and delivered first, and a record
 * we had read only in part is completed with exact-size reads. Non-data records (alerts,
 * session tickets, KeyUpdate) make splice fail with EINVAL; they are read with recvmsg and
 * their type from the cmsg.
 */

#define SPLICE_CHUNK (64 * 1024)
#define TLS_RECORD_HEADER 5
#define TLS_MAX_PLAINTEXT 16384
#define RECORD_NONE 0 /* recvmsg returned no record type */
#define RECORD_ALERT 21
#define RECORD_HANDSHAKE 22
#define RECORD_DATA 23
/* Half of GnuTLS's own rekey point (2^24 records): the count is an upper bound, and this
 * kernel cannot rekey in place, so the connection ends cleanly before the AEAD limit. */
#define TX_RECORD_LIMIT (1ull << 23)

/* Bytes at the head of b that form whole records; *need is what the next one lacks. */
static size_t whole_records(const struct buf *b, size_t *need)
{
	const uint8_t *p = b->data + b->off;
	size_t used = buf_used(b), done = 0;

	*need = 0;
	while (used - done >= TLS_RECORD_HEADER) {
		size_t len = TLS_RECORD_HEADER + ((size_t)p[done + 3] << 8 | p[done + 4]);

		if (used - done < len) {
			*need = len - (used - done);
			return done;
		}
		done += len;
	}
	if (used > done)
		*need = TLS_RECORD_HEADER - (used - done);
	return done;
}

/* The hand-over */

/* Decrypts the records that came with the handshake; true while their delivery is pending. */
static bool deliver_early_records(struct conn *c)
{
	struct buf *out = &c->plain_out;
	size_t need;

	out->off = out->len = 0;
	while (buf_room(out) && !c->close_notify_seen) {
		size_t whole = whole_records(&c->tls_in, &need), before = c->tls_in.off;
		ssize_t n;

		if (!whole && !gnutls_record_check_pending(c->session))
			break;
		c->pull_limit = c->tls_in.off + whole;
		n = gnutls_record_recv(c->session, out->data + out->len, buf_room(out));
		c->pull_limit = SIZE_MAX;
		if (n > 0)
			out->len += (size_t)n;
		else if (n == 0)
			c->close_notify_seen = true;
		else if (gnutls_error_is_fatal((int)n)) {
			tls_error_text(c, (int)n, "decrypt: ");
			conn_close(c, REASON_TLS_ERROR);
			return true;
		} else if (c->tls_in.off == before)
			break;
	}
	tls_flush(c); /* a KeyUpdate reply, if one of those records asked for it */
	if (!buf_used(out))
		return conn_op_busy(c, UD_TLS_SEND);
	pump_plain_flush(c);
	return true;
}

static void stay_in_userspace(struct conn *c, const char *why)
{
	if (c->ctx->ktls == KTLS_REQUIRED) {
		snprintf(c->detail, sizeof(c->detail), "ktls = required: %s", why);
		conn_close(c, REASON_KTLS_UNAVAILABLE);
		return;
	}
	if (!__atomic_exchange_n(&c->t->ktls_fallback_logged, true, __ATOMIC_RELAXED))
		log_notice("[%s] a connection cannot use kTLS (%s): it and any like it use the "
			   "userspace data path", c->t->name, why);
	pump_start_userspace(c);
}

static int open_pipes(struct conn *c)
{
	for (int d = 0; d < 2; d++)
		if (pipe2(c->pipes[d], O_CLOEXEC) < 0)
			return -errno;
	return 0;
}

/* The splices must not block (see splice_between); TCP's splice read and the sends into a
 * socket go by the file's O_NONBLOCK, not by SPLICE_F_NONBLOCK. */
static int set_nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* Both directions' keys are in the kernel now, and the session still holds its own copies
 * (keys, IVs, TLS 1.3 traffic secrets): free it now, not when the connection ends, which
 * may be days later. Nothing on the kTLS path reads it: identity, version and cipher names
 * were taken at the handshake, the PROXY header has gone, alerts go by cmsg. */
static void release_session(struct conn *c)
{
	gnutls_deinit(c->session);
	c->session = NULL;
}

static void p2t_splice_in(struct conn *c);
static void t2p_splice_in(struct conn *c);

static void switch_to_kernel(struct conn *c)
{
	gnutls_protocol_t version = gnutls_protocol_get_version(c->session);
	gnutls_cipher_algorithm_t cipher = gnutls_cipher_get(c->session);
	char why[160];
	int rc;

	if (!ktls_can_offload(&c->w->k->ktls, version, cipher)) {
		snprintf(why, sizeof(why), "the kernel does not offload %s with %s",
			 tls_cipher_name(cipher), tls_version_name(version));
		stay_in_userspace(c, why);
		return;
	}
	rc = open_pipes(c);
	if (rc == 0)
		rc = ktls_attach(c->tls_fd);
	if (rc == 0)
		rc = ktls_install(c->tls_fd, c->session, false);
	if (rc < 0) {
		/* Without keys, a socket with the ULP attached still carries plain TCP. */
		ktls_release(c);
		snprintf(why, sizeof(why), "kTLS setup: %s", strerror(-rc));
		stay_in_userspace(c, why);
		return;
	}
	rc = ktls_install(c->tls_fd, c->session, true);
	if (rc < 0) {
		snprintf(c->detail, sizeof(c->detail), "kTLS RX after TX: %s", strerror(-rc));
		conn_close(c, REASON_IO_ERROR);
		return;
	}
	rc = set_nonblocking(c->tls_fd);
	if (rc == 0)
		rc = set_nonblocking(c->plain_fd);
	if (rc < 0) {
		snprintf(c->detail, sizeof(c->detail), "O_NONBLOCK for splice: %s", strerror(-rc));
		conn_close(c, REASON_IO_ERROR);
		return;
	}
	release_session(c);
	__atomic_store_n(&c->ktls, true, __ATOMIC_RELAXED);
	__atomic_store_n(&c->state, CONN_STREAMING, __ATOMIC_RELAXED);
	stat_add(&conn_stats(c)->conns_ktls, 1);
	p2t_splice_in(c);
	t2p_splice_in(c);
}

static void receive_exactly(struct conn *c, size_t need)
{
	struct io_uring_sqe *sqe;

	buf_reset_if_empty(&c->tls_in);
	buf_compact(&c->tls_in);
	sqe = worker_sqe(c->w);
	io_uring_prep_recv(sqe, c->tls_fd, c->tls_in.data + c->tls_in.len, need, 0);
	conn_submit(c, sqe, UD_TLS_RECV);
}

static void handover_step(struct conn *c)
{
	size_t need;

	if (conn_op_busy(c, UD_TLS_SEND) || conn_op_busy(c, UD_TLS_RECV) ||
	    conn_op_busy(c, UD_PLAIN_SEND))
		return;
	if (buf_used(&c->tls_out)) {
		tls_flush(c);
		return;
	}
	if (deliver_early_records(c) || c->state == CONN_CLOSING)
		return;
	if (c->close_notify_seen || c->tls_rd_eof) {
		/* The peer has finished sending already; the userspace path ends it properly. */
		pump_start_userspace(c);
		return;
	}
	whole_records(&c->tls_in, &need);
	if (need) {
		receive_exactly(c, need);
		return;
	}
	switch_to_kernel(c);
}

void ktls_handover_start(struct conn *c)
{
	/* The hand-over gets its own deadline: the handshake's was set when it began, and in
	 * server mode the connect to the target has taken some of it since. */
	c->deadline_ms = c->w->now_ms + c->ctx->handshake_timeout_ms;
	c->state = CONN_HANDOVER;
	handover_step(c);
}

static void handover_cqe(struct conn *c, enum ud_op op, int res)
{
	switch (op) {
	case UD_TLS_RECV:
		if (res < 0) {
			conn_close(c, conn_error_reason(-res));
			return;
		}
		if (res == 0)
			c->tls_rd_eof = true;
		c->tls_in.len += (size_t)res;
		break;
	case UD_TLS_SEND:
		res = tls_sent(c, res);
		if (res < 0)
			conn_close(c, conn_error_reason(-res));
		if (res)
			return;
		break;
	case UD_PLAIN_SEND:
		if (res < 0) {
			conn_close(c, conn_error_reason(-res));
			return;
		}
		pump_count_bytes(c, false, (size_t)res, true);
		c->plain_out.off += (size_t)res;
		if (buf_used(&c->plain_out)) {
			pump_plain_flush(c);
			return;
		}
		break;
	default:
		return;
	}
	handover_step(c);
}

/* plain -> kernel TLS */

/* A close_notify alert: a record of type alert, which the kernel encrypts like data. */
static void prepare_close_notify(struct record_msg *m)
{
	struct cmsghdr *cmsg;

	m->body[0] = GNUTLS_AL_WARNING;
	m->body[1] = GNUTLS_A_CLOSE_NOTIFY;
	m->iov = (struct iovec){ m->body, 2 };
	m->msg = (struct msghdr){ .msg_iov = &m->iov, .msg_iovlen = 1,
				  .msg_control = m->control.buf, .msg_controllen = sizeof(m->control.buf) };
	cmsg = CMSG_FIRSTHDR(&m->msg);
	cmsg->cmsg_level = SOL_TLS;
	cmsg->cmsg_type = TLS_SET_RECORD_TYPE;
	cmsg->cmsg_len = CMSG_LEN(sizeof(uint8_t));
	*CMSG_DATA(cmsg) = RECORD_ALERT;
}

static void send_close_notify(struct conn *c)
{
	struct record_msg *m = &c->tx_msg;
	struct io_uring_sqe *sqe;

	prepare_close_notify(m);
	c->bye_queued = true;
	sqe = worker_sqe(c->w);
	io_uring_prep_sendmsg(sqe, c->tls_fd, &m->msg, MSG_NOSIGNAL);
	conn_submit(c, sqe, UD_TLS_SEND);
}

void ktls_close_notify_now(struct conn *c)
{
	if (c->bye_queued || conn_op_busy(c, UD_TLS_SEND))
		return;
	prepare_close_notify(&c->tx_msg);
	c->bye_queued = true;
	if (sendmsg(c->tls_fd, &c->tx_msg.msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return;
}

/*
 * io_uring runs every splice on an io-wq thread (the op cannot be polled), where a blocking
 * splice would sleep until its socket is ready: one kernel thread per waiting splice, two per
 * idle connection. So splices never block (SPLICE_F_NONBLOCK, and O_NONBLOCK on the sockets,
 * which TCP's splice read and the send side go by); on EAGAIN a POLL_ADD waits for the socket
 * without a thread and the splice is issued again when it fires. The poll carries the
 * splice's own user_data, so "op in flight" and cancelling by user_data cover both.
 */
static void splice_between(struct conn *c, int from, int to, size_t len, enum ud_op op)
{
	struct io_uring_sqe *sqe = worker_sqe(c->w);

	io_uring_prep_splice(sqe, from, -1, to, -1, (unsigned)len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	conn_submit(c, sqe, op);
}

static void poll_then_splice(struct conn *c, int fd, unsigned events, enum ud_op op)
{
	struct io_uring_sqe *sqe = worker_sqe(c->w);

	io_uring_prep_poll_add(sqe, fd, events);
	c->polling |= 1u << op;
	conn_submit(c, sqe, op);
}

static void p2t_splice_in(struct conn *c)
{
	if (conn_op_busy(c, UD_PLAIN_RECV) || c->piped[P2T] || c->plain_rd_eof || c->bye_queued)
		return;
	splice_between(c, c->plain_fd, c->pipes[P2T][1], SPLICE_CHUNK, UD_PLAIN_RECV);
}

static void p2t_splice_out(struct conn *c)
{
	if (conn_op_busy(c, UD_TLS_SEND) || !c->piped[P2T])
		return;
	splice_between(c, c->pipes[P2T][0], c->tls_fd, c->piped[P2T], UD_TLS_SEND);
}

static void p2t_in_done(struct conn *c, int res)
{
	if (res == -EAGAIN) {
		poll_then_splice(c, c->plain_fd, POLLIN, UD_PLAIN_RECV);
		return;
	}
	if (res < 0) {
		conn_fail_io(c, "plain splice", res);
		return;
	}
	if (res == 0) {
		c->plain_rd_eof = true;
		if (!conn_op_busy(c, UD_TLS_SEND))
			send_close_notify(c);
		return;
	}
	c->piped[P2T] += (size_t)res;
	p2t_splice_out(c);
}

static void p2t_out_done(struct conn *c, int res)
{
	if (c->bye_queued) {
		/* The close_notify's sendmsg: without it the peer would see a truncation, so a
		 * failure is the connection's error, not a clean end. A full send buffer (the
		 * socket is non-blocking) is waited out like a splice's. */
		if (res == -EAGAIN) {
			poll_then_splice(c, c->tls_fd, POLLOUT, UD_TLS_SEND);
			return;
		}
		if (res < 0) {
			conn_fail_io(c, "close_notify", res);
			return;
		}
		shutdown(c->tls_fd, SHUT_WR);
		c->tls_wr_shut = true;
		pump_maybe_done(c);
		return;
	}
	if (res == -EAGAIN) {
		poll_then_splice(c, c->tls_fd, POLLOUT, UD_TLS_SEND);
		return;
	}
	if (res <= 0) {
		conn_fail_io(c, "kTLS splice", res);
		return;
	}
	/* Counted once sent: what sat in the pipe when a connection was reset never left. */
	pump_count_bytes(c, true, (size_t)res, false);
	c->piped[P2T] -= (size_t)res;
	c->tx_records += ((size_t)res + TLS_MAX_PLAINTEXT - 1) / TLS_MAX_PLAINTEXT;
	if (c->tx_records >= TX_RECORD_LIMIT) {
		snprintf(c->detail, sizeof(c->detail), "%llu records under one key; this kernel "
			 "cannot rekey a kTLS socket", (unsigned long long)c->tx_records);
		conn_close(c, REASON_KEY_LIMIT);
		return;
	}
	if (c->piped[P2T])
		p2t_splice_out(c);
	else if (c->plain_rd_eof)
		send_close_notify(c);
	else
		p2t_splice_in(c);
}

/* kernel TLS -> plain */

static void t2p_splice_in(struct conn *c)
{
	if (conn_op_busy(c, UD_TLS_RECV) || c->piped[T2P] || c->close_notify_seen ||
	    buf_used(&c->plain_out))
		return;
	splice_between(c, c->tls_fd, c->pipes[T2P][1], SPLICE_CHUNK, UD_TLS_RECV);
}

/* tls_in is idle once the kernel decrypts: it takes the record's body. A recvmsg that meets
 * data records returns as many as fit, and t2p_control_done copies those to plain_out: so
 * no more than plain_out holds is asked for, whatever the kernel returns. */
static void receive_control_record(struct conn *c, int flags)
{
	struct record_msg *m = &c->rx_msg;
	size_t len = c->tls_in.cap < c->plain_out.cap ? c->tls_in.cap : c->plain_out.cap;
	struct io_uring_sqe *sqe;

	m->iov = (struct iovec){ c->tls_in.data, len };
	m->msg = (struct msghdr){ .msg_iov = &m->iov, .msg_iovlen = 1,
				  .msg_control = m->control.buf, .msg_controllen = sizeof(m->control.buf) };
	/* No cmsg from a previous record may be read as this one's. */
	memset(m->control.buf, 0, sizeof(m->control.buf));
	c->rx_control = true;
	sqe = worker_sqe(c->w);
	io_uring_prep_recvmsg(sqe, c->tls_fd, &m->msg, flags);
	conn_submit(c, sqe, UD_TLS_RECV);
}

static void rx_error(struct conn *c, int res)
{
	if (res == 0) {
		snprintf(c->detail, sizeof(c->detail), "TLS peer ended without close_notify");
		conn_close(c, REASON_TRUNCATED);
	} else if (res == -EKEYEXPIRED) {
		snprintf(c->detail, sizeof(c->detail), "peer changed keys (KeyUpdate)");
		conn_close(c, REASON_KEY_UPDATE);
	} else if (res == -EBADMSG || res == -EMSGSIZE) {
		snprintf(c->detail, sizeof(c->detail), "kTLS: %s", strerror(-res));
		conn_close(c, REASON_TLS_ERROR);
	} else {
		conn_fail_io(c, "kTLS recv", res);
	}
}

static void t2p_splice_out(struct conn *c)
{
	splice_between(c, c->pipes[T2P][0], c->plain_fd, c->piped[T2P], UD_PLAIN_SEND);
}

static void t2p_in_done(struct conn *c, int res)
{
	if (res == -EAGAIN) {
		poll_then_splice(c, c->tls_fd, POLLIN, UD_TLS_RECV);
		return;
	}
	if (res == -EINVAL) {
		receive_control_record(c, 0);
		return;
	}
	if (res == 0) {
		/* The end of the stream, or an empty data record (allowed, and padding-only in
		 * TLS 1.3), which splice consumes and reports as 0 too. recvmsg tells them apart
		 * without waiting: see t2p_control_done. */
		receive_control_record(c, MSG_DONTWAIT);
		return;
	}
	if (res < 0) {
		rx_error(c, res);
		return;
	}
	c->piped[T2P] += (size_t)res;
	t2p_splice_out(c);
}

static uint8_t record_type(const struct msghdr *msg)
{
	for (struct cmsghdr *cmsg = CMSG_FIRSTHDR((struct msghdr *)msg); cmsg;
	     cmsg = CMSG_NXTHDR((struct msghdr *)msg, cmsg))
		if (cmsg->cmsg_level == SOL_TLS && cmsg->cmsg_type == TLS_GET_RECORD_TYPE)
			return *CMSG_DATA(cmsg);
	return RECORD_NONE;
}

static void on_alert(struct conn *c, const uint8_t *body, int len)
{
	char alert[TLS_ALERT_TEXT_MAX];

	if (len >= 2 && body[1] == GNUTLS_A_CLOSE_NOTIFY) {
		c->close_notify_seen = true;
		shutdown(c->plain_fd, SHUT_WR);
		c->plain_wr_shut = true;
		pump_maybe_done(c);
		return;
	}
	snprintf(c->detail, sizeof(c->detail), "peer sent alert: %s",
		 len >= 2 ? tls_alert_text(body[1], alert) : "(short)");
	conn_close(c, REASON_TLS_ERROR);
}

/* Session tickets are skipped (ktund does not resume sessions), however they are packed
 * or split; a KeyUpdate or anything else closes. Returns 0 or -1 when it closed. */
static int on_handshake_record(struct conn *c, const uint8_t *body, size_t len)
{
	uint8_t type = 0;

	switch (tls_hs_walk(&c->hs_walk, body, len, &type)) {
	case TLS_HS_TICKETS:
		return 0;
	case TLS_HS_KEY_UPDATE:
		snprintf(c->detail, sizeof(c->detail), "peer sent KeyUpdate; this kernel cannot "
			 "rekey a kTLS socket in place (Linux 6.14 can)");
		conn_close(c, REASON_KEY_UPDATE);
		return -1;
	default:
		snprintf(c->detail, sizeof(c->detail), "unexpected handshake message %u", type);
		conn_close(c, REASON_TLS_ERROR);
		return -1;
	}
}

static void t2p_control_done(struct conn *c, int res)
{
	const uint8_t *body = c->tls_in.data;
	uint8_t type = record_type(&c->rx_msg.msg);

	c->rx_control = false;
	if (res == -EAGAIN) {
		t2p_splice_in(c); /* empty records only, and nothing after them yet */
		return;
	}
	if (res == 0 && type == RECORD_DATA) {
		/* Empty data records, then a record of another type, which recvmsg leaves queued
		 * for the next call. The end of the stream gives 0 with no record type. */
		receive_control_record(c, MSG_DONTWAIT);
		return;
	}
	if (res <= 0) {
		rx_error(c, res);
		return;
	}
	switch (type) {
	case RECORD_ALERT:
		on_alert(c, body, res);
		return;
	case RECORD_HANDSHAKE:
		if (on_handshake_record(c, body, (size_t)res) < 0)
			return;
		break;
	case RECORD_NONE:
	case RECORD_DATA:
		/* Data that recvmsg returned along the way: deliver it from our buffer. */
		memcpy(c->plain_out.data, body, (size_t)res);
		c->plain_out.off = 0;
		c->plain_out.len = (size_t)res;
		pump_plain_flush(c);
		return;
	default:
		snprintf(c->detail, sizeof(c->detail), "unexpected record type %u", type);
		conn_close(c, REASON_TLS_ERROR);
		return;
	}
	t2p_splice_in(c);
}

static void t2p_out_done(struct conn *c, int res)
{
	bool from_buffer = buf_used(&c->plain_out) > 0;

	if (res == -EAGAIN) {
		poll_then_splice(c, c->plain_fd, POLLOUT, UD_PLAIN_SEND);
		return;
	}
	if (res <= 0) {
		conn_fail_io(c, "plain send", res);
		return;
	}
	pump_count_bytes(c, false, (size_t)res, from_buffer);
	if (from_buffer) {
		c->plain_out.off += (size_t)res;
		if (buf_used(&c->plain_out)) {
			pump_plain_flush(c);
			return;
		}
		c->plain_out.off = c->plain_out.len = 0;
	} else {
		c->piped[T2P] -= (size_t)res;
		if (c->piped[T2P]) {
			t2p_splice_out(c);
			return;
		}
	}
	t2p_splice_in(c);
}

/* A POLL_ADD armed after EAGAIN fired: the socket is ready (or failed, which the splice
 * reports in its own words), so the waiting operation runs again. */
static void poll_fired(struct conn *c, enum ud_op op, int res)
{
	c->polling &= ~(1u << op);
	if (res < 0) {
		snprintf(c->detail, sizeof(c->detail), "poll: %s", strerror(-res));
		conn_close(c, REASON_IO_ERROR);
		return;
	}
	switch (op) {
	case UD_PLAIN_RECV:
		p2t_splice_in(c);
		break;
	case UD_TLS_SEND:
		if (c->bye_queued)
			send_close_notify(c);
		else
			p2t_splice_out(c);
		break;
	case UD_TLS_RECV:
		t2p_splice_in(c);
		break;
	case UD_PLAIN_SEND:
		if (buf_used(&c->plain_out))
			pump_plain_flush(c);
		else
			t2p_splice_out(c);
		break;
	default:
		break;
	}
}

void ktls_on_cqe(struct conn *c, enum ud_op op, int res)
{
	if (c->state == CONN_HANDOVER) {
		handover_cqe(c, op, res);
		return;
	}
	if (c->polling & (1u << op)) {
		poll_fired(c, op, res);
		return;
	}
	switch (op) {
	case UD_PLAIN_RECV:
		p2t_in_done(c, res);
		break;
	case UD_TLS_SEND:
		p2t_out_done(c, res);
		break;
	case UD_TLS_RECV:
		if (c->rx_control)
			t2p_control_done(c, res);
		else
			t2p_in_done(c, res);
		break;
	case UD_PLAIN_SEND:
		t2p_out_done(c, res);
		break;
	default:
		break;
	}
}

void ktls_release(struct conn *c)
{
	for (int d = 0; d < 2; d++)
		for (int e = 0; e < 2; e++)
			if (c->pipes[d][e] >= 0) {
				close(c->pipes[d][e]);
				c->pipes[d][e] = -1;
			}
}
