// SPDX-License-Identifier: GPL-2.0-only
#include <time.h>

#include "check.h"
#include "expiry.h"

/* expiry_check: one warning per threshold crossed, never twice for the same one. */

#define DAY 86400
static const unsigned defaults[] = { 30, 7, 1 };
static const time_t now = 1800000000;

static struct cert_expiry one_cert(time_t not_after)
{
	return (struct cert_expiry){ .role = "own", .subject = "CN=test", .not_after = not_after };
}

static unsigned check_at(struct cert_expiry *c, time_t when)
{
	struct expiry_set set = { .certs = c, .n = 1 };

	return expiry_check(&set, "t", when, defaults, 3);
}

static void test_far_from_expiry_is_quiet(void)
{
	struct cert_expiry c = one_cert(now + 40 * DAY);

	CHECK(check_at(&c, now) == 0);
	CHECK(check_at(&c, now + 9 * DAY) == 0);
}

static void test_each_threshold_once(void)
{
	struct cert_expiry c = one_cert(now + 40 * DAY);

	CHECK(check_at(&c, now + 11 * DAY) == 1); /* 29 days left: 30 crossed */
	CHECK(check_at(&c, now + 12 * DAY) == 0);
	CHECK(check_at(&c, now + 34 * DAY) == 1); /* 6 days left: 7 crossed */
	CHECK(check_at(&c, now + 35 * DAY) == 0);
	CHECK(check_at(&c, now + 39 * DAY + DAY / 2) == 1); /* half a day: 1 crossed */
	CHECK(check_at(&c, now + 40 * DAY) == 1);           /* expired */
	CHECK(check_at(&c, now + 41 * DAY) == 0);
}

static void test_late_start_warns_once(void)
{
	struct cert_expiry c = one_cert(now + 3 * DAY);

	/* Loaded 3 days before the end: 30 and 7 are both crossed, but one line says it. */
	CHECK(check_at(&c, now) == 1);
	CHECK(check_at(&c, now + DAY) == 0);
}

static void test_expired_at_load(void)
{
	struct cert_expiry c = one_cert(now - DAY);

	CHECK(check_at(&c, now) == 1);
	CHECK(check_at(&c, now) == 0);
}

static void test_custom_thresholds(void)
{
	static const unsigned ten[] = { 10 };
	struct cert_expiry certs[2] = { one_cert(now + 20 * DAY), one_cert(now + 5 * DAY) };
	struct expiry_set set = { .certs = certs, .n = 2 };

	certs[1].role = "ca";
	CHECK(expiry_check(&set, "t", now, ten, 1) == 1); /* only the CA with 5 days left */
	CHECK(certs[0].warned == 0);
	CHECK(certs[1].warned == 1);
}

/* expiry_next_due: the next threshold, then the end itself, then nothing. */
static void test_next_due(void)
{
	struct cert_expiry c = one_cert(now + 40 * DAY);
	struct expiry_set set = { .certs = &c, .n = 1 };

	CHECK(check_at(&c, now) == 0);
	CHECK(expiry_next_due(&set, defaults, 3) == now + 10 * DAY); /* 30 days before */
	CHECK(check_at(&c, now + 10 * DAY) == 1);
	CHECK(expiry_next_due(&set, defaults, 3) == now + 33 * DAY); /* 7 days before */
	CHECK(check_at(&c, now + 39 * DAY) == 1);                    /* 1 day left: 7 and 1 */
	CHECK(expiry_next_due(&set, defaults, 3) == now + 40 * DAY); /* the end */
	CHECK(check_at(&c, now + 40 * DAY) == 1);
	CHECK(expiry_next_due(&set, defaults, 3) == (time_t)-1);
}

static void test_next_due_earliest(void)
{
	struct cert_expiry certs[2] = { one_cert(now + 40 * DAY), one_cert(now + 3 * DAY) };
	struct expiry_set set = { .certs = certs, .n = 2 };

	CHECK(expiry_check(&set, "t", now, defaults, 3) == 1);       /* the second: 7 crossed */
	CHECK(expiry_next_due(&set, defaults, 3) == now + 2 * DAY); /* its 1-day threshold */
	set.n = 0;
	CHECK(expiry_next_due(&set, defaults, 3) == (time_t)-1);
}

int main(void)
{
	RUN(test_far_from_expiry_is_quiet);
	RUN(test_each_threshold_once);
	RUN(test_late_start_warns_once);
	RUN(test_expired_at_load);
	RUN(test_next_due);
	RUN(test_next_due_earliest);
	RUN(test_custom_thresholds);
	return check_result();
}
