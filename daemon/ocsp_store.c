// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>

#include "ocsp_store.h"

/* GnuTLS asks at each handshake whose peer wants a staple; it frees what we hand it. A stale
 * response is withheld, as GnuTLS does with a stapled file: the peer judges the certificate
 * without it (and a peer that requires OCSP refuses, which the fetch thread's log explains). */
static int staple(gnutls_session_t session, void *ptr, gnutls_datum_t *out)
{
	struct ocsp_store *s = ptr;
	int rc = GNUTLS_E_NO_CERTIFICATE_STATUS;

	(void)session;
	pthread_mutex_lock(&s->lock);
	if (s->der.size && (s->next_update == (time_t)-1 || s->next_update > time(NULL))) {
		out->data = gnutls_malloc(s->der.size);
		if (out->data) {
			memcpy(out->data, s->der.data, s->der.size);
			out->size = s->der.size;
			rc = 0;
		} else {
			rc = GNUTLS_E_MEMORY_ERROR;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int ocsp_store_init(struct ocsp_store *s, gnutls_certificate_credentials_t creds)
{
	int rc;

	memset(s, 0, sizeof(*s));
	s->next_update = (time_t)-1;
	pthread_mutex_init(&s->lock, NULL);
	/* Index 0: the one certificate and key a tunnel loads. */
	rc = gnutls_certificate_set_ocsp_status_request_function2(creds, 0, staple, s);
	return rc < 0 ? -EINVAL : 0;
}

void ocsp_store_destroy(struct ocsp_store *s)
{
	gnutls_free(s->der.data);
	s->der.data = NULL;
	pthread_mutex_destroy(&s->lock);
}

int ocsp_store_put(struct ocsp_store *s, const gnutls_datum_t *der, time_t next_update)
{
	unsigned char *copy = NULL;

	/* An empty one clears the store: nothing is stapled. */
	if (der->size) {
		copy = gnutls_malloc(der->size);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, der->data, der->size);
	}
	pthread_mutex_lock(&s->lock);
	gnutls_free(s->der.data);
	s->der.data = copy;
	s->der.size = der->size;
	s->next_update = next_update;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

time_t ocsp_store_next_update(struct ocsp_store *s)
{
	time_t t;

	pthread_mutex_lock(&s->lock);
	t = s->der.size ? s->next_update : 0;
	pthread_mutex_unlock(&s->lock);
	return t;
}

void ocsp_store_carry(struct ocsp_store *to, struct ocsp_store *from)
{
	gnutls_datum_t der = { 0 };
	time_t next_update;

	pthread_mutex_lock(&from->lock);
	next_update = from->next_update;
	der.data = from->der.size ? gnutls_malloc(from->der.size) : NULL;
	if (der.data) {
		memcpy(der.data, from->der.data, from->der.size);
		der.size = from->der.size;
	}
	pthread_mutex_unlock(&from->lock);
	if (der.size) {
		if (ocsp_store_put(to, &der, next_update) == 0)
			__atomic_store_n(&to->due, __atomic_load_n(&from->due, __ATOMIC_RELAXED),
					 __ATOMIC_RELAXED);
		gnutls_free(der.data);
	}
}
