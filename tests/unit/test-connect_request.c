// SPDX-License-Identifier: GPL-2.0-only
/* The CONNECT request head (connect_request.c): what curl and ktund clients send parses, and
 * each way of being malformed is refused for its own reason. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>

#include "check.h"
#include "connect_request.h"

static int parse(const char *text, struct connect_request *r, char *err)
{
	return connect_request_parse((const uint8_t *)text, strlen(text), r, err, 160);
}

static void src_is(const struct connect_request *r, int family, const char *addr, int port)
{
	char got[INET6_ADDRSTRLEN] = "";

	CHECK(r->srclen && r->src.ss_family == family);
	if (family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)&r->src;
		inet_ntop(AF_INET, &sin->sin_addr, got, sizeof(got));
		CHECK(ntohs(sin->sin_port) == port);
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)&r->src;
		inet_ntop(AF_INET6, &sin6->sin6_addr, got, sizeof(got));
		CHECK(ntohs(sin6->sin6_port) == port);
	}
	CHECK_STR(got, addr);
}

static void test_ktund_client(void)
{
	const char *req = "CONNECT 192.0.2.7:80 HTTP/1.1\r\nHost: 192.0.2.7:80\r\n"
			  "Forwarded: for=\"198.51.100.1:5678\"\r\n\r\nGET / HTTP/1.0\r\n";
	struct connect_request r;
	char err[160];
	int n = parse(req, &r, err);

	CHECK(n == (int)(strstr(req, "GET") - req));
	CHECK(r.head_len == (size_t)n);
	CHECK_STR(r.host, "192.0.2.7");
	CHECK(r.port == 80 && r.host_is_literal && r.dst.ss_family == AF_INET);
	src_is(&r, AF_INET, "198.51.100.1", 5678);
}

static void test_v6_and_curl(void)
{
	struct connect_request r;
	char err[160];

	CHECK(parse("CONNECT [2001:db8::7]:443 HTTP/1.1\r\nHost: [2001:db8::7]:443\r\n"
		    "Forwarded: for=\"[2001:db8::1]:5678\";proto=https\r\n\r\n", &r, err) > 0);
	CHECK_STR(r.host, "2001:db8::7");
	CHECK(r.port == 443 && r.host_is_literal && r.dst.ss_family == AF_INET6);
	src_is(&r, AF_INET6, "2001:db8::1", 5678);
	/* What curl --proxytunnel sends: extra fields, no Forwarded. */
	CHECK(parse("CONNECT origin.example:8080 HTTP/1.1\r\nHost: origin.example:8080\r\n"
		    "User-Agent: curl/7.88.1\r\nProxy-Connection: Keep-Alive\r\n\r\n", &r, err) > 0);
	CHECK_STR(r.host, "origin.example");
	CHECK(r.port == 8080 && !r.host_is_literal && !r.srclen);
	CHECK(parse("CONNECT a.example:1 HTTP/1.0\r\n\r\n", &r, err) > 0);
	CHECK(parse("CONNECT a.example:1 HTTP/1.1\r\nhost: A.EXAMPLE:1\r\n"
		    "Forwarded: for=unknown\r\n\r\n", &r, err) > 0 && !r.srclen);
	CHECK(parse("CONNECT a.example:1 HTTP/1.1\r\nHost: a.example:1\r\n"
		    "Forwarded: for=192.0.2.1\r\n\r\n", &r, err) > 0);
	src_is(&r, AF_INET, "192.0.2.1", 0);
}

static void test_incomplete(void)
{
	const char *req = "CONNECT 192.0.2.7:80 HTTP/1.1\r\nHost: 192.0.2.7:80\r\n\r\n";
	struct connect_request r;
	char err[160];

	/* Every prefix waits for more; none is refused. */
	for (size_t n = 0; n < strlen(req); n++)
		CHECK(connect_request_parse((const uint8_t *)req, n, &r, err, sizeof(err)) == 0);
}

static void refused(const char *text, int want, const char *why)
{
	struct connect_request r;
	char err[160];
	int rc = parse(text, &r, err);

	if (rc != want)
		fprintf(stderr, "for %s: %d (%s), want %d\n", text, rc, err, want);
	CHECK(rc == want);
	CHECK_CONTAINS(err, why);
}

