// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "log.h"
#include "ocsp_fetch.h"
#include "paths.h"
#include "pkcs11.h"
#include "redirect.h"
#include "reload_diff.h"
#include "service.h"
#include "watch.h"
#include "worker.h"

/*
 * Reload: build every tunnel's new context from the files first; swap only when all of them
 * loaded. A tunnel's name, mode and listener are fixed for the life of the process (the
 * sockets are bound and shared by the workers), so a config file that changes them is refused.
 */

static int load_new_config(struct ktun *k, struct ktun_config *next, char *err, size_t errlen)
{
	int rc;

	config_init(next);
	if (!k->cfg.config_file) {
		/* Command-line tunnels: same settings, files read again. */
		next->n_tunnels = 0;
		return 0;
	}
	rc = config_load_file(next, k->cfg.config_file, err, errlen);
	next->running = &k->cfg;
	if (rc == 0)
		rc = config_validate(next, err, errlen);
	return rc;
}

static int check_same_shape(const struct ktun *k, const struct ktun_config *next, char *err,
			    size_t errlen)
{
	if (next->n_tunnels != k->n_tunnels) {
		snprintf(err, errlen, "the set of tunnels changed: restart ktund to add or remove tunnels");
		return -EINVAL;
	}
	for (size_t i = 0; i < k->n_tunnels; i++) {
		const struct tunnel *t = &k->tunnels[i];
		const struct tunnel_config *c = &next->tunnels[i];

		if (strcmp(t->name, c->name) || t->mode != c->mode || t->listen.len != c->listen_addr.len ||
		    memcmp(&t->listen.ss, &c->listen_addr.ss, t->listen.len)) {
			snprintf(err, errlen, "[%s] name, mode or listen changed: restart ktund for that",
				 c->name);
			return -EINVAL;
		}
		/* Its thread starts before the sandbox, which then forbids starting threads. */
		if (c->ocsp_fetch && !ocsp_fetch_running()) {
			snprintf(err, errlen, "[%s] ocsp-fetch turned on: restart ktund for that",
				 c->name);
			return -EINVAL;
		}
	}
	return 0;
}

/* The running configuration follows each tunnel's target as reloaded, so that a later
 * reload's fallback for a name that no longer resolves (config_validate.c) is the address in
 * use, not the one from start-up. Everything else in it stays as started. */
static void follow_targets(struct ktun *k, struct ktun_config *next)
{
	for (size_t i = 0; i < k->n_tunnels; i++) {
		struct tunnel_config *run = &k->cfg.tunnels[i], *now = &next->tunnels[i];
		char *text = run->target;

		run->target = now->target;
		now->target = text; /* freed with next */
		struct ktun_addr *addrs = run->target_addrs;
		size_t n = run->n_targets;

		run->target_addr = now->target_addr;
		run->target_addrs = now->target_addrs;
		run->n_targets = now->n_targets;
		now->target_addrs = addrs; /* freed with next */
		now->n_targets = n;
	}
}

/* A token key that loaded before and does not now: its token may have gone and come back,
 * which some modules only see once re-initialized (pkcs11.h). Once per reload, and only for
 * the key in use, so that a mistyped new URI never costs the running key its session. */
static int build_ctx(struct ktun *k, size_t i, const struct tunnel_config *cfg, bool *reinited,
		     struct tunnel_ctx **out)
{
	const char *running = k->cfg.tunnels[i].key;
	int rc = tunnel_ctx_new(cfg, &k->ktls, out);

	if (rc == 0 || *reinited || !path_is_pkcs11(cfg->key) || strcmp(cfg->key, running))
		return rc;
	*reinited = true;
	if (pkcs11_reinit() < 0)
		return rc;
	log_notice("[%s] loading the certificate and token key again", cfg->name);
	return tunnel_ctx_new(cfg, &k->ktls, out);
}

/* Session tickets outlive a reload only if what they were issued to and by is unchanged;
 * connections still on the old context store theirs in its cache, which goes with it. */
static void carry_tickets(struct tunnel_ctx *old, struct tunnel_ctx *new)
{
	size_t n, bytes;

	if (old->mode != MODE_CLIENT)
		return;
	if (reload_keeps_tickets(old, new)) {
		ticket_cache_carry(&new->tickets, &old->tickets);
		return;
	}
	ticket_cache_stats(&old->tickets, &n, &bytes);
	ticket_cache_flush(&old->tickets);
	if (n)
		log_notice("[%s] reload: %zu session tickets dropped (certificate, key, CA, far "
			   "identity or verify rules changed)", old->name, n);
}

