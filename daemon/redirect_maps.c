// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "daemon.h"
#include "log.h"
#include "redirect_internal.h"

/*
 * The redirect rules: kept here in precedence order (most specific first) and published to
 * the pinned maps, where the programs read them; changed at start, on reload and by the
 * control commands (redirect_control.c). Rules name tunnels by index in the maps and
 * by name across restarts (ktun_tunnels keeps the names), so a restart with a changed
 * configuration keeps the rules of tunnels that still exist. Main thread only.
 */

/* NULL if tunnel i can take rule, else why not. */
const char *redirect_maps_target_problem(const struct ktun *k, size_t i,
					 const struct redirect_rule *rule)
{
	const struct tunnel *t = &k->tunnels[i];

	if (t->mode != MODE_CLIENT)
		return "is not a client tunnel";
	if (addr_is_unix(&t->listen) || i >= REDIRECT_TUNNELS_MAX)
		return "cannot take redirect rules (unix listener, or past the first 256 tunnels)";
	if (rule->family == AF_INET && t->listen.ss.ss_family != AF_INET)
		return "has an IPv6 listener: an IPv4 rule needs an IPv4 one";
	return NULL;
}

int redirect_maps_find_tunnel(const struct ktun *k, const char *name)
{
	for (size_t i = 0; i < k->n_tunnels; i++)
		if (!strcmp(k->tunnels[i].name, name))
			return (int)i;
	return -1;
}

struct redirect_entry *redirect_maps_find(struct redirect *r, const struct redirect_rule *rule)
{
	for (size_t i = 0; i < r->n_rules; i++)
		if (redirect_rule_equal(&r->rules[i].rule, rule))
			return &r->rules[i];
	return NULL;
}

/* Inserted after every rule that takes precedence over it or ties with it. */
int redirect_maps_insert(struct redirect *r, const struct redirect_rule *rule, unsigned tunnel)
{
	size_t at = 0;

	if (r->n_rules == REDIRECT_RULES_MAX)
		return -ENOSPC;
	while (at < r->n_rules && redirect_rule_precedence(&r->rules[at].rule, rule) <= 0)
		at++;
	memmove(&r->rules[at + 1], &r->rules[at], (r->n_rules - at) * sizeof(r->rules[0]));
	r->rules[at] = (struct redirect_entry){ .rule = *rule, .tunnel = tunnel };
	r->n_rules++;
	return 0;
}

void redirect_maps_remove(struct redirect *r, struct redirect_entry *e)
{
	size_t at = (size_t)(e - r->rules);

	memmove(e, e + 1, (r->n_rules - at - 1) * sizeof(*e));
	r->n_rules--;
}

static struct ktun_rule rule_to_map(const struct redirect_entry *e)
{
	struct ktun_rule m = { .family = (uint8_t)e->rule.family, .prefixlen = (uint8_t)e->rule.prefixlen,
			       .port_lo = e->rule.port_lo, .port_hi = e->rule.port_hi,
			       .tunnel = (uint16_t)e->tunnel };

	memcpy(m.addr, e->rule.addr, sizeof(m.addr));
	for (unsigned w = 0; w < 4; w++) {
		int bits = (int)e->rule.prefixlen - 32 * (int)w;

		bits = bits < 0 ? 0 : bits > 32 ? 32 : bits;
		m.mask[w] = bits ? htonl(~0u << (32 - bits)) : 0;
	}
	return m;
}

static struct redirect_rule rule_from_map(const struct ktun_rule *m)
{
	struct redirect_rule rule = { .family = m->family, .prefixlen = m->prefixlen,
				      .port_lo = m->port_lo, .port_hi = m->port_hi };

	memcpy(rule.addr, m->addr, sizeof(rule.addr));
	return rule;
}

int redirect_maps_write_cfg(struct redirect *r)
{
	uint32_t zero = 0;

	return bpf_map_update_elem(r->cfg_fd, &zero, &r->cfg, BPF_ANY) < 0 ? -errno : 0;
}

int redirect_maps_publish(struct redirect *r)
{
	uint32_t next = (r->cfg.active & 1) ^ 1;
	int rc = 0;

	for (size_t i = 0; i < r->n_rules && rc == 0; i++) {
		struct ktun_rule m = rule_to_map(&r->rules[i]);
		uint32_t key = next * KTUN_RULES_MAX + (uint32_t)i;

		if (bpf_map_update_elem(r->rules_fd, &key, &m, BPF_ANY) < 0)
			rc = -errno;
	}
	/* The count of the idle half first, then the switch: a program reads `active` and then
	 * the count and rules of that half, which are complete by then. */
	r->cfg.n_rules[next] = (uint32_t)r->n_rules;
	if (rc == 0)
		rc = redirect_maps_write_cfg(r);
	if (rc == 0) {
		r->cfg.active = next;
		rc = redirect_maps_write_cfg(r);
	}
	if (rc < 0)
		log_err("redirect: writing the rule maps: %s", strerror(-rc));
	return rc;
}

