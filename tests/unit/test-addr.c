// SPDX-License-Identifier: GPL-2.0-only
/* addr_parse, addr_is_local and addr_format: the address forms README.md promises. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/un.h>

#include "addr.h"
#include "check.h"

static struct ktun_addr a;
static char err[256];

static int parse(const char *text, bool allow_unix)
{
	err[0] = '\0';
	return addr_parse(text, allow_unix, &a, err, sizeof(err));
}

static unsigned port_of(const struct ktun_addr *addr)
{
	if (addr->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&addr->ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&addr->ss)->sin6_port);
}

/* Refused, with a reason for the operator. */
static void check_refused(const char *text, bool allow_unix)
{
	int rc = parse(text, allow_unix);

	if (rc != -EINVAL)
		fprintf(stderr, "'%s' gave %d, want -EINVAL\n", text, rc);
	CHECK(rc == -EINVAL);
	CHECK(err[0] != '\0');
}

static void test_ipv4(void)
{
	CHECK(parse("10.1.2.3:8443", false) == 0);
	CHECK(a.ss.ss_family == AF_INET);
	CHECK(a.len == sizeof(struct sockaddr_in));
	CHECK(port_of(&a) == 8443);
	CHECK(((struct sockaddr_in *)&a.ss)->sin_addr.s_addr == htonl(0x0a010203));
	CHECK_STR(a.host, "10.1.2.3");
	CHECK(a.host_is_literal);
}

static void test_ipv6_brackets(void)
{
	struct in6_addr want;

	inet_pton(AF_INET6, "2001:db8::1", &want);
	CHECK(parse("[2001:db8::1]:443", false) == 0);
	CHECK(a.ss.ss_family == AF_INET6);
	CHECK(a.len == sizeof(struct sockaddr_in6));
	CHECK(port_of(&a) == 443);
	CHECK(!memcmp(&((struct sockaddr_in6 *)&a.ss)->sin6_addr, &want, sizeof(want)));
	CHECK_STR(a.host, "2001:db8::1"); /* without the brackets */
	CHECK(a.host_is_literal);
}

static void test_ipv6_needs_brackets(void)
{
	check_refused("::1:443", false);
	CHECK_CONTAINS(err, "bracket");
	check_refused("2001:db8::1:443", false);
	check_refused("[::1]443", false); /* no ':' after ']' */
	check_refused("[::1:443", false);
	check_refused("[::1]", false);
}

static void test_host_name(void)
{
	CHECK(parse("localhost:8080", false) == 0);
	CHECK_STR(a.host, "localhost");
	CHECK(!a.host_is_literal);
	CHECK(a.ss.ss_family == AF_INET || a.ss.ss_family == AF_INET6);
	CHECK(port_of(&a) == 8080);
	CHECK(addr_is_local(&a));
}

