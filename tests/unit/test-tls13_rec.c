// SPDX-License-Identifier: GPL-2.0-only
/* tls13_rec.c: known-answer records (computed with Python's cryptography, i.e. OpenSSL), and
 * records exchanged with GnuTLS itself over an in-memory TLS 1.3 connection: ours read by
 * GnuTLS, GnuTLS's read by us, and every record that is not ours left to GnuTLS. */
#include <errno.h>
#include <gnutls/gnutls.h>

#include "check.h"
#include "tls13_rec.h"

static const uint8_t key32[32] = { 0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
				   16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31 };
static const uint8_t iv12[12] = { 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab };
#define KAT_SEQ 0xc0ffeeull /* below TLS13_REKEY_RECORDS, or sealing refuses */
static const char kat_text[] = "ktun known answer";

static const uint8_t kat_aes128[] = {
	0x17, 0x03, 0x03, 0x00, 0x22, 0xf4, 0x5b, 0x84, 0xa0, 0xca, 0xc9, 0x85, 0xe4, 0xf3, 0x20, 0xc9,
	0xc5, 0xa3, 0xa8, 0xcf, 0x53, 0x58, 0x03, 0x78, 0xb6, 0xf5, 0x2c, 0x46, 0x59, 0xaa, 0x37, 0x6b,
	0x1a, 0x57, 0xfc, 0x83, 0x6d, 0x7f, 0xb9,
};
static const uint8_t kat_aes256[] = {
	0x17, 0x03, 0x03, 0x00, 0x22, 0xa9, 0xa1, 0xfa, 0x65, 0xc4, 0xbd, 0x11, 0x65, 0xa8, 0x0c, 0x92,
	0x7e, 0x7e, 0x31, 0x41, 0xb9, 0xc8, 0x7f, 0x82, 0xe4, 0xd9, 0xde, 0x75, 0xb5, 0x58, 0xf4, 0xe4,
	0x3c, 0x42, 0xd6, 0x61, 0xe0, 0x0f, 0x89,
};
static const uint8_t kat_chacha[] = {
	0x17, 0x03, 0x03, 0x00, 0x22, 0x02, 0x0a, 0xfc, 0x3c, 0x30, 0x12, 0x78, 0xa0, 0x63, 0x5a, 0xd8,
	0x29, 0x9e, 0x80, 0x2e, 0x04, 0x49, 0x3d, 0x83, 0x3b, 0x48, 0x17, 0x7c, 0x62, 0xe9, 0xd1, 0x92,
	0x4b, 0x0a, 0xbb, 0x99, 0x02, 0xff, 0x56,
};
/* AES-128-GCM at KAT_SEQ + 1: kat_text, type 23, seven bytes of zero padding. */
static const uint8_t kat_padded[] = {
	0x17, 0x03, 0x03, 0x00, 0x29, 0x50, 0x65, 0x46, 0x08, 0x48, 0x76, 0xff, 0x7f, 0xcb, 0xd2, 0x6d,
	0x03, 0x1e, 0x66, 0xd7, 0x0a, 0x87, 0xce, 0x55, 0xfb, 0xe5, 0x76, 0x0b, 0x01, 0x76, 0xcb, 0x5c,
	0xa4, 0xcc, 0x91, 0xed, 0xe7, 0xad, 0xa9, 0x01, 0xf7, 0x7d, 0xe7, 0x88, 0xa7, 0x1e,
};

static void set_dir(struct tls13_dir *d, gnutls_cipher_algorithm_t alg, unsigned keylen, uint64_t seq)
{
	gnutls_datum_t key = { (unsigned char *)key32, keylen };

	CHECK(tls13_dir_set(d, alg, &key, iv12, seq) == 0);
}

