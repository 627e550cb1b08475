// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>

#include "cert_text.h"

static bool is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

bool cert_text_clean(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (is_control((unsigned char)s[i]))
			return false;
	return true;
}

/* One byte as it is written: itself, or \xHH. Returns its length. */
static size_t escape_one(unsigned char c, char out[static 5])
{
	if (is_control(c) || c == '"' || c == '\\')
		return (size_t)snprintf(out, 5, "\\x%02x", c);
	out[0] = (char)c;
	out[1] = '\0';
	return 1;
}

/* Writes whole escaped bytes into buf while they fit in room; returns how many bytes of s. */
static size_t escape_into(const char *s, size_t len, char *buf, size_t room, size_t *n)
{
	char one[5];
	size_t i;

	for (i = 0; i < len; i++) {
		size_t w = escape_one((unsigned char)s[i], one);

		if (*n + w > room)
			break;
		memcpy(buf + *n, one, w);
		*n += w;
	}
	return i;
}

void cert_text_escape(const char *s, size_t len, char *buf, size_t buflen)
{
	size_t n = 0;

	if (!buflen)
		return;
	if (escape_into(s, len, buf, buflen - 1, &n) < len && buflen > 3) {
		/* Cut: "..." says so, so that no reader takes what fits for all of it. */
		n = 0;
		escape_into(s, len, buf, buflen - 4, &n);
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
}