static void test_unix(void)
{
	const char *path = "/run/ktun/app.sock";

	CHECK(parse("unix:/run/ktun/app.sock", true) == 0);
	CHECK(addr_is_unix(&a));
	CHECK_STR(((struct sockaddr_un *)&a.ss)->sun_path, path);
	CHECK(a.len == offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
	CHECK_STR(a.host, "");

	check_refused("unix:/run/ktun/app.sock", false);
	CHECK_CONTAINS(err, "unix");
	check_refused("unix:relative.sock", true);
	check_refused("unix:", true);
}

static void test_unix_path_length(void)
{
	char text[8 + sizeof(((struct sockaddr_un *)0)->sun_path)];
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1; /* room for the NUL */

	snprintf(text, sizeof(text), "unix:/%0*d", (int)max - 1, 0);
	CHECK(parse(text, true) == 0);
	snprintf(text, sizeof(text), "unix:/%0*d", (int)max, 0);
	check_refused(text, true);
}

static void test_ports(void)
{
	CHECK(parse("127.0.0.1:1", false) == 0 && port_of(&a) == 1);
	CHECK(parse("127.0.0.1:65535", false) == 0 && port_of(&a) == 65535);
	check_refused("127.0.0.1:0", false);
	CHECK_CONTAINS(err, "port");
	check_refused("127.0.0.1:65536", false);
	check_refused("127.0.0.1:-1", false);
	check_refused("127.0.0.1:99999999999999999999", false);
	check_refused("127.0.0.1:", false);
	check_refused("127.0.0.1:https", false);
	check_refused("127.0.0.1:80x", false);
	check_refused("127.0.0.1:80 ", false);
	check_refused("[::1]:", false);
	check_refused("[::1]:0", false);
}

static void test_missing_parts(void)
{
	check_refused("127.0.0.1", false);
	CHECK_CONTAINS(err, "PORT");
	check_refused("localhost", false);
	check_refused(":8080", false);
	check_refused("[]:8080", false);
	check_refused("", false);
}

static void test_overlong_host(void)
{
	char text[ADDR_HOST_MAX + 16];

	memset(text, 'a', ADDR_HOST_MAX);
	strcpy(text + ADDR_HOST_MAX, ":80");
	check_refused(text, false);
	CHECK_CONTAINS(err, "host");
}

static bool is_local(const char *text)
{
	if (parse(text, true) != 0) {
		fprintf(stderr, "cannot parse '%s': %s\n", text, err);
		check_failures++;
		return false;
	}
	return addr_is_local(&a);
}

static void test_is_local(void)
{
	CHECK(is_local("127.0.0.1:1"));
	CHECK(is_local("127.200.3.4:1"));
	CHECK(is_local("[::1]:1"));
	CHECK(is_local("[::ffff:127.0.0.1]:1"));
	CHECK(is_local("unix:/run/app.sock"));

	CHECK(!is_local("0.0.0.0:1"));
	CHECK(!is_local("10.0.0.1:1"));
	CHECK(!is_local("126.255.255.255:1"));
	CHECK(!is_local("128.0.0.1:1"));
	CHECK(!is_local("[::]:1"));
	CHECK(!is_local("[::2]:1"));
	CHECK(!is_local("[::ffff:10.0.0.1]:1"));
	CHECK(!is_local("[2001:db8::1]:1"));
}

/* Formats a parsed address, then parses the text back: both must agree. */
static void check_round_trip(const char *text)
{
	char buf[ADDR_TEXT_MAX];
	struct ktun_addr first;

	CHECK(parse(text, true) == 0);
	first = a;
	CHECK_STR(addr_format((struct sockaddr *)&first.ss, first.len, buf), text);
	CHECK(parse(buf, true) == 0);
	CHECK(a.len == first.len && !memcmp(&a.ss, &first.ss, a.len));
}

static void test_format_round_trip(void)
{
	check_round_trip("10.1.2.3:8443");
	check_round_trip("127.0.0.1:1");
	check_round_trip("[2001:db8::1]:443");
	check_round_trip("[::1]:65535");
	check_round_trip("unix:/run/app.sock");
}

static void test_format_odd_addresses(void)
{
	char buf[ADDR_TEXT_MAX];
	struct sockaddr_un unnamed = { .sun_family = AF_UNIX };
	struct sockaddr_storage other = { .ss_family = AF_PACKET };

	/* An unnamed unix peer, as accept() reports a client that never bound. */
	CHECK_STR(addr_format((struct sockaddr *)&unnamed, sizeof(sa_family_t), buf), "unix:");
	CHECK_STR(addr_format((struct sockaddr *)&other, sizeof(other), buf), "?");
}

int main(void)
{
	RUN(test_ipv4);
	RUN(test_ipv6_brackets);
	RUN(test_ipv6_needs_brackets);
	RUN(test_host_name);
	RUN(test_unix);
	RUN(test_unix_path_length);
	RUN(test_ports);
	RUN(test_missing_parts);
	RUN(test_overlong_host);
	RUN(test_is_local);
	RUN(test_format_round_trip);
	RUN(test_format_odd_addresses);
	return check_result();
}