static void kat_one(gnutls_cipher_algorithm_t alg, unsigned keylen, const uint8_t *want, size_t wlen)
{
	struct tls13_dir d = { 0 };
	uint8_t rec[64], out[64];
	size_t used, plain;
	ssize_t n;

	set_dir(&d, alg, keylen, KAT_SEQ);
	n = tls13_seal(&d, (const uint8_t *)kat_text, sizeof(kat_text) - 1, rec);
	CHECK(n == (ssize_t)wlen && !memcmp(rec, want, wlen));
	CHECK(d.seq == KAT_SEQ + 1);
	{ /* more than a record may carry */
		static uint8_t big[16385], big_rec[16385 + TLS13_OVERHEAD];

		CHECK(tls13_seal(&d, big, sizeof(big), big_rec) == -EINVAL && d.seq == KAT_SEQ + 1);
	}
	set_dir(&d, alg, keylen, KAT_SEQ);
	CHECK(tls13_open(&d, want, wlen, out, sizeof(out), &used, &plain) == TLS13_DATA);
	CHECK(used == wlen && plain == sizeof(kat_text) - 1 && !memcmp(out, kat_text, plain));
	CHECK(d.seq == KAT_SEQ + 1);
	/* The same record under the next sequence number (the wrong nonce) does not open. */
	CHECK(tls13_open(&d, want, wlen, out, sizeof(out), &used, &plain) == TLS13_GNUTLS);
	CHECK(used == wlen && plain == 0 && d.seq == KAT_SEQ + 1);
	gnutls_aead_cipher_deinit(d.aead);
}

static void known_answers(void)
{
	kat_one(GNUTLS_CIPHER_AES_128_GCM, 16, kat_aes128, sizeof(kat_aes128));
	kat_one(GNUTLS_CIPHER_AES_256_GCM, 32, kat_aes256, sizeof(kat_aes256));
	kat_one(GNUTLS_CIPHER_CHACHA20_POLY1305, 32, kat_chacha, sizeof(kat_chacha));
}

static void padding_stripped(void)
{
	struct tls13_dir d = { 0 };
	uint8_t out[64];
	size_t used, plain;

	set_dir(&d, GNUTLS_CIPHER_AES_128_GCM, 16, KAT_SEQ + 1);
	CHECK(tls13_open(&d, kat_padded, sizeof(kat_padded), out, sizeof(out), &used, &plain) == TLS13_DATA);
	CHECK(used == sizeof(kat_padded) && plain == sizeof(kat_text) - 1 && !memcmp(out, kat_text, plain));
	gnutls_aead_cipher_deinit(d.aead);
}

/* Anything tls13_open does not take as application data leaves the sequence alone. */
static void not_ours(void)
{
	struct tls13_dir d = { 0 };
	uint8_t rec[sizeof(kat_aes128)], out[64];
	size_t used, plain;

	set_dir(&d, GNUTLS_CIPHER_AES_128_GCM, 16, KAT_SEQ);
	for (size_t i = 0; i < sizeof(rec); i++) { /* a flipped bit anywhere: header, body, tag */
		memcpy(rec, kat_aes128, sizeof(rec));
		rec[i] ^= 0x10;
		if (i == 3 || i == 4) /* a length change: a different record, or the rest not there */
			continue;
		CHECK(tls13_open(&d, rec, sizeof(rec), out, sizeof(out), &used, &plain) == TLS13_GNUTLS);
		CHECK(used == sizeof(rec) && d.seq == KAT_SEQ);
	}
	CHECK(tls13_open(&d, kat_aes128, 4, out, sizeof(out), &used, &plain) == TLS13_NEED_INPUT);
	CHECK(tls13_open(&d, kat_aes128, sizeof(kat_aes128) - 1, out, sizeof(out), &used, &plain) ==
	      TLS13_NEED_INPUT);
	CHECK(tls13_open(&d, kat_aes128, sizeof(kat_aes128), out, 0x22 - 17, &used, &plain) == TLS13_NEED_ROOM);
	CHECK(used == 0 && d.seq == KAT_SEQ);
	/* Too long for any record: refused on the header alone. */
	memcpy(rec, kat_aes128, sizeof(rec));
	rec[3] = (TLS13_MAX_CIPHERTEXT + 1) >> 8;
	rec[4] = (TLS13_MAX_CIPHERTEXT + 1) & 0xff;
	CHECK(tls13_open(&d, rec, sizeof(rec), out, sizeof(out), &used, &plain) == TLS13_OVERFLOW);
	CHECK(used == 5);
	/* No room for a type byte beside the tag. */
	rec[3] = 0;
	rec[4] = TLS13_TAG;
	CHECK(tls13_open(&d, rec, 5 + TLS13_TAG, out, sizeof(out), &used, &plain) == TLS13_GNUTLS);
	CHECK(used == 5 + TLS13_TAG && d.seq == KAT_SEQ);
	/* The last sequence number is GnuTLS's to refuse. */
	d.seq = UINT64_MAX;
	CHECK(tls13_open(&d, kat_aes128, sizeof(kat_aes128), out, sizeof(out), &used, &plain) == TLS13_GNUTLS);
	gnutls_aead_cipher_deinit(d.aead);
}

