// SPDX-License-Identifier: GPL-2.0-only
/* The client ticket cache: single use, newest first, expiry, per-identity and total bounds. */
#include <errno.h>

#include "check.h"
#include "ticket_cache.h"

static const char A[] = "origin.example:8443 origin.example";
static const char B[] = "192.0.2.1:8443 other.example";

static int take_byte(struct ticket_cache *tc, const char *id, time_t now, uint8_t *byte)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int rc = ticket_cache_take(tc, id, now, &data, &len);

	if (rc == 0) {
		CHECK(len == 1);
		*byte = data[0];
		free(data);
	}
	return rc;
}

static void single_use_newest_first(void)
{
	struct ticket_cache tc;
	uint8_t one = 1, two = 2, got = 0;

	ticket_cache_init(&tc);
	CHECK(ticket_cache_put(&tc, A, &one, 1, 100, 1000) == 0);
	CHECK(ticket_cache_put(&tc, A, &two, 1, 100, 1000) == 0);
	CHECK(take_byte(&tc, B, 1000, &got) == -ENOENT);
	CHECK(take_byte(&tc, A, 1000, &got) == 0 && got == 2);
	CHECK(take_byte(&tc, A, 1000, &got) == 0 && got == 1);
	CHECK(take_byte(&tc, A, 1000, &got) == -ENOENT);
	ticket_cache_destroy(&tc);
}

static void expiry(void)
{
	struct ticket_cache tc;
	uint8_t one = 1, got = 0;
	size_t n, bytes;

	ticket_cache_init(&tc);
	CHECK(ticket_cache_put(&tc, A, &one, 1, 10, 1000) == 0);
	CHECK(take_byte(&tc, A, 1010, &got) == -ENOENT);
	ticket_cache_stats(&tc, &n, &bytes);
	CHECK(n == 0 && bytes == 0);
	/* A lifetime beyond RFC 8446's seven days is cut to seven days. */
	CHECK(ticket_cache_put(&tc, A, &one, 1, UINT32_MAX, 0) == 0);
	CHECK(take_byte(&tc, A, TICKET_LIFETIME_MAX, &got) == -ENOENT);
	CHECK(ticket_cache_put(&tc, A, &one, 1, UINT32_MAX, 0) == 0);
	CHECK(take_byte(&tc, A, TICKET_LIFETIME_MAX - 1, &got) == 0);
	ticket_cache_destroy(&tc);
}

static void refused_input(void)
{
	struct ticket_cache tc;
	static uint8_t big[TICKET_DATA_MAX + 1];
	char long_id[TICKET_IDENTITY_MAX + 1];

	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	ticket_cache_init(&tc);
	CHECK(ticket_cache_put(&tc, A, big, 0, 100, 0) == -EINVAL);
	CHECK(ticket_cache_put(&tc, A, big, sizeof(big), 100, 0) == -EINVAL);
	CHECK(ticket_cache_put(&tc, A, big, sizeof(big) - 1, 100, 0) == 0);
	CHECK(ticket_cache_put(&tc, A, big, 1, 0, 0) == -EINVAL);
	CHECK(ticket_cache_put(&tc, long_id, big, 1, 100, 0) == -EINVAL);
	ticket_cache_destroy(&tc);
}

/* Many tickets for one identity keep the newest few; many identities keep the cache at its
 * cap in entries and therefore in bytes. */
static void bounded(void)
{
	struct ticket_cache tc;
	static uint8_t blob[TICKET_DATA_MAX];
	char id[64];
	uint8_t got = 0;
	size_t n, bytes;

	ticket_cache_init(&tc);
	for (uint8_t i = 0; i < 50; i++)
		CHECK(ticket_cache_put(&tc, A, &i, 1, 100, 0) == 0);
	ticket_cache_stats(&tc, &n, &bytes);
	CHECK(n == TICKET_PER_IDENTITY && bytes == TICKET_PER_IDENTITY);
	for (unsigned i = 0; i < TICKET_PER_IDENTITY; i++)
		CHECK(take_byte(&tc, A, 0, &got) == 0 && got == 49 - i);
	for (unsigned i = 0; i < 10000; i++) {
		snprintf(id, sizeof(id), "192.0.2.%u:%u n", i % 256, i);
		CHECK(ticket_cache_put(&tc, id, blob, sizeof(blob), 100, 0) == 0);
		ticket_cache_stats(&tc, &n, &bytes);
		CHECK(n <= TICKET_CACHE_MAX && bytes <= (size_t)TICKET_CACHE_MAX * TICKET_DATA_MAX);
	}
	CHECK(n == TICKET_CACHE_MAX);
	/* The oldest went: the last identity is there, the first is not. */
	CHECK(ticket_cache_take(&tc, "192.0.2.0:0 n", 0, &(uint8_t *){ NULL }, &n) == -ENOENT);
	snprintf(id, sizeof(id), "192.0.2.%u:%u n", 9999 % 256, 9999);
	{
		uint8_t *data = NULL;

		CHECK(ticket_cache_take(&tc, id, 0, &data, &n) == 0 && n == sizeof(blob));
		free(data);
	}
	ticket_cache_destroy(&tc);
}

static void carry_and_flush(void)
{
	struct ticket_cache a, b;
	uint8_t one = 1, got = 0;
	size_t n, bytes;

	ticket_cache_init(&a);
	ticket_cache_init(&b);
	CHECK(ticket_cache_put(&a, A, &one, 1, 100, 0) == 0);
	CHECK(ticket_cache_put(&b, B, &one, 1, 100, 0) == 0);
	ticket_cache_carry(&b, &a);
	ticket_cache_stats(&a, &n, &bytes);
	CHECK(n == 0 && bytes == 0);
	CHECK(take_byte(&b, B, 0, &got) == -ENOENT);
	CHECK(take_byte(&b, A, 0, &got) == 0 && got == 1);
	CHECK(ticket_cache_put(&b, A, &one, 1, 100, 0) == 0);
	ticket_cache_flush(&b);
	CHECK(take_byte(&b, A, 0, &got) == -ENOENT);
	ticket_cache_destroy(&a);
	ticket_cache_destroy(&b);
}

int main(void)
{
	RUN(single_use_newest_first);
	RUN(expiry);
	RUN(refused_input);
	RUN(bounded);
	RUN(carry_and_flush);
	return check_result();
}
