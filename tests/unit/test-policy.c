// SPDX-License-Identifier: GPL-2.0-only
/* policy_uri_match, policy_add's validation, and policy_matches against real certificates
 * made here with GnuTLS: two self-signed leaves with known names and serials. */
#include <errno.h>
#include <time.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "check.h"
#include "policy.h"

/* ---- policy_uri_match ---- */

static void test_uri_literal(void)
{
	CHECK(policy_uri_match("spiffe://example.org/edge/web", "spiffe://example.org/edge/web"));
	CHECK(!policy_uri_match("spiffe://example.org/edge/web", "spiffe://example.org/edge/wet"));
	/* No implicit prefix match either way. */
	CHECK(!policy_uri_match("spiffe://example.org/edge", "spiffe://example.org/edge/web"));
	CHECK(!policy_uri_match("spiffe://example.org/edge/web", "spiffe://example.org/edge"));
}

static void test_uri_star_within_segment(void)
{
	CHECK(policy_uri_match("spiffe://example.org/edge/*", "spiffe://example.org/edge/web"));
	CHECK(policy_uri_match("spiffe://example.org/ns/*/sa/web",
			       "spiffe://example.org/ns/prod/sa/web"));
	CHECK(!policy_uri_match("spiffe://example.org/ns/*/sa/web",
				"spiffe://example.org/ns/prod/sa/api"));
	CHECK(policy_uri_match("spiffe://t/a*b*c", "spiffe://t/axxbyyc"));
	CHECK(!policy_uri_match("spiffe://t/a*b*c", "spiffe://t/axxyyc"));
	CHECK(policy_uri_match("spiffe://t/*b", "spiffe://t/abab")); /* not the first 'b': backtrack */
}

static void test_uri_star_never_crosses_slash(void)
{
	CHECK(!policy_uri_match("spiffe://example.org/edge/*", "spiffe://example.org/edge/web/x"));
	CHECK(!policy_uri_match("spiffe://example.org/ns/*/sa/web",
				"spiffe://example.org/ns/a/b/sa/web"));
	CHECK(!policy_uri_match("spiffe://*", "spiffe://example.org/edge"));
	CHECK(!policy_uri_match("spiffe://t/*", "spiffe://t/a/b"));
	CHECK(policy_uri_match("spiffe://t/*", "spiffe://t/ab"));
}

static void test_uri_prefix_suffix(void)
{
	CHECK(policy_uri_match("spiffe://example.org/edge/web-*", "spiffe://example.org/edge/web-7"));
	CHECK(!policy_uri_match("spiffe://example.org/edge/web-*", "spiffe://example.org/edge/api-7"));
	CHECK(policy_uri_match("spiffe://example.org/*-prod/x", "spiffe://example.org/eu-prod/x"));
	CHECK(!policy_uri_match("spiffe://example.org/*-prod/x", "spiffe://example.org/eu-dev/x"));
	CHECK(!policy_uri_match("spiffe://example.org/*-prod/x", "spiffe://example.org/eu-prod/y"));
}

static void test_uri_empty(void)
{
	CHECK(policy_uri_match("", ""));
	CHECK(!policy_uri_match("", "spiffe://example.org"));
	CHECK(!policy_uri_match("spiffe://example.org", ""));
}

/* Many stars against a long segment of a peer's URI: answered at once (the recursive matcher
 * took exponential time, and this case kept a worker busy for minutes). */
static void test_uri_many_stars(void)
{
	char uri[600];

	snprintf(uri, sizeof(uri), "spiffe://example.org/ns/%0400d/sa/web", 0);
	for (char *p = uri + 24; *p == '0'; p++)
		*p = '-';
	CHECK(!policy_uri_match("spiffe://example.org/ns/*-*-*-*-*-*-*-*x/sa/web", uri));
	CHECK(policy_uri_match("spiffe://example.org/ns/*-*-*-*-*-*-*-*-/sa/web", uri));
	CHECK(policy_uri_match("spiffe://example.org/ns/**/sa/*", uri));
	CHECK(!policy_uri_match("spiffe://example.org/ns/**/sa", uri));
	CHECK(!policy_uri_match("spiffe://t/a*b*c*", "spiffe://t/a/b/c"));
	CHECK(policy_uri_match("spiffe://t/*/*/*", "spiffe://t/a/b/c"));
}

/* What '*' stands for: a run of [A-Za-z0-9._-] inside one segment of a valid SPIFFE ID.
 * "..", "%2F", "?", "#" and empty segments are no SPIFFE ID, so no wildcard admits them. */