/* Records GnuTLS must see, sealed by hand under the KAT key: outer type, sequence number. */
static size_t seal_as(uint8_t outer, uint64_t seq, const uint8_t *inner, size_t n, uint8_t *rec)
{
	gnutls_aead_cipher_hd_t h;
	gnutls_datum_t key = { (unsigned char *)key32, 16 };
	uint8_t nonce[12];
	size_t clen = n + TLS13_TAG;

	memcpy(nonce, iv12, 12);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] ^= (uint8_t)(seq >> (56 - 8 * i));
	rec[0] = outer, rec[1] = 3, rec[2] = 3, rec[3] = (uint8_t)(clen >> 8), rec[4] = (uint8_t)clen;
	CHECK(gnutls_aead_cipher_init(&h, GNUTLS_CIPHER_AES_128_GCM, &key) == 0);
	CHECK(gnutls_aead_cipher_encrypt(h, nonce, 12, rec, 5, TLS13_TAG, inner, n, rec + 5, &clen) == 0);
	gnutls_aead_cipher_deinit(h);
	return 5 + clen;
}

static size_t seal_inner(const uint8_t *inner, size_t n, uint8_t *rec)
{
	return seal_as(23, KAT_SEQ, inner, n, rec);
}

/* Authentic records that are still not ours: another outer type or version, the last
 * sequence number (GnuTLS's to refuse: it must not wrap). */
static void authentic_not_ours(void)
{
	static const uint8_t inner[] = "data\x17";
	struct tls13_dir d = { 0 };
	uint8_t rec[64], out[64];
	size_t n, used, plain;

	set_dir(&d, GNUTLS_CIPHER_AES_128_GCM, 16, KAT_SEQ);
	n = seal_inner(inner, sizeof(inner) - 1, rec);
	CHECK(tls13_open(&d, rec, n, out, sizeof(out), &used, &plain) == TLS13_DATA && plain == 4);
	d.seq = KAT_SEQ;
	n = seal_as(22, KAT_SEQ, inner, sizeof(inner) - 1, rec);
	CHECK(tls13_open(&d, rec, n, out, sizeof(out), &used, &plain) == TLS13_GNUTLS && used == n);
	n = seal_as(23, KAT_SEQ, inner, sizeof(inner) - 1, rec);
	rec[2] = 1; /* TLS 1.0's version in the header: the tag covers it, so seal again */
	{
		gnutls_aead_cipher_hd_t h;
		gnutls_datum_t key = { (unsigned char *)key32, 16 };
		uint8_t nonce[12];
		size_t clen = sizeof(inner) - 1 + TLS13_TAG;

		memcpy(nonce, iv12, 12);
		for (int i = 0; i < 8; i++)
			nonce[4 + i] ^= (uint8_t)(KAT_SEQ >> (56 - 8 * i));
		CHECK(gnutls_aead_cipher_init(&h, GNUTLS_CIPHER_AES_128_GCM, &key) == 0);
		CHECK(gnutls_aead_cipher_encrypt(h, nonce, 12, rec, 5, TLS13_TAG, inner, sizeof(inner) - 1,
						 rec + 5, &clen) == 0);
		gnutls_aead_cipher_deinit(h);
	}
	CHECK(tls13_open(&d, rec, n, out, sizeof(out), &used, &plain) == TLS13_GNUTLS && used == n);
	d.seq = UINT64_MAX;
	n = seal_as(23, UINT64_MAX, inner, sizeof(inner) - 1, rec);
	CHECK(tls13_open(&d, rec, n, out, sizeof(out), &used, &plain) == TLS13_GNUTLS && used == n);
	CHECK(d.seq == UINT64_MAX);
	/* Shorter than a tag. */
	d.seq = KAT_SEQ;
	rec[0] = 23, rec[1] = 3, rec[2] = 3, rec[3] = 0, rec[4] = TLS13_TAG - 1;
	CHECK(tls13_open(&d, rec, 5 + TLS13_TAG - 1, out, sizeof(out), &used, &plain) == TLS13_GNUTLS);
	CHECK(used == 5 + TLS13_TAG - 1);
	gnutls_aead_cipher_deinit(d.aead);
}

