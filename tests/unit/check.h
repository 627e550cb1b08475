/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_TEST_CHECK_H
#define KTUN_TEST_CHECK_H

/* The unit tests' whole framework. CHECK records a failure and carries on, so one run shows
 * every broken expectation; RUN names each test case; main() returns check_result(). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_SKIP 77

static int check_failures;

#define CHECK(cond)                                                                    \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__,      \
				__LINE__, __func__, #cond);                            \
			check_failures++;                                              \
		}                                                                      \
	} while (0)

#define CHECK_STR(got, want)                                                           \
	do {                                                                           \
		const char *got_ = (got), *want_ = (want);                             \
		if (!got_ || strcmp(got_, want_)) {                                    \
			fprintf(stderr, "%s:%d: %s: %s is \"%s\", want \"%s\"\n",         \
				__FILE__, __LINE__, __func__, #got,                    \
				got_ ? got_ : "(null)", want_);                        \
			check_failures++;                                              \
		}                                                                      \
	} while (0)

/* For error messages: the text must say what it is about. */
#define CHECK_CONTAINS(text, part)                                                     \
	do {                                                                           \
		const char *text_ = (text), *part_ = (part);                           \
		if (!text_ || !strstr(text_, part_)) {                                 \
			fprintf(stderr, "%s:%d: %s: \"%s\" does not contain \"%s\"\n",   \
				__FILE__, __LINE__, __func__, text_ ? text_ : "(null)", part_); \
			check_failures++;                                              \
		}                                                                      \
	} while (0)

#define RUN(test)                                                                      \
	do {                                                                           \
		int before_ = check_failures;                                          \
		test();                                                                \
		printf("%s %s\n", check_failures == before_ ? "ok  " : "FAIL", #test);   \
	} while (0)

static inline int check_result(void)
{
	if (check_failures)
		printf("%d check(s) failed\n", check_failures);
	return check_failures ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
