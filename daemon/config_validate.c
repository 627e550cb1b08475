// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "log.h"

/* Whole-configuration checks that no single option can make: required options per mode,
 * the plaintext side staying local, and unique names and listeners. */

static int check_required(const struct tunnel_config *t, char *err, size_t errlen)
{
	const struct { const char *name; const char *value; } required[] = {
		{ "listen", t->listen }, { "target", t->target }, { "cert", t->cert },
		{ "key", t->key }, { "cacert", t->cacert },
	};

	if (!t->mode_set) {
		snprintf(err, errlen, "[%s] needs mode = server or client", t->name);
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (!required[i].value) {
			snprintf(err, errlen, "[%s] needs %s", t->name, required[i].name);
			return -EINVAL;
		}
	}
	return 0;
}

static int check_policy(const struct tunnel_config *t, char *err, size_t errlen)
{
	if (t->mode == MODE_SERVER && t->has_verify) {
		snprintf(err, errlen, "[%s] verify-* options are for client mode; a server uses allow-*", t->name);
		return -EINVAL;
	}
	if (t->mode == MODE_CLIENT && t->has_allow) {
		snprintf(err, errlen, "[%s] allow-* options are for server mode; a client uses verify-*", t->name);
		return -EINVAL;
	}
	if (t->mode == MODE_SERVER && !t->policy.n) {
		snprintf(err, errlen, "[%s] a server needs at least one allow-* rule "
			 "(allow-all, allow-cn, allow-ou, allow-dns, allow-uri, allow-fingerprint, "
			 "allow-serial): there is no implicit allow", t->name);
		return -EINVAL;
	}
	if (t->tls_min > t->tls_max) {
		snprintf(err, errlen, "[%s] tls-min is above tls-max", t->name);
		return -EINVAL;
	}
	if (t->mode == MODE_SERVER && t->server_name) {
		snprintf(err, errlen, "[%s] server-name is a client-mode option", t->name);
		return -EINVAL;
	}
	/* The tunnel context keeps the name in ADDR_HOST_MAX bytes: never verify a cut one. */
	if (t->server_name && strlen(t->server_name) > SERVER_NAME_MAX) {
		snprintf(err, errlen, "[%s] server-name is longer than %d characters (a DNS name's "
			 "limit)", t->name, SERVER_NAME_MAX);
		return -EINVAL;
	}
	if (t->mode == MODE_CLIENT && t->proxy_protocol) {
		snprintf(err, errlen, "[%s] proxy-protocol is a server-mode option: it tells the "
			 "target who the verified TLS client is", t->name);
		return -EINVAL;
	}
	return 0;
}

/* Only TLS 1.3 lets a client staple: its Certificate message carries a status_request per
 * certificate (RFC 8446 4.4.2.1), which TLS 1.2 has no place for. GnuTLS servers ask for it
 * in every TLS 1.3 CertificateRequest and GnuTLS clients answer; OpenSSL clients do not. */
static int check_ocsp(const struct tunnel_config *t, char *err, size_t errlen)
{
	const char *why = NULL;

	if (t->ocsp_staple && t->ocsp_fetch)
		why = "ocsp-staple and ocsp-fetch are both set: the staple comes from a file or is "
		      "fetched, pick one";
	else if (t->mode == MODE_CLIENT && t->ocsp_staple && t->tls_max < 3)
		why = "ocsp-staple in client mode needs tls-max 1.3: a TLS 1.2 client cannot staple";
	else if (t->mode == MODE_CLIENT && t->ocsp_fetch && t->tls_max < 3)
		why = "ocsp-fetch in client mode needs tls-max 1.3: a TLS 1.2 client cannot staple";
	else if (t->mode == MODE_SERVER && t->require_ocsp && t->tls_max < 3)
		why = "require-ocsp in server mode needs tls-max 1.3: TLS 1.2 clients cannot staple";
	if (why) {
		snprintf(err, errlen, "[%s] %s", t->name, why);
		return -EINVAL;
	}
	return 0;
}

/* GnuTLS 3.7 ties the ticket key's rotation to the ticket lifetime (config.h): one follows
 * from the other, and both given must agree. */
