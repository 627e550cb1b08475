// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "connect_request.h"

static int invalid(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	return -EINVAL;
}

/* The port after the authority's last colon, as the server's parser reads it (connect_request.c). */
static int parse_port(const char *s, unsigned *port)
{
	uint16_t v;

	if (!connect_port_parse(s, strlen(s), &v) || !v)
		return -EINVAL;
	*port = v;
	return 0;
}

int connect_authority_parse(const char *text, char out[static CONNECT_AUTHORITY_MAX], char *err,
			    size_t errlen)
{
	const char *colon;
	char host[INET6_ADDRSTRLEN + 1], v6[INET6_ADDRSTRLEN];
	struct in6_addr a6;
	unsigned port;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		size_t n = close ? (size_t)(close - text - 1) : 0;

		if (!close || close[1] != ':')
			return invalid(err, errlen, "not [IPV6]:PORT");
		if (n >= sizeof(host))
			return invalid(err, errlen, "not an IPv6 address in brackets");
		memcpy(host, text + 1, n);
		host[n] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return invalid(err, errlen, "not an IPv6 address in brackets");
		if (parse_port(close + 2, &port) < 0)
			return invalid(err, errlen, "the port is not a number from 1 to 65535");
		inet_ntop(AF_INET6, &a6, v6, sizeof(v6));
		snprintf(out, CONNECT_AUTHORITY_MAX, "[%s]:%u", v6, port);
		return 0;
	}
	colon = strrchr(text, ':');
	if (!colon)
		return invalid(err, errlen, "not HOST:PORT");
	if (memchr(text, ':', (size_t)(colon - text)))
		return invalid(err, errlen, "an IPv6 address goes in brackets: [IPV6]:PORT");
	/* What a ktund server would refuse is refused here, at start; the host is sent as
	 * written. */
	if (connect_host_parse(text, (size_t)(colon - text), 0, &(struct sockaddr_storage){ 0 },
			       &(socklen_t){ 0 }, err, errlen) < 0)
		return -EINVAL;
	if (parse_port(colon + 1, &port) < 0)
		return invalid(err, errlen, "the port is not a number from 1 to 65535");
	snprintf(out, CONNECT_AUTHORITY_MAX, "%.*s:%u", (int)(colon - text), text, port);
	return 0;
}

int connect_authority_from_addr(const struct sockaddr_storage *ss, socklen_t len,
				char out[static CONNECT_AUTHORITY_MAX])
{
	struct sockaddr_storage a = *ss;
	char text[ADDR_TEXT_MAX];

	addr_unmap(&a, &len);
	if (a.ss_family != AF_INET && a.ss_family != AF_INET6)
		return -EAFNOSUPPORT;
	/* 1.2.3.4:5 or [v6]:5, the authority form RFC 9110 asks for. */
	snprintf(out, CONNECT_AUTHORITY_MAX, "%s", addr_format((const struct sockaddr *)&a, len, text));
	return 0;
}

int connect_request_format(char *buf, size_t len, const char *authority,
			   const struct sockaddr_storage *src, socklen_t srclen)
{
	char from[CONNECT_AUTHORITY_MAX] = "unknown";
	int n;

	if (src && connect_authority_from_addr(src, srclen, from) < 0)
		snprintf(from, sizeof(from), "unknown");
	n = snprintf(buf, len, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nForwarded: for=\"%s\"\r\n\r\n",
		     authority, authority, from);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}
