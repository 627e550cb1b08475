// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>

#include "cert_text.h"
#include "dn_text.h"
#include "peer_cert.h"

static void hex(const unsigned char *b, size_t n, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && at + 3 <= len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%02x", b[i]);
}

/* The first URI or DNS SAN, in the certificate's order, escaped; false if it has neither.
 * Raw bytes, not policy_cert_value's: a name no rule can match (a NUL, a control character)
 * is still what the peer presented, and the log shows it escaped. */
static bool first_san(gnutls_x509_crt_t leaf, char *buf, size_t len)
{
	for (unsigned seq = 0;; seq++) {
		char san[POLICY_VALUE_MAX];
		size_t size = sizeof(san);
		int rc = gnutls_x509_crt_get_subject_alt_name(leaf, seq, san, &size, NULL);

		if (rc == GNUTLS_E_SHORT_MEMORY_BUFFER)
			continue;
		if (rc < 0)
			return false;
		if (rc == GNUTLS_SAN_URI || rc == GNUTLS_SAN_DNSNAME) {
			cert_text_escape(san, size, buf, len);
			return true;
		}
	}
}

static void describe_id(gnutls_x509_crt_t leaf, const struct policy_match *m, struct peer_cert *pc)
{
	dn_text(leaf, pc->id, sizeof(pc->id));
	if (pc->id[0] && strcmp(pc->id, "-"))
		return;
	/* No subject: the name the policy matched is the one the peer was let in as. */
	if (m && m->matched && (m->kind == POLICY_URI || m->kind == POLICY_DNS) && m->value[0]) {
		cert_text_escape(m->value, strlen(m->value), pc->id, sizeof(pc->id));
		return;
	}
	if (!first_san(leaf, pc->id, sizeof(pc->id)))
		snprintf(pc->id, sizeof(pc->id), "-");
}

/* der, when given, is leaf's own encoding: its digest is the fingerprint, and costs a tenth of
 * gnutls_x509_crt_get_fingerprint, which encodes the certificate again first. */
static void describe(gnutls_x509_crt_t leaf, const gnutls_datum_t *der,
		     const struct policy_match *m, struct peer_cert *pc)
{
	unsigned char bin[64];
	gnutls_datum_t dn = { 0 };
	size_t size;

	memset(pc, 0, sizeof(*pc));
	snprintf(pc->id, sizeof(pc->id), "-");
	snprintf(pc->serial, sizeof(pc->serial), "-");
	snprintf(pc->issuer, sizeof(pc->issuer), "-");
	snprintf(pc->sha256, sizeof(pc->sha256), "-");
	if (!leaf)
		return;
	pc->present = true;
	describe_id(leaf, m, pc);
	size = sizeof(bin);
	if (gnutls_x509_crt_get_serial(leaf, bin, &size) == 0) {
		hex(bin, size < PEER_SERIAL_MAX ? size : PEER_SERIAL_MAX, pc->serial, sizeof(pc->serial));
		if (size > PEER_SERIAL_MAX)
			strcat(pc->serial, "...");
	}
	if (gnutls_x509_crt_get_issuer_dn3(leaf, &dn, 0) == 0) {
		/* The issuer is the holder's text too until the chain has verified. */
		cert_text_escape((const char *)dn.data, dn.size, pc->issuer, sizeof(pc->issuer));
		gnutls_free(dn.data);
	}
	size = sizeof(bin);
	if ((der ? gnutls_fingerprint(GNUTLS_DIG_SHA256, der, bin, &size)
		 : gnutls_x509_crt_get_fingerprint(leaf, GNUTLS_DIG_SHA256, bin, &size)) == 0)
		hex(bin, size, pc->sha256, sizeof(pc->sha256));
}

void peer_cert_describe(gnutls_x509_crt_t leaf, const struct policy_match *m,
			struct peer_cert *pc)
{
	describe(leaf, NULL, m, pc);
}

void peer_cert_from_der(const gnutls_datum_t *der, const struct policy_match *m,
			struct peer_cert *pc)
{
	gnutls_x509_crt_t leaf;

	if (!der || gnutls_x509_crt_init(&leaf) < 0) {
		peer_cert_describe(NULL, m, pc);
		return;
	}
	describe(gnutls_x509_crt_import(leaf, der, GNUTLS_X509_FMT_DER) == 0 ? leaf : NULL, der, m,
		 pc);
	gnutls_x509_crt_deinit(leaf);
}

void peer_cert_rule(const struct policy *p, const struct policy_match *m, bool server,
		    const char *server_name, char *buf, size_t len)
{
	const char *prefix = server ? "allow-" : "verify-";
	const struct policy_rule *r;
	char text[POLICY_VALUE_MAX + 32];

	if (!server && !p->n) {
		snprintf(text, sizeof(text), "server-name:%s", server_name);
	} else if (!m || !m->matched || m->rule >= p->n) {
		snprintf(text, sizeof(text), "-");
	} else {
		r = &p->rules[m->rule];
		if (r->kind == POLICY_ALL)
			snprintf(text, sizeof(text), "%sall", prefix);
		else
			snprintf(text, sizeof(text), "%s%s:%s", prefix, policy_kind_name(r->kind), r->value);
	}
	/* The operator's own text, but a '"' in an allow-cn would still end the value. */
	cert_text_escape(text, strlen(text), buf, len);
}