/* Names glibc's resolver would read as a number (inet_aton's hex, octal and short forms):
 * the address must be written in the one way the rules and logs read it. */
static void test_numeric_names(void)
{
	struct connect_request r;
	char err[160];

	refused("CONNECT 0x0a4d0006:80 HTTP/1.0\r\n\r\n", -EINVAL, "dotted decimal");
	refused("CONNECT 127.0.0.0x1:80 HTTP/1.0\r\n\r\n", -EINVAL, "dotted decimal");
	refused("CONNECT 0x7f.1:80 HTTP/1.0\r\n\r\n", -EINVAL, "dotted decimal");
	refused("CONNECT 0XA.0.0.1:80 HTTP/1.0\r\n\r\n", -EINVAL, "dotted decimal");
	/* A name that merely starts like one is still a name. */
	CHECK(parse("CONNECT 0x.example:80 HTTP/1.0\r\n\r\n", &r, err) > 0 && !r.host_is_literal);
	CHECK(parse("CONNECT 0xcafe.example:80 HTTP/1.0\r\n\r\n", &r, err) > 0);
}

static void test_refused(void)
{
	refused("GET / HTTP/1.1\r\n\r\n", -EINVAL, "method");
	refused("GE", -EINVAL, "method");
	refused("connect a.example:1 HTTP/1.1\r\n\r\n", -EINVAL, "method");
	refused("CONNECT http://a.example:1/ HTTP/1.1\r\nHost: a.example:1\r\n\r\n", -EINVAL,
		"HOST:PORT");
	refused("CONNECT user@a.example:1 HTTP/1.1\r\n\r\n", -EINVAL, "HOST:PORT");
	refused("CONNECT a.example HTTP/1.1\r\nHost: a.example\r\n\r\n", -EINVAL, "port");
	refused("CONNECT a.example:0 HTTP/1.1\r\nHost: a.example:0\r\n\r\n", -EINVAL, "port");
	refused("CONNECT a.example:65536 HTTP/1.1\r\nHost: a.example:65536\r\n\r\n", -EINVAL, "port");
	refused("CONNECT a.example:080 HTTP/1.1\r\nHost: a.example:080\r\n\r\n", -EINVAL, "port");
	refused("CONNECT a.example:+80 HTTP/1.1\r\nHost: a.example:+80\r\n\r\n", -EINVAL, "port");
	refused("CONNECT 2001:db8::1:80 HTTP/1.1\r\n\r\n", -EINVAL, "neither");
	refused("CONNECT [2001:db8::g]:80 HTTP/1.1\r\n\r\n", -EINVAL, "IPv6");
	refused("CONNECT [fe80::1%eth0]:80 HTTP/1.1\r\n\r\n", -EINVAL, "IPv6");
	refused("CONNECT 010.1.1.1:80 HTTP/1.1\r\n\r\n", -EINVAL, "dotted decimal");
	refused("CONNECT 1.2.3:80 HTTP/1.1\r\n\r\n", -EINVAL, "dotted decimal");
	refused("CONNECT a_b.example:80 HTTP/1.1\r\n\r\n", -EINVAL, "neither");
	refused("CONNECT a.example:80 HTTP/2\r\n\r\n", -EINVAL, "HTTP/1.1");
	refused("CONNECT a.example:80  HTTP/1.1\r\n\r\n", -EINVAL, "");
	refused("CONNECT a.example:80 HTTP/1.1\r\n\r\n", -EINVAL, "without Host");
	refused("CONNECT a.example:80 HTTP/1.1\r\nHost: b.example:80\r\n\r\n", -EINVAL, "differs");
	refused("CONNECT a.example:80 HTTP/1.1\r\nHost: a.example:80\r\nHost: a.example:80\r\n\r\n",
		-EINVAL, "Host twice");
	refused("CONNECT a.example:80 HTTP/1.1\r\nHost: a.example:80\r\nForwarded: for=1.2.3.4\r\n"
		"Forwarded: for=1.2.3.5\r\n\r\n", -EINVAL, "Forwarded twice");
	refused("CONNECT a.example:80 HTTP/1.1\r\nHost: a.example:80\r\n"
		"Forwarded: for=1.2.3.4, for=1.2.3.5\r\n\r\n", -EINVAL, "several");
	refused("CONNECT a.example:80 HTTP/1.1\r\nHost: a.example:80\r\n"
		"Forwarded: for=1.2.3.4;for=1.2.3.5\r\n\r\n", -EINVAL, "for= twice");
	refused("CONNECT a.example:80 HTTP/1.1\r\nHost: a.example:80\r\n"
		"Forwarded: for=\"1.2.3.4:99999\"\r\n\r\n", -EINVAL, "port");
	refused("CONNECT a.example:80 HTTP/1.1\r\nHost: a.example:80\r\n"
		"Forwarded: for=\"a\\\"b\"\r\n\r\n", -EINVAL, "bad value");
	refused("CONNECT a.example:80 HTTP/1.1\r\nHost: a.example:80\r\n"
		"Forwarded: for=evil.example\r\n\r\n", -EINVAL, "not an IP");
	refused("CONNECT a.example:80 HTTP/1.1\r\nHost: a.example:80\r\nX-A: 1\r\n b\r\n\r\n",
		-EINVAL, "folding");
	refused("CONNECT a.example:80 HTTP/1.1\r\nHost : a.example:80\r\n\r\n", -EINVAL, "field");
	refused("CONNECT a.example:80 HTTP/1.1\r\nHost: a.example:80\r\nContent-Length: 0\r\n\r\n",
		-EINVAL, "body");
	refused("CONNECT a.example:80 HTTP/1.1\r\nHost: a.example:80\r\nTransfer-Encoding: x\r\n\r\n",
		-EINVAL, "body");
	refused("CONNECT a.example:80 HTTP/1.1\nHost: a.example:80\r\n\r\n", -EINVAL, "LF without CR");
	refused("CONNECT a.example:80 HTTP/1.1\rHost: a.example:80\r\n\r\n", -EINVAL, "CR without LF");
	refused("CONNECT a.example:80 HTTP/1.1\r\nX: \x01\r\n", -EINVAL, "control character 0x01");
	refused("CONNECT a.example:80 HTTP/1.1\r\nX: \x7f\r\n", -EINVAL, "control character 0x7f");
}

