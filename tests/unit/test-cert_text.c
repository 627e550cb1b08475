// SPDX-License-Identifier: GPL-2.0-only
/* cert_text_clean and cert_text_escape: certificate text with NULs and control characters. */
#include "cert_text.h"
#include "check.h"

#define RAW(s) s, sizeof(s) - 1

static void test_clean(void)
{
	CHECK(cert_text_clean(RAW("edge.test")));
	CHECK(cert_text_clean(RAW("CN=Jürgen,OU=edge"))); /* UTF-8 is text */
	CHECK(cert_text_clean(RAW("")));
	CHECK(!cert_text_clean(RAW("edge.test\0.evil.example")));
	CHECK(!cert_text_clean(RAW("\0")));
	CHECK(!cert_text_clean(RAW("a\nb")));
	CHECK(!cert_text_clean(RAW("a\x1b[31m")));
	CHECK(!cert_text_clean(RAW("a\x7f")));
	CHECK(!cert_text_clean(RAW("\t")));
}

static void check_escape(const char *in, size_t len, size_t buflen, const char *want)
{
	char buf[128];

	memset(buf, 'Z', sizeof(buf));
	cert_text_escape(in, len, buf, buflen);
	CHECK_STR(buf, want);
}

static void test_escape(void)
{
	check_escape(RAW("CN=edge-client,OU=edge"), 128, "CN=edge-client,OU=edge");
	check_escape(RAW("edge.test\0.evil.example"), 128, "edge.test\\x00.evil.example");
	check_escape(RAW("a\"b\\c\nd\x7f"), 128, "a\\x22b\\x5cc\\x0ad\\x7f");
	check_escape(RAW("id=\"x\" reason=done"), 128, "id=\\x22x\\x22 reason=done");
	/* Cut at a whole character, never inside an escape, and marked with "...". */
	check_escape(RAW("ab\0cd"), 5, "a...");
	check_escape(RAW("ab\0cd"), 7, "ab...");
	check_escape(RAW("ab\0cdef"), 10, "ab\\x00...");
	check_escape(RAW("ab\0cdef"), 11, "ab\\x00cdef");
	check_escape(RAW("ab\0cd"), 9, "ab\\x00cd");
	check_escape(RAW("abcdef"), 4, "...");
	check_escape(RAW("abc"), 4, "abc");
	check_escape(RAW("abc"), 3, "ab");
	check_escape(RAW("abc"), 1, "");
}

int main(void)
{
	RUN(test_clean);
	RUN(test_escape);
	return check_result();
}