/* RFC 8446 5.1: nothing may come between the records of a split handshake message, and a
 * handshake record is never empty; GnuTLS refuses both, so such records are all its own. */
static void hs_split(void)
{
	static const uint8_t ku_head[] = { 24, 0, 0, 1, 22 }, ku_tail[] = { 0, 22 }, data[] = "x\x17";
	static const uint8_t ku_whole[] = { 24, 0, 0, 1, 0, 22 }, empty[] = { 22 };
	struct tls13_dir d = { 0 };
	uint8_t rec[64], out[64];
	size_t n, used, plain;

	set_dir(&d, GNUTLS_CIPHER_AES_128_GCM, 16, KAT_SEQ);
	/* The first 4 bytes of a KeyUpdate, a data record, the last byte. */
	n = seal_as(23, d.seq, ku_head, sizeof(ku_head), rec);
	CHECK(tls13_open(&d, rec, n, out, sizeof(out), &used, &plain) == TLS13_GNUTLS);
	d.seq++; /* GnuTLS read it */
	n = seal_as(23, d.seq, data, 2, rec);
	CHECK(tls13_open(&d, rec, n, out, sizeof(out), &used, &plain) == TLS13_GNUTLS && plain == 0);
	CHECK(d.seq == KAT_SEQ + 1);
	d.seq++;
	n = seal_as(23, d.seq, ku_tail, sizeof(ku_tail), rec);
	CHECK(tls13_open(&d, rec, n, out, sizeof(out), &used, &plain) == TLS13_GNUTLS);
	d.seq++;
	n = seal_as(23, d.seq, data, 2, rec); /* on a message boundary again: ours */
	CHECK(tls13_open(&d, rec, n, out, sizeof(out), &used, &plain) == TLS13_DATA && plain == 1);
	/* A whole message in one record leaves the data after it ours. */
	n = seal_as(23, d.seq, ku_whole, sizeof(ku_whole), rec);
	CHECK(tls13_open(&d, rec, n, out, sizeof(out), &used, &plain) == TLS13_GNUTLS);
	d.seq++;
	n = seal_as(23, d.seq, data, 2, rec);
	CHECK(tls13_open(&d, rec, n, out, sizeof(out), &used, &plain) == TLS13_DATA && plain == 1);
	/* An empty handshake record: the data after it is GnuTLS's (to refuse). */
	n = seal_as(23, d.seq, empty, sizeof(empty), rec);
	CHECK(tls13_open(&d, rec, n, out, sizeof(out), &used, &plain) == TLS13_GNUTLS);
	d.seq++;
	n = seal_as(23, d.seq, data, 2, rec);
	memset(out, 0xee, sizeof(out));
	CHECK(tls13_open(&d, rec, n, out, sizeof(out), &used, &plain) == TLS13_GNUTLS && plain == 0);
	CHECK(out[0] == 0 && out[1] == 0); /* its plaintext wiped */
	/* A bad tag: what the cipher wrote before checking it is wiped too. */
	n = seal_as(23, d.seq, data, 2, rec);
	rec[n - 1] ^= 1;
	memset(out, 0xee, sizeof(out));
	CHECK(tls13_open(&d, rec, n, out, sizeof(out), &used, &plain) == TLS13_GNUTLS);
	CHECK(out[0] == 0 && out[1] == 0 && out[2] == 0xee);
	gnutls_aead_cipher_deinit(d.aead);
}

