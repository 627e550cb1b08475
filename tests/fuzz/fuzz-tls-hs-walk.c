// SPDX-License-Identifier: GPL-2.0-only
/* tls_hs_walk() over a stream of post-handshake messages cut into records anywhere (empty
 * records included): the verdict must not depend on where the records end. It must equal an
 * independent reading of the whole stream: the first message that is not a NewSessionTicket
 * decides, at its header (KeyUpdate, or unexpected with its type); none means tickets only. */
#include <stdlib.h>

#include "fuzz.h"
#include "tls_hs_walk.h"

#define MAX_CUTS 16

static enum tls_hs_verdict reference(const uint8_t *p, size_t len, uint8_t *type)
{
	size_t off = 0;

	while (len - off >= 4) {
		size_t body = (size_t)p[off + 1] << 16 | (size_t)p[off + 2] << 8 | p[off + 3];

		*type = p[off];
		if (p[off] == 24)
			return TLS_HS_KEY_UPDATE;
		if (p[off] != 4)
			return TLS_HS_UNEXPECTED;
		if (len - off - 4 < body)
			break;
		off += 4 + body;
	}
	return TLS_HS_TICKETS;
}

/* Walks p in records of the lengths in cuts (then the rest), as pump_ktls.c does record by
 * record, up to the first verdict that is not TLS_HS_TICKETS. */
static enum tls_hs_verdict in_records(const uint8_t *p, size_t len, const uint8_t *cuts, size_t ncuts,
				      uint8_t *type)
{
	struct tls_hs_walk w = { 0 };
	enum tls_hs_verdict v = TLS_HS_TICKETS;
	size_t off = 0;

	for (size_t i = 0; i <= ncuts && v == TLS_HS_TICKETS; i++) {
		size_t n = i < ncuts ? cuts[i] : len - off;

		if (n > len - off)
			n = len - off;
		v = tls_hs_walk(&w, p + off, n, type);
		off += n;
	}
	return v;
}

/* Input: one byte N (cuts: N % (MAX_CUTS + 1)), N record lengths of one byte each, the stream. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t ncuts, len;
	uint8_t want_type = 0, got_type = 0, *copy;
	enum tls_hs_verdict want, got;

	if (size < 1)
		return 0;
	ncuts = data[0] % (MAX_CUTS + 1);
	if (size < 1 + ncuts)
		return 0;
	len = size - 1 - ncuts;
	/* An exact-size copy, so ASan sees any read past the stream's end. */
	copy = malloc(len ? len : 1);
	for (size_t i = 0; i < len; i++)
		copy[i] = data[1 + ncuts + i];
	want = reference(copy, len, &want_type);
	got = in_records(copy, len, data + 1, ncuts, &got_type);
	if (got != want || (want != TLS_HS_TICKETS && got_type != want_type))
		abort();
	free(copy);
	return 0;
}
