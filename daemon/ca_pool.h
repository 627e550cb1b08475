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
 * both loaded; short-lived (a load). */
struct ca_pool {
	gnutls_x509_crt_t *certs;
	size_t n;
	gnutls_x509_crt_t leaf; /* the own certificate */
};

/* Returns 0 or a negative errno (not logged: the caller names what it was loading). */
int ca_pool_build(struct ca_pool *p, gnutls_certificate_credentials_t creds);
void ca_pool_free(struct ca_pool *p);

#endif
