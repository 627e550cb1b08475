/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_VERIFY_H
#define KTUN_VERIFY_H

#include <stdbool.h>
#include <gnutls/gnutls.h>

#include "peer_cert.h"
#include "policy.h"
#include "reason.h"

struct tunnel_ctx;

/* Whether a resumed session's chain was found in the tunnel context's cache of verified
 * chains (verify_cache.h); NONE for a full handshake, or one that may not use the cache. */
/* BYPASSED: a resumed session with a stapled OCSP response, which never uses the cache. */
enum chain_lookup { CHAIN_LOOKUP_NONE, CHAIN_LOOKUP_HIT, CHAIN_LOOKUP_MISS, CHAIN_LOOKUP_BYPASSED };

/* The outcome of checking a peer, filled by the GnuTLS verify callback during the handshake.
 * A session's user pointer (gnutls_session_set_ptr) points at its verdict. */
struct peer_verdict {
	const struct tunnel_ctx *ctx;
	enum reason reason;
	bool cert_listed; /* the peer's Certificate message listed one or more, parsable or not */
	char detail[192];
	struct policy_match match; /* which allow-* / verify-* rule let the peer in */
	enum chain_lookup chain_lookup;
};

/* Chain, validity, revocation, name, purpose, then the tunnel's policy. */
int verify_peer_callback(gnutls_session_t session);
/* The peer's Certificate message before GnuTLS parses it (sets cert_listed): called from
 * the session's handshake hook (handshake.c) for every message, it picks its own. */
int verify_certificate_hook(gnutls_session_t session, unsigned htype, unsigned when,
			    unsigned incoming, const gnutls_datum_t *msg);
/* Maps a failed handshake to a reason: the verdict's if the callback refused, else GnuTLS's. */
enum reason verify_handshake_failure(gnutls_session_t session, const struct peer_verdict *v,
				     int gnutls_rc);
/* Tells the peer why, with the most specific alert the reason has (queued, not yet sent). */
void verify_send_alert(gnutls_session_t session, enum reason reason, int gnutls_rc);
/* What a PROXY v2 header tells the target about the peer's leaf; empty fields if absent. The
 * CN and URI are policy_identity's: the ones the policy matched, else the only ones. */
struct peer_facts {
	char cn[POLICY_VALUE_MAX];
	char uri[POLICY_VALUE_MAX];   /* a URI SAN (policy_identity says which) */
	unsigned char fingerprint[32]; /* SHA-256 of the DER */
	bool has_fingerprint;
};

void verify_peer_facts(gnutls_session_t session, struct peer_facts *f);
/* What the peer's leaf says about who it is (peer_cert.h), with the name the policy matched;
 * on a refusal too, from the certificate it presented, verified or not. */
void verify_peer_cert(gnutls_session_t session, struct peer_cert *pc);

#endif
