/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_CA_POOL_H
#define KTUN_CA_POOL_H

#include <stddef.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

/* The CAs whose signature ktund accepts on its own revocation data (crl, ocsp-staple): every
 * certificate of cacert, and the intermediates of the tunnel's own chain (cert) that verify
 * against cacert, since an intermediate usually signs the CRL and the OCSP responses of the
 * certificates it issued while only the root is in cacert. Built from credentials that have
 * both loaded; short-lived (a load). A CRL file may add the CA certificates of its issuers
 * (ca_pool_check_carried, ca_pool_adopt): the peers' intermediates, which are neither in
 * cacert nor in the own chain. They only vouch for CRLs; they never become trust anchors. */
struct ca_pool {
	gnutls_x509_crt_t *certs;
	size_t n;
	gnutls_x509_crt_t leaf; /* the own certificate */
};

/* Returns 0 or a negative errno (not logged: the caller names what it was loading). */
int ca_pool_build(struct ca_pool *p, gnutls_certificate_credentials_t creds);
/* Longest path from a carried certificate up to cacert that is tried. */
#define CA_POOL_MAX_DEPTH 8

/* Each of certs must be a CA certificate that verifies against cacert, through the others of
 * certs (in any order) and the pool's intermediates. Returns 0, or -EPERM with *bad the index
 * of the first one that does not and *status the verification status (0: not a CA). Does not
 * keep certs. */
int ca_pool_check_carried(const struct ca_pool *p, gnutls_certificate_credentials_t creds,
			  gnutls_x509_crt_t *certs, unsigned n, unsigned *bad, unsigned *status);
/* Adds certs, checked by ca_pool_check_carried, to the pool, which deinits them from then on,
 * also when it fails (-ENOMEM). The array itself stays the caller's. */
int ca_pool_adopt(struct ca_pool *p, gnutls_x509_crt_t *certs, unsigned n);
void ca_pool_free(struct ca_pool *p);

#endif
