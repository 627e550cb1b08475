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

/* The answer head for status (200, 400, 403, 502, 504), with Connection: close for a
 * refusal. Returns its length (< 128). */
size_t connect_answer(int status, char buf[static 128]);

#endif
