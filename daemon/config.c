// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ciphers.h"
#include "config.h"
#include "log.h"
#include "peers.h"

#define TIMEOUT_MAX (7 * 24 * 3600)

enum opt_type {
	OPT_STRING, OPT_UINT, OPT_BOOL, OPT_POLICY, OPT_MODE, OPT_LOGLEVEL, OPT_LOGFORMAT, OPT_KTLS, OPT_CIPHERS,
	OPT_TLS_VERSION, OPT_REDIRECT, OPT_MARK, OPT_DAYS, OPT_CRL_STALE,
	OPT_DEST, OPT_TARGET, OPT_FAILOVER,
};

struct option_def {
	const char *name;
	enum opt_type type;
	bool global;
	size_t offset;   /* into ktun_config (global) or tunnel_config */
	unsigned min, max;
};

#define T(field) offsetof(struct tunnel_config, field)
#define G(field) offsetof(struct ktun_config, field)

static const struct option_def options[] = {
	{ "workers", OPT_UINT, true, G(workers), 1, 1024 },
	{ "control", OPT_STRING, true, G(control_path), 0, 0 },
	{ "user", OPT_STRING, true, G(user), 0, 0 },
	{ "log-level", OPT_LOGLEVEL, true, G(log_level), 0, 0 },
	{ "log-format", OPT_LOGFORMAT, true, G(log_format), 0, 0 },
	{ "drain-timeout", OPT_UINT, true, G(drain_timeout), 0, TIMEOUT_MAX },
	{ "watch-files", OPT_BOOL, true, G(watch_files), 0, 0 },
	{ "sandbox", OPT_BOOL, true, G(sandbox), 0, 0 },
	{ "expiry-warn", OPT_DAYS, true, G(expiry_warn), 1, 3650 },
	{ "metrics-listen", OPT_STRING, true, G(metrics_listen), 0, 0 },
	{ "metrics-identities", OPT_UINT, true, G(metrics_identities), 0, PEERS_MAX },
	{ "bpf-pin-dir", OPT_STRING, true, G(bpf_pin_dir), 0, 0 },
	{ "bpf-cgroup", OPT_STRING, true, G(bpf_cgroup), 0, 0 },
	{ "redirect-interface", OPT_STRING, true, G(redirect_interface), 0, 0 },
	{ "redirect-mark", OPT_MARK, true, G(redirect_mark), 0, 0 },
	{ "mode", OPT_MODE, false, T(mode), 0, 0 },
	{ "listen", OPT_STRING, false, T(listen), 0, 0 },
	{ "target", OPT_TARGET, false, T(target), 0, 0 },
	{ "failover", OPT_FAILOVER, false, T(failover), 0, 0 },
	{ "target-backoff", OPT_UINT, false, T(target_backoff), 1, TARGET_BACKOFF_MAX_S },
	{ "cert", OPT_STRING, false, T(cert), 0, 0 },
	{ "key", OPT_STRING, false, T(key), 0, 0 },
	{ "cacert", OPT_STRING, false, T(cacert), 0, 0 },
	{ "crl", OPT_STRING, false, T(crl), 0, 0 },
	{ "crl-stale", OPT_CRL_STALE, false, T(crl_stale), 0, 0 },
	{ "ocsp-staple", OPT_STRING, false, T(ocsp_staple), 0, 0 },
	{ "require-ocsp", OPT_BOOL, false, T(require_ocsp), 0, 0 },
	{ "ocsp-fetch", OPT_BOOL, false, T(ocsp_fetch), 0, 0 },
	{ "server-name", OPT_STRING, false, T(server_name), 0, 0 },
	{ "handshake-timeout", OPT_UINT, false, T(handshake_timeout), 1, TIMEOUT_MAX },
	{ "connect-timeout", OPT_UINT, false, T(connect_timeout), 1, TIMEOUT_MAX },
	{ "idle-timeout", OPT_UINT, false, T(idle_timeout), 0, TIMEOUT_MAX },
	{ "max-connections", OPT_UINT, false, T(max_connections), 1, 1000000 },
	{ "request-timeout", OPT_UINT, false, T(request_timeout), 1, TIMEOUT_MAX },
	{ "pool", OPT_UINT, false, T(pool), 0, POOL_MAX },
	{ "pool-idle", OPT_UINT, false, T(pool_idle), 1, TIMEOUT_MAX },
	{ "unsafe-target", OPT_BOOL, false, T(unsafe_target), 0, 0 },
	{ "unsafe-listen", OPT_BOOL, false, T(unsafe_listen), 0, 0 },
	{ "proxy-protocol", OPT_BOOL, false, T(proxy_protocol), 0, 0 },
	{ "resumption", OPT_BOOL, false, T(resumption), 0, 0 },
	{ "resumption-lifetime", OPT_UINT, false, T(resumption_lifetime), 1, RESUMPTION_LIFETIME_MAX },
	{ "ticket-rotation", OPT_UINT, false, T(ticket_rotation), 3, 3 * RESUMPTION_LIFETIME_MAX },
	{ "ticket-key-file", OPT_STRING, false, T(ticket_key_file), 0, 0 },
	{ "ktls", OPT_KTLS, false, T(ktls), 0, 0 },
	{ "ciphers", OPT_CIPHERS, false, T(ciphers), 0, 0 },
	{ "tls-min", OPT_TLS_VERSION, false, T(tls_min), 0, 0 },
	{ "tls-max", OPT_TLS_VERSION, false, T(tls_max), 0, 0 },
	{ "redirect", OPT_REDIRECT, false, 0, 0, 0 },
	{ "destination", OPT_STRING, false, T(destination), 0, 0 },
	{ "allow-destination", OPT_DEST, false, 0, 0, 0 },
	{ "allow-", OPT_POLICY, false, 0, MODE_SERVER, 0 },
	{ "verify-", OPT_POLICY, false, 0, MODE_CLIENT, 0 },
};

