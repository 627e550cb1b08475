/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_REDIRECT_RULE_H
#define KTUN_REDIRECT_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A redirect rule as written: destinations `A.B.C.D[/N]:PORT[-PORT]` or
 * `[V6ADDR[/N]]:PORT[-PORT]`. Parsing and formatting only; the eBPF redirector
 * (redirect.c) turns rules into map entries. */

#define REDIRECT_RULE_TEXT_MAX 80
#define REDIRECT_RULES_MAX 64    /* rules in force at once, all tunnels together */
#define REDIRECT_TUNNELS_MAX 256 /* only the first 256 tunnels can be redirect targets */

struct redirect_rule {
	int family;          /* AF_INET or AF_INET6 */
	uint8_t addr[16];    /* network order, host bits cleared; IPv4 in the first 4 bytes */
	unsigned prefixlen;  /* 0-32 or 0-128 */
	uint16_t port_lo, port_hi;
};

/* Returns 0 or -EINVAL with the reason in err. Host bits set in the address are an error
 * (192.0.2.1/24 is refused: the operator meant something else). */
int redirect_rule_parse(const char *text, struct redirect_rule *out, char *err, size_t errlen);
const char *redirect_rule_format(const struct redirect_rule *r, char buf[static REDIRECT_RULE_TEXT_MAX]);
bool redirect_rule_equal(const struct redirect_rule *a, const struct redirect_rule *b);
/* Order of precedence: IPv4 before IPv6 (they never compete), then the longer prefix, then
 * the narrower port range; < 0 if a comes first, 0 for a tie. */
int redirect_rule_precedence(const struct redirect_rule *a, const struct redirect_rule *b);

#endif
