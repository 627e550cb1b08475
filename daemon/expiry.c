// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/x509.h>

#include "expiry.h"
#include "dn_text.h"
#include "file_read.h"
#include "log.h"

static void serial_text(gnutls_x509_crt_t crt, char *buf, size_t len)
{
	unsigned char bin[20];
	size_t size = sizeof(bin), at = 0;

	snprintf(buf, len, "-");
	/* Longer than RFC 5280's 20 octets: none of ours, and "-" says it could not be read. */
	if (gnutls_x509_crt_get_serial(crt, bin, &size) < 0)
		return;
	for (size_t i = 0; i < size && at + 3 <= len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%02x", bin[i]);
}

static int add_cert(struct expiry_set *set, const char *role, gnutls_x509_crt_t crt)
{
	struct cert_expiry *certs = realloc(set->certs, (set->n + 1) * sizeof(*certs));

	if (!certs)
		return -ENOMEM;
	set->certs = certs;
	certs[set->n] = (struct cert_expiry){ .role = role,
					      .not_after = gnutls_x509_crt_get_expiration_time(crt) };
	dn_text(crt, certs[set->n].subject, sizeof(certs[set->n].subject));
	serial_text(crt, certs[set->n].serial, sizeof(certs[set->n].serial));
	set->n++;
	return 0;
}

/* The leaf and every certificate sent with it: an intermediate that ends takes the leaf
 * with it, so it is watched as closely. */
static int load_own(struct expiry_set *set, gnutls_certificate_credentials_t creds)
{
	gnutls_datum_t raw;
	gnutls_x509_crt_t crt;
	int rc = 0;

	for (unsigned i = 0; rc == 0 && gnutls_certificate_get_crt_raw(creds, 0, i, &raw) == 0; i++) {
		if (gnutls_x509_crt_init(&crt) < 0)
			return -ENOMEM;
		rc = gnutls_x509_crt_import(crt, &raw, GNUTLS_X509_FMT_DER) == 0
			     ? add_cert(set, i ? "own-chain" : "own", crt) : -EINVAL;
		gnutls_x509_crt_deinit(crt);
	}
	return set->n ? rc : -EINVAL;
}

static int load_cas(struct expiry_set *set, const char *cacert)
{
	struct file_data file;
	gnutls_datum_t pem;
	gnutls_x509_crt_t *list = NULL;
	unsigned n = 0;
	char why[128];
	int rc = file_read_bounded(cacert, FILE_MAX_PEM, &file, why, sizeof(why));

	pem.data = file.data;
	pem.size = (unsigned)file.len;
	if (rc == 0)
		rc = gnutls_x509_crt_list_import2(&list, &n, &pem, GNUTLS_X509_FMT_PEM, 0);
	rc = rc < 0 ? -EINVAL : 0;
	for (unsigned i = 0; i < n; i++) {
		if (rc == 0)
			rc = add_cert(set, "ca", list[i]);
		gnutls_x509_crt_deinit(list[i]);
	}
	gnutls_free(list);
	file_data_free(&file);
	return rc;
}

int expiry_load(struct expiry_set *set, const char *tunnel, gnutls_certificate_credentials_t creds,
		const char *cacert)
{
	int rc = load_own(set, creds);

	if (rc == 0)
		rc = load_cas(set, cacert);
	if (rc < 0)
		log_err("[%s] reading certificate expiry dates: %s", tunnel, strerror(-rc));
	return rc;
}

void expiry_free(struct expiry_set *set)
{
	free(set->certs);
	set->certs = NULL;
	set->n = 0;
}

time_t expiry_next_due(const struct expiry_set *set, const unsigned *days, size_t n_days)
{
	time_t due = (time_t)-1;

	for (size_t i = 0; i < set->n; i++) {
		const struct cert_expiry *c = &set->certs[i];
		time_t next;

		if (c->warned > n_days)
			continue;
		next = c->not_after - (c->warned < n_days ? (time_t)days[c->warned] * 86400 : 0);
		if (due == (time_t)-1 || next < due)
			due = next;
	}
	return due;
}

unsigned expiry_check(struct expiry_set *set, const char *tunnel, time_t now, const unsigned *days,
		      size_t n_days)
{
	unsigned warnings = 0;

	for (size_t i = 0; i < set->n; i++) {
		struct cert_expiry *c = &set->certs[i];
		long long left = (long long)(c->not_after - now);
		unsigned crossed = 0;

		while (crossed < n_days && left <= (long long)days[crossed] * 86400)
			crossed++;
		if (left <= 0)
			crossed = (unsigned)n_days + 1;
		if (crossed <= c->warned)
			continue;
		c->warned = crossed;
		warnings++;
		if (left <= 0)
			log_warn("[%s] %s certificate \"%s\" has expired: %s serial=%s", tunnel, c->role,
				 c->subject,
				 c->role[0] == 'o' ? "peers will refuse it" : "peers it issued are refused",
				 c->serial);
		else
			log_warn("[%s] %s certificate \"%s\" expires in %lld days %lld hours serial=%s",
				 tunnel, c->role, c->subject, left / 86400, left % 86400 / 3600, c->serial);
	}
	return warnings;
}
