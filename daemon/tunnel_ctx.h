/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_TUNNEL_CTX_H
#define KTUN_TUNNEL_CTX_H

#include <time.h>
#include <gnutls/gnutls.h>

#include "chain_cache.h"
#include "config.h"
#include "crl.h"
#include "expiry.h"
#include "ktls.h"
#include "ocsp.h"
#include "ocsp_request.h"
#include "ocsp_store.h"
#include "ticket_cache.h"
#include "ticket_key.h"

/* Everything a new connection of one tunnel needs, loaded from files and immutable once
 * built. Reload builds a new one and swaps it in; connections keep a reference to the one
 * they started with, so live connections are never touched by a reload. */
struct tunnel_ctx {
	unsigned refs; /* atomic */
	char name[TUNNEL_NAME_MAX];
	enum tunnel_mode mode;
	gnutls_certificate_credentials_t creds;
	gnutls_priority_t priority;
	struct policy policy;
	char server_name[ADDR_HOST_MAX]; /* client mode: the name the server must prove */
	bool server_name_is_ip;          /* then it is checked against IP SANs and not sent as SNI */
	struct ktun_addr target;  /* the first of targets */
	/* every fixed target and their health: shared by the workers (atomics), carried over
	 * by a reload for the addresses it keeps (daemon.c) */
	struct target_set targets;
	bool from_client;         /* target = from-client: the CONNECT request names it */
	struct dest_rule *dests;  /* its allow-destination rules */
	size_t n_dests;
	unsigned handshake_timeout_ms, connect_timeout_ms, idle_timeout_ms;
	unsigned request_timeout_ms; /* server, from-client: idle wait for the CONNECT request */
	unsigned pool, pool_idle_ms; /* client: the warm pool's size (all workers), its refresh age */
	unsigned max_connections;
	enum ktls_mode ktls;  /* as configured */
	bool proxy_protocol;
	enum destination_mode destination_mode; /* client: the CONNECT request (dest_announce.c) */
	char destination_authority[CONNECT_AUTHORITY_MAX]; /* DESTINATION_FIXED */
	bool require_ocsp;    /* refuse a peer without a valid stapled OCSP response */
	bool ktls_wanted;     /* the kernel has kTLS and the mode is not off */
	bool pkcs11_key;      /* key is a pkcs11: URI: handshakes call into a module (pkcs11.h) */
	/* TLS 1.3 resumption: server, tickets issued under `ticket` living resumption_lifetime s;
	 * client, tickets accepted and offered. Off with require-ocsp: a resumed peer sends no
	 * Certificate message, so it staples nothing. */
	bool resumption;
	unsigned resumption_lifetime;
	struct ticket_key ticket; /* server with resumption */
	/* With resumption: the peer chains verified under this context, which a resumed
	 * session's need not pass again (verify_cache.h); workers share it. NULL otherwise. */
	struct chain_cache *chains;
	struct expiry_set expiry; /* own leaf and CAs; warned flags change on the main thread */
	struct ocsp_staple ocsp;  /* ocsp-staple; warned flags change on the main thread */
	/* ocsp-fetch (url NULL: off): what to ask, and the response the fetch thread keeps */
	struct ocsp_request ocsp_request;
	struct ocsp_store ocsp_fetched;
	struct crl_set crl;       /* crl; warned flags change on the main thread */
	/* Client mode: the far end's session tickets (workers put and take them), and the
	 * far identity they are filed under, "ADDRESS:PORT SERVER-NAME". */
	struct ticket_cache tickets;
	char ticket_identity[TICKET_IDENTITY_MAX];
};

/* Loads credentials and copies settings; returns 0 or a negative errno, logging why. */
int tunnel_ctx_new(const struct tunnel_config *cfg, const struct ktls_support *kernel,
		   struct tunnel_ctx **out);
struct tunnel_ctx *tunnel_ctx_get(struct tunnel_ctx *ctx);
void tunnel_ctx_put(struct tunnel_ctx *ctx);

#endif
