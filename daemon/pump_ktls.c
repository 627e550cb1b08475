// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/tls.h>

#include "phase.h"
#include "plain_io.h"
#include "tls_names.h"
#include "tunnel.h"

/*
 * The kernel TLS data path. After the hand-over (ktls_handover.c) the kernel holds both
 * directions' keys and the payload moves by splice through one pipe per direction, never
 * through our buffers:
 *   plain fd --SPLICE--> pipe --SPLICE--> kTLS fd      kTLS fd --SPLICE--> pipe --SPLICE--> plain fd
 * Non-data records (alerts, session tickets, KeyUpdate) make a splice fail with EINVAL;
 * they are read with recvmsg and their type from the cmsg.
 *
 * io_uring runs every splice on an io-wq thread (the op cannot be polled), where a blocking
 * splice would sleep until its socket is ready: one kernel thread per waiting splice, two per
 * idle connection. So splices never block (SPLICE_F_NONBLOCK, and O_NONBLOCK on the sockets,
 * which TCP's splice read and the send side go by); on EAGAIN a POLL_ADD (an OP_*_POLL of
 * the same slot) waits for the socket without a thread, and the splice is issued again when
 * it fires.
 */

#define SPLICE_CHUNK (64 * 1024)
/* Half of GnuTLS's own rekey point (2^24 records): the count is an upper bound, and this
 * kernel cannot rekey in place, so the connection ends cleanly before the AEAD limit. */
#define TX_RECORD_LIMIT (1ull << 23)

