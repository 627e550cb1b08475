// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/x509.h>

#include "ca_pool.h"
#include "crl.h"
#include "dn_text.h"
#include "file_read.h"
#include "log.h"

/* Stale or dated in the future is a matter of time, not of trust: crl_check() deals with it. */
#define CRL_TIME_STATUS \
	(GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED | GNUTLS_CERT_REVOCATION_DATA_ISSUED_IN_FUTURE)

/* GnuTLS applies a CRL to the certificates of its issuer's name without checking who signed
 * it: anyone who can write the file could revoke, or un-revoke, at will. Only a CRL signed by
 * a CA ktund trusts, with the right to sign CRLs, gets through. */
static int check_signed(const char *tunnel, const char *path, gnutls_x509_crl_t crl,
			const struct ca_pool *pool, const char *issuer)
{
	unsigned status = 0, rest;
	gnutls_datum_t text;
	int rc = gnutls_x509_crl_verify(crl, pool->certs, (unsigned)pool->n, 0, &status);

	if (rc < 0) {
		log_err("[%s] crl %s (issuer \"%s\"): %s", tunnel, path, issuer, gnutls_strerror(rc));
		return -EINVAL;
	}
	/* GnuTLS adds INVALID to any finding, a time one included. */
	rest = status & ~(unsigned)CRL_TIME_STATUS;
	if (!rest || (rest == GNUTLS_CERT_INVALID && (status & CRL_TIME_STATUS)))
		return 0;
	status = rest;
	if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) < 0)
		text = (gnutls_datum_t){ 0 };
	log_err("[%s] crl %s (issuer \"%s\") is not signed by a CA of cacert or of the chain of "
		"cert: %s", tunnel, path, issuer, text.data ? (const char *)text.data : "refused");
	gnutls_free(text.data);
	return -EINVAL;
}

static int remember(struct crl_set *s, gnutls_x509_crl_t crl, const char *issuer)
{
	struct crl_info *grown = realloc(s->crls, (s->n + 1) * sizeof(*grown));
	struct crl_info *c;
	gnutls_datum_t dn;

	if (!grown)
		return -ENOMEM;
	s->crls = grown;
	c = &s->crls[s->n];
	memset(c, 0, sizeof(*c));
	if (gnutls_x509_crl_get_raw_issuer_dn(crl, &dn) < 0)
		return -ENOMEM;
	c->issuer_dn = dn;
	snprintf(c->issuer, sizeof(c->issuer), "%s", issuer);
	c->next_update = gnutls_x509_crl_get_next_update(crl);
	s->n++;
	return 0;
}

static int check_all(struct crl_set *s, const char *tunnel, const char *path,
		     const gnutls_datum_t *pem, gnutls_certificate_credentials_t creds)
{
	gnutls_x509_crl_t *list = NULL;
	unsigned n = 0;
	struct ca_pool pool;
	char issuer[160];
	int rc = gnutls_x509_crl_list_import2(&list, &n, pem, GNUTLS_X509_FMT_PEM, 0);

	if (rc < 0 || n == 0) {
		log_err("[%s] crl %s: %s", tunnel, path, rc < 0 ? gnutls_strerror(rc) : "no CRL found");
		return -EINVAL;
	}
	rc = ca_pool_build(&pool, creds);
	if (rc < 0)
		log_err("[%s] crl %s: cannot read the CAs to check it against: %s", tunnel, path,
			strerror(-rc));
	for (unsigned i = 0; i < n; i++) {
		dn_text_crl_issuer(list[i], issuer, sizeof(issuer));
		if (rc == 0)
			rc = check_signed(tunnel, path, list[i], &pool, issuer);
		if (rc == 0)
			rc = remember(s, list[i], issuer);
		gnutls_x509_crl_deinit(list[i]);
	}
	gnutls_free(list);
	ca_pool_free(&pool); /* zeroed by a failed build: freeing it again is a no-op */
	return rc;
}

