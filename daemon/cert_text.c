// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>

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

void cert_text_escape(const char *s, size_t len, char *buf, size_t buflen)
{
	size_t n = 0;

	if (!buflen)
		return;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_control(c) || c == '"' || c == '\\') {
			if (n + 4 >= buflen)
				break;
			snprintf(buf + n, 5, "\\x%02x", c);
			n += 4;
		} else {
			if (n + 1 >= buflen)
				break;
			buf[n++] = (char)c;
		}
	}
	buf[n] = '\0';
}
