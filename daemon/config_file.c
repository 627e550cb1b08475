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
	FILE *file;
	int line;       /* lines read so far: the one inih is working on */
	int entry_line; /* line of the last entry handled: of the error once rc < 0 */
	char *err;
	size_t errlen;
	int rc;
};

/* inih reads on after an error and returns the first error's line, but does not tell the
 * handler which line it is on: count lines here. Nor does it report section headers: forget
 * the current tunnel at each one, so that a section repeated right after itself is caught
 * as a repeat instead of being merged into the first. */
static char *read_line(char *line, int size, void *stream)
{
	struct ini_state *st = stream;

	if (!fgets(line, size, st->file))
		return NULL;
	st->line++;
	if (line[0] == '[')
		st->current = NULL;
	return line;
}

static bool valid_name(const char *name)
{
	if (!*name || strlen(name) >= TUNNEL_NAME_MAX)
		return false;
	for (const char *p = name; *p; p++)
		if (!(*p == '-' || *p == '_' || (*p >= '0' && *p <= '9') ||
		      ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')))
			return false;
	return true;
}

static int on_ini_entry(void *user, const char *section, const char *key, const char *value)
{
	struct ini_state *st = user;
	struct tunnel_config *t = NULL;
	char why[CONFIG_ERR_MAX];

	if (st->rc < 0)
		return 0; /* keep the first error, which ini_parse_stream's line number is about */
	st->entry_line = st->line;
	if (!*section) {
		snprintf(st->err, st->errlen, "'%s' is outside any section: put it under [global] "
			 "or a tunnel's [name]", key);
		st->rc = -EINVAL;
		return 0;
	}
	if (strcmp(section, "global")) {
		if (!valid_name(section)) {
			snprintf(st->err, st->errlen, "section [%s]: names use letters, digits, - and _ "
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
	int line;

	st.file = fopen(path, "r");
	if (!st.file) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -ENOENT;
	}
	line = ini_parse_stream(read_line, &st, on_ini_entry, &st);
	fclose(st.file);
	if (line == -2) {
		snprintf(err, errlen, "out of memory reading %s", path);
		return -ENOMEM;
	}
	if (line > 0) {
		char why[CONFIG_ERR_MAX];

		/* An error in an entry, unless a syntax error came first. */
		bool entry_error = st.rc < 0 && st.entry_line == line;

		if (entry_error)
			snprintf(why, sizeof(why), "%s", err);
		else
			snprintf(why, sizeof(why), "syntax error");
		snprintf(err, errlen, "%s:%d: %s", path, line, why);
		return entry_error ? st.rc : -EINVAL;
	}
	free(cfg->config_file);
	cfg->config_file = strdup(path);
	return cfg->config_file ? 0 : -ENOMEM;
}
