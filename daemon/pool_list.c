// SPDX-License-Identifier: GPL-2.0-only
#include "conn.h"
#include "daemon.h"
#include "pool_list.h"
#include "tunnel.h"
#include "worker.h"

/* The list under each worker's pools: no I/O, no calls into phases or pool.c, so that the
 * pool phase and pool.c can both use it without a call cycle. Worker thread only. */

static const char *const discard_names[POOL_DISCARD_MAX] = {
	[POOL_DISCARD_IDLE] = "idle", [POOL_DISCARD_RELOAD] = "reload",
	[POOL_DISCARD_CLOSED] = "closed", [POOL_DISCARD_FAILED] = "failed",
	[POOL_DISCARD_SHUTDOWN] = "shutdown",
};

const char *pool_discard_name(enum pool_discard d)
{
	return d < POOL_DISCARD_MAX ? discard_names[d] : "unknown";
}

struct pool *pool_of(const struct conn *c)
{
	return &c->w->pools[c->t - c->w->k->tunnels];
}

void pool_list_add(struct conn *c)
{
	struct pool *p = pool_of(c);

	c->pool_ready = true;
	c->pool_prev = NULL;
	c->pool_next = p->ready;
	if (p->ready)
		p->ready->pool_prev = c;
	p->ready = c;
	p->n_ready++;
	p->n_pending--;
	stat_set(&conn_stats(c)->pool_ready, p->n_ready);
}

void pool_list_remove(struct conn *c)
{
	struct pool *p = pool_of(c);

	if (!c->pool_ready)
		return;
	if (c->pool_prev)
		c->pool_prev->pool_next = c->pool_next;
	else
		p->ready = c->pool_next;
	if (c->pool_next)
		c->pool_next->pool_prev = c->pool_prev;
	c->pool_prev = c->pool_next = NULL;
	c->pool_ready = false;
	p->n_ready--;
	stat_set(&conn_stats(c)->pool_ready, p->n_ready);
}
