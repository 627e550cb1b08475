// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <gnutls/x509.h>

#include "addr.h"
#include "conn.h"
#include "log.h"
#include "session_ticket.h"
#include "tunnel.h"
#include "tunnel_ctx.h"

/* Threads: called on the connection's worker; the cache has its own mutex. */

/* The far end this connection reached: with several targets each has tickets of its own
 * (their ktunds need not share a ticket key), "ADDRESS:PORT SERVER-NAME". */
static void far_identity(const struct conn *c, char *buf, size_t len)
{
	const struct tunnel_ctx *ctx = c->ctx;
	char addr[ADDR_TEXT_MAX];

	if (c->target < 0 || (size_t)c->target >= ctx->targets.n) {
		snprintf(buf, len, "%s", ctx->ticket_identity);
		return;
	}
	addr_format((const struct sockaddr *)&ctx->targets.addrs[c->target].ss,
		    ctx->targets.addrs[c->target].len, addr);
	snprintf(buf, len, "%s %s", addr, ctx->server_name);
}

/* Seconds until the first notAfter of the peer's chain, which a resumed session carries on:
 * a ticket must not outlive it, or resuming it after a renewal is refused as expired. */
static long long chain_seconds_left(gnutls_session_t session, time_t now)
{
	unsigned n = 0;
	const gnutls_datum_t *der = gnutls_certificate_get_peers(session, &n);
	long long left = -1;

	for (unsigned i = 0; der && i < n; i++) {
		gnutls_x509_crt_t crt;
		time_t end = (time_t)-1;

		if (gnutls_x509_crt_init(&crt) < 0)
			return -1;
		if (gnutls_x509_crt_import(crt, &der[i], GNUTLS_X509_FMT_DER) == 0)
			end = gnutls_x509_crt_get_expiration_time(crt);
		gnutls_x509_crt_deinit(crt);
		if (end == (time_t)-1)
			return -1;
		if (left < 0 || (long long)(end - now) < left)
			left = (long long)(end - now);
	}
	return left;
}

void session_ticket_offer(struct conn *c)
{
	struct tunnel_ctx *ctx = c->ctx;
	char identity[TICKET_IDENTITY_MAX];
	uint8_t *data;
	size_t len;
	int rc;

	/* require-ocsp: a resumed server sends no Certificate message, so it staples nothing
	 * and the requirement could not be checked. Such a tunnel never resumes. */
	if (ctx->mode != MODE_CLIENT || ctx->require_ocsp || !ctx->resumption)
		return;
	far_identity(c, identity, sizeof(identity));
	if (ticket_cache_take(&ctx->tickets, identity, time(NULL), &data, &len) < 0) {
		stat_add(&conn_stats(c)->ticket_misses, 1);
		return;
	}
	stat_add(&conn_stats(c)->ticket_hits, 1);
	rc = gnutls_session_set_data(c->session, data, len);
	explicit_bzero(data, len);
	free(data);
	/* A ticket GnuTLS cannot use costs a full handshake, nothing else. */
	if (rc < 0)
		log_debug("[%s] cached session ticket not usable: %s", c->t->name, gnutls_strerror(rc));
}

/* struct NewSessionTicket starts with uint32 ticket_lifetime (RFC 8446 4.6.1). GnuTLS has
 * checked nothing yet when this runs: a short message leaves lifetime 0 (not cached), and
 * GnuTLS then refuses it. */
static uint32_t ticket_lifetime(const gnutls_datum_t *msg)
{
	if (msg->size < 4)
		return 0;
	return (uint32_t)msg->data[0] << 24 | (uint32_t)msg->data[1] << 16 |
	       (uint32_t)msg->data[2] << 8 | msg->data[3];
}

void session_ticket_hook(struct conn *c, bool post, const gnutls_datum_t *msg)
{
	struct tunnel_ctx *ctx = c->ctx;
	gnutls_datum_t data = { NULL, 0 };
	char identity[TICKET_IDENTITY_MAX];
	time_t now = time(NULL);
	long long left;
	uint32_t lifetime;
	int rc;

	if (ctx->mode != MODE_CLIENT || !ctx->resumption ||
	    gnutls_protocol_get_version(c->session) != GNUTLS_TLS1_3)
		return;
	if (!post) {
		c->ticket_lifetime = ticket_lifetime(msg);
		return;
	}
	if (!c->ticket_lifetime)
		return; /* 0: "do not cache" */
	left = chain_seconds_left(c->session, now);
	if (left <= 0)
		return;
	lifetime = left < c->ticket_lifetime ? (uint32_t)left : c->ticket_lifetime;
	rc = gnutls_session_get_data2(c->session, &data);
	if (rc < 0) {
		log_debug("[%s] session ticket without resumption data: %s", c->t->name,
			  gnutls_strerror(rc));
		return;
	}
	far_identity(c, identity, sizeof(identity));
	rc = ticket_cache_put(&ctx->tickets, identity, data.data, data.size, lifetime, now);
	explicit_bzero(data.data, data.size);
	gnutls_free(data.data);
	if (rc < 0) {
		/* Larger than TICKET_DATA_MAX (a huge chain) or out of memory: not resumed. */
		log_debug("[%s] session ticket of %u bytes not cached: %s", c->t->name, data.size,
			  strerror(-rc));
		return;
	}
	stat_add(&conn_stats(c)->tickets_stored, 1);
	c->ticket_stored = true;
}

/* GnuTLS 3.7.9 takes handshake messages from its caller (gnutls_handshake_write) only in a
 * session that has a handshake read function, its QUIC interface: without one it answers
 * GNUTLS_E_INVALID_REQUEST (measured). That function would get the handshake messages the
 * session sends; on kTLS a client sends none (no KeyUpdate, no post-handshake
 * authentication), and one would be refused here rather than lost. */
static int no_handshake_out(gnutls_session_t session, gnutls_record_encryption_level_t level,
			    gnutls_handshake_description_t htype, const void *data, size_t len)
{
	(void)session, (void)level, (void)htype, (void)data, (void)len;
	return GNUTLS_E_INVALID_REQUEST;
}

bool session_ticket_keep(struct conn *c)
{
	if (c->ctx->mode != MODE_CLIENT || !c->ctx->resumption || c->ticket_stored ||
	    gnutls_protocol_get_version(c->session) != GNUTLS_TLS1_3)
		return false;
	gnutls_handshake_set_read_function(c->session, no_handshake_out);
	return true;
}

int session_ticket_ingest(struct conn *c, const uint8_t *msgs, size_t len)
{
	return gnutls_handshake_write(c->session, GNUTLS_ENCRYPTION_LEVEL_APPLICATION, msgs, len);
}

void session_ticket_refused(struct conn *c)
{
	if (c->ctx->mode != MODE_CLIENT || !c->session || !gnutls_session_is_resumed(c->session))
		return;
	ticket_cache_flush(&c->ctx->tickets);
	log_info("[%s] session tickets dropped: a resumed session was refused", c->t->name);
}
