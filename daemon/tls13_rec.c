// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>

#include "tls13_rec.h"

#define TYPE_HANDSHAKE 22
#define TYPE_DATA 23
#define HEADER 5

bool tls13_rec_eligible(gnutls_session_t s)
{
	if (gnutls_protocol_get_version(s) != GNUTLS_TLS1_3)
		return false;
	switch (gnutls_cipher_get(s)) {
	case GNUTLS_CIPHER_AES_128_GCM:
	case GNUTLS_CIPHER_AES_256_GCM:
	case GNUTLS_CIPHER_CHACHA20_POLY1305:
		return true;
	default:
		return false;
	}
}

/* The cipher state only: where the handshake stands outlives a key load or a park. */
static void dir_clear(struct tls13_dir *d)
{
	if (d->aead)
		gnutls_aead_cipher_deinit(d->aead);
	d->aead = NULL;
	explicit_bzero(d->iv, sizeof(d->iv));
	d->seq = 0;
}

void tls13_rec_clear(struct tls13_rec *r)
{
	dir_clear(&r->rd);
	dir_clear(&r->wr);
	r->rd.hs = r->wr.hs = (struct tls13_hs){ 0 };
}

static void dir_park(struct tls13_dir *d)
{
	dir_clear(d);
}

int tls13_dir_set(struct tls13_dir *d, gnutls_cipher_algorithm_t cipher, const gnutls_datum_t *key,
		  const uint8_t iv[TLS13_NONCE], uint64_t seq)
{
	gnutls_aead_cipher_hd_t h;

	if (gnutls_aead_cipher_init(&h, cipher, key) < 0)
		return -EINVAL;
	dir_clear(d);
	d->aead = h;
	memcpy(d->iv, iv, TLS13_NONCE);
	d->seq = seq;
	return 0;
}

static uint64_t be64(const uint8_t b[8])
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

