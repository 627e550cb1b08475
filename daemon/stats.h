/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_STATS_H
#define KTUN_STATS_H

#include <stdint.h>

#include "reason.h"

/* Upper bounds of the handshake-duration histogram's buckets, in microseconds (and +Inf). */
#define HS_BUCKETS_US 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, \
		      1000000, 2500000, 5000000
#define HS_BUCKETS 12

/* Why a pooled connection left the client pool untaken (pool.c), as ktund_pool_discards_total's
 * reason label: replaced at pool-idle, made before a reload, closed or failed at the far end
 * once ready, failed before it was ready (connect, handshake), closed by a drain or stop. */
enum pool_discard { POOL_DISCARD_IDLE, POOL_DISCARD_RELOAD, POOL_DISCARD_CLOSED,
		    POOL_DISCARD_FAILED, POOL_DISCARD_SHUTDOWN, POOL_DISCARD_MAX };

/* Counters of one tunnel on one worker. Each worker writes only its own copy, so updates
 * need no atomic read-modify-write; the control thread sums the copies with relaxed loads. */
struct tunnel_stats {
	uint64_t conns_total;
	uint64_t handshakes_ok;
	uint64_t handshakes_resumed; /* of handshakes_ok, those that resumed a session */
	uint64_t bytes_up;   /* from the accepting side toward the target */
	uint64_t bytes_down;
	uint64_t reject[REASON_MAX];
	uint64_t close[REASON_MAX];
	uint64_t accept_errors;
	uint64_t conns_ktls, conns_userspace; /* by data path chosen after the handshake */
	uint64_t payload_userspace;           /* payload bytes encrypted or decrypted in userspace */
	uint64_t payload_copied;              /* kernel-decrypted payload copied through our buffers */
	uint64_t hs_buckets[HS_BUCKETS + 1];  /* successful handshakes by duration, last +Inf */
	uint64_t hs_sum_us;
	uint64_t pool_ready;                  /* a gauge: this worker's ready pooled connections */
	uint64_t pool_hits, pool_misses;      /* accepted connections that took one, or found none */
	uint64_t pool_discards[POOL_DISCARD_MAX];
	/* client resumption: a cached ticket offered or none, tickets cached, sessions resumed */
	uint64_t ticket_hits, ticket_misses, tickets_stored;
	/* resumed handshakes whose peer chain was in the verified-chain cache, was not, or
	 * (a stapled OCSP response) could not use it */
	uint64_t chain_cache_hits, chain_cache_misses, chain_cache_bypassed;
} __attribute__((aligned(64)));

static inline void stat_add(uint64_t *counter, uint64_t n)
{
	__atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static inline void stat_set(uint64_t *gauge, uint64_t v)
{
	__atomic_store_n(gauge, v, __ATOMIC_RELAXED);
}

static inline uint64_t stat_read(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

static inline void stat_handshake(struct tunnel_stats *s, uint64_t us)
{
	static const uint64_t bounds[HS_BUCKETS] = { HS_BUCKETS_US };
	unsigned b = 0;

	while (b < HS_BUCKETS && us > bounds[b])
		b++;
	stat_add(&s->hs_buckets[b], 1);
	stat_add(&s->hs_sum_us, us);
}

#endif