/* Publishes the rule list, or, if the maps cannot be written, puts back the list as it was
 * (before) to keep it in step with the live half, which is still the old set. */
int redirect_maps_publish_or_restore(struct redirect *r, const struct redirect_entry *before,
				     size_t n_before)
{
	int rc = redirect_maps_publish(r);

	if (rc < 0) {
		memcpy(r->rules, before, n_before * sizeof(*before));
		r->n_rules = n_before;
		log_err("redirect: the rules stay as they were");
	}
	return rc;
}

static struct ktun_tunnel tunnel_entry(const struct ktun *k, size_t i)
{
	struct ktun_tunnel v = { 0 };
	const struct tunnel *t = &k->tunnels[i];
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&t->listen.ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&t->listen.ss;

	if (t->mode != MODE_CLIENT || addr_is_unix(&t->listen))
		return v;
	memcpy(v.name, t->name, sizeof(v.name));
	v.family = (uint8_t)t->listen.ss.ss_family;
	if (v.family == AF_INET) {
		/* A listener on 0.0.0.0 is reached at 127.0.0.1: the hooks need a real address. */
		v.addr4 = sin->sin_addr.s_addr ? sin->sin_addr.s_addr : htonl(INADDR_LOOPBACK);
		v.port = sin->sin_port;
		v.addr6[2] = htonl(0xffff);
		v.addr6[3] = v.addr4;
	} else {
		memcpy(v.addr6, IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr) ? &in6addr_loopback
									 : &sin6->sin6_addr, 16);
		v.port = sin6->sin6_port;
	}
	return v;
}

static int write_tunnels(struct redirect *r, const struct ktun *k)
{
	for (uint32_t i = 0; i < KTUN_TUNNELS_MAX; i++) {
		struct ktun_tunnel v = { 0 };

		if (i < k->n_tunnels)
			v = tunnel_entry(k, i);
		if (bpf_map_update_elem(r->tunnels_fd, &i, &v, BPF_ANY) < 0)
			return -errno;
	}
	return 0;
}

/* One rule a previous ktund left in the pins, kept if its tunnel (by name) still takes it. */
static void restore_one(struct redirect *r, const struct ktun *k, const struct ktun_rule *m)
{
	struct ktun_tunnel old = { 0 };
	uint32_t key = m->tunnel;
	struct redirect_rule rule = rule_from_map(m);
	char text[REDIRECT_RULE_TEXT_MAX];
	const char *why = "is not in this configuration";
	int i;

	bpf_map_lookup_elem(r->tunnels_fd, &key, &old);
	old.name[sizeof(old.name) - 1] = '\0';
	i = old.name[0] ? redirect_maps_find_tunnel(k, old.name) : -1;
	if (i >= 0)
		why = redirect_maps_target_problem(k, (size_t)i, &rule);
	if (!why && redirect_maps_find(r, &rule))
		return;
	if (!why && redirect_maps_insert(r, &rule, (unsigned)i) == 0)
		return;
	log_notice("redirect: dropping the pinned rule %s: tunnel [%s] %s",
		   redirect_rule_format(&rule, text), old.name, why ? why : "has one rule too many");
}

static void restore_pinned(struct redirect *r, const struct ktun *k)
{
	struct ktun_cfg old = { 0 };
	uint32_t zero = 0, set, n;

	if (bpf_map_lookup_elem(r->cfg_fd, &zero, &old) < 0)
		return;
	set = old.active & 1;
	n = old.n_rules[set] < KTUN_RULES_MAX ? old.n_rules[set] : KTUN_RULES_MAX;
	for (uint32_t i = 0; i < n; i++) {
		struct ktun_rule m;
		uint32_t key = set * KTUN_RULES_MAX + i;

		if (bpf_map_lookup_elem(r->rules_fd, &key, &m) == 0)
			restore_one(r, k, &m);
	}
	r->cfg.active = set;
	r->cfg.n_rules[set] = old.n_rules[set];
	if (n)
		log_notice("redirect: %zu rule(s) kept from the pinned maps", r->n_rules);
}

/* A rule of tunnel i's configuration, which wins over a pinned or ktunctl rule for the same
 * destination. Returns whether the rule set changed. */