static int check_resumption(struct tunnel_config *t, char *err, size_t errlen)
{
	unsigned life = t->resumption_lifetime, rotation = t->ticket_rotation;

	if (t->mode == MODE_CLIENT && (life || rotation || t->ticket_key_file)) {
		snprintf(err, errlen, "[%s] %s is a server-mode option: the server issues tickets",
			 t->name, t->ticket_key_file ? "ticket-key-file"
				  : life ? "resumption-lifetime" : "ticket-rotation");
		return -EINVAL;
	}
	if (life && rotation && rotation != TICKET_ROTATION_PER_LIFETIME * life) {
		snprintf(err, errlen, "[%s] ticket-rotation %u and resumption-lifetime %u disagree: "
			 "GnuTLS rotates the ticket key every %u ticket lifetimes (give one of them, "
			 "or ticket-rotation = %u)", t->name, rotation, life,
			 TICKET_ROTATION_PER_LIFETIME, TICKET_ROTATION_PER_LIFETIME * life);
		return -EINVAL;
	}
	if (t->mode == MODE_CLIENT)
		return 0;
	if (!life)
		life = rotation ? rotation / TICKET_ROTATION_PER_LIFETIME : RESUMPTION_LIFETIME_DEFAULT;
	t->resumption_lifetime = life;
	t->ticket_rotation = TICKET_ROTATION_PER_LIFETIME * life;
	return 0;
}

/* The running tunnel of that name whose option what has the same text, or NULL. */
static const struct ktun_addr *running_addr(const struct ktun_config *running, const char *name,
					    const char *what, const char *text)
{
	bool listen = !strcmp(what, "listen");

	for (size_t i = 0; running && i < running->n_tunnels; i++) {
		const struct tunnel_config *r = &running->tunnels[i];

		if (!strcmp(r->name, name) && !strcmp(listen ? r->listen : r->target, text))
			return listen ? &r->listen_addr : &r->target_addr;
	}
	return NULL;
}

static int parse_endpoint(const struct ktun_config *cfg, struct tunnel_config *t, const char *what,
			  const char *text, bool plain, bool unsafe, struct ktun_addr *out,
			  char *err, size_t errlen)
{
	const struct ktun_addr *before;
	char why[256];

	if (addr_parse(text, plain, out, why, sizeof(why)) < 0) {
		before = running_addr(cfg->running, t->name, what, text);
		if (!before) {
			snprintf(err, errlen, "[%s] %s '%s': %s", t->name, what, text, why);
			return -EINVAL;
		}
		log_warn("[%s] %s '%s': %s; keeping the address it had", t->name, what, text, why);
		*out = *before;
	}
	if (plain && !unsafe && !addr_is_local(out)) {
		snprintf(err, errlen, "[%s] %s '%s' is the plaintext side and must be loopback or "
			 "unix:PATH (use unsafe-%s to allow it)", t->name, what, text, what);
		return -EINVAL;
	}
	return 0;
}

/* The running tunnel of that name whose target list has the same text, or NULL. */
static const struct tunnel_config *running_targets(const struct ktun_config *running,
						   const struct tunnel_config *t)
{
	for (size_t i = 0; running && i < running->n_tunnels; i++) {
		const struct tunnel_config *r = &running->tunnels[i];

		if (!strcmp(r->name, t->name) && r->target && !strcmp(r->target, t->target))
			return r;
	}
	return NULL;
}

/* One entry of the target list: every address it resolves to is a target of its own. */
static int add_target_entry(const struct tunnel_config *t, const char *entry, bool server,
			    struct ktun_addr *out, size_t *n, char *err, size_t errlen)
{
	char why[256];
	int found = 0;

