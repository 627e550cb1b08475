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
	CHECK(cert_text_clean(RAW("\xf0\x9f\x94\x91 \xe2\x82\xac"))); /* U+1F511, U+20AC */
	/* C1 controls, written as UTF-8 (U+0085 NEL, U+009B CSI) */
	CHECK(!cert_text_clean(RAW("edge\xc2\x85" "client")));
	CHECK(!cert_text_clean(RAW("edge\xc2\x9b" "2J")));
	/* not UTF-8: a lone 8-bit CSI, 0xff, a cut sequence, overlong '/' and NUL, a surrogate,
	 * past U+10FFFF */
	CHECK(!cert_text_clean(RAW("a\x9b")));
	CHECK(!cert_text_clean(RAW("\xff\xfe")));
	CHECK(!cert_text_clean(RAW("a\xe2\x82")));
	CHECK(!cert_text_clean(RAW("\xc0\xaf")));
	CHECK(!cert_text_clean(RAW("\xc0\x80")));
	CHECK(!cert_text_clean(RAW("\xed\xa0\x80")));
	CHECK(!cert_text_clean(RAW("\xf4\x90\x80\x80")));
	/* line separator, right-to-left override, isolate */
	CHECK(!cert_text_clean(RAW("a\xe2\x80\xa8" "b")));
	CHECK(!cert_text_clean(RAW("admin\xe2\x80\xae" "txt.exe")));
	CHECK(!cert_text_clean(RAW("a\xe2\x81\xa6" "b")));
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
	/* Every byte of 0x80 and above: the line stays ASCII, valid UTF-8 whatever was sent. */
	check_escape(RAW("J\xc3\xbc" "rgen\xc2\x9b\xff"), 128, "J\\xc3\\xbcrgen\\xc2\\x9b\\xff");
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
