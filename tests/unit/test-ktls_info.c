// SPDX-License-Identifier: GPL-2.0-only
/* The kernel TLS key struct filled from GnuTLS's record state, for every row of tls_ciphers[]
 * in TLS 1.2 and 1.3. Each part is read back through linux/tls.h's named fields, and what it
 * must hold comes from the RFCs below, not from ciphers.c's layout columns: a wrong column
 * puts bytes in the wrong field and fails here. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/tls.h>

#include "check.h"
#include "ciphers.h"
#include "ktls_info.h"

/*
 * Per cipher: the kernel's type and struct, the key length, and the salt (the implicit part of
 * the nonce that the kernel keeps apart from the rest):
 *  - AES-GCM (RFC 5288 section 3) and AES-CCM (RFC 6655 section 3) in TLS 1.2: a 4-byte
 *    salt, GnuTLS's whole IV (fixed_iv_length 4), then an 8-byte explicit nonce sent with
 *    each record; GnuTLS makes it the sequence number, so the kernel's iv starts as that.
 *  - TLS 1.3 (RFC 8446 section 5.3): a 12-byte IV XORed with the sequence number; for
 *    AES-GCM/CCM the kernel takes its first 4 bytes as salt and the last 8 as iv.
 *  - ChaCha20-Poly1305 (RFC 7905 section 2): a 12-byte IV XORed with the sequence number in
 *    both versions, no explicit nonce and no salt: iv is all 12 bytes.
 */
struct want {
	gnutls_cipher_algorithm_t alg;
	uint16_t type;
	size_t size; /* sizeof the kernel's struct: what setsockopt gets */
	size_t key_len, salt_len;
};

static const struct want wants[] = {
	{ GNUTLS_CIPHER_AES_128_GCM, TLS_CIPHER_AES_GCM_128,
	  sizeof(struct tls12_crypto_info_aes_gcm_128), 16, 4 },
	{ GNUTLS_CIPHER_AES_256_GCM, TLS_CIPHER_AES_GCM_256,
	  sizeof(struct tls12_crypto_info_aes_gcm_256), 32, 4 },
	{ GNUTLS_CIPHER_AES_128_CCM, TLS_CIPHER_AES_CCM_128,
	  sizeof(struct tls12_crypto_info_aes_ccm_128), 16, 4 },
	{ GNUTLS_CIPHER_CHACHA20_POLY1305, TLS_CIPHER_CHACHA20_POLY1305,
	  sizeof(struct tls12_crypto_info_chacha20_poly1305), 32, 0 },
};

#define NONCE_LEN 12    /* every AEAD here: RFC 5288 3 (4 + 8), RFC 8446 5.3, RFC 7905 2 */
#define EXPLICIT_LEN 8  /* TLS 1.2 GCM/CCM record_iv_length */
#define SEQ_LEN 8

static const struct want *want_for(gnutls_cipher_algorithm_t alg)
{
	for (size_t i = 0; i < sizeof(wants) / sizeof(wants[0]); i++)
		if (wants[i].alg == alg)
			return &wants[i];
	return NULL;
}

/* The IV GnuTLS gives for a version: the salt alone where TLS 1.2 sends an explicit nonce. */
static size_t gnutls_iv_len(const struct want *w, bool tls13)
{
	return !tls13 && w->salt_len ? w->salt_len : NONCE_LEN;
}

/* The kernel struct's named fields, whichever struct the type says it is. */
struct view {
	bool known;
	const uint8_t *iv, *key, *salt, *seq;
	size_t iv_len, key_len, salt_len, seq_len, size;
};

#define VIEW_OF(ki, m)                                                                   \
	(struct view){ true, (ki)->m.iv, (ki)->m.key, (ki)->m.salt, (ki)->m.rec_seq,       \
		       sizeof((ki)->m.iv), sizeof((ki)->m.key), sizeof((ki)->m.salt),      \
		       sizeof((ki)->m.rec_seq), sizeof((ki)->m) }

static struct view view_of(const union ktls_info *ki, uint16_t type)
{
	switch (type) {
	case TLS_CIPHER_AES_GCM_128:
		return VIEW_OF(ki, gcm128);
	case TLS_CIPHER_AES_GCM_256:
		return VIEW_OF(ki, gcm256);
	case TLS_CIPHER_AES_CCM_128:
		return VIEW_OF(ki, ccm128);
	case TLS_CIPHER_CHACHA20_POLY1305:
		return VIEW_OF(ki, chacha);
	}
	return (struct view){ false };
}

/* Distinct bytes for each input, none zero, so a part in the wrong field shows. */
static uint8_t iv_bytes[NONCE_LEN + 1], key_bytes[32 + 1], seq_bytes[SEQ_LEN];

static void patterns(void)
{
	for (size_t i = 0; i < sizeof(iv_bytes); i++)
		iv_bytes[i] = (uint8_t)(0x10 + i);
	for (size_t i = 0; i < sizeof(key_bytes); i++)
		key_bytes[i] = (uint8_t)(0x40 + i);
	for (size_t i = 0; i < sizeof(seq_bytes); i++)
		seq_bytes[i] = (uint8_t)(0xa0 + i);
}

static int fill(union ktls_info *ki, const struct tls_cipher *c, bool tls13, size_t iv_len,
		size_t key_len)
{
	gnutls_datum_t iv = { iv_bytes, (unsigned)iv_len }, key = { key_bytes, (unsigned)key_len };

	return ktls_info_fill(ki, c, tls13, &iv, &key, seq_bytes);
}

