/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_ADDR_H
#define KTUN_ADDR_H

#include <stdbool.h>
#include <sys/socket.h>

#define ADDR_TEXT_MAX 128
#define ADDR_HOST_MAX 256

/* A parsed endpoint: resolved once, at configuration time. */
struct ktun_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char host[ADDR_HOST_MAX]; /* as written, without brackets; empty for unix */
	bool host_is_literal;     /* host is an IP address, not a name */
};

/* Parses HOST:PORT, [V6]:PORT or (if allow_unix) unix:/path. Returns 0 or a negative
 * errno; on error a human-readable reason is written to err. */
int addr_parse(const char *text, bool allow_unix, struct ktun_addr *out, char *err, size_t errlen);
/* addr_parse, keeping every address a name resolves to (getaddrinfo's order) in out[0..max),
 * max at least 1.
 * Returns how many it resolves to (more than max: the rest are not stored) or a negative
 * errno. */
int addr_parse_all(const char *text, bool allow_unix, struct ktun_addr *out, size_t max,
		   char *err, size_t errlen);
bool addr_is_local(const struct ktun_addr *a);
bool addr_is_unix(const struct ktun_addr *a);
/* Turns an IPv4-mapped IPv6 address (::ffff:A.B.C.D, what a dual-stack socket reports for
 * IPv4) into the plain IPv4 address, in place. Other addresses are left alone. */
void addr_unmap(struct sockaddr_storage *ss, socklen_t *len);
/* Formats a socket address as 1.2.3.4:5, [::1]:5 or unix:/path. */
const char *addr_format(const struct sockaddr *sa, socklen_t len, char buf[static ADDR_TEXT_MAX]);

#endif
