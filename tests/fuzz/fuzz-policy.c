// SPDX-License-Identifier: GPL-2.0-only
/* The allow-* / verify-* policy: policy_add() (rule values as an operator writes them, hex
 * fingerprints and serials included), policy_copy(), policy_uri_match() on any pattern and
 * URI, and policy_matches() against a certificate: one built from the input's fields, or the
 * DER certificate the input carries (what a peer sends; the chain check runs first in ktund,
 * but the policy must not depend on that for memory safety).
 *
 * Input: text lines, then optionally a NUL byte and a DER certificate (der-client-nul-in-sans
 * and der-client-control-chars: certificate text with NULs and control characters).
 *   KIND VALUE    a rule: all, cn, ou, dns, uri, fingerprint, serial (as after allow-)
 *   CN=V OU=V DNS=V URI=V SERIAL=HEX ISSUER=CN    fields of the built certificate
 * Every uri rule is also matched directly against every URI= line, and small cases against
 * a reference matcher. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "cert_text.h"
#include "fuzz.h"
#include "policy.h"

#define MAX_LINES 64

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void set_serial(gnutls_x509_crt_t crt, const char *hex)
{
	unsigned char bin[64];
	size_t n = 0;

	for (; hex[0] && hex[1] && n < sizeof(bin); hex += 2) {
		int hi = hex_nibble(hex[0]), lo = hex_nibble(hex[1]);

		if (hi < 0 || lo < 0)
			break;
		bin[n++] = (unsigned char)(hi << 4 | lo);
	}
	if (n)
		(void)gnutls_x509_crt_set_serial(crt, bin, n);
}

static bool spiffe_path_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '_';
}

/* The recursive matcher policy.c had before it was made linear: the definition of what a
 * pattern means ('*': any run of SPIFFE path characters), exponential in the number of '*'s,
 * so only asked about small cases. */
static bool reference_glob(const char *pattern, const char *uri)
{
	for (; *pattern; pattern++, uri++) {
		if (*pattern == '*') {
			for (const char *s = uri;; s++) {
				if (reference_glob(pattern + 1, s))
					return true;
				if (!spiffe_path_char(*s))
					return false;
			}
		}
		if (*pattern != *uri)
			return false;
	}
	return !*uri;
}

/* Without '*' a pattern is exact; with one it admits SPIFFE IDs only. */
static bool reference_uri_match(const char *pattern, const char *uri)
{
	if (!strchr(pattern, '*'))
		return !strcmp(pattern, uri);
	return policy_spiffe_id(uri) && reference_glob(pattern, uri);
}

static void uri_match(const char *pattern, const char *uri)
{
	bool m = policy_uri_match(pattern, uri);
	size_t stars = 0;

	for (const char *p = pattern; *p; p++)
		stars += *p == '*';
	if (stars <= 3 && strlen(uri) <= 48 && m != reference_uri_match(pattern, uri))
		abort();
}

/* What policy_cert_value hands out (to the rules, and to the origin) is clean text, whatever
 * NULs and control characters the certificate holds. */
static void check_cert_values(gnutls_x509_crt_t crt)
{
	char buf[POLICY_VALUE_MAX];

	for (int k = POLICY_CN; k <= POLICY_URI; k++) {
		unsigned seq = 0;
		int rc;

		while ((rc = policy_cert_value(crt, (enum policy_kind)k, &seq, buf)) != -ENOENT)
			if (rc == 0 && !cert_text_clean(buf, strlen(buf)))
				abort();
	}
}

/* A field line: CN=, OU=, DNS=, URI=, SERIAL=, ISSUER= (the issuer's CN). Returns false if the line is not one. */
static bool add_field(gnutls_x509_crt_t crt, const char *line)
{
	const char *v = strchr(line, '=');
	size_t klen;

	if (!v)
		return false;
	klen = (size_t)(v - line);
	v++;
	if (klen == 2 && !memcmp(line, "CN", 2))
		(void)gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, v,
						     (unsigned)strlen(v));
	else if (klen == 2 && !memcmp(line, "OU", 2))
		(void)gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME, 0,
						     v, (unsigned)strlen(v));
	else if (klen == 3 && !memcmp(line, "DNS", 3))
		(void)gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, v,
							   (unsigned)strlen(v), GNUTLS_FSAN_APPEND);
	else if (klen == 3 && !memcmp(line, "URI", 3))
		(void)gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_URI, v,
							   (unsigned)strlen(v), GNUTLS_FSAN_APPEND);
	else if (klen == 6 && !memcmp(line, "SERIAL", 6))
		set_serial(crt, v);
	else if (klen == 6 && !memcmp(line, "ISSUER", 6))
		(void)gnutls_x509_crt_set_issuer_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, v,
							    (unsigned)strlen(v));
	else
		return false;
	return true;
}

