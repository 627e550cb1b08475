// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cert_check.h"
#include "dn_text.h"
#include "log.h"

bool cert_check_purpose(gnutls_x509_crt_t crt, const char *oid)
{
	char buf[128];

	for (unsigned i = 0;; i++) {
		size_t size = sizeof(buf);
		int rc = gnutls_x509_crt_get_key_purpose_oid(crt, i, buf, &size, NULL);

		if (rc == GNUTLS_E_SHORT_MEMORY_BUFFER)
			continue; /* an OID too long to be the one wanted */
		if (rc < 0)
			return false;
		if (!strcmp(buf, oid))
			return true;
	}
}

static bool can_issue(gnutls_x509_crt_t crt)
{
	unsigned ca = 0;

	if (gnutls_x509_crt_get_basic_constraints(crt, NULL, &ca, NULL) >= 0 && ca)
		return true;
	return gnutls_x509_crt_check_issuer(crt, crt) != 0;
}

int cert_check_ca(const struct tunnel_config *cfg, const gnutls_datum_t *pem)
{
	bool server = cfg->mode == MODE_SERVER;
	gnutls_x509_crt_t *list = NULL;
	unsigned n = 0;
	bool found = false;
	char first[160] = "-", where[CONFIG_ERR_MAX];

	/* load_ca() has parsed it already: a list that does not parse here is left to it. */
	if (gnutls_x509_crt_list_import2(&list, &n, pem, GNUTLS_X509_FMT_PEM, 0) < 0)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		found |= can_issue(list[i]);
		if (i == 0)
			dn_text(list[i], first, sizeof(first));
		gnutls_x509_crt_deinit(list[i]);
	}
	gnutls_free(list);
	if (found || !n)
		return 0;
	log_err("%s[%s] cacert %s holds no CA certificate, only %u end-entity one%s (\"%s\"): "
		"every %s would be refused; point cacert at the CA that issued the %s certificates "
		"(its root or intermediate), and use allow-fingerprint to admit one certificate",
		config_key_where(cfg, "cacert", where, sizeof(where)), cfg->name, cfg->cacert, n,
		n == 1 ? "" : "s", first, server ? "client (as no-client-cert)" : "server",
		server ? "clients'" : "server's");
	return -EINVAL;
}

static void utc_text(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, len, "%lld", (long long)t);
}

/* Why the leaf does not fit, in *why; NULL if it does. */
static const char *leaf_problem(const struct tunnel_config *cfg, gnutls_x509_crt_t leaf,
				time_t now, char *why, size_t len)
{
	bool server = cfg->mode == MODE_SERVER;
	time_t from = gnutls_x509_crt_get_activation_time(leaf);
	time_t until = gnutls_x509_crt_get_expiration_time(leaf);
	unsigned ca = 0, usage = 0;
	char when[64];

	if (now < from) {
		utc_text(from, when, sizeof(when));
		snprintf(why, len, "is not valid before %s and peers refuse it until then: use one "
			 "valid now, or check this host's clock", when);
	} else if (now > until) {
		utc_text(until, when, sizeof(when));
		snprintf(why, len, "expired at %s and peers refuse it: install a renewed one", when);
	} else if (gnutls_x509_crt_get_basic_constraints(leaf, NULL, &ca, NULL) >= 0 && ca) {
		snprintf(why, len, "is a CA certificate (basicConstraints CA:TRUE), which ktund's "
			 "peers refuse: use an end-entity certificate");
	} else if (!cert_check_purpose(leaf, server ? GNUTLS_KP_TLS_WWW_SERVER
						    : GNUTLS_KP_TLS_WWW_CLIENT)) {
		snprintf(why, len, "has no %s extended key usage, which a %s tunnel's peers require "
			 "(none, or anyExtendedKeyUsage, is not enough): issue it with %s",
			 server ? "serverAuth" : "clientAuth", config_mode_name(cfg->mode),
			 server ? "serverAuth (certtool: tls_www_server)"
				: "clientAuth (certtool: tls_www_client)");
	} else if (gnutls_x509_crt_get_key_usage(leaf, &usage, NULL) >= 0 &&
		   !(usage & GNUTLS_KEY_DIGITAL_SIGNATURE)) {
		snprintf(why, len, "has a key usage without digitalSignature, and ktund's key "
			 "exchanges (ECDHE) sign with the key: issue it with digitalSignature "
			 "(certtool: signing_key)");
	} else {
		return NULL;
	}
	return why;
}

int cert_check_own(const struct tunnel_config *cfg, gnutls_certificate_credentials_t creds,
		   time_t now)
{
	char why[384], where[CONFIG_ERR_MAX], subject[160];
	gnutls_x509_crt_t leaf;
	gnutls_datum_t raw;
	const char *problem = NULL;

	/* set_key() has loaded it: a leaf that cannot be read back is left to expiry_load(). */
	if (gnutls_certificate_get_crt_raw(creds, 0, 0, &raw) < 0 || gnutls_x509_crt_init(&leaf) < 0)
		return 0;
	if (gnutls_x509_crt_import(leaf, &raw, GNUTLS_X509_FMT_DER) == 0) {
		problem = leaf_problem(cfg, leaf, now, why, sizeof(why));
		dn_text(leaf, subject, sizeof(subject));
	}
	gnutls_x509_crt_deinit(leaf);
	if (!problem)
		return 0;
	log_err("%s[%s] cert %s (\"%s\") %s", config_key_where(cfg, "cert", where, sizeof(where)),
		cfg->name, cfg->cert, subject, problem);
	return -EINVAL;
}
