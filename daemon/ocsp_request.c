// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <gnutls/ocsp.h>

#include "ca_pool.h"
#include "ocsp_request.h"

/* A responder ktund can reach without trusting anyone but the issuer: plain HTTP, as RFC 6960
 * A.1 has it (the response is signed). Printable ASCII only, since it is logged. */
static int usable_url(const gnutls_datum_t *uri)
{
	if (uri->size < 8 || uri->size > OCSP_URL_MAX || strncasecmp((char *)uri->data, "http://", 7))
		return 0;
	for (unsigned i = 0; i < uri->size; i++)
		if (uri->data[i] <= 0x20 || uri->data[i] >= 0x7f)
			return 0;
	return 1;
}

static int find_url(struct ocsp_request *r, gnutls_x509_crt_t leaf, char *why, size_t why_len)
{
	bool other = false;

	for (unsigned seq = 0;; seq++) {
		gnutls_datum_t uri = { 0 };
		int rc = gnutls_x509_crt_get_authority_info_access(leaf, seq, GNUTLS_IA_OCSP_URI,
								   &uri, NULL);

		if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (rc < 0)
			continue; /* another kind of access method (caIssuers) */
		if (usable_url(&uri)) {
			r->url = strndup((char *)uri.data, uri.size);
			gnutls_free(uri.data);
			return r->url ? 0 : -ENOMEM;
		}
		other = true;
		gnutls_free(uri.data);
	}
	snprintf(why, why_len, other ? "the certificate names no http:// OCSP responder (only "
		 "other schemes, or an address longer than %d characters)" :
		 "the certificate names no OCSP responder (Authority Information Access)",
		 OCSP_URL_MAX);
	return -EINVAL;
}

static gnutls_x509_crt_t find_issuer(const struct ca_pool *pool)
{
	for (size_t i = 0; i < pool->n; i++)
		if (gnutls_x509_crt_check_issuer(pool->leaf, pool->certs[i]) == 1)
			return pool->certs[i];
	return NULL;
}

static int encode(struct ocsp_request *r, gnutls_x509_crt_t issuer, gnutls_x509_crt_t leaf)
{
	gnutls_ocsp_req_t req;
	int rc = gnutls_ocsp_req_init(&req);

	if (rc < 0)
		return -ENOMEM;
	/* SHA-1 names the certificate (not a signature): what responders index by. */
	rc = gnutls_ocsp_req_add_cert(req, GNUTLS_DIG_SHA1, issuer, leaf);
	if (rc == 0)
		rc = gnutls_ocsp_req_export(req, &r->der);
	gnutls_ocsp_req_deinit(req);
	return rc < 0 ? -EINVAL : 0;
}

int ocsp_request_build(struct ocsp_request *r, gnutls_certificate_credentials_t creds, char *why,
		       size_t why_len)
{
	struct ca_pool pool;
	gnutls_x509_crt_t issuer;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = ca_pool_build(&pool, creds);
	if (rc < 0) {
		snprintf(why, why_len, "cannot read the certificates: %s", strerror(-rc));
		return rc;
	}
	rc = find_url(r, pool.leaf, why, why_len);
	issuer = rc == 0 ? find_issuer(&pool) : NULL;
	if (rc == 0 && !issuer) {
		snprintf(why, why_len, "the certificate's issuer is neither in cacert nor in the "
			 "chain of cert: an OCSP request names it");
		rc = -EINVAL;
	}
	if (rc == 0 && encode(r, issuer, pool.leaf) < 0) {
		snprintf(why, why_len, "cannot encode an OCSP request");
		rc = -EINVAL;
	}
	ca_pool_free(&pool);
	if (rc < 0)
		ocsp_request_free(r);
	return rc;
}

void ocsp_request_free(struct ocsp_request *r)
{
	free(r->url);
	gnutls_free(r->der.data);
	memset(r, 0, sizeof(*r));
}

int ocsp_request_same(const struct ocsp_request *a, const struct ocsp_request *b)
{
	return a->url && b->url && !strcmp(a->url, b->url) && a->der.size == b->der.size &&
	       !memcmp(a->der.data, b->der.data, a->der.size);
}