static void test_uri_star_spiffe_only(void)
{
	const char *pat = "spiffe://ktun.test/ns/*/sa/client";

	CHECK(policy_uri_match(pat, "spiffe://ktun.test/ns/edge/sa/client"));
	CHECK(policy_uri_match(pat, "spiffe://ktun.test/ns/Edge_1.a-b/sa/client"));
	CHECK(!policy_uri_match(pat, "spiffe://ktun.test/ns/../sa/client"));
	CHECK(!policy_uri_match(pat, "spiffe://ktun.test/ns/./sa/client"));
	CHECK(!policy_uri_match(pat, "spiffe://ktun.test/ns//sa/client"));
	CHECK(!policy_uri_match(pat, "spiffe://ktun.test/ns/a%2Fb/sa/client"));
	CHECK(!policy_uri_match(pat, "spiffe://ktun.test/ns/a?b/sa/client"));
	CHECK(!policy_uri_match(pat, "spiffe://ktun.test/ns/a#b/sa/client"));
	CHECK(!policy_uri_match(pat, "spiffe://ktun.test/ns/a b/sa/client"));
	CHECK(!policy_uri_match(pat, "spiffe://ktun.test/ns/a:b/sa/client"));
	CHECK(!policy_uri_match("spiffe://ktun.test/ns/edge/sa/*", "spiffe://ktun.test/ns/edge/sa/"));
	CHECK(!policy_uri_match("spiffe://ktun.test/ns/edge/sa/*",
				"spiffe://ktun.test/ns/edge/sa/client?x=1"));
	CHECK(!policy_uri_match("spiffe://ktun.test/ns/edge/sa/*",
				"spiffe://ktun.test/ns/edge/sa/client#f"));
	CHECK(!policy_uri_match("spiffe://ktun.test/ns/edge/sa/*",
				"spiffe://ktun.test/ns/edge/sa/.."));
	/* The rest of the ID must be valid too: trust domain in lower case, no port, no user. */
	CHECK(!policy_uri_match(pat, "spiffe://KTUN.test/ns/edge/sa/client"));
	CHECK(!policy_uri_match(pat, "spiffe://ktun.test:443/ns/edge/sa/client"));
	CHECK(!policy_uri_match(pat, "spiffe://u@ktun.test/ns/edge/sa/client"));
	/* '*' may be empty inside a segment that is not. */
	CHECK(policy_uri_match("spiffe://ktun.test/ns/edge-*/sa/client",
			       "spiffe://ktun.test/ns/edge-/sa/client"));
	/* Without '*', a pattern is the URI itself, whatever the scheme. */
	CHECK(policy_uri_match("urn:ktun:edge", "urn:ktun:edge"));
	CHECK(!policy_uri_match("urn:ktun:edge", "urn:ktun:edgE"));

	CHECK(policy_spiffe_id("spiffe://ktun.test"));
	CHECK(policy_spiffe_id("spiffe://ktun.test/a/.../b"));
	CHECK(!policy_spiffe_id("spiffe://ktun.test/"));
	CHECK(!policy_spiffe_id("spiffe:///a"));
	CHECK(!policy_spiffe_id("SPIFFE://ktun.test/a"));
	CHECK(!policy_spiffe_id("https://ktun.test/a"));
}

/* ---- policy_add ---- */

static struct policy p;
static char err[256];

static int add(enum policy_kind kind, const char *value)
{
	err[0] = '\0';
	return policy_add(&p, kind, value, err, sizeof(err));
}

static void check_add_refused(enum policy_kind kind, const char *value)
{
	size_t before = p.n;

	if (add(kind, value) != -EINVAL)
		fprintf(stderr, "%s '%s' was accepted\n", policy_kind_name(kind), value);
	CHECK(p.n == before);
	CHECK(err[0] != '\0');
}

/* n bytes of "ab" hex: 2n digits. */
static const char *hex_bytes(const char *prefix, size_t n)
{
	static char buf[256];
	size_t len = strlen(prefix);

	strcpy(buf, prefix);
	for (size_t i = 0; i < n; i++)
		strcpy(buf + len + 2 * i, "ab");
	return buf;
}

static void test_add_fingerprint(void)
{
	policy_free(&p);
	CHECK(add(POLICY_FINGERPRINT, hex_bytes("sha256:", 32)) == 0);
	CHECK(p.n == 1 && p.rules[0].bin_len == 32 && p.rules[0].bin[31] == 0xab);
	CHECK(add(POLICY_FINGERPRINT, hex_bytes("SHA256:", 32)) == 0);
	CHECK(add(POLICY_FINGERPRINT, "sha256:AB:CD:EF:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:"
				      "AB:CD:EF:01:23:45:67:89:ab:cd:ef:01:23:45:67:89") == 0);
	CHECK(p.n == 3 && p.rules[2].bin[0] == 0xab && p.rules[2].bin[31] == 0x89);

	check_add_refused(POLICY_FINGERPRINT, hex_bytes("", 32)); /* no "sha256:" */
	check_add_refused(POLICY_FINGERPRINT, hex_bytes("sha1:", 20));
	check_add_refused(POLICY_FINGERPRINT, hex_bytes("sha256:", 31));
	check_add_refused(POLICY_FINGERPRINT, hex_bytes("sha256:", 33));
	check_add_refused(POLICY_FINGERPRINT, hex_bytes("sha256:a", 32)); /* odd digit count */
	check_add_refused(POLICY_FINGERPRINT, hex_bytes("sha256:gg", 31));
	check_add_refused(POLICY_FINGERPRINT, hex_bytes("sha256:a:b", 31)); /* ':' inside a byte */
	check_add_refused(POLICY_FINGERPRINT, "sha256:");
	policy_free(&p);
}

