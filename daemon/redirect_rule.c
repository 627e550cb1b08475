// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "redirect_rule.h"

static int parse_ports(const char *text, struct redirect_rule *r)
{
	char *end;
	unsigned long lo, hi;

	if (*text < '0' || *text > '9')
		return -EINVAL;
	lo = strtoul(text, &end, 10);
	hi = lo;
	if (*end == '-') {
		text = end + 1;
		if (*text < '0' || *text > '9')
			return -EINVAL;
		hi = strtoul(text, &end, 10);
	}
	if (*end || lo < 1 || hi > 65535 || lo > hi)
		return -EINVAL;
	r->port_lo = (uint16_t)lo;
	r->port_hi = (uint16_t)hi;
	return 0;
}

static int parse_prefixlen(const char *text, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!text) {
		*out = max;
		return 0;
	}
	if (*text < '0' || *text > '9')
		return -EINVAL;
	v = strtoul(text, &end, 10);
	if (*end || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static bool host_bits_clear(const struct redirect_rule *r)
{
	unsigned bytes = r->family == AF_INET ? 4 : 16;

	for (unsigned i = 0; i < bytes; i++) {
		unsigned first_bit = i * 8;
		uint8_t host_mask;

		if (first_bit + 8 <= r->prefixlen)
			continue;
		host_mask = first_bit >= r->prefixlen ? 0xff : (uint8_t)(0xff >> (r->prefixlen - first_bit));
		if (r->addr[i] & host_mask)
			return false;
	}
	return true;
}

/* Splits "CIDR:PORTS" (or "[CIDR]:PORTS") into its two parts, in place. */
static int split(char *text, char **cidr, char **ports)
{
	char *colon;

	if (text[0] == '[') {
		char *close = strchr(text, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		*close = '\0';
		*cidr = text + 1;
		*ports = close + 2;
		return 0;
	}
	colon = strchr(text, ':');
	if (!colon)
		return -EINVAL;
	*colon = '\0';
	*cidr = text;
	*ports = colon + 1;
	return strchr(*ports, ':') ? -EINVAL : 0;
}

int redirect_rule_parse(const char *text, struct redirect_rule *out, char *err, size_t errlen)
{
	char buf[REDIRECT_RULE_TEXT_MAX], *cidr, *ports, *slash;
	bool v6 = text[0] == '[';

	memset(out, 0, sizeof(*out));
	if (strlen(text) >= sizeof(buf))
		goto syntax;
	strcpy(buf, text);
	if (split(buf, &cidr, &ports) < 0)
		goto syntax;
	slash = strchr(cidr, '/');
	if (slash)
		*slash++ = '\0';
	out->family = v6 ? AF_INET6 : AF_INET;
	if (inet_pton(out->family, cidr, out->addr) != 1 ||
	    parse_prefixlen(slash, v6 ? 128 : 32, &out->prefixlen) < 0)
		goto syntax;
	if (parse_ports(ports, out) < 0) {
		snprintf(err, errlen, "redirect '%s': ports must be PORT or LOW-HIGH within 1-65535", text);
		return -EINVAL;
	}
	if (!host_bits_clear(out)) {
		snprintf(err, errlen, "redirect '%s': the address has bits set past the /%u prefix",
			 text, out->prefixlen);
		return -EINVAL;
	}
	return 0;
syntax:
	snprintf(err, errlen, "redirect '%s': expected A.B.C.D[/N]:PORT[-PORT] or "
		 "[IPV6[/N]]:PORT[-PORT]", text);
	return -EINVAL;
}

const char *redirect_rule_format(const struct redirect_rule *r, char buf[static REDIRECT_RULE_TEXT_MAX])
{
	char ip[INET6_ADDRSTRLEN], ports[16];
	bool v6 = r->family == AF_INET6;

	inet_ntop(r->family, r->addr, ip, sizeof(ip));
	if (r->port_lo == r->port_hi)
		snprintf(ports, sizeof(ports), "%u", r->port_lo);
	else
		snprintf(ports, sizeof(ports), "%u-%u", r->port_lo, r->port_hi);
	snprintf(buf, REDIRECT_RULE_TEXT_MAX, "%s%s/%u%s:%s", v6 ? "[" : "", ip, r->prefixlen,
		 v6 ? "]" : "", ports);
	return buf;
}

bool redirect_rule_equal(const struct redirect_rule *a, const struct redirect_rule *b)
{
	return a->family == b->family && a->prefixlen == b->prefixlen && a->port_lo == b->port_lo &&
	       a->port_hi == b->port_hi && !memcmp(a->addr, b->addr, sizeof(a->addr));
}

int redirect_rule_precedence(const struct redirect_rule *a, const struct redirect_rule *b)
{
	unsigned span_a = (unsigned)(a->port_hi - a->port_lo), span_b = (unsigned)(b->port_hi - b->port_lo);

	/* IPv4 and IPv6 rules never match the same destination: IPv4 first, for a tidy list. */
	if (a->family != b->family)
		return a->family == AF_INET ? -1 : 1;
	if (a->prefixlen != b->prefixlen)
		return a->prefixlen > b->prefixlen ? -1 : 1;
	if (span_a != span_b)
		return span_a < span_b ? -1 : 1;
	return 0;
}
