// SPDX-License-Identifier: GPL-2.0-only
/* config_set (every option), config_validate (the rules README.md states) and
 * config_load_file (INI files written to a temporary directory). */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "ciphers.h"
#include "config.h"
#include "log.h"

static struct ktun_config cfg;
static char err[CONFIG_ERR_MAX];

static void reset(void)
{
	config_free(&cfg);
	config_init(&cfg);
}

static int set(struct tunnel_config *t, const char *key, const char *value)
{
	err[0] = '\0';
	return config_set(&cfg, t, key, value, err, sizeof(err));
}

static void must_set(struct tunnel_config *t, const char *key, const char *value)
{
	if (set(t, key, value) != 0) {
		fprintf(stderr, "setting %s = %s: %s\n", key, value ? value : "(flag)", err);
		check_failures++;
	}
}

/* Refused, and the message names the option so the operator knows which one. */
static void check_set_refused(struct tunnel_config *t, const char *key, const char *value)
{
	int rc = set(t, key, value);

	if (rc != -EINVAL)
		fprintf(stderr, "%s = '%s' gave %d, want -EINVAL\n", key, value ? value : "(flag)", rc);
	CHECK(rc == -EINVAL);
	CHECK_CONTAINS(err, key);
}

/* A fresh configuration with one tunnel; the pointer stays valid until the next tunnel. */
static struct tunnel_config *fresh_tunnel(void)
{
	reset();
	return config_add_tunnel(&cfg, "t");
}

/* ---- config_set ---- */

static void test_defaults(void)
{
	struct tunnel_config *t;

	reset();
	CHECK(cfg.workers == (unsigned)sysconf(_SC_NPROCESSORS_ONLN));
	CHECK(cfg.log_level == LOG_INFO);
	CHECK(cfg.drain_timeout == 30);
	CHECK(cfg.n_tunnels == 0);

	t = config_add_tunnel(&cfg, "edge");
	CHECK(cfg.n_tunnels == 1 && t == &cfg.tunnels[0]);
	CHECK_STR(t->name, "edge");
	CHECK(!t->mode_set);
	CHECK(t->handshake_timeout == 10);
	CHECK(t->connect_timeout == 10);
	CHECK(t->idle_timeout == 300);
	CHECK(t->max_connections == 10000);
	CHECK(t->request_timeout == 60);
	CHECK(t->pool == 0 && t->pool_idle == 40);
	CHECK(t->ktls == KTLS_AUTO);
	CHECK(t->ciphers == TLS_CIPHERS_ALL && TLS_CIPHERS_N == 4);
	CHECK(t->tls_min == 2 && t->tls_max == 3);
	CHECK(!t->unsafe_target && !t->unsafe_listen);
	CHECK(t->policy.n == 0 && !t->has_allow && !t->has_verify);
	CHECK(!t->listen && !t->target && !t->crl && !t->server_name);
}

static const struct uint_option {
	const char *key;
	bool global;
	size_t offset;
	unsigned min, max;
} uint_options[] = {
	{ "workers", true, offsetof(struct ktun_config, workers), 1, 1024 },
	{ "drain-timeout", true, offsetof(struct ktun_config, drain_timeout), 0, 604800 },
	{ "handshake-timeout", false, offsetof(struct tunnel_config, handshake_timeout), 1, 604800 },
	{ "connect-timeout", false, offsetof(struct tunnel_config, connect_timeout), 1, 604800 },
	{ "idle-timeout", false, offsetof(struct tunnel_config, idle_timeout), 0, 604800 },
	{ "max-connections", false, offsetof(struct tunnel_config, max_connections), 1, 1000000 },
	{ "request-timeout", false, offsetof(struct tunnel_config, request_timeout), 1, 604800 },
	{ "pool", false, offsetof(struct tunnel_config, pool), 0, 1024 },
	{ "pool-idle", false, offsetof(struct tunnel_config, pool_idle), 1, 604800 },
};