static void test_add_serial(void)
{
	policy_free(&p);
	CHECK(add(POLICY_SERIAL, "CN=Test CA/0x0A") == 0);
	CHECK(p.n == 1 && p.rules[0].bin_len == 1 && p.rules[0].bin[0] == 0x0a);
	CHECK_STR(p.rules[0].issuer, "CN=Test CA");
	CHECK(add(POLICY_SERIAL, "CN=Test CA,O=Example/01:02") == 0);
	CHECK(p.rules[1].bin_len == 2 && p.rules[1].bin[0] == 1 && p.rules[1].bin[1] == 2);
	CHECK_STR(p.rules[1].issuer, "CN=Test CA,O=Example");
	/* An integer, so an odd digit count is fine; a '/' in the DN is the DN's. */
	CHECK(add(POLICY_SERIAL, "CN=a/b CA/0x100") == 0);
	CHECK(p.rules[2].bin_len == 2 && p.rules[2].bin[0] == 1 && p.rules[2].bin[1] == 0);
	CHECK_STR(p.rules[2].issuer, "CN=a/b CA");
	CHECK(add(POLICY_SERIAL, hex_bytes("CN=Test CA/", POLICY_BIN_MAX)) == 0);

	check_add_refused(POLICY_SERIAL, "");
	check_add_refused(POLICY_SERIAL, "CN=Test CA/");
	check_add_refused(POLICY_SERIAL, "CN=Test CA/0x");
	check_add_refused(POLICY_SERIAL, "CN=Test CA/xyz");
	check_add_refused(POLICY_SERIAL, "CN=Test CA/12 34");
	check_add_refused(POLICY_SERIAL, "CN=Test CA/-1");
	check_add_refused(POLICY_SERIAL, hex_bytes("CN=Test CA/", POLICY_BIN_MAX + 1));
	/* A bare serial says nothing about who issued it: refused, saying so. */
	check_add_refused(POLICY_SERIAL, "0x0A");
	CHECK_CONTAINS(err, "issuer");
	check_add_refused(POLICY_SERIAL, "/0a");
	check_add_refused(POLICY_SERIAL, "no equals sign/0a");
	CHECK_CONTAINS(err, "distinguished name");
	policy_free(&p);
}

static void test_add_text(void)
{
	char longest[POLICY_VALUE_MAX + 1];

	policy_free(&p);
	memset(longest, 'n', sizeof(longest));
	longest[POLICY_VALUE_MAX - 1] = '\0';
	CHECK(add(POLICY_CN, longest) == 0);
	CHECK_STR(p.rules[0].value, longest);
	longest[POLICY_VALUE_MAX - 1] = 'n';
	longest[POLICY_VALUE_MAX] = '\0';
	check_add_refused(POLICY_CN, longest);
	check_add_refused(POLICY_URI, "");
	check_add_refused(POLICY_DNS, "");
	policy_free(&p);
}

/* allow-uri / verify-uri patterns: a SPIFFE ID with '*' only in its path, or an exact URI. */
static void test_add_uri(void)
{
	policy_free(&p);
	CHECK(add(POLICY_URI, "spiffe://ktun.test/ns/*/sa/client") == 0);
	CHECK(add(POLICY_URI, "spiffe://ktun.test/ns/edge-*/sa/*") == 0);
	CHECK(add(POLICY_URI, "spiffe://ktun.test") == 0);
	CHECK(add(POLICY_URI, "urn:ktun:edge") == 0);
	CHECK(add(POLICY_URI, "https://ktun.test/a%2Fb?q") == 0); /* exact: fine */
	check_add_refused(POLICY_URI, "spiffe://*/ns/edge");      /* '*' in the trust domain */
	check_add_refused(POLICY_URI, "spiffe://ktun.*/ns/edge");
	check_add_refused(POLICY_URI, "spiffe://ktun.test/ns/../*");
	check_add_refused(POLICY_URI, "spiffe://ktun.test/ns//*");
	check_add_refused(POLICY_URI, "spiffe://ktun.test/ns/*/");
	check_add_refused(POLICY_URI, "spiffe://ktun.test/ns/a%2F*");
	check_add_refused(POLICY_URI, "spiffe://ktun.test/ns/*?x");
	check_add_refused(POLICY_URI, "spiffe://Ktun.test/ns/edge");
	check_add_refused(POLICY_URI, "https://ktun.test/*");     /* '*' means nothing there */
	check_add_refused(POLICY_URI, "*");
	CHECK_CONTAINS(err, "spiffe://");
	policy_free(&p);
}

