// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ktunctl_json.h"

/* ktunctl --json: numbers keep the precision the daemon wrote them with. */

static char *print(const char *command, const char *text, bool failed)
{
	char *answer = strdup(text), *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	CHECK(f && answer);
	CHECK(ktunctl_print_json(f, command, answer, failed) == 0);
	fclose(f);
	free(answer);
	return out;
}

static void test_age_milliseconds(void)
{
	/* 0.82 is 0.81999999999999995 as the nearest double at 17 digits. */
	char *out = print("conns", "conn=1 tunnel=t age=0.820 up=12\n", false);

	CHECK_CONTAINS(out, "\"age\":0.820");
	CHECK_CONTAINS(out, "\"up\":12");
	CHECK(!strstr(out, "0.8199"));
	free(out);
}

static void test_metric_value(void)
{
	char *out = print("metrics", "ktund_handshake_duration_seconds_sum{tunnel=\"t\"} 0.3\n", false);

	CHECK_CONTAINS(out, "\"value\":0.3");
	CHECK(!strstr(out, "0.2999"));
	free(out);
}

static void test_error(void)
{
	char *out = print("", "error: reload failed: x\n", true);

	CHECK_CONTAINS(out, "\"error\":\"reload failed: x\"");
	free(out);
}

int main(void)
{
	RUN(test_age_milliseconds);
	RUN(test_metric_value);
	RUN(test_error);
	return check_result();
}