	if (*n == TARGETS_MAX) {
		snprintf(err, errlen, "[%s] target: more than %d addresses (at '%s')", t->name,
			 TARGETS_MAX, entry);
		return -E2BIG;
	}
	found = addr_parse_all(entry, server, &out[*n], TARGETS_MAX - *n, why, sizeof(why));
	if (found < 0) {
		snprintf(err, errlen, "[%s] target '%s': %s", t->name, entry, why);
		return found;
	}
	/* A name behind DNS round robin may give dozens: the first that fit are tried, in the
	 * resolver's order, as a single target took the first one before lists. */
	if ((size_t)found > TARGETS_MAX - *n) {
		log_notice("[%s] target '%s' resolves to %d addresses: the first %zu are used (at most "
			   "%d targets in all)", t->name, entry, found, TARGETS_MAX - *n, TARGETS_MAX);
		found = (int)(TARGETS_MAX - *n);
	}
	for (int k = 0; k < found; k++) {
		const struct ktun_addr *a = &out[*n + (size_t)k];

		if (server && !t->unsafe_target && !addr_is_local(a)) {
			snprintf(err, errlen, "[%s] target '%s' is the plaintext side and must be "
				 "loopback or unix:PATH (use unsafe-target to allow it)", t->name, entry);
			return -EINVAL;
		}
	}
	*n += (size_t)found;
	return 0;
}

/* "a:443, b:443": split at commas, each entry checked as a single target always was. */
static int parse_targets(struct tunnel_config *t, bool server, struct ktun_addr *out, size_t *n,
			 char *err, size_t errlen)
{
	char *list = strdup(t->target), *rest = list;
	int rc = list ? 0 : -ENOMEM;

	*n = 0;
	for (char *e = list ? strsep(&rest, ",") : NULL; e && rc == 0; e = strsep(&rest, ",")) {
		char *end = e + strlen(e);

		while (*e == ' ' || *e == '\t')
			e++;
		while (end > e && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (!*e) {
			snprintf(err, errlen, "[%s] target '%s': an empty entry", t->name, t->target);
			rc = -EINVAL;
		} else {
			rc = add_target_entry(t, e, server, out, n, err, errlen);
		}
	}
	free(list);
	return rc;
}

static int check_targets(const struct ktun_config *cfg, struct tunnel_config *t, char *err,
			 size_t errlen)
{
	const struct tunnel_config *before;
	struct ktun_addr *addrs = calloc(TARGETS_MAX, sizeof(*addrs));
	size_t n = 0;
	int rc;

	if (!addrs)
		return -ENOMEM;
	rc = parse_targets(t, t->mode == MODE_SERVER, addrs, &n, err, errlen);
	before = rc == -EINVAL || rc == -E2BIG ? NULL : running_targets(cfg->running, t);
	if (rc < 0 && before && (before->n_targets || before->target_addr.len)) {
		log_warn("%s; keeping the addresses it had", err);
		n = before->n_targets ? before->n_targets : 1;
		memcpy(addrs, before->n_targets ? before->target_addrs : &before->target_addr,
		       n * sizeof(*addrs));
		rc = 0;
	}
	if (rc < 0) {
		char why[CONFIG_ERR_MAX], where[PATH_MAX + 16];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "%s%s", config_key_where(t, "target", where, sizeof(where)), why);
		free(addrs);
		return rc == -ENOMEM ? rc : -EINVAL;
	}
	free(t->target_addrs);
	t->target_addrs = addrs;
	t->n_targets = n;
	t->target_addr = addrs[0];
	return 0;
}

/* A client checks the far ktund's name; several far ends must prove one name. */
static int check_target_names(const struct tunnel_config *t, char *err, size_t errlen)
{
	if (t->mode != MODE_CLIENT || t->server_name)
		return 0;
	if (!t->target_addr.host[0]) {
		snprintf(err, errlen, "[%s] cannot verify a server without a name", t->name);
		return -EINVAL;
	}
	for (size_t i = 1; i < t->n_targets; i++) {
		if (strcmp(t->target_addrs[i].host, t->target_addr.host)) {
			snprintf(err, errlen, "[%s] the targets have different names (%s, %s): set "
				 "server-name to the name every far ktund proves", t->name,
				 t->target_addr.host, t->target_addrs[i].host);
			return -EINVAL;
		}
	}
	return 0;
}

