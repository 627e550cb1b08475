/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_DN_TEXT_H
#define KTUN_DN_TEXT_H

#include <stddef.h>
#include <gnutls/x509.h>

/* A certificate's subject DN (RFC 4514) as text safe between quotes: '"', '\\' and control
 * characters are written as \xHH (cert_text_escape); "-" if it has none; cut to len with
 * "..." at the end if longer. */
void dn_text(gnutls_x509_crt_t crt, char *buf, size_t len);
/* A CRL's issuer DN, likewise. */
void dn_text_crl_issuer(gnutls_x509_crl_t crl, char *buf, size_t len);

#endif
