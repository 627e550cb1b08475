// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ini.h>

#include "config.h"
#include "file_read.h"

/* INI loading with inih: [global] holds daemon options, every other section is a tunnel
 * named after it. Repeated keys (allow-cn, ...) add rules. */

struct ini_state {
	struct ktun_config *cfg;
	const char *path;
	struct tunnel_config *current;
	const char *next, *end; /* the part of the file inih has not been given yet */
	int line;       /* lines read so far: the one inih is working on */
	int entry_line; /* line of the last entry handled: of the error once rc < 0 */
	int bad_line;   /* a line read_line() refused, which ends the parse; 0: none */
	char bad_why[64];
	char header[TUNNEL_NAME_MAX + 1]; /* the last [section] line's name, as written */
	char *err;
	size_t errlen;
	int rc;
};

/* Debian's libinih has its build options as variables: give it a heap line buffer of the
 * length ktund allows. Any other libinih keeps its own fixed buffer, and read_line() holds
 * lines to that instead. */
static void inih_setup(void)
{
#if KTUN_INIH_RUNTIME_OPTIONS
	ini_use_stack = false;
	ini_allow_realloc = false;
	ini_initial_alloc = CONFIG_LINE_MAX + 3;
	ini_max_line = CONFIG_LINE_MAX + 3;
	ini_allow_multiline = false; /* read_line() already makes every line its own */
#endif
}

/* Refuses a line inih would not take whole: longer than its buffer (it would split it, and
 * the tail would be read as a line of its own) or with a NUL byte (it would end the line
 * there). */
static bool take_line(struct ini_state *st, const char *line, size_t len, int size)
{
	size_t text = len, limit = (size_t)size - 3; /* inih needs room for "\r\n" and a NUL */

	if (limit > CONFIG_LINE_MAX)
		limit = CONFIG_LINE_MAX;
	if (text && line[text - 1] == '\n')
		text--;
	if (text && line[text - 1] == '\r')
		text--;
	if (text > limit)
		snprintf(st->bad_why, sizeof(st->bad_why), "line longer than %zu characters", limit);
	else if (memchr(line, '\0', len))
		snprintf(st->bad_why, sizeof(st->bad_why), "NUL byte in line");
	else
		return true;
	st->bad_line = st->line;
	return false;
}

/* Serves inih the file from memory, one whole line per call. inih reads on after an error
 * and returns the first error's line, but does not tell the handler which line it is on:
 * count lines here. Nor does it report section headers: forget the current tunnel at each
 * one, so that a section repeated right after itself is caught as a repeat instead of being
 * merged into the first; and keep the name as written, which inih cuts to its own buffer.
 * Leading blanks (and carriage returns, which inih's own trimming drops too) are dropped, so
 * that an indented line is an ordinary one and never inih's continuation of the previous
 * value, which would add a rule no key names. */
static char *read_line(char *line, int size, void *stream)
{
	struct ini_state *st = stream;
	const char *start = st->next, *nl;
	size_t len;

	if (start >= st->end || st->bad_line)
		return NULL;
	nl = memchr(start, '\n', (size_t)(st->end - start));
	len = (size_t)((nl ? nl + 1 : st->end) - start);
	st->next = start + len;
	st->line++;
	if (!take_line(st, start, len, size))
		return NULL;
	/* A UTF-8 byte order mark (editors on other systems write one) is not part of line 1:
	 * left there, the first [section] would not be seen as one. */
	if (st->line == 1 && len >= 3 && !memcmp(start, "\xef\xbb\xbf", 3)) {
		start += 3;
		len -= 3;
	}
	while (len > 1 && (*start == ' ' || *start == '\t' || *start == '\f' || *start == '\v' ||
			   *start == '\r')) {
		start++;
		len--;
	}
	memcpy(line, start, len);
	line[len] = '\0';
	if (line[0] == '[') {
		st->current = NULL;
		snprintf(st->header, sizeof(st->header), "%.*s", (int)strcspn(line + 1, "]"), line + 1);
	}
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
	int before;

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
		if (strcmp(section, st->header)) {
			snprintf(st->err, st->errlen, "section [%s...]: names are at most %zu "
				 "characters", section, strlen(section));
			st->rc = -EINVAL;
			return 0;
		}
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
	/* inih hands over every entry alike: without this the second of two settings would
	 * silently win. */
	before = config_key_seen(st->cfg, t, key, st->line);
	if (before) {
		snprintf(st->err, st->errlen, "[%s] '%s' is set twice in this section, first at %s:%d: "
			 "keep one (only allow-*, verify-* and redirect may repeat)", section, key,
			 st->path, before);
		st->rc = -EINVAL;
		return 0;
	}
	st->rc = config_set(st->cfg, t, key, value, why, sizeof(why));
	if (st->rc < 0) {
		snprintf(st->err, st->errlen, "[%s] %s", section, why);
		return 0;
	}
	return 1;
}

static int parse_error(const struct ini_state *st, const char *path, int line, char *err,
		       size_t errlen)
{
	char why[CONFIG_ERR_MAX];
	/* An error in an entry, unless a syntax error came first. */
	bool entry_error = st->rc < 0 && st->entry_line == line;

	if (line == -2) {
		snprintf(err, errlen, "out of memory reading %s", path);
		return -ENOMEM;
	}
	if (line <= 0) { /* inih saw no error before the line read_line() refused */
		snprintf(err, errlen, "%s:%d: %s", path, st->bad_line, st->bad_why);
		return -EINVAL;
	}
	if (entry_error)
		snprintf(why, sizeof(why), "%s", err);
	else
		snprintf(why, sizeof(why), "syntax error");
	snprintf(err, errlen, "%s:%d: %s", path, line, why);
	return entry_error ? st->rc : -EINVAL;
}

int config_load_file(struct ktun_config *cfg, const char *path, char *err, size_t errlen)
{
	struct ini_state st = { .cfg = cfg, .path = path, .err = err, .errlen = errlen };
	struct file_data file;
	char why[CONFIG_ERR_MAX];
	int rc = file_read_bounded(path, FILE_MAX_CONFIG, &file, why, sizeof(why)), line;

	if (rc < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, why);
		return rc;
	}
	st.next = (const char *)file.data;
	st.end = st.next + file.len;
	inih_setup();
	line = ini_parse_stream(read_line, &st, on_ini_entry, &st);
	file_data_free(&file);
	if (line != 0 || st.bad_line)
		return parse_error(&st, path, line, err, errlen);
	free(cfg->config_file);
	cfg->config_file = strdup(path);
	for (size_t i = 0; i < cfg->n_tunnels; i++)
		cfg->tunnels[i].config_file = cfg->config_file;
	return cfg->config_file ? 0 : -ENOMEM;
}