static void put_be64(uint8_t b[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
}

static int dir_load(struct tls13_dir *d, gnutls_session_t s, bool read)
{
	gnutls_datum_t mac, iv, key;
	uint8_t seq[8];

	if (gnutls_record_get_state(s, read, &mac, &iv, &key, seq) < 0 || iv.size != TLS13_NONCE)
		return -EPROTO;
	return tls13_dir_set(d, gnutls_cipher_get(s), &key, iv.data, be64(seq));
}

int tls13_rec_load(struct tls13_rec *r, gnutls_session_t s)
{
	int rc = tls13_rec_eligible(s) ? dir_load(&r->rd, s, true) : -EOPNOTSUPP;

	if (rc == 0)
		rc = dir_load(&r->wr, s, false);
	if (rc < 0)
		tls13_rec_clear(r);
	return rc;
}

int tls13_rec_give_back(const struct tls13_rec *r, gnutls_session_t s)
{
	uint8_t seq[8];

	if (!r->rd.aead || !r->wr.aead)
		return 0;
	put_be64(seq, r->rd.seq);
	if (gnutls_record_set_state(s, 1, seq) < 0)
		return -EPROTO;
	put_be64(seq, r->wr.seq);
	return gnutls_record_set_state(s, 0, seq) < 0 ? -EPROTO : 0;
}

void tls13_rec_park(struct tls13_rec *r, gnutls_session_t s)
{
	if (tls13_rec_give_back(r, s) == 0) {
		dir_park(&r->rd);
		dir_park(&r->wr);
	}
}

int tls13_rec_bye(struct tls13_rec *r, gnutls_session_t s, bool resume)
{
	bool ours = !tls13_rec_parked(r);
	int rc = 0;

	if (ours && tls13_rec_give_back(r, s) < 0) {
		tls13_rec_clear(r);
		ours = false;
		rc = -EPROTO;
	}
	gnutls_bye(s, GNUTLS_SHUT_WR);
	if (!ours)
		return rc;
	if (resume)
		return tls13_rec_load(r, s);
	dir_park(&r->rd);
	dir_park(&r->wr);
	return 0;
}

ssize_t tls13_rec_send_via_gnutls(struct tls13_rec *r, gnutls_session_t s, const uint8_t *p, size_t n)
{
	ssize_t sent;

	if (tls13_rec_give_back(r, s) < 0)
		return GNUTLS_E_INTERNAL_ERROR;
	sent = gnutls_record_send(s, p, n);
	if (dir_load(&r->wr, s, false) < 0)
		return GNUTLS_E_INTERNAL_ERROR;
	if (sent >= 0)
		r->gnutls_owes = false;
	/* GnuTLS sends at most the peer's record limit (max_fragment_length, record_size_limit)
	 * per call; it offers no call that says the send limit itself. */
	if (sent >= 0 && (size_t)sent < n)
		r->peer_limits = true;
	else if (n == TLS13_MAX_PLAINTEXT && sent == (ssize_t)n)
		r->full_size_ok = true;
	return sent;
}

int tls13_rec_rekey(struct tls13_rec *r, gnutls_session_t s)
{
	int rc = tls13_rec_give_back(r, s);

	if (rc == 0 && gnutls_session_key_update(s, 0) < 0)
		rc = -EPROTO;
	if (rc == 0)
		rc = dir_load(&r->wr, s, false);
	return rc;
}

/* RFC 8446 5.3: the static IV XOR the sequence number, left-padded to the IV's length. */
static void nonce(const struct tls13_dir *d, uint8_t out[TLS13_NONCE])
{
	uint8_t seq[8];

	put_be64(seq, d->seq);
	memcpy(out, d->iv, TLS13_NONCE);
	for (int i = 0; i < 8; i++)
		out[TLS13_NONCE - 8 + i] ^= seq[i];
}

static void put_header(uint8_t *h, size_t body)
{
	h[0] = TYPE_DATA;
	h[1] = 3;
	h[2] = 3;
	h[3] = (uint8_t)(body >> 8);
	h[4] = (uint8_t)body;
}

ssize_t tls13_seal(struct tls13_dir *d, const uint8_t *p, size_t n, uint8_t *out)
{
	static const uint8_t type = TYPE_DATA;
	size_t body = n + 1 + TLS13_TAG, clen = body;
	giovec_t aad = { out, HEADER };
	giovec_t iov[2] = { { (void *)p, n }, { (void *)&type, 1 } };
	uint8_t iv[TLS13_NONCE];

	if (n > TLS13_MAX_PLAINTEXT || !d->aead)
		return -EINVAL;
	if (d->seq >= TLS13_REKEY_RECORDS)
		return -EKEYEXPIRED;
	put_header(out, body);
	nonce(d, iv);
	/* encryptv writes the ciphertext and tag after the header, the type byte joining the
	 * plaintext's last block there: the plaintext itself is not copied. */
	if (gnutls_aead_cipher_encryptv(d->aead, iv, sizeof(iv), &aad, 1, TLS13_TAG, iov, 2, out + HEADER,
					&clen) < 0 || clen != body) {
		explicit_bzero(iv, sizeof(iv));
		return -EIO;
	}
	explicit_bzero(iv, sizeof(iv));
	d->seq++;
	return (ssize_t)(HEADER + body);
}

/* The content's length once the inner type (the last non-zero byte) and the zero padding
 * after it are gone; 0 with *type 0 when there is no type at all. */
static size_t strip_padding(const uint8_t *p, size_t n, uint8_t *type)
{
	while (n && !p[n - 1])
		n--;
	*type = n ? p[n - 1] : 0;
	return n ? n - 1 : 0;
}

static bool hs_split(const struct tls13_hs *h)
{
	return h->body_left || h->hdr_len || h->empty_seen;
}

/* Follows the handshake messages' 4-byte headers through one handshake record's content. */
static void hs_walk(struct tls13_hs *h, const uint8_t *p, size_t n)
{
	h->empty_seen = n == 0;
	while (n) {
		if (h->body_left) {
			size_t take = n < h->body_left ? n : h->body_left;

			h->body_left -= (uint32_t)take;
			p += take, n -= take;
			continue;
		}
		h->hdr[h->hdr_len++] = *p++, n--;
		if (h->hdr_len == sizeof(h->hdr)) {
			h->body_left = (uint32_t)h->hdr[1] << 16 | (uint32_t)h->hdr[2] << 8 | h->hdr[3];
			h->hdr_len = 0;
		}
	}
}

enum tls13_open_result tls13_open(struct tls13_dir *d, const uint8_t *in, size_t avail, uint8_t *out,
				  size_t room, size_t *used, size_t *plain)
{
	size_t body, n;
	uint8_t iv[TLS13_NONCE], type;
	bool ok;

	*used = *plain = 0;
	if (avail < HEADER)
		return TLS13_NEED_INPUT;
	body = (size_t)in[3] << 8 | in[4];
	/* RFC 8446 5.2/5.4: TLSInnerPlaintext (the body less the tag) is at most 2^14 + 1
	 * bytes, whatever the outer type; the length alone says so, before any decryption. */
	if (body > TLS13_MAX_INNER + TLS13_TAG) {
		*used = HEADER;
		return TLS13_OVERFLOW;
	}
	if (avail - HEADER < body)
		return TLS13_NEED_INPUT;
	*used = HEADER + body;
	/* Not ours: other outer types, another version, no room for a type and a tag, a
	 * sequence number about to wrap. */
	if (in[0] != TYPE_DATA || in[1] != 3 || in[2] != 3 || body < TLS13_TAG + 1 || !d->aead ||
	    d->seq == UINT64_MAX)
		return TLS13_GNUTLS;
	if (room < body - TLS13_TAG) {
		*used = 0;
		return TLS13_NEED_ROOM;
	}
	nonce(d, iv);
	n = room;
	/* A bad tag goes to GnuTLS too, which fails the same way (bad_record_mac). */
	ok = gnutls_aead_cipher_decrypt(d->aead, iv, sizeof(iv), in, HEADER, TLS13_TAG, in + HEADER, body,
					out, &n) == 0 && n == body - TLS13_TAG;
	explicit_bzero(iv, sizeof(iv));
	if (ok) {
		n = strip_padding(out, n, &type);
		if (type == TYPE_HANDSHAKE)
			hs_walk(&d->hs, out, n);
		ok = type == TYPE_DATA && !hs_split(&d->hs);
	}
	if (!ok) {
		/* Not delivered, but plaintext all the same (GCM writes it before it checks the
		 * tag; a handshake message, an alert): none of it stays in the plain buffer. */
		explicit_bzero(out, body - TLS13_TAG);
		return TLS13_GNUTLS;
	}
	d->seq++;
	*plain = n;
	return TLS13_DATA;
}
