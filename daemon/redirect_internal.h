/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_REDIRECT_INTERNAL_H
#define KTUN_REDIRECT_INTERNAL_H

/* Shared by redirect.c (programs), redirect_maps.c (rules), redirect_control.c (ktunctl's
 * commands) and redirect_status.c (status lines); nothing else includes it. */

#include "ktun_redirect.h"
#include "redirect.h"
#include "redirect_rule.h"

_Static_assert(KTUN_RULES_MAX == REDIRECT_RULES_MAX, "rule limits differ");
_Static_assert(KTUN_TUNNELS_MAX == REDIRECT_TUNNELS_MAX, "tunnel limits differ");
_Static_assert(KTUN_TUNNEL_NAME_MAX == TUNNEL_NAME_MAX, "tunnel name sizes differ");

struct redirect_entry {
	struct redirect_rule rule;
	unsigned tunnel; /* index into k->tunnels */
};

struct redirect {
	struct redirect_connect *local;  /* skeletons; NULL when not loaded */
	struct redirect_tc *routed;
	enum redirect_state local_state, routed_state;
	int pin_dir_fd;     /* held with flock: one ktund per pin directory */
	int cgroup_fd;
	int tcx_fd;         /* the tc program's link on redirect-interface (tcx), or -1 */
	int clsact_ifindex; /* else the interface its clsact filter is on, or 0 */
	/* Map fds (owned by the skeletons): the shared, pinned maps, then each object's own. */
	int rules_fd, tunnels_fd, cfg_fd;
	int orig_fd, local_stats_fd, routed_stats_fd, tproxy_fd;
	int ncpus;           /* possible CPUs, for per-CPU values: read at start, before a sandbox */
	struct ktun_cfg cfg; /* what the ktun_cfg map holds */
	struct redirect_entry rules[REDIRECT_RULES_MAX];
	size_t n_rules;
};

/* redirect_maps.c */
/* Fills ktun_tunnels for this configuration, takes the rules the pins kept (for tunnels
 * that still exist), adds the configuration's rules and publishes the set. */
int redirect_maps_init(struct redirect *r, const struct ktun *k);
/* Writes the rule set into the inactive half and makes it live. */
int redirect_maps_publish(struct redirect *r);
/* Rewrites the ktun_cfg element from r->cfg. */
int redirect_maps_write_cfg(struct redirect *r);
/* Publishes the rule list, or, if the maps cannot be written, puts back before (logged). */
int redirect_maps_publish_or_restore(struct redirect *r, const struct redirect_entry *before,
				     size_t n_before);
/* NULL if tunnel i can take rule, else why not. */
const char *redirect_maps_target_problem(const struct ktun *k, size_t i,
					 const struct redirect_rule *rule);
/* The index of the tunnel with this name, or -1. */
int redirect_maps_find_tunnel(const struct ktun *k, const char *name);
/* The entry with this rule (any tunnel), or NULL. */
struct redirect_entry *redirect_maps_find(struct redirect *r, const struct redirect_rule *rule);
/* Into the list in precedence order (not published); -ENOSPC when full. */
int redirect_maps_insert(struct redirect *r, const struct redirect_rule *rule, unsigned tunnel);
/* Out of the list (not published). */
void redirect_maps_remove(struct redirect *r, struct redirect_entry *e);

#endif