_Static_assert(sizeof(options) / sizeof(options[0]) <= CONFIG_KEYS_MAX, "raise CONFIG_KEYS_MAX");

static const struct option_def *option_find(const char *key)
{
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
		const struct option_def *o = &options[i];

		if (o->type == OPT_POLICY ? !strncmp(key, o->name, strlen(o->name)) &&
						    policy_kind_parse(key + strlen(o->name)) >= 0
					  : !strcmp(key, o->name))
			return o;
	}
	return NULL;
}

const char *config_option_at(size_t i, bool *prefix)
{
	if (i >= sizeof(options) / sizeof(options[0]))
		return NULL;
	*prefix = options[i].type == OPT_POLICY;
	return options[i].name;
}

/* Rules add up; every other option is set once, and a second setting would replace the first. */
static bool option_repeats(const struct option_def *o)
{
	return o->type == OPT_POLICY || o->type == OPT_REDIRECT || o->type == OPT_DEST;
}

bool config_option_repeats(const char *key)
{
	const struct option_def *o = option_find(key);

	return o && option_repeats(o);
}

int config_key_seen(struct ktun_config *cfg, struct tunnel_config *tunnel, const char *key,
		    int line)
{
	const struct option_def *o = option_find(key);
	int *lines = tunnel ? tunnel->key_line : cfg->key_line, before;

	if (!o || option_repeats(o))
		return 0;
	before = lines[o - options];
	if (!before)
		lines[o - options] = line;
	return before;
}

const char *config_key_where(const struct tunnel_config *tunnel, const char *key, char *buf,
			     size_t len)
{
	const struct option_def *o = option_find(key);
	int line = o ? tunnel->key_line[o - options] : 0;

	if (line > 0 && tunnel->config_file)
		snprintf(buf, len, "%s:%d: ", tunnel->config_file, line);
	else
		snprintf(buf, len, "%s", "");
	return buf;
}