/* One named field against what it must hold; names the cipher (c) and version (tls13). */
#define CHECK_FIELD(what, got, got_len, want, want_len)                                  \
	do {                                                                             \
		CHECK((got_len) == (want_len));                                          \
		if ((got_len) == (want_len) && memcmp(got, want, want_len)) {            \
			fprintf(stderr, "  %s: %s in TLS 1.%d holds the wrong bytes\n",  \
				c->name, what, tls13 ? 3 : 2);                           \
			check_failures++;                                                \
		}                                                                        \
	} while (0)

static void one_row(const struct tls_cipher *c, bool tls13)
{
	const struct want *w = want_for(c->alg);
	union ktls_info ki;
	struct view v;

	if (!w) {
		fprintf(stderr, "  %s: a row this test has no expectations for\n", c->name);
		check_failures++;
		return;
	}
	CHECK(c->ktls_type == w->type);
	CHECK(c->ktls_size == w->size); /* the length setsockopt is given */
	memset(&ki, 0xee, sizeof(ki));
	CHECK(fill(&ki, c, tls13, gnutls_iv_len(w, tls13), w->key_len) == 0);
	CHECK(ki.info.version == (tls13 ? TLS_1_3_VERSION : TLS_1_2_VERSION));
	CHECK(ki.info.cipher_type == w->type);
	v = view_of(&ki, w->type);
	CHECK(v.known);
	if (!v.known)
		return;
	/* The named fields below are the whole struct: no byte of it goes unchecked. */
	CHECK(sizeof(ki.info) + v.iv_len + v.key_len + v.salt_len + v.seq_len == v.size);
	CHECK_FIELD("salt", v.salt, v.salt_len, iv_bytes, w->salt_len);
	if (!w->salt_len)
		CHECK_FIELD("iv", v.iv, v.iv_len, iv_bytes, NONCE_LEN);
	else if (tls13)
		CHECK_FIELD("iv", v.iv, v.iv_len, iv_bytes + w->salt_len, NONCE_LEN - w->salt_len);
	else
		CHECK_FIELD("iv (explicit nonce)", v.iv, v.iv_len, seq_bytes, EXPLICIT_LEN);
	CHECK_FIELD("key", v.key, v.key_len, key_bytes, w->key_len);
	CHECK_FIELD("rec_seq", v.seq, v.seq_len, seq_bytes, SEQ_LEN);
}

static void every_row_tls12(void)
{
	for (size_t i = 0; i < TLS_CIPHERS_N; i++)
		one_row(&tls_ciphers[i], false);
}

static void every_row_tls13(void)
{
	for (size_t i = 0; i < TLS_CIPHERS_N; i++)
		one_row(&tls_ciphers[i], true);
}

/* Past the cipher's struct nothing of an earlier fill (another cipher's key) may remain. */
static void union_zeroed_beyond_struct(void)
{
	for (size_t i = 0; i < TLS_CIPHERS_N; i++) {
		const struct tls_cipher *c = &tls_ciphers[i];
		const struct want *w = want_for(c->alg);
		union ktls_info ki;
		const uint8_t *p = (const uint8_t *)&ki;
		bool clean = true;

		if (!w)
			continue; /* every_row_* says so */
		for (int tls13 = 0; tls13 < 2; tls13++) {
			memset(&ki, 0xee, sizeof(ki));
			CHECK(fill(&ki, c, tls13, gnutls_iv_len(w, tls13), w->key_len) == 0);
			for (size_t b = w->size; b < sizeof(ki); b++)
				clean = clean && p[b] == 0;
		}
		if (!clean) {
			fprintf(stderr, "  %s: bytes past its struct not zeroed\n", c->name);
			check_failures++;
		}
	}
}

/* A key or IV of the wrong size (another cipher's, the other version's) is refused, and the
 * union is left as it was. */
static void wrong_sizes_refused(void)
{
	for (size_t i = 0; i < TLS_CIPHERS_N; i++) {
		const struct tls_cipher *c = &tls_ciphers[i];
		const struct want *w = want_for(c->alg);

		if (!w)
			continue;
		for (int tls13 = 0; tls13 < 2; tls13++) {
			size_t iv_len = gnutls_iv_len(w, tls13);
			size_t bad_key[] = { 0, w->key_len - 1, w->key_len + 1,
					     w->key_len == 16 ? 32 : 16 };
			size_t bad_iv[] = { 0, iv_len - 1, iv_len + 1,
					    iv_len == NONCE_LEN ? 4 : NONCE_LEN };
			union ktls_info ki, before;

			memset(&ki, 0xee, sizeof(ki));
			before = ki;
			for (size_t k = 0; k < sizeof(bad_key) / sizeof(bad_key[0]); k++)
				CHECK(fill(&ki, c, tls13, iv_len, bad_key[k]) == -EPROTO);
			for (size_t k = 0; k < sizeof(bad_iv) / sizeof(bad_iv[0]); k++)
				CHECK(fill(&ki, c, tls13, bad_iv[k], w->key_len) == -EPROTO);
			CHECK(memcmp(&ki, &before, sizeof(ki)) == 0);
		}
	}
}

int main(void)
{
	patterns();
	RUN(every_row_tls12);
	RUN(every_row_tls13);
	RUN(union_zeroed_beyond_struct);
	RUN(wrong_sizes_refused);
	return check_result();
}
