/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_POLICY_H
#define KTUN_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <gnutls/x509.h>

/* Who may talk to a tunnel. Rules are OR'd: the peer passes if any rule matches. A server
 * tunnel's policy comes from --allow-*, a client tunnel's from --verify-*. */

enum policy_kind {
	POLICY_ALL,
	POLICY_CN,
	POLICY_OU,
	POLICY_DNS,
	POLICY_URI,
	POLICY_FINGERPRINT,
	POLICY_SERIAL,
};

#define POLICY_VALUE_MAX 512
#define POLICY_BIN_MAX 32

struct policy_rule {
	enum policy_kind kind;
	char value[POLICY_VALUE_MAX];    /* text rules */
	uint8_t bin[POLICY_BIN_MAX];     /* fingerprint or serial, decoded */
	size_t bin_len;
	char issuer[POLICY_VALUE_MAX];   /* serial: the issuer's DN, as GnuTLS writes it */
};

struct policy {
	struct policy_rule *rules;
	size_t n;
};

/* Looks up the kind named by an option suffix ("cn", "uri", ...); -1 if unknown. */
int policy_kind_parse(const char *name);
const char *policy_kind_name(enum policy_kind kind);
/* Adds a rule after validating its value; returns 0 or -EINVAL/-ENOMEM with err filled. */
int policy_add(struct policy *p, enum policy_kind kind, const char *value, char *err, size_t errlen);
int policy_copy(struct policy *dst, const struct policy *src);
void policy_free(struct policy *p);
/* What let a certificate through: the kind of the first rule that matched and, for a cn,
 * ou, dns or uri rule, the certificate's value it matched. */
struct policy_match {
	bool matched;
	enum policy_kind kind;
	size_t rule; /* its index in the policy, for the audit line (peer_cert_rule) */
	char value[POLICY_VALUE_MAX];
};

bool policy_matches(const struct policy *p, gnutls_x509_crt_t crt);
/* policy_matches, saying which rule and value matched in *m. */
bool policy_match(const struct policy *p, gnutls_x509_crt_t crt, struct policy_match *m);
/* The certificate's value of a text kind (cn, uri) that names the peer to others (the PROXY v2
 * header): the value the matching rule matched if it was of that kind, else the certificate's
 * only clean value of that kind; "" if it has none or several. m may be NULL (no match). */
void policy_identity(gnutls_x509_crt_t crt, const struct policy_match *m, enum policy_kind kind,
		     char buf[POLICY_VALUE_MAX]);
/* The certificate's next value of a text kind (cn, ou, dns, uri), from *seq on (start at 0),
 * as a C string: 0; -EINVAL for a value no rule can match (too long, or holding a NUL or
 * another control character: cert_text.h); -ENOENT after the last. */
int policy_cert_value(gnutls_x509_crt_t crt, enum policy_kind kind, unsigned *seq,
		      char buf[POLICY_VALUE_MAX]);
/* A pattern without '*' matches exactly itself. With '*' (a spiffe:// pattern, policy_add
 * refuses others) it matches only a valid SPIFFE ID (policy_spiffe_id), each '*' standing for
 * any run, possibly empty, of the path characters [A-Za-z0-9._-] within one segment: never
 * '/', '%', '?', '#', and never a whole "", "." or ".." segment. */
bool policy_uri_match(const char *pattern, const char *uri);
/* Whether uri is a SPIFFE ID: spiffe://, trust domain [a-z0-9._-], segments [A-Za-z0-9._-]
 * not empty, "." or "..". */
bool policy_spiffe_id(const char *uri);

#endif
