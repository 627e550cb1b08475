/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_TICKET_CACHE_H
#define KTUN_TICKET_CACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * A client tunnel's TLS 1.3 session tickets (GnuTLS's packed session data), per far identity
 * (target and server name). Shared by all workers under one mutex, taken once per
 * connection and once per ticket, never per byte. Bounded: TICKET_CACHE_MAX entries of at
 * most TICKET_DATA_MAX bytes, TICKET_PER_IDENTITY per identity (the oldest make room).
 * A ticket is taken out when used (RFC 8446 C.4: a client should not reuse one) and dropped
 * once its lifetime has passed. Owned by one tunnel context (tunnel_ctx.c): a new context
 * starts empty unless a reload carries the entries over (ticket_cache_carry).
 */

#define TICKET_CACHE_MAX 64
/* A ticket serves one connection: as many per identity as the connections a burst opens at
 * once resume (bench/run's 32 at a time resumed a third less with 4). */
#define TICKET_PER_IDENTITY 32
#define TICKET_DATA_MAX 16384       /* GnuTLS's session data: the ticket plus the peer's chain */
#define TICKET_IDENTITY_MAX 400     /* "ADDRESS:PORT NAME": ADDR_TEXT_MAX + 1 + ADDR_HOST_MAX */
#define TICKET_LIFETIME_MAX 604800  /* RFC 8446 4.6.1: at most seven days */

struct ticket_entry {
	char identity[TICKET_IDENTITY_MAX];
	uint8_t *data;
	size_t len;
	time_t expires;
	uint64_t seq;    /* insertion order: the lowest is the oldest */
};

struct ticket_cache {
	pthread_mutex_t lock;
	struct ticket_entry e[TICKET_CACHE_MAX];
	size_t n;
	uint64_t next_seq;
	size_t bytes;    /* sum of the entries' len, for the bound and the metric */
};

void ticket_cache_init(struct ticket_cache *tc);
/* Drops every entry, wiping its data (session data holds the resumption secret). */
void ticket_cache_flush(struct ticket_cache *tc);
void ticket_cache_destroy(struct ticket_cache *tc);

/* Stores a copy of data for identity, valid for lifetime seconds from now (capped at seven
 * days). Returns 0, -EINVAL (empty, too large, identity too long, lifetime 0) or -ENOMEM. */
int ticket_cache_put(struct ticket_cache *tc, const char *identity, const void *data, size_t len,
		     uint32_t lifetime, time_t now);

/* Takes the newest unexpired ticket of identity out of the cache: *data (malloc'd, the
 * caller wipes and frees it) and *len. Expired entries met on the way are dropped.
 * Returns 0, or -ENOENT when there is none. */
int ticket_cache_take(struct ticket_cache *tc, const char *identity, time_t now, uint8_t **data,
		      size_t *len);

/* Moves every entry of src into dst (a reload that changed nothing the tickets depend on). */
void ticket_cache_carry(struct ticket_cache *dst, struct ticket_cache *src);

void ticket_cache_stats(struct ticket_cache *tc, size_t *entries, size_t *bytes);

#endif
