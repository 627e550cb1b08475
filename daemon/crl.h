/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_CRL_H
#define KTUN_CRL_H

#include <stdbool.h>
#include <time.h>
#include <gnutls/gnutls.h>

/* A tunnel's CRLs (crl): read on every (re)load, each one's signature verified against the
 * CAs ktund trusts (ca_pool.h) before GnuTLS gets them, and watched for their nextUpdate: a
 * CRL past it still revokes what it lists but no longer says what was revoked since, so it
 * is warned about once and, with crl-stale = refuse, the peers of its issuer are refused. */

struct crl_info {
	gnutls_datum_t issuer_dn; /* raw DER: matched against the issuers in a peer's chain */
	char issuer[160];         /* as text, safe in logs and labels */
	time_t next_update;       /* (time_t)-1: none, never stale */
	bool warned;              /* its staleness was logged; main thread only */
};

struct crl_set {
	char *path;         /* NULL: no crl */
	struct crl_info *crls;
	size_t n;
	bool refuse_stale;  /* crl-stale = refuse */
};

/* Reads the PEM CRLs at path, refuses any that is not signed by a CA of creds' trust list, of
 * its own chain or carried in the file (logged, -EINVAL), and adds them to creds. Besides its
 * "X509 CRL" blocks the file may hold "CERTIFICATE" blocks, in any order: the CAs that issued
 * the CRLs, each of which must chain to the trust list (through the others or the own chain);
 * they are used to check the CRLs only, never added to creds. Text outside the blocks is
 * ignored; a block of another kind or cut short is refused. creds must have the CA and the own
 * certificate loaded. */
int crl_load(struct crl_set *s, const char *tunnel, const char *path, bool refuse_stale,
	     gnutls_certificate_credentials_t creds);
void crl_free(struct crl_set *s);
/* Logs a warning, once per CRL, when one is past its nextUpdate. Returns how many it logged.
 * Main thread only. */
unsigned crl_check(struct crl_set *s, const char *tunnel, time_t now);
/* When crl_check() next has something to say: the earliest nextUpdate not yet warned about,
 * or (time_t)-1. */
time_t crl_next_due(const struct crl_set *s);
/* With crl-stale = refuse: the stale CRL whose issuer issued one of the peer's certificates
 * (DER, as received), or NULL. Any thread: reads only what the load set. */
const struct crl_info *crl_stale_for_peer(const struct crl_set *s, const gnutls_datum_t *chain,
					  unsigned n, time_t now);

#endif
