/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_CIPHERS_H
#define KTUN_CIPHERS_H

#include <gnutls/gnutls.h>

/* The AEAD ciphers ktund offers, in preference order. A cipher set is a bit mask over this
 * table (bit i = tls_ciphers[i]); configuration, priorities and the kTLS probe share it. */
static const struct tls_cipher {
	const char *name; /* as in GnuTLS priority strings and the `ciphers` option */
	gnutls_cipher_algorithm_t alg;
} tls_ciphers[] = {
	{ "AES-128-GCM", GNUTLS_CIPHER_AES_128_GCM },
	{ "AES-256-GCM", GNUTLS_CIPHER_AES_256_GCM },
	{ "CHACHA20-POLY1305", GNUTLS_CIPHER_CHACHA20_POLY1305 },
	{ "AES-128-CCM", GNUTLS_CIPHER_AES_128_CCM },
};

#define TLS_CIPHERS_N (sizeof(tls_ciphers) / sizeof(tls_ciphers[0]))
#define TLS_CIPHERS_ALL ((1u << TLS_CIPHERS_N) - 1)

#endif
