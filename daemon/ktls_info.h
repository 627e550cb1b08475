/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_KTLS_INFO_H
#define KTUN_KTLS_INFO_H

#include <stdbool.h>
#include <stdint.h>
#include <gnutls/gnutls.h>
#include <linux/tls.h>

#include "ciphers.h"

/* What TLS_TX and TLS_RX take (linux/tls.h), for any cipher in tls_ciphers[]; a row's
 * ktls_size says how much of it the kernel is given. */
union ktls_info {
	struct tls_crypto_info info;
	struct tls12_crypto_info_aes_gcm_128 gcm128;
	struct tls12_crypto_info_aes_gcm_256 gcm256;
	struct tls12_crypto_info_aes_ccm_128 ccm128;
	struct tls12_crypto_info_chacha20_poly1305 chacha;
};

/* Fills *ki from one direction's record state as gnutls_record_get_state() gives it (iv, key,
 * the 8-byte big-endian sequence number), placing each part by c's layout columns. The whole
 * union is zeroed first. Returns 0, or -EPROTO if the key or IV is not the size c and the
 * version call for (or c's struct does not fit the union), leaving *ki untouched. */
int ktls_info_fill(union ktls_info *ki, const struct tls_cipher *c, bool tls13,
		   const gnutls_datum_t *iv, const gnutls_datum_t *key, const uint8_t seq[8]);

#endif
