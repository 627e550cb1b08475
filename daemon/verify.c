// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <gnutls/x509.h>

#include "cert_check.h"
#include "tunnel_ctx.h"
#include "verify.h"
#include "verify_cache.h"

/* Most specific first: a revoked, expired certificate is reported as revoked. */
static const struct {
	unsigned status;
	enum reason reason;
} status_reasons[] = {
	{ GNUTLS_CERT_REVOKED, REASON_REVOKED },
	{ GNUTLS_CERT_EXPIRED, REASON_EXPIRED },
	{ GNUTLS_CERT_NOT_ACTIVATED, REASON_NOT_YET_VALID },
	{ GNUTLS_CERT_SIGNER_NOT_FOUND, REASON_UNTRUSTED },
	{ GNUTLS_CERT_SIGNER_NOT_CA, REASON_UNTRUSTED },
	{ GNUTLS_CERT_INSECURE_ALGORITHM, REASON_UNTRUSTED },
	{ GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE, REASON_UNTRUSTED },
	{ GNUTLS_CERT_UNEXPECTED_OWNER, REASON_WRONG_NAME },
	{ GNUTLS_CERT_PURPOSE_MISMATCH, REASON_BAD_PURPOSE },
	/* A stapled response for another certificate, or badly signed; a must-staple
	 * certificate (TLS feature extension) that came without one. */
	{ GNUTLS_CERT_INVALID_OCSP_STATUS, REASON_OCSP_INVALID },
	{ GNUTLS_CERT_MISSING_OCSP_STATUS, REASON_OCSP_MISSING },
};

/* Stale revocation data: a stapled OCSP response past its nextUpdate (or dated in the
 * future) when the peer stapled one, else an old CRL of ours. */
#define STALE_REVOCATION_DATA \
	(GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED | GNUTLS_CERT_REVOCATION_DATA_ISSUED_IN_FUTURE)

static enum reason reason_from_status(gnutls_session_t session, unsigned status)
{
	for (size_t i = 0; i < sizeof(status_reasons) / sizeof(status_reasons[0]); i++)
		if (status & status_reasons[i].status)
			return status_reasons[i].reason;
	if ((status & STALE_REVOCATION_DATA) &&
	    gnutls_ocsp_status_request_is_checked(session, GNUTLS_OCSP_SR_IS_AVAIL))
		return REASON_OCSP_INVALID;
	return REASON_UNTRUSTED;
}

static void describe_status(gnutls_session_t session, unsigned status, struct peer_verdict *v)
{
	gnutls_datum_t text;

	if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) < 0) {
		snprintf(v->detail, sizeof(v->detail), "verification status 0x%x", status);
		return;
	}
	snprintf(v->detail, sizeof(v->detail), "%s", (const char *)text.data);
	gnutls_free(text.data);
}

static int refuse(struct peer_verdict *v, enum reason reason)
{
	v->reason = reason;
	return GNUTLS_E_CERTIFICATE_ERROR;
}

/* GnuTLS's errors for a certificate that does not parse. */
static bool unparsable_certificate(int gnutls_rc)
{
	switch (gnutls_rc) {
	case GNUTLS_E_CERTIFICATE_ERROR:
	case GNUTLS_E_ASN1_DER_OVERFLOW ... GNUTLS_E_ASN1_ELEMENT_NOT_FOUND: /* -77 .. -67 */
	case GNUTLS_E_ASN1_EMBEDDED_NULL_IN_STRING:
	case GNUTLS_E_ASN1_TIME_ERROR:
	case GNUTLS_E_CERTIFICATE_TIME_ERROR:
	case GNUTLS_E_X509_UNKNOWN_SAN:
	case GNUTLS_E_X509_UNSUPPORTED_ATTRIBUTE:
	case GNUTLS_E_X509_UNSUPPORTED_EXTENSION:
	case GNUTLS_E_X509_UNSUPPORTED_CRITICAL_EXTENSION:
	case GNUTLS_E_X509_UNSUPPORTED_OID:
	case GNUTLS_E_X509_DUPLICATE_EXTENSION:
		return true;
	default:
		return false;
	}
}

/* The purpose the peer's leaf must name: clientAuth from a client, serverAuth from a server. */
static const char *wanted_purpose(const struct tunnel_ctx *ctx)
{
	return ctx->mode == MODE_SERVER ? GNUTLS_KP_TLS_WWW_CLIENT : GNUTLS_KP_TLS_WWW_SERVER;
}

