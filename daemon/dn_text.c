// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>

#include "dn_text.h"

static void copy_safe(gnutls_datum_t *dn, int rc, char *buf, size_t len)
{
	snprintf(buf, len, "-");
	if (rc < 0)
		return;
	snprintf(buf, len, "%s", (const char *)dn->data);
	gnutls_free(dn->data);
	/* The DN is the certificate holder's text, written between the quotes of key="value"
	 * log lines, conns lines and metric labels: a quote or a backslash there would end the
	 * value early for some parsers, and let the holder write fields of its own. */
	for (char *p = buf; *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
			*p = '?';
}

void dn_text(gnutls_x509_crt_t crt, char *buf, size_t len)
{
	gnutls_datum_t dn = { 0 };

	copy_safe(&dn, gnutls_x509_crt_get_dn3(crt, &dn, 0), buf, len);
}

void dn_text_crl_issuer(gnutls_x509_crl_t crl, char *buf, size_t len)
{
	gnutls_datum_t dn = { 0 };

	copy_safe(&dn, gnutls_x509_crl_get_issuer_dn3(crl, &dn, 0), buf, len);
}
