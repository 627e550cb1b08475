// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/crypto.h>

#include "chain_cache.h"

/* Threads: workers look up and store under cc->lock; the main thread creates the cache with
 * its tunnel context, and whichever thread drops the context's last reference
 * (tunnel_ctx_put) destroys it, when no other thread can reach it. */

int chain_cache_init(struct chain_cache *cc, size_t entries)
{
	memset(cc, 0, sizeof(*cc));
	if (!entries || entries % CHAIN_CACHE_WAYS)
		return -EINVAL;
	cc->e = calloc(entries, sizeof(*cc->e));
	if (!cc->e)
		return -ENOMEM;
	cc->n = entries;
	pthread_mutex_init(&cc->lock, NULL);
	return 0;
}

void chain_cache_destroy(struct chain_cache *cc)
{
	if (!cc->e)
		return;
	pthread_mutex_destroy(&cc->lock);
	free(cc->e);
	cc->e = NULL;
}

static void put_be32(uint8_t out[4], uint32_t v)
{
	out[0] = (uint8_t)(v >> 24);
	out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8);
	out[3] = (uint8_t)v;
}

/* Each piece with its length first: no two different lists hash the same bytes. */
static int hash_piece(gnutls_hash_hd_t h, const void *data, size_t len)
{
	uint8_t be[4];
	int rc;

	put_be32(be, (uint32_t)len);
	rc = gnutls_hash(h, be, sizeof(be));
	return rc < 0 || !len ? rc : gnutls_hash(h, data, len);
}

int chain_cache_key(const char *context, const gnutls_datum_t *certs, unsigned n,
		    uint8_t key[CHAIN_KEY_LEN])
{
	gnutls_hash_hd_t h;
	int rc = gnutls_hash_init(&h, GNUTLS_DIG_SHA256);

	if (rc < 0)
		return rc;
	rc = hash_piece(h, context, strlen(context));
	for (unsigned i = 0; rc == 0 && i < n; i++)
		rc = hash_piece(h, certs[i].data, certs[i].size);
	gnutls_hash_deinit(h, key);
	return rc;
}

static bool usable(const struct chain_entry *e, time_t now)
{
	return e->used && e->stored <= now && now <= e->not_after;
}

static struct chain_entry *set_of(struct chain_cache *cc, const uint8_t key[CHAIN_KEY_LEN])
{
	uint32_t pick = (uint32_t)key[0] << 24 | (uint32_t)key[1] << 16 | (uint32_t)key[2] << 8 | key[3];

	return &cc->e[(pick % (cc->n / CHAIN_CACHE_WAYS)) * CHAIN_CACHE_WAYS];
}

static struct chain_entry *find(struct chain_entry *set, const uint8_t key[CHAIN_KEY_LEN])
{
	for (size_t i = 0; i < CHAIN_CACHE_WAYS; i++)
		if (set[i].used && !memcmp(set[i].key, key, CHAIN_KEY_LEN))
			return &set[i];
	return NULL;
}

bool chain_cache_lookup(struct chain_cache *cc, const uint8_t key[CHAIN_KEY_LEN], time_t now)
{
	struct chain_entry *e;
	bool hit = false;

	if (!cc->e)
		return false;
	pthread_mutex_lock(&cc->lock);
	e = find(set_of(cc, key), key);
	if (e && usable(e, now)) {
		e->used = ++cc->tick;
		hit = true;
	} else if (e) {
		e->used = 0;
	}
	pthread_mutex_unlock(&cc->lock);
	return hit;
}

bool chain_cache_holds(struct chain_cache *cc, const uint8_t key[CHAIN_KEY_LEN], time_t now)
{
	struct chain_entry *e;
	bool held;

	if (!cc->e)
		return false;
	pthread_mutex_lock(&cc->lock);
	e = find(set_of(cc, key), key);
	held = e && usable(e, now);
	pthread_mutex_unlock(&cc->lock);
	return held;
}

/* The entry a new key takes: an empty or unusable one first, else the least recently used. */
static struct chain_entry *victim(struct chain_entry *set, time_t now)
{
	struct chain_entry *lru = &set[0];

	for (size_t i = 0; i < CHAIN_CACHE_WAYS; i++) {
		if (!usable(&set[i], now))
			return &set[i];
		if (set[i].used < lru->used)
			lru = &set[i];
	}
	return lru;
}

void chain_cache_store(struct chain_cache *cc, const uint8_t key[CHAIN_KEY_LEN],
		       time_t not_before, time_t not_after, time_t now)
{
	struct chain_entry *set, *e;

	if (!cc->e || now < not_before || now > not_after)
		return;
	pthread_mutex_lock(&cc->lock);
	set = set_of(cc, key);
	e = find(set, key);
	if (!e)
		e = victim(set, now);
	memcpy(e->key, key, CHAIN_KEY_LEN);
	e->not_after = not_after;
	e->stored = now;
	e->used = ++cc->tick;
	pthread_mutex_unlock(&cc->lock);
}

size_t chain_cache_count(struct chain_cache *cc)
{
	size_t n = 0;

	if (!cc->e)
		return 0;
	pthread_mutex_lock(&cc->lock);
	for (size_t i = 0; i < cc->n; i++)
		n += cc->e[i].used != 0;
	pthread_mutex_unlock(&cc->lock);
	return n;
}
