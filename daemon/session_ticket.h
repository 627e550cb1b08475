/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_SESSION_TICKET_H
#define KTUN_SESSION_TICKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <gnutls/gnutls.h>

struct conn;

/*
 * Client-mode TLS 1.3 resumption over the tunnel context's ticket cache (ticket_cache.c).
 * Before a handshake, the newest ticket for the far identity is taken out and given to
 * GnuTLS (a hit) or there is none (a miss). A NewSessionTicket the server sends after the
 * handshake is stored once GnuTLS has read it: on the userspace path GnuTLS reads it from
 * the records itself; on the kTLS path the kernel hands the decrypted message over and
 * session_ticket_ingest() gives it to GnuTLS (gnutls_handshake_write).
 */

/* Offers a cached ticket to c's new session (client mode; nothing in server mode). */
void session_ticket_offer(struct conn *c);

/* GnuTLS's handshake hook on a NewSessionTicket: before GnuTLS parses it (post false),
 * notes the ticket's lifetime from msg; after (post true; msg has been consumed by then),
 * stores the session's new resumption data for that long. */
void session_ticket_hook(struct conn *c, bool post, const gnutls_datum_t *msg);

/* A client's resumed session refused by the re-check (resume_check.c): the tunnel's tickets
 * are dropped, since the ones left carry the same peer chain, so the next connection makes a
 * full handshake (a renewed server certificate, say) instead of failing again. */
void session_ticket_refused(struct conn *c);

/* At the kTLS hand-over: whether the connection keeps its GnuTLS session to read tickets
 * with (client mode, no ticket stored yet); if so, readies it for session_ticket_ingest(). */
bool session_ticket_keep(struct conn *c);

/* One or more whole handshake messages (header included) from a kTLS handshake record,
 * already known to be NewSessionTickets (tls_hs_walk), given to GnuTLS. Returns 0 or a
 * GnuTLS error, which the caller logs; the tickets are then merely skipped. */
int session_ticket_ingest(struct conn *c, const uint8_t *msgs, size_t len);

#endif
