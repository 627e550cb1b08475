// SPDX-License-Identifier: GPL-2.0-only
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <gnutls/ocsp.h>
#include <gnutls/x509.h>

#include "chain_cache.h"
#include "tunnel_ctx.h"
#include "verify_cache.h"

/* A purpose OID and a server name, with room to spare. */
#define CHAIN_CONTEXT_MAX (128 + ADDR_HOST_MAX)

/* The typed data verify_peers was given, as text: part of the key, so an entry is only used
 * for a check that would have asked the same (the purpose; a client's server name). False
 * if it does not fit: then the cache is not used. */
static bool describe_data(const gnutls_typed_vdata_st *data, unsigned n, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < n && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%d=%s;", (int)data[i].type,
				       data[i].data ? (const char *)data[i].data : "");
	return at < len;
}

/* A stapled response changes what verify_peers says, and has its own dates: whether it is
 * still good depends on the clock, and only verify_peers checks it, so a stapling peer is
 * always verified in full. verify_peers checks a response for every certificate of the
 * chain (TLS 1.3 staples per certificate), so a response for any of them counts, not only
 * the leaf's (which is all GNUTLS_OCSP_SR_IS_AVAIL looks at). */
static bool stapled(gnutls_session_t session)
{
	gnutls_datum_t resp;
	unsigned len = 0;

	if (!gnutls_certificate_get_peers(session, &len))
		return false;
	for (unsigned i = 0; i < len; i++)
		if (gnutls_ocsp_status_request_get2(session, i, &resp) == GNUTLS_E_SUCCESS)
			return true;
	return false;
}

static bool may_use_cache(gnutls_session_t session, const struct peer_verdict *v)
{
	return v->ctx->chains && !stapled(session);
}

static int session_key(gnutls_session_t session, const gnutls_typed_vdata_st *data, unsigned n,
		       uint8_t key[CHAIN_KEY_LEN])
{
	char context[CHAIN_CONTEXT_MAX];
	const gnutls_datum_t *chain;
	unsigned len = 0;

	chain = gnutls_certificate_get_peers(session, &len);
	if (!chain || !len || !describe_data(data, n, context, sizeof(context)))
		return -1;
	return chain_cache_key(context, chain, len, key);
}

bool verify_cache_hit(gnutls_session_t session, struct peer_verdict *v,
		      const gnutls_typed_vdata_st *data, unsigned n)
{
	uint8_t key[CHAIN_KEY_LEN];
	bool hit;

	if (!gnutls_session_is_resumed(session))
		return false;
	/* Every resumption attempt that ends is counted once, refused ones included, so
	 * hits + misses + bypassed >= handshakes_resumed (which counts successes only). */
	if (!may_use_cache(session, v)) {
		v->chain_lookup = v->ctx->chains ? CHAIN_LOOKUP_BYPASSED : CHAIN_LOOKUP_MISS;
		return false;
	}
	hit = session_key(session, data, n, key) == 0 &&
	      chain_cache_lookup(v->ctx->chains, key, time(NULL));
	v->chain_lookup = hit ? CHAIN_LOOKUP_HIT : CHAIN_LOOKUP_MISS;
	return hit;
}

static void narrow(gnutls_x509_crt_t crt, time_t *not_before, time_t *not_after, bool *ok)
{
	time_t from = gnutls_x509_crt_get_activation_time(crt);
	time_t until = gnutls_x509_crt_get_expiration_time(crt);

	if (from == (time_t)-1 || until == (time_t)-1)
		*ok = false;
	if (from > *not_before)
		*not_before = from;
	if (until < *not_after)
		*not_after = until;
}

/* Whether GnuTLS checks a trusted issuer's dates depends on its flags and version: count
 * them as if it did, so an entry never outlives a check that could have failed. */
static bool chain_window(const struct tunnel_ctx *ctx, const gnutls_datum_t *chain, unsigned len,
			 time_t *not_before, time_t *not_after)
{
	gnutls_x509_trust_list_t tl;
	bool ok = true;

	gnutls_certificate_get_trust_list(ctx->creds, &tl);
	*not_before = 0;
	*not_after = (time_t)INT64_MAX;
	for (unsigned i = 0; ok && i < len; i++) {
		gnutls_x509_crt_t crt, issuer;

		if (gnutls_x509_crt_init(&crt) < 0)
			return false;
		ok = gnutls_x509_crt_import(crt, &chain[i], GNUTLS_X509_FMT_DER) == 0;
		if (ok)
			narrow(crt, not_before, not_after, &ok);
		/* Owned by the list (no GNUTLS_TL_GET_COPY: ours is in memory, not PKCS#11). */
		if (ok && gnutls_x509_trust_list_get_issuer(tl, crt, &issuer, 0) == 0)
			narrow(issuer, not_before, not_after, &ok);
		gnutls_x509_crt_deinit(crt);
	}
	return ok;
}

void verify_cache_fill(gnutls_session_t session, const struct peer_verdict *v,
		       const gnutls_typed_vdata_st *data, unsigned n)
{
	uint8_t key[CHAIN_KEY_LEN];
	const gnutls_datum_t *chain;
	time_t not_before, not_after, now;
	unsigned len = 0;

	if (!may_use_cache(session, v) || session_key(session, data, n, key) < 0)
		return;
	/* A chain filed already keeps its entry as it is (its dates need not be read again): not
	 * a lookup, so neither its recency nor any other entry changes. */
	now = time(NULL);
	if (chain_cache_holds(v->ctx->chains, key, now))
		return;
	chain = gnutls_certificate_get_peers(session, &len);
	if (chain && len && chain_window(v->ctx, chain, len, &not_before, &not_after))
		chain_cache_store(v->ctx->chains, key, not_before, not_after, now);
}
