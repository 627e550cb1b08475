/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_EXPIRY_H
#define KTUN_EXPIRY_H

#include <stddef.h>
#include <time.h>
#include <gnutls/gnutls.h>

/* When the certificates a tunnel presents and trusts stop being valid: for metrics, and for
 * warnings as each configured threshold (30, 7, 1 days by default) is crossed. */

#define EXPIRY_THRESHOLDS_MAX 8

struct cert_expiry {
	/* "own" (the leaf we present), "own-chain" (an intermediate we send with it: peers
	 * refuse the leaf once it ends too) or "ca" (one of cacert's) */
	const char *role;
	char subject[160];  /* subject DN, quotes and control bytes escaped (dn_text) */
	char serial[44];    /* lowercase hex, as certtool -i prints it; "-" if unreadable */
	time_t not_after;
	unsigned warned;    /* thresholds already warned about; main thread only */
};

struct expiry_set {
	struct cert_expiry *certs;
	size_t n;
};

/* Reads the own leaf and the chain sent with it from creds (certs[0] is the leaf, the chain
 * follows) and every certificate of the CA bundle at cacert. Returns 0 or
 * a negative errno (logged). */
int expiry_load(struct expiry_set *set, const char *tunnel, gnutls_certificate_credentials_t creds,
		const char *cacert);
void expiry_free(struct expiry_set *set);
/* Warns, once per threshold, about each certificate that is within days[i] of its end (or
 * past it). days: descending, n_days of them. Returns how many warnings it logged. Main
 * thread only. */
unsigned expiry_check(struct expiry_set *set, const char *tunnel, time_t now, const unsigned *days,
		  size_t n_days);
/* When expiry_check() next has something to say (the next threshold or end of a certificate),
 * or (time_t)-1: so that "has expired" is said when it happens, not at the next hourly check. */
time_t expiry_next_due(const struct expiry_set *set, const unsigned *days, size_t n_days);

#endif
