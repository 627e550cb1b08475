// SPDX-License-Identifier: GPL-2.0-only
/* Prometheus label values (prom_label.c): what the text format must escape is escaped, so
 * configuration text cannot end a sample line or a label early. */
#include <stdlib.h>

#include "check.h"
#include "prom_label.h"

static void is(const char *text, const char *want)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	CHECK(out);
	if (!out)
		return;
	prom_label_put(out, text);
	fclose(out);
	CHECK_STR(buf, want);
	free(buf);
}

int main(void)
{
	is("10.0.0.0/8:80 ou=edge", "10.0.0.0/8:80 ou=edge");
	is("a\"b\\c", "a\\\"b\\\\c");
	is("ou=a\nktund_forged 1", "ou=a\\nktund_forged 1");
	is("\n\n", "\\n\\n");
	is("", "");
	return check_result();
}
