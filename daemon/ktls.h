/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_KTLS_H
#define KTUN_KTLS_H

#include <stdbool.h>
#include <stdint.h>
#include <gnutls/gnutls.h>

/* Kernel TLS: what the running kernel can offload (probed once at start-up) and the key
 * hand-over from a GnuTLS session to a socket. Thread-safe after ktls_probe(). */

struct ktls_support {
	bool ulp;          /* TCP_ULP "tls" exists */
	int ulp_errno;     /* why not, if !ulp */
	uint32_t ciphers;  /* bit per offloadable (version, cipher) pair, see ktls.c */
};

void ktls_probe(struct ktls_support *out);
bool ktls_can_offload(const struct ktls_support *k, gnutls_protocol_t version,
		      gnutls_cipher_algorithm_t cipher);
/* The ciphers (mask over tls_ciphers[]) the kernel offloads in both TLS 1.2 and 1.3. */
unsigned ktls_offload_mask(const struct ktls_support *k);
/* Attaches the tls ULP to an established TCP socket. Returns 0 or a negative errno. */
int ktls_attach(int fd);
/* Installs the session's current keys for one direction (read = RX) on fd, then wipes its
 * own copy (the session keeps its keys until gnutls_deinit; pump_ktls.c frees it once both
 * directions are in). Returns 0 or a negative errno (-EOPNOTSUPP for a cipher the kernel lacks). */
int ktls_install(int fd, gnutls_session_t session, bool read);

#endif