static void check_uint_option(const struct uint_option *o)
{
	struct tunnel_config *t = fresh_tunnel();
	struct tunnel_config *where = o->global ? NULL : t;
	unsigned *field = (unsigned *)((char *)(o->global ? (void *)&cfg : (void *)t) + o->offset);
	const char *bad[] = { "", "ten", "-1", "12x", " ", "99999999999999999999", NULL };
	char text[32];

	snprintf(text, sizeof(text), "%u", o->min);
	must_set(where, o->key, text);
	CHECK(*field == o->min);
	snprintf(text, sizeof(text), "%u", o->max);
	must_set(where, o->key, text);
	CHECK(*field == o->max);

	snprintf(text, sizeof(text), "%u", o->max + 1);
	check_set_refused(where, o->key, text);
	if (o->min > 0) {
		snprintf(text, sizeof(text), "%u", o->min - 1);
		check_set_refused(where, o->key, text);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_set_refused(where, o->key, bad[i]);
	CHECK(*field == o->max); /* a refused value leaves the old one */
}

static void test_uint_options(void)
{
	for (size_t i = 0; i < sizeof(uint_options) / sizeof(uint_options[0]); i++)
		check_uint_option(&uint_options[i]);
}

static const struct string_option {
	const char *key;
	bool global;
	size_t offset;
} string_options[] = {
	{ "control", true, offsetof(struct ktun_config, control_path) },
	{ "user", true, offsetof(struct ktun_config, user) },
	{ "listen", false, offsetof(struct tunnel_config, listen) },
	{ "cert", false, offsetof(struct tunnel_config, cert) },
	{ "key", false, offsetof(struct tunnel_config, key) },
	{ "cacert", false, offsetof(struct tunnel_config, cacert) },
	{ "crl", false, offsetof(struct tunnel_config, crl) },
	{ "server-name", false, offsetof(struct tunnel_config, server_name) },
	{ "destination", false, offsetof(struct tunnel_config, destination) },
};

static void test_string_options(void)
{
	for (size_t i = 0; i < sizeof(string_options) / sizeof(string_options[0]); i++) {
		const struct string_option *o = &string_options[i];
		struct tunnel_config *t = fresh_tunnel();
		struct tunnel_config *where = o->global ? NULL : t;
		char **field = (char **)((char *)(o->global ? (void *)&cfg : (void *)t) + o->offset);

		must_set(where, o->key, "first");
		must_set(where, o->key, "second"); /* the last one wins (ASan: no leak) */
		CHECK_STR(*field, "second");
		check_set_refused(where, o->key, "");
		check_set_refused(where, o->key, NULL);
		CHECK_STR(*field, "second");
	}
}

static void test_bool_options(void)
{
	const char *keys[] = { "unsafe-target", "unsafe-listen" };

	for (size_t i = 0; i < 2; i++) {
		struct tunnel_config *t = fresh_tunnel();
		bool *field = i == 0 ? &t->unsafe_target : &t->unsafe_listen;
		bool *other = i == 0 ? &t->unsafe_listen : &t->unsafe_target;

		must_set(t, keys[i], NULL); /* a bare flag on the command line */
		CHECK(*field && !*other);
		must_set(t, keys[i], "no");
		CHECK(!*field);
		must_set(t, keys[i], "YES");
		CHECK(*field);
		must_set(t, keys[i], "off");
		CHECK(!*field);
		must_set(t, keys[i], "true");
		CHECK(*field);
		must_set(t, keys[i], "0");
		CHECK(!*field);
		must_set(t, keys[i], "on");
		CHECK(*field);
		check_set_refused(t, keys[i], "maybe");
		check_set_refused(t, keys[i], "");
		CHECK(*field);
	}
}

static void test_watch_and_expiry(void)
{
	fresh_tunnel();
	CHECK(cfg.watch_files);
	CHECK(cfg.expiry_warn.n == 3 && cfg.expiry_warn.days[0] == 30 && cfg.expiry_warn.days[2] == 1);
	must_set(NULL, "watch-files", "no");
	CHECK(!cfg.watch_files);
	must_set(NULL, "expiry-warn", "1,14,60");
	CHECK(cfg.expiry_warn.n == 3);
	CHECK(cfg.expiry_warn.days[0] == 60 && cfg.expiry_warn.days[1] == 14 &&
	      cfg.expiry_warn.days[2] == 1); /* kept in descending order */
	must_set(NULL, "expiry-warn", "5");
	CHECK(cfg.expiry_warn.n == 1 && cfg.expiry_warn.days[0] == 5);
	check_set_refused(NULL, "expiry-warn", "0");
	check_set_refused(NULL, "expiry-warn", "7,x");
	check_set_refused(NULL, "expiry-warn", "");
	check_set_refused(NULL, "expiry-warn", "1,2,3,4,5,6,7,8,9");
	CHECK(cfg.expiry_warn.n == 1 && cfg.expiry_warn.days[0] == 5); /* refusals change nothing */
}

static void test_mode(void)
{
	struct tunnel_config *t = fresh_tunnel();

	must_set(t, "mode", "client");
	CHECK(t->mode_set && t->mode == MODE_CLIENT);
	must_set(t, "mode", "server");
	CHECK(t->mode == MODE_SERVER);
	CHECK_STR(config_mode_name(t->mode), "server");
	check_set_refused(t, "mode", "Server");
	check_set_refused(t, "mode", "proxy");
	check_set_refused(t, "mode", NULL);
	CHECK(t->mode == MODE_SERVER);
}

static void test_log_level(void)
{
	const struct { const char *name; int level; } levels[] = {
		{ "debug", LOG_DEBUG }, { "info", LOG_INFO }, { "notice", LOG_NOTICE },
		{ "warning", LOG_WARNING }, { "error", LOG_ERR },
	};

	reset();
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		must_set(NULL, "log-level", levels[i].name);
		CHECK(cfg.log_level == levels[i].level);
	}
	check_set_refused(NULL, "log-level", "verbose");
	check_set_refused(NULL, "log-level", "");
	check_set_refused(NULL, "log-level", NULL);
	CHECK(cfg.log_level == LOG_ERR);
}

static void test_ktls(void)
{
	struct tunnel_config *t = fresh_tunnel();

	for (int m = KTLS_AUTO; m <= KTLS_OFF; m++) {
		must_set(t, "ktls", config_ktls_name((enum ktls_mode)m));
		CHECK(t->ktls == (enum ktls_mode)m);
	}
	CHECK_STR(config_ktls_name(KTLS_REQUIRED), "required");
	check_set_refused(t, "ktls", "on");
	check_set_refused(t, "ktls", "");
	check_set_refused(t, "ktls", NULL);
	CHECK(t->ktls == KTLS_OFF);
}

static void test_crl_stale(void)
{
	struct tunnel_config *t = fresh_tunnel();

	CHECK(t->crl_stale == CRL_STALE_WARN);
	must_set(t, "crl-stale", "refuse");
	CHECK(t->crl_stale == CRL_STALE_REFUSE);
	check_set_refused(t, "crl-stale", "yes");
	check_set_refused(t, "crl-stale", "Refuse");
	check_set_refused(t, "crl-stale", NULL);
	CHECK(t->crl_stale == CRL_STALE_REFUSE);
	must_set(t, "crl-stale", "warn");
	CHECK(t->crl_stale == CRL_STALE_WARN);
	CHECK(!config_option_is_flag("crl-stale") && !config_option_is_global("crl-stale"));
}

static unsigned cipher_bit(const char *name)
{
	for (size_t i = 0; i < TLS_CIPHERS_N; i++)
		if (!strcmp(tls_ciphers[i].name, name))
			return 1u << i;
	return 0;
}

