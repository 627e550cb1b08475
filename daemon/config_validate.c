// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

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
	return 0;
}

static int parse_endpoint(struct tunnel_config *t, const char *what, const char *text, bool plain,
			  bool unsafe, struct ktun_addr *out, char *err, size_t errlen)
{
	char why[256];

	if (addr_parse(text, plain, out, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "[%s] %s '%s': %s", t->name, what, text, why);
		return -EINVAL;
	}
	if (plain && !unsafe && !addr_is_local(out)) {
		snprintf(err, errlen, "[%s] %s '%s' is the plaintext side and must be loopback or "
			 "unix:PATH (use unsafe-%s to allow it)", t->name, what, text, what);
		return -EINVAL;
	}
	return 0;
}

static int check_addresses(struct tunnel_config *t, char *err, size_t errlen)
{
	bool server = t->mode == MODE_SERVER;
	int rc;

	rc = parse_endpoint(t, "listen", t->listen, !server, t->unsafe_listen, &t->listen_addr, err, errlen);
	if (rc < 0)
		return rc;
	rc = parse_endpoint(t, "target", t->target, server, t->unsafe_target, &t->target_addr, err, errlen);
	if (rc < 0)
		return rc;
	if (!server && !t->server_name && !t->target_addr.host[0]) {
		snprintf(err, errlen, "[%s] cannot verify a server without a name", t->name);
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

int config_validate(struct ktun_config *cfg, char *err, size_t errlen)
{
	int rc;

	if (!cfg->n_tunnels) {
		snprintf(err, errlen, "no tunnel configured");
		return -EINVAL;
	}
	for (size_t i = 0; i < cfg->n_tunnels; i++) {
		struct tunnel_config *t = &cfg->tunnels[i];

		rc = check_required(t, err, errlen);
		if (!rc)
			rc = check_policy(t, err, errlen);
		if (!rc)
			rc = check_addresses(t, err, errlen);
		if (!rc)
			rc = check_unique(cfg, i, err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}