static void inner_types(void)
{
	static uint8_t inner[16384 + 256], rec[16384 + 256 + 5], out[16384 + 256];
	struct tls13_dir d = { 0 };
	size_t n, used, plain;

	set_dir(&d, GNUTLS_CIPHER_AES_128_GCM, 16, KAT_SEQ);
	memset(inner, 0, sizeof(inner)); /* all padding, no type */
	n = seal_inner(inner, 40, rec);
	CHECK(tls13_open(&d, rec, n, out, sizeof(out), &used, &plain) == TLS13_GNUTLS && used == n);
	inner[3] = 22; /* a handshake message (a ticket, a KeyUpdate) */
	n = seal_inner(inner, 40, rec);
	CHECK(tls13_open(&d, rec, n, out, sizeof(out), &used, &plain) == TLS13_GNUTLS && used == n);
	d.hs = (struct tls13_hs){ 0 }; /* three zero bytes: a header cut short, see hs_split */
	inner[3] = 21; /* an alert */
	n = seal_inner(inner, 4, rec);
	CHECK(tls13_open(&d, rec, n, out, sizeof(out), &used, &plain) == TLS13_GNUTLS);
	memset(inner, 'x', 16384); /* 2^14 bytes of data: the largest */
	inner[16384] = 23;
	n = seal_inner(inner, 16385, rec);
	CHECK(tls13_open(&d, rec, n, out, sizeof(out), &used, &plain) == TLS13_DATA && plain == 16384);
	d.seq = KAT_SEQ;
	inner[16384] = 'x'; /* one byte more: record_overflow, on the header alone */
	inner[16385] = 23;
	n = seal_inner(inner, 16386, rec);
	CHECK(tls13_open(&d, rec, n, out, sizeof(out), &used, &plain) == TLS13_OVERFLOW && d.seq == KAT_SEQ);
	CHECK(used == 5);
	/* Authentic, within 2^14 + 256 (RFC 8446's ciphertext bound) but with 2^14 + 1 bytes of
	 * content and type before 238 bytes of padding: still too long an inner plaintext. */
	memset(inner + 16386, 0, 238);
	n = seal_inner(inner, 16386 + 238, rec);
	CHECK(n == 5 + 16384 + 256);
	CHECK(tls13_open(&d, rec, n, out, sizeof(out), &used, &plain) == TLS13_OVERFLOW && d.seq == KAT_SEQ);
	/* Longer than any record: refused by us, not left to GnuTLS. */
	rec[3] = 0x41, rec[4] = 0x01; /* 2^14 + 256 + 1 */
	CHECK(tls13_open(&d, rec, 5, out, sizeof(out), &used, &plain) == TLS13_OVERFLOW && used == 5);
	gnutls_aead_cipher_deinit(d.aead);
}

/* ---- an in-memory TLS 1.3 connection with GnuTLS on both ends (PSK, no certificates) */

struct pipe {
	uint8_t data[1 << 18];
	size_t off, len;
};
static struct pipe to_server, to_client;
static uint16_t client_record_limit; /* record_size_limit the client asks for; 0: none */

static ssize_t mem_push(gnutls_transport_ptr_t p, const void *data, size_t n)
{
	struct pipe *q = p;

	if (n > sizeof(q->data) - q->len)
		n = sizeof(q->data) - q->len;
	memcpy(q->data + q->len, data, n);
	q->len += n;
	return (ssize_t)n;
}

static ssize_t mem_pull(gnutls_transport_ptr_t p, void *data, size_t n)
{
	struct pipe *q = p;

	if (q->off == q->len) {
		errno = EAGAIN;
		return -1;
	}
	if (n > q->len - q->off)
		n = q->len - q->off;
	memcpy(data, q->data + q->off, n);
	q->off += n;
	if (q->off == q->len)
		q->off = q->len = 0;
	return (ssize_t)n;
}

static int psk_cb(gnutls_session_t s, const char *user, gnutls_datum_t *key)
{
	(void)s, (void)user;
	key->data = gnutls_malloc(16);
	key->size = 16;
	memcpy(key->data, key32, 16);
	return 0;
}

struct pair {
	gnutls_session_t client, server;
	gnutls_psk_client_credentials_t ccred;
	gnutls_psk_server_credentials_t scred;
};

static gnutls_session_t session(unsigned flags, const char *cipher, struct pipe *in, struct pipe *out)
{
	char prio[160];
	gnutls_session_t s;

	snprintf(prio, sizeof(prio), "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+%s:+ECDHE-PSK:+PSK", cipher);
	CHECK(gnutls_init(&s, flags | GNUTLS_NONBLOCK) == 0);
	CHECK(gnutls_priority_set_direct(s, prio, NULL) == 0);
	gnutls_transport_set_push_function(s, mem_push);
	gnutls_transport_set_pull_function(s, mem_pull);
	gnutls_transport_set_ptr2(s, in, out);
	return s;
}

