// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <linux/tls.h>

#include "log.h"
#include "phase.h"
#include "plain_io.h"
#include "session_ticket.h"
#include "tls_names.h"
#include "tunnel.h"

/*
 * The kernel TLS data path. After the hand-over (ktls_handover.c) the kernel holds both
 * directions' keys:
 *   plain fd --SPLICE--> pipe --SPLICE--> kTLS fd      kTLS fd --RECVMSG--> buffer --SEND--> plain fd
 *
 * plain -> kTLS: the payload never enters our memory. io_uring runs every splice on an io-wq
 * thread (the op cannot be polled), where a blocking splice would sleep until its socket is
 * ready: one kernel thread per waiting splice. So splices never block (SPLICE_F_NONBLOCK, and
 * O_NONBLOCK on the sockets, which TCP's splice read and the send side go by); on EAGAIN a
 * POLL_ADD (an OP_*_POLL of the same slot) waits for the socket without a thread, and the
 * splice is issued again when it fires. The splices go as one chain (IOSQE_IO_LINK), the
 * splice in quiet (IOSQE_CQE_SKIP_SUCCESS: one that moves all it asked for posts nothing), the
 * splice out last: one splice in asking for what the socket holds (SIOCINQ), then the splice
 * out; one completion per pipe-full. A splice in that moves less (EAGAIN, the end) posts its
 * result and the kernel cancels the splice out silently; what it moved is sent by a splice out
 * of its own. A pipe that a splice filled grows once to PIPE_BULK (F_SETPIPE_SZ), so idle and
 * small connections keep the default pipe; where the kernel refuses (fs.pipe-max-size, the
 * user's fs.pipe-user-pages-soft) the connection goes on with the pipe it has.
 *
 * kTLS -> plain: copied once. A splice out of a kTLS socket returns one 16 KiB record and runs
 * on io-wq (Linux 6.12): two context switches a record. A recvmsg is polled inline instead and
 * returns every ready data record that fits, decrypted by the kernel, or, first in line, one
 * record of another type with its type in the cmsg (so data, alerts, tickets and KeyUpdate
 * come through the same op). Two buffers of the connection's (tls_in and plain_out, swapped
 * when a chunk goes out) take turns: the next recvmsg goes into tls_in while plain_out's chunk
 * is sent. A recvmsg that completes before that send is held (t2p_held) and no other is armed,
 * so a plain side that drains slowly stops the reading (TCP's window closes on the peer) and a
 * connection holds at most the two buffers, 2 x T2P_RECV_MAX. What ends the reading (an alert,
 * the end, an error) is acted on once the chunk before it has been sent.
 */

#define PIPE_BULK (256 * 1024)
#define SPLICE_FLAGS (SPLICE_F_MOVE | SPLICE_F_NONBLOCK)
/* The most one recvmsg asks for: 16 records, so a bulk stream costs one completion (and one
 * send) per 256 KiB. tls_in and plain_out are at least this big (conn.c). */
#define T2P_RECV_MAX (256 * 1024)

/* Half of GnuTLS's own rekey point (2^24 records): the count is an upper bound, and this
 * kernel cannot rekey in place, so the connection ends cleanly before the AEAD limit. */
#define TX_RECORD_LIMIT (1ull << 23)

static void splice_between(struct conn *c, int from, int to, size_t len, enum op op)
{
	struct io_uring_sqe *sqe = conn_sqe(c);

	io_uring_prep_splice(sqe, from, -1, to, -1, (unsigned)len, SPLICE_FLAGS);
	conn_submit(c, sqe, op);
}

