/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_TUNNEL_H
#define KTUN_TUNNEL_H

#include <pthread.h>
#include <stdbool.h>

#include "config.h"
#include "stats.h"
#include "tunnel_ctx.h"

/* A configured tunnel at run time, shared by all workers. What may change on reload lives in
 * the tunnel_ctx behind `lock`; the rest is fixed for the life of the process. The lock is
 * taken once per new connection, never on the data path. */
struct tunnel {
	char name[TUNNEL_NAME_MAX];
	enum tunnel_mode mode;
	struct ktun_addr listen;
	pthread_mutex_t lock;
	struct tunnel_ctx *ctx;
	unsigned open;            /* atomic: slots taken by connections (max-connections) */
	unsigned live;            /* atomic: connections accepted and not yet freed (a pooled
	                           * one from its take: conn_adopt) */
	unsigned waiting;         /* atomic: accepted connections held for a slot, all workers */
	unsigned max_connections; /* atomic: from the current ctx */
	bool ktls_fallback_logged; /* atomic: the kTLS fallback is said once per tunnel */
	int *listen_fds;          /* one per worker; unix and inherited sockets: one, dup'd */
	bool inherited;           /* listen_fds[0] came from the service manager (activation.c) */
	int *tproxy_fds;          /* per worker, transparent listeners for routed flows; or NULL */
	struct tunnel_stats *stats; /* one per worker */
	/* atomic: how often a CRL or the OCSP staple was found past its nextUpdate */
	unsigned long stale_crl, stale_ocsp;
	/* atomic: ocsp-fetch's fetches by outcome (ocsp_fetch.c) */
	unsigned long ocsp_fetched, ocsp_fetch_failed;
};

int tunnel_init(struct tunnel *t, const struct tunnel_config *cfg, struct tunnel_ctx *ctx,
		unsigned workers);
void tunnel_destroy(struct tunnel *t, unsigned workers);
/* Makes room for the tunnel's transparent listeners (all -1). */
int tunnel_want_tproxy(struct tunnel *t, unsigned workers);
struct tunnel_ctx *tunnel_acquire_ctx(struct tunnel *t);
/* Installs a new ctx for new connections; the old one lives on while connections hold it. */
void tunnel_swap_ctx(struct tunnel *t, struct tunnel_ctx *ctx);
/* Takes a connection slot if below max-connections. */
bool tunnel_reserve(struct tunnel *t);
/* Adds up the workers' copies of the tunnel's counters. Any thread. */
void tunnel_stats_sum(const struct tunnel *t, unsigned workers, struct tunnel_stats *sum);
void tunnel_release(struct tunnel *t);

#endif
