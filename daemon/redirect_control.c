// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "redirect_internal.h"

/* `ktunctl redirect add|del|list`: the command parsed and checked here, the rule set changed
 * and published by redirect_maps.c. Main thread only. */

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
	const char *why = redirect_maps_target_problem(k, (size_t)i, rule);

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
	int i = redirect_maps_find_tunnel(k, tunnel);
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
	e = redirect_maps_find(r, &rule);
	if (change_refused(k, add, i, &rule, e, out))
		return;
	memcpy(before, r->rules, sizeof(before));
	n_before = r->n_rules;
	if (add)
		redirect_maps_insert(r, &rule, (unsigned)i);
	else
		redirect_maps_remove(r, e);
	if (redirect_maps_publish_or_restore(r, before, n_before) < 0) {
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
