// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "phase.h"
#include "plain_io.h"
#include "tls13_rec.h"
#include "tls_io.h"
#include "tunnel.h"
#include "tunnel_ctx.h"

/*
 * The userspace data path: GnuTLS encrypts and decrypts, io_uring moves the bytes.
 *   plain -> TLS: recv into plain_in, encrypt all of it into tls_out, send; the next recv is
 *                 armed as soon as plain_in is free, so reading overlaps sending.
 *   TLS -> plain: recv into tls_in (read ahead while the previous plaintext is being sent),
 *                 decrypt as many records as fit into plain_out, send.
 * End of stream crosses over: plain EOF becomes close_notify then FIN; close_notify becomes
 * FIN on the plain side. The connection is done when both directions are.
 */

static void plain_receive(struct conn *c)
{
	struct io_uring_sqe *sqe;

	if (conn_busy(c, OPS_PLAIN_RX) || c->plain_rd_eof || buf_used(&c->plain_in))
		return;
	c->plain_in.off = c->plain_in.len = 0;
	sqe = conn_sqe(c);
	io_uring_prep_recv(sqe, c->plain_fd, c->plain_in.data, c->plain_in.cap, 0);
	conn_submit(c, sqe, OP_PLAIN_RECV);
}

/* plain -> TLS */

/* Calls GnuTLS (fn) on c's session with our records' state handed over and taken back
 * after: GnuTLS may have read a record, sent one (a KeyUpdate reply, close_notify) or
 * changed keys. A session whose state cannot be taken back stays with GnuTLS. */
static void rec_give_back(struct conn *c)
{
	if (c->rec_on && tls13_rec_give_back(&c->rec, c->session) < 0) {
		tls13_rec_clear(&c->rec);
		c->rec_on = false;
	}
}

/* GnuTLS's records from here on: it gets our state, and our cipher contexts go (a cleared
 * rec is what tls13_rec_bye and the idle park take as "not ours"). */
static void rec_stop(struct conn *c)
{
	rec_give_back(c);
	tls13_rec_clear(&c->rec);
	c->rec_on = false;
}

static void rec_take_back(struct conn *c)
{
	if (c->rec_on && tls13_rec_load(&c->rec, c->session) < 0)
		c->rec_on = false;
}

/* Our cipher contexts again, if pump_idle parked them. */
static void rec_unpark(struct conn *c)
{
	if (c->rec_on && tls13_rec_parked(&c->rec))
		rec_take_back(c);
}

/* Seals all of plain_in into tls_out as records of our own; negative errno on failure. */
static int seal_pending(struct conn *c)
{
	struct buf *in = &c->plain_in, *out = &c->tls_out;

	buf_compact(out); /* no send in flight: encrypt_pending waits for it */
	/* Through GnuTLS while it owes a record, and until GnuTLS has shown that the peer takes
	 * records of 2^14 bytes (a short send: the peer limits them, and keeps GnuTLS's). */
	while (buf_used(in) && (c->rec.gnutls_owes || !c->rec.full_size_ok)) {
		size_t n = buf_used(in) < TLS_MAX_PLAINTEXT ? buf_used(in) : TLS_MAX_PLAINTEXT;
		ssize_t sent = tls13_rec_send_via_gnutls(&c->rec, c->session, in->data + in->off, n);

		if (sent < 0)
			return -EPROTO;
		in->off += (size_t)sent;
		if (c->rec.peer_limits) {
			rec_stop(c);
			return 0;
		}
	}
	while (buf_used(in)) {
		size_t n = buf_used(in) < TLS_MAX_PLAINTEXT ? buf_used(in) : TLS_MAX_PLAINTEXT;
		ssize_t w;

		if (buf_room(out) < n + TLS13_OVERHEAD)
			return -ENOBUFS; /* tls_out holds a whole chunk's records: a broken invariant */
		w = tls13_seal(&c->rec.wr, in->data + in->off, n, out->data + out->len);
		if (w == -EKEYEXPIRED) {
			if (tls13_rec_rekey(&c->rec, c->session) < 0)
				return -EPROTO;
			continue;
		}
		if (w < 0)
			return (int)w;
		out->len += (size_t)w;
		in->off += n;
	}
	return 0;
}

