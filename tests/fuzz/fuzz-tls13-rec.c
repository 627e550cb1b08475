// SPDX-License-Identifier: GPL-2.0-only
/* tls13_open() on records that the harness seals from the input (content, inner type, zero
 * padding, a cut, a flipped bit), against what RFC 8446 says of each: an intact
 * application-data record of at most 2^14 bytes opens to exactly its content; any other
 * record, and any flipped bit, goes to GnuTLS and leaves the sequence number alone; a cut
 * record waits for more. Then the raw input as a ciphertext stream: nothing may read or
 * write out of bounds, and nothing random authenticates.
 * Input: cipher, flags (1: flip a bit), flip position (2), padding (2), inner type,
 * cut (2), then the content. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "tls13_rec.h"

static const uint8_t key[32] = "0123456789abcdef0123456789abcdef";
static const uint8_t iv[TLS13_NONCE] = "fuzz-nonce!";
#define SEQ 77

static const gnutls_cipher_algorithm_t ciphers[] = { GNUTLS_CIPHER_AES_128_GCM, GNUTLS_CIPHER_AES_256_GCM,
						     GNUTLS_CIPHER_CHACHA20_POLY1305 };

static void set(struct tls13_dir *d, gnutls_cipher_algorithm_t alg)
{
	gnutls_datum_t k = { (unsigned char *)key, alg == GNUTLS_CIPHER_AES_128_GCM ? 16 : 32 };

	if (tls13_dir_set(d, alg, &k, iv, SEQ) != 0)
		abort();
}

/* The record the other end would seal: header, encrypted content || type || padding, tag. */
static size_t seal_by_hand(gnutls_cipher_algorithm_t alg, const uint8_t *inner, size_t n, uint8_t *rec)
{
	struct tls13_dir d = { 0 };
	uint8_t nonce[TLS13_NONCE];
	size_t clen = n + TLS13_TAG;

	set(&d, alg);
	memcpy(nonce, iv, sizeof(nonce));
	nonce[TLS13_NONCE - 1] ^= SEQ;
	rec[0] = 23, rec[1] = 3, rec[2] = 3, rec[3] = (uint8_t)(clen >> 8), rec[4] = (uint8_t)clen;
	if (gnutls_aead_cipher_encrypt(d.aead, nonce, sizeof(nonce), rec, 5, TLS13_TAG, inner, n, rec + 5,
				       &clen) != 0)
		abort();
	gnutls_aead_cipher_deinit(d.aead);
	return 5 + clen;
}

static void sealed(const uint8_t *data, size_t size)
{
	static uint8_t inner[70000], rec[70000 + 64], out[70000];
	gnutls_cipher_algorithm_t alg = ciphers[data[0] % 3];
	bool flip = data[1] & 1;
	size_t pos = (size_t)data[2] << 8 | data[3], pad = ((size_t)data[4] << 8 | data[5]) % 512;
	uint8_t type = data[6];
	size_t cut = (size_t)data[7] << 8 | data[8], content = size - 9, n, len, used, plain;
	struct tls13_dir d = { 0 };
	enum tls13_open_result r;

	if (content + 1 + pad > 16384 + 256 - TLS13_TAG) /* no longer than a record may be */
		return;
	memcpy(inner, data + 9, content);
	inner[content] = type;
	memset(inner + content + 1, 0, pad);
	n = content + 1 + pad;
	len = seal_by_hand(alg, inner, n, rec);
	if (flip)
		rec[pos % len] ^= (uint8_t)(1u << (pos >> 13 & 7));
	cut = cut < len ? cut : len;
	set(&d, alg);
	r = tls13_open(&d, rec, cut, out, sizeof(out), &used, &plain);
	if (used > cut || plain > 16384 || (r != TLS13_DATA && (plain || d.seq != SEQ)))
		abort();
	if (flip && pos % len != 3 && pos % len != 4) {
		if (r == TLS13_DATA) /* a forgery opened */
			abort();
	} else if (!flip && n > TLS13_MAX_INNER && cut >= 5) {
		if (r != TLS13_OVERFLOW || used != 5) /* too long an inner plaintext */
			abort();
	} else if (!flip && cut < len) {
		if (r != TLS13_NEED_INPUT)
			abort();
	} else if (!flip && type) {
		/* (With type 0 the inner type is the content's last non-zero byte, if any.) */
		bool ours = type == 23 && content <= 16384;

		if (ours != (r == TLS13_DATA) || (ours && (used != len || plain != content ||
							   memcmp(out, data + 9, content) || d.seq != SEQ + 1)))
			abort();
		if (r == TLS13_GNUTLS && used != len)
			abort();
	}
	gnutls_aead_cipher_deinit(d.aead);
}

static void raw_stream(const uint8_t *data, size_t size)
{
	static uint8_t out[16384 + 256];
	struct tls13_dir d = { 0 };
	size_t off = 0, used, plain;

	set(&d, ciphers[size % 3]);
	for (;;) {
		enum tls13_open_result r = tls13_open(&d, data + off, size - off, out, sizeof(out), &used, &plain);

		if (r == TLS13_DATA) /* random bytes that authenticate */
			abort();
		if (r != TLS13_GNUTLS || used == 0 || used > size - off)
			break;
		off += used; /* GnuTLS would refuse it; the walk goes on to test the framing */
	}
	gnutls_aead_cipher_deinit(d.aead);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= 9)
		sealed(data, size);
	raw_stream(data, size);
	return 0;
}