/* A rule line: "KIND VALUE" (or just "all"). */
static void add_rule(struct policy *p, const char *line)
{
	char kind_name[16], err[256];
	const char *sp = strchr(line, ' ');
	size_t klen = sp ? (size_t)(sp - line) : strlen(line);
	int kind;

	if (klen >= sizeof(kind_name))
		return;
	memcpy(kind_name, line, klen);
	kind_name[klen] = '\0';
	kind = policy_kind_parse(kind_name);
	if (kind < 0)
		return;
	err[0] = '\0';
	if (policy_add(p, (enum policy_kind)kind, sp ? sp + 1 : "", err, sizeof(err)) < 0 && !err[0])
		abort(); /* a refused rule says why */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t text_len = strnlen((const char *)data, size), n_lines = 0;
	char *text, *lines[MAX_LINES], *save = NULL;
	struct policy p = { 0 }, copy;
	gnutls_x509_crt_t crt;

	if (size > 16 * 1024 || gnutls_x509_crt_init(&crt) < 0)
		return 0;
	text = fuzz_strndup(data, text_len);
	for (char *l = strtok_r(text, "\n", &save); l && n_lines < MAX_LINES;
	     l = strtok_r(NULL, "\n", &save))
		lines[n_lines++] = l;

	(void)gnutls_x509_crt_set_version(crt, 3);
	for (size_t i = 0; i < n_lines; i++)
		if (!add_field(crt, lines[i]))
			add_rule(&p, lines[i]);
	if (text_len + 1 < size) {
		/* The input's own certificate replaces the built one. */
		gnutls_datum_t der = { (unsigned char *)data + text_len + 1,
				       (unsigned)(size - text_len - 1) };

		gnutls_x509_crt_deinit(crt);
		if (gnutls_x509_crt_init(&crt) < 0)
			abort();
		if (gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER) < 0) {
			gnutls_x509_crt_deinit(crt);
			crt = NULL;
		}
	}

	for (size_t r = 0; r < p.n; r++) {
		if (p.rules[r].kind != POLICY_URI)
			continue;
		/* A pattern without '*' matches exactly itself; one with '*' only SPIFFE IDs. */
		if (!strchr(p.rules[r].value, '*') && !policy_uri_match(p.rules[r].value, p.rules[r].value))
			abort();
		if (strchr(p.rules[r].value, '*') && strncmp(p.rules[r].value, "spiffe://", 9))
			abort();
		for (size_t i = 0; i < n_lines; i++)
			if (!strncmp(lines[i], "URI=", 4))
				uri_match(p.rules[r].value, lines[i] + 4);
	}
	if (policy_copy(&copy, &p) < 0)
		abort();
	if (copy.n != p.n || (p.n && memcmp(copy.rules, p.rules, p.n * sizeof(*p.rules))))
		abort();
	if (crt) {
		struct policy_match pm;
		char id[POLICY_VALUE_MAX];
		bool m = policy_match(&p, crt, &pm);

		check_cert_values(crt);
		/* The names told to the origin are clean, and the matched one if a rule chose it. */
		for (int k = POLICY_CN; k <= POLICY_URI; k += POLICY_URI - POLICY_CN) {
			policy_identity(crt, &pm, (enum policy_kind)k, id);
			if (!cert_text_clean(id, strlen(id)) ||
			    (m && pm.kind == (enum policy_kind)k && strcmp(id, pm.value)))
				abort();
		}
		if (m != policy_matches(&copy, crt))
			abort();
		gnutls_x509_crt_deinit(crt);
	}
	policy_free(&copy);
	policy_free(&p);
	free(text);
	return 0;
}
