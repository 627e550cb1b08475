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
 *
 * Each completion costs a trip through io_uring_enter and a wake-up of the worker, so the
 * splices of a direction go as one chain (IOSQE_IO_LINK), the splices in quiet
 * (IOSQE_CQE_SKIP_SUCCESS: one that moves all it asked for posts nothing), the splice out last:
 *   plain -> kTLS: one splice in asking for what the socket holds (SIOCINQ), then the splice
 *   out; one completion per pipe-full.
 *   kTLS -> plain: a splice out of a kTLS socket returns at most one record (Linux 6.12), so
 *   up to CHAIN_MAX one-record (16 KiB) splices in, then the splice out: one completion per
 *   chain while whole records flow.
 * A splice in that moves less (a short record, EAGAIN, a non-data record, the end) posts its
 * result and the kernel cancels the rest of the chain silently (a quiet request's failure
 * skips its links' completions); what the chain moved (FIONREAD of the pipe) is sent by a
 * splice out of its own, and what ended the reading is acted on once the pipe has drained.
 * A pipe that a splice filled grows once to PIPE_BULK (F_SETPIPE_SZ), so idle and small
 * connections keep the default pipe; where the kernel refuses (fs.pipe-max-size, the user's
 * fs.pipe-user-pages-soft) the connection goes on with the pipe it has.
 */

#define PIPE_BULK (256 * 1024)
#define CHAIN_MAX 16
#define SPLICE_FLAGS (SPLICE_F_MOVE | SPLICE_F_NONBLOCK)
/* Linux 6.12's tls_sw_splice_read consumes a whole record even when the pipe took only part of
 * it (it accounts what it asked for, not what it moved): the rest would be lost. So a chain
 * asks for no more records than the pipe has slots for, counting each record at its worst:
 * 16 KiB in order-0 pages, not starting on a page boundary, 5 slots. */
#define SLOTS_PER_RECORD 5

/* Records a T2P chain may ask for: whole ones only, however the kernel lays them out. */
static unsigned chain_max(const struct conn *c)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t n = c->pipe_cap[T2P] / (size_t)(page > 0 ? page : 4096) / SLOTS_PER_RECORD;

	return n < 1 ? 1 : n > CHAIN_MAX ? CHAIN_MAX : (unsigned)n;
}

/* Half of GnuTLS's own rekey point (2^24 records): the count is an upper bound, and this
 * kernel cannot rekey in place, so the connection ends cleanly before the AEAD limit. */
#define TX_RECORD_LIMIT (1ull << 23)

static void splice_between(struct conn *c, int from, int to, size_t len, enum op op)
{
	struct io_uring_sqe *sqe = conn_sqe(c);

	io_uring_prep_splice(sqe, from, -1, to, -1, (unsigned)len, SPLICE_FLAGS);
	conn_submit(c, sqe, op);
}

static void pipe_grow(struct conn *c, int d)
{
	static bool logged;
	int cap;

	if (c->pipe_grow_tried[d] || c->pipe_cap[d] >= PIPE_BULK)
		return;
	c->pipe_grow_tried[d] = true;
	cap = fcntl(c->pipes[d][1], F_SETPIPE_SZ, PIPE_BULK);
	if (cap > 0) {
		c->pipe_cap[d] = (size_t)cap;
		return;
	}
	if (!__atomic_exchange_n(&logged, true, __ATOMIC_RELAXED))
		log_notice("[%s] cannot grow a kTLS pipe to %d KiB (%m): such connections splice at "
			   "most %zu KiB at a time (see fs.pipe-user-pages-soft)", c->t->name,
			   PIPE_BULK / 1024, c->pipe_cap[d] / 1024);
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
	size_t cap = c->pipe_cap[P2T], len = cap;
	struct io_uring_sqe *sqe;
	int inq;

	if (c->p2t_asked || conn_busy(c, OPS_PLAIN_RX | OPS_TLS_TX) || c->piped[P2T] ||
	    c->plain_rd_eof || c->bye_queued)
		return;
	if (ioctl(c->plain_fd, SIOCINQ, &inq) == 0 && inq > 0 && (size_t)inq < cap)
		len = (size_t)inq;
	conn_sqe_reserve(c, 2);
	sqe = conn_sqe(c);
	io_uring_prep_splice(sqe, c->plain_fd, -1, c->pipes[P2T][1], -1, (unsigned)len, SPLICE_FLAGS);
	conn_submit_quiet(c, sqe, OP_P2T_SPLICE_IN);
	c->p2t_asked = len;
	splice_between(c, c->pipes[P2T][0], c->tls_fd, cap, OP_P2T_SPLICE_OUT);
}

