// SPDX-License-Identifier: GPL-2.0-only
/* dn_text: a certificate's subject as text safe between quotes, marked when cut. */
#include <gnutls/x509.h>

#include "check.h"
#include "dn_text.h"

/* A certificate object with only a subject CN: dn_text reads nothing else. */
static gnutls_x509_crt_t with_cn(const char *cn)
{
	gnutls_x509_crt_t crt;

	if (gnutls_x509_crt_init(&crt) < 0 ||
	    gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen(cn)) < 0) {
		fprintf(stderr, "cannot build a certificate with CN %s\n", cn);
		exit(EXIT_FAILURE);
	}
	return crt;
}

static void test_short(void)
{
	gnutls_x509_crt_t crt = with_cn("edge-client");
	char buf[256];

	dn_text(crt, buf, sizeof(buf));
	CHECK_STR(buf, "CN=edge-client");
	gnutls_x509_crt_deinit(crt);
}

static void test_quotes_and_controls(void)
{
	gnutls_x509_crt_t crt = with_cn("a\"b\\c\td");
	char buf[256];

	dn_text(crt, buf, sizeof(buf));
	CHECK(!strchr(buf, '"') && !strchr(buf, '\t'));
	CHECK(strncmp(buf, "CN=a\\x5c", 8) == 0);
	CHECK(strstr(buf, "\\x09d") != NULL);
	gnutls_x509_crt_deinit(crt);
}

/* Cut silently, a long subject read as a shorter one in the audit lines. */
static void test_long_is_marked(void)
{
	char cn[300], buf[64], want[64];
	gnutls_x509_crt_t crt;

	memset(cn, 'x', sizeof(cn) - 1);
	cn[sizeof(cn) - 1] = '\0';
	crt = with_cn(cn);
	dn_text(crt, buf, sizeof(buf));
	snprintf(want, sizeof(want), "CN=%.57s...", cn);
	CHECK_STR(buf, want);
	CHECK(strlen(buf) == sizeof(buf) - 1);
	gnutls_x509_crt_deinit(crt);

	/* Exactly what fits is not marked. */
	cn[sizeof(buf) - 1 - 3] = '\0';
	crt = with_cn(cn);
	dn_text(crt, buf, sizeof(buf));
	CHECK(strlen(buf) == sizeof(buf) - 1 && !strstr(buf, "..."));
	gnutls_x509_crt_deinit(crt);
}

int main(void)
{
	RUN(test_short);
	RUN(test_quotes_and_controls);
	RUN(test_long_is_marked);
	return check_result();
}