static int check_addresses(const struct ktun_config *cfg, struct tunnel_config *t, char *err,
			   size_t errlen)
{
	bool server = t->mode == MODE_SERVER;
	int rc;

	rc = parse_endpoint(cfg, t, "listen", t->listen, !server, t->unsafe_listen, &t->listen_addr,
			    err, errlen);
	if (rc < 0)
		return rc;
	if (t->from_client)
		return 0; /* each connection's CONNECT request names its own target */
	rc = check_targets(cfg, t, err, errlen);
	if (rc < 0)
		return rc;
	return check_target_names(t, err, errlen);
}

/* target = from-client lets an authenticated peer pick where the server connects: only the
 * allow-destination rules fence it, so there must be some, and they mean nothing elsewhere. */
static int check_destinations(struct tunnel_config *t, char *err, size_t errlen)
{
	t->from_client = t->target && !strcmp(t->target, "from-client");
	if (t->from_client && t->mode != MODE_SERVER) {
		snprintf(err, errlen, "[%s] target = from-client is a server-mode option", t->name);
		return -EINVAL;
	}
	if (t->from_client && !t->n_dests) {
		snprintf(err, errlen, "[%s] target = from-client needs at least one allow-destination "
			 "rule (CIDR:PORT[-PORT]): no destination is allowed implicitly", t->name);
		return -EINVAL;
	}
	if (!t->from_client && t->n_dests) {
		snprintf(err, errlen, "[%s] allow-destination needs target = from-client", t->name);
		return -EINVAL;
	}
	return 0;
}

/* A rule steers local connects to the tunnel's listener: a client tunnel's, over TCP, and
 * the connect hook can rewrite an IPv4 connect only to an IPv4 address. */
static int check_redirect_target(const struct tunnel_config *t, size_t index, char *err, size_t errlen)
{
	const char *why = NULL;

	if (t->mode != MODE_CLIENT)
		why = "redirect is a client-mode option: it steers plaintext into a tunnel";
	else if (addr_is_unix(&t->listen_addr))
		why = "redirect needs a TCP listen address, not a unix socket";
	else if (index >= REDIRECT_TUNNELS_MAX)
		why = "only the first 256 tunnels of a configuration can take redirect rules";
	if (why) {
		snprintf(err, errlen, "[%s] %s", t->name, why);
		return -EINVAL;
	}
	return 0;
}

static int check_redirects(const struct ktun_config *cfg, size_t i, size_t *total, char *err,
			   size_t errlen)
{
	const struct tunnel_config *t = &cfg->tunnels[i];
	char text[REDIRECT_RULE_TEXT_MAX];

	if (!t->n_redirects)
		return 0;
	if (check_redirect_target(t, i, err, errlen) < 0)
		return -EINVAL;
	*total += t->n_redirects;
	if (*total > REDIRECT_RULES_MAX) {
		snprintf(err, errlen, "[%s] more than %d redirect rules in all", t->name, REDIRECT_RULES_MAX);
		return -EINVAL;
	}
	for (size_t r = 0; r < t->n_redirects; r++) {
		if (t->redirects[r].family == AF_INET && t->listen_addr.ss.ss_family != AF_INET) {
			snprintf(err, errlen, "[%s] redirect %s: an IPv4 rule needs an IPv4 listen "
				 "address", t->name, redirect_rule_format(&t->redirects[r], text));
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++)
			for (size_t o = 0; o < cfg->tunnels[j].n_redirects; o++)
				if (redirect_rule_equal(&cfg->tunnels[j].redirects[o], &t->redirects[r])) {
					snprintf(err, errlen, "[%s] redirect %s is also [%s]'s", t->name,
						 redirect_rule_format(&t->redirects[r], text),
						 cfg->tunnels[j].name);
					return -EINVAL;
				}
	}
	return 0;
}

/* destination: a client's, "original" (from the redirector) or a HOST:PORT checked here
 * and resolved by the relay, never by us (the name may only resolve beyond the tunnel). */
