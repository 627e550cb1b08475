// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "ktunctl_json.h"

/*
 * ktunctl --json: the daemon's line-oriented answers as JSON documents (json-c). Numbers stay
 * numbers; everything else is a string. One function per answer shape.
 */

static struct json_object *value_of(const char *text)
{
	char *end;
	unsigned long long u;
	double d;

	if (!*text)
		return json_object_new_string("");
	errno = 0;
	u = strtoull(text, &end, 10);
	if (!*end && !errno && text[0] != '-' && text[0] != '+')
		return json_object_new_uint64(u);
	/* Written as the daemon wrote it ("0.820", an age in milliseconds): the nearest double
	 * would print as 0.81999999999999995. */
	d = strtod(text, &end);
	if (!*end && (text[0] == '-' || (text[0] >= '0' && text[0] <= '9')))
		return json_object_new_double_s(d, text);
	return json_object_new_string(text);
}

/* "tunnel.counter value" lines -> { "tunnel": { "counter": value, ... }, ... } */
static struct json_object *status_json(char *text)
{
	struct json_object *root = json_object_new_object();

	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *dot = strchr(line, '.'), *space = strchr(line, ' ');
		struct json_object *tunnel;

		if (!dot || !space || dot > space)
			continue;
		*dot = *space = '\0';
		if (!json_object_object_get_ex(root, line, &tunnel)) {
			tunnel = json_object_new_object();
			json_object_object_add(root, line, tunnel);
		}
		json_object_object_add(tunnel, dot + 1, value_of(space + 1));
	}
	return root;
}

/* key=value key="quoted value" ... -> { "key": value, ... } */
static struct json_object *fields_json(char *line)
{
	struct json_object *obj = json_object_new_object();
	char *p = line;

	while (*p) {
		char *key, *val, *eq;

		while (*p == ' ')
			p++;
		key = p;
		eq = strchr(p, '=');
		if (!eq)
			break;
		*eq = '\0';
		val = eq + 1;
		if (*val == '"') {
			char *close = strchr(++val, '"');

			p = close ? close + 1 : val + strlen(val);
			if (close)
				*close = '\0';
			json_object_object_add(obj, key, json_object_new_string(val));
		} else {
			p = val + strcspn(val, " ");
			if (*p)
				*p++ = '\0';
			json_object_object_add(obj, key, value_of(val));
		}
	}
	return obj;
}

static struct json_object *conns_json(char *text)
{
	struct json_object *arr = json_object_new_array();

	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		json_object_array_add(arr, fields_json(line));
	return arr;
}

/* Prometheus text -> [ { "name": ..., "labels": { ... }, "value": ... }, ... ] */
static struct json_object *metrics_json(char *text)
{
	struct json_object *arr = json_object_new_array();

	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct json_object *m;
		char *brace, *value;

		if (line[0] == '#')
			continue;
		value = strrchr(line, ' ');
		if (!value)
			continue;
		*value++ = '\0';
		m = json_object_new_object();
		brace = strchr(line, '{');
		if (brace) {
			char *end = strrchr(brace, '}');

			*brace++ = '\0';
			if (end)
				*end = '\0';
			for (char *c = brace; *c; c++)
				if (*c == ',' && c[-1] == '"')
					*c = ' ';
			json_object_object_add(m, "labels", fields_json(brace));
		}
		json_object_object_add(m, "name", json_object_new_string(line));
		json_object_object_add(m, "value", value_of(value));
		json_object_array_add(arr, m);
	}
	return arr;
}

/* Anything else: the lines as an array of strings ("redirect list", "reload ok", ...). */
static struct json_object *lines_json(char *text)
{
	struct json_object *arr = json_object_new_array();

	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		json_object_array_add(arr, json_object_new_string(line));
	return arr;
}

int ktunctl_print_json(FILE *out, const char *command, char *answer, bool failed)
{
	struct json_object *doc;

	if (failed) {
		doc = json_object_new_object();
		answer[strcspn(answer, "\n")] = '\0';
		json_object_object_add(doc, "error", json_object_new_string(
			!strncmp(answer, "error: ", 7) ? answer + 7 : answer));
	} else if (!strcmp(command, "status")) {
		doc = status_json(answer);
	} else if (!strcmp(command, "conns") || !strcmp(command, "peers")) {
		doc = conns_json(answer);
	} else if (!strcmp(command, "metrics")) {
		doc = metrics_json(answer);
	} else {
		doc = lines_json(answer);
	}
	if (!doc)
		return -ENOMEM;
	fprintf(out, "%s\n", json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
								  JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(doc);
	return 0;
}
