// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>

#include "ktls_info.h"

int ktls_info_fill(union ktls_info *ki, const struct tls_cipher *c, bool tls13,
		   const gnutls_datum_t *iv, const gnutls_datum_t *key, const uint8_t seq[8])
{
	uint8_t *base = (uint8_t *)ki;
	bool explicit_nonce = !tls13 && c->salt_len; /* TLS 1.2 GCM/CCM: the IV is the salt only */

	/* The layouts live in ciphers.c, away from this union: a row it cannot hold is refused. */
	if (c->ktls_size > sizeof(*ki) || key->size != c->key_len ||
	    iv->size != (explicit_nonce ? c->salt_len : c->salt_len + c->iv_len))
		return -EPROTO;
	memset(ki, 0, sizeof(*ki));
	ki->info.version = tls13 ? TLS_1_3_VERSION : TLS_1_2_VERSION;
	ki->info.cipher_type = c->ktls_type;
	memcpy(base + c->salt_off, iv->data, c->salt_len);
	if (explicit_nonce)
		memcpy(base + c->iv_off, seq, c->iv_len);
	else
		memcpy(base + c->iv_off, iv->data + c->salt_len, c->iv_len);
	memcpy(base + c->key_off, key->data, c->key_len);
	memcpy(base + c->seq_off, seq, 8);
	return 0;
}
