/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_REASON_H
#define KTUN_REASON_H

#include <stdbool.h>

/* Why a connection ended. Names are part of the log and status interface (docs/test-contract.md). */
enum reason {
	REASON_NONE,
	REASON_DONE,
	REASON_NO_CLIENT_CERT,
	REASON_EXPIRED,
	REASON_NOT_YET_VALID,
	REASON_REVOKED,
	REASON_UNTRUSTED,
	REASON_WRONG_NAME,
	REASON_BAD_PURPOSE,
	REASON_POLICY_DENIED,
	REASON_TLS_ERROR,
	REASON_HANDSHAKE_TIMEOUT,
	REASON_PEER_CLOSED,
	REASON_TARGET_UNREACHABLE,
	REASON_CONNECT_TIMEOUT,
	REASON_IDLE_TIMEOUT,
	REASON_RESET,
	REASON_TRUNCATED,
	REASON_DRAIN_TIMEOUT,
	REASON_SHUTDOWN,
	REASON_IO_ERROR,
	REASON_KEY_UPDATE,
	REASON_KEY_LIMIT,
	REASON_KTLS_UNAVAILABLE,
	REASON_OCSP_MISSING,
	REASON_OCSP_INVALID,
	REASON_BAD_CERTIFICATE,
	REASON_CRL_STALE,
	REASON_NO_DESTINATION,      /* client destination (dest_announce.c) */
	REASON_DESTINATION_REFUSED, /* client destination */
	REASON_BAD_ANSWER,          /* client destination */
	REASON_DESTINATION_DENIED,
	REASON_BAD_REQUEST,
	REASON_RESOLVER_BUSY,
	REASON_REQUEST_TIMEOUT,     /* server, from-client: no request within request-timeout */
	REASON_POOL_IDLE,           /* client pool (pool.c): replaced at pool-idle */
	REASON_POOL_RELOAD,         /* client pool: made under a context a reload replaced */
	REASON_MAX,
};

const char *reason_name(enum reason r);
/* Errors are propagated as a TCP reset so that neither end mistakes them for a clean end of stream. */
bool reason_resets(enum reason r);
/* True for the reasons that refuse a peer during the handshake. */
bool reason_is_reject(enum reason r);
/* False for a reason a tunnel of that side can never give, which status and metrics leave
 * out: a server checks no name, so it never refuses a client as wrong-name. Every other
 * reason can happen on either side (a server that sends an empty Certificate message is
 * no-client-cert to a client tunnel; verify-* rules refuse as policy-denied), and is listed
 * at zero, so that each series exists from the start, as Prometheus's rate() wants. */
bool reason_possible(enum reason r, bool server);

#endif
