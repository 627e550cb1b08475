// SPDX-License-Identifier: GPL-2.0-only
/* target_set: which target a connection tries next and the back-off of failed ones, with
 * time injected (monotonic ms). */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "check.h"
#include "target_set.h"

static void make(struct target_set *s, size_t n, enum failover f, unsigned backoff_ms)
{
	memset(s, 0, sizeof(*s));
	s->n = n;
	s->failover = f;
	s->backoff_ms = backoff_ms;
	for (size_t i = 0; i < n; i++) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&s->addrs[i].ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)(8000 + i));
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s->addrs[i].len = sizeof(*sin);
	}
}

#define BIT(i) (UINT32_C(1) << (i))

static void test_ordered_first_up(void)
{
	struct target_set s;

	make(&s, 3, FAILOVER_ORDERED, 10000);
	CHECK(target_set_pick(&s, 0, 0) == 0);
	CHECK(target_set_pick(&s, 0, 0) == 0); /* ordered does not rotate */
	CHECK(target_set_pick(&s, BIT(0), 0) == 1);
	CHECK(target_set_pick(&s, BIT(0) | BIT(1), 0) == 2);
	CHECK(target_set_pick(&s, BIT(0) | BIT(1) | BIT(2), 0) == -1);
}

static void test_down_is_skipped_until_backoff_ends(void)
{
	struct target_set s;
	unsigned backoff = 0;

	make(&s, 2, FAILOVER_ORDERED, 10000);
	CHECK(target_set_failed(&s, 0, 1000, &backoff)); /* the transition: to be logged */
	CHECK(backoff == 10000);
	CHECK(!target_set_up(&s, 0));
	CHECK(target_set_failures(&s, 0) == 1);
	CHECK(target_set_pick(&s, 0, 1000) == 1);
	CHECK(target_set_pick(&s, 0, 10999) == 1);
	CHECK(target_set_pick(&s, 0, 11000) == 0); /* back-off over: tried first again */
	CHECK(target_set_succeeded(&s, 0));         /* up again: to be logged */
	CHECK(!target_set_succeeded(&s, 0));        /* once */
	CHECK(target_set_up(&s, 0));
	CHECK(target_set_failures(&s, 0) == 1);     /* the counter stays */
}

static void test_backoff_doubles_to_cap(void)
{
	struct target_set s;
	unsigned backoff = 0, want = 10000;

	make(&s, 1, FAILOVER_ORDERED, 10000);
	CHECK(target_set_failed(&s, 0, 0, &backoff));
	for (int k = 1; k < 12; k++) {
		CHECK(!target_set_failed(&s, 0, 0, &backoff)); /* already down: no new log */
		want = want * 2 > TARGET_BACKOFF_CAP_MS ? TARGET_BACKOFF_CAP_MS : want * 2;
		if (backoff != want)
			fprintf(stderr, "failure %d: back-off %u, want %u\n", k + 1, backoff, want);
		CHECK(backoff == want);
	}
	CHECK(backoff == TARGET_BACKOFF_CAP_MS);
	/* A success ends the streak: the next failure starts from the base again. */
	target_set_succeeded(&s, 0);
	CHECK(target_set_failed(&s, 0, 0, &backoff));
	CHECK(backoff == 10000);
	/* A base above the cap is used as it is. */
	make(&s, 1, FAILOVER_ORDERED, 600000);
	target_set_failed(&s, 0, 0, &backoff);
	target_set_failed(&s, 0, 0, &backoff);
	CHECK(backoff == 600000);
}

static void test_all_down_last_resort(void)
{
	struct target_set s;

	make(&s, 3, FAILOVER_ORDERED, 10000);
	target_set_failed(&s, 0, 3000, NULL); /* retry at 13000 */
	target_set_failed(&s, 1, 1000, NULL); /* 11000 */
	target_set_failed(&s, 2, 2000, NULL); /* 12000 */
	/* None eligible: the one whose back-off ends first, then the next, never one tried. */
	CHECK(target_set_pick(&s, 0, 5000) == 1);
	CHECK(target_set_pick(&s, BIT(1), 5000) == 2);
	CHECK(target_set_pick(&s, BIT(1) | BIT(2), 5000) == 0);
	CHECK(target_set_pick(&s, BIT(0) | BIT(1) | BIT(2), 5000) == -1);
}

static void test_round_robin_rotates_over_up(void)
{
	struct target_set s;
	int seen[3] = { 0 };

	make(&s, 3, FAILOVER_ROUND_ROBIN, 10000);
	for (int k = 0; k < 6; k++) {
		int i = target_set_pick(&s, 0, 0);

		CHECK(i >= 0 && i < 3);
		if (i >= 0 && i < 3)
			seen[i]++;
	}
	CHECK(seen[0] == 2 && seen[1] == 2 && seen[2] == 2);
	/* A down one is skipped: its turn goes to the next up one. */
	target_set_failed(&s, 1, 0, NULL);
	memset(seen, 0, sizeof(seen));
	for (int k = 0; k < 6; k++) {
		int i = target_set_pick(&s, 0, 100);

		if (i >= 0 && i < 3)
			seen[i]++;
	}
	CHECK(seen[1] == 0 && seen[0] + seen[2] == 6 && seen[0] && seen[2]);
	/* A retry within the connection does not take another's turn. */
	s.next = 0;
	CHECK(target_set_pick(&s, BIT(0), 100) == 2);
	CHECK(s.next == 0);
}

static void test_carry_keeps_known_addresses(void)
{
	struct target_set old, now;

	make(&old, 2, FAILOVER_ORDERED, 10000);
	target_set_failed(&old, 1, 0, NULL);
	target_set_failed(&old, 1, 0, NULL);
	make(&now, 3, FAILOVER_ORDERED, 10000);
	/* now: 8000 (old 0), 8001 (old 1), 8002 (new) */
	CHECK(target_set_common(&now, &old) == 2);
	CHECK(!target_set_same(&now, &old));
	target_set_carry(&now, &old);
	CHECK(target_set_up(&now, 0));
	CHECK(!target_set_up(&now, 1));
	CHECK(target_set_failures(&now, 1) == 2);
	CHECK(target_set_up(&now, 2) && target_set_failures(&now, 2) == 0);
	make(&now, 2, FAILOVER_ORDERED, 10000);
	CHECK(target_set_same(&now, &old));
}

int main(void)
{
	RUN(test_ordered_first_up);
	RUN(test_down_is_skipped_until_backoff_ends);
	RUN(test_backoff_doubles_to_cap);
	RUN(test_all_down_last_resort);
	RUN(test_round_robin_rotates_over_up);
	RUN(test_carry_keeps_known_addresses);
	return check_result();
}