static int handshake(struct pair *p, const char *cipher)
{
	gnutls_datum_t key = { (unsigned char *)key32, 16 };
	int rc = GNUTLS_E_AGAIN, sc = GNUTLS_E_AGAIN;

	to_server.off = to_server.len = to_client.off = to_client.len = 0;
	gnutls_psk_allocate_client_credentials(&p->ccred);
	gnutls_psk_set_client_credentials(p->ccred, "test", &key, GNUTLS_PSK_KEY_RAW);
	gnutls_psk_allocate_server_credentials(&p->scred);
	gnutls_psk_set_server_credentials_function(p->scred, psk_cb);
	p->client = session(GNUTLS_CLIENT, cipher, &to_client, &to_server);
	p->server = session(GNUTLS_SERVER | GNUTLS_NO_TICKETS, cipher, &to_server, &to_client);
	gnutls_credentials_set(p->client, GNUTLS_CRD_PSK, p->ccred);
	gnutls_credentials_set(p->server, GNUTLS_CRD_PSK, p->scred);
	if (client_record_limit)
		CHECK(gnutls_record_set_max_recv_size(p->client, client_record_limit) == 0);
	for (int i = 0; i < 20 && (rc < 0 || sc < 0); i++) {
		if (rc < 0)
			rc = gnutls_handshake(p->client);
		if (sc < 0)
			sc = gnutls_handshake(p->server);
		if ((rc < 0 && gnutls_error_is_fatal(rc)) || (sc < 0 && gnutls_error_is_fatal(sc)))
			break;
	}
	CHECK(rc == 0 && sc == 0);
	return rc == 0 && sc == 0 ? 0 : -1;
}

static void pair_free(struct pair *p)
{
	gnutls_deinit(p->client);
	gnutls_deinit(p->server);
	gnutls_psk_free_client_credentials(p->ccred);
	gnutls_psk_free_server_credentials(p->scred);
}

/* Opens what waits in to_client with r until GnuTLS must take a record: it then reads it with
 * the state handed over and taken back, as pump.c does. Returns the plaintext bytes. */
static size_t client_read(struct pair *p, struct tls13_rec *r, uint8_t *out, size_t room, int *err)
{
	size_t got = 0;

	*err = 0;

	for (;;) {
		size_t used, plain;
		enum tls13_open_result res = tls13_open(&r->rd, to_client.data + to_client.off,
							to_client.len - to_client.off, out + got,
							room - got, &used, &plain);

		if (res == TLS13_DATA) {
			to_client.off += used;
			got += plain;
			continue;
		}
		if (res != TLS13_GNUTLS)
			break;
		CHECK(tls13_rec_give_back(r, p->client) == 0);
		r->gnutls_owes = true;
		{
			ssize_t n = gnutls_record_recv(p->client, out + got, room - got);

			got += n > 0 ? (size_t)n : 0;
			if (n < 0 && n != GNUTLS_E_AGAIN) {
				*err = (int)n;
				break;
			}
		}
		CHECK(tls13_rec_load(r, p->client) == 0);
	}
	if (to_client.off == to_client.len)
		to_client.off = to_client.len = 0;
	return got;
}

