/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_OCSP_STORE_H
#define KTUN_OCSP_STORE_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>
#include <gnutls/gnutls.h>

/* The OCSP response a tunnel context fetched for its own certificate (ocsp-fetch): written by
 * the fetch thread (ocsp_fetch.c), read by GnuTLS in every handshake through a status-request
 * callback, which staples it while it is fresh. One per context, so a reload that changes the
 * certificate starts empty; one that keeps it carries the response over (ocsp_store_carry). */
struct ocsp_store {
	pthread_mutex_t lock;
	gnutls_datum_t der;      /* empty until a good response came */
	time_t next_update;      /* (time_t)-1: the response has none */
	/* The fetch thread's schedule; also read by the metrics thread, hence atomic. */
	time_t due;              /* next fetch; 0: at once */
	unsigned failures;       /* in a row, for the back-off */
};

/* Makes creds staple what the store holds. Returns 0 or a negative errno. */
int ocsp_store_init(struct ocsp_store *s, gnutls_certificate_credentials_t creds);
void ocsp_store_destroy(struct ocsp_store *s);
/* Replaces the response (copied; an empty der clears it). Returns 0 or -ENOMEM, which leaves
 * the old one. */
int ocsp_store_put(struct ocsp_store *s, const gnutls_datum_t *der, time_t next_update);
/* The held response's nextUpdate: (time_t)-1 if it has none, 0 if there is no response. */
time_t ocsp_store_next_update(struct ocsp_store *s);
/* Copies from's response and schedule into to, an unused store of a context with the same
 * certificate. */
void ocsp_store_carry(struct ocsp_store *to, struct ocsp_store *from);

#endif
