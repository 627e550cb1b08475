// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>

#include "target_set.h"

/* Passive health only: nothing probes a target that is down. Its back-off ending makes it a
 * candidate again, and the next connection's attempt decides. Races between workers (two
 * failures at once, a success crossing a failure) at worst log a transition one connection
 * late; each field is consistent on its own. */

static bool eligible(const struct target_set *s, size_t i, int64_t now_ms)
{
	return !__atomic_load_n(&s->health[i].fails, __ATOMIC_RELAXED) ||
	       __atomic_load_n(&s->health[i].retry_ms, __ATOMIC_RELAXED) <= now_ms;
}

/* The untried target in back-off whose back-off ends first: the last resort. */
static int soonest(const struct target_set *s, uint32_t tried)
{
	int best = -1;
	int64_t best_ms = 0;

	for (size_t i = 0; i < s->n; i++) {
		int64_t at = __atomic_load_n(&s->health[i].retry_ms, __ATOMIC_RELAXED);

		if (tried & (UINT32_C(1) << i))
			continue;
		if (best < 0 || at < best_ms) {
			best = (int)i;
			best_ms = at;
		}
	}
	return best;
}

int target_set_pick(struct target_set *s, uint32_t tried, int64_t now_ms)
{
	size_t start = 0;

	if (!s->n)
		return -1;
	if (s->failover == FAILOVER_ROUND_ROBIN && !tried)
		start = __atomic_fetch_add(&s->next, 1, __ATOMIC_RELAXED) % s->n;
	for (size_t k = 0; k < s->n; k++) {
		size_t i = (start + k) % s->n;

		if (!(tried & (UINT32_C(1) << i)) && eligible(s, i, now_ms))
			return (int)i;
	}
	return soonest(s, tried);
}

bool target_set_failed(struct target_set *s, size_t i, int64_t now_ms, unsigned *backoff_out)
{
	struct target_health *h = &s->health[i];
	unsigned fails = __atomic_add_fetch(&h->fails, 1, __ATOMIC_RELAXED);
	uint64_t backoff = s->backoff_ms;
	uint64_t cap = s->backoff_ms > TARGET_BACKOFF_CAP_MS ? s->backoff_ms : TARGET_BACKOFF_CAP_MS;

	for (unsigned k = 1; k < fails && backoff < cap; k++)
		backoff *= 2;
	if (backoff > cap)
		backoff = cap;
	__atomic_store_n(&h->retry_ms, now_ms + (int64_t)backoff, __ATOMIC_RELAXED);
	__atomic_add_fetch(&h->failures, 1, __ATOMIC_RELAXED);
	if (backoff_out)
		*backoff_out = (unsigned)backoff;
	return fails == 1;
}

bool target_set_succeeded(struct target_set *s, size_t i)
{
	struct target_health *h = &s->health[i];

	if (!__atomic_load_n(&h->fails, __ATOMIC_RELAXED))
		return false; /* the common case: no write to a line every worker reads */
	__atomic_store_n(&h->retry_ms, 0, __ATOMIC_RELAXED);
	return __atomic_exchange_n(&h->fails, 0, __ATOMIC_RELAXED) != 0;
}

bool target_set_up(const struct target_set *s, size_t i)
{
	return !__atomic_load_n(&s->health[i].fails, __ATOMIC_RELAXED);
}

unsigned long long target_set_failures(const struct target_set *s, size_t i)
{
	return __atomic_load_n(&s->health[i].failures, __ATOMIC_RELAXED);
}

static bool same_addr(const struct ktun_addr *a, const struct ktun_addr *b)
{
	return a->len == b->len && !memcmp(&a->ss, &b->ss, a->len);
}

void target_set_carry(struct target_set *to, const struct target_set *from)
{
	for (size_t i = 0; i < to->n; i++) {
		for (size_t j = 0; j < from->n; j++) {
			const struct target_health *h = &from->health[j];

			if (!same_addr(&to->addrs[i], &from->addrs[j]))
				continue;
			to->health[i] = (struct target_health){
				.fails = __atomic_load_n(&h->fails, __ATOMIC_RELAXED),
				.retry_ms = __atomic_load_n(&h->retry_ms, __ATOMIC_RELAXED),
				.failures = __atomic_load_n(&h->failures, __ATOMIC_RELAXED),
			};
			break;
		}
	}
}

size_t target_set_common(const struct target_set *a, const struct target_set *b)
{
	size_t n = 0;

	for (size_t i = 0; i < a->n; i++)
		for (size_t j = 0; j < b->n; j++)
			if (same_addr(&a->addrs[i], &b->addrs[j])) {
				n++;
				break;
			}
	return n;
}

bool target_set_same(const struct target_set *a, const struct target_set *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (!same_addr(&a->addrs[i], &b->addrs[i]))
			return false;
	return true;
}

const char *failover_name(enum failover f)
{
	return f == FAILOVER_ROUND_ROBIN ? "round-robin" : "ordered";
}
