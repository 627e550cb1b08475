// SPDX-License-Identifier: GPL-2.0-only
/* redirect_rule (parse, format, precedence) and the redirector's options: `redirect` lines,
 * the global bpf-* / redirect-* options and the checks config_validate() makes on rules. */
#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>

#include "check.h"
#include "config.h"
#include "redirect_rule.h"

static char err[CONFIG_ERR_MAX];

static struct redirect_rule parse_ok(const char *text)
{
	struct redirect_rule r;

	err[0] = '\0';
	if (redirect_rule_parse(text, &r, err, sizeof(err)) != 0) {
		fprintf(stderr, "'%s' refused: %s\n", text, err);
		check_failures++;
	}
	return r;
}

/* Parses, then formats back to the canonical text. */
static void check_canonical(const char *text, const char *want)
{
	struct redirect_rule r = parse_ok(text);
	char buf[REDIRECT_RULE_TEXT_MAX];

	CHECK_STR(redirect_rule_format(&r, buf), want);
}

static void test_parse_ipv4(void)
{
	struct redirect_rule r = parse_ok("192.0.2.0/24:80-90");
	uint8_t want[4] = { 192, 0, 2, 0 };

	CHECK(r.family == AF_INET && r.prefixlen == 24 && r.port_lo == 80 && r.port_hi == 90);
	CHECK(!memcmp(r.addr, want, 4));
	check_canonical("192.0.2.7:443", "192.0.2.7/32:443");
	check_canonical("0.0.0.0/0:1-65535", "0.0.0.0/0:1-65535");
	check_canonical("10.0.0.0/8:8080-8080", "10.0.0.0/8:8080");
}

static void test_parse_ipv6(void)
{
	struct redirect_rule r = parse_ok("[2001:db8::/32]:443");

	CHECK(r.family == AF_INET6 && r.prefixlen == 32 && r.port_lo == 443 && r.port_hi == 443);
	CHECK(r.addr[0] == 0x20 && r.addr[1] == 0x01 && r.addr[2] == 0x0d && r.addr[3] == 0xb8);
	check_canonical("[2001:db8::1]:80", "[2001:db8::1/128]:80");
	check_canonical("[::/0]:1-1024", "[::/0]:1-1024");
	check_canonical("[2001:DB8:1::/64]:79-80", "[2001:db8:1::/64]:79-80");
}

static void check_refused(const char *text, const char *why)
{
	struct redirect_rule r;

	err[0] = '\0';
	if (redirect_rule_parse(text, &r, err, sizeof(err)) != -EINVAL) {
		fprintf(stderr, "'%s' was accepted\n", text);
		check_failures++;
	}
	CHECK_CONTAINS(err, why);
}

static void test_parse_refused(void)
{
	const char *syntax[] = {
		"", "192.0.2.0/24", ":80", "192.0.2.0/33:80", "192.0.2.0/-1:80",
		"192.0.2.0/x:80", "192.0.2:80", "example.org:80", "2001:db8::/32:80", "[2001:db8::/32:80",
		"[2001:db8::/129]:80", "[192.0.2.0/24]:80", "192.0.2.0/24:80:81",
		"192.0.2.0/24:0123456789012345678901234567890123456789012345678901234567890123456789",
	};

	for (size_t i = 0; i < sizeof(syntax) / sizeof(syntax[0]); i++)
		check_refused(syntax[i], "expected A.B.C.D[/N]:PORT[-PORT]");
	check_refused("192.0.2.0/24:", "ports must be");
	check_refused("192.0.2.0/24:0", "ports must be");
	check_refused("192.0.2.0/24:65536", "ports must be");
	check_refused("192.0.2.0/24:90-80", "ports must be");
	check_refused("192.0.2.0/24:80-", "ports must be");
	check_refused("192.0.2.0/24:-80", "ports must be");
	check_refused("192.0.2.0/24:http", "ports must be");
	check_refused("192.0.2.1/24:80", "bits set past the /24");
	check_refused("[2001:db8::1/64]:80", "bits set past the /64");
}