static void pipe_grow(struct conn *c)
{
	static bool logged;
	int cap;

	if (c->pipe_grow_tried || c->pipe_cap >= PIPE_BULK)
		return;
	c->pipe_grow_tried = true;
	cap = fcntl(c->pipe[1], F_SETPIPE_SZ, PIPE_BULK);
	if (cap > 0) {
		c->pipe_cap = (size_t)cap;
		return;
	}
	if (!__atomic_exchange_n(&logged, true, __ATOMIC_RELAXED))
		log_notice("[%s] cannot grow a kTLS pipe to %d KiB (%m): such connections splice at "
			   "most %zu KiB at a time (see fs.pipe-user-pages-soft)", c->t->name,
			   PIPE_BULK / 1024, c->pipe_cap / 1024);
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

/* The splice in, quiet, asks for what the socket holds (SIOCINQ; the whole pipe when that is
 * nothing, so that the end of the stream or an error is heard of), so it usually moves all it
 * asked for and posts nothing; the splice out goes linked behind it. */
static void p2t_splice_in(struct conn *c)
{
	size_t cap = c->pipe_cap, len = cap;
	struct io_uring_sqe *sqe;
	int inq;

	if (c->p2t_asked || conn_busy(c, OPS_PLAIN_RX | OPS_TLS_TX) || c->piped ||
	    c->plain_rd_eof || c->bye_queued)
		return;
	if (ioctl(c->plain_fd, SIOCINQ, &inq) == 0 && inq > 0 && (size_t)inq < cap)
		len = (size_t)inq;
	conn_sqe_reserve(c, 2);
	sqe = conn_sqe(c);
	io_uring_prep_splice(sqe, c->plain_fd, -1, c->pipe[1], -1, (unsigned)len, SPLICE_FLAGS);
	conn_submit_quiet(c, sqe, OP_P2T_SPLICE_IN);
	c->p2t_asked = len;
	splice_between(c, c->pipe[0], c->tls_fd, cap, OP_P2T_SPLICE_OUT);
}

static void p2t_splice_out(struct conn *c)
{
	if (conn_busy(c, OPS_TLS_TX) || !c->piped)
		return;
	splice_between(c, c->pipe[0], c->tls_fd, c->piped, OP_P2T_SPLICE_OUT);
}

/* What ended the splice in's reading, acted on once the pipe is empty. */
static enum verdict p2t_after_in(struct conn *c, int res)
{
	if (res > 0) {
		p2t_splice_in(c);
		return VERDICT_AGAIN;
	}
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
	return conn_fail_io(c, "plain splice", res);
}

/* The quiet splice in moved less than it asked for (or failed), and the kernel cancelled the
 * splice out linked behind it. */
static enum verdict p2t_in_done(struct conn *c, int res)
{
	c->p2t_asked = 0;
	if (res <= 0)
		return p2t_after_in(c, res);
	c->piped += (size_t)res;
	p2t_splice_out(c);
	return VERDICT_AGAIN;
}

/* The chain got to its splice out: the splice in moved all it asked for. */
static void p2t_chain_done(struct conn *c)
{
	c->piped += c->p2t_asked;
	if (c->p2t_asked >= c->pipe_cap)
		pipe_grow(c);
	c->p2t_asked = 0;
}

static enum verdict p2t_out_done(struct conn *c, int res)
{
	if (c->p2t_asked)
		p2t_chain_done(c);
	if (res == -EAGAIN)
		return poll_for(c, c->tls_fd, POLLOUT, OP_P2T_OUT_POLL);
	if (res <= 0)
		return conn_fail_io(c, "kTLS splice", res);
	/* Counted once sent: what sat in the pipe when a connection was reset never left. */
	conn_count_bytes(c, true, (size_t)res, PAYLOAD_SPLICED);
	c->piped -= (size_t)res;
	c->tx_records += ((size_t)res + TLS_MAX_PLAINTEXT - 1) / TLS_MAX_PLAINTEXT;
	if (c->tx_records >= TX_RECORD_LIMIT)
		return conn_closef(c, REASON_KEY_LIMIT, "%llu records under one key; this kernel "
				   "cannot rekey a kTLS socket", (unsigned long long)c->tx_records);
	if (c->piped)
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

/* One recvmsg into tls_in (see the top). */
static void t2p_recv(struct conn *c)
{
	size_t len = c->tls_in.cap < T2P_RECV_MAX ? c->tls_in.cap : T2P_RECV_MAX;
	struct io_uring_sqe *sqe;

	if (conn_busy(c, OPS_TLS_RX) || c->t2p_held || c->close_notify_seen)
		return;
	tls_record_prepare_recv(&c->rx_msg, c->tls_in.data, len);
	sqe = conn_sqe(c);
	io_uring_prep_recvmsg(sqe, c->tls_fd, &c->rx_msg.msg, 0);
	conn_submit(c, sqe, OP_T2P_RECV);
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

/* A client session kept for tickets (session_ticket_keep) still holds the traffic secrets:
 * it goes once a ticket is filed, GnuTLS refused one, or the server's first data came
 * (servers send their tickets right after the handshake: OpenSSL, GnuTLS, nginx; a
 * connection to one that sends none, or later, does not keep the secrets for its life). */
static void drop_session(struct conn *c)
{
	if (c->session) {
		gnutls_deinit(c->session);
		c->session = NULL;
	}
}

/* Tickets go to the kept session only from a record that holds whole messages, so GnuTLS
 * never sees part of one. Other tickets are skipped, however they are packed or split. */
static void offer_tickets(struct conn *c, const uint8_t *body, size_t len, bool whole)
{
	int rc;

	if (!c->session || !whole)
		return;
	rc = session_ticket_ingest(c, body, len);
	if (rc < 0)
		log_debug("[%s] session ticket after the kTLS hand-over not read: %s", c->t->name,
			  gnutls_strerror(rc));
	else if (c->ticket_stored)
		log_debug("[%s] session ticket after the kTLS hand-over filed", c->t->name);
	if (rc < 0 || c->ticket_stored)
		drop_session(c);
}

/* A KeyUpdate or anything else but tickets closes. */
static enum verdict on_handshake_record(struct conn *c, const uint8_t *body, size_t len)
{
	bool at_start = c->hs_walk.skip == 0 && c->hs_walk.head_len == 0;
	uint8_t type = 0;

	switch (tls_hs_walk(&c->hs_walk, body, len, &type)) {
	case TLS_HS_TICKETS:
		offer_tickets(c, body, len, at_start && c->hs_walk.skip == 0 &&
					    c->hs_walk.head_len == 0);
		t2p_recv(c);
		return VERDICT_AGAIN;
	case TLS_HS_KEY_UPDATE:
		return conn_closef(c, REASON_KEY_UPDATE, "peer sent KeyUpdate; this kernel cannot "
				   "rekey a kTLS socket in place (Linux 6.14 can)");
	default:
		return conn_closef(c, REASON_TLS_ERROR, "unexpected handshake message %u", type);
	}
}

/* Data records the kernel decrypted into tls_in go out from there: tls_in becomes plain_out
 * (whose send is done) and the old plain_out takes the next recvmsg. */
static enum verdict deliver(struct conn *c, size_t n)
{
	struct buf chunk = c->tls_in;

	c->tls_in = c->plain_out;
	c->plain_out = chunk;
	c->plain_out.off = 0;
	c->plain_out.len = n;
	drop_session(c);
	plain_io_flush(c);
	t2p_recv(c);
	return VERDICT_AGAIN;
}

/* A recvmsg's result, with the chunk before it sent. */
static enum verdict t2p_received(struct conn *c, int res)
{
	const uint8_t *body = c->tls_in.data;
	uint8_t type = tls_record_type(&c->rx_msg);

	if (res == -EAGAIN)
		return poll_for(c, c->tls_fd, POLLIN, OP_T2P_IN_POLL);
	/* io_uring retries a recvmsg that found nothing with the msghdr as that attempt left it:
	 * when the attempt consumed empty data records, their record-type cmsg used up the room,
	 * and a record of another type next gives EIO (the kernel keeps the record queued). A
	 * recvmsg of our own, with room again, reads it; a second EIO in a row is an error. */
	if (res == -EIO && !c->t2p_eio_retry) {
		c->t2p_eio_retry = true;
		t2p_recv(c);
		return VERDICT_AGAIN;
	}
	c->t2p_eio_retry = false;
	/* Empty data records (allowed, and padding-only in TLS 1.3), then a record of another
	 * type, which recvmsg leaves queued for the next call. The end of the stream gives 0 with
	 * no record type. */
	if (res == 0 && type == TLS_RECORD_DATA) {
		t2p_recv(c);
		return VERDICT_AGAIN;
	}
	if (res == 0 && type != TLS_RECORD_NONE)
		return conn_closef(c, REASON_TLS_ERROR, "empty alert/handshake record (type %u)",
				   type);
	if (res <= 0)
		return rx_error(c, res);
	/* The kernel reports every record's type where there is room. Where there is none (the
	 * io_uring retry above) it returns data records only, with MSG_CTRUNC, and EIO for any
	 * other type; so bytes without a type are data only with MSG_CTRUNC. */
	if (type == TLS_RECORD_NONE && !(c->rx_msg.msg.msg_flags & MSG_CTRUNC))
		return conn_closef(c, REASON_TLS_ERROR, "kTLS recvmsg: %d bytes without their "
				   "record type", res);
	if (type == TLS_RECORD_NONE)
		type = TLS_RECORD_DATA;
	switch (type) {
	case TLS_RECORD_ALERT:
		return on_alert(c, body, res);
	case TLS_RECORD_HANDSHAKE:
		return on_handshake_record(c, body, (size_t)res);
	case TLS_RECORD_DATA:
		return deliver(c, (size_t)res);
	default:
		return conn_closef(c, REASON_TLS_ERROR, "unexpected record type %u", type);
	}
}

static enum verdict t2p_recv_done(struct conn *c, int res)
{
	if (c->t2p_parking) {
		c->t2p_parking = false;
		/* Cancelled before it took anything (pump_ktls_idle): the buffers are ours
		 * alone, their pages go back, and a poll waits for the next record. Any other
		 * result came first and is handled as usual. */
		if (res == -ECANCELED) {
			c->t2p_eio_retry = false; /* this recvmsg gave no EIO */
			conn_release_buffers(c);
			return poll_for(c, c->tls_fd, POLLIN, OP_T2P_IN_POLL);
		}
	}
	if (buf_used(&c->plain_out)) {
		c->t2p_held = true;
		c->t2p_held_res = res;
		return VERDICT_AGAIN;
	}
	return t2p_received(c, res);
}

/* plain_out's chunk went out (in part: plain_io_sent sends the rest): a held recvmsg's
 * result comes next. */
static enum verdict buffer_sent(struct conn *c, int res)
{
	if (res == -EAGAIN)
		return poll_for(c, c->plain_fd, POLLOUT, OP_T2P_OUT_POLL);
	if (res <= 0)
		return conn_fail_io(c, "plain send", res);
	if (plain_io_sent(c, res) || !c->t2p_held)
		return VERDICT_AGAIN;
	c->t2p_held = false;
	return t2p_received(c, c->t2p_held_res);
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
	t2p_recv(c);
	return VERDICT_AGAIN;
}

static enum verdict t2p_out_ready(struct conn *c, int res)
{
	if (res < 0)
		return poll_failed(c, res);
	plain_io_flush(c);
	return VERDICT_AGAIN;
}

/* Idle (phase_idle): a connection that received bulk data has touched both receive
 * buffers, up to 512 KiB, where the pipes it used before copy-once gave their pages back as
 * they drained. The recvmsg waiting in tls_in would write into them, so it is cancelled and
 * t2p_recv_done releases them once it is. Only a recvmsg is waited for here: with data held
 * or being sent the connection is not idle, and a poll or a parked one has nothing to free. */
static void pump_ktls_idle(struct conn *c)
{
	if (!(c->ops & OP_BIT(OP_T2P_RECV)) || c->t2p_parking || c->t2p_held ||
	    buf_used(&c->plain_out))
		return;
	c->t2p_parking = true;
	conn_cancel_op(c, OP_T2P_RECV);
}

static enum verdict pump_ktls_begin(struct conn *c)
{
	stat_add(&conn_stats(c)->conns_ktls, 1);
	p2t_splice_in(c);
	t2p_recv(c);
	return VERDICT_AGAIN;
}

const struct phase pump_ktls_phase = {
	.name = "kTLS pump",
	.state = CONN_STREAMING,
	.begin = pump_ktls_begin,
	.idle = pump_ktls_idle,
	.on = {
		[OP_P2T_SPLICE_IN] = p2t_in_done,
		[OP_P2T_SPLICE_OUT] = p2t_out_done,
		[OP_CLOSE_NOTIFY] = close_notify_done,
		[OP_T2P_RECV] = t2p_recv_done,
		[OP_PLAIN_SEND] = buffer_sent,
		[OP_P2T_IN_POLL] = p2t_in_ready,
		[OP_P2T_OUT_POLL] = p2t_out_ready,
		[OP_T2P_IN_POLL] = t2p_in_ready,
		[OP_T2P_OUT_POLL] = t2p_out_ready,
	},
};