static void test_kind_names(void)
{
	for (int k = POLICY_ALL; k <= POLICY_SERIAL; k++)
		CHECK(policy_kind_parse(policy_kind_name((enum policy_kind)k)) == k);
	CHECK(policy_kind_parse("uri") == POLICY_URI);
	CHECK(policy_kind_parse("email") == -1);
	CHECK(policy_kind_parse("") == -1);
}

/* ---- policy_matches on real certificates ---- */

struct identity {
	const char *cn, *ou[2], *dns, *uri;
	uint8_t serial[4];
	size_t serial_len;
};

/* The serial of `edge` has its top bit set, so DER puts a 0x00 in front of it. */
static const struct identity edge = {
	"edge-1", { "edge", "ops" }, "edge.example.org", "spiffe://example.org/edge/web",
	{ 0x00, 0x9f, 0x10, 0x01 }, 4,
};
static const struct identity origin = {
	"origin-1", { "web", NULL }, "origin.example.org", "spiffe://example.org/origin/api",
	{ 0x05 }, 1,
};

static gnutls_x509_crt_t edge_crt, origin_crt;

static void must(int rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "making a test certificate: %s: %s\n", what, gnutls_strerror(rc));
		exit(EXIT_FAILURE);
	}
}

/* GnuTLS does not read back extensions set on a certificate it is building: go through DER,
 * as a peer's certificate does. */
static gnutls_x509_crt_t as_received(gnutls_x509_crt_t built)
{
	gnutls_x509_crt_t crt;
	gnutls_datum_t der;

	must(gnutls_x509_crt_export2(built, GNUTLS_X509_FMT_DER, &der), "export");
	must(gnutls_x509_crt_init(&crt), "init");
	must(gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER), "import");
	gnutls_free(der.data);
	gnutls_x509_crt_deinit(built);
	return crt;
}

static gnutls_x509_crt_t make_cert(gnutls_x509_privkey_t key, const struct identity *id)
{
	gnutls_x509_crt_t crt;
	time_t now = time(NULL);

	must(gnutls_x509_crt_init(&crt), "init");
	must(gnutls_x509_crt_set_version(crt, 3), "version");
	must(gnutls_x509_crt_set_serial(crt, id->serial, id->serial_len), "serial");
	must(gnutls_x509_crt_set_activation_time(crt, now - 60), "activation");
	must(gnutls_x509_crt_set_expiration_time(crt, now + 3600), "expiration");
	must(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, id->cn,
					   (unsigned)strlen(id->cn)), "CN");
	for (size_t i = 0; i < 2 && id->ou[i]; i++)
		must(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME, 0,
						   id->ou[i], (unsigned)strlen(id->ou[i])), "OU");
	must(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, id->dns,
						  (unsigned)strlen(id->dns), GNUTLS_FSAN_APPEND), "DNS");
	must(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_URI, id->uri,
						  (unsigned)strlen(id->uri), GNUTLS_FSAN_APPEND), "URI");
	must(gnutls_x509_crt_set_key(crt, key), "key");
	must(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0), "sign");
	return as_received(crt);
}

static void make_certs(void)
{
	gnutls_x509_privkey_t key;

	must(gnutls_x509_privkey_init(&key), "key init");
	must(gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
					  GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
	     "key generate");
	edge_crt = make_cert(key, &edge);
	origin_crt = make_cert(key, &origin);
	gnutls_x509_privkey_deinit(key);
}

/* "sha256:AB:CD:..." of the certificate's DER, computed here without policy.c. */
static const char *fingerprint_of(gnutls_x509_crt_t crt, bool colons)
{
	static char text[7 + 3 * 32 + 1];
	uint8_t digest[32];
	gnutls_datum_t der;
	char *out = text;

	must(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der), "export");
	must(gnutls_hash_fast(GNUTLS_DIG_SHA256, der.data, der.size, digest), "hash");
	gnutls_free(der.data);
	out += sprintf(out, "sha256:");
	for (size_t i = 0; i < sizeof(digest); i++)
		out += sprintf(out, colons ? "%s%02X" : "%s%02x", colons && i ? ":" : "", digest[i]);
	return text;
}

