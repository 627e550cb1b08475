// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "ticket_cache.h"

/* Threads: every function takes tc->lock (workers store and take, the metrics thread reads
 * the counts, the main thread flushes and carries on reload). */

void ticket_cache_init(struct ticket_cache *tc)
{
	memset(tc, 0, sizeof(*tc));
	pthread_mutex_init(&tc->lock, NULL);
}

static void drop(struct ticket_cache *tc, size_t i)
{
	explicit_bzero(tc->e[i].data, tc->e[i].len);
	free(tc->e[i].data);
	tc->bytes -= tc->e[i].len;
	tc->e[i] = tc->e[--tc->n];
}

static void flush_locked(struct ticket_cache *tc)
{
	while (tc->n)
		drop(tc, tc->n - 1);
}

void ticket_cache_flush(struct ticket_cache *tc)
{
	pthread_mutex_lock(&tc->lock);
	flush_locked(tc);
	pthread_mutex_unlock(&tc->lock);
}

void ticket_cache_destroy(struct ticket_cache *tc)
{
	ticket_cache_flush(tc);
	pthread_mutex_destroy(&tc->lock);
}

static void drop_expired(struct ticket_cache *tc, time_t now)
{
	for (size_t i = tc->n; i-- > 0;)
		if (tc->e[i].expires <= now)
			drop(tc, i);
}

/* The oldest entry, of identity when it is not NULL; -1 when there is none. */
static ssize_t oldest(const struct ticket_cache *tc, const char *identity, size_t *count)
{
	ssize_t best = -1;

	*count = 0;
	for (size_t i = 0; i < tc->n; i++) {
		if (identity && strcmp(tc->e[i].identity, identity))
			continue;
		(*count)++;
		if (best < 0 || tc->e[i].seq < tc->e[best].seq)
			best = (ssize_t)i;
	}
	return best;
}

static void make_room(struct ticket_cache *tc, const char *identity)
{
	size_t count;
	ssize_t i = oldest(tc, identity, &count);

	if (count >= TICKET_PER_IDENTITY)
		drop(tc, (size_t)i);
	if (tc->n == TICKET_CACHE_MAX)
		drop(tc, (size_t)oldest(tc, NULL, &count));
}

int ticket_cache_put(struct ticket_cache *tc, const char *identity, const void *data, size_t len,
		     uint32_t lifetime, time_t now)
{
	size_t id_len = strlen(identity);
	uint8_t *copy;

	if (!len || len > TICKET_DATA_MAX || !lifetime || id_len >= TICKET_IDENTITY_MAX)
		return -EINVAL;
	copy = malloc(len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, data, len);
	if (lifetime > TICKET_LIFETIME_MAX)
		lifetime = TICKET_LIFETIME_MAX;
	pthread_mutex_lock(&tc->lock);
	drop_expired(tc, now);
	make_room(tc, identity);
	memcpy(tc->e[tc->n].identity, identity, id_len + 1);
	tc->e[tc->n].data = copy;
	tc->e[tc->n].len = len;
	tc->e[tc->n].expires = now + (time_t)lifetime;
	tc->e[tc->n].seq = tc->next_seq++;
	tc->bytes += len;
	tc->n++;
	pthread_mutex_unlock(&tc->lock);
	return 0;
}

int ticket_cache_take(struct ticket_cache *tc, const char *identity, time_t now, uint8_t **data,
		      size_t *len)
{
	ssize_t best = -1;

	pthread_mutex_lock(&tc->lock);
	drop_expired(tc, now);
	for (size_t i = 0; i < tc->n; i++)
		if (!strcmp(tc->e[i].identity, identity) &&
		    (best < 0 || tc->e[i].seq > tc->e[best].seq))
			best = (ssize_t)i;
	if (best >= 0) {
		*data = tc->e[best].data;
		*len = tc->e[best].len;
		tc->bytes -= tc->e[best].len;
		tc->e[best] = tc->e[--tc->n];
	}
	pthread_mutex_unlock(&tc->lock);
	return best < 0 ? -ENOENT : 0;
}

void ticket_cache_carry(struct ticket_cache *dst, struct ticket_cache *src)
{
	pthread_mutex_lock(&src->lock);
	pthread_mutex_lock(&dst->lock);
	flush_locked(dst);
	memcpy(dst->e, src->e, src->n * sizeof(src->e[0]));
	dst->n = src->n;
	dst->bytes = src->bytes;
	dst->next_seq = src->next_seq;
	src->n = 0;
	src->bytes = 0;
	pthread_mutex_unlock(&dst->lock);
	pthread_mutex_unlock(&src->lock);
}

void ticket_cache_stats(struct ticket_cache *tc, size_t *entries, size_t *bytes)
{
	pthread_mutex_lock(&tc->lock);
	*entries = tc->n;
	*bytes = tc->bytes;
	pthread_mutex_unlock(&tc->lock);
}