static void with_gnutls(const char *cipher)
{
	static uint8_t data[65536], out[65536 + 64], rec[16384 + 64];
	struct tls13_rec r = { 0 };
	struct pair p;
	ssize_t n;
	size_t got;
	int err;

	if (handshake(&p, cipher) < 0)
		return;
	CHECK(tls13_rec_eligible(p.client));
	CHECK(tls13_rec_load(&r, p.client) == 0);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	/* Ours to GnuTLS: records of every size up to the largest. */
	for (size_t len = 0; len <= 16384; len += len < 40 ? 1 : 4093) {
		n = tls13_seal(&r.wr, data, len, rec);
		CHECK(n == (ssize_t)(len + TLS13_OVERHEAD));
		mem_push(&to_server, rec, (size_t)n);
		n = gnutls_record_recv(p.server, out, sizeof(out));
		CHECK(len == 0 ? n == GNUTLS_E_AGAIN : n == (ssize_t)len); /* an empty record is no data */
		CHECK(n <= 0 || !memcmp(out, data, len));
	}
	/* Parked (idle): GnuTLS holds the sequence numbers, a give-back is a no-op, and GnuTLS's
	 * own records carry on from ours; loaded again, ours carry on from GnuTLS's. */
	tls13_rec_park(&r, p.client);
	CHECK(tls13_rec_parked(&r) && r.wr.seq == 0);
	CHECK(tls13_rec_give_back(&r, p.client) == 0);
	CHECK(gnutls_record_send(p.client, data, 300) == 300);
	CHECK(gnutls_record_recv(p.server, out, sizeof(out)) == 300 && !memcmp(out, data, 300));
	CHECK(tls13_rec_load(&r, p.client) == 0 && !tls13_rec_parked(&r));
	n = tls13_seal(&r.wr, data, 200, rec);
	mem_push(&to_server, rec, (size_t)n);
	CHECK(gnutls_record_recv(p.server, out, sizeof(out)) == 200 && !memcmp(out, data, 200));
	/* GnuTLS's to ours, several at once. */
	CHECK(gnutls_record_send(p.server, data, sizeof(data)) == 16384);
	CHECK(gnutls_record_send(p.server, data + 16384, 100) == 100);
	got = client_read(&p, &r, out, sizeof(out), &err);
	CHECK(got == 16484 && !memcmp(out, data, got) && err == 0);
	/* The server updates its key and asks us to update ours: GnuTLS takes the KeyUpdate,
	 * answers it, and we carry on under both new keys. */
	CHECK(gnutls_session_key_update(p.server, GNUTLS_KU_PEER) == 0);
	CHECK(gnutls_record_send(p.server, data, 1000) == 1000);
	got = client_read(&p, &r, out, sizeof(out), &err);
	CHECK(got == 1000 && !memcmp(out, data, got));
	CHECK(r.rd.seq == 1); /* the new key's first record was ours */
	/* GnuTLS owes the KeyUpdate reply: the next record goes through it. */
	CHECK(r.gnutls_owes);
	CHECK(tls13_rec_send_via_gnutls(&r, p.client, data, 500) == 500);
	CHECK(!r.gnutls_owes && r.wr.seq == 1); /* the reply under the old key, the data under the new */
	n = tls13_seal(&r.wr, data + 500, 300, rec);
	mem_push(&to_server, rec, (size_t)n);
	n = gnutls_record_recv(p.server, out, sizeof(out)); /* the client's KeyUpdate */
	if (n == GNUTLS_E_AGAIN)
		n = gnutls_record_recv(p.server, out, sizeof(out));
	CHECK(n == 500 && !memcmp(out, data, 500));
	n = gnutls_record_recv(p.server, out, sizeof(out));
	CHECK(n == 300 && !memcmp(out, data + 500, 300));
	/* At the write key's limit we ask GnuTLS for a KeyUpdate, and the server follows. */
	{
		uint8_t seq[8] = { 0, 0, 0, 0, 1, 0, 0, 0 }; /* 2^24 */

		r.wr.seq = TLS13_REKEY_RECORDS;
		CHECK(gnutls_record_set_state(p.server, 1, seq) == 0);
		CHECK(tls13_seal(&r.wr, data, 10, rec) == -EKEYEXPIRED);
		CHECK(tls13_rec_rekey(&r, p.client) == 0);
		CHECK(r.wr.seq == 0);
		n = tls13_seal(&r.wr, data, 10, rec);
		mem_push(&to_server, rec, (size_t)n);
		n = gnutls_record_recv(p.server, out, sizeof(out));
		if (n == GNUTLS_E_AGAIN)
			n = gnutls_record_recv(p.server, out, sizeof(out));
		CHECK(n == 10 && !memcmp(out, data, 10));
	}
	/* A bad tag: GnuTLS fails it as bad_record_mac. */
	CHECK(gnutls_record_send(p.server, data, 10) == 10);
	to_client.data[to_client.len - 1] ^= 1;
	got = client_read(&p, &r, out, sizeof(out), &err);
	CHECK(got == 0 && err == GNUTLS_E_DECRYPTION_FAILED);
	tls13_rec_clear(&r);
	pair_free(&p);
}

static void with_gnutls_aes128(void)
{
	with_gnutls("AES-128-GCM");
}

static void with_gnutls_chacha(void)
{
	with_gnutls("CHACHA20-POLY1305");
}

static void close_notify_to_gnutls(void)
{
	uint8_t out[64];
	struct tls13_rec r = { 0 };
	struct pair p;

	if (handshake(&p, "AES-128-GCM") < 0)
		return;
	CHECK(tls13_rec_load(&r, p.client) == 0);
	CHECK(gnutls_bye(p.server, GNUTLS_SHUT_WR) == 0);
	{
		size_t used, plain;

		CHECK(tls13_open(&r.rd, to_client.data, to_client.len, out, sizeof(out), &used, &plain) ==
		      TLS13_GNUTLS);
		CHECK(used == to_client.len);
	}
	CHECK(tls13_rec_give_back(&r, p.client) == 0);
	CHECK(gnutls_record_recv(p.client, out, sizeof(out)) == 0);
	tls13_rec_clear(&r);
	pair_free(&p);
}