/* Whether a one-rule policy lets each certificate through: edge, origin. */
static void check_rule(enum policy_kind kind, const char *value, bool want_edge, bool want_origin)
{
	struct policy one = { 0 };
	bool got_edge, got_origin;

	if (policy_add(&one, kind, value, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s '%s' refused: %s\n", policy_kind_name(kind), value, err);
		check_failures++;
		return;
	}
	got_edge = policy_matches(&one, edge_crt);
	got_origin = policy_matches(&one, origin_crt);
	if (got_edge != want_edge || got_origin != want_origin) {
		fprintf(stderr, "%s '%s': edge %d origin %d, want %d %d\n", policy_kind_name(kind),
			value, got_edge, got_origin, want_edge, want_origin);
		check_failures++;
	}
	policy_free(&one);
}

static void test_match_all(void)
{
	check_rule(POLICY_ALL, "", true, true);
}

static void test_match_cn(void)
{
	check_rule(POLICY_CN, "edge-1", true, false);
	check_rule(POLICY_CN, "origin-1", false, true);
	check_rule(POLICY_CN, "edge", false, false);      /* whole value, not a prefix */
	check_rule(POLICY_CN, "ops", false, false);       /* an OU is not a CN */
}

static void test_match_ou(void)
{
	check_rule(POLICY_OU, "edge", true, false);
	check_rule(POLICY_OU, "ops", true, false);        /* the second OU counts too */
	check_rule(POLICY_OU, "web", false, true);
	check_rule(POLICY_OU, "edge-1", false, false);    /* a CN is not an OU */
}

static void test_match_dns(void)
{
	check_rule(POLICY_DNS, "edge.example.org", true, false);
	check_rule(POLICY_DNS, "EDGE.Example.ORG", true, false); /* DNS names ignore case */
	check_rule(POLICY_DNS, "example.org", false, false);
	check_rule(POLICY_DNS, "spiffe://example.org/edge/web", false, false); /* a URI SAN */
}

static void test_match_uri(void)
{
	check_rule(POLICY_URI, "spiffe://example.org/edge/web", true, false);
	check_rule(POLICY_URI, "spiffe://example.org/*/api", false, true);
	check_rule(POLICY_URI, "spiffe://example.org/*", false, false);
	check_rule(POLICY_URI, "edge.example.org", false, false); /* a DNS SAN */
}

static void test_match_fingerprint(void)
{
	char edge_fp[128];

	snprintf(edge_fp, sizeof(edge_fp), "%s", fingerprint_of(edge_crt, true));
	check_rule(POLICY_FINGERPRINT, edge_fp, true, false);
	check_rule(POLICY_FINGERPRINT, fingerprint_of(edge_crt, false), true, false);
	check_rule(POLICY_FINGERPRINT, fingerprint_of(origin_crt, false), false, true);
	edge_fp[strlen(edge_fp) - 1] = edge_fp[strlen(edge_fp) - 1] == '0' ? '1' : '0';
	check_rule(POLICY_FINGERPRINT, edge_fp, false, false);
}

/* ISSUER/SERIAL. The test leaves are self-signed: each is its own issuer. */
#define EDGE_ISSUER "OU=ops,OU=edge,CN=edge-1"
#define ORIGIN_ISSUER "OU=web,CN=origin-1"

static void test_match_serial(void)
{
	uint8_t der[8];
	size_t size = sizeof(der);

	/* The premise: the certificate really carries the sign byte. */
	CHECK(gnutls_x509_crt_get_serial(edge_crt, der, &size) == 0 && size == 4 && der[0] == 0);

	check_rule(POLICY_SERIAL, EDGE_ISSUER "/9f1001", true, false);
	check_rule(POLICY_SERIAL, EDGE_ISSUER "/009F1001", true, false);
	check_rule(POLICY_SERIAL, EDGE_ISSUER "/0x00009f1001", true, false);
	check_rule(POLICY_SERIAL, EDGE_ISSUER "/9f:10:01", true, false);
	check_rule(POLICY_SERIAL, "ou=ops, ou=edge, cn=edge-1/9f1001", true, false); /* same DN */
	check_rule(POLICY_SERIAL, ORIGIN_ISSUER "/0x05", false, true);
	check_rule(POLICY_SERIAL, ORIGIN_ISSUER "/5", false, true); /* an integer: 0x5 == 0x05 */
	check_rule(POLICY_SERIAL, EDGE_ISSUER "/0x9f10010", false, false);
	check_rule(POLICY_SERIAL, EDGE_ISSUER "/9f1002", false, false);
	check_rule(POLICY_SERIAL, EDGE_ISSUER "/1001", false, false); /* not a suffix match */
	check_rule(POLICY_SERIAL, EDGE_ISSUER "/9f10", false, false); /* nor a prefix match */
	check_rule(POLICY_SERIAL, EDGE_ISSUER "/9f100100", false, false);
	check_rule(POLICY_SERIAL, ORIGIN_ISSUER "/0500", false, false);
	/* The right serial from the wrong issuer. */
	check_rule(POLICY_SERIAL, ORIGIN_ISSUER "/9f1001", false, false);
	check_rule(POLICY_SERIAL, EDGE_ISSUER "/05", false, false);
	check_rule(POLICY_SERIAL, "OU=edge,CN=edge-1/9f1001", false, false); /* a part of it */
}

/* Two issuers, one serial: a rule names one certificate, not both. */
static void test_match_serial_two_issuers(void)
{
	static const struct identity twin = {
		"edge-2", { "edge", "ops" }, "edge.example.org", "spiffe://example.org/edge/web",
		{ 0x00, 0x9f, 0x10, 0x01 }, 4,
	};
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t twin_crt;
	struct policy one = { 0 };

	must(gnutls_x509_privkey_init(&key), "key init");
	must(gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
					  GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
	     "key generate");
	twin_crt = make_cert(key, &twin);
	gnutls_x509_privkey_deinit(key);

	CHECK(policy_add(&one, POLICY_SERIAL, EDGE_ISSUER "/9f1001", err, sizeof(err)) == 0);
	CHECK(policy_matches(&one, edge_crt) && !policy_matches(&one, twin_crt));
	policy_free(&one);
	CHECK(policy_add(&one, POLICY_SERIAL, "OU=ops,OU=edge,CN=edge-2/9f1001", err,
			 sizeof(err)) == 0);
	CHECK(!policy_matches(&one, edge_crt) && policy_matches(&one, twin_crt));
	policy_free(&one);
	gnutls_x509_crt_deinit(twin_crt);
}

static void test_match_or(void)
{
	policy_free(&p);
	CHECK(!policy_matches(&p, edge_crt)); /* no rule, no entry */
	CHECK(add(POLICY_CN, "nobody") == 0);
	CHECK(add(POLICY_DNS, "nowhere.example.org") == 0);
	CHECK(!policy_matches(&p, edge_crt) && !policy_matches(&p, origin_crt));
	CHECK(add(POLICY_OU, "ops") == 0);
	CHECK(policy_matches(&p, edge_crt) && !policy_matches(&p, origin_crt));
	CHECK(add(POLICY_URI, "spiffe://example.org/origin/*") == 0);
	CHECK(policy_matches(&p, edge_crt) && policy_matches(&p, origin_crt));
	policy_free(&p);
}

/* ---- certificate text with NULs and control characters ---- */

/* A self-signed certificate being built, valid for an hour, and its key: the caller names it,
 * then self_signed() finishes it. */
static gnutls_x509_crt_t unsigned_cert(gnutls_x509_privkey_t *key)
{
	gnutls_x509_crt_t crt;
	time_t now = time(NULL);

	must(gnutls_x509_privkey_init(key), "key init");
	must(gnutls_x509_privkey_generate(*key, GNUTLS_PK_ECDSA,
					  GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
	     "key generate");
	must(gnutls_x509_crt_init(&crt), "init");
	must(gnutls_x509_crt_set_version(crt, 3), "version");
	must(gnutls_x509_crt_set_serial(crt, "\x07", 1), "serial");
	must(gnutls_x509_crt_set_activation_time(crt, now - 60), "activation");
	must(gnutls_x509_crt_set_expiration_time(crt, now + 3600), "expiration");
	return crt;
}

static gnutls_x509_crt_t self_signed(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key)
{
	must(gnutls_x509_crt_set_key(crt, key), "key");
	must(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0), "sign");
	gnutls_x509_privkey_deinit(key);
	return as_received(crt);
}

/* A leaf whose CN, DNS and URI SANs are LEN-byte strings: GnuTLS writes them as given, NULs
 * included, as a peer's CA could. */
static gnutls_x509_crt_t make_raw_cert(const char *cn, size_t cn_len, const char *dns,
				       size_t dns_len, const char *uri, size_t uri_len)
{
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt = unsigned_cert(&key);
	uint8_t san[127];
	size_t n = 0;

	must(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
					   (unsigned)cn_len), "CN");
	/* GnuTLS refuses to write such a URI itself: the extension's DER by hand, a SEQUENCE of
	 * [2] dNSName and [6] uniformResourceIdentifier (short lengths only). */
	if (dns_len + uri_len + 4 > sizeof(san) - 2) {
		fprintf(stderr, "test SANs too long\n");
		exit(EXIT_FAILURE);
	}
	san[n++] = 0x30;
	san[n++] = (uint8_t)(dns_len + uri_len + 4);
	san[n++] = 0x82;
	san[n++] = (uint8_t)dns_len;
	memcpy(san + n, dns, dns_len);
	n += dns_len;
	san[n++] = 0x86;
	san[n++] = (uint8_t)uri_len;
	memcpy(san + n, uri, uri_len);
	n += uri_len;
	must(gnutls_x509_crt_set_extension_by_oid(crt, "2.5.29.17", san, n, 0), "SAN");
	return self_signed(crt, key);
}

