// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>

#include "cert_text.h"
#include "dn_text.h"

static void copy_safe(gnutls_datum_t *dn, int rc, char *buf, size_t len)
{
	snprintf(buf, len, "-");
	if (rc < 0)
		return;
	/* The DN is the certificate holder's text, written between the quotes of key="value"
	 * log lines, conns lines and metric labels (cert_text_escape says why it is escaped). */
	cert_text_escape((const char *)dn->data, dn->size, buf, len);
	gnutls_free(dn->data);
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
