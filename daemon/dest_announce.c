// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cert_text.h"
#include "connect_answer.h"
#include "connect_request.h"
#include "log.h"
#include "phase.h"
#include "plain_io.h"
#include "tls_io.h"
#include "tunnel.h"
#include "tunnel_ctx.h"
#include "worker.h"

/*
 * The destination phase of a client tunnel with a destination (docs/redirect.md,
 * "Destinations"): after the handshake, before the kTLS hand-over, through GnuTLS. It sends
 * the CONNECT request, relays what the application sends meanwhile without waiting for the
 * answer (no added round trip), and reads the relay's answer head. A 2xx answer's following
 * bytes are the origin's: they go to the application first, from plain_out, whose first
 * CONNECT_ANSWER_MAX bytes hold the head while it arrives. Any other answer resets the
 * application. It ends with nothing in flight on the plain side and plain_in and plain_out
 * empty, so the hand-over and both pumps start as they would without it.
 */

static enum verdict announce_step(struct conn *c);

static void plain_receive(struct conn *c)
{
	struct io_uring_sqe *sqe;

	if (conn_busy(c, OPS_PLAIN_RX) || c->dest_plain_eof || buf_used(&c->plain_in))
		return;
	c->plain_in.off = c->plain_in.len = 0;
	sqe = conn_sqe(c);
	io_uring_prep_recv(sqe, c->plain_fd, c->plain_in.data, c->plain_in.cap, 0);
	conn_submit(c, sqe, OP_PLAIN_RECV);
}

/* The application's receive stops here: whatever it brings is still relayed before the
 * phase ends, and the next phase receives afresh. */
static void plain_cancel(struct conn *c)
{
	struct io_uring_sqe *sqe;

	if (!conn_busy(c, OP_BIT(OP_PLAIN_RECV)) || c->dest_cancelling)
		return;
	sqe = conn_sqe(c);
	io_uring_prep_cancel64(sqe, user_data_pack(c, OP_PLAIN_RECV), 0);
	conn_submit(c, sqe, OP_CANCEL);
	c->dest_cancelling = true;
}

/* The application's bytes, encrypted into an idle tls_out (one chunk at a time, as the pump). */
static enum verdict encrypt_pending(struct conn *c)
{
	struct buf *in = &c->plain_in;

	if (conn_busy(c, OPS_TLS_TX))
		return VERDICT_AGAIN;
	while (buf_used(in)) {
		ssize_t n = gnutls_record_send(c->session, in->data + in->off, buf_used(in));

		if (n < 0)
			return conn_closef(c, REASON_IO_ERROR, "encrypt: %s", gnutls_strerror((int)n));
		in->off += (size_t)n;
	}
	tls_io_flush(c);
	return VERDICT_AGAIN;
}

static enum verdict answered(struct conn *c, const struct connect_answer *a)
{
	char reason[CONNECT_REASON_MAX];

	if (a->status >= 300 || a->status < 200) {
		cert_text_escape(a->reason, a->reason_len, reason, 96);
		return conn_closef(c, REASON_DESTINATION_REFUSED, "the relay answered %u %s",
				   a->status, reason);
	}
	c->dest_answered = true;
	/* The bytes after the head are the origin's. */
	c->plain_out.off = a->head_len;
	plain_io_flush(c);
	return VERDICT_AGAIN;
}

static enum verdict bad_answer(struct conn *c, const char *why)
{
	return conn_closef(c, REASON_BAD_ANSWER, "%s", why);
}

/* Decrypts whole records into the head window of plain_out until the head is complete. GnuTLS
 * only sees whole records (pull_limit), so that the hand-over still starts at a boundary. */
static enum verdict read_answer(struct conn *c)
{
	struct buf *out = &c->plain_out;
	struct connect_answer a;
	const char *why;
	size_t need;

	while (!c->close_notify_seen) {
		size_t whole = tls_record_whole(&c->tls_in, &need), before = c->tls_in.off;
		ssize_t n;
		int rc;

		if (!whole && !gnutls_record_check_pending(c->session))
			break;
		c->pull_limit = c->tls_in.off + whole;
		n = gnutls_record_recv(c->session, out->data + out->len, CONNECT_ANSWER_MAX - out->len);
		c->pull_limit = SIZE_MAX;
		if (n == 0) {
			c->close_notify_seen = true;
		} else if (n < 0 && gnutls_error_is_fatal((int)n)) {
			return tls_io_close(c, REASON_TLS_ERROR, (int)n, "reading the CONNECT answer: ");
		} else if (n < 0) {
			/* A session ticket or KeyUpdate, handled by GnuTLS: more may follow. */
			if (c->tls_in.off == before && !gnutls_record_check_pending(c->session))
				break;
			continue;
		}
		if (n > 0)
			out->len += (size_t)n;
		rc = connect_answer_parse(out->data, out->len, &a, &why);
		if (rc < 0)
			return bad_answer(c, why);
		if (rc > 0) {
			tls_io_flush(c);
			return answered(c, &a);
		}
	}
	tls_io_flush(c); /* a KeyUpdate reply, if one of those records asked for it */
	if (c->close_notify_seen || c->tls_rd_eof)
		return bad_answer(c, out->len ? "the relay closed in the middle of its answer" :
						"the relay closed without answering");
	tls_io_receive(c);
	return VERDICT_AGAIN;
}

