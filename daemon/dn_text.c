// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>

#include "dn_text.h"

void dn_text(gnutls_x509_crt_t crt, char *buf, size_t len)
{
	gnutls_datum_t dn = { 0 };

	snprintf(buf, len, "-");
	if (gnutls_x509_crt_get_dn3(crt, &dn, 0) < 0)
		return;
	/* A DN longer than buf ends in "...", so that no reader takes what fits for all of it. */
	if (snprintf(buf, len, "%s", (const char *)dn.data) >= (int)len && len > 3)
		memcpy(buf + len - 4, "...", 3);
	gnutls_free(dn.data);
	/* The DN is the certificate holder's text, written between the quotes of key="value"
	 * log lines, conns lines and metric labels: a quote or a backslash there would end the
	 * value early for some parsers, and let the holder write fields of its own. */
	for (char *p = buf; *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
			*p = '?';
}
