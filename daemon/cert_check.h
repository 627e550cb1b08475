/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_CERT_CHECK_H
#define KTUN_CERT_CHECK_H

#include <stdbool.h>
#include <time.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "config.h"

/* What a tunnel's CA bundle and own certificate must be for its peers to take them, checked
 * as they are loaded (start, --check, reload). Each mistake would otherwise load fine and
 * then fail every handshake, with the blame on the peer. Errors are logged with the --config
 * FILE:LINE of the option and what to do; they return -EINVAL. */

/* cacert (its PEM text) holds at least one certificate that can issue: basicConstraints
 * CA:TRUE, or self-issued (a v1 root, or a pinned self-signed peer, which GnuTLS accepts). */
int cert_check_ca(const struct tunnel_config *cfg, const gnutls_datum_t *pem);
/* The own leaf in creds is valid at now, an end-entity certificate, and issued for the
 * tunnel's role: serverAuth in server mode, clientAuth in client mode, as ktund's peers
 * require (verify.c), and a key usage, if it has one, that allows signing the handshake. */
int cert_check_own(const struct tunnel_config *cfg, gnutls_certificate_credentials_t creds,
		   time_t now);
/* True if crt's extended key usage lists oid. anyExtendedKeyUsage does not count, and
 * neither does a certificate without the extension: RFC 5280 lets both stand for any purpose
 * (GnuTLS's purpose check accepts them), but a tunnel's peer must be issued for its role. */
bool cert_check_purpose(gnutls_x509_crt_t crt, const char *oid);

#endif