/* What verify_peers checks besides the chain; returns how many. */
static unsigned typed_data(const struct tunnel_ctx *ctx, gnutls_typed_vdata_st data[2])
{
	unsigned n = 0;

	/* A server must hold a serverAuth cert, a client a clientAuth one. */
	data[n++] = (gnutls_typed_vdata_st){
		.type = GNUTLS_DT_KEY_PURPOSE_OID,
		.data = (void *)wanted_purpose(ctx),
	};
	if (ctx->mode == MODE_CLIENT)
		data[n++] = (gnutls_typed_vdata_st){ .type = GNUTLS_DT_DNS_HOSTNAME,
						     .data = (void *)ctx->server_name };
	return n;
}

static int check_chain(gnutls_session_t session, struct peer_verdict *v,
		       gnutls_typed_vdata_st *data, unsigned n)
{
	unsigned status = 0;
	int rc;

	/* The signatures are most of a resumed handshake's cost; the rest is checked anew. */
	if (verify_cache_hit(session, v, data, n))
		return 0;
	rc = gnutls_certificate_verify_peers(session, data, n, &status);
	if (rc == GNUTLS_E_NO_CERTIFICATE_FOUND) {
		snprintf(v->detail, sizeof(v->detail), "peer sent no certificate");
		return refuse(v, REASON_NO_CLIENT_CERT);
	}
	if (rc < 0) {
		snprintf(v->detail, sizeof(v->detail), "%s", gnutls_strerror(rc));
		return refuse(v, unparsable_certificate(rc) ? REASON_BAD_CERTIFICATE : REASON_UNTRUSTED);
	}
	if (status) {
		describe_status(session, status, v);
		return refuse(v, reason_from_status(session, status));
	}
	return 0;
}

/* The peer's leaf, parsed once for the checks below. */
static int import_leaf(gnutls_session_t session, struct peer_verdict *v, gnutls_x509_crt_t *leaf)
{
	const gnutls_datum_t *chain;
	unsigned n = 0;

	chain = gnutls_certificate_get_peers(session, &n);
	if (!chain || !n || gnutls_x509_crt_init(leaf) < 0)
		return refuse(v, REASON_NO_CLIENT_CERT);
	if (gnutls_x509_crt_import(*leaf, &chain[0], GNUTLS_X509_FMT_DER) < 0) {
		gnutls_x509_crt_deinit(*leaf);
		*leaf = NULL;
		snprintf(v->detail, sizeof(v->detail), "the %s certificate does not parse",
			 v->ctx->mode == MODE_SERVER ? "client" : "server");
		return refuse(v, REASON_BAD_CERTIFICATE);
	}
	return 0;
}

/* What verify_peers leaves to us about the leaf: it must be an end-entity certificate
 * (a CA:TRUE leaf could issue certificates of its own) issued for this peer's role. */
static int check_leaf(gnutls_x509_crt_t leaf, struct peer_verdict *v)
{
	bool server = v->ctx->mode == MODE_SERVER;
	const char *role = server ? "client" : "server", *oid = wanted_purpose(v->ctx);
	unsigned ca = 0;

	if (gnutls_x509_crt_get_basic_constraints(leaf, NULL, &ca, NULL) >= 0 && ca) {
		snprintf(v->detail, sizeof(v->detail), "the %s certificate is a CA certificate "
			 "(basicConstraints CA:TRUE), not an end-entity one", role);
		return refuse(v, REASON_BAD_PURPOSE);
	}
	if (!cert_check_purpose(leaf, oid)) {
		snprintf(v->detail, sizeof(v->detail), "the %s certificate's extended key usage "
			 "does not list %s (%s); none, or anyExtendedKeyUsage, is not enough", role,
			 server ? "clientAuth" : "serverAuth", oid);
		return refuse(v, REASON_BAD_PURPOSE);
	}
	return 0;
}

/* require-ocsp. A response that was stapled has been verified by now (check_chain refuses a
 * revoked, invalid or stale one); what is left is whether there was one, and that GnuTLS
 * says it checked it. */
static int check_ocsp(gnutls_session_t session, struct peer_verdict *v)
{
	if (!v->ctx->require_ocsp)
		return 0;
	if (!gnutls_ocsp_status_request_is_checked(session, GNUTLS_OCSP_SR_IS_AVAIL)) {
		snprintf(v->detail, sizeof(v->detail), "the %s stapled no OCSP response%s",
			 v->ctx->mode == MODE_SERVER ? "client" : "server",
			 v->ctx->mode == MODE_SERVER &&
					 gnutls_protocol_get_version(session) != GNUTLS_TLS1_3
				 ? " (TLS 1.2 clients cannot)" : "");
		return refuse(v, REASON_OCSP_MISSING);
	}
	if (!gnutls_ocsp_status_request_is_checked(session, 0)) {
		snprintf(v->detail, sizeof(v->detail), "the stapled OCSP response did not verify");
		return refuse(v, REASON_OCSP_INVALID);
	}
	return 0;
}

