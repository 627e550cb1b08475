// SPDX-License-Identifier: GPL-2.0-only
#include "reason.h"

static const struct {
	const char *name;
	bool resets;
	bool reject;
	bool client_only;
} reasons[REASON_MAX] = {
	[REASON_NONE] = { "none", false, false, false },
	[REASON_DONE] = { "done", false, false, false },
	[REASON_NO_CLIENT_CERT] = { "no-client-cert", true, true, false },
	[REASON_EXPIRED] = { "expired", true, true, false },
	[REASON_NOT_YET_VALID] = { "not-yet-valid", true, true, false },
	[REASON_REVOKED] = { "revoked", true, true, false },
	[REASON_UNTRUSTED] = { "untrusted", true, true, false },
	/* Only a client checks the peer's name (server-name, or the target's host). */
	[REASON_WRONG_NAME] = { "wrong-name", true, true, true },
	[REASON_BAD_PURPOSE] = { "bad-purpose", true, true, false },
	[REASON_POLICY_DENIED] = { "policy-denied", true, true, false },
	[REASON_TLS_ERROR] = { "tls-error", true, true, false },
	[REASON_HANDSHAKE_TIMEOUT] = { "handshake-timeout", true, true, false },
	[REASON_PEER_CLOSED] = { "peer-closed", true, true, false },
	[REASON_TARGET_UNREACHABLE] = { "target-unreachable", true, false, false },
	[REASON_CONNECT_TIMEOUT] = { "connect-timeout", true, false, false },
	[REASON_IDLE_TIMEOUT] = { "idle-timeout", false, false, false },
	[REASON_RESET] = { "reset", true, false, false },
	[REASON_TRUNCATED] = { "truncated", true, false, false },
	[REASON_DRAIN_TIMEOUT] = { "drain-timeout", false, false, false },
	[REASON_SHUTDOWN] = { "shutdown", false, false, false },
	[REASON_IO_ERROR] = { "io-error", true, false, false },
	/* This kernel cannot take new keys on a kTLS socket (in-place rekey needs Linux 6.14). */
	[REASON_KEY_UPDATE] = { "key-update", true, false, false },
	/* Data may still sit in the pipe, and more may come: the stream is cut, so a reset. */
	[REASON_KEY_LIMIT] = { "key-limit", true, false, false },
	[REASON_KTLS_UNAVAILABLE] = { "ktls-unavailable", true, true, false },
	/* require-ocsp: the peer stapled no OCSP response, or one that does not verify (wrong
	 * certificate, bad signature, too old). One that says revoked is REASON_REVOKED. */
	[REASON_OCSP_MISSING] = { "ocsp-missing", true, true, false },
	[REASON_OCSP_INVALID] = { "ocsp-invalid", true, true, false },
	/* The peer's Certificate message listed certificates that do not parse (an empty entry,
	 * bytes that are no X.509). One that sends none is REASON_NO_CLIENT_CERT. */
	[REASON_BAD_CERTIFICATE] = { "bad-certificate", true, true, false },
	/* crl-stale = refuse: the CRL of a CA in the peer's chain is past its nextUpdate. */
	[REASON_CRL_STALE] = { "crl-stale", true, true, false },
	/* destination = original, and the connection came to the listener itself: there is
	 * nothing to name in the CONNECT request. */
	[REASON_NO_DESTINATION] = { "no-destination", true, false, true },
	/* The relay answered the CONNECT request with a status other than 2xx. */
	[REASON_DESTINATION_REFUSED] = { "destination-refused", true, false, true },
	/* The relay's answer is no HTTP/1.x answer head of at most 4096 bytes, or it ended
	 * before the head did. */
	[REASON_BAD_ANSWER] = { "bad-answer", true, false, true },
	/* target = from-client: the CONNECT request names a destination no allow-destination
	 * rule gives this peer, or the server's own listener. Answered 403, then close_notify. */
	[REASON_DESTINATION_DENIED] = { "destination-denied", false, false, false },
	/* target = from-client: the first bytes are no well-formed CONNECT request head within
	 * 4096 bytes. Answered 400, then close_notify. */
	[REASON_BAD_REQUEST] = { "bad-request", false, false, false },
	/* target = from-client: a name to look up while RESOLVE_PENDING_MAX lookups already
	 * wait. Answered 503, then close_notify. */
	[REASON_RESOLVER_BUSY] = { "resolver-busy", false, false, false },
	/* target = from-client: an authenticated connection sent no byte of its request within
	 * request-timeout (a client's pooled connection that nobody took). close_notify. */
	[REASON_REQUEST_TIMEOUT] = { "request-timeout", false, false, false },
	/* A pooled connection nobody took within pool-idle, replaced before the server's
	 * request-timeout ends it. close_notify: the far side sees a clean end. */
	[REASON_POOL_IDLE] = { "pool-idle", false, false, true },
	/* A pooled connection made with credentials or settings a reload replaced. */
	[REASON_POOL_RELOAD] = { "pool-reload", false, false, true },
};

const char *reason_name(enum reason r)
{
	return r < REASON_MAX ? reasons[r].name : "unknown";
}

bool reason_resets(enum reason r)
{
	return r < REASON_MAX && reasons[r].resets;
}

bool reason_is_reject(enum reason r)
{
	return r < REASON_MAX && reasons[r].reject;
}

bool reason_possible(enum reason r, bool server)
{
	return r < REASON_MAX && !(server && reasons[r].client_only);
}
