/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_CIPHERS_H
#define KTUN_CIPHERS_H

#include <stddef.h>
#include <stdint.h>
#include <gnutls/gnutls.h>

/* The AEAD ciphers ktund offers, in preference order: one table (ciphers.c) that
 * configuration, priorities and kernel TLS share. A cipher set is a bit mask over it
 * (bit i = tls_ciphers[i]); ktls.c's support bits are indexed by it too. */
struct tls_cipher {
	const char *name; /* as in GnuTLS priority strings and the `ciphers` option */
	gnutls_cipher_algorithm_t alg;
	/* Kernel TLS: linux/tls.h's cipher type, and where each field lives in its
	 * tls12_crypto_info_* struct (size bytes; offsets and lengths of iv, key, salt, rec_seq). */
	uint16_t ktls_type;
	size_t ktls_size, iv_off, key_off, salt_off, seq_off;
	size_t iv_len, key_len, salt_len;
};

extern const struct tls_cipher tls_ciphers[];

#define TLS_CIPHERS_N ((size_t)4) /* tls_ciphers[]'s length; ciphers.c checks it */
#define TLS_CIPHERS_ALL ((1u << TLS_CIPHERS_N) - 1)

#endif
