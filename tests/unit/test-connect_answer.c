// SPDX-License-Identifier: GPL-2.0-only
/* connect_answer_parse: the answer head of a CONNECT relay (RFC 9112 section 4), strict and
 * bounded, fed whole and byte by byte, as records may cut it anywhere. */
#include <errno.h>
#include <stdint.h>

#include "check.h"
#include "connect_answer.h"

static int parse(const char *s, struct connect_answer *a, const char **why)
{
	return connect_answer_parse((const uint8_t *)s, strlen(s), a, why);
}

/* Every prefix of a good head is "not yet", the whole is complete. */
static void expect_complete(const char *s, unsigned status, const char *reason, size_t head_len)
{
	struct connect_answer a;
	const char *why = NULL;

	for (size_t i = 0; i < head_len; i++) {
		int rc = connect_answer_parse((const uint8_t *)s, i, &a, &why);

		if (rc != 0)
			fprintf(stderr, "prefix %zu of %s: %d (%s)\n", i, s, rc, why ? why : "");
		CHECK(rc == 0);
	}
	CHECK(parse(s, &a, &why) == 1);
	CHECK(a.status == status);
	CHECK_STR(a.reason, reason);
	CHECK(a.head_len == head_len);
}

static void expect_bad(const char *s, const char *why_part)
{
	struct connect_answer a;
	const char *why = NULL;

	if (parse(s, &a, &why) != -EBADMSG)
		fprintf(stderr, "not refused: %s\n", s);
	CHECK(parse(s, &a, &why) == -EBADMSG);
	CHECK_CONTAINS(why, why_part);
}

static void test_good(void)
{
	const char *ok = "HTTP/1.1 200 Connection established\r\n\r\n";

	expect_complete(ok, 200, "Connection established", strlen(ok));
	expect_complete("HTTP/1.0 200 OK\r\nProxy-Agent: x/1\r\n\r\n", 200, "OK", 37);
	expect_complete("HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
			403, "Forbidden", 64);
	expect_complete("HTTP/1.1 204\r\n\r\n", 204, "", 16);
	expect_complete("HTTP/1.1 200 \r\n\r\n", 200, "", 17);
	expect_complete("HTTP/1.1 502 Bad\tGateway\r\nX:\r\n\r\n", 502, "Bad\tGateway", 32);
}

/* Bytes after the head are the origin's: never part of it, whatever they are. */
static void test_after_head(void)
{
	const char *s = "HTTP/1.1 200 OK\r\n\r\nSSH-2.0-x\r\n\x01\x02";
	struct connect_answer a;
	const char *why;

	CHECK(parse(s, &a, &why) == 1);
	CHECK(a.head_len == 19);
}

static void test_bad(void)
{
	expect_bad("SSH-2.0-OpenSSH\r\n", "does not begin with HTTP/1.");
	expect_bad("HTTP/2 200\r\n\r\n", "does not begin");
	expect_bad("HTTP/1.2 200 OK\r\n\r\n", "status line");
	expect_bad("HTTP/1.1 20 OK\r\n\r\n", "three digits");
	expect_bad("HTTP/1.1 2000 OK\r\n\r\n", "no space after");
	expect_bad("HTTP/1.1 099 X\r\n\r\n", "outside 100-599");
	expect_bad("HTTP/1.1 600 X\r\n\r\n", "outside 100-599");
	expect_bad("HTTP/1.1 100 Continue\r\n\r\n", "interim");
	expect_bad("HTTP/1.1 200 OK\n\n", "LF without CR");
	expect_bad("HTTP/1.1 200 OK\r\nA: b\n\r\n", "LF without CR");
	expect_bad("HTTP/1.1 200 OK\rX\r\n\r\n", "CR not followed by LF");
	expect_bad("HTTP/1.1 200 O\x01K\r\n\r\n", "control byte");
	expect_bad("HTTP/1.1 200 OK\r\nA: \x7f\r\n\r\n", "control byte");
	expect_bad("HTTP/1.1 200 OK\r\n folded\r\n\r\n", "obs-fold");
	expect_bad("HTTP/1.1 200 OK\r\nNo colon\r\n\r\n", "NAME: VALUE");
	expect_bad("HTTP/1.1 200 OK\r\n: empty name\r\n\r\n", "NAME: VALUE");
	expect_bad("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "NAME: VALUE");
}

/* A relay that is no relay is caught at its first bytes, not at the timeout. */
static void test_early(void)
{
	struct connect_answer a;
	const char *why;

	CHECK(connect_answer_parse((const uint8_t *)"HTTX", 4, &a, &why) == -EBADMSG);
	CHECK(connect_answer_parse((const uint8_t *)"HTT", 3, &a, &why) == 0);
	CHECK(connect_answer_parse((const uint8_t *)"HTTP/1.1 200 OK\r\nA\x01", 19, &a, &why) == -EBADMSG);
	CHECK(connect_answer_parse((const uint8_t *)"", 0, &a, &why) == 0);
}

/* 4096 bytes at most for the whole head; the longest reason phrase is cut, not overrun. */
static void test_bounds(void)
{
	static char s[CONNECT_ANSWER_MAX + 64];
	struct connect_answer a;
	const char *why;
	size_t n;

	n = (size_t)snprintf(s, sizeof(s), "HTTP/1.1 200 OK\r\nX: ");
	memset(s + n, 'a', CONNECT_ANSWER_MAX - n - 4);
	memcpy(s + CONNECT_ANSWER_MAX - 4, "\r\n\r\n", 4);
	CHECK(connect_answer_parse((const uint8_t *)s, CONNECT_ANSWER_MAX, &a, &why) == 1);
	CHECK(a.head_len == CONNECT_ANSWER_MAX);
	/* One byte more does not fit. */
	memset(s + n, 'a', CONNECT_ANSWER_MAX - n - 3);
	memcpy(s + CONNECT_ANSWER_MAX - 3, "\r\n\r\n", 4);
	CHECK(connect_answer_parse((const uint8_t *)s, CONNECT_ANSWER_MAX, &a, &why) == -EBADMSG);
	CHECK_CONTAINS(why, "longer than 4096");
	CHECK(connect_answer_parse((const uint8_t *)s, CONNECT_ANSWER_MAX + 1, &a, &why) == -EBADMSG);

	n = (size_t)snprintf(s, sizeof(s), "HTTP/1.1 403 ");
	memset(s + n, 'r', 1000);
	memcpy(s + n + 1000, "\r\n\r\n", 5);
	CHECK(parse(s, &a, &why) == 1);
	CHECK(a.reason_len == CONNECT_REASON_MAX - 1);
	CHECK(strlen(a.reason) == CONNECT_REASON_MAX - 1);
}

int main(void)
{
	RUN(test_good);
	RUN(test_after_head);
	RUN(test_bad);
	RUN(test_early);
	RUN(test_bounds);
	return check_result();
}
