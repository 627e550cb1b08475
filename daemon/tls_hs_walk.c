// SPDX-License-Identifier: GPL-2.0-only
#include <stdbool.h>

#include "tls_hs_walk.h"

#define HANDSHAKE_NEW_SESSION_TICKET 4
#define HANDSHAKE_KEY_UPDATE 24

/* Takes what it can of a message header from p; *whole once all four bytes are in. */
static size_t take_header(struct tls_hs_walk *w, const uint8_t *p, size_t len, bool *whole)
{
	size_t n = 4 - w->head_len;

	if (n > len)
		n = len;
	for (size_t i = 0; i < n; i++)
		w->head[w->head_len++] = p[i];
	*whole = w->head_len == 4;
	return n;
}

enum tls_hs_verdict tls_hs_walk(struct tls_hs_walk *w, const uint8_t *p, size_t len, uint8_t *type)
{
	size_t off = 0;

	while (off < len) {
		bool whole;

		if (w->skip) {
			size_t n = len - off < w->skip ? len - off : w->skip;

			w->skip -= (uint32_t)n;
			off += n;
			continue;
		}
		off += take_header(w, p + off, len - off, &whole);
		if (!whole)
			break;
		w->head_len = 0;
		*type = w->head[0];
		/* Acted on at its header: a KeyUpdate ends the kTLS connection whatever follows. */
		if (*type == HANDSHAKE_KEY_UPDATE)
			return TLS_HS_KEY_UPDATE;
		if (*type != HANDSHAKE_NEW_SESSION_TICKET)
			return TLS_HS_UNEXPECTED;
		w->skip = (uint32_t)w->head[1] << 16 | (uint32_t)w->head[2] << 8 | w->head[3];
	}
	return TLS_HS_TICKETS;
}