int daemon_reload(struct ktun *k, char *err, size_t errlen)
{
	struct ktun_config next;
	const struct ktun_config *src;
	struct tunnel_ctx **built;
	bool reinited = false;
	int rc;

	service_reloading();
	rc = load_new_config(k, &next, err, errlen);
	src = k->cfg.config_file ? &next : &k->cfg;
	if (rc == 0 && src == &next)
		rc = check_same_shape(k, &next, err, errlen);
	built = calloc(k->n_tunnels, sizeof(*built));
	if (rc == 0 && !built) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
	}
	for (size_t i = 0; rc == 0 && i < k->n_tunnels; i++) {
		rc = build_ctx(k, i, &src->tunnels[i], &reinited, &built[i]);
		if (rc < 0)
			snprintf(err, errlen, "[%s] could not load its certificates (see the log above); "
				 "keeping the previous ones", src->tunnels[i].name);
	}
	for (size_t i = 0; i < k->n_tunnels && built; i++) {
		if (rc == 0) {
			char what[POLICY_VALUE_MAX];

			/* The main thread swaps contexts: its read of the old one needs no lock. */
			reload_diff(k->tunnels[i].ctx, built[i], what, sizeof(what));
			log_notice("[%s] reload: %s", k->tunnels[i].name, what);
			/* The same certificate and responder: its fetched staple stays in force. */
			if (ocsp_request_same(&k->tunnels[i].ctx->ocsp_request, &built[i]->ocsp_request))
				ocsp_store_carry(&built[i]->ocsp_fetched, &k->tunnels[i].ctx->ocsp_fetched);
			carry_tickets(k->tunnels[i].ctx, built[i]);
			/* Targets it keeps keep their health; new ones start up. */
			target_set_carry(&built[i]->targets, &k->tunnels[i].ctx->targets);
			/* A generated ticket key stays: tickets issued before still resume (and are
			 * re-verified against what was reloaded: resume_check.c). */
			ticket_key_carry(&built[i]->ticket, &k->tunnels[i].ctx->ticket);
			tunnel_swap_ctx(&k->tunnels[i], built[i]);
		} else
			tunnel_ctx_put(built[i]);
	}
	free(built);
	if (rc == 0) {
		ocsp_fetch_kick();
		/* Pooled connections were made with the old contexts: each worker drops its own. */
		for (unsigned i = 0; i < k->n_workers; i++)
			worker_notify(&k->workers[i]);
	}
	/* Whatever the outcome, the files as they are now are the baseline: a broken file is
	 * not reloaded again until it changes. */
	if (k->watch)
		watch_refresh(k->watch, rc == 0 && src == &next ? &next : NULL);
	if (rc == 0 && src == &next) {
		follow_targets(k, &next);
		redirect_reload(k, &next);
	}
	config_free(&next);
	if (rc == 0) {
		__atomic_add_fetch(&k->reloads_ok, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&k->loaded_at, (long long)time(NULL), __ATOMIC_RELAXED);
		log_notice("reload ok: %zu tunnel(s) use the new certificates for new connections",
			   k->n_tunnels);
		daemon_check_expiry(k);
	} else {
		__atomic_add_fetch(&k->reloads_failed, 1, __ATOMIC_RELAXED);
		log_err("reload failed: %s", err);
	}
	service_reloaded(k, rc == 0);
	return rc;
}

static time_t earlier(time_t a, time_t b)
{
	return a == (time_t)-1 || (b != (time_t)-1 && b < a) ? b : a;
}

void daemon_check_expiry(struct ktun *k)
{
	time_t now = time(NULL);

	k->revocation_due = (time_t)-1;
	/* The main thread is the one that swaps contexts: reading t->ctx needs no lock here. */
	for (size_t i = 0; i < k->n_tunnels; i++) {
		struct tunnel *t = &k->tunnels[i];

		expiry_check(&t->ctx->expiry, t->name, now, k->cfg.expiry_warn.days,
			     k->cfg.expiry_warn.n);
		if (ocsp_staple_check(&t->ctx->ocsp, t->name, now) == 2)
			__atomic_add_fetch(&t->stale_ocsp, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&t->stale_crl, crl_check(&t->ctx->crl, t->name, now),
				   __ATOMIC_RELAXED);
		k->revocation_due = earlier(k->revocation_due, ocsp_staple_next_due(&t->ctx->ocsp));
		k->revocation_due = earlier(k->revocation_due, crl_next_due(&t->ctx->crl));
		k->revocation_due = earlier(k->revocation_due,
					    expiry_next_due(&t->ctx->expiry, k->cfg.expiry_warn.days,
							    k->cfg.expiry_warn.n));
	}
}