const char *config_control_path(const struct ktun_config *cfg)
{
	/* KTUN_CONTROL_DEFAULT: meson.build, the one definition ktund and ktunctl share. */
	return cfg->control_path ? cfg->control_path : KTUN_CONTROL_DEFAULT;
}

bool config_option_exists(const char *key)
{
	return option_find(key) != NULL;
}

bool config_option_is_flag(const char *key)
{
	const struct option_def *o = option_find(key);

	/* verify-all too, so that it reaches set_policy's explanation of why it does not exist. */
	return o && (o->type == OPT_BOOL ||
		     (o->type == OPT_POLICY && policy_kind_parse(key + strlen(o->name)) == POLICY_ALL));
}

bool config_option_is_global(const char *key)
{
	const struct option_def *o = option_find(key);

	return o && o->global;
}

bool config_redirect_wanted(const struct ktun_config *cfg)
{
	if (cfg->bpf_pin_dir || cfg->bpf_cgroup || cfg->redirect_interface)
		return true;
	for (size_t i = 0; i < cfg->n_tunnels; i++)
		if (cfg->tunnels[i].n_redirects)
			return true;
	return false;
}

const char *config_mode_name(enum tunnel_mode mode)
{
	return mode == MODE_SERVER ? "server" : "client";
}

static const char *const ktls_names[] = { [KTLS_AUTO] = "auto", [KTLS_REQUIRED] = "required",
					  [KTLS_OFF] = "off" };

const char *config_ktls_name(enum ktls_mode mode)
{
	return ktls_names[mode];
}

void config_init(struct ktun_config *cfg)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	memset(cfg, 0, sizeof(*cfg));
	cfg->workers = cpus > 0 ? (unsigned)cpus : 1;
	cfg->log_level = LOG_INFO;
	cfg->log_format = LOG_FORMAT_TEXT;
	cfg->drain_timeout = 30;
	cfg->watch_files = true;
	cfg->sandbox = true;
	cfg->expiry_warn = (struct expiry_warn){ .days = { 30, 7, 1 }, .n = 3 };
	cfg->redirect_mark = REDIRECT_MARK_DEFAULT;
}

static void tunnel_config_free(struct tunnel_config *t)
{
	free(t->listen);
	free(t->target);
	free(t->target_addrs);
	free(t->cert);
	free(t->key);
	free(t->cacert);
	free(t->crl);
	free(t->ocsp_staple);
	free(t->server_name);
	free(t->redirects);
	free(t->destination);
	free(t->ticket_key_file);
	for (size_t i = 0; i < t->n_dests; i++)
		dest_rule_free(&t->dests[i]);
	free(t->dests);
	policy_free(&t->policy);
}

void config_free(struct ktun_config *cfg)
{
	for (size_t i = 0; i < cfg->n_tunnels; i++)
		tunnel_config_free(&cfg->tunnels[i]);
	free(cfg->tunnels);
	free(cfg->control_path);
	free(cfg->metrics_listen);
	free(cfg->user);
	free(cfg->config_file);
	free(cfg->bpf_pin_dir);
	free(cfg->bpf_cgroup);
	free(cfg->redirect_interface);
	memset(cfg, 0, sizeof(*cfg));
}

struct tunnel_config *config_add_tunnel(struct ktun_config *cfg, const char *name)
{
	struct tunnel_config *grown, *t;

