/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_DEST_RULE_H
#define KTUN_DEST_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <gnutls/x509.h>

#include "policy.h"
#include "redirect_rule.h"

/*
 * allow-destination rules of a `target = from-client` server: where an admitted peer may ask
 * the server to connect. One rule per line, OR'd:
 *     CIDR:PORT[-PORT]              any admitted peer
 *     CIDR:PORT[-PORT] KIND=VALUE   only a peer whose certificate matches allow-KIND VALUE
 * with CIDR:PORT[-PORT] as for redirect (`10.0.0.0/8:5432`, `[2001:db8::/32]:443-444`) and KIND
 * one of the allow-* suffixes (cn, ou, dns, uri, fingerprint, serial), matched by policy.c.
 * Parsing and matching only; the destination phase applies them.
 */

#define DEST_RULES_MAX 64 /* per tunnel: each has its own metric series */
#define DEST_RULE_TEXT_MAX (REDIRECT_RULE_TEXT_MAX + 16 + POLICY_VALUE_MAX)

struct dest_rule {
	struct redirect_rule net;
	struct policy who;  /* empty: any peer the tunnel admitted */
	char text[DEST_RULE_TEXT_MAX]; /* canonical, for logs and metric labels */
	/* atomic: connections this rule let through, in a tunnel context's life (a reload
	 * starts a new count: a metric series per rule, not per address) */
	uint64_t allowed;
};

/* Returns 0 or -EINVAL/-ENOMEM with the reason in err. */
int dest_rule_parse(const char *value, struct dest_rule *out, char *err, size_t errlen);
int dest_rule_copy(struct dest_rule *dst, const struct dest_rule *src);
void dest_rule_free(struct dest_rule *r);
/* Whether the rule's network and ports cover sa (AF_INET or AF_INET6; an IPv4-mapped IPv6
 * address is taken as the IPv4 address it maps). */
bool dest_rule_covers(const struct dest_rule *r, const struct sockaddr *sa);
/* The index of the first rule that covers sa and admits crt, or -1. */
int dest_rules_match(const struct dest_rule *rules, size_t n, const struct sockaddr *sa,
		     gnutls_x509_crt_t crt);

#endif
