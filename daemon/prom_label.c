// SPDX-License-Identifier: GPL-2.0-only
#include "prom_label.h"

/* The text format's label values escape backslash, double quote and line feed (as \n); a raw
 * line feed would end the sample line and let configuration text forge series. policy.c
 * refuses control characters in identity terms today: this does not rely on it. */
void prom_label_put(FILE *out, const char *text)
{
	for (; *text; text++) {
		if (*text == '\n') {
			fputs("\\n", out);
			continue;
		}
		if (*text == '\\' || *text == '"')
			fputc('\\', out);
		fputc(*text, out);
	}
}
