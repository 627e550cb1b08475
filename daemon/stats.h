/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_STATS_H
#define KTUN_STATS_H

#include <stdint.h>

#include "reason.h"

/* Counters of one tunnel on one worker. Each worker writes only its own copy, so updates
 * need no atomic read-modify-write; the control thread sums the copies with relaxed loads. */
struct tunnel_stats {
	uint64_t conns_total;
	uint64_t handshakes_ok;
	uint64_t bytes_up;   /* from the accepting side toward the target */
	uint64_t bytes_down;
	uint64_t reject[REASON_MAX];
	uint64_t close[REASON_MAX];
	uint64_t accept_errors;
	uint64_t conns_ktls, conns_userspace; /* by data path chosen after the handshake */
	uint64_t payload_userspace;           /* payload bytes that passed through our buffers */
} __attribute__((aligned(64)));

static inline void stat_add(uint64_t *counter, uint64_t n)
{
	__atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static inline uint64_t stat_read(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

#endif