#define RAW(s) s, sizeof(s) - 1

static bool one_rule_matches(gnutls_x509_crt_t crt, enum policy_kind kind, const char *value)
{
	struct policy one = { 0 };
	bool m;

	if (policy_add(&one, kind, value, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s '%s' refused: %s\n", policy_kind_name(kind), value, err);
		check_failures++;
		return false;
	}
	m = policy_matches(&one, crt);
	policy_free(&one);
	return m;
}

/* A CN GnuTLS cannot give as UTF-8 text (a TeletexString with an 8-bit byte, a
 * UniversalString) comes back as '#' or, RFC 4514-escaped, "\#" and its DER in hex: not the
 * holder's name, so it neither matches nor is named to the origin. */
static void test_cn_hex_form(void)
{
	static const char *const ders[] = { "\x14\x04" "caf\xe9", "\x1c\x08\0\0\0a\0\0\0\n" };
	static const unsigned sizes[] = { 6, 10 };

	for (size_t i = 0; i < 2; i++) {
		gnutls_x509_privkey_t key;
		gnutls_x509_crt_t crt = unsigned_cert(&key);
		char buf[POLICY_VALUE_MAX];
		unsigned seq = 0;

		must(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 1, ders[i],
						   sizes[i]), "raw CN");
		crt = self_signed(crt, key);
		CHECK(policy_cert_value(crt, POLICY_CN, &seq, buf) == -EINVAL);
		gnutls_x509_crt_deinit(crt);
	}
}