static void test_ciphers(void)
{
	struct tunnel_config *t = fresh_tunnel();

	must_set(t, "ciphers", "AES-256-GCM");
	CHECK(t->ciphers == cipher_bit("AES-256-GCM") && t->ciphers);
	must_set(t, "ciphers", "chacha20-poly1305:AES-128-CCM");
	CHECK(t->ciphers == (cipher_bit("CHACHA20-POLY1305") | cipher_bit("AES-128-CCM")));
	must_set(t, "ciphers", "AES-128-GCM:AES-256-GCM:CHACHA20-POLY1305:AES-128-CCM");
	CHECK(t->ciphers == TLS_CIPHERS_ALL);

	check_set_refused(t, "ciphers", "AES-128-CBC");
	check_set_refused(t, "ciphers", "AES-128-GCM:RC4");
	check_set_refused(t, "ciphers", "");
	check_set_refused(t, "ciphers", ":");
	check_set_refused(t, "ciphers", NULL);
}

static void test_tls_versions(void)
{
	struct tunnel_config *t = fresh_tunnel();

	must_set(t, "tls-min", "1.3");
	CHECK(t->tls_min == 3 && t->tls_max == 3);
	must_set(t, "tls-max", "1.2");
	CHECK(t->tls_max == 2 && t->tls_min == 3);
	must_set(t, "tls-min", "1.2");
	CHECK(t->tls_min == 2);
	check_set_refused(t, "tls-min", "1.1");
	check_set_refused(t, "tls-max", "1.0");
	check_set_refused(t, "tls-max", "1.30");
	check_set_refused(t, "tls-max", "TLS1.3");
	check_set_refused(t, "tls-min", NULL);
	CHECK(t->tls_min == 2 && t->tls_max == 2);
}

static void test_policy_options(void)
{
	const char *fingerprint = "sha256:00112233445566778899aabbccddeeff"
				  "00112233445566778899aabbccddeeff";
	const char *kinds[] = { "cn", "ou", "dns", "uri" };
	struct tunnel_config *t = fresh_tunnel();
	char key[32];

	for (size_t i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "allow-%s", kinds[i]);
		must_set(t, key, "x");
		CHECK(t->policy.n == i + 1);
		CHECK_STR(policy_kind_name(t->policy.rules[i].kind), kinds[i]);
		check_set_refused(t, key, NULL);
		check_set_refused(t, key, "");
	}
	must_set(t, "allow-fingerprint", fingerprint);
	must_set(t, "allow-serial", "CN=Test CA/0x0a");
	must_set(t, "allow-all", NULL);
	CHECK(t->policy.n == 7 && t->policy.rules[6].kind == POLICY_ALL);
	CHECK(t->has_allow && !t->has_verify);
	check_set_refused(t, "allow-fingerprint", "sha1:0011");
	check_set_refused(t, "allow-serial", "xyz");
	check_set_refused(t, "allow-all", "sometimes");
	check_set_refused(t, "allow-everyone", "x");
	CHECK(t->policy.n == 7); /* refused rules are not added */

	t = fresh_tunnel();
	must_set(t, "allow-all", "no"); /* written out, but adds nothing */
	CHECK(t->policy.n == 0);

	t = fresh_tunnel();
	must_set(t, "verify-uri", "spiffe://example.org/origin");
	CHECK(t->policy.n == 1 && t->has_verify && !t->has_allow);
	check_set_refused(t, "verify-all", NULL);
	check_set_refused(t, "verify-cn", "");
	CHECK(t->policy.n == 1);
}

static void test_unknown_and_misplaced(void)
{
	struct tunnel_config *t = fresh_tunnel();

	check_set_refused(t, "listen-port", "1");
	check_set_refused(NULL, "nope", "1");
	check_set_refused(t, "allow-", "x");

	check_set_refused(t, "workers", "2"); /* global, given to a tunnel */
	CHECK_CONTAINS(err, "global");
	check_set_refused(NULL, "listen", "127.0.0.1:1"); /* tunnel, given globally */
	CHECK_CONTAINS(err, "tunnel");
	check_set_refused(NULL, "allow-cn", "x");
	CHECK(cfg.control_path == NULL && t->listen == NULL);
}

static void test_flag_and_global_lookup(void)
{
	CHECK(config_option_is_flag("unsafe-target"));
	CHECK(config_option_is_flag("unsafe-listen"));
	CHECK(config_option_is_flag("allow-all"));
	CHECK(!config_option_is_flag("allow-cn"));
	CHECK(!config_option_is_flag("listen"));
	CHECK(!config_option_is_flag("nope"));

	CHECK(config_option_is_global("workers"));
	CHECK(config_option_is_global("control"));
	CHECK(config_option_is_global("user"));
	CHECK(config_option_is_global("log-level"));
	CHECK(config_option_is_global("drain-timeout"));
	CHECK(!config_option_is_global("listen"));
	CHECK(!config_option_is_global("allow-cn"));
	CHECK(!config_option_is_global("nope"));
}

/* ---- config_validate ---- */

/* key, value pairs ending at NULL; a pair whose key is `skip` is left out. */
static struct tunnel_config *add_tunnel(const char *name, const char *skip, const char *const *kv)
{
	struct tunnel_config *t = config_add_tunnel(&cfg, name);

	for (; *kv; kv += 2)
		if (!skip || strcmp(kv[0], skip))
			must_set(t, kv[0], kv[1]);
	return t;
}

static struct tunnel_config *add_server(const char *name, const char *listen, const char *skip)
{
	return add_tunnel(name, skip, (const char *const[]){
		"mode", "server", "listen", listen, "target", "127.0.0.1:8080", "cert", "s.pem",
		"key", "s.key", "cacert", "ca.pem", "allow-ou", "edge", NULL });
}

static struct tunnel_config *add_client(const char *name, const char *listen)
{
	return add_tunnel(name, NULL, (const char *const[]){
		"mode", "client", "listen", listen, "target", "192.0.2.10:8443", "cert", "c.pem",
		"key", "c.key", "cacert", "ca.pem", NULL });
}

static int validate(void)
{
	err[0] = '\0';
	return config_validate(&cfg, err, sizeof(err));
}

static void check_invalid(const char *part)
{
	CHECK(validate() == -EINVAL);
	CHECK_CONTAINS(err, part);
}

