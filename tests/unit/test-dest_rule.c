// SPDX-License-Identifier: GPL-2.0-only
/* allow-destination rules (dest_rule.c): the syntax, what a rule covers, and that an
 * identity-scoped rule lets through only the certificates policy.c matches. */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netinet/in.h>
#include <time.h>

#include "check.h"
#include "dest_rule.h"

static struct sockaddr_storage sa(const char *ip, unsigned port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
	} else {
		CHECK(inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
	}
	return ss;
}

static bool covers(const char *rule, const char *ip, unsigned port)
{
	struct dest_rule r;
	struct sockaddr_storage ss = sa(ip, port);
	char err[512];
	bool yes;

	CHECK(dest_rule_parse(rule, &r, err, sizeof(err)) == 0);
	yes = dest_rule_covers(&r, (struct sockaddr *)&ss);
	dest_rule_free(&r);
	return yes;
}

static void test_covers(void)
{
	CHECK(covers("10.0.0.0/8:80", "10.200.0.1", 80));
	CHECK(!covers("10.0.0.0/8:80", "10.200.0.1", 81));
	CHECK(!covers("10.0.0.0/8:80", "11.0.0.1", 80));
	CHECK(covers("10.0.0.0/9:80-90", "10.127.255.255", 90));
	CHECK(!covers("10.0.0.0/9:80-90", "10.128.0.0", 85));
	CHECK(covers("192.0.2.7:443", "192.0.2.7", 443));
	CHECK(!covers("192.0.2.7:443", "192.0.2.8", 443));
	CHECK(covers("[2001:db8::/32]:443-444", "2001:db8:ffff::1", 444));
	CHECK(!covers("[2001:db8::/32]:443-444", "2001:db9::1", 443));
	/* An IPv4-mapped address is the IPv4 address; IPv4 rules never cover IPv6 otherwise. */
	CHECK(covers("192.0.2.0/24:80", "::ffff:192.0.2.9", 80));
	CHECK(!covers("[::/0]:80", "192.0.2.9", 80));
	CHECK(covers("0.0.0.0/0:1-65535", "203.0.113.1", 65535));
}

static void refused(const char *text, const char *why)
{
	struct dest_rule r;
	char err[512] = "";

	CHECK(dest_rule_parse(text, &r, err, sizeof(err)) == -EINVAL);
	CHECK_CONTAINS(err, why);
}

static void test_syntax(void)
{
	struct dest_rule r;
	char err[512];

	CHECK(dest_rule_parse("10.0.0.0/8:5432 ou=db client", &r, err, sizeof(err)) == 0);
	CHECK_STR(r.text, "10.0.0.0/8:5432 ou=db client");
	CHECK(r.who.n == 1 && r.who.rules[0].kind == POLICY_OU);
	CHECK_STR(r.who.rules[0].value, "db client");
	dest_rule_free(&r);
	/* Not a kind: part of the value. */
	CHECK(dest_rule_parse("10.0.0.0/8:80 cn=Edge Gateway, Inc. x=y", &r, err, sizeof(err)) == 0);
	dest_rule_free(&r);
	refused("", "needs CIDR");
	refused("10.0.0.1/8:80", "10.0.0.1/8:80");
	refused("10.0.0.0/8", "10.0.0.0/8");
	refused("10.0.0.0/8:0", "10.0.0.0/8:0");
	refused("host.example:80", "host.example:80");
	refused("10.0.0.0/8:80 team=blue", "KIND=VALUE");
	refused("10.0.0.0/8:80 all=yes", "KIND=VALUE");
	refused("10.0.0.0/8:80 ou", "KIND=VALUE");
	/* One identity term per rule: a second is not folded into the first's value. */
	refused("10.0.0.0/8:80 ou=edge cn=nobody", "second identity term 'cn='");
	refused("10.0.0.0/8:80 cn=Edge  serial=01", "second identity term 'serial='");
	refused("10.0.0.0/8:80 dns=a.example uri=spiffe://x/y", "second identity term 'uri='");
	refused("10.0.0.0/8:80 fingerprint=sha256:12", "fingerprint");
	refused("10.0.0.0/8:80 uri=https://*.example/", "uri");
}

static gnutls_x509_crt_t cert_with_ou(const char *ou)
{
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
	time_t now = time(NULL);

	CHECK(gnutls_x509_privkey_init(&key) == 0);
	CHECK(gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
					   GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) == 0);
	CHECK(gnutls_x509_crt_init(&crt) == 0);
	gnutls_x509_crt_set_version(crt, 3);
	gnutls_x509_crt_set_serial(crt, "\x01", 1);
	gnutls_x509_crt_set_activation_time(crt, now - 60);
	gnutls_x509_crt_set_expiration_time(crt, now + 3600);
	gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, "edge", 4);
	gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME, 0, ou, strlen(ou));
	gnutls_x509_crt_set_key(crt, key);
	CHECK(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0) == 0);
	gnutls_x509_privkey_deinit(key);
	return crt;
}

static void test_scoped(void)
{
	struct dest_rule rules[3];
	char err[512];
	gnutls_x509_crt_t eu = cert_with_ou("edge-eu"), db = cert_with_ou("db-client");
	struct sockaddr_storage web = sa("10.1.0.7", 443), pg = sa("10.2.0.9", 5432),
				other = sa("10.3.0.1", 22);

	CHECK(dest_rule_parse("10.1.0.0/16:443 ou=edge-eu", &rules[0], err, sizeof(err)) == 0);
	CHECK(dest_rule_parse("10.2.0.0/16:5432 ou=db-client", &rules[1], err, sizeof(err)) == 0);
	CHECK(dest_rule_parse("10.3.0.0/16:22", &rules[2], err, sizeof(err)) == 0);
	CHECK(dest_rules_match(rules, 3, (struct sockaddr *)&web, eu) == 0);
	CHECK(dest_rules_match(rules, 3, (struct sockaddr *)&web, db) == -1);
	CHECK(dest_rules_match(rules, 3, (struct sockaddr *)&pg, db) == 1);
	CHECK(dest_rules_match(rules, 3, (struct sockaddr *)&pg, eu) == -1);
	CHECK(dest_rules_match(rules, 3, (struct sockaddr *)&other, eu) == 2);
	CHECK(dest_rules_match(rules, 3, (struct sockaddr *)&other, db) == 2);
	for (int i = 0; i < 3; i++)
		dest_rule_free(&rules[i]);
	gnutls_x509_crt_deinit(eu);
	gnutls_x509_crt_deinit(db);
}

int main(void)
{
	test_covers();
	test_syntax();
	test_scoped();
	return check_result();
}