static enum verdict encrypt_pending(struct conn *c)
{
	struct buf *in = &c->plain_in;

	/* Encrypt only into an idle tls_out: one chunk in flight bounds the memory per direction. */
	if (conn_busy(c, OPS_TLS_TX) || c->tls_wr_shut)
		return VERDICT_AGAIN;
	rec_unpark(c);
	if (c->rec_on) {
		int rc = seal_pending(c);

		if (rc < 0)
			return conn_closef(c, REASON_IO_ERROR, "encrypt: %s", strerror(-rc));
	}
	while (buf_used(in)) {
		ssize_t n = gnutls_record_send(c->session, in->data + in->off, buf_used(in));

		if (n < 0)
			return conn_closef(c, REASON_IO_ERROR, "encrypt: %s", gnutls_strerror((int)n));
		in->off += (size_t)n;
	}
	if (c->plain_rd_eof && !c->bye_queued) {
		if (tls13_rec_bye(&c->rec, c->session, true) < 0)
			c->rec_on = false;
		c->bye_queued = true;
	}
	tls_io_flush(c);
	plain_receive(c);
	return VERDICT_AGAIN;
}

static enum verdict on_plain_recv(struct conn *c, int res)
{
	if (res < 0)
		return conn_fail_io(c, "plain recv", res);
	if (res == 0)
		c->plain_rd_eof = true;
	c->plain_in.len = (size_t)res;
	conn_count_bytes(c, true, (size_t)res, PAYLOAD_USERSPACE);
	return encrypt_pending(c);
}

static enum verdict on_tls_send(struct conn *c, int res)
{
	res = tls_io_sent(c, res);
	if (res < 0)
		return conn_close(c, conn_error_reason(-res));
	if (res)
		return VERDICT_AGAIN;
	if (c->bye_queued && !c->tls_wr_shut) {
		shutdown(c->tls_fd, SHUT_WR);
		c->tls_wr_shut = true;
		return conn_end_if_done(c);
	}
	return encrypt_pending(c);
}

/* TLS -> plain */

#define OPEN_OVERFLOW (SIZE_MAX - 1)

/* Opens the records at the head of tls_in into plain_out while they are ours. Returns the
 * bytes (a whole record, or 0: whatever GnuTLS holds already) GnuTLS must read next,
 * SIZE_MAX when nothing can be done before more input or more room, or OPEN_OVERFLOW for a
 * header no record may have. */
static size_t open_records(struct conn *c)
{
	struct buf *in = &c->tls_in, *out = &c->plain_out;

	if (gnutls_record_check_pending(c->session))
		return 0;
	for (;;) {
		size_t used, plain;

		switch (tls13_open(&c->rec.rd, in->data + in->off, buf_used(in), out->data + out->len,
				   buf_room(out), &used, &plain)) {
		case TLS13_DATA:
			in->off += used;
			out->len += plain;
			break;
		case TLS13_GNUTLS:
			return used;
		case TLS13_OVERFLOW:
			return OPEN_OVERFLOW;
		default:
			return SIZE_MAX;
		}
	}
}

/* A record longer than TLS 1.3 allows: refused here rather than left to GnuTLS's header
 * check, with the alert GnuTLS would send. */
static enum verdict refuse_overflow(struct conn *c)
{
	rec_give_back(c);
	gnutls_alert_send(c->session, GNUTLS_AL_FATAL, GNUTLS_A_RECORD_OVERFLOW);
	tls_io_flush(c);
	return conn_closef(c, REASON_TLS_ERROR, "decrypt: record_overflow (a record longer than 2^14 + 1 + tag)");
}

static enum verdict decrypt_available(struct conn *c)
{
	struct buf *out = &c->plain_out;

