// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ini.h>

#include "config.h"

/* INI loading with inih: [global] holds daemon options, every other section is a tunnel
 * named after it. Repeated keys (allow-cn, ...) add rules. */

struct ini_state {
	struct ktun_config *cfg;
	struct tunnel_config *current;
	char *err;
	size_t errlen;
	int rc;
};

static bool valid_name(const char *name)
{
	if (!*name || strlen(name) >= TUNNEL_NAME_MAX)
		return false;
	for (const char *p = name; *p; p++)
		if (!(*p == '-' || *p == '_' || *p == '.' || (*p >= '0' && *p <= '9') ||
		      ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')))
			return false;
	return true;
}

static int on_ini_entry(void *user, const char *section, const char *key, const char *value)
{
	struct ini_state *st = user;
	struct tunnel_config *t = NULL;
	char why[CONFIG_ERR_MAX];

	if (strcmp(section, "global")) {
		if (!valid_name(section)) {
			snprintf(st->err, st->errlen, "section [%s]: names use letters, digits, - _ . "
				 "(at most %d)", section, TUNNEL_NAME_MAX - 1);
			st->rc = -EINVAL;
			return 0;
		}
		if (!st->current || strcmp(st->current->name, section)) {
			for (size_t i = 0; i < st->cfg->n_tunnels; i++)
				if (!strcmp(st->cfg->tunnels[i].name, section)) {
					snprintf(st->err, st->errlen, "section [%s] appears twice", section);
					st->rc = -EINVAL;
					return 0;
				}
			st->current = config_add_tunnel(st->cfg, section);
			if (!st->current) {
				st->rc = -ENOMEM;
				snprintf(st->err, st->errlen, "out of memory");
				return 0;
			}
		}
		t = st->current;
	}
	st->rc = config_set(st->cfg, t, key, value, why, sizeof(why));
	if (st->rc < 0) {
		snprintf(st->err, st->errlen, "[%s] %s", section, why);
		return 0;
	}
	return 1;
}

int config_load_file(struct ktun_config *cfg, const char *path, char *err, size_t errlen)
{
	struct ini_state st = { .cfg = cfg, .err = err, .errlen = errlen };
	int line = ini_parse(path, on_ini_entry, &st);

	if (line == -1) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -ENOENT;
	}
	if (line == -2) {
		snprintf(err, errlen, "out of memory reading %s", path);
		return -ENOMEM;
	}
	if (line > 0) {
		char why[CONFIG_ERR_MAX];

		if (st.rc < 0)
			snprintf(why, sizeof(why), "%s", err);
		else
			snprintf(why, sizeof(why), "syntax error");
		snprintf(err, errlen, "%s:%d: %s", path, line, why);
		return st.rc < 0 ? st.rc : -EINVAL;
	}
	free(cfg->config_file);
	cfg->config_file = strdup(path);
	return cfg->config_file ? 0 : -ENOMEM;
}