static void test_host_bits(void)
{
	/* A prefix on a byte boundary and inside a byte. */
	parse_ok("192.0.2.128/25:80");
	parse_ok("192.0.2.192/26:80");
	check_refused("192.0.2.64/25:80", "bits set past the /25");
	parse_ok("[2001:db8:1:8000::/49]:80");
	check_refused("[2001:db8:1:8000::/48]:80", "bits set past the /48");
	parse_ok("[2001:db8:1:0:8000::/65]:80");
	check_refused("[2001:db8:1:0:4000::/65]:80", "bits set past the /65");
}

static void test_precedence(void)
{
	struct redirect_rule v4_24 = parse_ok("192.0.2.0/24:80"), v4_32 = parse_ok("192.0.2.2:80");
	struct redirect_rule v4_24_range = parse_ok("192.0.2.0/24:80-90"), v6 = parse_ok("[2001:db8::/128]:80");

	CHECK(redirect_rule_precedence(&v4_32, &v4_24) < 0);
	CHECK(redirect_rule_precedence(&v4_24, &v4_32) > 0);
	CHECK(redirect_rule_precedence(&v4_24, &v4_24_range) < 0);
	CHECK(redirect_rule_precedence(&v4_24, &v4_24) == 0);
	CHECK(redirect_rule_precedence(&v4_24_range, &v6) < 0); /* IPv4 first, whatever the prefix */
	CHECK(redirect_rule_equal(&v4_24, &v4_24) && !redirect_rule_equal(&v4_24, &v4_24_range));
}

/* ---- configuration ---- */

static struct ktun_config cfg;

static struct tunnel_config *client(const char *name, const char *listen)
{
	struct tunnel_config *t = config_add_tunnel(&cfg, name);
	const char *opts[][2] = { { "mode", "client" }, { "listen", listen }, { "target", "127.0.0.1:8443" },
				  { "cert", "c.pem" }, { "key", "c.key" }, { "cacert", "ca.pem" },
				  { "server-name", "origin.test" } };

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		CHECK(config_set(&cfg, t, opts[i][0], opts[i][1], err, sizeof(err)) == 0);
	return t;
}

static int validate(void)
{
	err[0] = '\0';
	return config_validate(&cfg, err, sizeof(err));
}

static void test_config_options(void)
{
	struct tunnel_config *t;

	config_init(&cfg);
	CHECK(cfg.redirect_mark == REDIRECT_MARK_DEFAULT && !cfg.bpf_pin_dir && !cfg.bpf_cgroup);
	CHECK(!config_redirect_wanted(&cfg));
	CHECK(config_set(&cfg, NULL, "redirect-mark", "0x100", err, sizeof(err)) == 0 && cfg.redirect_mark == 0x100);
	CHECK(config_set(&cfg, NULL, "redirect-mark", "42", err, sizeof(err)) == 0 && cfg.redirect_mark == 42);
	CHECK(config_set(&cfg, NULL, "redirect-mark", "0", err, sizeof(err)) == -EINVAL);
	CHECK_CONTAINS(err, "redirect-mark");
	CHECK(config_set(&cfg, NULL, "redirect-mark", "0x100000000", err, sizeof(err)) == -EINVAL);
	CHECK(config_set(&cfg, NULL, "redirect-mark", "-1", err, sizeof(err)) == -EINVAL);
	CHECK(cfg.redirect_mark == 42);
	CHECK(config_set(&cfg, NULL, "bpf-cgroup", "/sys/fs/cgroup/x", err, sizeof(err)) == 0);
	CHECK(config_redirect_wanted(&cfg));
	CHECK(config_option_is_global("bpf-pin-dir") && config_option_is_global("redirect-interface"));
	CHECK(!config_option_is_global("redirect"));

	t = client("a", "127.0.0.1:9000");
	CHECK(config_set(&cfg, t, "redirect", "192.0.2.0/24:80", err, sizeof(err)) == 0);
	CHECK(config_set(&cfg, t, "redirect", "[2001:db8::/32]:80", err, sizeof(err)) == 0);
	CHECK(t->n_redirects == 2 && t->redirects[1].family == AF_INET6);
	CHECK(config_set(&cfg, t, "redirect", "192.0.2.0/24:80", err, sizeof(err)) == -EINVAL);
	CHECK_CONTAINS(err, "given twice");
	CHECK(config_set(&cfg, t, "redirect", NULL, err, sizeof(err)) == -EINVAL);
	CHECK(config_set(&cfg, NULL, "redirect", "192.0.2.0/24:80", err, sizeof(err)) == -EINVAL);
	CHECK_CONTAINS(err, "tunnel option");
	CHECK(validate() == 0);
	config_free(&cfg);

	config_init(&cfg);
	t = client("a", "127.0.0.1:9000");
	CHECK(config_set(&cfg, t, "redirect", "192.0.2.0/24:80", err, sizeof(err)) == 0);
	CHECK(config_redirect_wanted(&cfg));
	config_free(&cfg);
}

