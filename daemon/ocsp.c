// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/ocsp.h>

#include "file_read.h"
#include "log.h"
#include "ocsp.h"

/* What ktund needs to know of a response itself: that the responder answered, what it says
 * of the certificate and when it goes stale. Whether it is for our certificate and signed by
 * its issuer is GnuTLS's check when it is stapled (and the peer's when it arrives). */
static int parse_response(const char *tunnel, const char *path, const gnutls_datum_t *der,
			  unsigned *cert_status, time_t *next_update)
{
	gnutls_ocsp_resp_t resp;
	time_t this_update, revoked_at;
	unsigned revocation_reason;
	int rc = gnutls_ocsp_resp_init(&resp);

	if (rc < 0)
		return -ENOMEM; /* the caller says so */
	rc = gnutls_ocsp_resp_import2(resp, der, GNUTLS_X509_FMT_DER);
	if (rc == 0 && gnutls_ocsp_resp_get_status(resp) != GNUTLS_OCSP_RESP_SUCCESSFUL)
		rc = GNUTLS_E_OCSP_RESPONSE_ERROR;
	if (rc == 0)
		rc = gnutls_ocsp_resp_get_single(resp, 0, NULL, NULL, NULL, NULL, cert_status,
						 &this_update, next_update, &revoked_at,
						 &revocation_reason);
	gnutls_ocsp_resp_deinit(resp);
	if (rc < 0) {
		log_err("[%s] ocsp-staple %s: not a successful DER OCSP response: %s", tunnel, path,
			gnutls_strerror(rc));
		return -EINVAL;
	}
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
	rc = parse_response(tunnel, path, &der, &status, &s->next_update);
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
	return 1;
}
