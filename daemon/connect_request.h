/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_CONNECT_REQUEST_H
#define KTUN_CONNECT_REQUEST_H

#include <stddef.h>
#include <sys/socket.h>

/*
 * The request a client tunnel with a destination sends as its first application bytes
 * (docs/redirect.md, "Destinations"): an HTTP/1.1 CONNECT (RFC 9110 section 9.3.6) naming
 * host:port, with the accepted connection's peer in Forwarded: for= (RFC 7239).
 */

/* "[" 39-character IPv6 "]" ":" 5 digits, or a 253-character name ":" 5 digits, and a NUL. */
#define CONNECT_AUTHORITY_MAX 260
#define CONNECT_REQUEST_MAX (2 * CONNECT_AUTHORITY_MAX + 128)

/* Checks a destination named in the configuration, HOST:PORT with HOST a DNS name, an IPv4
 * address or [IPv6], without resolving it (the relay does), and writes it as it will be sent
 * (IPv6 in its canonical text). Returns 0, or -EINVAL with err filled. */
int connect_authority_parse(const char *text, char out[static CONNECT_AUTHORITY_MAX], char *err,
			    size_t errlen);
/* The authority of an IPv4 or IPv6 socket address (an IPv4-mapped one as IPv4); -EAFNOSUPPORT
 * for another family. */
int connect_authority_from_addr(const struct sockaddr_storage *ss, socklen_t len,
				char out[static CONNECT_AUTHORITY_MAX]);
/* Writes the request for authority, from src (NULL or not IP: for=unknown), into buf.
 * Returns its length, or -ENOSPC. */
int connect_request_format(char *buf, size_t len, const char *authority,
			   const struct sockaddr_storage *src, socklen_t srclen);

#endif
