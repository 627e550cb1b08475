/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_VERIFY_CACHE_H
#define KTUN_VERIFY_CACHE_H

#include <stdbool.h>
#include <gnutls/gnutls.h>

#include "verify.h"

/*
 * Between verify.c's chain check and its tunnel context's cache of verified chains
 * (chain_cache.h): a resumed session whose chain passed gnutls_certificate_verify_peers
 * under this context, with the same typed data (purpose, server name), and whose dates
 * still hold, need not pass it again. A full handshake always verifies; so does a session
 * with a stapled OCSP response (the response has dates and a status of its own, which only
 * verify_peers checks), and the cache is neither consulted nor filled for one: its resumed
 * handshakes are counted as bypassed. Worker threads.
 */

/* A resumed session's chain found usable: sets v->chain_lookup (HIT, MISS, or BYPASSED for a
 * stapled session) and returns true on a hit. A full handshake leaves it NONE. */
bool verify_cache_hit(gnutls_session_t session, struct peer_verdict *v,
		      const gnutls_typed_vdata_st *data, unsigned n);
/* Files the session's chain, whose peer has just passed every check (verify_peers with data,
 * and the rest of verify_peer_callback), under the dates of every certificate the
 * verification may have looked at: the chain's and their trusted issuers'. A usable entry
 * already there is left as it is (chain_cache_holds: no lookup). */
void verify_cache_fill(gnutls_session_t session, const struct peer_verdict *v,
		       const gnutls_typed_vdata_st *data, unsigned n);

#endif
