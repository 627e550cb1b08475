// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ca_pool.h"

static int add(struct ca_pool *p, gnutls_x509_crt_t crt)
{
	gnutls_x509_crt_t *grown = realloc(p->certs, (p->n + 1) * sizeof(*grown));

	if (!grown) {
		gnutls_x509_crt_deinit(crt);
		return -ENOMEM;
	}
	p->certs = grown;
	p->certs[p->n++] = crt;
	return 0;
}

static int add_trusted(struct ca_pool *p, gnutls_x509_trust_list_t tl)
{
	gnutls_x509_trust_list_iter_t iter = NULL;
	gnutls_x509_crt_t crt;
	int rc = 0;

	while (rc == 0 && gnutls_x509_trust_list_iter_get_ca(tl, &iter, &crt) == 0)
		rc = add(p, crt);
	gnutls_x509_trust_list_iter_deinit(iter);
	return rc;
}

/* The own chain as loaded: leaf first. */
static int import_chain(gnutls_certificate_credentials_t creds, gnutls_x509_crt_t **out,
			unsigned *n)
{
	gnutls_datum_t raw;
	gnutls_x509_crt_t *chain = NULL, *grown;
	int rc = 0;

	*n = 0;
	for (unsigned i = 0; rc == 0 && gnutls_certificate_get_crt_raw(creds, 0, i, &raw) == 0; i++) {
		grown = realloc(chain, (i + 1) * sizeof(*grown));
		if (!grown || gnutls_x509_crt_init(&grown[i]) < 0) {
			rc = -ENOMEM;
			chain = grown ? grown : chain;
			break;
		}
		chain = grown;
		*n = i + 1;
		if (gnutls_x509_crt_import(chain[i], &raw, GNUTLS_X509_FMT_DER) < 0)
			rc = -EINVAL;
	}
	*out = chain;
	return rc == 0 && *n == 0 ? -EINVAL : rc;
}

int ca_pool_build(struct ca_pool *p, gnutls_certificate_credentials_t creds)
{
	gnutls_x509_trust_list_t tl;
	gnutls_x509_crt_t *chain = NULL;
	unsigned n = 0, status;
	int rc;

	memset(p, 0, sizeof(*p));
	gnutls_certificate_get_trust_list(creds, &tl);
	rc = add_trusted(p, tl);
	if (rc == 0)
		rc = import_chain(creds, &chain, &n);
	/* An intermediate counts only if it and the rest of the chain above it verify. */
	for (unsigned i = 1; rc == 0 && i < n; i++) {
		if (gnutls_x509_trust_list_verify_crt(tl, chain + i, n - i, 0, &status, NULL) < 0 ||
		    status)
			continue;
		rc = add(p, chain[i]);
		chain[i] = NULL;
	}
	for (unsigned i = 0; i < n; i++) {
		if (i == 0 && rc == 0)
			p->leaf = chain[0];
		else if (chain[i])
			gnutls_x509_crt_deinit(chain[i]);
	}
	free(chain);
	if (rc < 0)
		ca_pool_free(p);
	return rc;
}

void ca_pool_free(struct ca_pool *p)
{
	for (size_t i = 0; i < p->n; i++)
		gnutls_x509_crt_deinit(p->certs[i]);
	free(p->certs);
	if (p->leaf)
		gnutls_x509_crt_deinit(p->leaf);
	memset(p, 0, sizeof(*p));
}
