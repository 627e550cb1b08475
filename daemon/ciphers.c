// SPDX-License-Identifier: GPL-2.0-only
#include <stddef.h>
#include <linux/tls.h>

#include "ciphers.h"

/* All four kernel structs share one layout rule: info, iv, key, salt, rec_seq, with sizes
 * from linux/tls.h. */
#define TLS_CIPHER(name, g, k, type, prefix)                                               \
	{ name, g, k, sizeof(struct type), offsetof(struct type, iv),                          \
	  offsetof(struct type, key), offsetof(struct type, salt),                             \
	  offsetof(struct type, rec_seq), prefix##_IV_SIZE, prefix##_KEY_SIZE,                  \
	  prefix##_SALT_SIZE }

const struct tls_cipher tls_ciphers[] = {
	TLS_CIPHER("AES-128-GCM", GNUTLS_CIPHER_AES_128_GCM, TLS_CIPHER_AES_GCM_128,
		   tls12_crypto_info_aes_gcm_128, TLS_CIPHER_AES_GCM_128),
	TLS_CIPHER("AES-256-GCM", GNUTLS_CIPHER_AES_256_GCM, TLS_CIPHER_AES_GCM_256,
		   tls12_crypto_info_aes_gcm_256, TLS_CIPHER_AES_GCM_256),
	TLS_CIPHER("CHACHA20-POLY1305", GNUTLS_CIPHER_CHACHA20_POLY1305,
		   TLS_CIPHER_CHACHA20_POLY1305, tls12_crypto_info_chacha20_poly1305,
		   TLS_CIPHER_CHACHA20_POLY1305),
	TLS_CIPHER("AES-128-CCM", GNUTLS_CIPHER_AES_128_CCM, TLS_CIPHER_AES_CCM_128,
		   tls12_crypto_info_aes_ccm_128, TLS_CIPHER_AES_CCM_128),
};

/* Other files see only the declaration (no sizeof): the count they use must be this one. */
_Static_assert(sizeof(tls_ciphers) / sizeof(tls_ciphers[0]) == TLS_CIPHERS_N,
	       "TLS_CIPHERS_N is not tls_ciphers[]'s length");
