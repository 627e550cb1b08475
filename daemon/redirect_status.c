// SPDX-License-Identifier: GPL-2.0-only
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <bpf/bpf.h>

#include "daemon.h"
#include "redirect_internal.h"

/* The redirector's lines in `ktunctl status`: each program's state, the rule count and the
 * per-CPU counters summed. Main thread only. */

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

void redirect_status_write(const struct ktun *k, size_t i, FILE *out)
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
