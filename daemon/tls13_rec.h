/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_TLS13_REC_H
#define KTUN_TLS13_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

/*
 * TLS 1.3 application-data records of ktund's own, over the keys of a GnuTLS session, for
 * the userspace pump: opening decrypts straight from the received ciphertext into the plain
 * side's send buffer, sealing encrypts straight from the plain side's receive buffer into the
 * TLS send buffer, so no byte is copied besides the cipher's own pass (GnuTLS's record layer
 * copies each byte one to three times). Only the common case is handled here: an
 * application-data record that authenticates under the current key. Every other record
 * (alerts, close_notify, NewSessionTicket, KeyUpdate, a bad tag, a malformed header) goes to
 * GnuTLS, whose state the caller first brings up to date (tls13_rec_give_back) and reads back
 * afterwards (tls13_rec_load), so that GnuTLS decides and answers as it always did.
 * TLS 1.3 with AES-128-GCM, AES-256-GCM or ChaCha20-Poly1305 only; anything else stays on
 * GnuTLS's records.
 */

#define TLS13_TAG 16
#define TLS13_NONCE 12
#define TLS13_MAX_CIPHERTEXT (16384 + 256) /* RFC 8446 5.2 */
#define TLS13_MAX_PLAINTEXT 16384
/* TLSInnerPlaintext: content, type and padding (RFC 8446 5.4). */
#define TLS13_MAX_INNER (TLS13_MAX_PLAINTEXT + 1)
/* Header, inner content type and tag around a record's plaintext. */
#define TLS13_OVERHEAD (5 + 1 + TLS13_TAG)
/* Records sealed under one key before we ask GnuTLS for a KeyUpdate: RFC 8446 5.5 allows
 * AES-GCM 2^24.5 full-size records per key. */
#define TLS13_REKEY_RECORDS ((uint64_t)1 << 24)

/* Where the peer's handshake messages stand (RFC 8446 5.1: no other record may come
 * between the records of one message, and a handshake record is never empty). */
struct tls13_hs {
	uint32_t body_left; /* bytes of the current message's body still to come */
	uint8_t hdr_len;    /* bytes of the next message's 4-byte header seen */
	uint8_t hdr[4];
	bool empty_seen;    /* an empty handshake record: GnuTLS's to refuse */
};

/* One direction's key, static IV and next sequence number. */
struct tls13_dir {
	gnutls_aead_cipher_hd_t aead; /* NULL: not set */
	uint8_t iv[TLS13_NONCE];
	uint64_t seq;
	/* Read side: while a handshake message is split (or after an empty one), every record
	 * goes to GnuTLS, which refuses what may not come between. Kept across key loads. */
	struct tls13_hs hs;
};

struct tls13_rec {
	struct tls13_dir rd, wr;
	/* GnuTLS has read a record since it last wrote one: a KeyUpdate asking for ours makes it
	 * owe one, which it sends before the next record it writes (not at once). */
	bool gnutls_owes;
	/* What GnuTLS's own sends showed of the peer's record limit: our records are always up
	 * to 2^14 bytes, so they wait until a full-size send went through GnuTLS whole, and
	 * never start if a send came back short. */
	bool full_size_ok, peer_limits;
};

/* What tls13_open found at the head of the ciphertext. */
enum tls13_open_result {
	TLS13_DATA,       /* an application-data record, decrypted: *used and *plain are set */
	TLS13_NEED_INPUT, /* the record is not all there yet */
	TLS13_NEED_ROOM,  /* the record's plaintext may not fit the room given */
	TLS13_GNUTLS,     /* GnuTLS must handle the next *used bytes (a whole record) */
	TLS13_OVERFLOW,   /* a header whose length no record may have: record_overflow */
};

/* Whether s negotiated a version and cipher these records handle. */
bool tls13_rec_eligible(gnutls_session_t s);
/* Sets d from a cipher, its key and 12-byte IV and the next sequence number. 0 or -errno. */
int tls13_dir_set(struct tls13_dir *d, gnutls_cipher_algorithm_t cipher, const gnutls_datum_t *key,
		  const uint8_t iv[TLS13_NONCE], uint64_t seq);
/* Both directions from s's current keys and sequence numbers. 0 or -errno (r cleared). */
int tls13_rec_load(struct tls13_rec *r, gnutls_session_t s);
/* Gives s our sequence numbers, so that GnuTLS can take the next record either way. Nothing
 * to give while r is parked (GnuTLS holds the state then). */
int tls13_rec_give_back(const struct tls13_rec *r, gnutls_session_t s);
/* Gives s our sequence numbers and frees our cipher contexts, which an idle connection need
 * not keep (GnuTLS has its own); tls13_rec_load takes them up again. */
void tls13_rec_park(struct tls13_rec *r, gnutls_session_t s);
static inline bool tls13_rec_parked(const struct tls13_rec *r)
{
	return !r->rd.aead;
}
/* GnuTLS writes a close_notify (gnutls_bye, GNUTLS_SHUT_WR), under the sequence number our
 * records moved on: ours are handed back first, then taken up again (resume: the connection
 * still reads) or parked (it ends). With r parked or cleared, GnuTLS's state is the one, and
 * only the close_notify is written. 0, or -errno when our records can no longer be used (r
 * cleared): GnuTLS's own carry on. */
int tls13_rec_bye(struct tls13_rec *r, gnutls_session_t s, bool resume);
/* Sends p[0, n) (n <= 2^14) through GnuTLS's own record layer, with whatever GnuTLS owes
 * ahead of it, and takes its write state back. GnuTLS's result (bytes sent or its error). */
ssize_t tls13_rec_send_via_gnutls(struct tls13_rec *r, gnutls_session_t s, const uint8_t *p, size_t n);
/* GnuTLS sends a KeyUpdate (through s's push function) and we take its new write key. */
int tls13_rec_rekey(struct tls13_rec *r, gnutls_session_t s);
void tls13_rec_clear(struct tls13_rec *r);

/* Seals p[0, n) (n <= 2^14) as one application-data record at out, which has room for
 * n + TLS13_OVERHEAD bytes. The record's length, or -EKEYEXPIRED when the write key has
 * sealed TLS13_REKEY_RECORDS records (tls13_rec_rekey first), or -EIO. */
ssize_t tls13_seal(struct tls13_dir *d, const uint8_t *p, size_t n, uint8_t *out);
/* Opens the record at in[0, avail) into out[0, room). */
enum tls13_open_result tls13_open(struct tls13_dir *d, const uint8_t *in, size_t avail, uint8_t *out,
				  size_t room, size_t *used, size_t *plain);

#endif
