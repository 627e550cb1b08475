// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "daemon.h"
#include "log.h"
#include "redirect_internal.h"

/*
 * The redirect rules: kept here in precedence order (most specific first) and published to
 * the pinned maps, where the programs read them. Rules name tunnels by index in the maps and
 * by name across restarts (ktun_tunnels keeps the names), so a restart with a changed
 * configuration keeps the rules of tunnels that still exist. Main thread only.
 */

/* NULL if tunnel i can take rule, else why not. */
static const char *target_problem(const struct ktun *k, size_t i, const struct redirect_rule *rule)
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

static int find_tunnel(const struct ktun *k, const char *name)
{
	for (size_t i = 0; i < k->n_tunnels; i++)
		if (!strcmp(k->tunnels[i].name, name))
			return (int)i;
	return -1;
}

static struct redirect_entry *find_rule(struct redirect *r, const struct redirect_rule *rule)
{
	for (size_t i = 0; i < r->n_rules; i++)
		if (redirect_rule_equal(&r->rules[i].rule, rule))
			return &r->rules[i];
	return NULL;
}

/* Inserted after every rule that takes precedence over it or ties with it. */
static int insert_rule(struct redirect *r, const struct redirect_rule *rule, unsigned tunnel)
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

static void remove_rule(struct redirect *r, struct redirect_entry *e)
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
static int publish_or_restore(struct redirect *r, const struct redirect_entry *before, size_t n_before)
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
	i = old.name[0] ? find_tunnel(k, old.name) : -1;
	if (i >= 0)
		why = target_problem(k, (size_t)i, &rule);
	if (!why && find_rule(r, &rule))
		return;
	if (!why && insert_rule(r, &rule, (unsigned)i) == 0)
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
	struct redirect_entry *e = find_rule(r, rule);
	char text[REDIRECT_RULE_TEXT_MAX];

	if (e) {
		bool moved = e->tunnel != i;

		e->tunnel = i;
		return moved;
	}
	if (insert_rule(r, rule, i) == 0)
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
		struct redirect_entry *e = find_rule(r, &was->redirects[j]);

		if (e && e->tunnel == i && !lists_rule(now, &was->redirects[j])) {
			remove_rule(r, e);
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
	if ((added || removed) && publish_or_restore(r, before, n_before) < 0)
		return;
	follow_redirects(k, next);
	if (added || removed)
		log_notice("redirect: reload added %u rule(s) and removed %u; %zu in force", added,
			   removed, r->n_rules);
}

/* Control commands */

static struct redirect *usable(struct ktun *k, FILE *out)
{
	struct redirect *r = k->redirect;

	if (!r)
		fprintf(out, "error: the eBPF redirector is off (give a tunnel a redirect rule, or set "
			"bpf-cgroup or redirect-interface)\n");
	else if (r->rules_fd < 0)
		fprintf(out, "error: the eBPF redirector is unavailable (ktund's log says why)\n");
	return r && r->rules_fd >= 0 ? r : NULL;
}

static void list_rules(struct ktun *k, FILE *out)
{
	struct redirect *r = usable(k, out);
	char text[REDIRECT_RULE_TEXT_MAX];

	for (size_t i = 0; r && i < r->n_rules; i++)
		fprintf(out, "%s %s\n", k->tunnels[r->rules[i].tunnel].name,
			redirect_rule_format(&r->rules[i].rule, text));
}

/* Whether `redirect add|del` of rule to tunnel i must be refused; if so, why is written to out. */
static bool change_refused(struct ktun *k, bool add, int i, const struct redirect_rule *rule,
			   const struct redirect_entry *e, FILE *out)
{
	char canon[REDIRECT_RULE_TEXT_MAX];
	const char *why = target_problem(k, (size_t)i, rule);

	redirect_rule_format(rule, canon);
	if (add && why)
		fprintf(out, "error: [%s] %s\n", k->tunnels[i].name, why);
	else if (add && e)
		fprintf(out, "error: %s already goes to [%s]\n", canon, k->tunnels[e->tunnel].name);
	else if (add && k->redirect->n_rules == REDIRECT_RULES_MAX)
		fprintf(out, "error: %d rules already\n", REDIRECT_RULES_MAX);
	else if (!add && (!e || e->tunnel != (unsigned)i))
		fprintf(out, "error: [%s] has no rule %s\n", k->tunnels[i].name, canon);
	else
		return false;
	return true;
}

