/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_TLS_NAMES_H
#define KTUN_TLS_NAMES_H

#include <gnutls/gnutls.h>

/*
 * Names of TLS values for log lines and ktunctl. GnuTLS's name functions return NULL for a
 * value they do not know (gnutls_alert_get_strname(113), bad_certificate_status_response,
 * which ktund itself sends), and NULL is no argument for %s. These never return NULL.
 */

/* "name (N)" as the TLS registries spell it, "unknown (N)" for a number no RFC assigns. */
#define TLS_ALERT_TEXT_MAX 48
const char *tls_alert_text(unsigned alert, char buf[static TLS_ALERT_TEXT_MAX]);
/* GnuTLS's names ("TLS1.3", "AES-128-GCM"), or "unknown"; static strings. */
const char *tls_version_name(gnutls_protocol_t version);
const char *tls_cipher_name(gnutls_cipher_algorithm_t cipher);

#endif