/* "edge.test\0.evil.example" is not edge.test, nor anything else a rule can say; the same for
 * a URI SAN and a CN. policy_cert_value hands out none of them. */
static void test_match_embedded_nul(void)
{
	gnutls_x509_crt_t crt = make_raw_cert(RAW("edge-client\0.evil"),
					      RAW("edge.test\0.evil.example"),
					      RAW("spiffe://ktun.test/ns/edge/sa/client\0/evil"));
	char buf[POLICY_VALUE_MAX];
	unsigned seq;

	CHECK(!one_rule_matches(crt, POLICY_DNS, "edge.test"));
	CHECK(!one_rule_matches(crt, POLICY_URI, "spiffe://ktun.test/ns/edge/sa/client"));
	CHECK(!one_rule_matches(crt, POLICY_URI, "spiffe://ktun.test/ns/edge/sa/*"));
	CHECK(!one_rule_matches(crt, POLICY_CN, "edge-client"));
	CHECK(one_rule_matches(crt, POLICY_FINGERPRINT, fingerprint_of(crt, false))); /* the rest is fine */
	for (enum policy_kind k = POLICY_CN; k <= POLICY_URI; k++) {
		seq = 0;
		if (k != POLICY_OU)
			CHECK(policy_cert_value(crt, k, &seq, buf) == -EINVAL);
		CHECK(policy_cert_value(crt, k, &seq, buf) == -ENOENT);
	}
	gnutls_x509_crt_deinit(crt);
}

/* Other control characters: an escape sequence, a newline that would start a log line. */
static void test_match_control_chars(void)
{
	gnutls_x509_crt_t crt = make_raw_cert(RAW("edge-client\x1b[31m"), RAW("edge.test\n"),
					      RAW("spiffe://ktun.test/ns/edge/sa/client\r"));
	char buf[POLICY_VALUE_MAX];
	unsigned seq = 0;

	CHECK(!one_rule_matches(crt, POLICY_DNS, "edge.test"));
	CHECK(!one_rule_matches(crt, POLICY_URI, "spiffe://ktun.test/ns/edge/sa/client"));
	CHECK(!one_rule_matches(crt, POLICY_CN, "edge-client"));
	CHECK(policy_cert_value(crt, POLICY_CN, &seq, buf) == -EINVAL);
	gnutls_x509_crt_deinit(crt);

	/* Nor can an operator write such a rule. */
	policy_free(&p);
	check_add_refused(POLICY_CN, "edge-client\x1b[31m");
	check_add_refused(POLICY_DNS, "edge.test\n");
	check_add_refused(POLICY_URI, "spiffe://ktun.test/\x7f");
	policy_free(&p);
}

/* The clean case still reads back whole. */
static void test_cert_value_clean(void)
{
	char buf[POLICY_VALUE_MAX];
	unsigned seq = 0;

	CHECK(policy_cert_value(edge_crt, POLICY_OU, &seq, buf) == 0);
	CHECK_STR(buf, "edge");
	CHECK(policy_cert_value(edge_crt, POLICY_OU, &seq, buf) == 0);
	CHECK_STR(buf, "ops");
	CHECK(policy_cert_value(edge_crt, POLICY_OU, &seq, buf) == -ENOENT);
	seq = 0;
	CHECK(policy_cert_value(edge_crt, POLICY_URI, &seq, buf) == 0);
	CHECK_STR(buf, "spiffe://example.org/edge/web");
	CHECK(policy_cert_value(edge_crt, POLICY_URI, &seq, buf) == -ENOENT);
}

/* ---- the identity named to the origin ---- */

/* A leaf with two CNs (DER order: "admin" first) and two URI SANs ("admin"'s first). */
static gnutls_x509_crt_t make_two_names_cert(void)
{
	static const char *const cns[] = { "admin", "edge-client" };
	static const char *const uris[] = { "spiffe://ktun.test/ns/admin/sa/root",
					    "spiffe://ktun.test/ns/edge/sa/client" };
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt = unsigned_cert(&key);

	must(gnutls_x509_crt_set_serial(crt, "\x09", 1), "serial");
	for (size_t i = 0; i < 2; i++) {
		must(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cns[i],
						   (unsigned)strlen(cns[i])), "CN");
		must(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_URI, uris[i],
							  (unsigned)strlen(uris[i]),
							  GNUTLS_FSAN_APPEND), "URI");
	}
	must(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME, 0,
					   "edge", 4), "OU");
	return self_signed(crt, key);
}