static enum verdict announce_step(struct conn *c)
{
	enum verdict v;

	if (!c->dest_answered) {
		v = read_answer(c);
		if (v == VERDICT_CLOSED)
			return v;
	}
	if (encrypt_pending(c) == VERDICT_CLOSED)
		return VERDICT_CLOSED;
	if (!c->dest_answered) {
		plain_receive(c);
		return VERDICT_AGAIN;
	}
	/* Answered: finish what is under way on the plain side, then hand over. */
	plain_cancel(c);
	if (conn_busy(c, OPS_PLAIN_RX | OPS_PLAIN_TX) || buf_used(&c->plain_in))
		return VERDICT_AGAIN;
	if (buf_used(&c->plain_out)) {
		plain_io_flush(c);
		return VERDICT_AGAIN;
	}
	c->plain_out.off = c->plain_out.len = 0;
	return VERDICT_NEXT;
}

static enum verdict announce_begin(struct conn *c)
{
	const struct tunnel_ctx *ctx = c->ctx;
	char authority[CONNECT_AUTHORITY_MAX], request[CONNECT_REQUEST_OUT_MAX];
	ssize_t sent;
	int len;

	if (ctx->destination_mode == DESTINATION_NONE)
		return VERDICT_NEXT;
	if (ctx->destination_mode == DESTINATION_FIXED)
		memcpy(authority, ctx->destination_authority, sizeof(authority));
	else if (connect_authority_from_addr(&c->dst, c->dstlen, authority) < 0)
		/* The listener refuses a connection without one (listener.c); origdst.c only
		 * gives IP addresses. Kept so that no request can go out naming nothing. */
		return conn_closef(c, REASON_NO_DESTINATION, "no original destination to send");
	len = connect_request_format(request, sizeof(request), authority, &c->peer, c->peerlen);
	if (len < 0)
		return conn_closef(c, REASON_IO_ERROR, "CONNECT request: %s", strerror(-len));
	sent = gnutls_record_send(c->session, request, (size_t)len);
	if (sent != len)
		return conn_closef(c, REASON_IO_ERROR, "CONNECT request: %s",
				   sent < 0 ? gnutls_strerror((int)sent) : "sent in part");
	/* The answer gets its own deadline, as the hand-over does. */
	c->deadline_ms = c->w->now_ms + ctx->handshake_timeout_ms;
	c->plain_out.off = c->plain_out.len = 0;
	tls_io_flush(c);
	return announce_step(c);
}

static enum verdict on_tls_recv(struct conn *c, int res)
{
	res = tls_io_received(c, res);
	if (res < 0)
		return conn_fail_io(c, "tls recv", res);
	return announce_step(c);
}

static enum verdict on_tls_send(struct conn *c, int res)
{
	res = tls_io_sent(c, res);
	if (res < 0)
		return conn_close(c, conn_error_reason(-res));
	return res ? VERDICT_AGAIN : announce_step(c);
}

static enum verdict on_plain_recv(struct conn *c, int res)
{
	if (res == -ECANCELED)
		return announce_step(c);
	if (res < 0)
		return conn_fail_io(c, "plain recv", res);
	/* End of stream is left in the socket: the pump's receive sees it again and ends that
	 * direction as it always does. */
	if (res == 0) {
		c->dest_plain_eof = true;
		return announce_step(c);
	}
	c->plain_in.len = (size_t)res;
	conn_count_bytes(c, true, (size_t)res, PAYLOAD_USERSPACE);
	return announce_step(c);
}

static enum verdict on_plain_send(struct conn *c, int res)
{
	res = plain_io_sent(c, res);
	if (res < 0)
		return conn_fail_io(c, "plain send", res);
	return res ? VERDICT_AGAIN : announce_step(c);
}

const struct phase dest_announce_phase = {
	.name = "CONNECT answer",
	.state = CONN_HANDSHAKE, /* bounded by the handshake timeout (conn_check_timers) */
	.begin = announce_begin,
	.on = {
		[OP_TLS_RECV] = on_tls_recv,
		[OP_TLS_SEND] = on_tls_send,
		[OP_PLAIN_RECV] = on_plain_recv,
		[OP_PLAIN_SEND] = on_plain_send,
	},
};
