// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/ocsp.h>

#include "ca_pool.h"
#include "file_read.h"
#include "log.h"
#include "ocsp.h"

static const struct {
	unsigned bit;
	const char *text;
} signer_problems[] = {
	{ GNUTLS_OCSP_VERIFY_SIGNER_NOT_FOUND, "its signer's certificate is not in the response" },
	{ GNUTLS_OCSP_VERIFY_SIGNER_KEYUSAGE_ERROR,
	  "its signer was not delegated by the issuer (no OCSP signing purpose)" },
	{ GNUTLS_OCSP_VERIFY_UNTRUSTED_SIGNER, "its signer is neither the issuer nor delegated by it" },
	{ GNUTLS_OCSP_VERIFY_INSECURE_ALGORITHM, "it is signed with an insecure algorithm" },
	{ GNUTLS_OCSP_VERIFY_SIGNATURE_FAILURE, "its signature does not verify" },
	{ GNUTLS_OCSP_VERIFY_CERT_NOT_ACTIVATED, "its signer's certificate is not valid yet" },
	{ GNUTLS_OCSP_VERIFY_CERT_EXPIRED, "its signer's certificate has expired" },
};

/* Peers accept a response signed by the issuer of our certificate or by a responder the
 * issuer delegated to (OCSP signing purpose), and refuse anything else: so must we, or the
 * staple passes --check and every require-ocsp peer refuses the tunnel. The issuer is sought
 * among the CAs ktund trusts (ca_pool.h). Returns 0, or the last problem's text. */
static const char *check_signer(gnutls_ocsp_resp_t resp, gnutls_certificate_credentials_t creds)
{
	const char *why = "the issuer of the certificate is not in cacert nor in the chain of cert";
	struct ca_pool pool;
	unsigned verdict;

	if (ca_pool_build(&pool, creds) < 0)
		return "cannot read the certificates to check it against";
	for (size_t i = 0; i < pool.n; i++) {
		if (gnutls_x509_crt_check_issuer(pool.leaf, pool.certs[i]) != 1)
			continue;
		if (gnutls_ocsp_resp_verify_direct(resp, pool.certs[i], &verdict, 0) < 0)
			verdict = GNUTLS_OCSP_VERIFY_SIGNATURE_FAILURE;
		if (!verdict) {
			why = NULL;
			break;
		}
		why = "it does not verify";
		for (size_t b = 0; b < sizeof(signer_problems) / sizeof(signer_problems[0]); b++)
			if (verdict & signer_problems[b].bit) {
				why = signer_problems[b].text;
				break;
			}
	}
	ca_pool_free(&pool);
	return why;
}

const char *ocsp_response_check(const gnutls_datum_t *der, gnutls_certificate_credentials_t creds,
				gnutls_x509_crt_t leaf, struct ocsp_facts *f)
{
	const char *why = NULL;
	gnutls_ocsp_resp_t resp;
	time_t revoked_at;
	unsigned revocation_reason;
	int rc = gnutls_ocsp_resp_init(&resp);

	if (rc < 0)
		return "out of memory";
	rc = gnutls_ocsp_resp_import2(resp, der, GNUTLS_X509_FMT_DER);
	if (rc == 0 && gnutls_ocsp_resp_get_status(resp) != GNUTLS_OCSP_RESP_SUCCESSFUL)
		rc = GNUTLS_E_OCSP_RESPONSE_ERROR;
	if (rc == 0)
		rc = gnutls_ocsp_resp_get_single(resp, 0, NULL, NULL, NULL, NULL, &f->cert_status,
						 &f->this_update, &f->next_update, &revoked_at,
						 &revocation_reason);
	if (rc < 0)
		why = "not a successful DER OCSP response";
	else if (leaf && gnutls_ocsp_resp_check_crt(resp, 0, leaf) != 0)
		why = "it is about another certificate";
	else
		why = check_signer(resp, creds);
	gnutls_ocsp_resp_deinit(resp);
	return why;
}

/* What ktund needs to know of a response itself: that the responder answered and is one the
 * issuer trusts, what it says of the certificate and when it goes stale. Whether it is for our
 * certificate is GnuTLS's check when it is stapled (and the peer's when it arrives). */
