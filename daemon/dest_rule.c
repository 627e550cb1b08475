// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dest_rule.h"

/* Pure parsing and matching over the configuration; no state of its own. */

/* The start of a second identity term in a value (" KIND=" with a known KIND), or NULL:
 * several terms on one line would otherwise be read as one value and never match. */
static const char *second_term(const char *value, char name[16])
{
	for (const char *p = strchr(value, ' '); p; p = strchr(p + 1, ' ')) {
		const char *word = p + strspn(p, " ");
		const char *eq = strchr(word, '=');
		size_t n = eq ? (size_t)(eq - word) : 0;

		if (!n || n >= 16 || memchr(word, ' ', n))
			continue;
		memcpy(name, word, n);
		name[n] = '\0';
		if (policy_kind_parse(name) >= 0)
			return word;
	}
	return NULL;
}

int dest_rule_parse(const char *value, struct dest_rule *out, char *err, size_t errlen)
{
	char net[REDIRECT_RULE_TEXT_MAX], canon[REDIRECT_RULE_TEXT_MAX], why[512];
	const char *space, *eq;
	char name[16];
	size_t len;
	int kind, rc;

	memset(out, 0, sizeof(*out));
	if (!value || !*value) {
		snprintf(err, errlen, "'allow-destination' needs CIDR:PORT[-PORT] [KIND=VALUE]");
		return -EINVAL;
	}
	space = strchr(value, ' ');
	len = space ? (size_t)(space - value) : strlen(value);
	if (len >= sizeof(net)) {
		snprintf(err, errlen, "allow-destination: '%.*s' is too long", (int)len, value);
		return -EINVAL;
	}
	memcpy(net, value, len);
	net[len] = '\0';
	rc = redirect_rule_parse(net, &out->net, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "allow-destination '%s': %s", net, why);
		return rc;
	}
	redirect_rule_format(&out->net, canon);
	snprintf(out->text, sizeof(out->text), "%s", canon);
	if (!space)
		return 0;
	while (*space == ' ')
		space++;
	eq = strchr(space, '=');
	kind = -1;
	if (eq && eq - space < 16) {
		memcpy(name, space, (size_t)(eq - space));
		name[eq - space] = '\0';
		kind = policy_kind_parse(name);
	}
	if (kind < 0 || kind == POLICY_ALL) {
		snprintf(err, errlen, "allow-destination '%s': after the destination, want one "
			 "KIND=VALUE with KIND cn, ou, dns, uri, fingerprint or serial", value);
		return -EINVAL;
	}
	if (second_term(eq + 1, name)) {
		snprintf(err, errlen, "allow-destination '%s': a second identity term '%s=' in one "
			 "rule (one KIND=VALUE per rule: write a rule for each identity)", value, name);
		return -EINVAL;
	}
	rc = policy_add(&out->who, (enum policy_kind)kind, eq + 1, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "allow-destination '%s': %s", value, why);
		return rc;
	}
	snprintf(out->text, sizeof(out->text), "%s %s=%s", canon, policy_kind_name((enum policy_kind)kind),
		 eq + 1);
	return 0;
}

int dest_rule_copy(struct dest_rule *dst, const struct dest_rule *src)
{
	*dst = *src;
	dst->allowed = 0;
	return policy_copy(&dst->who, &src->who);
}

void dest_rule_free(struct dest_rule *r)
{
	policy_free(&r->who);
}

static bool prefix_covers(const uint8_t *net, unsigned prefixlen, const uint8_t *addr)
{
	unsigned whole = prefixlen / 8, bits = prefixlen % 8;

	if (memcmp(net, addr, whole))
		return false;
	if (!bits)
		return true;
	return ((net[whole] ^ addr[whole]) & (uint8_t)(0xff << (8 - bits))) == 0;
}

bool dest_rule_covers(const struct dest_rule *r, const struct sockaddr *sa)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	const uint8_t *addr;
	int family = sa->sa_family;
	uint16_t port;

	if (family == AF_INET) {
		addr = (const uint8_t *)&sin->sin_addr;
		port = ntohs(sin->sin_port);
	} else if (family == AF_INET6) {
		addr = sin6->sin6_addr.s6_addr;
		port = ntohs(sin6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			family = AF_INET;
			addr += 12;
		}
	} else {
		return false;
	}
	return family == r->net.family && port >= r->net.port_lo && port <= r->net.port_hi &&
	       prefix_covers(r->net.addr, r->net.prefixlen, addr);
}

int dest_rules_match(const struct dest_rule *rules, size_t n, const struct sockaddr *sa,
		     gnutls_x509_crt_t crt)
{
	for (size_t i = 0; i < n; i++)
		if (dest_rule_covers(&rules[i], sa) && (!rules[i].who.n || policy_matches(&rules[i].who, crt)))
			return (int)i;
	return -1;
}
