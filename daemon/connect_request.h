/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_CONNECT_REQUEST_H
#define KTUN_CONNECT_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"

/*
 * The HTTP/1.1 CONNECT request head a client sends first inside the TLS session to name its
 * destination (RFC 9110 §9.3.6), with the original source in Forwarded: for= (RFC 7239).
 * A pure function over bytes: strict and bounded, it never reads past len nor past
 * CONNECT_REQUEST_MAX, and refuses anything it does not fully understand.
 */

#define CONNECT_REQUEST_MAX 4096 /* the whole request head, its final CRLF CRLF included */
#define CONNECT_HOST_MAX 254     /* a DNS name (253) or an IPv6 literal, plus the NUL */

struct connect_request {
	char host[CONNECT_HOST_MAX]; /* as written, without the brackets of an IPv6 literal */
	bool host_is_literal;        /* an IPv4 or IPv6 address, in dst */
	uint16_t port;
	struct sockaddr_storage dst; /* the literal with port, when host_is_literal */
	socklen_t dstlen;
	struct sockaddr_storage src; /* Forwarded: for=, port 0 when it names none */
	socklen_t srclen;            /* 0: no Forwarded, or for="unknown" / an obfuscated node */
	size_t head_len;             /* bytes of the head: what follows is the application's */
};

/*
 * Parses the request head at the start of data[0..len). Returns the head's length (> 0) with
 * *out filled; 0 if the head is not complete yet and may still be (fewer than
 * CONNECT_REQUEST_MAX bytes so far, nothing wrong in them); -EMSGSIZE when the head has no
 * end within CONNECT_REQUEST_MAX bytes; -EINVAL for a malformed or refused request. On
 * error, err says why (printable ASCII, for the close line).
 */
int connect_request_parse(const uint8_t *data, size_t len, struct connect_request *out, char *err,
			  size_t errlen);

/* Decimal 0-65535 in p[0, n), without sign or leading zero: the port of an authority or of a
 * Forwarded node, and of a destination in the configuration. */
bool connect_port_parse(const char *p, size_t n, uint16_t *port);
/* The host of an authority outside brackets, p[0, n): 1 for a dotted-decimal IPv4 address
 * (*dst and *dstlen set, with port), 0 for a DNS name; -EINVAL with err set for anything else,
 * an IPv4 address in another form (0x7f.1, 010.1.1.1) among them, which resolvers read
 * differently. The one check of the server's parser and of a client's configuration. */
int connect_host_parse(const char *p, size_t n, uint16_t port, struct sockaddr_storage *dst,
		       socklen_t *dstlen, char *err, size_t errlen);

/* The answer head for status (200, 400, 403, 502, 504), with Connection: close for a
 * refusal. Returns its length (< 128). */
size_t connect_answer_head(int status, char buf[static 128]);

/*
 * Written by a client (connect_request_format.c): the request a client tunnel with a
 * destination sends as its first application bytes
 * (docs/redirect.md, "Destinations"): an HTTP/1.1 CONNECT (RFC 9110 section 9.3.6) naming
 * host:port, with the accepted connection's peer in Forwarded: for= (RFC 7239).
 */

/* "[" 39-character IPv6 "]" ":" 5 digits, or a 253-character name ":" 5 digits, and a NUL. */
#define CONNECT_AUTHORITY_MAX 260
#define CONNECT_REQUEST_OUT_MAX (2 * CONNECT_AUTHORITY_MAX + 128) /* what a client sends */

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