/* policy_match on a one-rule policy, then the CN and URI policy_identity names. */
static void check_identity(gnutls_x509_crt_t crt, enum policy_kind kind, const char *value,
			   const char *want_cn, const char *want_uri)
{
	struct policy one = { 0 };
	struct policy_match m;
	char cn[POLICY_VALUE_MAX], uri[POLICY_VALUE_MAX];

	if (policy_add(&one, kind, value, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s '%s' refused: %s\n", policy_kind_name(kind), value, err);
		check_failures++;
		return;
	}
	CHECK(policy_match(&one, crt, &m) && m.matched && m.kind == kind);
	policy_identity(crt, &m, POLICY_CN, cn);
	policy_identity(crt, &m, POLICY_URI, uri);
	if (strcmp(cn, want_cn) || strcmp(uri, want_uri)) {
		fprintf(stderr, "%s '%s': CN '%s' URI '%s', want '%s' '%s'\n",
			policy_kind_name(kind), value, cn, uri, want_cn, want_uri);
		check_failures++;
	}
	policy_free(&one);
}

/* The origin hears the name that was authorized: --allow-cn edge-client must not send "admin"
 * because it comes first. With no rule of that kind, only a certificate's one value is named. */
static void test_identity_matched(void)
{
	gnutls_x509_crt_t two = make_two_names_cert();
	const char *edge_uri = "spiffe://ktun.test/ns/edge/sa/client";

	check_identity(two, POLICY_CN, "edge-client", "edge-client", "");
	check_identity(two, POLICY_CN, "admin", "admin", "");
	check_identity(two, POLICY_URI, edge_uri, "", edge_uri);
	check_identity(two, POLICY_URI, "spiffe://ktun.test/ns/edge/sa/*", "", edge_uri);
	check_identity(two, POLICY_URI, "spiffe://ktun.test/ns/admin/sa/root", "",
		       "spiffe://ktun.test/ns/admin/sa/root");
	check_identity(two, POLICY_OU, "edge", "", ""); /* several of each: none named */
	check_identity(two, POLICY_ALL, "", "", "");
	/* One of each: named whichever rule matched. */
	check_identity(edge_crt, POLICY_OU, "ops", "edge-1", "spiffe://example.org/edge/web");
	check_identity(edge_crt, POLICY_ALL, "", "edge-1", "spiffe://example.org/edge/web");
	check_identity(edge_crt, POLICY_DNS, "edge.example.org", "edge-1",
		       "spiffe://example.org/edge/web");
	gnutls_x509_crt_deinit(two);
}

/* An only value that is not clean is not named either. */
static void test_identity_unclean(void)
{
	gnutls_x509_crt_t crt = make_raw_cert(RAW("edge-client\x1b[31m"), RAW("edge.test"),
					      RAW("spiffe://ktun.test/ns/edge/sa/client\0/evil"));
	char buf[POLICY_VALUE_MAX];

	policy_identity(crt, NULL, POLICY_CN, buf);
	CHECK_STR(buf, "");
	policy_identity(crt, NULL, POLICY_URI, buf);
	CHECK_STR(buf, "");
	check_identity(crt, POLICY_DNS, "edge.test", "", "");
	gnutls_x509_crt_deinit(crt);
}

static void test_copy(void)
{
	struct policy copy;

	policy_free(&p);
	CHECK(add(POLICY_CN, "origin-1") == 0);
	CHECK(policy_copy(&copy, &p) == 0);
	policy_free(&p); /* the copy owns its own rules */
	CHECK(copy.n == 1 && policy_matches(&copy, origin_crt) && !policy_matches(&copy, edge_crt));
	policy_free(&copy);
	CHECK(policy_copy(&copy, &p) == 0 && copy.n == 0 && !copy.rules);
}

int main(void)
{
	RUN(test_uri_literal);
	RUN(test_uri_star_within_segment);
	RUN(test_uri_star_never_crosses_slash);
	RUN(test_uri_prefix_suffix);
	RUN(test_uri_empty);
	RUN(test_uri_many_stars);
	RUN(test_uri_star_spiffe_only);

	RUN(test_add_fingerprint);
	RUN(test_add_serial);
	RUN(test_add_text);
	RUN(test_add_uri);
	RUN(test_kind_names);

	make_certs();
	RUN(test_match_all);
	RUN(test_match_cn);
	RUN(test_match_ou);
	RUN(test_match_dns);
	RUN(test_match_uri);
	RUN(test_match_fingerprint);
	RUN(test_match_serial);
	RUN(test_match_serial_two_issuers);
	RUN(test_match_or);
	RUN(test_copy);
	RUN(test_match_embedded_nul);
	RUN(test_cn_hex_form);
	RUN(test_match_control_chars);
	RUN(test_cert_value_clean);
	RUN(test_identity_matched);
	RUN(test_identity_unclean);
	gnutls_x509_crt_deinit(edge_crt);
	gnutls_x509_crt_deinit(origin_crt);
	return check_result();
}