static void test_validate_good(void)
{
	struct tunnel_config *s, *c;

	reset();
	add_server("srv", "0.0.0.0:9443", NULL); /* the TLS side may face the world */
	add_client("cli", "127.0.0.1:8080");
	CHECK(validate() == 0);
	s = &cfg.tunnels[0];
	c = &cfg.tunnels[1];
	CHECK(s->listen_addr.ss.ss_family == AF_INET && s->listen_addr.len > 0);
	CHECK(s->target_addr.len > 0 && addr_is_local(&s->target_addr));
	CHECK(c->listen_addr.len > 0 && c->target_addr.len > 0);
	CHECK_STR(c->target_addr.host, "192.0.2.10");
}

/* Resumption: GnuTLS rotates the ticket key every 3 ticket lifetimes, so one of
 * resumption-lifetime and ticket-rotation follows from the other; the ticket options are a
 * server's. */
static void test_validate_resumption(void)
{
	struct tunnel_config *s, *c;

	reset();
	add_server("srv", "0.0.0.0:9443", NULL);
	add_client("cli", "127.0.0.1:8080");
	s = &cfg.tunnels[0]; /* adding a tunnel moves them */
	c = &cfg.tunnels[1];
	CHECK(validate() == 0);
	CHECK(validate() == 0); /* what it fills in passes again (a reload validates anew) */
	CHECK(s->resumption && c->resumption);
	CHECK(s->resumption_lifetime == 7200 && s->ticket_rotation == 21600);
	must_set(c, "resumption", "no");
	CHECK(!c->resumption);
	reset();
	s = add_server("srv", "0.0.0.0:9443", NULL);
	must_set(s, "ticket-rotation", "3600");
	CHECK(validate() == 0);
	CHECK(s->resumption_lifetime == 1200 && s->ticket_rotation == 3600);
	reset();
	s = add_server("srv", "0.0.0.0:9443", NULL);
	must_set(s, "resumption-lifetime", "2");
	CHECK(validate() == 0);
	CHECK(s->resumption_lifetime == 2 && s->ticket_rotation == 6);
	reset();
	s = add_server("srv", "0.0.0.0:9443", NULL);
	must_set(s, "resumption-lifetime", "600");
	must_set(s, "ticket-rotation", "1800");
	CHECK(validate() == 0);
	must_set(s, "ticket-rotation", "3600");
	check_invalid("ticket-rotation 3600 and resumption-lifetime 600 disagree");
	CHECK(set(s, "resumption-lifetime", "604801") == -EINVAL);
	CHECK(set(s, "ticket-rotation", "2") == -EINVAL);
	reset();
	c = add_client("cli", "127.0.0.1:8080");
	must_set(c, "ticket-key-file", "/etc/ktund/ticket.key");
	check_invalid("ticket-key-file is a server-mode option");
	reset();
	c = add_client("cli", "127.0.0.1:8080");
	must_set(c, "resumption-lifetime", "60");
	check_invalid("resumption-lifetime is a server-mode option");
}

/* destination: a client's, "original" or HOST:PORT checked (not resolved) at start. */
static void test_validate_destination(void)
{
	struct tunnel_config *c;

	reset();
	c = add_client("cli", "127.0.0.1:8080");
	CHECK(validate() == 0);
	CHECK(c->destination_mode == DESTINATION_NONE);
	must_set(c, "destination", "original");
	CHECK(validate() == 0);
	CHECK(c->destination_mode == DESTINATION_ORIGINAL);
	must_set(c, "destination", "db.never-resolved.invalid:5432");
	CHECK(validate() == 0);
	CHECK(c->destination_mode == DESTINATION_FIXED);
	CHECK_STR(c->destination_authority, "db.never-resolved.invalid:5432");
	must_set(c, "destination", "[2001:DB8::1]:80");
	CHECK(validate() == 0);
	CHECK_STR(c->destination_authority, "[2001:db8::1]:80");
	must_set(c, "destination", "db.internal");
	check_invalid("[cli] destination 'db.internal': not HOST:PORT (or 'original')");
	must_set(c, "destination", "Original");
	check_invalid("destination 'Original'");

	reset();
	must_set(add_server("srv", "0.0.0.0:9443", NULL), "destination", "original");
	check_invalid("[srv] destination is a client-mode option");
}

/* pool: a client's, with a destination (a pooled connection tells the server it is in use
 * only by its CONNECT request). */
static void test_validate_pool(void)
{
	struct tunnel_config *c;

	reset();
	c = add_client("cli", "127.0.0.1:8080");
	must_set(c, "pool", "0");
	CHECK(validate() == 0);
	must_set(c, "pool", "2");
	check_invalid("[cli] pool = 2 needs destination (original or HOST:PORT)");
	must_set(c, "destination", "db.internal:5432");
	CHECK(validate() == 0);
	must_set(c, "destination", "original");
	CHECK(validate() == 0);

	reset();
	must_set(add_server("srv", "0.0.0.0:9443", NULL), "pool", "1");
	check_invalid("[srv] pool is a client-mode option");
}

/* A reload whose target name no longer resolves keeps the running tunnel's address when the
 * text is the same, and fails when the text changed or nothing runs. A 64-byte label never
 * resolves, and the resolver refuses it without asking a name server. */
#define LABEL64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
static void test_validate_keeps_running_address(void)
{
	struct ktun_config running;
	struct tunnel_config *r;

	config_init(&running);
	r = config_add_tunnel(&running, "cli");
	must_set(r, "mode", "client");
	must_set(r, "listen", "127.0.0.1:8080");
	must_set(r, "target", LABEL64 ".test:8443");
	CHECK(addr_parse("192.0.2.77:8443", false, &r->target_addr, err, sizeof(err)) == 0);

	reset();
	add_tunnel("cli", NULL, (const char *const[]){
		"mode", "client", "listen", "127.0.0.1:8080", "target", LABEL64 ".test:8443",
		"server-name", "origin.test", "cert", "c.pem", "key", "c.key", "cacert", "ca.pem", NULL });
	check_invalid("[cli] target '" LABEL64 ".test:8443'");
	cfg.running = &running;
	CHECK(validate() == 0);
	CHECK_STR(cfg.tunnels[0].target_addr.host, "192.0.2.77");
	free(cfg.tunnels[0].target);
	cfg.tunnels[0].target = strdup("b" LABEL64 ".test:8443");
	check_invalid("[cli] target 'b" LABEL64 ".test:8443'");
	cfg.running = NULL;
	config_free(&running);
}

