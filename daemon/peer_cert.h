/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_PEER_CERT_H
#define KTUN_PEER_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <gnutls/x509.h>

#include "policy.h"

/* What a peer's leaf certificate says about who it is, for the audit lines (handshake, close,
 * reject) and `ktunctl conns`. Every text field is the holder's, escaped (cert_text_escape),
 * so it is safe between the quotes of key="value". A peer that presented nothing, or nothing
 * that parses, has present false and id "-". */
#define PEER_SERIAL_MAX 20 /* octets, RFC 5280 4.1.2.2; a longer serial is cut, ending "..." */
struct peer_cert {
	bool present;
	/* The subject DN; for a leaf without one (a SPIFFE SVID), the URI or DNS SAN the
	 * policy matched, else its first URI or DNS SAN; "-" if none of these. */
	char id[256];
	char serial[2 * PEER_SERIAL_MAX + 4]; /* lowercase hex, as certtool and openssl print it */
	char issuer[256];
	char sha256[65]; /* of the DER, lowercase hex */
};

/* Fills *pc from leaf (NULL: nothing presented); m (or NULL) is what the policy matched. */
void peer_cert_describe(gnutls_x509_crt_t leaf, const struct policy_match *m,
			struct peer_cert *pc);
/* The same from the DER of the peer's chain[0] (gnutls_certificate_get_peers). */
void peer_cert_from_der(const gnutls_datum_t *der, const struct policy_match *m,
			struct peer_cert *pc);
/* The rule that admitted the peer, as configured: "allow-uri:spiffe://..." (a server tunnel's
 * allow-*), "verify-cn:..." (a client's verify-*), "allow-all"; "server-name:NAME" for a
 * client tunnel without verify-* rules, which the name check alone admits. Escaped like the
 * rest; "-" if m records no match. */
void peer_cert_rule(const struct policy *p, const struct policy_match *m, bool server,
		    const char *server_name, char *buf, size_t len);

#endif
