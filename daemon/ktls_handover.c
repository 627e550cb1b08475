// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "phase.h"
#include "plain_io.h"
#include "session_ticket.h"
#include "tls_io.h"
#include "tls_names.h"
#include "tunnel.h"
#include "tunnel_ctx.h"
#include "worker.h"

/*
 * The hand-over phase: GnuTLS's keys go to the kernel (ktls.c) at a record boundary with
 * nothing pending in GnuTLS. Records that arrived with the handshake are decrypted in
 * userspace and delivered first, and a record we had read only in part is completed with
 * exact-size reads. It ends with the keys in the kernel (c->ktls: the kTLS pump streams)
 * or, where the kernel cannot take them and ktls is not required, in userspace (the
 * userspace pump streams), which phase.c picks by c->ktls.
 */

/* Decrypts the records that came with the handshake. VERDICT_AGAIN while their delivery
 * (or a reply GnuTLS queued) is in flight, VERDICT_NEXT once nothing is left. */
static enum verdict deliver_early_records(struct conn *c)
{
	struct buf *out = &c->plain_out;
	size_t need;

	out->off = out->len = 0;
	while (buf_room(out) && !c->close_notify_seen) {
		size_t whole = tls_record_whole(&c->tls_in, &need), before = c->tls_in.off;
		ssize_t n;

		if (!whole && !gnutls_record_check_pending(c->session))
			break;
		c->pull_limit = c->tls_in.off + whole;
		n = gnutls_record_recv(c->session, out->data + out->len, buf_room(out));
		c->pull_limit = SIZE_MAX;
		if (n > 0) {
			out->len += (size_t)n;
		} else if (n == 0) {
			c->close_notify_seen = true;
		} else if (gnutls_error_is_fatal((int)n)) {
			return tls_io_close(c, REASON_TLS_ERROR, (int)n, "decrypt: ");
		} else if (c->tls_in.off == before) {
			break;
		}
	}
	tls_io_flush(c); /* a KeyUpdate reply, if one of those records asked for it */
	if (!buf_used(out))
		return conn_busy(c, OPS_TLS_TX) ? VERDICT_AGAIN : VERDICT_NEXT;
	plain_io_flush(c);
	return VERDICT_AGAIN;
}

static enum verdict stay_in_userspace(struct conn *c, const char *why)
{
	if (c->ctx->ktls == KTLS_REQUIRED)
		return conn_closef(c, REASON_KTLS_UNAVAILABLE, "ktls = required: %s", why);
	if (!__atomic_exchange_n(&c->t->ktls_fallback_logged, true, __ATOMIC_RELAXED))
		log_notice("[%s] a connection cannot use kTLS (%s): it and any like it use the "
			   "userspace data path", c->t->name, why);
	return VERDICT_NEXT;
}

/* The plain -> kTLS direction's pipe (the other direction copies: pump_ktls.c). */
static int open_pipe(struct conn *c)
{
	int cap;

	if (pipe2(c->pipe, O_CLOEXEC) < 0)
		return -errno;
	/* Usually 64 KiB; less once the user is over fs.pipe-user-pages-soft. */
	cap = fcntl(c->pipe[1], F_GETPIPE_SZ);
	c->pipe_cap = cap > 0 ? (size_t)cap : 4096;
	return 0;
}

static void close_pipe(struct conn *c)
{
	for (int e = 0; e < 2; e++)
		if (c->pipe[e] >= 0) {
			close(c->pipe[e]);
			c->pipe[e] = -1;
		}
}