static void test_validate_no_tunnel(void)
{
	reset();
	check_invalid("no tunnel");
}

static void test_validate_required(void)
{
	const char *required[] = { "mode", "listen", "target", "cert", "key", "cacert" };

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		reset();
		add_server("srv", "0.0.0.0:9443", required[i]);
		check_invalid(required[i]);
		CHECK_CONTAINS(err, "[srv]");
	}
}

static void test_validate_server_needs_allow(void)
{
	reset();
	add_server("srv", "0.0.0.0:9443", "allow-ou");
	check_invalid("allow-");

	reset();
	must_set(add_server("srv", "0.0.0.0:9443", "allow-ou"), "allow-all", "no");
	check_invalid("allow-");

	reset();
	must_set(add_server("srv", "0.0.0.0:9443", "allow-ou"), "allow-all", NULL);
	CHECK(validate() == 0);
}

static void test_validate_rules_match_mode(void)
{
	reset();
	must_set(add_server("srv", "0.0.0.0:9443", NULL), "verify-cn", "origin");
	check_invalid("verify-");

	reset();
	must_set(add_client("cli", "127.0.0.1:8080"), "allow-cn", "edge");
	check_invalid("allow-");

	reset();
	must_set(add_client("cli", "127.0.0.1:8080"), "verify-cn", "origin");
	CHECK(validate() == 0);
}

static void test_validate_plaintext_side_local(void)
{
	struct tunnel_config *t;

	reset();
	must_set(add_server("srv", "0.0.0.0:9443", "target"), "target", "192.0.2.1:80");
	check_invalid("unsafe-target");
	must_set(&cfg.tunnels[0], "unsafe-listen", NULL); /* the other side's flag does not help */
	check_invalid("unsafe-target");
	must_set(&cfg.tunnels[0], "unsafe-target", NULL);
	CHECK(validate() == 0);

	reset();
	t = add_client("cli", "0.0.0.0:8080");
	check_invalid("unsafe-listen");
	must_set(t, "unsafe-target", NULL);
	check_invalid("unsafe-listen");
	must_set(t, "unsafe-listen", NULL);
	CHECK(validate() == 0);
}

/* target: a list, given as "a, b" or by setting it again (the command line's repeated
 * --target); each entry checked as a single target is; at most TARGETS_MAX addresses. */
static void test_validate_target_list(void)
{
	struct tunnel_config *t;
	char list[16 * 24 + 1] = "";

	reset();
	t = add_server("srv", "0.0.0.0:9443", "target");
	must_set(t, "target", "127.0.0.1:8080 ,127.0.0.2:8080");
	must_set(t, "target", "[::1]:8081");
	CHECK_STR(t->target, "127.0.0.1:8080 ,127.0.0.2:8080, [::1]:8081");
	CHECK(validate() == 0);
	CHECK(t->n_targets == 3);
	CHECK(t->n_targets == 3 && t->target_addrs[2].ss.ss_family == AF_INET6);
	CHECK(t->target_addr.ss.ss_family == AF_INET);
	CHECK(t->failover == FAILOVER_ORDERED);
	CHECK(t->target_backoff == TARGET_BACKOFF_DEFAULT_S);

	/* One bad entry fails the list, naming the entry. */
	reset();
	must_set(add_server("srv", "0.0.0.0:9443", "target"), "target", "127.0.0.1:8080, 127.0.0.1:0");
	check_invalid("target '127.0.0.1:0'");
	reset();
	must_set(add_server("srv", "0.0.0.0:9443", "target"), "target", "127.0.0.1:8080,,127.0.0.1:1");
	check_invalid("empty entry");
	/* Each entry is the plaintext side: local unless unsafe-target. */
	reset();
	must_set(add_server("srv", "0.0.0.0:9443", "target"), "target", "127.0.0.1:8080, 192.0.2.1:80");
	check_invalid("unsafe-target");

	/* Sixteen addresses are fine, seventeen are not. */
	for (int i = 0; i < 16; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s127.0.0.%d:80",
			 i ? ", " : "", i + 1);
	reset();
	must_set(add_server("srv", "0.0.0.0:9443", "target"), "target", list);
	CHECK(validate() == 0);
	CHECK(cfg.tunnels[0].n_targets == 16);
	must_set(&cfg.tunnels[0], "target", "127.0.0.99:80");
	check_invalid("more than 16 addresses");

	/* A client's far ends must prove one name: server-name says which when they differ. */
	reset();
	t = add_tunnel("cli", "target", (const char *const[]){
		"mode", "client", "listen", "127.0.0.1:8080", "cert", "c.pem", "key", "c.key",
		"cacert", "ca.pem", NULL });
	must_set(t, "target", "192.0.2.10:8443, 192.0.2.11:8443");
	check_invalid("server-name");
	must_set(t, "server-name", "far.test");
	CHECK(validate() == 0);

	/* failover and target-backoff */
	check_set_refused(t, "failover", "random");
	must_set(t, "failover", "round-robin");
	CHECK(t->failover == FAILOVER_ROUND_ROBIN);
	check_set_refused(t, "target-backoff", "0");
	check_set_refused(t, "target-backoff", "3601");
	must_set(t, "target-backoff", "30");
	CHECK(t->target_backoff == 30);
}