	grown = realloc(cfg->tunnels, (cfg->n_tunnels + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	cfg->tunnels = grown;
	t = &cfg->tunnels[cfg->n_tunnels++];
	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->handshake_timeout = 10;
	t->connect_timeout = 10;
	t->idle_timeout = 300;
	t->request_timeout = 60;
	t->pool_idle = 40;
	t->max_connections = 10000;
	t->ciphers = TLS_CIPHERS_ALL;
	t->tls_min = 2;
	t->tls_max = 3;
	t->target_backoff = TARGET_BACKOFF_DEFAULT_S;
	t->resumption = true;
	return t;
}

static int parse_uint(const char *value, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(value, &end, 10);
	if (!*value || *end || errno || value[0] == '-' || v < min || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int parse_bool(const char *value, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	if (!value) {
		*out = true;
		return 0;
	}
	for (unsigned i = 0; i < 4; i++) {
		if (!strcasecmp(value, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(value, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int set_policy(const struct option_def *o, struct tunnel_config *t, const char *key,
		      const char *value, char *err, size_t errlen)
{
	int kind = policy_kind_parse(key + strlen(o->name));
	char why[CONFIG_ERR_MAX];
	bool on;
	int rc;

	if (kind < 0) {
		snprintf(err, errlen, "unknown option '%s'", key);
		return -EINVAL;
	}
	if (kind == POLICY_ALL && o->min == MODE_CLIENT) {
		snprintf(err, errlen, "'verify-all' does not exist: a client always verifies the server");
		return -EINVAL;
	}
	/* INI keys may come before "mode": the mode is checked against it in config_validate(). */
	if (o->min == MODE_SERVER)
		t->has_allow = true;
	else
		t->has_verify = true;
	if (kind == POLICY_ALL) {
		if (parse_bool(value, &on) < 0) {
			snprintf(err, errlen, "'%s' takes yes or no", key);
			return -EINVAL;
		}
		if (!on)
			return 0;
	} else if (!value) {
		snprintf(err, errlen, "'%s' needs a value", key);
		return -EINVAL;
	}
	rc = policy_add(&t->policy, (enum policy_kind)kind, value ? value : "", why, sizeof(why));
	if (rc < 0)
		snprintf(err, errlen, "'%s': %s", key, why);
	return rc;
}

static int set_string(char **field, const char *key, const char *value, char *err, size_t errlen)
{
	if (!value || !*value) {
		snprintf(err, errlen, "'%s' needs a value", key);
		return -EINVAL;
	}
	free(*field);
	*field = strdup(value);
	return *field ? 0 : -ENOMEM;
}

/* target: a list, "a:443, b:443". The command line's repeated --target (the one option that
 * may repeat there without adding a rule) lands here once per time given and extends it;
 * config_validate() splits and checks the entries. */
static int add_target(char **field, const char *value, char *err, size_t errlen)
{
	char *joined;

	if (!value || !*value) {
		snprintf(err, errlen, "'target' needs a value");
		return -EINVAL;
	}
	if (!*field)
		return set_string(field, "target", value, err, errlen);
	if (asprintf(&joined, "%s, %s", *field, value) < 0)
		return -ENOMEM;
	free(*field);
	*field = joined;
	return 0;
}

/* "AES-256-GCM:CHACHA20-POLY1305" -> mask; only AEAD ciphers ktund knows are accepted. */
static int parse_ciphers(const char *value, unsigned *mask, char *err, size_t errlen)
{
	char list[256], *save = NULL;

	*mask = 0;
	if (!value || strlen(value) >= sizeof(list))
		goto bad;
	strcpy(list, value);
	for (char *name = strtok_r(list, ":, ", &save); name; name = strtok_r(NULL, ":, ", &save)) {
		size_t i;

		for (i = 0; i < TLS_CIPHERS_N; i++)
			if (!strcasecmp(name, tls_ciphers[i].name))
				break;
		if (i == TLS_CIPHERS_N)
			goto bad;
		*mask |= 1u << i;
	}
	if (*mask)
		return 0;
bad:
	snprintf(err, errlen, "ciphers: a list of AES-128-GCM, AES-256-GCM, CHACHA20-POLY1305, "
		 "AES-128-CCM separated by ':'");
	return -EINVAL;
}

/* redirect = CIDR:PORT[-PORT], repeatable: each line adds a rule. */
static int add_redirect(struct tunnel_config *t, const char *value, char *err, size_t errlen)
{
	struct redirect_rule rule, *grown;
	int rc;

	if (!value) {
		snprintf(err, errlen, "'redirect' needs a value");
		return -EINVAL;
	}
	rc = redirect_rule_parse(value, &rule, err, errlen);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < t->n_redirects; i++)
		if (redirect_rule_equal(&t->redirects[i], &rule)) {
			snprintf(err, errlen, "redirect '%s' is given twice", value);
			return -EINVAL;
		}
	grown = realloc(t->redirects, (t->n_redirects + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	t->redirects = grown;
	t->redirects[t->n_redirects++] = rule;
	return 0;
}

/* allow-destination = CIDR:PORT[-PORT] [KIND=VALUE], repeatable: each line adds a rule. */
static int add_dest(struct tunnel_config *t, const char *value, char *err, size_t errlen)
{
	struct dest_rule rule, *grown;
	int rc;

	if (t->n_dests == DEST_RULES_MAX) {
		snprintf(err, errlen, "more than %d allow-destination rules", DEST_RULES_MAX);
		return -EINVAL;
	}
	rc = dest_rule_parse(value, &rule, err, errlen);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < t->n_dests; i++)
		if (!strcmp(t->dests[i].text, rule.text)) {
			snprintf(err, errlen, "allow-destination '%s' is given twice", rule.text);
			dest_rule_free(&rule);
			return -EINVAL;
		}
	grown = realloc(t->dests, (t->n_dests + 1) * sizeof(*grown));
	if (!grown) {
		dest_rule_free(&rule);
		return -ENOMEM;
	}
	t->dests = grown;
	t->dests[t->n_dests++] = rule;
	return 0;
}

/* A firewall mark: decimal or 0x hex, not 0 (the mark must select the policy route). */
/* "30,7,1": days before a certificate's end at which to warn, kept in descending order. */
static int parse_days(const struct option_def *o, const char *value, struct expiry_warn *out,
		      char *err, size_t errlen)
{
	struct expiry_warn w = { 0 };
	char copy[128], *save = NULL;

	snprintf(copy, sizeof(copy), "%s", value ? value : "");
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned d, i;

		if (w.n == EXPIRY_THRESHOLDS_MAX || parse_uint(tok, o->min, o->max, &d) < 0)
			goto bad;
		for (i = w.n; i > 0 && w.days[i - 1] < d; i--)
			w.days[i] = w.days[i - 1];
		w.days[i] = d;
		w.n++;
	}
	if (!w.n)
		goto bad;
	*out = w;
	return 0;
bad:
	snprintf(err, errlen, "'%s' takes up to %d days from %u to %u, comma-separated (e.g. 30,7,1)",
		 o->name, EXPIRY_THRESHOLDS_MAX, o->min, o->max);
	return -EINVAL;
}

static int parse_mark(const char *value, unsigned *out, char *err, size_t errlen)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = value ? strtoul(value, &end, 0) : 0;
	if (!value || !*value || *end || errno || value[0] == '-' || !v || v > 0xffffffffUL) {
		snprintf(err, errlen, "'redirect-mark' must be a non-zero 32-bit number (e.g. 0x4b54)");
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

static int set_typed(const struct option_def *o, void *base, const char *key, const char *value,
		     char *err, size_t errlen)
{
	void *field = (char *)base + o->offset;
	int level;

	switch (o->type) {
	case OPT_STRING:
		return set_string(field, key, value, err, errlen);
	case OPT_UINT:
		if (value && parse_uint(value, o->min, o->max, field) == 0)
			return 0;
		snprintf(err, errlen, "'%s' must be a whole number from %u to %u", key, o->min, o->max);
		return -EINVAL;
	case OPT_BOOL:
		if (parse_bool(value, field) == 0)
			return 0;
		snprintf(err, errlen, "'%s' takes yes or no", key);
		return -EINVAL;
	case OPT_CIPHERS:
		return parse_ciphers(value, field, err, errlen);
	case OPT_REDIRECT:
		return add_redirect(base, value, err, errlen);
	case OPT_DEST:
		return add_dest(base, value, err, errlen);
	case OPT_TARGET:
		return add_target(field, value, err, errlen);
	case OPT_FAILOVER:
		if (value && (!strcmp(value, "ordered") || !strcmp(value, "round-robin"))) {
			*(enum failover *)field = value[0] == 'o' ? FAILOVER_ORDERED : FAILOVER_ROUND_ROBIN;
			return 0;
		}
		snprintf(err, errlen, "'%s' must be ordered or round-robin", key);
		return -EINVAL;
	case OPT_MARK:
		return parse_mark(value, field, err, errlen);
	case OPT_DAYS:
		return parse_days(o, value, field, err, errlen);
	case OPT_CRL_STALE:
		if (value && (!strcmp(value, "warn") || !strcmp(value, "refuse"))) {
			*(enum crl_stale_mode *)field = value[0] == 'w' ? CRL_STALE_WARN : CRL_STALE_REFUSE;
			return 0;
		}
		snprintf(err, errlen, "'%s' must be warn or refuse", key);
		return -EINVAL;
	case OPT_TLS_VERSION:
		if (value && (!strcmp(value, "1.2") || !strcmp(value, "1.3"))) {
			*(unsigned *)field = value[2] == '2' ? 2 : 3;
			return 0;
		}
		snprintf(err, errlen, "'%s' must be 1.2 or 1.3", key);
		return -EINVAL;
	case OPT_KTLS:
		for (int m = KTLS_AUTO; m <= KTLS_OFF; m++)
			if (value && !strcmp(value, ktls_names[m])) {
				*(enum ktls_mode *)field = (enum ktls_mode)m;
				return 0;
			}
		snprintf(err, errlen, "ktls must be auto, required or off");
		return -EINVAL;
	case OPT_LOGLEVEL:
		level = value ? log_level_parse(value) : -1;
		if (level < 0) {
			snprintf(err, errlen, "log-level must be debug, info, notice, warning or error");
			return -EINVAL;
		}
		*(int *)field = level;
		return 0;
	case OPT_LOGFORMAT:
		level = value ? log_format_parse(value) : -1;
		if (level < 0) {
			snprintf(err, errlen, "log-format must be text or json");
			return -EINVAL;
		}
		*(int *)field = level;
		return 0;
	default:
		snprintf(err, errlen, "internal: option '%s' has no setter", key);
		return -EINVAL;
	}
}

static int set_mode(struct tunnel_config *t, const char *value, char *err, size_t errlen)
{
	if (value && !strcmp(value, "server"))
		t->mode = MODE_SERVER;
	else if (value && !strcmp(value, "client"))
		t->mode = MODE_CLIENT;
	else {
		snprintf(err, errlen, "mode must be server or client");
		return -EINVAL;
	}
	t->mode_set = true;
	return 0;
}

int config_set(struct ktun_config *cfg, struct tunnel_config *tunnel, const char *key,
	       const char *value, char *err, size_t errlen)
{
	const struct option_def *o = option_find(key);

	if (!o) {
		const char *near = config_suggest(key);

		snprintf(err, errlen, "unknown option '%s'%s%s%s", key, near ? ": did you mean '" : "",
			 near ? near : "", near ? "'?" : "");
		return -EINVAL;
	}
	if (o->global != !tunnel) {
		snprintf(err, errlen, "'%s' is a %s option", key, o->global ? "global" : "tunnel");
		return -EINVAL;
	}
	if (o->type == OPT_POLICY)
		return set_policy(o, tunnel, key, value, err, errlen);
	if (o->type == OPT_MODE)
		return set_mode(tunnel, value, err, errlen);
	return set_typed(o, o->global ? (void *)cfg : (void *)tunnel, key, value, err, errlen);
}
