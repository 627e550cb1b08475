// SPDX-License-Identifier: GPL-2.0-only
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <gnutls/x509.h>

#include "reload_diff.h"
#include "tunnel_ctx.h"

static bool same_cert(const struct cert_expiry *a, const struct cert_expiry *b)
{
	return !strcmp(a->role, b->role) && !strcmp(a->serial, b->serial) &&
	       !strcmp(a->subject, b->subject) && a->not_after == b->not_after;
}

/* Whether the certificates of one role ("own" with "own-chain", or "ca") are the same, in
 * the same order. */
static bool same_role(const struct expiry_set *a, const struct expiry_set *b, bool own)
{
	size_t i = 0, j = 0;

	for (;;) {
		while (i < a->n && (a->certs[i].role[0] == 'o') != own)
			i++;
		while (j < b->n && (b->certs[j].role[0] == 'o') != own)
			j++;
		if (i == a->n || j == b->n)
			return i == a->n && j == b->n;
		if (!same_cert(&a->certs[i++], &b->certs[j++]))
			return false;
	}
}

/* The leaf's public key ID: the key pair the credentials hold (GnuTLS checks they match). */
static size_t key_id(gnutls_certificate_credentials_t creds, unsigned char id[64])
{
	gnutls_datum_t raw;
	gnutls_x509_crt_t crt;
	size_t size = 64;

	if (gnutls_certificate_get_crt_raw(creds, 0, 0, &raw) < 0 || gnutls_x509_crt_init(&crt) < 0)
		return 0;
	if (gnutls_x509_crt_import(crt, &raw, GNUTLS_X509_FMT_DER) < 0 ||
	    gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, id, &size) < 0)
		size = 0;
	gnutls_x509_crt_deinit(crt);
	return size;
}

static bool same_crls(const struct crl_set *a, const struct crl_set *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->crls[i].issuer, b->crls[i].issuer) ||
		    a->crls[i].next_update != b->crls[i].next_update)
			return false;
	return true;
}

static void add(char *buf, size_t len, size_t *at, const char *what)
{
	if (*at < len)
		*at += (size_t)snprintf(buf + *at, len - *at, "%s%s", *at ? ", " : "", what);
}

/* Targets a reload adds start up, with no failures: the others keep their health. */
static void fresh_targets(const struct tunnel_ctx *old, const struct tunnel_ctx *new, char *buf,
			  size_t len, size_t at)
{
	size_t added = new->targets.n - target_set_common(&new->targets, &old->targets);

	if (added && at < len)
		snprintf(buf + at, len - at, "; health reset for %zu new target address%s", added,
			 added == 1 ? "" : "es");
}

void reload_diff(const struct tunnel_ctx *old, const struct tunnel_ctx *new, char *buf, size_t len)
{
	unsigned char a[64], b[64];
	size_t na = key_id(old->creds, a), nb = key_id(new->creds, b), at = 0;
	char text[160];

	buf[0] = '\0';
	if (!same_role(&old->expiry, &new->expiry, true)) {
		struct tm tm;
		time_t t = new->expiry.n ? new->expiry.certs[0].not_after : 0;

		gmtime_r(&t, &tm);
		snprintf(text, sizeof(text), "cert serial=%s->%s not_after=%04d-%02d-%02dT%02d:%02d:%02dZ",
			 old->expiry.n ? old->expiry.certs[0].serial : "-",
			 new->expiry.n ? new->expiry.certs[0].serial : "-", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		add(buf, len, &at, text);
	}
	if (na != nb || memcmp(a, b, na))
		add(buf, len, &at, "key");
	if (!same_role(&old->expiry, &new->expiry, false))
		add(buf, len, &at, "ca");
	if (!same_crls(&old->crl, &new->crl))
		add(buf, len, &at, "crl");
	if ((old->ocsp.path == NULL) != (new->ocsp.path == NULL) ||
	    old->ocsp.next_update != new->ocsp.next_update || old->ocsp.stapled != new->ocsp.stapled)
		add(buf, len, &at, "ocsp-staple");
	if (!target_set_same(&old->targets, &new->targets))
		add(buf, len, &at, "target");
	if (old->targets.failover != new->targets.failover ||
	    old->targets.backoff_ms != new->targets.backoff_ms)
		add(buf, len, &at, "failover");
	/* A generated ticket key is carried over after this (daemon.c): only a file's counts. */
	if ((old->ticket.from_file || new->ticket.from_file) &&
	    (old->ticket.from_file != new->ticket.from_file ||
	     memcmp(old->ticket.key, new->ticket.key, TICKET_KEY_SIZE)))
		add(buf, len, &at, "ticket-key");
	if (at < len)
		at += (size_t)snprintf(buf + at, len - at, "%s", at ? " changed" : "nothing changed");
	fresh_targets(old, new, buf, len, at);
}

static bool same_policy(const struct policy *a, const struct policy *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct policy_rule *x = &a->rules[i], *y = &b->rules[i];

		if (x->kind != y->kind || strcmp(x->value, y->value) || strcmp(x->issuer, y->issuer) ||
		    x->bin_len != y->bin_len || memcmp(x->bin, y->bin, x->bin_len))
			return false;
	}
	return true;
}

bool reload_keeps_tickets(const struct tunnel_ctx *old, const struct tunnel_ctx *new)
{
	unsigned char a[64], b[64];
	size_t na = key_id(old->creds, a), nb = key_id(new->creds, b);

	return na && na == nb && !memcmp(a, b, na) && same_role(&old->expiry, &new->expiry, true) &&
	       same_role(&old->expiry, &new->expiry, false) &&
	       !strcmp(old->ticket_identity, new->ticket_identity) &&
	       target_set_same(&old->targets, &new->targets) &&
	       same_policy(&old->policy, &new->policy);
}
