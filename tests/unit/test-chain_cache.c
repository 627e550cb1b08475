// SPDX-License-Identifier: GPL-2.0-only
/* The verified-chain cache: what the key covers, the validity window, the clock going back,
 * the bound and which entry a new chain replaces. */
#include <errno.h>
#include <gnutls/gnutls.h>

#include "chain_cache.h"
#include "check.h"

static const char CTX[] = "1.3.6.1.5.5.7.3.2 -";

static gnutls_datum_t datum(const char *s)
{
	return (gnutls_datum_t){ .data = (unsigned char *)s, .size = (unsigned)strlen(s) };
}

static void key_of(const char *context, const char *const *certs, unsigned n,
		   uint8_t key[CHAIN_KEY_LEN])
{
	gnutls_datum_t d[4];

	for (unsigned i = 0; i < n; i++)
		d[i] = datum(certs[i]);
	CHECK(chain_cache_key(context, d, n, key) == 0);
}

static bool same(const uint8_t a[CHAIN_KEY_LEN], const uint8_t b[CHAIN_KEY_LEN])
{
	return !memcmp(a, b, CHAIN_KEY_LEN);
}

/* Every certificate, where each one ends, how many there are and the context all count. */
static void key_covers_everything(void)
{
	const char *chain[] = { "leaf-der", "inter-der", "root-der" };
	uint8_t base[CHAIN_KEY_LEN], again[CHAIN_KEY_LEN], other[CHAIN_KEY_LEN];

	key_of(CTX, chain, 3, base);
	key_of(CTX, chain, 3, again);
	CHECK(same(base, again));
	for (unsigned i = 0; i < 3; i++) {
		const char *changed[] = { "leaf-der", "inter-der", "root-der" };

		changed[i] = i == 0 ? "leaf-deR" : i == 1 ? "inter-deR" : "root-deR";
		key_of(CTX, changed, 3, other);
		CHECK(!same(base, other));
	}
	key_of(CTX, chain, 2, other);
	CHECK(!same(base, other));
	/* The same bytes cut elsewhere. */
	key_of(CTX, (const char *[]){ "leaf-derinter-der", "root-der" }, 2, other);
	CHECK(!same(base, other));
	key_of(CTX, (const char *[]){ "leaf-", "der" }, 2, base);
	key_of(CTX, (const char *[]){ "leaf", "-der" }, 2, other);
	CHECK(!same(base, other));
	/* An empty certificate is a piece too. */
	key_of(CTX, (const char *[]){ "leaf-der" }, 1, base);
	key_of(CTX, (const char *[]){ "leaf-der", "" }, 2, other);
	CHECK(!same(base, other));
	/* What else was checked: the purpose, the server name. */
	key_of("1.3.6.1.5.5.7.3.1 origin.example", chain, 3, base);
	key_of("1.3.6.1.5.5.7.3.1 other.example", chain, 3, other);
	CHECK(!same(base, other));
	key_of(CTX, chain, 3, other);
	CHECK(!same(base, other));
}

static void fake_key(uint8_t key[CHAIN_KEY_LEN], uint32_t set, uint8_t id)
{
	memset(key, 0, CHAIN_KEY_LEN);
	key[0] = (uint8_t)(set >> 24);
	key[1] = (uint8_t)(set >> 16);
	key[2] = (uint8_t)(set >> 8);
	key[3] = (uint8_t)set;
	key[31] = id;
}

static void hit_and_window(void)
{
	struct chain_cache cc;
	uint8_t k[CHAIN_KEY_LEN], unknown[CHAIN_KEY_LEN];

	CHECK(chain_cache_init(&cc, CHAIN_CACHE_ENTRIES) == 0);
	fake_key(k, 7, 1);
	fake_key(unknown, 7, 2);
	CHECK(!chain_cache_lookup(&cc, k, 150));
	chain_cache_store(&cc, k, 100, 200, 150);
	CHECK(chain_cache_lookup(&cc, k, 150));
	CHECK(!chain_cache_lookup(&cc, unknown, 150));
	CHECK(chain_cache_lookup(&cc, k, 200));
	/* Past the earliest notAfter: unusable, and dropped. */
	CHECK(!chain_cache_lookup(&cc, k, 201));
	CHECK(!chain_cache_lookup(&cc, k, 150));
	CHECK(chain_cache_count(&cc) == 0);
	/* Stored outside its window (the verification would have failed): not stored. */
	chain_cache_store(&cc, k, 100, 200, 99);
	CHECK(!chain_cache_lookup(&cc, k, 150));
	CHECK(chain_cache_count(&cc) == 0);
	chain_cache_destroy(&cc);
}

/* A clock set back before the store: the entry is never used again, even once the clock
 * is past the store once more. */
static void clock_back(void)
{
	struct chain_cache cc;
	uint8_t k[CHAIN_KEY_LEN];

	CHECK(chain_cache_init(&cc, CHAIN_CACHE_WAYS) == 0);
	fake_key(k, 0, 1);
	chain_cache_store(&cc, k, 100, 1000, 500);
	CHECK(!chain_cache_lookup(&cc, k, 499));
	CHECK(!chain_cache_lookup(&cc, k, 500));
	chain_cache_store(&cc, k, 100, 1000, 500);
	CHECK(chain_cache_lookup(&cc, k, 500));
	chain_cache_destroy(&cc);
}

