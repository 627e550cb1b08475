// SPDX-License-Identifier: GPL-2.0-only
/* Post-handshake messages in kTLS handshake records: several per record, split across records. */
#include "check.h"
#include "tls_hs_walk.h"

static const uint8_t ticket[] = { 4, 0, 0, 5, 'a', 'b', 'c', 'd', 'e' };
static const uint8_t key_update[] = { 24, 0, 0, 1, 0 };

static void one_ticket(void)
{
	struct tls_hs_walk w = { 0 };
	uint8_t type = 0;

	CHECK(tls_hs_walk(&w, ticket, sizeof(ticket), &type) == TLS_HS_TICKETS);
	CHECK(w.skip == 0 && w.head_len == 0);
}

static void ticket_then_key_update(void)
{
	struct tls_hs_walk w = { 0 };
	uint8_t rec[sizeof(ticket) + sizeof(key_update)], type = 0;

	memcpy(rec, ticket, sizeof(ticket));
	memcpy(rec + sizeof(ticket), key_update, sizeof(key_update));
	CHECK(tls_hs_walk(&w, rec, sizeof(rec), &type) == TLS_HS_KEY_UPDATE);
	CHECK(type == 24);
}

static void two_tickets(void)
{
	struct tls_hs_walk w = { 0 };
	uint8_t rec[2 * sizeof(ticket)], type = 0;

	memcpy(rec, ticket, sizeof(ticket));
	memcpy(rec + sizeof(ticket), ticket, sizeof(ticket));
	CHECK(tls_hs_walk(&w, rec, sizeof(rec), &type) == TLS_HS_TICKETS);
}

/* A ticket cut at every point, header included: the second record's first byte is never
 * taken for a message type. Then a KeyUpdate in a third record is still seen. */
static void ticket_split_anywhere(void)
{
	for (size_t cut = 1; cut < sizeof(ticket); cut++) {
		struct tls_hs_walk w = { 0 };
		uint8_t type = 0;

		CHECK(tls_hs_walk(&w, ticket, cut, &type) == TLS_HS_TICKETS);
		CHECK(tls_hs_walk(&w, ticket + cut, sizeof(ticket) - cut, &type) == TLS_HS_TICKETS);
		CHECK(w.skip == 0 && w.head_len == 0);
		CHECK(tls_hs_walk(&w, key_update, sizeof(key_update), &type) == TLS_HS_KEY_UPDATE);
	}
}

static void big_ticket_over_three_records(void)
{
	static uint8_t body[40000];
	struct tls_hs_walk w = { 0 };
	uint8_t head[] = { 4, 0, 0x9c, 0x40 }, type = 0; /* 40000 */

	CHECK(tls_hs_walk(&w, head, sizeof(head), &type) == TLS_HS_TICKETS);
	CHECK(tls_hs_walk(&w, body, 16384, &type) == TLS_HS_TICKETS);
	CHECK(tls_hs_walk(&w, body, 16384, &type) == TLS_HS_TICKETS);
	CHECK(w.skip == 40000 - 2 * 16384);
	CHECK(tls_hs_walk(&w, body, w.skip, &type) == TLS_HS_TICKETS);
	CHECK(w.skip == 0);
}

static void unexpected(void)
{
	struct tls_hs_walk w = { 0 };
	uint8_t hello_request[] = { 0, 0, 0, 0 }, type = 99;

	CHECK(tls_hs_walk(&w, hello_request, sizeof(hello_request), &type) == TLS_HS_UNEXPECTED);
	CHECK(type == 0);
}

int main(void)
{
	RUN(one_ticket);
	RUN(ticket_then_key_update);
	RUN(two_tickets);
	RUN(ticket_split_anywhere);
	RUN(big_ticket_over_three_records);
	RUN(unexpected);
	return check_result();
}
