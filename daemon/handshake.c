// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "log.h"
#include "peers.h"
#include "phase.h"
#include "pkcs11.h"
#include "session_ticket.h"
#include "resume_check.h"
#include "tls_io.h"
#include "tls_names.h"
#include "tunnel.h"
#include "tunnel_ctx.h"
#include "worker.h"

/* The handshake phase: the mutual TLS handshake over tls_io, with GnuTLS's verify callback
 * (verify.c) deciding on the peer. Server mode runs it first; client mode once connected. */

/* GnuTLS takes one hook function per session: this one hands each message to whoever
 * watches its type. It stays set after the handshake, for NewSessionTickets (also those
 * session_ticket_ingest() gives GnuTLS after a kTLS hand-over). */
static int handshake_hook(gnutls_session_t session, unsigned htype, unsigned when,
			  unsigned incoming, const gnutls_datum_t *msg)
{
	struct conn *c = (struct conn *)((char *)gnutls_session_get_ptr(session) -
					 offsetof(struct conn, verdict));

	if (htype == GNUTLS_HANDSHAKE_NEW_SESSION_TICKET && incoming)
		session_ticket_hook(c, when == GNUTLS_HOOK_POST, msg);
	return verify_certificate_hook(session, htype, when, incoming, msg);
}

/* TLS 1.3 session tickets: a server tunnel issues them under its key (ticket_key.c); one
 * with resumption off neither issues nor offers any (GNUTLS_NO_TICKETS at init). */
static int resumption_setup(struct conn *c, bool server)
{
	if (!c->ctx->resumption || !server)
		return 0;
	return ticket_key_enable(&c->ctx->ticket, c->session, c->ctx->resumption_lifetime);
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
					      GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL |
					      (ctx->resumption ? 0 : GNUTLS_NO_TICKETS) |
					      (server ? GNUTLS_NO_AUTO_SEND_TICKET : 0));
	if (rc < 0)
		return rc;
	rc = gnutls_priority_set(c->session, ctx->priority);
	if (rc < 0)
		return rc;
	rc = resumption_setup(c, server);
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
	gnutls_handshake_set_hook_function(c->session, GNUTLS_HANDSHAKE_ANY, GNUTLS_HOOK_BOTH,
					   handshake_hook);
	session_ticket_offer(c);
	tls_io_attach(c);
	/* The worker's tick enforces the handshake timeout; GnuTLS's own clock would be a second one. */
	gnutls_handshake_set_timeout(c->session, GNUTLS_INDEFINITE_TIMEOUT);
	return 0;
}

static enum verdict handshake_step(struct conn *c);

static enum verdict handshake_begin(struct conn *c)
{
	int rc = session_setup(c);

	if (rc < 0) {
		/* Not a refusal of the peer: without a session, conn_close resets it. */
		if (c->session)
			gnutls_deinit(c->session);
		c->session = NULL;
		return conn_closef(c, REASON_TLS_ERROR, "session setup: %s", gnutls_strerror(rc));
	}
	c->deadline_ms = c->w->now_ms + c->ctx->handshake_timeout_ms;
	/* The worker's coarse clock ticks every few ms: too coarse for a handshake's duration. */
	clock_gettime(CLOCK_MONOTONIC, &c->hs_started);
	return handshake_step(c);
}

static uint64_t handshake_us(const struct conn *c)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)((now.tv_sec - c->hs_started.tv_sec) * 1000000 +
			  (now.tv_nsec - c->hs_started.tv_nsec) / 1000);
}

static enum verdict handshake_done(struct conn *c)
{
	const struct tunnel_ctx *ctx = c->ctx;
	char addr[ADDR_TEXT_MAX], dst[CONN_DST_TEXT_MAX], rule[POLICY_VALUE_MAX + 40];