static void splice_between(struct conn *c, int from, int to, size_t len, enum op op)
{
	struct io_uring_sqe *sqe = conn_sqe(c);

	io_uring_prep_splice(sqe, from, -1, to, -1, (unsigned)len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	conn_submit(c, sqe, op);
}

static enum verdict poll_for(struct conn *c, int fd, unsigned events, enum op poll_op)
{
	struct io_uring_sqe *sqe = conn_sqe(c);

	io_uring_prep_poll_add(sqe, fd, events);
	conn_submit(c, sqe, poll_op);
	return VERDICT_AGAIN;
}

/* plain -> kernel TLS */

static void send_close_notify(struct conn *c)
{
	struct io_uring_sqe *sqe;

	tls_record_close_notify(&c->tx_msg);
	c->bye_queued = true;
	sqe = conn_sqe(c);
	io_uring_prep_sendmsg(sqe, c->tls_fd, &c->tx_msg.msg, MSG_NOSIGNAL);
	conn_submit(c, sqe, OP_CLOSE_NOTIFY);
}

static void p2t_splice_in(struct conn *c)
{
	if (conn_busy(c, OPS_PLAIN_RX) || c->piped[P2T] || c->plain_rd_eof || c->bye_queued)
		return;
	splice_between(c, c->plain_fd, c->pipes[P2T][1], SPLICE_CHUNK, OP_P2T_SPLICE_IN);
}

static void p2t_splice_out(struct conn *c)
{
	if (conn_busy(c, OPS_TLS_TX) || !c->piped[P2T])
		return;
	splice_between(c, c->pipes[P2T][0], c->tls_fd, c->piped[P2T], OP_P2T_SPLICE_OUT);
}

static enum verdict p2t_in_done(struct conn *c, int res)
{
	if (res == -EAGAIN)
		return poll_for(c, c->plain_fd, POLLIN, OP_P2T_IN_POLL);
	if (res < 0)
		return conn_fail_io(c, "plain splice", res);
	if (res == 0) {
		c->plain_rd_eof = true;
		if (!conn_busy(c, OPS_TLS_TX))
			send_close_notify(c);
		return VERDICT_AGAIN;
	}
	c->piped[P2T] += (size_t)res;
	p2t_splice_out(c);
	return VERDICT_AGAIN;
}

static enum verdict p2t_out_done(struct conn *c, int res)
{
	if (res == -EAGAIN)
		return poll_for(c, c->tls_fd, POLLOUT, OP_P2T_OUT_POLL);
	if (res <= 0)
		return conn_fail_io(c, "kTLS splice", res);
	/* Counted once sent: what sat in the pipe when a connection was reset never left. */
	conn_count_bytes(c, true, (size_t)res, false);
	c->piped[P2T] -= (size_t)res;
	c->tx_records += ((size_t)res + TLS_MAX_PLAINTEXT - 1) / TLS_MAX_PLAINTEXT;
	if (c->tx_records >= TX_RECORD_LIMIT)
		return conn_closef(c, REASON_KEY_LIMIT, "%llu records under one key; this kernel "
				   "cannot rekey a kTLS socket", (unsigned long long)c->tx_records);
	if (c->piped[P2T])
		p2t_splice_out(c);
	else if (c->plain_rd_eof)
		send_close_notify(c);
	else
		p2t_splice_in(c);
	return VERDICT_AGAIN;
}

/* Without the close_notify the peer would see a truncation, so a failure is the
 * connection's error, not a clean end. A full send buffer (the socket is non-blocking) is
 * waited out like a splice's. */
static enum verdict close_notify_done(struct conn *c, int res)
{
	if (res == -EAGAIN)
		return poll_for(c, c->tls_fd, POLLOUT, OP_P2T_OUT_POLL);
	if (res < 0)
		return conn_fail_io(c, "close_notify", res);
	shutdown(c->tls_fd, SHUT_WR);
	c->tls_wr_shut = true;
	return conn_end_if_done(c);
}

/* kernel TLS -> plain */

static void t2p_splice_in(struct conn *c)
{
	if (conn_busy(c, OPS_TLS_RX) || c->piped[T2P] || c->close_notify_seen ||
	    buf_used(&c->plain_out))
		return;
	splice_between(c, c->tls_fd, c->pipes[T2P][1], SPLICE_CHUNK, OP_T2P_SPLICE_IN);
}

static void t2p_splice_out(struct conn *c)
{
	splice_between(c, c->pipes[T2P][0], c->plain_fd, c->piped[T2P], OP_T2P_SPLICE_OUT);
}

/* tls_in is idle once the kernel decrypts: it takes the record's body. A recvmsg that meets
 * data records returns as many as fit, and control_recv_done copies those to plain_out: so
 * no more than plain_out holds is asked for, whatever the kernel returns. */
static enum verdict receive_control_record(struct conn *c, int flags)
{
	size_t len = c->tls_in.cap < c->plain_out.cap ? c->tls_in.cap : c->plain_out.cap;
	struct io_uring_sqe *sqe;

	tls_record_prepare_recv(&c->rx_msg, c->tls_in.data, len);
	sqe = conn_sqe(c);
	io_uring_prep_recvmsg(sqe, c->tls_fd, &c->rx_msg.msg, flags);
	conn_submit(c, sqe, OP_CONTROL_RECV);
	return VERDICT_AGAIN;
}

static enum verdict rx_error(struct conn *c, int res)
{
	if (res == 0)
		return conn_closef(c, REASON_TRUNCATED, "TLS peer ended without close_notify");
	if (res == -EKEYEXPIRED)
		return conn_closef(c, REASON_KEY_UPDATE, "peer changed keys (KeyUpdate)");
	if (res == -EBADMSG || res == -EMSGSIZE)
		return conn_closef(c, REASON_TLS_ERROR, "kTLS: %s", strerror(-res));
	return conn_fail_io(c, "kTLS recv", res);
}

static enum verdict t2p_in_done(struct conn *c, int res)
{
	if (res == -EAGAIN)
		return poll_for(c, c->tls_fd, POLLIN, OP_T2P_IN_POLL);
	if (res == -EINVAL)
		return receive_control_record(c, 0);
	/* The end of the stream, or an empty data record (allowed, and padding-only in TLS 1.3),
	 * which splice consumes and reports as 0 too. recvmsg tells them apart without waiting:
	 * see control_recv_done. */
	if (res == 0)
		return receive_control_record(c, MSG_DONTWAIT);
	if (res < 0)
		return rx_error(c, res);
	c->piped[T2P] += (size_t)res;
	t2p_splice_out(c);
	return VERDICT_AGAIN;
}

static enum verdict on_alert(struct conn *c, const uint8_t *body, int len)
{
	char alert[TLS_ALERT_TEXT_MAX];

	if (len >= 2 && body[1] == GNUTLS_A_CLOSE_NOTIFY) {
		c->close_notify_seen = true;
		shutdown(c->plain_fd, SHUT_WR);
		c->plain_wr_shut = true;
		return conn_end_if_done(c);
	}
	return conn_closef(c, REASON_TLS_ERROR, "peer sent alert: %s",
			   len >= 2 ? tls_alert_text(body[1], alert) : "(short)");
}

/* Session tickets are skipped (ktund does not resume sessions), however they are packed
 * or split; a KeyUpdate or anything else closes. */
static enum verdict on_handshake_record(struct conn *c, const uint8_t *body, size_t len)
{
	uint8_t type = 0;

	switch (tls_hs_walk(&c->hs_walk, body, len, &type)) {
	case TLS_HS_TICKETS:
		t2p_splice_in(c);
		return VERDICT_AGAIN;
	case TLS_HS_KEY_UPDATE:
		return conn_closef(c, REASON_KEY_UPDATE, "peer sent KeyUpdate; this kernel cannot "
				   "rekey a kTLS socket in place (Linux 6.14 can)");
	default:
		return conn_closef(c, REASON_TLS_ERROR, "unexpected handshake message %u", type);
	}
}

static enum verdict control_recv_done(struct conn *c, int res)
{
	const uint8_t *body = c->tls_in.data;
	uint8_t type = tls_record_type(&c->rx_msg);

	if (res == -EAGAIN) {
		t2p_splice_in(c); /* empty records only, and nothing after them yet */
		return VERDICT_AGAIN;
	}
	/* Empty data records, then a record of another type, which recvmsg leaves queued for
	 * the next call. The end of the stream gives 0 with no record type. */
	if (res == 0 && type == TLS_RECORD_DATA)
		return receive_control_record(c, MSG_DONTWAIT);
	if (res <= 0)
		return rx_error(c, res);
	switch (type) {
	case TLS_RECORD_ALERT:
		return on_alert(c, body, res);
	case TLS_RECORD_HANDSHAKE:
		return on_handshake_record(c, body, (size_t)res);
	case TLS_RECORD_NONE:
	case TLS_RECORD_DATA:
		/* Data that recvmsg returned along the way: deliver it from our buffer. */
		memcpy(c->plain_out.data, body, (size_t)res);
		c->plain_out.off = 0;
		c->plain_out.len = (size_t)res;
		plain_io_flush(c);
		return VERDICT_AGAIN;
	default:
		return conn_closef(c, REASON_TLS_ERROR, "unexpected record type %u", type);
	}
}

static enum verdict t2p_out_done(struct conn *c, int res)
{
	if (res == -EAGAIN)
		return poll_for(c, c->plain_fd, POLLOUT, OP_T2P_OUT_POLL);
	if (res <= 0)
		return conn_fail_io(c, "plain send", res);
	conn_count_bytes(c, false, (size_t)res, false);
	c->piped[T2P] -= (size_t)res;
	if (c->piped[T2P])
		t2p_splice_out(c);
	else
		t2p_splice_in(c);
	return VERDICT_AGAIN;
}

/* The data a control-record recvmsg returned, sent from plain_out. */
static enum verdict buffer_sent(struct conn *c, int res)
{
	if (res == -EAGAIN)
		return poll_for(c, c->plain_fd, POLLOUT, OP_T2P_OUT_POLL);
	if (res <= 0)
		return conn_fail_io(c, "plain send", res);
	if (plain_io_sent(c, res) == 0)
		t2p_splice_in(c);
	return VERDICT_AGAIN;
}

/* A POLL_ADD armed after EAGAIN fired: the socket is ready (or failed, which the operation
 * reports in its own words), so the waiting operation runs again. */

static enum verdict poll_failed(struct conn *c, int res)
{
	return conn_closef(c, REASON_IO_ERROR, "poll: %s", strerror(-res));
}

static enum verdict p2t_in_ready(struct conn *c, int res)
{
	if (res < 0)
		return poll_failed(c, res);
	p2t_splice_in(c);
	return VERDICT_AGAIN;
}

static enum verdict p2t_out_ready(struct conn *c, int res)
{
	if (res < 0)
		return poll_failed(c, res);
	if (c->bye_queued)
		send_close_notify(c);
	else
		p2t_splice_out(c);
	return VERDICT_AGAIN;
}

static enum verdict t2p_in_ready(struct conn *c, int res)
{
	if (res < 0)
		return poll_failed(c, res);
	t2p_splice_in(c);
	return VERDICT_AGAIN;
}

static enum verdict t2p_out_ready(struct conn *c, int res)
{
	if (res < 0)
		return poll_failed(c, res);
	if (buf_used(&c->plain_out))
		plain_io_flush(c);
	else
		t2p_splice_out(c);
	return VERDICT_AGAIN;
}

static enum verdict pump_ktls_begin(struct conn *c)
{
	stat_add(&conn_stats(c)->conns_ktls, 1);
	p2t_splice_in(c);
	t2p_splice_in(c);
	return VERDICT_AGAIN;
}

const struct phase pump_ktls_phase = {
	.name = "kTLS pump",
	.state = CONN_STREAMING,
	.begin = pump_ktls_begin,
	.on = {
		[OP_P2T_SPLICE_IN] = p2t_in_done,
		[OP_P2T_SPLICE_OUT] = p2t_out_done,
		[OP_CLOSE_NOTIFY] = close_notify_done,
		[OP_T2P_SPLICE_IN] = t2p_in_done,
		[OP_CONTROL_RECV] = control_recv_done,
		[OP_T2P_SPLICE_OUT] = t2p_out_done,
		[OP_PLAIN_SEND] = buffer_sent,
		[OP_P2T_IN_POLL] = p2t_in_ready,
		[OP_P2T_OUT_POLL] = p2t_out_ready,
		[OP_T2P_IN_POLL] = t2p_in_ready,
		[OP_T2P_OUT_POLL] = t2p_out_ready,
	},
};
