// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "connect_request.h"

static int invalid(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	return -EINVAL;
}

/* RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens. */
static bool is_dns_name(const char *s, size_t len)
{
	size_t label = 0;

	if (!len || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.') {
			if (!label || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c == '-' && label)))
			return false;
		if (++label > 63)
			return false;
	}
	return label && s[len - 1] != '-';
}

static int parse_port(const char *s, unsigned *port)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9' || strlen(s) > 5)
		return -EINVAL;
	v = strtoul(s, &end, 10);
	if (*end || v < 1 || v > 65535)
		return -EINVAL;
	*port = (unsigned)v;
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
	/* A dotted quad is a valid host name too; either way it is sent as written. */
	if (!is_dns_name(text, (size_t)(colon - text)))
		return invalid(err, errlen, "the host is neither a DNS name nor an IP address");
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