/* The splices must not block (see pump_ktls.c); TCP's splice read and the sends into a
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

static enum verdict switch_to_kernel(struct conn *c)
{
	gnutls_protocol_t version = gnutls_protocol_get_version(c->session);
	gnutls_cipher_algorithm_t cipher = gnutls_cipher_get(c->session);
	char why[160];
	int rc;

	if (!ktls_can_offload(&c->w->k->ktls, version, cipher)) {
		snprintf(why, sizeof(why), "the kernel does not offload %s with %s",
			 tls_cipher_name(cipher), tls_version_name(version));
		return stay_in_userspace(c, why);
	}
	rc = open_pipe(c);
	if (rc == 0)
		rc = ktls_attach(c->tls_fd);
	if (rc == -ENOTCONN) {
		/* The kernel takes the ULP only on an ESTABLISHED socket: the peer's FIN (its
		 * half-close, e.g. right after a CONNECT and its bytes) is queued and not read
		 * yet. As for an EOF already read (handover_step), the userspace path ends it. */
		close_pipe(c);
		return VERDICT_NEXT;
	}
	if (rc == 0)
		rc = ktls_install(c->tls_fd, c->session, false);
	if (rc < 0) {
		/* Without keys, a socket with the ULP attached still carries plain TCP. */
		close_pipe(c);
		snprintf(why, sizeof(why), "kTLS setup: %s", strerror(-rc));
		return stay_in_userspace(c, why);
	}
	rc = ktls_install(c->tls_fd, c->session, true);
	if (rc < 0)
		return conn_closef(c, REASON_IO_ERROR, "kTLS RX after TX: %s", strerror(-rc));
	rc = set_nonblocking(c->tls_fd);
	if (rc == 0)
		rc = set_nonblocking(c->plain_fd);
	if (rc < 0)
		return conn_closef(c, REASON_IO_ERROR, "O_NONBLOCK for splice: %s", strerror(-rc));
	/* A client keeps it until a NewSessionTicket has come through the kernel (pump_ktls.c
	 * gives it to GnuTLS, session_ticket.c files it); then the pump frees it. */
	if (!session_ticket_keep(c))
		release_session(c);
	__atomic_store_n(&c->ktls, true, __ATOMIC_RELAXED);
	return VERDICT_NEXT;
}

static void receive_exactly(struct conn *c, size_t need)
{
	struct io_uring_sqe *sqe;

	buf_reset_if_empty(&c->tls_in);
	buf_compact(&c->tls_in);
	sqe = conn_sqe(c);
	io_uring_prep_recv(sqe, c->tls_fd, c->tls_in.data + c->tls_in.len, need, 0);
	conn_submit(c, sqe, OP_TLS_RECV);
}

static enum verdict handover_step(struct conn *c)
{
	enum verdict v;
	size_t need;

	if (conn_busy(c, OPS_TLS_TX | OPS_TLS_RX | OPS_PLAIN_TX))
		return VERDICT_AGAIN;
	if (buf_used(&c->tls_out)) {
		tls_io_flush(c);
		return VERDICT_AGAIN;
	}
	v = deliver_early_records(c);
	if (v != VERDICT_NEXT)
		return v;
	/* The peer has finished sending already; the userspace path ends it properly. */
	if (c->close_notify_seen || c->tls_rd_eof)
		return VERDICT_NEXT;
	tls_record_whole(&c->tls_in, &need);
	if (need) {
		receive_exactly(c, need);
		return VERDICT_AGAIN;
	}
	return switch_to_kernel(c);
}

static enum verdict handover_begin(struct conn *c)
{
	if (!c->ctx->ktls_wanted)
		return VERDICT_NEXT;
	/* The hand-over gets its own deadline: the handshake's was set when it began, and in
	 * server mode the connect to the target has taken some of it since. */
	c->deadline_ms = c->w->now_ms + c->ctx->handshake_timeout_ms;
	return handover_step(c);
}

static enum verdict on_tls_recv(struct conn *c, int res)
{
	res = tls_io_received(c, res);
	if (res < 0)
		return conn_close(c, conn_error_reason(-res));
	return handover_step(c);
}

static enum verdict on_tls_send(struct conn *c, int res)
{
	res = tls_io_sent(c, res);
	if (res < 0)
		return conn_close(c, conn_error_reason(-res));
	return res ? VERDICT_AGAIN : handover_step(c);
}

static enum verdict on_plain_send(struct conn *c, int res)
{
	res = plain_io_sent(c, res);
	if (res < 0)
		return conn_close(c, conn_error_reason(-res));
	return res ? VERDICT_AGAIN : handover_step(c);
}

const struct phase ktls_handover_phase = {
	.name = "kTLS hand-over",
	.state = CONN_HANDOVER,
	.begin = handover_begin,
	.on = {
		[OP_TLS_RECV] = on_tls_recv,
		[OP_TLS_SEND] = on_tls_send,
		[OP_PLAIN_SEND] = on_plain_send,
	},
};