/* close_notify after records of our own (tls13_rec_bye): GnuTLS writes it under the sequence
 * number ours moved on, or the peer could not open it; a connection that still reads takes
 * our records up again after it, one that ends is left parked. */
static void bye_after_ours(bool resume)
{
	static uint8_t data[100], rec[100 + TLS13_OVERHEAD], out[200];
	struct tls13_rec r = { 0 };
	struct pair p;
	ssize_t n;
	int err;

	if (handshake(&p, "AES-128-GCM") < 0)
		return;
	CHECK(tls13_rec_load(&r, p.client) == 0);
	n = tls13_seal(&r.wr, data, sizeof(data), rec);
	mem_push(&to_server, rec, (size_t)n);
	CHECK(gnutls_record_recv(p.server, out, sizeof(out)) == sizeof(data));
	CHECK(tls13_rec_bye(&r, p.client, resume) == 0);
	CHECK(gnutls_record_recv(p.server, out, sizeof(out)) == 0); /* the close_notify, opened */
	if (resume) {
		CHECK(!tls13_rec_parked(&r) && r.wr.seq == 2);
		CHECK(gnutls_record_send(p.server, data, 10) == 10);
		CHECK(client_read(&p, &r, out, sizeof(out), &err) == 10 && err == 0);
	} else {
		CHECK(tls13_rec_parked(&r));
		CHECK(tls13_rec_bye(&r, p.client, false) == 0); /* parked: GnuTLS's state alone */
		CHECK(tls13_rec_parked(&r));
	}
	tls13_rec_clear(&r);
	pair_free(&p);
}

static void bye_resuming(void)
{
	bye_after_ours(true);
}

static void bye_ending(void)
{
	bye_after_ours(false);
}

static void not_eligible(void)
{
	struct pair p;

	if (handshake(&p, "AES-128-CCM") < 0)
		return;
	CHECK(!tls13_rec_eligible(p.client));
	pair_free(&p);
}

/* A client that limits the records it takes (record_size_limit 512): GnuTLS's send comes
 * back short, which says the server's records of our own (up to 2^14) would break the
 * limit; without a limit a full-size send goes through whole. */
static void record_size_limit(void)
{
	static uint8_t data[16384];
	struct tls13_rec r = { 0 };
	struct pair p;

	client_record_limit = 512;
	if (handshake(&p, "AES-128-GCM") == 0) {
		CHECK(tls13_rec_load(&r, p.server) == 0 && !r.full_size_ok && !r.peer_limits);
		CHECK(tls13_rec_send_via_gnutls(&r, p.server, data, 100) == 100);
		CHECK(!r.full_size_ok && !r.peer_limits); /* nothing known yet */
		CHECK(tls13_rec_send_via_gnutls(&r, p.server, data, sizeof(data)) < (ssize_t)sizeof(data));
		CHECK(r.peer_limits && !r.full_size_ok);
		tls13_rec_clear(&r);
		pair_free(&p);
	}
	client_record_limit = 0;
	r = (struct tls13_rec){ 0 };
	if (handshake(&p, "AES-128-GCM") == 0) {
		CHECK(tls13_rec_load(&r, p.server) == 0);
		CHECK(tls13_rec_send_via_gnutls(&r, p.server, data, sizeof(data)) == (ssize_t)sizeof(data));
		CHECK(r.full_size_ok && !r.peer_limits);
		tls13_rec_clear(&r);
		pair_free(&p);
	}
}

int main(void)
{
	RUN(known_answers);
	RUN(padding_stripped);
	RUN(not_ours);
	RUN(inner_types);
	RUN(hs_split);
	RUN(authentic_not_ours);
	RUN(with_gnutls_aes128);
	RUN(with_gnutls_chacha);
	RUN(close_notify_to_gnutls);
	RUN(bye_resuming);
	RUN(bye_ending);
	RUN(not_eligible);
	RUN(record_size_limit);
	return check_result();
}
