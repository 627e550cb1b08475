/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_RESUME_CHECK_H
#define KTUN_RESUME_CHECK_H

#include <gnutls/gnutls.h>

/* A resumed TLS 1.3 handshake (gnutls_session_is_resumed): GnuTLS took the peer's chain
 * from the ticket and called no verify function. Checks it again, as verify.c checks a full
 * handshake's, against the session's tunnel context, which is the current one (a reload's
 * CA, CRL and allow-* rules apply to tickets issued before it): chain, validity now,
 * revocation, purpose, policy. Returns 0, or a GnuTLS error with the session's verdict
 * (verify.h) holding the reason and detail. Worker threads. */
int resume_check(gnutls_session_t session);

#endif
