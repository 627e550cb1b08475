// SPDX-License-Identifier: GPL-2.0-only
/* Names of TLS values in log lines: never NULL, whatever GnuTLS knows. */
#include "check.h"
#include "tls_names.h"

static void test_alerts(void)
{
	char buf[TLS_ALERT_TEXT_MAX];

	CHECK_STR(tls_alert_text(0, buf), "close_notify (0)");
	CHECK_STR(tls_alert_text(42, buf), "bad_certificate (42)");
	CHECK_STR(tls_alert_text(116, buf), "certificate_required (116)");
	/* GnuTLS has no name for these two; ktund sends 113 on OCSP refusals. */
	CHECK_STR(tls_alert_text(113, buf), "bad_certificate_status_response (113)");
	CHECK_STR(tls_alert_text(114, buf), "bad_certificate_hash_value (114)");
	CHECK_STR(tls_alert_text(1, buf), "unknown (1)");
	CHECK_STR(tls_alert_text(121, buf), "unknown (121)");
	CHECK_STR(tls_alert_text(255, buf), "unknown (255)");
	CHECK_STR(tls_alert_text(100000, buf), "unknown (100000)");
}

static void test_every_alert_named(void)
{
	char buf[TLS_ALERT_TEXT_MAX];

	/* Every alert GnuTLS knows has a registry name here too. */
	for (unsigned a = 0; a < 256; a++)
		if (gnutls_alert_get_name((gnutls_alert_description_t)a)) {
			/* "unknown_ca (48)" is a name; "unknown (48)" would not be. */
			if (!strncmp(tls_alert_text(a, buf), "unknown (", 9))
				fprintf(stderr, "alert %u has no name\n", a);
			CHECK(strncmp(tls_alert_text(a, buf), "unknown (", 9));
		}
}

static void test_versions_and_ciphers(void)
{
	CHECK_STR(tls_version_name(GNUTLS_TLS1_3), "TLS1.3");
	CHECK_STR(tls_version_name(GNUTLS_TLS1_2), "TLS1.2");
	CHECK_STR(tls_version_name(GNUTLS_VERSION_UNKNOWN), "unknown");
	CHECK_STR(tls_version_name((gnutls_protocol_t)77), "unknown");
	CHECK_STR(tls_cipher_name(GNUTLS_CIPHER_AES_128_GCM), "AES-128-GCM");
	CHECK_STR(tls_cipher_name((gnutls_cipher_algorithm_t)9999), "unknown");
}

int main(void)
{
	RUN(test_alerts);
	RUN(test_every_alert_named);
	RUN(test_versions_and_ciphers);
	return check_result();
}
