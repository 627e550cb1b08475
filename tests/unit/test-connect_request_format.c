// SPDX-License-Identifier: GPL-2.0-only
/* The CONNECT request of a client tunnel with a destination: its authority, checked at start
 * or taken from the original destination, and the request itself, byte for byte as agreed
 * (docs/redirect.md, "Destinations"). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>

#include "check.h"
#include "connect_request.h"

static void expect_authority(const char *text, const char *want)
{
	char out[CONNECT_AUTHORITY_MAX], err[128] = "";

	CHECK(connect_authority_parse(text, out, err, sizeof(err)) == 0);
	CHECK_STR(out, want);
}

static void expect_refused(const char *text, const char *why)
{
	char out[CONNECT_AUTHORITY_MAX], err[128] = "";

	CHECK(connect_authority_parse(text, out, err, sizeof(err)) == -EINVAL);
	CHECK_CONTAINS(err, why);
}

static void test_authority(void)
{
	char long_name[300];

	expect_authority("db.internal:5432", "db.internal:5432");
	expect_authority("203.0.113.7:80", "203.0.113.7:80");
	expect_authority("[2001:DB8::0:1]:443", "[2001:db8::1]:443");
	expect_authority("a-b.c9:1", "a-b.c9:1");
	expect_authority("h:65535", "h:65535");
	expect_refused("db.internal", "HOST:PORT");
	expect_refused("2001:db8::1:80", "brackets");
	expect_refused("[2001:db8::1]80", "[IPV6]:PORT");
	expect_refused("[2001:db8::zz]:80", "IPv6");
	expect_refused("[fe80::1%eth0]:80", "IPv6");
	expect_refused("h:0", "port");
	expect_refused("h:65536", "port");
	expect_refused("h:+80", "port");
	expect_refused("h:080x", "port");
	expect_refused("h:", "port");
	expect_refused(":80", "host");
	expect_refused("-h:80", "host");
	expect_refused("h-.x:80", "host");
	expect_refused("a..b:80", "host");
	expect_refused("a b:80", "host");
	expect_refused("h\r\nX-y:80", "host");
	expect_refused("h\r\nX: y:80", "brackets"); /* refused all the same */
	expect_refused("h/x:80", "host");
	/* The server's parser (connect_request.c) refuses these, so the configuration does. */
	expect_refused("h:0443", "port");
	expect_refused("1.2.3:80", "dotted decimal");
	expect_refused("0x7f.1:80", "dotted decimal");
	expect_refused("010.1.1.1:80", "dotted decimal");
	expect_refused("999.1.1.1:80", "host");
	expect_refused("a.123:80", "host");
	memset(long_name, 'a', 64);
	memcpy(long_name + 64, ":80", 4);
	expect_refused(long_name, "host"); /* a 64-character label */
	for (int i = 0; i < 4; i++) {
		memset(long_name + i * 64, 'a', 63);
		long_name[i * 64 + 63] = '.';
	}
	memcpy(long_name + 255, ":80", 4); /* 255 characters of name */
	expect_refused(long_name, "host");
}

static void test_from_addr(void)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *v4 = (void *)&ss;
	struct sockaddr_in6 *v6 = (void *)&ss;
	char out[CONNECT_AUTHORITY_MAX];

	v4->sin_family = AF_INET;
	v4->sin_port = htons(5432);
	inet_pton(AF_INET, "203.0.113.7", &v4->sin_addr);
	CHECK(connect_authority_from_addr(&ss, sizeof(*v4), out) == 0);
	CHECK_STR(out, "203.0.113.7:5432");
	memset(&ss, 0, sizeof(ss));
	v6->sin6_family = AF_INET6;
	v6->sin6_port = htons(80);
	inet_pton(AF_INET6, "2001:db8:1::2", &v6->sin6_addr);
	CHECK(connect_authority_from_addr(&ss, sizeof(*v6), out) == 0);
	CHECK_STR(out, "[2001:db8:1::2]:80");
	/* What a dual-stack transparent listener sees for IPv4 is sent as IPv4. */
	inet_pton(AF_INET6, "::ffff:192.0.2.2", &v6->sin6_addr);
	CHECK(connect_authority_from_addr(&ss, sizeof(*v6), out) == 0);
	CHECK_STR(out, "192.0.2.2:80");
	ss.ss_family = AF_UNIX;
	CHECK(connect_authority_from_addr(&ss, sizeof(ss), out) == -EAFNOSUPPORT);
}

static void test_request(void)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in6 *v6 = (void *)&ss;
	char buf[CONNECT_REQUEST_OUT_MAX];
	const char *want = "CONNECT 203.0.113.7:80 HTTP/1.1\r\nHost: 203.0.113.7:80\r\n"
			   "Forwarded: for=\"[2001:db8::1]:5678\"\r\n\r\n";

	v6->sin6_family = AF_INET6;
	v6->sin6_port = htons(5678);
	inet_pton(AF_INET6, "2001:db8::1", &v6->sin6_addr);
	CHECK(connect_request_format(buf, sizeof(buf), "203.0.113.7:80", &ss, sizeof(*v6)) ==
	      (int)strlen(want));
	CHECK_STR(buf, want);
	/* A unix listener's peer has no address to tell (RFC 7239: "unknown"). */
	ss.ss_family = AF_UNIX;
	CHECK(connect_request_format(buf, sizeof(buf), "h:1", &ss, sizeof(ss)) > 0);
	CHECK_CONTAINS(buf, "Forwarded: for=\"unknown\"\r\n\r\n");
	CHECK(connect_request_format(buf, 20, "h:1", NULL, 0) == -ENOSPC);
}

int main(void)
{
	RUN(test_authority);
	RUN(test_from_addr);
	RUN(test_request);
	return check_result();
}
