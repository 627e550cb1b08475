/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_TICKET_KEY_H
#define KTUN_TICKET_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <gnutls/gnutls.h>

/* A server tunnel's master session-ticket key: GnuTLS derives from it the key that encrypts
 * tickets in each rotation period (config.h). Generated when the tunnel's context is built
 * and carried over reloads, or read from ticket-key-file so that several hosts behind a load
 * balancer resume each other's sessions. Immutable once in a context; read by every worker. */

#define TICKET_KEY_SIZE 64 /* what gnutls_session_ticket_key_generate makes */
#define TICKET_KEY_FILE_MAX 4096

struct ticket_key {
	unsigned char key[TICKET_KEY_SIZE];
	bool set;
	bool from_file;
};

/* The key file's contents: exactly 64 raw bytes, or their base64 text (RFC 4648, white space
 * allowed). Returns 0, or -EINVAL with why filled. Pure: no I/O. */
int ticket_key_parse(const unsigned char *data, size_t len, unsigned char out[TICKET_KEY_SIZE],
		     char *why, size_t whylen);
/* Reads path (mode 0600 or stricter, at most 4 KiB), or with path NULL generates a key.
 * Returns 0 or a negative errno, logged with the tunnel's name. */
int ticket_key_load(struct ticket_key *k, const char *tunnel, const char *path);
/* A reload keeps a generated key (the sessions it issued tickets for still resume); a key
 * from a file is the file's. */
void ticket_key_carry(struct ticket_key *to, const struct ticket_key *from);
/* Has the server session issue tickets under the key, living lifetime seconds. */
int ticket_key_enable(const struct ticket_key *k, gnutls_session_t session, unsigned lifetime);
void ticket_key_wipe(struct ticket_key *k);

#endif