/* crl-stale = refuse: GnuTLS applies a CRL whatever its age, so the age is checked here. */
static int check_crl_fresh(gnutls_session_t session, struct peer_verdict *v)
{
	const struct crl_info *c;
	const gnutls_datum_t *chain;
	unsigned n = 0;

	if (!v->ctx->crl.refuse_stale)
		return 0;
	chain = gnutls_certificate_get_peers(session, &n);
	c = crl_stale_for_peer(&v->ctx->crl, chain, chain ? n : 0, time(NULL));
	if (!c)
		return 0;
	snprintf(v->detail, sizeof(v->detail), "the CRL of %.120s is past its nextUpdate "
		 "(crl-stale = refuse)", c->issuer);
	return refuse(v, REASON_CRL_STALE);
}

static int check_policy(gnutls_x509_crt_t leaf, struct peer_verdict *v)
{
	/* A client tunnel with no verify-* rules relies on the name check alone. */
	if (v->ctx->mode == MODE_CLIENT && !v->ctx->policy.n)
		return 0;
	if (!policy_match(&v->ctx->policy, leaf, &v->match)) {
		snprintf(v->detail, sizeof(v->detail), "certificate matches no %s rule",
			 v->ctx->mode == MODE_SERVER ? "allow-*" : "verify-*");
		return refuse(v, REASON_POLICY_DENIED);
	}
	return 0;
}

int verify_peer_callback(gnutls_session_t session)
{
	struct peer_verdict *v = gnutls_session_get_ptr(session);
	gnutls_x509_crt_t leaf = NULL;
	gnutls_typed_vdata_st data[2];
	unsigned n = typed_data(v->ctx, data);
	int rc = check_chain(session, v, data, n);

	if (rc == 0)
		rc = import_leaf(session, v, &leaf);
	if (rc == 0)
		rc = check_leaf(leaf, v);
	if (rc == 0)
		rc = check_crl_fresh(session, v);
	if (rc == 0)
		rc = check_ocsp(session, v);
	if (rc == 0)
		rc = check_policy(leaf, v);
	if (leaf)
		gnutls_x509_crt_deinit(leaf);
	/* Filed only once the peer passed everything: one refused after its chain (leaf, stale
	 * CRL, OCSP, policy) takes no entry, so only admitted peers compete for the cache. */
	if (rc == 0 && v->chain_lookup != CHAIN_LOOKUP_HIT)
		verify_cache_fill(session, v, data, n);
	return rc;
}

/* TLS 1.3 puts a certificate_request_context<0..255> before the certificate_list; TLS 1.2
 * has the list alone. Either list is <0..2^24-1>: three length bytes, zero for none. */
int verify_certificate_hook(gnutls_session_t session, unsigned htype, unsigned when,
			    unsigned incoming, const gnutls_datum_t *msg)
{
	struct peer_verdict *v = gnutls_session_get_ptr(session);
	size_t at = 0;

	if (!incoming || htype != GNUTLS_HANDSHAKE_CERTIFICATE_PKT || when != GNUTLS_HOOK_PRE)
		return 0;
	if (gnutls_protocol_get_version(session) == GNUTLS_TLS1_3)
		at = msg->size ? 1 + (size_t)msg->data[0] : 0;
	v->cert_listed = msg->size >= at + 3 && (msg->data[at] | msg->data[at + 1] | msg->data[at + 2]);
	return 0;
}

enum reason verify_handshake_failure(gnutls_session_t session, const struct peer_verdict *v,
				     int gnutls_rc)
{
	if (v->reason != REASON_NONE)
		return v->reason;
	switch (gnutls_rc) {
	case GNUTLS_E_NO_CERTIFICATE_FOUND:
	case GNUTLS_E_CERTIFICATE_REQUIRED:
		/* GnuTLS says so, too, for a list whose entries are empty. */
		return v->cert_listed ? REASON_BAD_CERTIFICATE : REASON_NO_CLIENT_CERT;
	case GNUTLS_E_PREMATURE_TERMINATION:
		return REASON_PEER_CLOSED;
	case GNUTLS_E_KEY_USAGE_VIOLATION:
		return REASON_BAD_PURPOSE;
	case GNUTLS_E_UNEXPECTED_PACKET_LENGTH:
		/* A Certificate message cut short, or any other message. */
		return v->cert_listed && gnutls_handshake_get_last_in(session) ==
						 GNUTLS_HANDSHAKE_CERTIFICATE_PKT
			       ? REASON_BAD_CERTIFICATE : REASON_TLS_ERROR;
	default:
		/* The peer listed certificates GnuTLS cannot read (TLS 1.3 finds out when it
		 * takes the key for CertificateVerify); the verify callback never ran. */
		return v->cert_listed && unparsable_certificate(gnutls_rc) ? REASON_BAD_CERTIFICATE
									   : REASON_TLS_ERROR;
	}
}