static void test_validate_unix_sides(void)
{
	reset();
	add_server("srv", "unix:/run/ktun.sock", NULL);
	check_invalid("unix");
	CHECK_CONTAINS(err, "listen");

	reset();
	must_set(add_server("srv", "0.0.0.0:9443", "target"), "target", "unix:/run/app.sock");
	CHECK(validate() == 0);
	CHECK(addr_is_unix(&cfg.tunnels[0].target_addr));

	reset();
	add_client("cli", "unix:/run/ktun.sock");
	CHECK(validate() == 0);
	CHECK(addr_is_unix(&cfg.tunnels[0].listen_addr));

	reset();
	must_set(add_client("cli", "127.0.0.1:8080"), "target", "unix:/run/origin.sock");
	check_invalid("target");
}

static void test_validate_tls_range(void)
{
	struct tunnel_config *t;

	reset();
	t = add_client("cli", "127.0.0.1:8080");
	must_set(t, "tls-min", "1.3");
	must_set(t, "tls-max", "1.2");
	check_invalid("tls-min");
	must_set(t, "tls-max", "1.3");
	CHECK(validate() == 0);
}

static void test_validate_server_name_client_only(void)
{
	reset();
	must_set(add_server("srv", "0.0.0.0:9443", NULL), "server-name", "origin.example.org");
	check_invalid("server-name");

	reset();
	must_set(add_client("cli", "127.0.0.1:8080"), "server-name", "origin.example.org");
	CHECK(validate() == 0);
}

/* A name past what the tunnel context holds was cut there, and the cut name verified. */
static void test_validate_server_name_length(void)
{
	static const size_t lens[] = { SERVER_NAME_MAX + 1, ADDR_HOST_MAX + 10 };
	char name[SERVER_NAME_MAX + 2];

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memcpy(name + SERVER_NAME_MAX - 8, ".example", 8);
	name[SERVER_NAME_MAX] = '\0'; /* 253 characters: the longest DNS name */
	reset();
	must_set(add_client("cli", "127.0.0.1:8080"), "server-name", name);
	CHECK(validate() == 0);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		char *longer = malloc(lens[i] + 1);

		if (!longer)
			exit(EXIT_FAILURE);
		memset(longer, 'b', lens[i]);
		longer[lens[i]] = '\0';
		reset();
		must_set(add_client("cli", "127.0.0.1:8080"), "server-name", longer);
		check_invalid("server-name is longer than 253 characters");
		free(longer);
	}
}

static void test_validate_unique(void)
{
	reset();
	add_server("one", "0.0.0.0:9443", NULL);
	add_server("two", "0.0.0.0:9443", NULL);
	check_invalid("same address");
	CHECK_CONTAINS(err, "[two]");

	reset();
	add_server("one", "0.0.0.0:9443", NULL);
	add_server("two", "0.0.0.0:9444", NULL);
	CHECK(validate() == 0);

	reset();
	add_server("one", "0.0.0.0:9443", NULL);
	add_server("one", "0.0.0.0:9444", NULL);
	check_invalid("twice");
}

/* ---- config_load_file ---- */

static char tmpdir[PATH_MAX], conf_path[PATH_MAX + 16];

static const char *write_conf(const char *text)
{
	FILE *f;

	snprintf(conf_path, sizeof(conf_path), "%s/ktun.conf", tmpdir);
	f = fopen(conf_path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f)) {
		perror(conf_path);
		exit(EXIT_FAILURE);
	}
	return conf_path;
}

static int load(const char *text)
{
	reset();
	err[0] = '\0';
	return config_load_file(&cfg, write_conf(text), err, sizeof(err));
}

/* The error says where: "FILE:LINE: ...". */
static void check_load_error(const char *text, int line, const char *part)
{
	char where[PATH_MAX + 32];

	CHECK(load(text) < 0);
	snprintf(where, sizeof(where), "%s:%d: ", conf_path, line);
	CHECK_CONTAINS(err, where);
	CHECK_CONTAINS(err, part);
}

static const char good_file[] =
	"; two tunnels, as in examples/ktun.conf\n"
	"[global]\n"
	"workers = 3\n"
	"control = /run/ktund-test.sock\n"
	"log-level = debug\n"
	"drain-timeout = 5\n"
	"\n"
	"[to-origin]\n"
	"mode = client\n"
	"listen = 127.0.0.1:8080\n"
	"target = 192.0.2.10:8443\n"
	"server-name = origin.example.org\n"
	"cert = edge.pem\n"
	"key = edge.key\n"
	"cacert = ca.pem\n"
	"\n"
	"[from-edge]\n"
	"mode = server\n"
	"listen = 0.0.0.0:9443\n"
	"target = unix:/run/app.sock\n"
	"cert = origin.pem\n"
	"key = origin.key\n"
	"cacert = ca.pem\n"
	"allow-ou = edge\n"
	"allow-uri = spiffe://example.org/edge/*\n"
	"allow-cn = ops\n"
	"idle-timeout = 600\n";

static void test_load_good_file(void)
{
	const struct tunnel_config *c, *s;

	CHECK(load(good_file) == 0);
	CHECK(cfg.workers == 3 && cfg.log_level == LOG_DEBUG && cfg.drain_timeout == 5);
	CHECK_STR(cfg.control_path, "/run/ktund-test.sock");
	CHECK_STR(cfg.config_file, conf_path); /* reload re-reads it */
	CHECK(cfg.n_tunnels == 2);
	if (cfg.n_tunnels != 2)
		return;
	c = &cfg.tunnels[0];
	s = &cfg.tunnels[1];
	CHECK_STR(c->name, "to-origin");
	CHECK(c->mode == MODE_CLIENT && c->idle_timeout == 300);
	CHECK_STR(c->server_name, "origin.example.org");
	CHECK_STR(s->name, "from-edge");
	CHECK(s->mode == MODE_SERVER && s->idle_timeout == 600);
	CHECK(s->policy.n == 3); /* repeated allow-* keys add rules */
	CHECK(validate() == 0);
}

static void test_load_unknown_key(void)
{
	/* The keys after the bad one are fine: the first error must still be the one reported. */
	check_load_error("[t]\nmode = server\nlisten-on = 127.0.0.1:1\ncert = a.pem\n", 3,
			 "listen-on");
}

