/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_TLS_HS_WALK_H
#define KTUN_TLS_HS_WALK_H

#include <stddef.h>
#include <stdint.h>

/*
 * Post-handshake messages in kTLS handshake records (pump_ktls.c). One record may carry
 * several messages (NewSessionTicket then KeyUpdate), and one message may span records (a
 * large ticket): so the walk goes message by message (type, 24-bit length) with what is left
 * of a message carried over to the next record. Pure: no I/O, unit-tested.
 */
struct tls_hs_walk {
	uint32_t skip;     /* body bytes of the current message still to come */
	uint8_t head[4];   /* a message header split between records */
	uint8_t head_len;
};

enum tls_hs_verdict {
	TLS_HS_TICKETS,    /* only NewSessionTickets (or parts of one): nothing to do */
	TLS_HS_KEY_UPDATE, /* the peer changes keys */
	TLS_HS_UNEXPECTED, /* any other message: *type says which */
};

enum tls_hs_verdict tls_hs_walk(struct tls_hs_walk *w, const uint8_t *p, size_t len, uint8_t *type);

#endif