/* certificate_required and missing_extension exist in TLS 1.3 only (RFC 8446 6.2); a TLS 1.2
 * peer is told handshake_failure instead (RFC 5246 7.4.6: a server that wants a certificate
 * the client did not send). Before a version is agreed, the alert stands. */
static int alert_in_version(gnutls_session_t session, int alert)
{
	gnutls_protocol_t version = gnutls_protocol_get_version(session);

	if (version <= GNUTLS_TLS1_2 &&
	    (alert == GNUTLS_A_CERTIFICATE_REQUIRED || alert == GNUTLS_A_MISSING_EXTENSION))
		return GNUTLS_A_HANDSHAKE_FAILURE;
	return alert;
}

void verify_send_alert(gnutls_session_t session, enum reason reason, int gnutls_rc)
{
	static const gnutls_alert_description_t alerts[REASON_MAX] = {
		[REASON_NO_CLIENT_CERT] = GNUTLS_A_CERTIFICATE_REQUIRED,
		[REASON_BAD_CERTIFICATE] = GNUTLS_A_BAD_CERTIFICATE,
		[REASON_EXPIRED] = GNUTLS_A_CERTIFICATE_EXPIRED,
		[REASON_NOT_YET_VALID] = GNUTLS_A_BAD_CERTIFICATE,
		[REASON_REVOKED] = GNUTLS_A_CERTIFICATE_REVOKED,
		[REASON_UNTRUSTED] = GNUTLS_A_UNKNOWN_CA,
		[REASON_WRONG_NAME] = GNUTLS_A_BAD_CERTIFICATE,
		[REASON_BAD_PURPOSE] = GNUTLS_A_UNSUPPORTED_CERTIFICATE,
		[REASON_POLICY_DENIED] = GNUTLS_A_ACCESS_DENIED,
		/* bad_certificate_status_response (RFC 8446), which GnuTLS has no name for. */
		[REASON_OCSP_MISSING] = (gnutls_alert_description_t)113,
		[REASON_OCSP_INVALID] = (gnutls_alert_description_t)113,
		[REASON_CRL_STALE] = GNUTLS_A_CERTIFICATE_UNKNOWN,
	};
	int level = GNUTLS_AL_FATAL, alert;

	/* An alert from the peer, or a peer that is gone, needs no answer. */
	if (gnutls_rc == GNUTLS_E_FATAL_ALERT_RECEIVED || gnutls_rc == GNUTLS_E_PREMATURE_TERMINATION)
		return;
	if (reason < REASON_MAX && alerts[reason])
		alert = (int)alerts[reason];
	else
		alert = gnutls_error_to_alert(gnutls_rc, &level);
	if (alert >= 0)
		gnutls_alert_send(session, (gnutls_alert_level_t)level,
				  (gnutls_alert_description_t)alert_in_version(session, alert));
}

void verify_peer_facts(gnutls_session_t session, struct peer_facts *f)
{
	const gnutls_datum_t *chain;
	unsigned n = 0;
	gnutls_x509_crt_t leaf;
	size_t size;

	memset(f, 0, sizeof(*f));
	chain = gnutls_certificate_get_peers(session, &n);
	if (!chain || !n || gnutls_x509_crt_init(&leaf) < 0)
		return;
	if (gnutls_x509_crt_import(leaf, &chain[0], GNUTLS_X509_FMT_DER) == 0) {
		const struct peer_verdict *v = gnutls_session_get_ptr(session);

		/* The names the policy let in, not merely the first ones (policy_identity). */
		policy_identity(leaf, &v->match, POLICY_CN, f->cn);
		policy_identity(leaf, &v->match, POLICY_URI, f->uri);
		size = sizeof(f->fingerprint);
		f->has_fingerprint = gnutls_x509_crt_get_fingerprint(leaf, GNUTLS_DIG_SHA256,
								     f->fingerprint, &size) == 0;
	}
	gnutls_x509_crt_deinit(leaf);
}

void verify_peer_cert(gnutls_session_t session, struct peer_cert *pc)
{
	const struct peer_verdict *v = gnutls_session_get_ptr(session);
	const gnutls_datum_t *chain;
	unsigned n = 0;

	chain = gnutls_certificate_get_peers(session, &n);
	peer_cert_from_der(chain && n ? &chain[0] : NULL, &v->match, pc);
}