static void test_load_bad_value(void)
{
	check_load_error("[t]\nmode = sideways\n", 2, "mode");
	CHECK_CONTAINS(err, "[t]");
	check_load_error("[global]\nworkers = many\nuser = nobody\n", 2, "workers");
	check_load_error("[t]\nworkers = 2\n", 2, "global");
	check_load_error("[global]\nlisten = 127.0.0.1:1\n", 2, "tunnel");
}

static void test_load_syntax_error(void)
{
	check_load_error("[t]\nmode = server\nthis line has no equals sign\n", 3, "syntax");
	/* Two errors: the earlier one is reported, with its own text. */
	check_load_error("[t]\nno equals sign\nbogus = 1\n", 2, "syntax");
	check_load_error("[t]\nbogus = 1\nno equals sign\n", 2, "bogus");
}

static void test_load_duplicate_section(void)
{
	check_load_error("[a]\nmode = server\n[b]\nmode = client\n[a]\nallow-all = yes\n", 6,
			 "[a] appears twice");
	/* Right after itself, too: merging would silently widen a server's allow rules. */
	check_load_error("[a]\nmode = server\nallow-ou = edge\n[a]\nallow-all = yes\n", 5,
			 "[a] appears twice");
}

static void test_load_bad_section_name(void)
{
	check_load_error("[to origin]\nmode = client\n", 2, "[to origin]");
}

static void test_load_missing_mode(void)
{
	CHECK(load("[t]\nlisten = 127.0.0.1:8080\ntarget = 127.0.0.1:9\n") == 0);
	check_invalid("[t] needs mode");
}

static void test_load_key_outside_section(void)
{
	check_load_error("workers = 2\n[global]\nuser = nobody\n", 1, "workers");
	CHECK_CONTAINS(err, "outside any section");
}

static void test_load_empty_file(void)
{
	CHECK(load("") == 0);
	CHECK(cfg.n_tunnels == 0);
	check_invalid("no tunnel");
}

static void test_load_missing_file(void)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/absent.conf", tmpdir);
	reset();
	CHECK(config_load_file(&cfg, path, err, sizeof(err)) == -ENOENT);
	CHECK_CONTAINS(err, path);
	CHECK_CONTAINS(err, strerror(ENOENT));
}

/* A line of exactly CONFIG_LINE_MAX characters: "allow-cn = " and a value to fill it. */
static char *long_rule_line(size_t len)
{
	char *line = malloc(len + 1);

	if (!line)
		exit(EXIT_FAILURE);
	memset(line, 'x', len);
	memcpy(line, "allow-cn = ", 11);
	line[len] = '\0';
	return line;
}

static int load_with_line(const char *line)
{
	size_t len = strlen(line) + 64;
	char *text = malloc(len);
	int rc;

	if (!text)
		exit(EXIT_FAILURE);
	snprintf(text, len, "[t]\nmode = server\n%s\nallow-ou = edge\n", line);
	rc = load(text);
	free(text);
	return rc;
}

/* libinih's 200-byte line buffer split longer lines: the tail became a line of its own, here
 * a second allow-cn rule that let "admin" in. Lines load whole up to CONFIG_LINE_MAX. */
static void test_load_long_line(void)
{
	char line[512];

	/* 215 characters: inih cut this after "allow-cn = " and 188 a's. */
	snprintf(line, sizeof(line), "allow-cn = %0188dallow-cn = admin", 0);
	CHECK(load_with_line(line) == 0);
	CHECK(cfg.n_tunnels == 1 && cfg.tunnels[0].policy.n == 2);
	if (cfg.n_tunnels == 1 && cfg.tunnels[0].policy.n == 2)
		CHECK_STR(cfg.tunnels[0].policy.rules[0].value, line + 11);
	for (size_t i = 0; cfg.n_tunnels == 1 && i < cfg.tunnels[0].policy.n; i++)
		CHECK(strcmp(cfg.tunnels[0].policy.rules[i].value, "admin"));

	/* 344 characters of a URI pattern: one rule, all of it. */
	snprintf(line, sizeof(line), "allow-uri = spiffe://example.org/%0300d", 0);
	CHECK(load_with_line(line) == 0);
	CHECK(cfg.n_tunnels == 1 && cfg.tunnels[0].policy.n == 2);
	if (cfg.n_tunnels == 1 && cfg.tunnels[0].policy.n == 2)
		CHECK_STR(cfg.tunnels[0].policy.rules[0].value, line + 12);
}

/* Past CONFIG_LINE_MAX a line is an error at its line, never split. */
static void test_load_line_too_long(void)
{
	char *line = long_rule_line(CONFIG_LINE_MAX);

	/* At the limit it reaches the option (whose own limit refuses the value). */
	CHECK(load_with_line(line) == -EINVAL);
	CHECK_CONTAINS(err, ":3: [t] 'allow-cn': value must be");
	free(line);
	line = long_rule_line(CONFIG_LINE_MAX + 1);
	check_load_error(line, 1, "line longer than 4096 characters");
	CHECK(load_with_line(line) == -EINVAL);
	CHECK_CONTAINS(err, ":3: line longer than 4096 characters");
	free(line);
	/* A CRLF ending does not count. */
	line = long_rule_line(CONFIG_LINE_MAX + 2);
	line[CONFIG_LINE_MAX] = '\r';
	line[CONFIG_LINE_MAX + 1] = '\n';
	CHECK(load_with_line(line) == -EINVAL);
	CHECK_CONTAINS(err, ":3: [t] 'allow-cn': value must be");
	free(line);
}

/* An indented line is an ordinary line, not a continuation of the previous value that
 * would add a rule without a key saying so. */
static void test_load_indented_line(void)
{
	CHECK(load("[t]\nmode = server\nallow-cn = alice\n  allow-cn = bob\n") == 0);
	CHECK(cfg.n_tunnels == 1 && cfg.tunnels[0].policy.n == 2);
	if (cfg.n_tunnels == 1 && cfg.tunnels[0].policy.n == 2)
		CHECK_STR(cfg.tunnels[0].policy.rules[1].value, "bob");
	check_load_error("[t]\nmode = server\nallow-cn = alice\n\tmallory\n", 4, "syntax error");
}

