// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>

#include "conn.h"
#include "daemon.h"
#include "log.h"
#include "phase.h"
#include "pool.h"
#include "tunnel.h"
#include "worker.h"

/*
 * The client pool's refill and hand-out. Each worker owns its share of a tunnel's pool
 * (pool / workers, the first pool % workers workers one more), so an accepted connection
 * only ever takes a connection of its own worker's ring. A pooled connection that fails
 * before it is ready (the far ktund down, a refused handshake) or closes while ready (a
 * crash, an alert after our Finished) delays the next by a back-off that doubles from 1 s
 * to 30 s, until one is taken or lives to pool-idle; the first failure and that recovery are
 * logged once each. One outage closes every ready connection, often in one batch: only the
 * first failure of a round (the back-off not yet running) doubles it, and while failing the
 * refill sends one probe and makes the rest once it is ready. A clean close_notify from the
 * far side (draining, restarting) is no failure; a reload starts afresh.
 */

#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS 30000

int pool_init(struct worker *w)
{
	if (!w->k->n_tunnels)
		return 0;
	w->pools = calloc(w->k->n_tunnels, sizeof(*w->pools));
	return w->pools ? 0 : -ENOMEM;
}

void pool_destroy(struct worker *w)
{
	for (size_t i = 0; w->pools && i < w->k->n_tunnels; i++)
		if (w->pools[i].ctx)
			tunnel_ctx_put(w->pools[i].ctx);
	free(w->pools);
	w->pools = NULL;
}

static unsigned share(const struct worker *w, unsigned total)
{
	unsigned n = w->k->n_workers;

	return total / n + (w->id < total % n);
}

/* Closes the ready connections made under another context than ctx (a reload replaced it). */
static void drop_stale(struct pool *p, const struct tunnel_ctx *ctx)
{
	for (struct conn *c = p->ready, *next; c; c = next) {
		next = c->pool_next;
		if (c->ctx != ctx)
			conn_close(c, REASON_POOL_RELOAD);
	}
}

/* A reload (or the start): the back-off of the old settings says nothing of the new ones.
 * The pool keeps the reference, so a freed context's address cannot pass for the current. */
static void new_context(struct pool *p, struct tunnel_ctx *ctx)
{
	if (p->ctx)
		tunnel_ctx_put(p->ctx);
	p->ctx = ctx;
	p->failures = 0;
	p->retry_ms = 0;
}

/* How many connections may be ready or in progress: while failing, one probe until one is
 * ready, so an outage costs one connection per round rather than the whole share. */
static unsigned fill_limit(const struct pool *p)
{
	return p->failing && !p->n_ready && p->want ? 1 : p->want;
}

void pool_refresh(struct worker *w)
{
	for (size_t i = 0; w->pools && i < w->k->n_tunnels; i++) {
		struct tunnel *t = &w->k->tunnels[i];
		struct pool *p = &w->pools[i];
		struct tunnel_ctx *ctx;

		if (t->mode != MODE_CLIENT)
			continue;
		ctx = tunnel_acquire_ctx(t);
		p->enabled = ctx->pool > 0;
		p->want = share(w, ctx->pool);
		drop_stale(p, ctx);
		if (p->ctx != ctx)
			new_context(p, ctx);
		else
			tunnel_ctx_put(ctx);
	}
	pool_fill(w);
}

void pool_fill(struct worker *w)
{
	w->pool_dirty = false;
	if (w->draining)
		return;
	for (size_t i = 0; w->pools && i < w->k->n_tunnels; i++) {
		struct tunnel *t = &w->k->tunnels[i];
		struct pool *p = &w->pools[i];

		while (p->n_ready + p->n_pending < fill_limit(p) && w->now_ms >= p->retry_ms) {
			struct conn *c = conn_new_pooled(w, t);

			if (!c) { /* out of memory: try again at the next tick */
				p->retry_ms = w->now_ms + BACKOFF_FIRST_MS;
				break;
			}
			p->n_pending++;
			phase_start(c);
		}
	}
}

/* The current context of t: a connection made under another must not serve. */
static bool ctx_current(struct tunnel *t, const struct tunnel_ctx *ctx)
{
	struct tunnel_ctx *now = tunnel_acquire_ctx(t);
	bool same = now == ctx;

	tunnel_ctx_put(now);
	return same;
}

/* A pooled connection served its purpose (taken) or lived out its time: the far side works. */
static void healthy(struct pool *p, const struct tunnel *t)
{
	p->failures = 0;
	p->retry_ms = 0;
	if (!p->failing)
		return;
	p->failing = false;
	log_notice("[%s] pool: connections to the far ktund work again", t->name);
}

struct conn *pool_take(struct worker *w, struct tunnel *t)
{
	struct pool *p = w->pools ? &w->pools[t - w->k->tunnels] : NULL;
	struct tunnel_stats *st = &t->stats[w->id];

	if (!p || !p->enabled)
		return NULL;
	for (struct conn *c = p->ready, *next; c; c = next) {
		next = c->pool_next;
		if (c->state != CONN_POOLED)
			continue; /* closed in this batch, freed after it */
		if (!ctx_current(t, c->ctx)) {
			conn_close(c, REASON_POOL_RELOAD);
			continue;
		}
		pool_list_remove(c);
		c->pooled = false;
		stat_add(&st->pool_hits, 1);
		healthy(p, t);
		w->pool_dirty = true;
		return c;
	}
	stat_add(&st->pool_misses, 1);
	return NULL;
}

static enum pool_discard discard_reason(const struct conn *c)
{
	switch (c->reason) {
	case REASON_POOL_IDLE:
		return POOL_DISCARD_IDLE;
	case REASON_POOL_RELOAD:
		return POOL_DISCARD_RELOAD;
	case REASON_SHUTDOWN:
	case REASON_DRAIN_TIMEOUT:
		return POOL_DISCARD_SHUTDOWN;
	default:
		return c->pool_ready ? POOL_DISCARD_CLOSED : POOL_DISCARD_FAILED;
	}
}

static void back_off(struct conn *c, struct pool *p)
{
	unsigned shift = p->failures < 5 ? p->failures : 5;
	int64_t delay = (int64_t)BACKOFF_FIRST_MS << shift;

	if (c->w->now_ms < p->retry_ms)
		return; /* this round's back-off runs already: the same outage */
	p->failures++;
	p->retry_ms = c->w->now_ms + (delay < BACKOFF_MAX_MS ? delay : BACKOFF_MAX_MS);
	if (p->failing)
		return;
	p->failing = true;
	log_warn("[%s] pool: a pooled connection to the far ktund %s (%s%s%s); refilling with a "
		 "back-off of up to %d s", c->t->name, c->pool_ready ? "closed" : "failed",
		 reason_name(c->reason), c->detail[0] ? ": " : "", c->detail, BACKOFF_MAX_MS / 1000);
}

void pool_forget(struct conn *c)
{
	struct pool *p = pool_of(c);
	enum pool_discard d = discard_reason(c);

	stat_add(&conn_stats(c)->pool_discards[d], 1);
	if (d == POOL_DISCARD_FAILED || (d == POOL_DISCARD_CLOSED && c->reason != REASON_DONE))
		back_off(c, p);
	else if (d == POOL_DISCARD_IDLE)
		healthy(p, c->t);
	if (c->pool_ready)
		pool_list_remove(c);
	else
		p->n_pending--;
	c->pooled = false;
	c->w->pool_dirty = true;
}

void pool_drain(struct worker *w)
{
	for (struct conn *c = w->conns; c; c = c->next)
		if (c->pooled)
			conn_close(c, REASON_SHUTDOWN);
}