	if (conn_busy(c, OPS_PLAIN_TX) || c->plain_wr_shut)
		return VERDICT_AGAIN;
	rec_unpark(c);
	out->off = out->len = 0;
	while (buf_room(out) && !c->close_notify_seen) {
		size_t before = c->tls_in.off, give = SIZE_MAX;
		ssize_t n;

		if (c->rec_on) {
			give = open_records(c);
			if (give == OPEN_OVERFLOW)
				return refuse_overflow(c);
			if (give == SIZE_MAX)
				break;
			/* GnuTLS gets exactly that record: it reads a record's exact length, so
			 * it holds no ciphertext of ours when it returns. */
			c->pull_limit = c->tls_in.off + give;
			c->rec.gnutls_owes = true;
			rec_give_back(c);
		}
		c->pull_starved = false;
		n = gnutls_record_recv(c->session, out->data + out->len, buf_room(out));
		c->pull_limit = SIZE_MAX;
		rec_take_back(c);
		if (n > 0) {
			out->len += (size_t)n;
		} else if (n == 0) {
			c->close_notify_seen = true;
		} else if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
			/* GnuTLS also says AGAIN after it handled a post-handshake message (a
			 * session ticket, a KeyUpdate), while the records that followed may sit
			 * read but undecrypted in its buffer. Only an empty transport ends the
			 * round: the peer may send nothing more until it gets an answer. With
			 * our records, GnuTLS had the one record it was given. */
			if (give != SIZE_MAX ? c->tls_in.off == before : c->pull_starved)
				break;
		} else if (n == GNUTLS_E_PREMATURE_TERMINATION) {
			return conn_closef(c, REASON_TRUNCATED, "TLS peer ended without close_notify");
		} else if (gnutls_error_is_fatal((int)n)) {
			return tls_io_close(c, REASON_TLS_ERROR, (int)n, "decrypt: ");
		}
		/* Non-fatal (a warning alert, a refused renegotiation request): keep reading. */
	}
	if (c->rec_on && !buf_used(out) && c->tls_rd_eof && !c->close_notify_seen) {
		/* The peer ended inside a record (or between records without close_notify):
		 * GnuTLS says which. */
		c->pull_limit = SIZE_MAX;
		rec_stop(c);
		return decrypt_available(c);
	}
	tls_io_flush(c); /* a KeyUpdate reply, if reading produced one */
	if (buf_used(out)) {
		plain_io_flush(c);
	} else if (c->close_notify_seen) {
		shutdown(c->plain_fd, SHUT_WR);
		c->plain_wr_shut = true;
		return conn_end_if_done(c);
	}
	if (!c->close_notify_seen)
		tls_io_receive(c);
	return VERDICT_AGAIN;
}

static enum verdict on_tls_recv(struct conn *c, int res)
{
	res = tls_io_received(c, res);
	if (res < 0)
		return conn_fail_io(c, "tls recv", res);
	return decrypt_available(c);
}

static enum verdict on_plain_send(struct conn *c, int res)
{
	res = plain_io_sent(c, res);
	if (res < 0)
		return conn_fail_io(c, "plain send", res);
	return res ? VERDICT_AGAIN : decrypt_available(c);
}

static enum verdict pump_begin(struct conn *c)
{
	stat_add(&conn_stats(c)->conns_userspace, 1);
	/* Our own records only from a record boundary that GnuTLS holds nothing beyond: it
	 * reads records by their exact length, and the handshake and the hand-over end at one. */
	c->rec_on = tls13_rec_eligible(c->session) && !gnutls_record_check_pending(c->session) &&
		    tls13_rec_load(&c->rec, c->session) == 0;
	/* GnuTLS may have read a KeyUpdate asking for ours with the last handshake flight
	 * (ktls_handover's early records): its reply must go before our first record. */
	c->rec.gnutls_owes = c->rec_on;
	plain_receive(c);
	/* Records the peer sent together with its last handshake flight are already in tls_in. */
	return decrypt_available(c);
}

/* Idle: our records' cipher contexts go (about 1.5 KiB per end of a connection); GnuTLS
 * keeps its own, and the pump takes them up again at its next record. */
static void pump_idle(struct conn *c)
{
	if (c->rec_on && !tls13_rec_parked(&c->rec))
		tls13_rec_park(&c->rec, c->session);
}

const struct phase pump_phase = {
	.name = "userspace pump",
	.state = CONN_STREAMING,
	.begin = pump_begin,
	.idle = pump_idle,
	.on = {
		[OP_PLAIN_RECV] = on_plain_recv,
		[OP_PLAIN_SEND] = on_plain_send,
		[OP_TLS_RECV] = on_tls_recv,
		[OP_TLS_SEND] = on_tls_send,
	},
};
