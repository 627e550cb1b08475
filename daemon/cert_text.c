// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>

#include "cert_text.h"

static bool is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* The code point of the well-formed UTF-8 sequence at s[0..len) (no overlong form, no
 * surrogate, at most U+10FFFF) and its length in *n, or -1. */
static long utf8_decode(const unsigned char *s, size_t len, size_t *n)
{
	static const long min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	long cp;

	if (s[0] < 0x80)
		*n = 1, cp = s[0];
	else if (s[0] >= 0xc2 && s[0] <= 0xdf)
		*n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		*n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		*n = 4, cp = s[0] & 0x07;
	else
		return -1;
	if (*n > len)
		return -1;
	for (size_t i = 1; i < *n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min[*n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	return cp;
}

/* Characters that change how the text around them reads: C0 and C1 controls, DEL, the line
 * and paragraph separators, and the bidirectional overrides and isolates (which can make a
 * log line show a name other than the one it holds). */
static bool is_hostile(long cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

bool cert_text_clean(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n;

	for (size_t i = 0; i < len; i += n) {
		long cp = utf8_decode(u + i, len - i, &n);

		if (cp < 0 || is_hostile(cp))
			return false;
	}
	return true;
}

/* One byte as it is written: itself, or \xHH. Returns its length. */
static size_t escape_one(unsigned char c, char out[static 5])
{
	if (is_control(c) || c >= 0x80 || c == '"' || c == '\\')
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
