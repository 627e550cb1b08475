/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_CONNECT_ANSWER_H
#define KTUN_CONNECT_ANSWER_H

#include <stddef.h>
#include <stdint.h>

/*
 * The answer of an HTTP CONNECT relay (RFC 9112 section 4, RFC 9110 section 9.3.6) to the
 * request a client tunnel sends (connect_request.h): a status line and header fields up to
 * the blank line, nothing else. Strict (CRLF line ends, no folded lines, no control bytes)
 * and bounded (CONNECT_ANSWER_MAX bytes for the whole head). What follows the head is the
 * origin's, and never read here.
 */

#define CONNECT_ANSWER_MAX 4096
#define CONNECT_REASON_MAX 256 /* the reason phrase as given, cut if longer */

struct connect_answer {
	unsigned status;                  /* 200..599 */
	size_t head_len;                  /* bytes of the head, blank line included */
	char reason[CONNECT_REASON_MAX];  /* raw: escape it before logging */
	size_t reason_len;
};

/* Parses p[0, len), what has arrived so far. Returns 1 with *a filled when the head is
 * complete, 0 when it is not yet (and len is below CONNECT_ANSWER_MAX), or -EBADMSG with
 * *why (static text) when the bytes cannot begin an answer, or a head would be longer. */
int connect_answer_parse(const uint8_t *p, size_t len, struct connect_answer *a, const char **why);

#endif
