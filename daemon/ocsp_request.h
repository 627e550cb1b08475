/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_OCSP_REQUEST_H
#define KTUN_OCSP_REQUEST_H

#include <stddef.h>
#include <gnutls/gnutls.h>

/* What ocsp-fetch asks, and of whom: the OCSP request (RFC 6960) for a tunnel's own
 * certificate and the http:// responder its Authority Information Access names. */
struct ocsp_request {
	char *url;
	gnutls_datum_t der;
};

#define OCSP_URL_MAX 1024

/* Builds it from creds, whose own chain and CAs are loaded: the certificate's issuer must be
 * among cacert and the own chain. Returns 0, or a negative errno with why filled. */
int ocsp_request_build(struct ocsp_request *r, gnutls_certificate_credentials_t creds, char *why,
		       size_t why_len);
void ocsp_request_free(struct ocsp_request *r);
/* Whether the two ask the same responder about the same certificate. */
int ocsp_request_same(const struct ocsp_request *a, const struct ocsp_request *b);

#endif
