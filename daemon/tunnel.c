// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tunnel.h"

int tunnel_init(struct tunnel *t, const struct tunnel_config *cfg, struct tunnel_ctx *ctx,
		unsigned workers)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->name, cfg->name, sizeof(t->name));
	t->mode = cfg->mode;
	t->listen = cfg->listen_addr;
	t->ctx = ctx;
	t->max_connections = ctx->max_connections;
	pthread_mutex_init(&t->lock, NULL);
	t->listen_fds = malloc(workers * sizeof(int));
	t->stats = aligned_alloc(64, workers * sizeof(struct tunnel_stats));
	if (!t->listen_fds || !t->stats) {
		free(t->listen_fds);
		free(t->stats);
		return -ENOMEM;
	}
	memset(t->stats, 0, workers * sizeof(struct tunnel_stats));
	for (unsigned i = 0; i < workers; i++)
		t->listen_fds[i] = -1;
	return 0;
}

static void close_fds(int *fds, unsigned n)
{
	if (fds)
		for (unsigned i = 0; i < n; i++)
			if (fds[i] >= 0)
				close(fds[i]);
	free(fds);
}

int tunnel_want_tproxy(struct tunnel *t, unsigned workers)
{
	t->tproxy_fds = malloc(workers * sizeof(int));
	if (!t->tproxy_fds)
		return -ENOMEM;
	for (unsigned i = 0; i < workers; i++)
		t->tproxy_fds[i] = -1;
	return 0;
}

void tunnel_destroy(struct tunnel *t, unsigned workers)
{
	close_fds(t->listen_fds, workers);
	close_fds(t->tproxy_fds, workers);
	free(t->stats);
	tunnel_ctx_put(t->ctx);
	pthread_mutex_destroy(&t->lock);
}

struct tunnel_ctx *tunnel_acquire_ctx(struct tunnel *t)
{
	struct tunnel_ctx *ctx;

	pthread_mutex_lock(&t->lock);
	ctx = tunnel_ctx_get(t->ctx);
	pthread_mutex_unlock(&t->lock);
	return ctx;
}

void tunnel_swap_ctx(struct tunnel *t, struct tunnel_ctx *ctx)
{
	struct tunnel_ctx *old;

	pthread_mutex_lock(&t->lock);
	old = t->ctx;
	t->ctx = ctx;
	__atomic_store_n(&t->max_connections, ctx->max_connections, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&t->lock);
	tunnel_ctx_put(old);
}

bool tunnel_reserve(struct tunnel *t)
{
	unsigned max = __atomic_load_n(&t->max_connections, __ATOMIC_RELAXED);

	if (__atomic_fetch_add(&t->open, 1, __ATOMIC_RELAXED) < max)
		return true;
	__atomic_fetch_sub(&t->open, 1, __ATOMIC_RELAXED);
	return false;
}

void tunnel_release(struct tunnel *t)
{
	__atomic_fetch_sub(&t->open, 1, __ATOMIC_RELAXED);
}

void tunnel_stats_sum(const struct tunnel *t, unsigned workers, struct tunnel_stats *sum)
{
	const size_t n = sizeof(*sum) / sizeof(uint64_t);
	uint64_t *out = (uint64_t *)sum;

	/* struct tunnel_stats is nothing but uint64_t counters (and alignment padding at the end,
	 * which stays zero): add them up field by field without naming each one. */
	_Static_assert(sizeof(struct tunnel_stats) % sizeof(uint64_t) == 0, "counters only");
	memset(sum, 0, sizeof(*sum));
	for (unsigned w = 0; w < workers; w++) {
		const uint64_t *in = (const uint64_t *)&t->stats[w];

		for (size_t i = 0; i < n; i++)
			out[i] += stat_read(&in[i]);
	}
}
