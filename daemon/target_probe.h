/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_TARGET_PROBE_H
#define KTUN_TARGET_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "target_set.h"

struct ktun;

/* GET /healthz?targets=1: whether each tunnel's targets (the origins of a server tunnel, the
 * far ktunds of a client tunnel) accept a TCP (or unix) connection now. Connects to all at
 * once, closes at once, sends nothing. */
struct target_reach {
	char target[ADDR_TEXT_MAX];
	bool reachable;
	char error[64]; /* why not: strerror, or "timed out" */
};

struct target_state {
	bool fixed;     /* the tunnel has fixed targets (not one each connection names) */
	size_t n;       /* of each */
	struct target_reach each[TARGETS_MAX];
	bool reachable; /* at least one of them is */
};

#define TARGET_PROBE_TIMEOUT_MS 2000
/* How long one round of probes answers every request: an unauthenticated endpoint must not
 * turn each GET into connections to every origin. */
#define TARGET_PROBE_CACHE_S 5

/* Fills out[i] for tunnel i (n entries, k->n_tunnels at most): probes, or repeats the last
 * round if it is less than TARGET_PROBE_CACHE_S old. Returns how many tunnels with fixed
 * targets reach none of them. Any thread; rounds do not overlap. */
size_t target_probe(struct ktun *k, struct target_state *out, size_t n);

#endif
