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

/* A verification status as GnuTLS words it, without its trailing space; text.data NULL if
 * it cannot. gnutls_free() it. */
static gnutls_datum_t status_text(unsigned status)
{
	gnutls_datum_t text;

	if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) < 0)
		return (gnutls_datum_t){ 0 };
	while (text.size && text.data[text.size - 1] == ' ')
		text.data[--text.size] = 0;
	return text;
}

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
	text = status_text(status);
	log_err("[%s] crl %s (issuer \"%s\") is not signed by a CA of cacert, of the chain of "
		"cert or carried in the CRL file: %s%s", tunnel, path, issuer,
		text.data ? (const char *)text.data : "refused",
		(status & GNUTLS_CERT_SIGNER_NOT_FOUND)
			? "; add the issuing CA's certificate to the CRL file (it must chain to "
			  "cacert; it does not become a trust anchor), or use a CRL of a CA of "
			  "cacert or of the chain of cert"
			: "");
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

/* Text outside PEM blocks, like the comments of a bundle, is fine; a block cut short or of
 * another kind is refused: GnuTLS would skip it without a word, and a file truncated in a
 * certificate or CRL would then load as if it had never held it. Counts the blocks, so that
 * the caller can tell that GnuTLS read every one. */
static int pem_scan(const gnutls_datum_t *pem, unsigned *ncrl, unsigned *ncrt, char *why,
		    size_t len)
{
	static const char begin[] = "-----BEGIN ", dashes[] = "-----";
	const char *p = (const char *)pem->data, *end = p + pem->size;

	*ncrl = *ncrt = 0;
	while ((p = memmem(p, (size_t)(end - p), begin, sizeof(begin) - 1))) {
		const char *label = p + sizeof(begin) - 1, *stop, *next;
		char want[40];
		bool is_crl;
		int n;

		stop = memmem(label, (size_t)(end - label), dashes, sizeof(dashes) - 1);
		n = stop ? (int)(stop - label) : 0;
		is_crl = n == 8 && !memcmp(label, "X509 CRL", 8);
		if (!is_crl && !(n == 11 && !memcmp(label, "CERTIFICATE", 11))) {
			snprintf(why, len, "a PEM block that is neither an X509 CRL nor a CERTIFICATE");
			return -EINVAL;
		}
		snprintf(want, sizeof(want), "-----END %.*s-----", n, label);
		p = memmem(stop, (size_t)(end - stop), want, strlen(want));
		next = memmem(stop, (size_t)(end - stop), begin, sizeof(begin) - 1);
		if (!p || (next && next < p)) {
			snprintf(why, len, "a %.*s PEM block without its END line", n, label);
			return -EINVAL;
		}
		(*(is_crl ? ncrl : ncrt))++;
		p += strlen(want);
	}
	return 0;
}

/* The CA certificates the file carries beside its CRLs, checked and added to the pool. */
static int add_carried(struct ca_pool *pool, const char *tunnel, const char *path,
		       const gnutls_datum_t *pem, unsigned want,
		       gnutls_certificate_credentials_t creds)
{
	gnutls_x509_crt_t *certs = NULL;
	unsigned n = 0, bad, status;
	char who[160];
	gnutls_datum_t text = { 0 };
	int rc;

	if (!want)
		return 0;
	rc = gnutls_x509_crt_list_import2(&certs, &n, pem, GNUTLS_X509_FMT_PEM, 0);
	if (rc < 0 || n != want) {
		log_err("[%s] crl %s: a certificate in it cannot be read: %s", tunnel, path,
			rc < 0 ? gnutls_strerror(rc) : "not all were found");
		rc = -EINVAL;
		goto out;
	}
	rc = ca_pool_check_carried(pool, creds, certs, n, &bad, &status);
	if (rc == 0) {
		rc = ca_pool_adopt(pool, certs, n);
		n = 0; /* the pool's now */
		if (rc < 0)
			log_err("[%s] crl %s: %s", tunnel, path, strerror(-rc));
		goto out;
	}
	dn_text(certs[bad], who, sizeof(who));
	if (status)
		text = status_text(status);
	log_err("[%s] crl %s: the certificate \"%s\" in it %s%s", tunnel, path, who,
		status ? "does not chain to cacert: " : "is not a CA certificate that may sign CRLs",
		status && text.data ? (const char *)text.data : "");
	gnutls_free(text.data);
	rc = -EINVAL;
out:
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(certs[i]);
	gnutls_free(certs);
	return rc;
}

static int build_pool(struct ca_pool *pool, const char *tunnel, const char *path,
		      const gnutls_datum_t *pem, unsigned ncrt,
		      gnutls_certificate_credentials_t creds)
{
	int rc = ca_pool_build(pool, creds);

	if (rc < 0) {
		log_err("[%s] crl %s: cannot read the CAs to check it against: %s", tunnel, path,
			strerror(-rc));
		return rc;
	}
	return add_carried(pool, tunnel, path, pem, ncrt, creds);
}

/* All the file's CRLs: as many as it has X509 CRL blocks, at least one. */
static int import_crls(const char *tunnel, const char *path, const gnutls_datum_t *pem,
		       unsigned want, gnutls_x509_crl_t **list, unsigned *n)
{
	int rc = gnutls_x509_crl_list_import2(list, n, pem, GNUTLS_X509_FMT_PEM, 0);

	if (rc >= 0 && *n && *n == want)
		return 0;
	log_err("[%s] crl %s: %s", tunnel, path, rc < 0 ? gnutls_strerror(rc)
					: *n == 0 ? "no CRL found" : "not all CRLs were read");
	for (unsigned i = 0; rc >= 0 && i < *n; i++)
		gnutls_x509_crl_deinit((*list)[i]);
	gnutls_free(*list);
	*list = NULL;
	return -EINVAL;
}

static int check_all(struct crl_set *s, const char *tunnel, const char *path,
		     const gnutls_datum_t *pem, gnutls_certificate_credentials_t creds)
{
	gnutls_x509_crl_t *list = NULL;
	unsigned n = 0, ncrl, ncrt;
	struct ca_pool pool;
	char issuer[160], why[96];
	int rc = pem_scan(pem, &ncrl, &ncrt, why, sizeof(why));

	if (rc < 0) {
		log_err("[%s] crl %s: %s", tunnel, path, why);
		return rc;
	}
	rc = import_crls(tunnel, path, pem, ncrl, &list, &n);
	if (rc < 0)
		return rc;
	rc = build_pool(&pool, tunnel, path, pem, ncrt, creds);
	for (unsigned i = 0; i < n; i++) {
		dn_text_crl_issuer(list[i], issuer, sizeof(issuer));
		if (rc == 0)
			rc = check_signed(tunnel, path, list[i], &pool, issuer);
		if (rc == 0)
			rc = remember(s, list[i], issuer);
		gnutls_x509_crl_deinit(list[i]);
	}
	gnutls_free(list);
	ca_pool_free(&pool); /* zeroed by a failed ca_pool_build: freeing it again is a no-op */
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