static void test_nul_and_size(void)
{
	static const uint8_t nul[] = "CONNECT a.example:80 HTTP/1.1\r\nX: a\0b\r\n\r\n";
	static uint8_t big[CONNECT_REQUEST_MAX + 100];
	const char *start = "CONNECT a.example:80 HTTP/1.1\r\nHost: a.example:80\r\nX: ";
	struct connect_request r;
	char err[160];

	CHECK(connect_request_parse(nul, sizeof(nul) - 1, &r, err, sizeof(err)) == -EINVAL);
	CHECK_CONTAINS(err, "0x00");
	memset(big, 'a', sizeof(big));
	memcpy(big, start, strlen(start));
	CHECK(connect_request_parse(big, CONNECT_REQUEST_MAX - 1, &r, err, sizeof(err)) == 0);
	CHECK(connect_request_parse(big, CONNECT_REQUEST_MAX, &r, err, sizeof(err)) == -EMSGSIZE);
	CHECK(connect_request_parse(big, sizeof(big), &r, err, sizeof(err)) == -EMSGSIZE);
	/* A head that ends exactly at the limit is whole. */
	memcpy(big + CONNECT_REQUEST_MAX - 4, "\r\n\r\n", 4);
	CHECK(connect_request_parse(big, sizeof(big), &r, err, sizeof(err)) == CONNECT_REQUEST_MAX);
}

static void test_answer(void)
{
	char buf[128];

	CHECK(connect_answer_head(200, buf) == strlen("HTTP/1.1 200 Connection established\r\n\r\n"));
	CHECK_STR(buf, "HTTP/1.1 200 Connection established\r\n\r\n");
	connect_answer_head(403, buf);
	CHECK_STR(buf, "HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
	connect_answer_head(504, buf);
	CHECK_CONTAINS(buf, "HTTP/1.1 504 Gateway Timeout\r\n");
}

int main(void)
{
	test_ktund_client();
	test_v6_and_curl();
	test_incomplete();
	test_refused();
	test_numeric_names();
	test_nul_and_size();
	test_answer();
	return check_result();
}