static int parse_response(const char *tunnel, const char *path, const gnutls_datum_t *der,
			  gnutls_certificate_credentials_t creds, unsigned *cert_status,
			  time_t *next_update)
{
	struct ocsp_facts f;
	const char *why = ocsp_response_check(der, creds, NULL, &f);

	if (why) {
		log_err("[%s] ocsp-staple %s is not usable: %s", tunnel, path, why);
		return -EINVAL;
	}
	*cert_status = f.cert_status;
	*next_update = f.next_update;
	return 0;
}

/* GnuTLS refuses a response past its nextUpdate or one that says revoked (and stops sending
 * one that goes stale later). Such a tunnel serves without a staple, as if it had none: its
 * certificate is still what peers judge, and one that requires OCSP says why it refuses. */
static int staple(struct ocsp_staple *s, const char *tunnel, const char *path,
		  gnutls_certificate_credentials_t creds, const gnutls_datum_t *der,
		  unsigned cert_status, time_t now)
{
	int rc;

	if (cert_status == GNUTLS_OCSP_CERT_REVOKED) {
		log_err("[%s] ocsp-staple %s says the certificate is revoked: not stapled", tunnel,
			path);
		return 0;
	}
	if (s->next_update != (time_t)-1 && s->next_update <= now)
		return 0; /* ocsp_staple_check() warns */
	/* Index 0: the one certificate and key the tunnel loaded. GnuTLS checks that the
	 * response names that certificate. */
	rc = gnutls_certificate_set_ocsp_status_request_mem(creds, der, 0, GNUTLS_X509_FMT_DER);
	if (rc < 0) {
		log_err("[%s] ocsp-staple %s: %s", tunnel, path, gnutls_strerror(rc));
		return -EINVAL;
	}
	s->stapled = true;
	return 0;
}

int ocsp_staple_load(struct ocsp_staple *s, const char *tunnel, const char *path,
		     gnutls_certificate_credentials_t creds, time_t now)
{
	struct file_data file;
	gnutls_datum_t der;
	unsigned status = 0;
	char why[128];
	int rc = file_read_bounded(path, FILE_MAX_PEM, &file, why, sizeof(why));

	memset(s, 0, sizeof(*s));
	s->next_update = (time_t)-1;
	if (rc < 0) {
		log_err("[%s] ocsp-staple %s: %s", tunnel, path, why);
		return -EINVAL;
	}
	der.data = file.data;
	der.size = (unsigned)file.len;
	rc = parse_response(tunnel, path, &der, creds, &status, &s->next_update);
	if (rc == 0)
		rc = staple(s, tunnel, path, creds, &der, status, now);
	file_data_free(&file);
	if (rc < 0)
		return rc;
	s->path = strdup(path);
	return s->path ? 0 : -ENOMEM;
}

void ocsp_staple_free(struct ocsp_staple *s)
{
	free(s->path);
	s->path = NULL;
}

unsigned ocsp_staple_check(struct ocsp_staple *s, const char *tunnel, time_t now)
{
	long long left;
	unsigned level;

	if (!s->path || s->next_update == (time_t)-1)
		return 0;
	left = (long long)(s->next_update - now);
	level = left <= 0 ? 2 : left <= OCSP_WARN_SECONDS ? 1 : 0;
	if (level <= s->warned)
		return 0;
	s->warned = level;
	if (level == 2)
		log_warn("[%s] OCSP response %s is past its nextUpdate: it is not stapled, and peers "
			 "that require OCSP refuse this tunnel until it is renewed", tunnel, s->path);
	else
		log_warn("[%s] OCSP response %s reaches its nextUpdate in %lld hours %lld minutes: "
			 "renew it", tunnel, s->path, left / 3600, left % 3600 / 60);
	return level;
}

time_t ocsp_staple_next_due(const struct ocsp_staple *s)
{
	if (!s->path || s->next_update == (time_t)-1 || s->warned >= 2)
		return (time_t)-1;
	return s->warned ? s->next_update : s->next_update - OCSP_WARN_SECONDS;
}
