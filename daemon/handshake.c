// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include "addr.h"
#include "conn.h"
#include "log.h"
#include "pkcs11.h"
#include "tls_names.h"
#include "tunnel.h"
#include "tunnel_ctx.h"
#include "worker.h"

/*
 * The TLS side of a connection before and around the data path. GnuTLS never touches a
 * socket: its transport reads ciphertext that io_uring received into tls_in and appends the
 * records it writes to tls_out, which io_uring sends. So a handshake step never blocks and
 * the same session moves to the data path (or, later, to kTLS) without changing hands.
 */

static ssize_t tls_pull(gnutls_transport_ptr_t ptr, void *data, size_t len)
{
	struct conn *c = ptr;
	size_t end = c->tls_in.len < c->pull_limit ? c->tls_in.len : c->pull_limit;
	size_t n = end - c->tls_in.off;

	if (!n) {
		if (c->tls_rd_eof)
			return 0;
		c->pull_starved = true;
		gnutls_transport_set_errno(c->session, EAGAIN);
		return -1;
	}
	if (n > len)
		n = len;
	memcpy(data, c->tls_in.data + c->tls_in.off, n);
	c->tls_in.off += n;
	return (ssize_t)n;
}

static int tls_pull_timeout(gnutls_transport_ptr_t ptr, unsigned ms)
{
	struct conn *c = ptr;

	return c->tls_in.off < c->tls_in.len || c->tls_rd_eof ? 1 : 0;
}

static ssize_t tls_push(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
	struct conn *c = ptr;
	struct buf *out = &c->tls_out;
	size_t total = 0;

	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if (!conn_op_busy(c, UD_TLS_SEND))
		buf_compact(out);
	if (buf_room(out) < total) {
		/* The data path never queues more than fits; this is a broken invariant. */
		log_err("[%s] TLS output buffer full (%zu queued, %zu more)", c->t->name,
			buf_used(out), total);
		gnutls_transport_set_errno(c->session, ENOBUFS);
		return -1;
	}
	for (int i = 0; i < iovcnt; i++) {
		memcpy(out->data + out->len, iov[i].iov_base, iov[i].iov_len);
		out->len += iov[i].iov_len;
	}
	return (ssize_t)total;
}

void tls_flush(struct conn *c)
{
	struct io_uring_sqe *sqe;

	if (conn_op_busy(c, UD_TLS_SEND) || !buf_used(&c->tls_out))
		return;
	sqe = worker_sqe(c->w);
	io_uring_prep_send(sqe, c->tls_fd, c->tls_out.data + c->tls_out.off, buf_used(&c->tls_out),
			   MSG_NOSIGNAL);
	conn_submit(c, sqe, UD_TLS_SEND);
}

void tls_receive(struct conn *c)
{
	struct io_uring_sqe *sqe;

	if (conn_op_busy(c, UD_TLS_RECV) || c->tls_rd_eof)
		return;
	buf_reset_if_empty(&c->tls_in);
	if (buf_room(&c->tls_in) < 16 * 1024 + 512)
		buf_compact(&c->tls_in);
	/* Full of records the plain side has no room for yet: the plain send re-arms us. A
	 * zero-length receive would read as end of stream. */
	if (!buf_room(&c->tls_in))
		return;
	sqe = worker_sqe(c->w);
	io_uring_prep_recv(sqe, c->tls_fd, c->tls_in.data + c->tls_in.len, buf_room(&c->tls_in), 0);
	conn_submit(c, sqe, UD_TLS_RECV);
}

int tls_sent(struct conn *c, int res)
{
	if (res < 0)
		return res;
	c->tls_out.off += (size_t)res;
	if (!buf_used(&c->tls_out)) {
		buf_reset_if_empty(&c->tls_out);
		return 0;
	}
	tls_flush(c); /* short send, or records queued meanwhile */
	return 1;
}

static int session_setup(struct conn *c)
{
	const struct tunnel_ctx *ctx = c->ctx;
	bool server = ctx->mode == MODE_SERVER;
	int rc;

	/* A client sends one key share, for the first group (X25519): GnuTLS's default adds one
	 * for P-256 too, a key pair made for every connection and thrown away whenever the
	 * server picks X25519. A server without X25519 still gets there, by HelloRetryRequest. */
	rc = gnutls_init(&c->session, (server ? GNUTLS_SERVER : GNUTLS_CLIENT | GNUTLS_KEY_SHARE_TOP) |
					      GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL);
	if (rc < 0)
		return rc;
	rc = gnutls_priority_set(c->session, ctx->priority);
	if (rc < 0)
		return rc;
	rc = gnutls_credentials_set(c->session, GNUTLS_CRD_CERTIFICATE, ctx->creds);
	if (rc < 0)
		return rc;
	if (server)
		gnutls_certificate_server_set_request(c->session, GNUTLS_CERT_REQUIRE);
	else if (!ctx->server_name_is_ip) {
		rc = gnutls_server_name_set(c->session, GNUTLS_NAME_DNS, ctx->server_name,
					    strlen(ctx->server_name));
		if (rc < 0)
			return rc;
	}
	/* A server staples only when asked (status_request). GnuTLS 3.7 clients ask by default
	 * (and check what comes, so even without require-ocsp a staple saying revoked refuses the
	 * server); ask explicitly where it is required, not relying on that default. A GnuTLS
	 * server asks its TLS 1.3 clients by itself, so a server tunnel has nothing to enable. */
	if (!server && ctx->require_ocsp) {
		rc = gnutls_ocsp_status_request_enable_client(c->session, NULL, 0, NULL);
		if (rc < 0)
			return rc;
	}
	gnutls_session_set_ptr(c->session, &c->verdict);
	verify_watch_certificate(c->session);
	gnutls_transport_set_ptr(c->session, c);
	gnutls_transport_set_pull_function(c->session, tls_pull);
	gnutls_transport_set_pull_timeout_function(c->session, tls_pull_timeout);
	gnutls_transport_set_vec_push_function(c->session, tls_push);
	/* The worker's tick enforces the handshake timeout; GnuTLS's own clock would be a second one. */
	gnutls_handshake_set_timeout(c->session, GNUTLS_INDEFINITE_TIMEOUT);
	return 0;
}

