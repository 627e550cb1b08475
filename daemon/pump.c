// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "conn.h"
#include "tunnel.h"
#include "tunnel_ctx.h"
#include "worker.h"

/*
 * The userspace data path: GnuTLS encrypts and decrypts, io_uring moves the bytes.
 *   plain -> TLS: recv into plain_in, encrypt all of it into tls_out, send; the next recv is
 *                 armed as soon as plain_in is free, so reading overlaps sending.
 *   TLS -> plain: recv into tls_in (read ahead while the previous plaintext is being sent),
 *                 decrypt as many records as fit into plain_out, send.
 * End of stream crosses over: plain EOF becomes close_notify then FIN; close_notify becomes
 * FIN on the plain side. The connection is done when both directions are.
 */

void pump_count_bytes(struct conn *c, bool p2t, size_t n, bool via_userspace)
{
	bool up = (c->ctx->mode == MODE_CLIENT) == p2t;

	uint64_t *counter = p2t ? &c->bytes_p2t : &c->bytes_t2p;

	__atomic_store_n(counter, *counter + n, __ATOMIC_RELAXED);
	stat_add(up ? &conn_stats(c)->bytes_up : &conn_stats(c)->bytes_down, n);
	if (via_userspace)
		stat_add(&conn_stats(c)->payload_userspace, n);
}

void pump_maybe_done(struct conn *c)
{
	if (c->tls_wr_shut && c->plain_wr_shut)
		conn_close(c, REASON_DONE);
}

static void plain_receive(struct conn *c)
{
	struct io_uring_sqe *sqe;

	if (conn_op_busy(c, UD_PLAIN_RECV) || c->plain_rd_eof || buf_used(&c->plain_in))
		return;
	c->plain_in.off = c->plain_in.len = 0;
	sqe = worker_sqe(c->w);
	io_uring_prep_recv(sqe, c->plain_fd, c->plain_in.data, c->plain_in.cap, 0);
	conn_submit(c, sqe, UD_PLAIN_RECV);
}

void pump_plain_flush(struct conn *c)
{
	struct io_uring_sqe *sqe;

	if (conn_op_busy(c, UD_PLAIN_SEND) || !buf_used(&c->plain_out))
		return;
	sqe = worker_sqe(c->w);
	io_uring_prep_send(sqe, c->plain_fd, c->plain_out.data + c->plain_out.off,
			   buf_used(&c->plain_out), MSG_NOSIGNAL);
	conn_submit(c, sqe, UD_PLAIN_SEND);
}

/* plain -> TLS */

static void encrypt_pending(struct conn *c)
{
	struct buf *in = &c->plain_in;

	/* Encrypt only into an idle tls_out: one chunk in flight bounds the memory per direction. */
	if (conn_op_busy(c, UD_TLS_SEND) || c->tls_wr_shut)
		return;
	while (buf_used(in)) {
		ssize_t n = gnutls_record_send(c->session, in->data + in->off, buf_used(in));

		if (n < 0) {
			snprintf(c->detail, sizeof(c->detail), "encrypt: %s", gnutls_strerror((int)n));
			conn_close(c, REASON_IO_ERROR);
			return;
		}
		in->off += (size_t)n;
	}
	if (c->plain_rd_eof && !c->bye_queued) {
		gnutls_bye(c->session, GNUTLS_SHUT_WR);
		c->bye_queued = true;
	}
	tls_flush(c);
	plain_receive(c);
}

void pump_plain_received(struct conn *c, int res)
{
	if (res < 0) {
		conn_fail_io(c, "plain recv", res);
		return;
	}
	if (res == 0)
		c->plain_rd_eof = true;
	c->plain_in.len = (size_t)res;
	pump_count_bytes(c, true, (size_t)res, true);
	encrypt_pending(c);
}

void pump_tls_sent(struct conn *c)
{
	if (c->bye_queued && !c->tls_wr_shut) {
		shutdown(c->tls_fd, SHUT_WR);
		c->tls_wr_shut = true;
		pump_maybe_done(c);
		return;
	}
	encrypt_pending(c);
}

/* TLS -> plain */

static void decrypt_available(struct conn *c)
{
	struct buf *out = &c->plain_out;

	if (conn_op_busy(c, UD_PLAIN_SEND) || c->plain_wr_shut)
		return;
	out->off = out->len = 0;
	while (buf_room(out) && !c->close_notify_seen) {
		ssize_t n;

		c->pull_starved = false;
		n = gnutls_record_recv(c->session, out->data + out->len, buf_room(out));
		if (n > 0) {
			out->len += (size_t)n;
		} else if (n == 0) {
			c->close_notify_seen = true;
		} else if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
			/* GnuTLS also says AGAIN after it handled a post-handshake message (a
			 * session ticket, a KeyUpdate), while the records that followed may sit
			 * read but undecrypted in its buffer. Only an empty transport ends the
			 * round: the peer may send nothing more until it gets an answer. */
			if (c->pull_starved)
				break;
		} else if (n == GNUTLS_E_PREMATURE_TERMINATION) {
			snprintf(c->detail, sizeof(c->detail), "TLS peer ended without close_notify");
			conn_close(c, REASON_TRUNCATED);
			return;
		} else if (gnutls_error_is_fatal((int)n)) {
			tls_error_text(c, (int)n, "decrypt: ");
			conn_close(c, REASON_TLS_ERROR);
			return;
		}
		/* Non-fatal (a warning alert, a refused renegotiation request): keep reading. */
	}
	tls_flush(c); /* a KeyUpdate reply, if reading produced one */
	if (buf_used(out)) {
		pump_plain_flush(c);
	} else if (c->close_notify_seen) {
		shutdown(c->plain_fd, SHUT_WR);
		c->plain_wr_shut = true;
		pump_maybe_done(c);
		return;
	}
	if (!c->close_notify_seen)
		tls_receive(c);
}

void pump_tls_received(struct conn *c, int res)
{
	if (res < 0) {
		conn_fail_io(c, "tls recv", res);
		return;
	}
	if (res == 0)
		c->tls_rd_eof = true;
	c->tls_in.len += (size_t)res;
	decrypt_available(c);
}

void pump_plain_sent(struct conn *c, int res)
{
	struct buf *out = &c->plain_out;

	if (res < 0) {
		conn_fail_io(c, "plain send", res);
		return;
	}
	pump_count_bytes(c, false, (size_t)res, true);
	out->off += (size_t)res;
	if (buf_used(out))
		pump_plain_flush(c);
	else
		decrypt_available(c);
}

void pump_start(struct conn *c)
{
	if (c->ctx->ktls_wanted)
		ktls_handover_start(c);
	else
		pump_start_userspace(c);
}

void pump_start_userspace(struct conn *c)
{
	stat_add(&conn_stats(c)->conns_userspace, 1);
	c->state = CONN_STREAMING;
	plain_receive(c);
	/* Records the peer sent together with its last handshake flight are already in tls_in. */
	decrypt_available(c);
}