static void change_rule(struct ktun *k, bool add, const char *tunnel, const char *text, FILE *out)
{
	struct redirect *r = usable(k, out);
	struct redirect_entry *e, before[REDIRECT_RULES_MAX];
	struct redirect_rule rule;
	char err[256], canon[REDIRECT_RULE_TEXT_MAX];
	int i = find_tunnel(k, tunnel);
	size_t n_before;

	if (!r)
		return;
	if (i < 0) {
		fprintf(out, "error: no tunnel [%s]\n", tunnel);
		return;
	}
	if (redirect_rule_parse(text, &rule, err, sizeof(err)) < 0) {
		fprintf(out, "error: %s\n", err);
		return;
	}
	e = find_rule(r, &rule);
	if (change_refused(k, add, i, &rule, e, out))
		return;
	memcpy(before, r->rules, sizeof(before));
	n_before = r->n_rules;
	if (add)
		insert_rule(r, &rule, (unsigned)i);
	else
		remove_rule(r, e);
	if (publish_or_restore(r, before, n_before) < 0) {
		fprintf(out, "error: writing the rule maps failed (ktund's log says why)\n");
		return;
	}
	redirect_rule_format(&rule, canon);
	log_notice("[%s] redirect %s %s (ktunctl)", tunnel, canon, add ? "added" : "removed");
	fprintf(out, "%s %s %s\n", add ? "added" : "removed", tunnel, canon);
}

void redirect_control(struct ktun *k, const char *args, FILE *out)
{
	/* One character more than a name or rule may have: a word sscanf cuts there is too long,
	 * never taken for a shorter one with its tail as the next word. */
	char verb[8], tunnel[TUNNEL_NAME_MAX + 1], rule[REDIRECT_RULE_TEXT_MAX + 1], extra[2];
	int n = sscanf(args, "%7s %64s %80s %1s", verb, tunnel, rule, extra);

	_Static_assert(TUNNEL_NAME_MAX == 64 && REDIRECT_RULE_TEXT_MAX == 80, "sscanf widths");
	if (n >= 2 && strlen(tunnel) >= TUNNEL_NAME_MAX)
		fprintf(out, "error: a tunnel name is at most %d characters\n", TUNNEL_NAME_MAX - 1);
	else if (n >= 3 && strlen(rule) >= REDIRECT_RULE_TEXT_MAX)
		fprintf(out, "error: a rule is at most %d characters\n", REDIRECT_RULE_TEXT_MAX - 1);
	else if (n == 1 && !strcmp(verb, "list"))
		list_rules(k, out);
	else if (n == 3 && (!strcmp(verb, "add") || !strcmp(verb, "del")))
		change_rule(k, verb[0] == 'a', tunnel, rule, out);
	else
		fprintf(out, "error: usage: redirect add TUNNEL RULE | redirect del TUNNEL RULE | "
			"redirect list\n");
}

/* Sum of one tunnel's per-CPU counters in a stats map. */
static struct ktun_stats sum_stats(const struct redirect *r, int fd, uint32_t tunnel)
{
	struct ktun_stats sum = { 0 }, *per_cpu;
	int cpus = r->ncpus;

	if (fd < 0 || cpus <= 0)
		return sum;
	per_cpu = calloc((size_t)cpus, sizeof(*per_cpu));
	if (per_cpu && bpf_map_lookup_elem(fd, &tunnel, per_cpu) == 0)
		for (int c = 0; c < cpus; c++) {
			sum.local += per_cpu[c].local;
			sum.routed += per_cpu[c].routed;
			sum.routed_miss += per_cpu[c].routed_miss;
		}
	free(per_cpu);
	return sum;
}

static const char *state_name(enum redirect_state s)
{
	return s == REDIRECT_ATTACHED ? "attached" : s == REDIRECT_UNAVAILABLE ? "unavailable" : "off";
}

void redirect_write_status(const struct ktun *k, size_t i, FILE *out)
{
	const struct redirect *r = k->redirect;
	const char *name = k->tunnels[i].name;
	struct ktun_stats local = { 0 }, routed = { 0 };
	size_t rules = 0;

	if (k->tunnels[i].mode != MODE_CLIENT)
		return;
	if (r) {
		for (size_t j = 0; j < r->n_rules; j++)
			rules += r->rules[j].tunnel == i;
		local = sum_stats(r, r->local_stats_fd, (uint32_t)i);
		routed = sum_stats(r, r->routed_stats_fd, (uint32_t)i);
	}
	fprintf(out, "%s.redirect_local %s\n%s.redirect_routed %s\n%s.redirect_rules %zu\n", name,
		state_name(r ? r->local_state : REDIRECT_OFF), name,
		state_name(r ? r->routed_state : REDIRECT_OFF), name, rules);
	fprintf(out, "%s.redirected_local %llu\n%s.redirected_routed %llu\n%s.redirect_routed_miss %llu\n",
		name, (unsigned long long)local.local, name, (unsigned long long)routed.routed, name,
		(unsigned long long)routed.routed_miss);
}
