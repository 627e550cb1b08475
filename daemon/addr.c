// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "addr.h"

static int parse_unix(const char *path, struct ktun_addr *out, char *err, size_t errlen)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&out->ss;

	if (path[0] != '/' || strlen(path) >= sizeof(sun->sun_path)) {
		snprintf(err, errlen, "unix socket path must be absolute and shorter than %zu bytes",
			 sizeof(sun->sun_path));
		return -EINVAL;
	}
	sun->sun_family = AF_UNIX;
	strcpy(sun->sun_path, path);
	out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
	return 0;
}

static int split_host_port(const char *text, char *host, size_t hostlen, const char **port,
			   char *err, size_t errlen)
{
	const char *colon, *start = text, *end;

	if (text[0] == '[') {
		end = strchr(text, ']');
		if (!end || end[1] != ':') {
			snprintf(err, errlen, "expected [IPV6]:PORT");
			return -EINVAL;
		}
		start = text + 1;
		colon = end + 1;
	} else {
		colon = strrchr(text, ':');
		if (!colon) {
			snprintf(err, errlen, "expected HOST:PORT");
			return -EINVAL;
		}
		end = colon;
		if (memchr(text, ':', (size_t)(colon - text))) {
			snprintf(err, errlen, "IPv6 addresses need brackets: [ADDR]:PORT");
			return -EINVAL;
		}
	}
	if (end == start || (size_t)(end - start) >= hostlen) {
		snprintf(err, errlen, "missing or overlong host");
		return -EINVAL;
	}
	memcpy(host, start, (size_t)(end - start));
	host[end - start] = '\0';
	*port = colon + 1;
	return 0;
}

static int parse_port(const char *port, char *err, size_t errlen)
{
	char *endp;
	long v;

	errno = 0;
	v = strtol(port, &endp, 10);
	if (!*port || *endp || errno || v < 1 || v > 65535) {
		snprintf(err, errlen, "port must be 1-65535, got '%s'", port);
		return -EINVAL;
	}
	return (int)v;
}

int addr_parse_all(const char *text, bool allow_unix, struct ktun_addr *out, size_t max,
		   char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res;
	const char *port;
	unsigned char probe[sizeof(struct in6_addr)];
	size_t n = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!strncmp(text, "unix:", 5)) {
		if (!allow_unix) {
			snprintf(err, errlen, "unix sockets are only allowed on the plaintext side");
			return -EINVAL;
		}
		rc = parse_unix(text + 5, out, err, errlen);
		return rc < 0 ? rc : 1;
	}
	rc = split_host_port(text, out->host, sizeof(out->host), &port, err, errlen);
	if (rc < 0)
		return rc;
	rc = parse_port(port, err, errlen);
	if (rc < 0)
		return rc;
	out->host_is_literal = inet_pton(AF_INET, out->host, probe) == 1 ||
			       inet_pton(AF_INET6, out->host, probe) == 1;
	if (out->host_is_literal)
		hints.ai_flags |= AI_NUMERICHOST;
	rc = getaddrinfo(out->host, port, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "cannot resolve '%s': %s", out->host, gai_strerror(rc));
		return -EADDRNOTAVAIL;
	}
	for (const struct addrinfo *ai = res; ai; ai = ai->ai_next, n++) {
		if (n >= max || ai->ai_addrlen > sizeof(out->ss))
			continue;
		if (n) { /* the same host as written: out[0]'s */
			out[n] = (struct ktun_addr){ .host_is_literal = out->host_is_literal };
			memcpy(out[n].host, out->host, sizeof(out->host));
		}
		memcpy(&out[n].ss, ai->ai_addr, ai->ai_addrlen);
		out[n].len = ai->ai_addrlen;
	}
	freeaddrinfo(res);
	return (int)n;
}

int addr_parse(const char *text, bool allow_unix, struct ktun_addr *out, char *err, size_t errlen)
{
	int rc = addr_parse_all(text, allow_unix, out, 1, err, errlen);

	return rc < 0 ? rc : 0;
}

bool addr_is_unix(const struct ktun_addr *a)
{
	return a->ss.ss_family == AF_UNIX;
}

bool addr_is_local(const struct ktun_addr *a)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;

	switch (a->ss.ss_family) {
	case AF_UNIX:
		return true;
	case AF_INET:
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	case AF_INET6:
		if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return true;
		return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) && sin6->sin6_addr.s6_addr[12] == 127;
	}
	return false;
}

void addr_unmap(struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in6 sin6;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	if (ss->ss_family != AF_INET6)
		return;
	memcpy(&sin6, ss, sizeof(sin6));
	if (!IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr))
		return;
	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = sin6.sin6_port;
	memcpy(&sin->sin_addr, &sin6.sin6_addr.s6_addr[12], 4);
	*len = sizeof(*sin);
}

const char *addr_format(const struct sockaddr *sa, socklen_t len, char buf[static ADDR_TEXT_MAX])
{
	char ip[INET6_ADDRSTRLEN];

	switch (sa->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		snprintf(buf, ADDR_TEXT_MAX, "%s:%u", ip, ntohs(sin->sin_port));
		break;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, ADDR_TEXT_MAX, "[%s]:%u", ip, ntohs(sin6->sin6_port));
		break;
	}
	case AF_UNIX: {
		const struct sockaddr_un *sun = (const struct sockaddr_un *)sa;
		if (len <= offsetof(struct sockaddr_un, sun_path) || !sun->sun_path[0])
			snprintf(buf, ADDR_TEXT_MAX, "unix:");
		else
			snprintf(buf, ADDR_TEXT_MAX, "unix:%.*s", (int)(ADDR_TEXT_MAX - 6), sun->sun_path);
		break;
	}
	default:
		snprintf(buf, ADDR_TEXT_MAX, "?");
	}
	return buf;
}
