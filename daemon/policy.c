// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <gnutls/gnutls.h>

#include "cert_text.h"
#include "policy.h"

static const char *const kind_names[] = {
	[POLICY_ALL] = "all", [POLICY_CN] = "cn", [POLICY_OU] = "ou", [POLICY_DNS] = "dns",
	[POLICY_URI] = "uri", [POLICY_FINGERPRINT] = "fingerprint", [POLICY_SERIAL] = "serial",
};

int policy_kind_parse(const char *name)
{
	for (unsigned i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (!strcmp(name, kind_names[i]))
			return (int)i;
	return -1;
}

const char *policy_kind_name(enum policy_kind kind)
{
	return kind_names[kind];
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes hex with optional ':' separators. Returns the byte count or -1. */
static ssize_t hex_decode(const char *hex, uint8_t *out, size_t max)
{
	size_t n = 0;
	int hi = -1;

	for (; *hex; hex++) {
		int v;

		if (*hex == ':' && hi < 0)
			continue;
		v = hex_value(*hex);
		if (v < 0)
			return -1;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n == max)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	return hi < 0 ? (ssize_t)n : -1;
}

/* Serials compare as integers: leading zero bytes (DER sign padding) do not count. */
static void strip_leading_zeros(const uint8_t **p, size_t *len)
{
	while (*len > 1 && **p == 0) {
		(*p)++;
		(*len)--;
	}
}

/* An issuer DN as the operator wrote it (RFC 4514), in the form GnuTLS writes a
 * certificate's issuer, so the two compare as text. */
static int canonical_dn(const char *text, char *out, size_t outlen, char *err, size_t errlen)
{
	gnutls_x509_dn_t dn;
	gnutls_datum_t str = { 0 };
	const char *where = NULL;
	int rc;

	if (gnutls_x509_dn_init(&dn) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = gnutls_x509_dn_set_str(dn, text, &where);
	if (rc >= 0)
		rc = gnutls_x509_dn_get_str2(dn, &str, 0);
	gnutls_x509_dn_deinit(dn);
	if (rc < 0 || !str.size || str.size >= outlen) {
		snprintf(err, errlen, "issuer '%.64s' is not a distinguished name (RFC 4514, "
			 "e.g. CN=Example CA,O=Example)%s%.32s", text, where ? " near " : "",
			 where ? where : "");
		gnutls_free(str.data);
		return -EINVAL;
	}
	memcpy(out, str.data, str.size);
	out[str.size] = '\0';
	gnutls_free(str.data);
	return 0;
}

/* ISSUER-DN/SERIAL: a serial number is unique only among one issuer's certificates, so a
 * bare one would admit any CA's certificate that happens to carry it. */
static int parse_serial_rule(struct policy_rule *r, const char *value, const char **serial,
			     char *err, size_t errlen)
{
	const char *slash = strrchr(value, '/');
	char issuer[POLICY_VALUE_MAX];

	if (!slash || slash == value) {
		snprintf(err, errlen, "serial needs its issuer: ISSUER-DN/HEX, e.g. "
			 "'CN=Example CA,O=Example/1a:2b' (a serial is unique only per issuer)");
		return -EINVAL;
	}
	snprintf(issuer, sizeof(issuer), "%.*s", (int)(slash - value), value);
	*serial = slash + 1;
	return canonical_dn(issuer, r->issuer, sizeof(r->issuer), err, errlen);
}

static int parse_binary_rule(struct policy_rule *r, const char *value, char *err, size_t errlen)
{
	ssize_t n;

	if (r->kind == POLICY_FINGERPRINT) {
		if (strncasecmp(value, "sha256:", 7)) {
			snprintf(err, errlen, "fingerprint must be sha256:HEX");
			return -EINVAL;
		}
		n = hex_decode(value + 7, r->bin, sizeof(r->bin));
		if (n != 32) {
			snprintf(err, errlen, "sha256 fingerprint must be 32 bytes of hex");
			return -EINVAL;
		}
	} else {
		char padded[POLICY_VALUE_MAX + 1];
		int rc = parse_serial_rule(r, value, &value, err, errlen);

		if (rc < 0)
			return rc;
		if (!strncasecmp(value, "0x", 2))
			value += 2;
		/* An integer: "0x100" is 01 00, not an error. */
		if (strlen(value) % 2 && !strchr(value, ':')) {
			snprintf(padded, sizeof(padded), "0%s", value);
			value = padded;
		}
		n = hex_decode(value, r->bin, sizeof(r->bin));
		if (n <= 0) {
			snprintf(err, errlen, "serial must be hex, at most %d bytes", POLICY_BIN_MAX);
			return -EINVAL;
		}
	}
	r->bin_len = (size_t)n;
	return 0;
}

static bool spiffe_domain_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

static bool spiffe_path_char(char c)
{
	return spiffe_domain_char(c) || (c >= 'A' && c <= 'Z');
}

/* The SPIFFE ID format (github.com/spiffe/spiffe, standards/SPIFFE-ID.md): "spiffe://", a
 * trust domain of [a-z0-9._-], then "/"-led path segments of [A-Za-z0-9._-], none empty,
 * "." or "..": no percent-encoding, query, fragment, port, user info or trailing '/'. With
 * star, '*' is a path character too (a pattern). */
static bool spiffe_id_valid(const char *s, bool star)
{
	const char *start;
	size_t len;

	if (strncmp(s, "spiffe://", 9))
		return false;
	for (start = s += 9; spiffe_domain_char(*s); s++)
		;
	if (s == start || s - start > 255)
		return false;
	while (*s == '/') {
		for (start = ++s; spiffe_path_char(*s) || (star && *s == '*'); s++)
			;
		len = (size_t)(s - start);
		if (!len || (len <= 2 && !strncmp(start, "..", len)))
			return false; /* "", "." or ".." */
	}
	return !*s;
}

bool policy_spiffe_id(const char *uri)
{
	return spiffe_id_valid(uri, false);
}

/* A spiffe:// pattern must be a SPIFFE ID with '*' only in its path; '*' means nothing in
 * any other URI, so those are exact. Refused otherwise: a rule that cannot mean what it says
 * must not quietly match something else. */
static int check_uri_rule(const char *value, char *err, size_t errlen)
{
	const char *star = strchr(value, '*');

	if (!strncmp(value, "spiffe://", 9)) {
		const char *path = strchr(value + 9, '/');

		if (spiffe_id_valid(value, true) && (!star || (path && star > path)))
			return 0;
		snprintf(err, errlen, "not a SPIFFE ID: spiffe://TRUST-DOMAIN[/SEGMENT]..., trust "
			 "domain [a-z0-9._-], segments [A-Za-z0-9._-] (not empty, '.' or '..'), "
			 "'*' only within path segments");
		return -EINVAL;
	}
	if (star) {
		snprintf(err, errlen, "'*' is only allowed in the path of a spiffe:// pattern");
		return -EINVAL;
	}
	return 0;
}

int policy_add(struct policy *p, enum policy_kind kind, const char *value, char *err, size_t errlen)
{
	struct policy_rule rule = { .kind = kind }, *grown;
	int rc;

	if (kind != POLICY_ALL) {
		if (!*value || strlen(value) >= sizeof(rule.value)) {
			snprintf(err, errlen, "value must be 1-%zu characters", sizeof(rule.value) - 1);
			return -EINVAL;
		}
		/* The certificate's values with control characters never match: nor may a rule's. */
		if (!cert_text_clean(value, strlen(value))) {
			snprintf(err, errlen, "value must not hold control characters");
			return -EINVAL;
		}
		strcpy(rule.value, value);
	}
	if (kind == POLICY_FINGERPRINT || kind == POLICY_SERIAL) {
		rc = parse_binary_rule(&rule, value, err, errlen);
		if (rc < 0)
			return rc;
	}
	if (kind == POLICY_URI) {
		rc = check_uri_rule(value, err, errlen);
		if (rc < 0)
			return rc;
	}
	grown = realloc(p->rules, (p->n + 1) * sizeof(*p->rules));
	if (!grown) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	p->rules = grown;
	p->rules[p->n++] = rule;
	return 0;
}

int policy_copy(struct policy *dst, const struct policy *src)
{
	dst->n = 0;
	dst->rules = NULL;
	if (!src->n)
		return 0;
	dst->rules = malloc(src->n * sizeof(*src->rules));
	if (!dst->rules)
		return -ENOMEM;
	memcpy(dst->rules, src->rules, src->n * sizeof(*src->rules));
	dst->n = src->n;
	return 0;
}

void policy_free(struct policy *p)
{
	free(p->rules);
	p->rules = NULL;
	p->n = 0;
}

/* Linear in space, at most len(pattern) * len(uri) steps: trying every split for every '*'
 * took exponential time (6 stars against a 200-character segment of a peer's URI kept a
 * worker busy for minutes). On a mismatch only the last '*' seen takes one more character:
 * since no '*' crosses a '/', the segments of pattern and URI pair up one to one, an earlier
 * '*' of the same segment gains nothing the last one cannot, and one of an earlier segment
 * is pinned by the '/' after it. */
bool policy_uri_match(const char *pattern, const char *uri)
{
	const char *star = NULL, *star_uri = NULL;

	if (!strchr(pattern, '*'))
		return !strcmp(pattern, uri);
	/* "..", "%2F", "?" or an empty segment: not a SPIFFE ID, so no '*' may stand for them. */
	if (!spiffe_id_valid(uri, false))
		return false;
	while (*uri) {
		if (*pattern == '*') {
			star = pattern++;
			star_uri = uri;
		} else if (*pattern == *uri) {
			pattern++;
			uri++;
		} else if (star && spiffe_path_char(*star_uri)) {
			pattern = star + 1;
			uri = ++star_uri;
		} else {
			return false;
		}
	}
	while (*pattern == '*')
		pattern++;
	return !*pattern;
}

/* The next value of a text kind (cn, ou, dns, uri) at or after *seq, in buf with its NUL:
 * 0; -EINVAL for one that can match nothing (longer than any rule, or not clean text);
 * -ENOENT past the last one (or on an error, which would repeat). */
int policy_cert_value(gnutls_x509_crt_t crt, enum policy_kind kind, unsigned *seq,
		      char buf[POLICY_VALUE_MAX])
{
	const char *oid = kind == POLICY_CN ? GNUTLS_OID_X520_COMMON_NAME
					    : GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME;
	int want = kind == POLICY_DNS ? GNUTLS_SAN_DNSNAME : GNUTLS_SAN_URI;

	for (;;) {
		size_t size = POLICY_VALUE_MAX - 1;
		int rc;

		if (kind == POLICY_CN || kind == POLICY_OU)
			rc = gnutls_x509_crt_get_dn_by_oid(crt, oid, (*seq)++, 0, buf, &size);
		else
			rc = gnutls_x509_crt_get_subject_alt_name(crt, (*seq)++, buf, &size, NULL);
		if (rc == GNUTLS_E_SHORT_MEMORY_BUFFER)
			return -EINVAL;
		if (rc < 0)
			return -ENOENT;
		if (kind != POLICY_CN && kind != POLICY_OU && rc != want)
			continue;
		buf[size] = '\0';
		/* GnuTLS gives a DN value it cannot give as UTF-8 text (one with a NUL, a
		 * TeletexString with 8-bit bytes, a UniversalString) as '#' and its DER in hex,
		 * RFC 4514-escaped as "\#" where it escapes: not the holder's name either. */
		if (!cert_text_clean(buf, size) ||
		    ((kind == POLICY_CN || kind == POLICY_OU) &&
		     (buf[0] == '#' || !strncmp(buf, "\\#", 2))))
			return -EINVAL;
		return 0;
	}
}

static bool text_matches(gnutls_x509_crt_t crt, const struct policy_rule *r,
			 struct policy_match *m)
{
	char buf[POLICY_VALUE_MAX];
	unsigned seq = 0;
	int rc;

	while ((rc = policy_cert_value(crt, r->kind, &seq, buf)) != -ENOENT) {
		if (rc < 0)
			continue;
		if (r->kind == POLICY_DNS ? !strcasecmp(buf, r->value)
		    : r->kind == POLICY_URI ? policy_uri_match(r->value, buf)
					    : !strcmp(buf, r->value)) {
			strcpy(m->value, buf);
			return true;
		}
	}
	return false;
}

/* The leaf's issuer, which the chain check has tied to a trusted CA by then. */
static bool issuer_matches(gnutls_x509_crt_t crt, const char *want)
{
	gnutls_datum_t dn = { 0 };
	bool ok;

	if (gnutls_x509_crt_get_issuer_dn3(crt, &dn, 0) < 0)
		return false;
	ok = dn.size == strlen(want) && !memcmp(dn.data, want, dn.size);
	gnutls_free(dn.data);
	return ok;
}

static bool binary_matches(gnutls_x509_crt_t crt, const struct policy_rule *r)
{
	uint8_t buf[64];
	size_t size = sizeof(buf);
	const uint8_t *have = buf, *want = r->bin;
	size_t want_len = r->bin_len;

	if (r->kind == POLICY_FINGERPRINT) {
		if (gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, buf, &size) < 0)
			return false;
		return size == want_len && !memcmp(buf, want, size);
	}
	if (gnutls_x509_crt_get_serial(crt, buf, &size) < 0)
		return false;
	strip_leading_zeros(&have, &size);
	strip_leading_zeros(&want, &want_len);
	return size == want_len && !memcmp(have, want, size) && issuer_matches(crt, r->issuer);
}

static bool rule_matches(const struct policy_rule *r, gnutls_x509_crt_t crt,
			 struct policy_match *m)
{
	m->value[0] = '\0';
	switch (r->kind) {
	case POLICY_ALL:
		return true;
	case POLICY_CN:
	case POLICY_OU:
	case POLICY_DNS:
	case POLICY_URI:
		return text_matches(crt, r, m);
	case POLICY_FINGERPRINT:
	case POLICY_SERIAL:
		return binary_matches(crt, r);
	}
	return false;
}

bool policy_match(const struct policy *p, gnutls_x509_crt_t crt, struct policy_match *m)
{
	m->matched = false;
	for (size_t i = 0; i < p->n; i++) {
		if (rule_matches(&p->rules[i], crt, m)) {
			m->matched = true;
			m->kind = p->rules[i].kind;
			m->rule = i;
			return true;
		}
	}
	m->value[0] = '\0';
	return false;
}

bool policy_matches(const struct policy *p, gnutls_x509_crt_t crt)
{
	struct policy_match m;

	return policy_match(p, crt, &m);
}

void policy_identity(gnutls_x509_crt_t crt, const struct policy_match *m, enum policy_kind kind,
		     char buf[POLICY_VALUE_MAX])
{
	char next[POLICY_VALUE_MAX];
	unsigned seq = 0;

	if (m && m->matched && m->kind == kind) {
		strcpy(buf, m->value);
		return;
	}
	/* Of several, naming the first would tell the origin one the policy did not choose
	 * (CNs "admin" and "edge-client", let in by its OU): none is the only honest answer. */
	if (policy_cert_value(crt, kind, &seq, buf) < 0 ||
	    policy_cert_value(crt, kind, &seq, next) != -ENOENT)
		buf[0] = '\0';
}
