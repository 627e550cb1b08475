// SPDX-License-Identifier: GPL-2.0-only
/* addr_parse() on any text, with and without unix: allowed, and what the daemon does with a
 * parsed address: addr_is_local(), addr_is_unix(), addr_format(). A parsed IP address must
 * format to text that parses back to the same address (the audit log and `ktunctl conns`
 * print what addr_format() makes). */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "addr.h"
#include "fuzz.h"

static void same_address(const struct ktun_addr *a, const struct ktun_addr *b)
{
	const struct sockaddr_in *a4 = (const void *)&a->ss, *b4 = (const void *)&b->ss;
	const struct sockaddr_in6 *a6 = (const void *)&a->ss, *b6 = (const void *)&b->ss;

	if (a->ss.ss_family != b->ss.ss_family)
		abort();
	if (a->ss.ss_family == AF_INET &&
	    (a4->sin_port != b4->sin_port || a4->sin_addr.s_addr != b4->sin_addr.s_addr))
		abort();
	if (a->ss.ss_family == AF_INET6 &&
	    (a6->sin6_port != b6->sin6_port ||
	     memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr))))
		abort();
}

static void one(const char *text, bool allow_unix)
{
	struct ktun_addr a, again;
	char err[256], buf[ADDR_TEXT_MAX];

	err[0] = '\0';
	if (addr_parse(text, allow_unix, &a, err, sizeof(err)) < 0) {
		if (!err[0]) /* every refusal says why */
			abort();
		return;
	}
	(void)addr_is_local(&a);
	addr_format((const struct sockaddr *)&a.ss, a.len, buf);
	if (addr_is_unix(&a)) {
		if (!allow_unix || a.len > sizeof(struct sockaddr_un))
			abort();
		return;
	}
	if (addr_parse(buf, false, &again, err, sizeof(err)) < 0)
		abort();
	same_address(&a, &again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size > 4096)
		return 0;
	text = fuzz_strndup(data, size);
	one(text, false);
	one(text, true);
	free(text);
	return 0;
}
