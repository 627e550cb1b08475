/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_POOL_H
#define KTUN_POOL_H

#include "pool_list.h"

struct conn;
struct tunnel;
struct worker;

/*
 * A client tunnel's warm pool (pool = N): each worker keeps its share of N established,
 * verified connections to the far ktund, parked in the pool phase (pool_wait.c), and hands
 * one to a connection its own listener accepted. No connection crosses threads. Worker
 * thread only.
 */

/* Room for w's pools, one per tunnel (all empty). */
int pool_init(struct worker *w);
void pool_destroy(struct worker *w);
/* The tick and a reload's wake-up: each tunnel's share from its current context, connections
 * made under a replaced context closed, then pool_fill. */
void pool_refresh(struct worker *w);
/* Starts connections until each share is made or in progress, unless backing off or
 * draining. */
void pool_fill(struct worker *w);
/* A ready connection of t for a connection w accepted, counted as a hit; NULL (a miss if t
 * has a pool) when none is ready. The caller adopts the socket and calls phase_take. */
struct conn *pool_take(struct worker *w, struct tunnel *t);
/* c, made by the pool and never taken, is about to be freed: counted as a discard, and if it
 * failed before it was ready, the refill backs off. */
void pool_forget(struct conn *c);
/* Draining: closes every connection of w's pools. */
void pool_drain(struct worker *w);

#endif