static bool config_rule(struct redirect *r, const struct tunnel_config *tc, unsigned i,
			const struct redirect_rule *rule)
{
	struct redirect_entry *e = redirect_maps_find(r, rule);
	char text[REDIRECT_RULE_TEXT_MAX];

	if (e) {
		bool moved = e->tunnel != i;

		e->tunnel = i;
		return moved;
	}
	if (redirect_maps_insert(r, rule, i) == 0)
		return true;
	log_err("[%s] redirect %s left out: more than %d rules in all (ktunctl redirect del some)",
		tc->name, redirect_rule_format(rule, text), REDIRECT_RULES_MAX);
	return false;
}

static void apply_config(struct redirect *r, const struct ktun *k)
{
	for (size_t i = 0; i < k->n_tunnels; i++) {
		const struct tunnel_config *tc = &k->cfg.tunnels[i];

		for (size_t j = 0; j < tc->n_redirects; j++)
			config_rule(r, tc, (unsigned)i, &tc->redirects[j]);
	}
}

int redirect_maps_init(struct redirect *r, const struct ktun *k)
{
	int rc;

	restore_pinned(r, k);
	apply_config(r, k);
	rc = write_tunnels(r, k);
	if (rc < 0) {
		log_err("redirect unavailable: writing the tunnel map: %s", strerror(-rc));
		return rc;
	}
	return redirect_maps_publish(r);
}

/* Reload */

static bool lists_rule(const struct tunnel_config *tc, const struct redirect_rule *rule)
{
	for (size_t j = 0; j < tc->n_redirects; j++)
		if (redirect_rule_equal(&tc->redirects[j], rule))
			return true;
	return false;
}

static bool lines_changed(const struct ktun *k, const struct ktun_config *next)
{
	for (size_t i = 0; i < k->n_tunnels; i++) {
		const struct tunnel_config *was = &k->cfg.tunnels[i], *now = &next->tunnels[i];

		if (was->n_redirects != now->n_redirects)
			return true;
		for (size_t j = 0; j < was->n_redirects; j++)
			if (!lists_rule(now, &was->redirects[j]))
				return true;
	}
	return false;
}

/* Tunnel i's lines went from was to now: the rules the file dropped go (if the tunnel still
 * has them: ktunctl may have deleted them), and its lines are in force as after a start. */
static void reload_tunnel(struct redirect *r, unsigned i, const struct tunnel_config *was,
			  const struct tunnel_config *now, unsigned *added, unsigned *removed)
{
	for (size_t j = 0; j < was->n_redirects; j++) {
		struct redirect_entry *e = redirect_maps_find(r, &was->redirects[j]);

		if (e && e->tunnel == i && !lists_rule(now, &was->redirects[j])) {
			redirect_maps_remove(r, e);
			(*removed)++;
		}
	}
	for (size_t j = 0; j < now->n_redirects; j++)
		*added += config_rule(r, now, i, &now->redirects[j]);
}

/* The running configuration takes the lines now in force; the old ones go with next. */
static void follow_redirects(struct ktun *k, struct ktun_config *next)
{
	for (size_t i = 0; i < k->n_tunnels; i++) {
		struct tunnel_config *run = &k->cfg.tunnels[i], *now = &next->tunnels[i];
		struct redirect_rule *rules = run->redirects;
		size_t n = run->n_redirects;

		run->redirects = now->redirects;
		run->n_redirects = now->n_redirects;
		now->redirects = rules;
		now->n_redirects = n;
	}
}

void redirect_reload(struct ktun *k, struct ktun_config *next)
{
	struct redirect *r = k->redirect;
	struct redirect_entry before[REDIRECT_RULES_MAX];
	size_t n_before;
	unsigned added = 0, removed = 0;

	if (!r || r->rules_fd < 0) {
		if (lines_changed(k, next))
			log_warn("redirect lines changed, but the eBPF redirector is %s: restart ktund "
				 "for them", r ? "unavailable" : "not loaded");
		return;
	}
	memcpy(before, r->rules, sizeof(before));
	n_before = r->n_rules;
	for (size_t i = 0; i < k->n_tunnels; i++)
		reload_tunnel(r, (unsigned)i, &k->cfg.tunnels[i], &next->tunnels[i], &added, &removed);
	if ((added || removed) && redirect_maps_publish_or_restore(r, before, n_before) < 0)
		return;
	follow_redirects(k, next);
	if (added || removed)
		log_notice("redirect: reload added %u rule(s) and removed %u; %zu in force", added,
			   removed, r->n_rules);
}