/* A carriage return at the start of a line is blank space, as inih's own trimming says: the
 * line is not a continuation either, of a value or of the section before it. */
static void test_load_leading_cr(void)
{
	CHECK(load("[t]\r\nmode = server\r\nallow-cn = alice\r\n\rallow-cn = bob\r\n") == 0);
	CHECK(cfg.n_tunnels == 1 && cfg.tunnels[0].policy.n == 2);
	if (cfg.n_tunnels == 1 && cfg.tunnels[0].policy.n == 2)
		CHECK_STR(cfg.tunnels[0].policy.rules[1].value, "bob");
	check_load_error("[t]\nmode = server\n\r[t]\nallow-all = yes\n", 4, "appears twice");
}

/* A file an editor saved with a UTF-8 byte order mark reads as the same file without. */
static void test_load_bom(void)
{
	CHECK(load("\xef\xbb\xbf[t]\nmode = server\nallow-all = yes\n") == 0);
	CHECK(cfg.n_tunnels == 1 && cfg.tunnels[0].mode == MODE_SERVER);
}

/* inih ends a line at a NUL byte and would read on from the rest of it. */
static void test_load_nul_byte(void)
{
	static const char text[] = "[t]\nmode = server\nallow-cn = a\0\nallow-all = yes\n";
	char where[PATH_MAX + 32];
	FILE *f;

	write_conf("");
	f = fopen(conf_path, "w");
	CHECK(f && fwrite(text, 1, sizeof(text) - 1, f) == sizeof(text) - 1);
	if (f)
		fclose(f);
	reset();
	CHECK(config_load_file(&cfg, conf_path, err, sizeof(err)) == -EINVAL);
	snprintf(where, sizeof(where), "%s:3: NUL byte", conf_path);
	CHECK_CONTAINS(err, where);
}

/* inih keeps 49 characters of a section name: a longer one must not be cut silently. */
static void test_load_long_section_name(void)
{
	char text[256];

	snprintf(text, sizeof(text), "[%s]\nmode = server\n",
		 "a-tunnel-name-of-sixty-characters-which-inih-would-cut-short");
	check_load_error(text, 2, "names are at most 49 characters");
	snprintf(text, sizeof(text), "[%s]\nmode = server\n",
		 "a-tunnel-name-of-forty-nine-characters-just-fits");
	CHECK(load(text) == 0);
}

/* The file itself: a regular file, read whole and bounded; anything else fails at once. */
static void test_load_not_regular(void)
{
	char path[PATH_MAX + 16];
	FILE *f;

	snprintf(path, sizeof(path), "%s/fifo.conf", tmpdir);
	CHECK(mkfifo(path, 0600) == 0);
	reset();
	CHECK(config_load_file(&cfg, path, err, sizeof(err)) == -EINVAL);
	CHECK_CONTAINS(err, path);
	CHECK_CONTAINS(err, "not a regular file (a FIFO)");
	unlink(path);
	reset();
	CHECK(config_load_file(&cfg, "/dev/zero", err, sizeof(err)) == -EINVAL);
	CHECK_CONTAINS(err, "/dev/zero: not a regular file (a character device)");
	reset();
	CHECK(config_load_file(&cfg, tmpdir, err, sizeof(err)) == -EISDIR);
	CHECK_CONTAINS(err, strerror(EISDIR));
	snprintf(path, sizeof(path), "%s/huge.conf", tmpdir);
	f = fopen(path, "w");
	CHECK(f && ftruncate(fileno(f), 2 << 20) == 0);
	if (f)
		fclose(f);
	reset();
	CHECK(config_load_file(&cfg, path, err, sizeof(err)) == -EFBIG);
	CHECK_CONTAINS(err, "larger than 1048576 bytes");
	unlink(path);
}

static void make_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/ktun-test-config-XXXXXX", base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		exit(EXIT_FAILURE);
	}
}

static void remove_tmpdir(void)
{
	unlink(conf_path);
	rmdir(tmpdir);
}

int main(void)
{
	config_init(&cfg);
	RUN(test_defaults);
	RUN(test_uint_options);
	RUN(test_string_options);
	RUN(test_bool_options);
	RUN(test_mode);
	RUN(test_log_level);
	RUN(test_ktls);
	RUN(test_crl_stale);
	RUN(test_ciphers);
	RUN(test_watch_and_expiry);
	RUN(test_tls_versions);
	RUN(test_policy_options);
	RUN(test_unknown_and_misplaced);
	RUN(test_flag_and_global_lookup);

	RUN(test_validate_good);
	RUN(test_validate_resumption);
	RUN(test_validate_no_tunnel);
	RUN(test_validate_keeps_running_address);
	RUN(test_validate_required);
	RUN(test_validate_server_needs_allow);
	RUN(test_validate_rules_match_mode);
	RUN(test_validate_plaintext_side_local);
	RUN(test_validate_target_list);
	RUN(test_validate_unix_sides);
	RUN(test_validate_tls_range);
	RUN(test_validate_server_name_client_only);
	RUN(test_validate_server_name_length);
	RUN(test_validate_unique);
	RUN(test_validate_destination);
	RUN(test_validate_pool);

	make_tmpdir();
	RUN(test_load_good_file);
	RUN(test_load_unknown_key);
	RUN(test_load_bad_value);
	RUN(test_load_syntax_error);
	RUN(test_load_duplicate_section);
	RUN(test_load_bad_section_name);
	RUN(test_load_missing_mode);
	RUN(test_load_key_outside_section);
	RUN(test_load_empty_file);
	RUN(test_load_missing_file);
	RUN(test_load_long_line);
	RUN(test_load_line_too_long);
	RUN(test_load_indented_line);
	RUN(test_load_leading_cr);
	RUN(test_load_bom);
	RUN(test_load_nul_byte);
	RUN(test_load_long_section_name);
	RUN(test_load_not_regular);
	remove_tmpdir();

	config_free(&cfg);
	return check_result();
}