/* Two sets of CHAIN_CACHE_WAYS: keys of the same set compete, never beyond the bound. */
static void bound_and_replacement(void)
{
	struct chain_cache cc;
	uint8_t k[3 * CHAIN_CACHE_WAYS][CHAIN_KEY_LEN], late[CHAIN_KEY_LEN];
	const time_t now = 1000;

	CHECK(chain_cache_init(&cc, 2 * CHAIN_CACHE_WAYS) == 0);
	for (uint8_t i = 0; i < 3 * CHAIN_CACHE_WAYS; i++) {
		fake_key(k[i], 2u * i, i); /* all in set 0 */
		chain_cache_store(&cc, k[i], 0, 2000, now);
		CHECK(chain_cache_count(&cc) <= CHAIN_CACHE_WAYS);
	}
	/* The last CHAIN_CACHE_WAYS stored are the ones left. */
	for (uint8_t i = 0; i < 3 * CHAIN_CACHE_WAYS; i++)
		CHECK(chain_cache_lookup(&cc, k[i], now) == (i >= 2 * CHAIN_CACHE_WAYS));
	/* Storing a held key again takes no second entry. */
	chain_cache_store(&cc, k[2 * CHAIN_CACHE_WAYS], 0, 2000, now);
	CHECK(chain_cache_count(&cc) == CHAIN_CACHE_WAYS);
	/* The least recently used goes: k[16] was stored again and k[17] hit since the loop
	 * above touched k[16] to k[23] in order, so k[18] is the one. */
	CHECK(chain_cache_lookup(&cc, k[2 * CHAIN_CACHE_WAYS + 1], now));
	fake_key(late, 0, 200);
	chain_cache_store(&cc, late, 0, 2000, now);
	CHECK(chain_cache_count(&cc) == CHAIN_CACHE_WAYS);
	for (uint8_t i = 2 * CHAIN_CACHE_WAYS; i < 3 * CHAIN_CACHE_WAYS; i++)
		CHECK(chain_cache_lookup(&cc, k[i], now) == (i != 2 * CHAIN_CACHE_WAYS + 2));
	CHECK(chain_cache_lookup(&cc, late, now));
	/* A chain already past its notAfter evicts nothing. */
	fake_key(late, 0, 201);
	chain_cache_store(&cc, late, 0, now - 1, now);
	for (uint8_t i = 2 * CHAIN_CACHE_WAYS; i < 3 * CHAIN_CACHE_WAYS; i++)
		CHECK(chain_cache_lookup(&cc, k[i], now) == (i != 2 * CHAIN_CACHE_WAYS + 2));
	/* The other set is untouched by all of it. */
	fake_key(late, 1, 202);
	chain_cache_store(&cc, late, 0, 2000, now);
	CHECK(chain_cache_lookup(&cc, late, now));
	CHECK(chain_cache_count(&cc) == CHAIN_CACHE_WAYS + 1);
	chain_cache_destroy(&cc);
}

/* A new chain takes an entry that can no longer be used before the least recently used. */
static void unusable_first(void)
{
	struct chain_cache cc;
	uint8_t k[CHAIN_CACHE_WAYS][CHAIN_KEY_LEN], late[CHAIN_KEY_LEN];

	CHECK(chain_cache_init(&cc, CHAIN_CACHE_WAYS) == 0);
	for (uint8_t i = 0; i < CHAIN_CACHE_WAYS; i++) {
		fake_key(k[i], 0, i);
		/* k[5] expires at 150, the others at 2000. */
		chain_cache_store(&cc, k[i], 0, i == 5 ? 150 : 2000, 100);
	}
	fake_key(late, 0, 100);
	chain_cache_store(&cc, late, 0, 2000, 160);
	CHECK(chain_cache_lookup(&cc, late, 160));
	for (uint8_t i = 0; i < CHAIN_CACHE_WAYS; i++)
		CHECK(chain_cache_lookup(&cc, k[i], 160) == (i != 5));
	chain_cache_destroy(&cc);
}

/* holds is no use: a held key's recency stays, so it still goes first; an unusable one stays
 * filed (lookup would drop it). */
static void holds_changes_nothing(void)
{
	struct chain_cache cc;
	uint8_t k[CHAIN_CACHE_WAYS][CHAIN_KEY_LEN], late[CHAIN_KEY_LEN];

	CHECK(chain_cache_init(&cc, CHAIN_CACHE_WAYS) == 0);
	for (uint8_t i = 0; i < CHAIN_CACHE_WAYS; i++) {
		fake_key(k[i], 0, i);
		chain_cache_store(&cc, k[i], 0, 2000, 100);
	}
	CHECK(chain_cache_holds(&cc, k[0], 100));
	CHECK(!chain_cache_holds(&cc, k[0], 2001));
	CHECK(chain_cache_count(&cc) == CHAIN_CACHE_WAYS);
	fake_key(late, 0, 100);
	CHECK(!chain_cache_holds(&cc, late, 100));
	chain_cache_store(&cc, late, 0, 2000, 100);
	/* k[0], the least recently used despite holds, made room. */
	CHECK(!chain_cache_holds(&cc, k[0], 100));
	for (uint8_t i = 1; i < CHAIN_CACHE_WAYS; i++)
		CHECK(chain_cache_holds(&cc, k[i], 100));
	chain_cache_destroy(&cc);
}

static void refused_sizes(void)
{
	struct chain_cache cc;
	uint8_t k[CHAIN_KEY_LEN];

	CHECK(chain_cache_init(&cc, 0) == -EINVAL);
	CHECK(chain_cache_init(&cc, CHAIN_CACHE_WAYS + 1) == -EINVAL);
	/* A cache that failed to start is off: no hits, no crash. */
	fake_key(k, 0, 1);
	chain_cache_store(&cc, k, 0, 2000, 100);
	CHECK(!chain_cache_lookup(&cc, k, 100));
	CHECK(chain_cache_count(&cc) == 0);
	chain_cache_destroy(&cc);
}

int main(void)
{
	key_covers_everything();
	hit_and_window();
	clock_back();
	bound_and_replacement();
	unusable_first();
	holds_changes_nothing();
	refused_sizes();
	return check_result();
}
