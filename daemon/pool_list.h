/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_POOL_LIST_H
#define KTUN_POOL_LIST_H

#include <stdbool.h>
#include <stdint.h>

#include "stats.h"

struct conn;
struct tunnel_ctx;

/*
 * One worker's share of one client tunnel's warm pool: the established connections ready to
 * be taken, and the bookkeeping of its refill. Owned and touched by that worker only (pool.c
 * fills and takes, the pool phase adds a connection once it is established); no lock.
 */
struct pool {
	struct conn *ready;    /* ready connections, newest first (conn.pool_next) */
	unsigned n_ready;      /* in that list, closing ones included until freed */
	unsigned n_pending;    /* made by the pool, not yet ready, not freed */
	unsigned want;         /* this worker's share of the tunnel's pool size */
	bool enabled;          /* the tunnel has a pool (a take that finds none is a miss) */
	/* Back-off rounds (one per outage, however many connections it closed) since one was
	 * last taken or lived to pool-idle: a far side that refuses us only after the handshake
	 * must not make the refill spin. */
	unsigned failures;
	int64_t retry_ms;      /* back-off: no new pooled connection before this */
	bool failing;          /* the failure was logged: the recovery is, once */
	struct tunnel_ctx *ctx; /* the context the back-off is about (a reference), NULL at first */
};

/* The pool c's tunnel has on c's worker. */
struct pool *pool_of(const struct conn *c);
/* c, a pooled connection that finished its handshake, is ready to be taken. */
void pool_list_add(struct conn *c);
/* c leaves the ready list (taken, or freed). */
void pool_list_remove(struct conn *c);
/* ktund_pool_discards_total's reason label. */
const char *pool_discard_name(enum pool_discard d);

#endif