static void p2t_splice_out(struct conn *c)
{
	if (conn_busy(c, OPS_TLS_TX) || !c->piped[P2T])
		return;
	splice_between(c, c->pipes[P2T][0], c->tls_fd, c->piped[P2T], OP_P2T_SPLICE_OUT);
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
	c->piped[P2T] += (size_t)res;
	p2t_splice_out(c);
	return VERDICT_AGAIN;
}

/* The chain got to its splice out: the splice in moved all it asked for. */
static void p2t_chain_done(struct conn *c)
{
	c->piped[P2T] += c->p2t_asked;
	if (c->p2t_asked >= c->pipe_cap[P2T])
		pipe_grow(c, P2T);
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

/* A chain of t2p_burst one-record splices in, then the splice out (see the top). */
static void t2p_splice_in(struct conn *c)
{
	unsigned max = chain_max(c), k = c->t2p_burst;

	if (c->t2p_chain || conn_busy(c, OPS_TLS_RX | OPS_PLAIN_TX) || c->piped[T2P] ||
	    c->close_notify_seen || buf_used(&c->plain_out))
		return;
	k = k < 1 ? 1 : k > max ? max : k;
	conn_sqe_reserve(c, k + 1);
	for (unsigned i = 0; i < k; i++) {
		struct io_uring_sqe *sqe = conn_sqe(c);

		io_uring_prep_splice(sqe, c->tls_fd, -1, c->pipes[T2P][1], -1, TLS_MAX_PLAINTEXT,
				     SPLICE_FLAGS);
		conn_submit_quiet(c, sqe, OP_T2P_SPLICE_IN);
	}
	c->t2p_chain = k;
	c->t2p_stop = 1;
	splice_between(c, c->pipes[T2P][0], c->plain_fd, (size_t)k * TLS_MAX_PLAINTEXT,
		       OP_T2P_SPLICE_OUT);
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

static enum verdict t2p_after_read(struct conn *c);

/* A splice in of the chain did not move a whole record: the chain ended there, the rest of it
 * cancelled. The records before it are in the pipe; its result waits for the pipe to drain. */
static enum verdict t2p_in_done(struct conn *c, int res)
{
	int queued = 0;

	if (ioctl(c->pipes[T2P][0], FIONREAD, &queued) < 0)
		return conn_fail_io(c, "pipe FIONREAD", -errno);
	c->piped[T2P] = (size_t)queued;
	c->t2p_burst = (unsigned)((c->piped[T2P] - (res > 0 ? (size_t)res : 0)) / TLS_MAX_PLAINTEXT) + 1;
	c->t2p_chain = 0;
	if (res <= 0)
		c->t2p_stop = res;
	if (!c->piped[T2P])
		return t2p_after_read(c);
	t2p_splice_out(c);
	return VERDICT_AGAIN;
}

/* The pipe is empty: what ended the last chain's reading decides what comes next. */
static enum verdict t2p_after_read(struct conn *c)
{
	int stop = c->t2p_stop;

	c->t2p_stop = 1;
	if (stop > 0) {
		t2p_splice_in(c);
		return VERDICT_AGAIN;
	}
	if (stop == -EAGAIN)
		return poll_for(c, c->tls_fd, POLLIN, OP_T2P_IN_POLL);
	if (stop == -EINVAL)
		return receive_control_record(c, 0);
	/* The end of the stream, or an empty data record (allowed, and padding-only in TLS 1.3),
	 * which splice consumes and reports as 0 too. recvmsg tells them apart without waiting:
	 * see control_recv_done. */
	if (stop == 0)
		return receive_control_record(c, MSG_DONTWAIT);
	return rx_error(c, stop);
}

/* The chain got to its splice out: each splice in moved a whole record. The next chain asks
 * for twice as many (a chain that broke asks for one more than came: t2p_in_done). */
static void t2p_chain_done(struct conn *c)
{
	unsigned whole = c->quiet_ok[T2P], max = chain_max(c);

	c->piped[T2P] += (size_t)whole * TLS_MAX_PLAINTEXT;
	if (whole >= max)
		pipe_grow(c, T2P);
	c->t2p_burst = 2 * whole;
	c->t2p_chain = 0;
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
	if (c->t2p_chain)
		t2p_chain_done(c);
	if (res == -EAGAIN)
		return poll_for(c, c->plain_fd, POLLOUT, OP_T2P_OUT_POLL);
	if (res <= 0)
		return conn_fail_io(c, "plain send", res);
	conn_count_bytes(c, false, (size_t)res, false);
	drop_session(c);
	c->piped[T2P] -= (size_t)res;
	if (c->piped[T2P]) {
		t2p_splice_out(c);
		return VERDICT_AGAIN;
	}
	return t2p_after_read(c);
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
	c->t2p_burst = 1;
	c->t2p_stop = 1;
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