static void check_invalid(const char *listen, const char *mode, const char *rule, const char *why)
{
	struct tunnel_config *t;

	config_init(&cfg);
	t = client("a", listen);
	if (mode) {
		CHECK(config_set(&cfg, t, "mode", mode, err, sizeof(err)) == 0);
		CHECK(config_set(&cfg, t, "unsafe-target", NULL, err, sizeof(err)) == 0);
		CHECK(config_set(&cfg, t, "allow-all", NULL, err, sizeof(err)) == 0);
		free(t->server_name);
		t->server_name = NULL;
	}
	CHECK(config_set(&cfg, t, "redirect", rule, err, sizeof(err)) == 0);
	CHECK(validate() == -EINVAL);
	CHECK_CONTAINS(err, why);
	config_free(&cfg);
}

static void test_config_validate(void)
{
	struct tunnel_config *a;

	check_invalid("127.0.0.1:9000", "server", "192.0.2.0/24:80", "client-mode option");
	check_invalid("unix:/run/x.sock", NULL, "192.0.2.0/24:80", "TCP listen address");
	check_invalid("[::1]:9000", NULL, "192.0.2.0/24:80", "an IPv4 rule needs an IPv4 listen");

	/* An IPv6 rule may go to an IPv4 listener (the hook connects to ::ffff:127.0.0.1). */
	config_init(&cfg);
	a = client("a", "127.0.0.1:9000");
	CHECK(config_set(&cfg, a, "redirect", "[2001:db8::/32]:80", err, sizeof(err)) == 0);
	CHECK(validate() == 0);
	/* The same rule on two tunnels. */
	a = client("b", "127.0.0.1:9001");
	CHECK(config_set(&cfg, a, "redirect", "[2001:db8::/32]:80", err, sizeof(err)) == 0);
	CHECK(validate() == -EINVAL);
	CHECK_CONTAINS(err, "is also [a]'s");
	config_free(&cfg);

	/* More rules than the maps hold, across tunnels. */
	config_init(&cfg);
	client("a", "127.0.0.1:9000");
	client("b", "127.0.0.1:9001"); /* moves the tunnel array: take pointers after */
	for (unsigned i = 0; i < REDIRECT_RULES_MAX + 1; i++) {
		char text[32];

		snprintf(text, sizeof(text), "192.0.2.%u:80", i);
		CHECK(config_set(&cfg, &cfg.tunnels[i % 2], "redirect", text, err, sizeof(err)) == 0);
	}
	CHECK(cfg.tunnels[0].n_redirects + cfg.tunnels[1].n_redirects == REDIRECT_RULES_MAX + 1);
	CHECK(validate() == -EINVAL);
	CHECK_CONTAINS(err, "more than 64 redirect rules");
	config_free(&cfg);
}

int main(void)
{
	RUN(test_parse_ipv4);
	RUN(test_parse_ipv6);
	RUN(test_parse_refused);
	RUN(test_host_bits);
	RUN(test_precedence);
	RUN(test_config_options);
	RUN(test_config_validate);
	return check_result();
}