static int check_destination(struct tunnel_config *t, char *err, size_t errlen)
{
	char why[128];

	t->destination_mode = DESTINATION_NONE;
	if (!t->destination)
		return 0;
	if (t->mode != MODE_CLIENT) {
		snprintf(err, errlen, "[%s] destination is a client-mode option: it names where the "
			 "far side connects", t->name);
		return -EINVAL;
	}
	if (!strcmp(t->destination, "original")) {
		t->destination_mode = DESTINATION_ORIGINAL;
		return 0;
	}
	if (connect_authority_parse(t->destination, t->destination_authority, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "[%s] destination '%s': %s (or 'original')", t->name,
			 t->destination, why);
		return -EINVAL;
	}
	t->destination_mode = DESTINATION_FIXED;
	return 0;
}

/* A pooled connection sends nothing until an application takes it; the far server learns it
 * is in use, and connects to an origin, only from the CONNECT request of a destination. A
 * fixed-target server would connect at the handshake, for every pooled connection. */
static int check_pool(struct tunnel_config *t, char *err, size_t errlen)
{
	char where[CONFIG_ERR_MAX / 2];

	if (!t->pool)
		return 0;
	config_key_where(t, "pool", where, sizeof(where));
	if (t->mode != MODE_CLIENT) {
		snprintf(err, errlen, "%s[%s] pool is a client-mode option", where, t->name);
		return -EINVAL;
	}
	if (t->destination_mode == DESTINATION_NONE) {
		snprintf(err, errlen, "%s[%s] pool = %u needs destination (original or HOST:PORT), "
			 "and the far ktund target = from-client: a pooled connection must tell the "
			 "server when it is taken, or the server would connect to its target for "
			 "every idle one", where, t->name, t->pool);
		return -EINVAL;
	}
	return 0;
}

static int check_unique(const struct ktun_config *cfg, size_t i, char *err, size_t errlen)
{
	const struct tunnel_config *t = &cfg->tunnels[i];

	for (size_t j = 0; j < i; j++) {
		const struct tunnel_config *o = &cfg->tunnels[j];

		if (!strcmp(o->name, t->name)) {
			snprintf(err, errlen, "tunnel [%s] is defined twice", t->name);
			return -EINVAL;
		}
		if (o->listen_addr.len == t->listen_addr.len &&
		    !memcmp(&o->listen_addr.ss, &t->listen_addr.ss, t->listen_addr.len)) {
			snprintf(err, errlen, "[%s] and [%s] listen on the same address", o->name, t->name);
			return -EINVAL;
		}
	}
	return 0;
}

static int check_metrics_listen(struct ktun_config *cfg, char *err, size_t errlen)
{
	char why[256];

	if (!cfg->metrics_listen)
		return 0;
	if (addr_parse(cfg->metrics_listen, false, &cfg->metrics_addr, why, sizeof(why)) < 0) {
		/* The metrics listener is bound once: a reload never uses this address. */
		if (cfg->running && cfg->running->metrics_listen &&
		    !strcmp(cfg->running->metrics_listen, cfg->metrics_listen)) {
			cfg->metrics_addr = cfg->running->metrics_addr;
			return 0;
		}
		snprintf(err, errlen, "metrics-listen '%s': %s", cfg->metrics_listen, why);
		return -EINVAL;
	}
	return 0;
}

int config_validate(struct ktun_config *cfg, char *err, size_t errlen)
{
	size_t redirects = 0;
	int rc;

	if (!cfg->n_tunnels) {
		snprintf(err, errlen, "no tunnel configured");
		return -EINVAL;
	}
	rc = check_metrics_listen(cfg, err, errlen);
	if (rc)
		return rc;
	for (size_t i = 0; i < cfg->n_tunnels; i++) {
		struct tunnel_config *t = &cfg->tunnels[i];

		rc = check_required(t, err, errlen);
		if (!rc)
			rc = check_policy(t, err, errlen);
		if (!rc)
			rc = check_ocsp(t, err, errlen);
		if (!rc)
			rc = check_resumption(t, err, errlen);
		if (!rc)
			rc = check_destinations(t, err, errlen);
		if (!rc)
			rc = check_addresses(cfg, t, err, errlen);
		if (!rc)
			rc = check_unique(cfg, i, err, errlen);
		if (!rc)
			rc = check_destination(t, err, errlen);
		if (!rc)
			rc = check_pool(t, err, errlen);
		if (!rc)
			rc = check_redirects(cfg, i, &redirects, err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}
