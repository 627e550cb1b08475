// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
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

/* A CA certificate: basicConstraints CA:TRUE and, if it has a key usage, the right to sign
 * certificates or CRLs. GnuTLS checks cRLSign again when it verifies a CRL with it. */
static bool is_ca(gnutls_x509_crt_t crt)
{
	unsigned critical, ca = 0, usage;
	int rc = gnutls_x509_crt_get_basic_constraints(crt, &critical, &ca, NULL);

	if (rc <= 0 || !ca)
		return false;
	rc = gnutls_x509_crt_get_key_usage(crt, &usage, &critical);
	if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		return true;
	return rc >= 0 && (usage & (GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN));
}

/* The issuer of crt among the carried certificates and the pool, one not yet in chain. */
static gnutls_x509_crt_t find_issuer(gnutls_x509_crt_t crt, const struct ca_pool *p,
				     gnutls_x509_crt_t *certs, unsigned n,
				     const gnutls_x509_crt_t *chain, unsigned len)
{
	for (size_t i = 0; i < n + p->n; i++) {
		gnutls_x509_crt_t c = i < n ? certs[i] : p->certs[i - n];
		bool used = false;

		for (unsigned j = 0; j < len; j++)
			used |= chain[j] == c;
		if (!used && gnutls_x509_crt_check_issuer(crt, c) == 1)
			return c;
	}
	return NULL;
}

/* Verifies crt with the path up to cacert built from the other carried certificates and the
 * pool, whatever their order in the file: the path is checked by GnuTLS as a whole, so an
 * intermediate counts only if everything between it and cacert verifies, as for the own
 * chain. The first issuer found by name is taken; cross-certificates are not explored. */
static unsigned verify_carried(gnutls_x509_trust_list_t tl, const struct ca_pool *p,
			       gnutls_x509_crt_t *certs, unsigned n, unsigned k)
{
	gnutls_x509_crt_t chain[CA_POOL_MAX_DEPTH];
	unsigned len = 1, status = 0;

	chain[0] = certs[k];
	while (len < CA_POOL_MAX_DEPTH && gnutls_x509_crt_check_issuer(chain[len - 1],
								      chain[len - 1]) != 1) {
		gnutls_x509_crt_t up = find_issuer(chain[len - 1], p, certs, n, chain, len);

		if (!up)
			break;
		chain[len++] = up;
	}
	if (gnutls_x509_trust_list_verify_crt(tl, chain, len, 0, &status, NULL) < 0)
		return GNUTLS_CERT_INVALID;
	return status;
}

int ca_pool_check_carried(const struct ca_pool *p, gnutls_certificate_credentials_t creds,
			  gnutls_x509_crt_t *certs, unsigned n, unsigned *bad, unsigned *status)
{
	gnutls_x509_trust_list_t tl;

	gnutls_certificate_get_trust_list(creds, &tl);
	for (unsigned k = 0; k < n; k++) {
		*bad = k;
		*status = 0;
		if (!is_ca(certs[k]))
			return -EPERM;
		*status = verify_carried(tl, p, certs, n, k);
		if (*status)
			return -EPERM;
	}
	return 0;
}

int ca_pool_adopt(struct ca_pool *p, gnutls_x509_crt_t *certs, unsigned n)
{
	gnutls_x509_crt_t *grown = n ? realloc(p->certs, (p->n + n) * sizeof(*grown)) : p->certs;

	if (!grown) {
		for (unsigned i = 0; i < n; i++)
			gnutls_x509_crt_deinit(certs[i]);
		return -ENOMEM;
	}
	p->certs = grown;
	memcpy(p->certs + p->n, certs, n * sizeof(*certs));
	p->n += n;
	return 0;
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
