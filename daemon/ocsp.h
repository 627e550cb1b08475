/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_OCSP_H
#define KTUN_OCSP_H

#include <stdbool.h>
#include <time.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

/* A tunnel's own OCSP response (ocsp-staple): read with the certificate on every (re)load,
 * handed to GnuTLS, which staples it for peers that ask, and watched like a certificate's
 * end: a warning when it is within a day of its nextUpdate, another once it is past it. */

#define OCSP_WARN_SECONDS 86400

struct ocsp_staple {
	char *path;         /* NULL: no ocsp-staple */
	bool stapled;       /* given to GnuTLS; an expired or revoked one is not (GnuTLS refuses it) */
	time_t next_update; /* (time_t)-1: the response has none, so it never goes stale */
	unsigned warned;    /* 1: within a day, 2: expired; main thread only */
};

/* What a response says of the one certificate it is about. */
struct ocsp_facts {
	unsigned cert_status;            /* GNUTLS_OCSP_CERT_GOOD, _REVOKED or _UNKNOWN */
	time_t this_update, next_update; /* next_update (time_t)-1: none */
};

/* Whether der is a successful OCSP response signed by the issuer of creds' own certificate
 * (among cacert and the own chain) or by a responder it delegated to, and, if leaf is given,
 * about leaf. NULL and *f filled, or why not (a static text). */
const char *ocsp_response_check(const gnutls_datum_t *der, gnutls_certificate_credentials_t creds,
				gnutls_x509_crt_t leaf, struct ocsp_facts *f);

/* Reads the DER response at path for the first certificate of creds, whose CA and chain must be
 * loaded. A response for another certificate, one signed by neither the certificate's issuer
 * nor a responder it delegated to, a failed or unparsable one is an error (logged, negative
 * errno); an expired or revoked one is loaded but not stapled, and the log says so. */
int ocsp_staple_load(struct ocsp_staple *s, const char *tunnel, const char *path,
		     gnutls_certificate_credentials_t creds, time_t now);
void ocsp_staple_free(struct ocsp_staple *s);
/* Logs a warning, once each, when the response comes within a day of its nextUpdate and when
 * it is past it. Returns what it logged: 0 nothing, 1 the first, 2 the second. Main thread
 * only. */
unsigned ocsp_staple_check(struct ocsp_staple *s, const char *tunnel, time_t now);
/* When ocsp_staple_check() next has something to say, or (time_t)-1: the main loop checks
 * then, not only hourly, so that a staple going stale is said when it happens. */
time_t ocsp_staple_next_due(const struct ocsp_staple *s);

#endif
