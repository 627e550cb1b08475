/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_TARGET_SET_H
#define KTUN_TARGET_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/*
 * A tunnel's fixed targets (the origins of a server tunnel, the far ktunds of a client
 * tunnel) and their passive health: which one a new connection tries next, and which ones a
 * refused or timed-out connect has put in back-off. The addresses are fixed once built; the
 * health is atomics, shared by every worker that connects through the set (no lock on the
 * connect path). Time is passed in (monotonic ms), so the choice and the back-off can be
 * tested without waiting.
 */

#define TARGETS_MAX 16
#define TARGET_BACKOFF_DEFAULT_S 10
#define TARGET_BACKOFF_MAX_S 3600
/* A back-off doubles per consecutive failure up to this (or the base, if that is longer). */
#define TARGET_BACKOFF_CAP_MS (300 * 1000)

enum failover { FAILOVER_ORDERED, FAILOVER_ROUND_ROBIN };

struct target_health {
	unsigned fails;                /* atomic: consecutive failures; 0: up */
	int64_t retry_ms;              /* atomic: back-off ends (monotonic ms) */
	unsigned long long failures;   /* atomic: every failure, for the metric */
};

struct target_set {
	size_t n;
	struct ktun_addr addrs[TARGETS_MAX];
	struct target_health health[TARGETS_MAX];
	enum failover failover;
	unsigned backoff_ms;
	unsigned next; /* atomic: round-robin's turn */
};

/* The target a connection should try next, given the ones it tried (bit i: addrs[i]): a
 * target that is up or whose back-off is over, in list order (ordered) or from the shared
 * turn on (round-robin); when none is left, the untried one whose back-off ends first, so
 * that a connection gives up only once every target failed. -1 once every target was tried. */
int target_set_pick(struct target_set *s, uint32_t tried, int64_t now_ms);
/* Target i refused or timed out. Its back-off: backoff_ms, doubled per consecutive failure
 * up to TARGET_BACKOFF_CAP_MS. True if this took it down (to be logged once). *backoff_out
 * (may be NULL) gets the back-off in ms. */
bool target_set_failed(struct target_set *s, size_t i, int64_t now_ms, unsigned *backoff_out);
/* Target i took a connection. True if it was down (to be logged once). */
bool target_set_succeeded(struct target_set *s, size_t i);
bool target_set_up(const struct target_set *s, size_t i);
unsigned long long target_set_failures(const struct target_set *s, size_t i);
/* A reload's new set keeps the health of the targets the old one has too (same address). */
void target_set_carry(struct target_set *to, const struct target_set *from);
/* How many of a's addresses b has too. */
size_t target_set_common(const struct target_set *a, const struct target_set *b);
/* Whether the two sets list the same addresses in the same order. */
bool target_set_same(const struct target_set *a, const struct target_set *b);
const char *failover_name(enum failover f);

#endif