int handshake_start(struct conn *c)
{
	int rc = session_setup(c);

	if (rc < 0) {
		snprintf(c->detail, sizeof(c->detail), "session setup: %s", gnutls_strerror(rc));
		conn_close(c, REASON_TLS_ERROR);
		return -EIO;
	}
	c->state = CONN_HANDSHAKE;
	c->deadline_ms = c->w->now_ms + c->ctx->handshake_timeout_ms;
	/* The worker's coarse clock ticks every few ms: too coarse for a handshake's duration. */
	clock_gettime(CLOCK_MONOTONIC, &c->hs_started);
	return 0;
}

static uint64_t handshake_us(const struct conn *c)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)((now.tv_sec - c->hs_started.tv_sec) * 1000000 +
			  (now.tv_nsec - c->hs_started.tv_nsec) / 1000);
}

static void handshake_done(struct conn *c)
{
	char addr[ADDR_TEXT_MAX], dst[ADDR_TEXT_MAX + 5];

	pthread_mutex_lock(&c->w->conns_lock);
	verify_peer_identity(c->session, c->identity, sizeof(c->identity));
	c->version = tls_version_name(gnutls_protocol_get_version(c->session));
	c->cipher = tls_cipher_name(gnutls_cipher_get(c->session));
	pthread_mutex_unlock(&c->w->conns_lock);
	stat_add(&conn_stats(c)->handshakes_ok, 1);
	stat_handshake(conn_stats(c), handshake_us(c));
	log_info("[%s] handshake peer=%s%s id=\"%s\" version=%s cipher=%s", c->t->name,
		 addr_format((const struct sockaddr *)&c->peer, c->peerlen, addr), conn_dst_text(c, dst),
		 c->identity, c->version, c->cipher);
	if (c->ctx->mode == MODE_SERVER)
		connect_start(c);
	else
		pump_start(c);
}

/*
 * Runs gnutls_handshake as far as the input in tls_in takes it. GnuTLS reads one record per
 * call and says AGAIN when that record held only part of a handshake message (a certificate
 * chain over 16 KiB, a peer that fragments): AGAIN means "wait for the peer" only when the
 * transport ran dry. Each further call consumes input, so the loop ends.
 */
static int handshake_run(struct conn *c)
{
	size_t before;
	int rc;

	if (c->ctx->pkcs11_key)
		pkcs11_enter();
	do {
		before = c->tls_in.off;
		c->pull_starved = false;
		rc = gnutls_handshake(c->session);
		if (rc == GNUTLS_E_AGAIN && (c->pull_starved || c->tls_in.off == before))
			break;
	} while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (c->ctx->pkcs11_key)
		pkcs11_leave();
	return rc;
}

/* The detail of a refusal GnuTLS decided (the verify callback writes its own). */
static void failure_detail(struct conn *c, enum reason reason, int rc)
{
	if (c->verdict.reason != REASON_NONE)
		return;
	if (rc == GNUTLS_E_PREMATURE_TERMINATION)
		snprintf(c->detail, sizeof(c->detail), "peer closed the connection mid-handshake");
	else if (reason == REASON_BAD_CERTIFICATE &&
		 (rc == GNUTLS_E_NO_CERTIFICATE_FOUND || rc == GNUTLS_E_CERTIFICATE_REQUIRED))
		snprintf(c->detail, sizeof(c->detail), "the peer's Certificate message is not "
			 "empty but holds no certificate");
	else if (reason == REASON_BAD_CERTIFICATE)
		snprintf(c->detail, sizeof(c->detail), "the peer's certificate does not parse: %s",
			 gnutls_strerror(rc));
	else
		tls_error_text(c, rc, "");
}

void handshake_step(struct conn *c)
{
	enum reason reason;
	int rc = handshake_run(c);

	if (rc == 0 || rc == GNUTLS_E_AGAIN) {
		tls_flush(c);
		if (rc == 0)
			handshake_done(c);
		else
			tls_receive(c);
		return;
	}
	/* Refused: what GnuTLS queued (a TLS 1.3 ChangeCipherSpec, say) and the alert leave
	 * together from conn_close, in order; a send submitted now would still be in flight. */
	reason = verify_handshake_failure(c->session, &c->verdict, rc);
	failure_detail(c, reason, rc);
	verify_send_alert(c->session, reason, rc);
	conn_close(c, reason);
}

void tls_error_text(struct conn *c, int rc, const char *what)
{
	char alert[TLS_ALERT_TEXT_MAX];

	if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED || rc == GNUTLS_E_WARNING_ALERT_RECEIVED)
		snprintf(c->detail, sizeof(c->detail), "%speer sent alert %s", what,
			 tls_alert_text(gnutls_alert_get(c->session), alert));
	else
		snprintf(c->detail, sizeof(c->detail), "%s%s", what, gnutls_strerror(rc));
}

void handshake_tls_received(struct conn *c, int res)
{
	if (res > 0)
		c->tls_in.len += (size_t)res;
	else if (res == 0 || res == -ECONNRESET)
		c->tls_rd_eof = true;
	else {
		snprintf(c->detail, sizeof(c->detail), "recv: %s", strerror(-res));
		conn_close(c, REASON_PEER_CLOSED);
		return;
	}
	handshake_step(c);
}