	pthread_mutex_lock(&c->w->conns_lock);
	verify_peer_cert(c->session, &c->cert);
	c->version = tls_version_name(gnutls_protocol_get_version(c->session));
	c->cipher = tls_cipher_name(gnutls_cipher_get(c->session));
	c->resumed = gnutls_session_is_resumed(c->session);
	pthread_mutex_unlock(&c->w->conns_lock);
	stat_add(&conn_stats(c)->handshakes_ok, 1);
	if (c->resumed)
		stat_add(&conn_stats(c)->handshakes_resumed, 1);
	stat_handshake(conn_stats(c), handshake_us(c));
	peer_cert_rule(&ctx->policy, &c->verdict.match, ctx->mode == MODE_SERVER, ctx->server_name,
		       rule, sizeof(rule));
	/* The audit line: who, as whom (the leaf and the rule that let it in), over what. */
	log_info("[%s] handshake peer=%s%s id=\"%s\" version=%s cipher=%s serial=%s issuer=\"%s\" "
		 "sha256=%s rule=\"%s\" resumed=%s", c->t->name,
		 addr_format((const struct sockaddr *)&c->peer, c->peerlen, addr), conn_dst_text(c, dst),
		 c->cert.id, c->version, c->cipher, c->cert.serial, c->cert.issuer, c->cert.sha256, rule,
		 c->resumed ? "yes" : "no");
	peers_connected(c->t->name, c->cert.id, time(NULL));
	return VERDICT_NEXT;
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

/* Closes a refused handshake. The verify callback wrote its own detail; a refusal GnuTLS
 * decided gets one here. */
static enum verdict refuse(struct conn *c, enum reason reason, int rc)
{
	if (c->verdict.reason != REASON_NONE)
		return conn_close(c, reason);
	if (rc == GNUTLS_E_PREMATURE_TERMINATION)
		return conn_closef(c, reason, "peer closed the connection mid-handshake");
	if (reason == REASON_BAD_CERTIFICATE &&
	    (rc == GNUTLS_E_NO_CERTIFICATE_FOUND || rc == GNUTLS_E_CERTIFICATE_REQUIRED))
		return conn_closef(c, reason, "the peer's Certificate message is not empty but "
				   "holds no certificate");
	if (reason == REASON_BAD_CERTIFICATE)
		return conn_closef(c, reason, "the peer's certificate does not parse: %s",
				   gnutls_strerror(rc));
	return tls_io_close(c, reason, rc, "");
}

/* A server issues tickets only to a peer that passed, its resumed session re-checked too
 * (GNUTLS_NO_AUTO_SEND_TICKET at init): a refused peer must not leave with fresh tickets.
 * They are optional, so a failure to write them costs only the next resumption. */
static void send_tickets(struct conn *c)
{
	int rc;

	if (c->ctx->mode != MODE_SERVER || !c->ctx->resumption ||
	    gnutls_protocol_get_version(c->session) != GNUTLS_TLS1_3)
		return;
	rc = gnutls_session_ticket_send(c->session, 2, 0);
	if (rc < 0)
		log_debug("[%s] session tickets not sent: %s", c->t->name, gnutls_strerror(rc));
}

/* Whether a resumed session's chain was found verified already (verify_cache.h). Counted for
 * any handshake that ends, so a full one that looked would show. */
static void count_chain_lookup(struct conn *c)
{
	if (c->verdict.chain_lookup == CHAIN_LOOKUP_HIT)
		stat_add(&conn_stats(c)->chain_cache_hits, 1);
	else if (c->verdict.chain_lookup == CHAIN_LOOKUP_MISS)
		stat_add(&conn_stats(c)->chain_cache_misses, 1);
	else if (c->verdict.chain_lookup == CHAIN_LOOKUP_BYPASSED)
		stat_add(&conn_stats(c)->chain_cache_bypassed, 1);
}

static enum verdict handshake_step(struct conn *c)
{
	enum reason reason;
	int rc = handshake_run(c);

	/* A resumed session is checked again before anything leaves, as a full handshake's
	 * verify callback checks it: refused, its alert goes out behind the last flight. */
	if (rc == 0 && gnutls_session_is_resumed(c->session))
		rc = resume_check(c->session);
	if (rc != GNUTLS_E_AGAIN)
		count_chain_lookup(c);
	if (rc == 0)
		send_tickets(c);
	if (rc == 0 || rc == GNUTLS_E_AGAIN) {
		tls_io_flush(c);
		if (rc == 0)
			return handshake_done(c);
		tls_io_receive(c);
		return VERDICT_AGAIN;
	}
	/* Refused: what GnuTLS queued (a TLS 1.3 ChangeCipherSpec, say) and the alert leave
	 * together from conn_close, in order; a send submitted now would still be in flight. */
	reason = verify_handshake_failure(c->session, &c->verdict, rc);
	verify_send_alert(c->session, reason, rc);
	session_ticket_refused(c);
	return refuse(c, reason, rc);
}

static enum verdict on_tls_recv(struct conn *c, int res)
{
	if (res < 0 && res != -ECONNRESET)
		return conn_closef(c, REASON_PEER_CLOSED, "recv: %s", strerror(-res));
	tls_io_received(c, res < 0 ? 0 : res);
	return handshake_step(c);
}

const struct phase handshake_phase = {
	.name = "handshake",
	.state = CONN_HANDSHAKE,
	.begin = handshake_begin,
	.on = {
		[OP_TLS_RECV] = on_tls_recv,
		[OP_TLS_SEND] = tls_io_on_send,
	},
};