int crl_load(struct crl_set *s, const char *tunnel, const char *path, bool refuse_stale,
	     gnutls_certificate_credentials_t creds)
{
	struct file_data file;
	gnutls_datum_t pem;
	char why[128];
	int rc = file_read_bounded(path, FILE_MAX_CRL, &file, why, sizeof(why));

	memset(s, 0, sizeof(*s));
	s->refuse_stale = refuse_stale;
	if (rc < 0) {
		log_err("[%s] crl %s: %s", tunnel, path, why);
		return -EINVAL;
	}
	pem.data = file.data;
	pem.size = (unsigned)file.len; /* at most FILE_MAX_CRL */
	/* The bytes that were checked are the bytes GnuTLS gets: the file is read once. */
	rc = check_all(s, tunnel, path, &pem, creds);
	if (rc == 0 && gnutls_certificate_set_x509_crl_mem(creds, &pem, GNUTLS_X509_FMT_PEM) <= 0) {
		log_err("[%s] crl %s: GnuTLS did not take it", tunnel, path);
		rc = -EINVAL;
	}
	file_data_free(&file);
	if (rc == 0) {
		s->path = strdup(path);
		rc = s->path ? 0 : -ENOMEM;
	}
	return rc;
}

void crl_free(struct crl_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		gnutls_free(s->crls[i].issuer_dn.data);
	free(s->crls);
	free(s->path);
	memset(s, 0, sizeof(*s));
}

static bool is_stale(const struct crl_info *c, time_t now)
{
	return c->next_update != (time_t)-1 && c->next_update <= now;
}

unsigned crl_check(struct crl_set *s, const char *tunnel, time_t now)
{
	unsigned warnings = 0;

	for (size_t i = 0; i < s->n; i++) {
		struct crl_info *c = &s->crls[i];

		struct tm tm;
		char when[32];

		if (c->warned || !is_stale(c, now))
			continue;
		c->warned = true;
		warnings++;
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&c->next_update, &tm));
		log_warn("[%s] crl %s from \"%s\" is past its nextUpdate (%s): %s", tunnel, s->path,
			 c->issuer, when,
			 s->refuse_stale ? "the peers that CA issued are refused until it is renewed "
					   "(crl-stale = refuse)"
					 : "certificates revoked since are not known; renew it");
	}
	return warnings;
}

time_t crl_next_due(const struct crl_set *s)
{
	time_t due = (time_t)-1;

	for (size_t i = 0; i < s->n; i++)
		if (!s->crls[i].warned && s->crls[i].next_update != (time_t)-1 &&
		    (due == (time_t)-1 || s->crls[i].next_update < due))
			due = s->crls[i].next_update;
	return due;
}

static const struct crl_info *stale_by_dn(const struct crl_set *s, const gnutls_datum_t *dn,
					  time_t now)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct crl_info *c = &s->crls[i];

		if (is_stale(c, now) && c->issuer_dn.size == dn->size &&
		    !memcmp(c->issuer_dn.data, dn->data, dn->size))
			return c;
	}
	return NULL;
}

const struct crl_info *crl_stale_for_peer(const struct crl_set *s, const gnutls_datum_t *chain,
					  unsigned n, time_t now)
{
	const struct crl_info *hit = NULL;
	bool any = false;

	for (size_t i = 0; i < s->n; i++)
		any |= is_stale(&s->crls[i], now);
	if (!s->refuse_stale || !any)
		return NULL;
	/* The chain has been verified: an issuer's name is enough to tell whose peer it is. A
	 * certificate that cannot be read here is refused: this check fails closed. */
	for (unsigned i = 0; !hit && i < n; i++) {
		gnutls_x509_crt_t crt;
		gnutls_datum_t dn;

		if (gnutls_x509_crt_init(&crt) < 0)
			return &s->crls[0];
		if (gnutls_x509_crt_import(crt, &chain[i], GNUTLS_X509_FMT_DER) == 0 &&
		    gnutls_x509_crt_get_raw_issuer_dn(crt, &dn) == 0) {
			hit = stale_by_dn(s, &dn, now);
			gnutls_free(dn.data);
		} else {
			hit = &s->crls[0];
		}
		gnutls_x509_crt_deinit(crt);
	}
	return hit;
}
