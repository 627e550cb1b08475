/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_CHAIN_CACHE_H
#define KTUN_CHAIN_CACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <gnutls/gnutls.h>

/*
 * Peer chains that gnutls_certificate_verify_peers passed, so that a resumed session whose
 * chain (from its ticket) is here skips that check's signature verifications (verify.c).
 * Only that part: everything else a resumption re-checks runs every time.
 *
 * An entry says: under this tunnel context (CA, CRLs, purpose and name checked; one cache
 * per context, gone with it), the chain with this key verified, and will verify again as
 * long as the clock stays within [not_before, not_after], the dates of every certificate the
 * check looked at, and not before the moment it was stored, which is within that window (a
 * clock set back could make dates valid again that had passed). Outside, it is never used.
 *
 * Bounded: CHAIN_CACHE_ENTRIES entries in sets of CHAIN_CACHE_WAYS picked by the key. A new
 * chain takes, in its set, the entry with its key, else an empty or no longer usable one,
 * else the least recently used. Shared by all workers under one mutex, taken once per
 * lookup or store (a few dozen compares), never on the data path.
 */

#define CHAIN_CACHE_ENTRIES 1024
#define CHAIN_CACHE_WAYS 8
#define CHAIN_KEY_LEN 32 /* SHA-256 */

struct chain_entry {
	uint8_t key[CHAIN_KEY_LEN];
	time_t not_after; /* the earliest notAfter */
	time_t stored;    /* when verified: at or after the latest notBefore (store refuses else) */
	uint64_t used; /* the cache's tick at the last store or hit; 0: empty */
};

struct chain_cache {
	pthread_mutex_t lock;
	struct chain_entry *e;
	size_t n;      /* a multiple of CHAIN_CACHE_WAYS */
	uint64_t tick;
};

/* entries: a positive multiple of CHAIN_CACHE_WAYS. Returns 0, -EINVAL or -ENOMEM. */
int chain_cache_init(struct chain_cache *cc, size_t entries);
void chain_cache_destroy(struct chain_cache *cc);

/* The key of a chain: SHA-256 over the context (what else the verification depended on,
 * such as the purpose and the name checked) and each certificate's DER, each of them with
 * its length before it. Returns 0 or a GnuTLS error. */
int chain_cache_key(const char *context, const gnutls_datum_t *certs, unsigned n,
		    uint8_t key[CHAIN_KEY_LEN]);

/* Whether key is here and usable at now; one that is not usable any more is dropped. */
bool chain_cache_lookup(struct chain_cache *cc, const uint8_t key[CHAIN_KEY_LEN], time_t now);

/* Whether key is here and usable at now, changing nothing: neither its recency nor, if it
 * is not usable, its entry. For filing, which must not count as a use. */
bool chain_cache_holds(struct chain_cache *cc, const uint8_t key[CHAIN_KEY_LEN], time_t now);

/* Files key as verified at now, usable within [not_before, not_after]. Nothing is stored
 * when now is outside that window. */
void chain_cache_store(struct chain_cache *cc, const uint8_t key[CHAIN_KEY_LEN],
		       time_t not_before, time_t not_after, time_t now);

/* Entries held (usable or not yet found unusable). Any thread. */
size_t chain_cache_count(struct chain_cache *cc);

#endif
