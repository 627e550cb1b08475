// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>

#include "tls_names.h"

/* The IANA TLS Alerts registry. Our own table, not GnuTLS's: its names are C identifiers
 * ("GNUTLS_A_UNKNOWN_CA") and it has none for some (113, 114). */
static const char *const alert_names[] = {
	[0] = "close_notify",
	[10] = "unexpected_message",
	[20] = "bad_record_mac",
	[21] = "decryption_failed",
	[22] = "record_overflow",
	[30] = "decompression_failure",
	[40] = "handshake_failure",
	[41] = "no_certificate",
	[42] = "bad_certificate",
	[43] = "unsupported_certificate",
	[44] = "certificate_revoked",
	[45] = "certificate_expired",
	[46] = "certificate_unknown",
	[47] = "illegal_parameter",
	[48] = "unknown_ca",
	[49] = "access_denied",
	[50] = "decode_error",
	[51] = "decrypt_error",
	[60] = "export_restriction",
	[70] = "protocol_version",
	[71] = "insufficient_security",
	[80] = "internal_error",
	[86] = "inappropriate_fallback",
	[90] = "user_canceled",
	[100] = "no_renegotiation",
	[109] = "missing_extension",
	[110] = "unsupported_extension",
	[111] = "certificate_unobtainable",
	[112] = "unrecognized_name",
	[113] = "bad_certificate_status_response",
	[114] = "bad_certificate_hash_value",
	[115] = "unknown_psk_identity",
	[116] = "certificate_required",
	[120] = "no_application_protocol",
};

const char *tls_alert_text(unsigned alert, char buf[static TLS_ALERT_TEXT_MAX])
{
	const char *name = alert < sizeof(alert_names) / sizeof(alert_names[0]) ? alert_names[alert] : NULL;

	snprintf(buf, TLS_ALERT_TEXT_MAX, "%s (%u)", name ? name : "unknown", alert);
	return buf;
}

const char *tls_version_name(gnutls_protocol_t version)
{
	const char *name = gnutls_protocol_get_name(version);

	return name ? name : "unknown";
}

const char *tls_cipher_name(gnutls_cipher_algorithm_t cipher)
{
	const char *name = gnutls_cipher_get_name(cipher);

	return name ? name : "unknown";
}
