// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "daemon.h"
#include "metrics.h"
#include "prom_label.h"
#include "peers.h"
#include "pool_list.h"
#include "tunnel.h"
#include "tunnel_ctx.h"

/*
 * The counters in Prometheus's text format (version 0.0.4). Written by the control thread
 * (`ktunctl metrics`) and by the metrics HTTP thread: everything read here is either fixed
 * after start-up, a relaxed atomic counter, or a tunnel context held by a reference.
 * Tunnel names are [A-Za-z0-9_-] and need no escaping inside a label; certificate subjects
 * are escaped when loaded (dn_text: no '"' or control character left, but \xHH escapes).
 */

static void header(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Which tunnels a series has: the client pools (pool.c) and ticket caches are client-only. */
enum tunnels { ALL_TUNNELS, CLIENT_TUNNELS };

/* A counter or gauge with one sample per tunnel, read at offset in its struct tunnel_stats. */
struct series {
	const char *name, *type, *help;
	size_t offset;
	enum tunnels which;
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SERIES(name, type, which, field, help) \
	{ name, type, help, offsetof(struct tunnel_stats, field), which }

static const struct series handshake_series[] = {
	SERIES("ktund_connections_total", "counter", ALL_TUNNELS, conns_total, "Connections accepted."),
	SERIES("ktund_handshakes_total", "counter", ALL_TUNNELS, handshakes_ok,
	       "Handshakes that succeeded."),
	SERIES("ktund_handshakes_resumed_total", "counter", ALL_TUNNELS, handshakes_resumed,
	       "Handshakes that resumed a session from a ticket."),
	SERIES("ktund_resume_chain_cache_hits_total", "counter", ALL_TUNNELS, chain_cache_hits,
	       "Resumption attempts (refused ones included) whose peer chain was found verified already."),
	SERIES("ktund_resume_chain_cache_misses_total", "counter", ALL_TUNNELS, chain_cache_misses,
	       "Resumption attempts (refused ones included) whose peer chain was verified in full."),
	SERIES("ktund_resume_chain_cache_bypassed_total", "counter", ALL_TUNNELS, chain_cache_bypassed,
	       "Resumption attempts (refused ones included) with a stapled OCSP response, verified in full."),
	SERIES("ktund_ticket_cache_hits_total", "counter", CLIENT_TUNNELS, ticket_hits,
	       "Client handshakes that offered a cached session ticket."),
	SERIES("ktund_ticket_cache_misses_total", "counter", CLIENT_TUNNELS, ticket_misses,
	       "Client handshakes that found no cached session ticket."),
	SERIES("ktund_ticket_cache_stored_total", "counter", CLIENT_TUNNELS, tickets_stored,
	       "Session tickets from servers put in the client ticket cache."),
};

static const struct series payload_series[] = {
	SERIES("ktund_userspace_payload_bytes_total", "counter", ALL_TUNNELS, payload_userspace,
	       "Payload bytes encrypted or decrypted in userspace (0 on kernel TLS after the hand-over)."),
	SERIES("ktund_copied_payload_bytes_total", "counter", ALL_TUNNELS, payload_copied,
	       "Payload bytes the kernel decrypted that ktund copied to the plain side (kernel TLS)."),
	SERIES("ktund_accept_errors_total", "counter", ALL_TUNNELS, accept_errors,
	       "accept() failures that paused a listener (out of fds or memory)."),
};

static const struct series pool_series[] = {
	SERIES("ktund_pool_size", "gauge", CLIENT_TUNNELS, pool_ready,
	       "Pooled connections established and ready to be taken (pool)."),
	SERIES("ktund_pool_hits_total", "counter", CLIENT_TUNNELS, pool_hits,
	       "Accepted connections that took a ready pooled connection."),
	SERIES("ktund_pool_misses_total", "counter", CLIENT_TUNNELS, pool_misses,
	       "Accepted connections of a tunnel with a pool that found none ready (connected cold)."),
};

static void per_tunnel(FILE *out, const struct ktun *k, const struct tunnel_stats *sums,
		       const struct series *s, size_t n)
{
	for (; n--; s++) {
		header(out, s->name, s->type, s->help);
		for (size_t i = 0; i < k->n_tunnels; i++)
			if (s->which == ALL_TUNNELS || k->tunnels[i].mode == MODE_CLIENT)
				fprintf(out, "%s{tunnel=\"%s\"} %llu\n", s->name, k->tunnels[i].name,
					(unsigned long long)*(const uint64_t *)((const char *)&sums[i] +
										 s->offset));
	}
}

static void pools(FILE *out, const struct ktun *k, const struct tunnel_stats *sums)
{
	per_tunnel(out, k, sums, pool_series, ARRAY_SIZE(pool_series));
	header(out, "ktund_pool_discards_total", "counter",
	       "Pooled connections closed without being taken, by reason.");
	for (size_t i = 0; i < k->n_tunnels; i++)
		for (int d = 0; d < POOL_DISCARD_MAX && k->tunnels[i].mode == MODE_CLIENT; d++)
			fprintf(out, "ktund_pool_discards_total{tunnel=\"%s\",reason=\"%s\"} %llu\n",
				k->tunnels[i].name, pool_discard_name((enum pool_discard)d),
				(unsigned long long)sums[i].pool_discards[d]);
}

static void by_reason(FILE *out, const struct ktun *k, const struct tunnel_stats *sums, bool rejects)
{
	const char *name = rejects ? "ktund_handshake_failures_total" : "ktund_closes_total";

	header(out, name, "counter",
	       rejects ? "Handshakes refused, by reason." : "Connections closed, by reason.");
	for (size_t i = 0; i < k->n_tunnels; i++)
		for (int r = REASON_DONE; r < REASON_MAX; r++) {
			if ((rejects && !reason_is_reject((enum reason)r)) ||
			    !reason_possible((enum reason)r, k->tunnels[i].mode == MODE_SERVER))
				continue;
			fprintf(out, "%s{tunnel=\"%s\",reason=\"%s\"} %llu\n", name, k->tunnels[i].name,
				reason_name((enum reason)r),
				(unsigned long long)(rejects ? sums[i].reject[r] : sums[i].close[r]));
		}
}

static void two_ways(FILE *out, const struct ktun *k, const struct tunnel_stats *sums)
{
	header(out, "ktund_bytes_total", "counter",
	       "Payload bytes: up from the accepting side toward the target, down the other way.");
	for (size_t i = 0; i < k->n_tunnels; i++)
		fprintf(out, "ktund_bytes_total{tunnel=\"%s\",direction=\"up\"} %llu\n"
			"ktund_bytes_total{tunnel=\"%s\",direction=\"down\"} %llu\n",
			k->tunnels[i].name, (unsigned long long)sums[i].bytes_up, k->tunnels[i].name,
			(unsigned long long)sums[i].bytes_down);
	header(out, "ktund_datapath_connections_total", "counter",
	       "Connections by the data path they streamed on: kernel TLS or userspace GnuTLS.");
	for (size_t i = 0; i < k->n_tunnels; i++)
		fprintf(out, "ktund_datapath_connections_total{tunnel=\"%s\",datapath=\"ktls\"} %llu\n"
			"ktund_datapath_connections_total{tunnel=\"%s\",datapath=\"userspace\"} %llu\n",
			k->tunnels[i].name, (unsigned long long)sums[i].conns_ktls, k->tunnels[i].name,
			(unsigned long long)sums[i].conns_userspace);
}

static void histogram(FILE *out, const struct ktun *k, const struct tunnel_stats *sums)
{
	static const unsigned bounds_us[HS_BUCKETS] = { HS_BUCKETS_US };

	header(out, "ktund_handshake_duration_seconds", "histogram",
	       "Successful TLS handshakes by duration (a server's from accept, a client's from connect).");
	for (size_t i = 0; i < k->n_tunnels; i++) {
		const char *t = k->tunnels[i].name;
		unsigned long long cumulative = 0;

		for (int b = 0; b < HS_BUCKETS; b++) {
			cumulative += sums[i].hs_buckets[b];
			fprintf(out, "ktund_handshake_duration_seconds_bucket{tunnel=\"%s\",le=\"%g\"} %llu\n",
				t, bounds_us[b] / 1e6, cumulative);
		}
		cumulative += sums[i].hs_buckets[HS_BUCKETS];
		fprintf(out, "ktund_handshake_duration_seconds_bucket{tunnel=\"%s\",le=\"+Inf\"} %llu\n"
			"ktund_handshake_duration_seconds_sum{tunnel=\"%s\"} %.6f\n"
			"ktund_handshake_duration_seconds_count{tunnel=\"%s\"} %llu\n",
			t, cumulative, t, sums[i].hs_sum_us / 1e6, t, cumulative);
	}
}

/* A dn_text subject as a label value: its only character the format escapes is '\\'. */
static void put_subject(FILE *out, const char *subject)
{
	for (; *subject; subject++) {
		if (*subject == '\\')
			fputc('\\', out);
		fputc(*subject, out);
	}
}

static void cert_expiry(FILE *out, struct ktun *k)
{
	time_t now = time(NULL);

	header(out, "ktund_certificate_expiry_seconds", "gauge",
	       "Seconds until a certificate ends (negative: expired): the own leaf, the chain "
	       "sent with it, and each CA.");
	for (size_t i = 0; i < k->n_tunnels; i++) {
		struct tunnel_ctx *ctx = tunnel_acquire_ctx(&k->tunnels[i]);

		for (size_t c = 0; c < ctx->expiry.n; c++) {
			fprintf(out, "ktund_certificate_expiry_seconds{tunnel=\"%s\",role=\"%s\","
				"subject=\"", k->tunnels[i].name, ctx->expiry.certs[c].role);
			put_subject(out, ctx->expiry.certs[c].subject);
			fprintf(out, "\",serial=\"%s\"} %lld\n", ctx->expiry.certs[c].serial,
				(long long)(ctx->expiry.certs[c].not_after - now));
		}
		tunnel_ctx_put(ctx);
	}
}

/* The leaf each tunnel presents to new connections: after a reload, whether the new one
 * took. Its serial as a label, the value always 1 (the info-metric convention). */
static void cert_info(FILE *out, struct ktun *k)
{
	header(out, "ktund_certificate_info", "gauge",
	       "The certificate a tunnel presents to new connections: serial and notAfter (UTC).");
	for (size_t i = 0; i < k->n_tunnels; i++) {
		struct tunnel_ctx *ctx = tunnel_acquire_ctx(&k->tunnels[i]);
		struct tm tm;

		if (ctx->expiry.n && gmtime_r(&ctx->expiry.certs[0].not_after, &tm))
			fprintf(out, "ktund_certificate_info{tunnel=\"%s\",serial=\"%s\","
				"not_after=\"%04d-%02d-%02dT%02d:%02d:%02dZ\"} 1\n", k->tunnels[i].name,
				ctx->expiry.certs[0].serial, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
				tm.tm_hour, tm.tm_min, tm.tm_sec);
		tunnel_ctx_put(ctx);
	}
}

/* target = from-client: connections each allow-destination rule let through, one series
 * per rule as written (bounded by DEST_RULES_MAX), never per address. */
static void destinations(FILE *out, struct ktun *k)
{
	header(out, "ktund_destination_connections_total", "counter",
	       "target = from-client: CONNECT requests allowed, by the allow-destination rule that "
	       "allowed them (counted since start or the last reload).");
	for (size_t i = 0; i < k->n_tunnels; i++) {
		struct tunnel_ctx *ctx = tunnel_acquire_ctx(&k->tunnels[i]);

		for (size_t r = 0; r < ctx->n_dests; r++) {
			fprintf(out, "ktund_destination_connections_total{tunnel=\"%s\",rule=\"",
				k->tunnels[i].name);
			prom_label_put(out, ctx->dests[r].text);
			fprintf(out, "\"} %llu\n", (unsigned long long)__atomic_load_n(
				&ctx->dests[r].allowed, __ATOMIC_RELAXED));
		}
		tunnel_ctx_put(ctx);
	}
}

/* Client tunnels' ticket caches: what the current context's cache holds now. */
static void ticket_cache_gauge(FILE *out, struct ktun *k, bool bytes)
{
	const char *name = bytes ? "ktund_ticket_cache_bytes" : "ktund_ticket_cache_entries";

	header(out, name, "gauge", bytes ? "Client tunnels: bytes of session data cached for resumption."
					 : "Client tunnels: TLS 1.3 session tickets cached for resumption.");
	for (size_t i = 0; i < k->n_tunnels; i++) {
		struct tunnel_ctx *ctx;
		size_t n, size;

		if (k->tunnels[i].mode != MODE_CLIENT)
			continue;
		ctx = tunnel_acquire_ctx(&k->tunnels[i]);
		ticket_cache_stats(&ctx->tickets, &n, &size);
		tunnel_ctx_put(ctx);
		fprintf(out, "%s{tunnel=\"%s\"} %zu\n", name, k->tunnels[i].name, bytes ? size : n);
	}
}

/* The verified-chain caches: entries held now, usable or not yet found unusable. */
static void chain_cache_gauge(FILE *out, struct ktun *k)
{
	header(out, "ktund_resume_chain_cache_entries", "gauge",
	       "Peer chains held in the verified-chain cache (chains of admitted peers).");
	for (size_t i = 0; i < k->n_tunnels; i++) {
		struct tunnel_ctx *ctx = tunnel_acquire_ctx(&k->tunnels[i]);
		size_t n = ctx->chains ? chain_cache_count(ctx->chains) : 0;

		tunnel_ctx_put(ctx);
		fprintf(out, "ktund_resume_chain_cache_entries{tunnel=\"%s\"} %zu\n",
			k->tunnels[i].name, n);
	}
}

/* Fixed targets (a server's origins, a client's far ktunds): failed connects and whether
 * each is up, one series per target address (at most TARGETS_MAX per tunnel). */
static void targets(FILE *out, struct ktun *k, bool failures)
{
	const char *name = failures ? "ktund_target_failures_total" : "ktund_target_up";

	header(out, name, failures ? "counter" : "gauge",
	       failures ? "Connects to a target that were refused, timed out or found no route "
			  "(counted since start; a reload keeps the count of a target it keeps)."
			: "1 if the target's last connect succeeded (or none failed), 0 while it is "
			  "down (passive health: back-off after a failed connect).");
	for (size_t i = 0; i < k->n_tunnels; i++) {
		struct tunnel_ctx *ctx = tunnel_acquire_ctx(&k->tunnels[i]);

		for (size_t j = 0; j < ctx->targets.n; j++) {
			const struct ktun_addr *a = &ctx->targets.addrs[j];
			char text[ADDR_TEXT_MAX];

			fprintf(out, "%s{tunnel=\"%s\",target=\"", name, k->tunnels[i].name);
			prom_label_put(out, addr_format((const struct sockaddr *)&a->ss, a->len, text));
			fprintf(out, "\"} %llu\n", failures ? target_set_failures(&ctx->targets, j)
							   : target_set_up(&ctx->targets, j));
		}
		tunnel_ctx_put(ctx);
	}
}

static void reloads(FILE *out, struct ktun *k)
{
	header(out, "ktund_reloads_total", "counter",
	       "Reloads (SIGHUP, ktunctl reload, watched files) by result: ok, or failed and "
	       "kept the previous certificates.");
	fprintf(out, "ktund_reloads_total{result=\"ok\"} %lu\n"
		"ktund_reloads_total{result=\"failed\"} %lu\n",
		__atomic_load_n(&k->reloads_ok, __ATOMIC_RELAXED),
		__atomic_load_n(&k->reloads_failed, __ATOMIC_RELAXED));
	header(out, "ktund_last_reload_timestamp_seconds", "gauge",
	       "When the certificates in force were loaded: at start, or by the last successful reload.");
	fprintf(out, "ktund_last_reload_timestamp_seconds %lld\n",
		__atomic_load_n(&k->loaded_at, __ATOMIC_RELAXED));
}

/* When the staple in force goes stale: (time_t)-1 if there is none or it never does. */
static time_t staple_next_update(struct tunnel_ctx *ctx)
{
	time_t t;

	if (ctx->ocsp.path)
		return ctx->ocsp.next_update;
	if (!ctx->ocsp_request.url)
		return (time_t)-1;
	t = ocsp_store_next_update(&ctx->ocsp_fetched);
	return t == 0 ? (time_t)-1 : t;
}

/* Only tunnels with an ocsp-staple or a fetched response that has a nextUpdate; fetches only
 * for tunnels with ocsp-fetch. */
static void ocsp_expiry(FILE *out, struct ktun *k)
{
	time_t now = time(NULL);

	header(out, "ktund_ocsp_staple_expiry_seconds", "gauge",
	       "Seconds until the stapled OCSP response's nextUpdate (negative: stale, not stapled).");
	for (size_t i = 0; i < k->n_tunnels; i++) {
		struct tunnel_ctx *ctx = tunnel_acquire_ctx(&k->tunnels[i]);
		time_t next_update = staple_next_update(ctx);

		if (next_update != (time_t)-1)
			fprintf(out, "ktund_ocsp_staple_expiry_seconds{tunnel=\"%s\"} %lld\n",
				k->tunnels[i].name, (long long)(next_update - now));
		tunnel_ctx_put(ctx);
	}
	header(out, "ktund_ocsp_fetches_total", "counter",
	       "ocsp-fetch: fetches of the own OCSP response, by result (ok: checked and stapled).");
	for (size_t i = 0; i < k->n_tunnels; i++) {
		struct tunnel_ctx *ctx = tunnel_acquire_ctx(&k->tunnels[i]);
		bool fetching = ctx->ocsp_request.url;

		tunnel_ctx_put(ctx);
		if (fetching)
			fprintf(out, "ktund_ocsp_fetches_total{tunnel=\"%s\",result=\"ok\"} %lu\n"
				"ktund_ocsp_fetches_total{tunnel=\"%s\",result=\"failed\"} %lu\n",
				k->tunnels[i].name,
				__atomic_load_n(&k->tunnels[i].ocsp_fetched, __ATOMIC_RELAXED),
				k->tunnels[i].name,
				__atomic_load_n(&k->tunnels[i].ocsp_fetch_failed, __ATOMIC_RELAXED));
	}
}

/* Only tunnels with a crl: one line per CRL that has a nextUpdate. */
static void crl_expiry(FILE *out, struct ktun *k)
{
	time_t now = time(NULL);

	header(out, "ktund_crl_next_update_seconds", "gauge",
	       "Seconds until a CRL's nextUpdate (negative: stale), by issuer.");
	for (size_t i = 0; i < k->n_tunnels; i++) {
		struct tunnel_ctx *ctx = tunnel_acquire_ctx(&k->tunnels[i]);

		for (size_t c = 0; c < ctx->crl.n; c++)
			if (ctx->crl.crls[c].next_update != (time_t)-1) {
				fprintf(out, "ktund_crl_next_update_seconds{tunnel=\"%s\",issuer=\"",
					k->tunnels[i].name);
				put_subject(out, ctx->crl.crls[c].issuer);
				fprintf(out, "\"} %lld\n",
					(long long)(ctx->crl.crls[c].next_update - now));
			}
		tunnel_ctx_put(ctx);
	}
	header(out, "ktund_stale_revocation_data_total", "counter",
	       "How often a CRL or the OCSP staple was found past its nextUpdate (and warned about).");
	for (size_t i = 0; i < k->n_tunnels; i++)
		fprintf(out, "ktund_stale_revocation_data_total{tunnel=\"%s\",kind=\"crl\"} %lu\n"
			"ktund_stale_revocation_data_total{tunnel=\"%s\",kind=\"ocsp-staple\"} %lu\n",
			k->tunnels[i].name, __atomic_load_n(&k->tunnels[i].stale_crl, __ATOMIC_RELAXED),
			k->tunnels[i].name, __atomic_load_n(&k->tunnels[i].stale_ocsp, __ATOMIC_RELAXED));
}

/* metrics-identities: series per peer identity for the first N seen (ktunctl peers has up to
 * PEERS_MAX), so that the operator, not the peers, bounds the number of series. */
static void identities(FILE *out, struct ktun *k)
{
	unsigned max = k->cfg.metrics_identities;
	struct peer_sample *p = max ? calloc(max, sizeof(*p)) : NULL;
	size_t n = 0, known = 0;
	static const struct {
		const char *name, *type, *help;
	} series[] = {
		{ "ktund_peer_handshakes_total", "counter", "Handshakes completed, by peer identity." },
		{ "ktund_peer_rejects_total", "counter", "Handshakes refused, by peer identity." },
		{ "ktund_peer_bytes_total", "counter",
		  "Payload bytes of closed connections, by peer identity and direction." },
		{ "ktund_peer_last_seen_timestamp_seconds", "gauge", "When a peer identity was last seen." },
	};

	if (!max)
		return;
	if (p)
		n = peers_snapshot(p, max, &known);
	for (size_t s = 0; s < ARRAY_SIZE(series); s++) {
		header(out, series[s].name, series[s].type, series[s].help);
		for (size_t i = 0; i < n; i++) {
			fprintf(out, "%s{tunnel=\"%s\",id=\"", series[s].name, p[i].tunnel);
			put_subject(out, p[i].id);
			if (s == 0)
				fprintf(out, "\"} %llu\n", (unsigned long long)p[i].connections);
			else if (s == 1)
				fprintf(out, "\"} %llu\n", (unsigned long long)p[i].rejects);
			else if (s == 2) {
				fprintf(out, "\",direction=\"up\"} %llu\n", (unsigned long long)p[i].up);
				fprintf(out, "%s{tunnel=\"%s\",id=\"", series[s].name, p[i].tunnel);
				put_subject(out, p[i].id);
				fprintf(out, "\",direction=\"down\"} %llu\n", (unsigned long long)p[i].down);
			} else
				fprintf(out, "\"} %lld\n", (long long)p[i].last_seen);
		}
	}
	header(out, "ktund_peer_identities", "gauge",
	       "Peer identities kept (ktunctl peers), by whether they have series here "
	       "(metrics-identities is the cap).");
	fprintf(out, "ktund_peer_identities{exported=\"yes\"} %zu\n"
		"ktund_peer_identities{exported=\"no\"} %zu\n", n, known - n);
	free(p);
}

/* Kept here, not in metrics_http.c which counts them: the text is written from here, and
 * the HTTP side only calls in. */
static unsigned long long refused; /* atomic: added to by libmicrohttpd's thread */

unsigned long long metrics_refused_add(void)
{
	return __atomic_add_fetch(&refused, 1, __ATOMIC_RELAXED);
}

int metrics_write(struct ktun *k, FILE *out)
{
	struct tunnel_stats *sums = calloc(k->n_tunnels, sizeof(*sums));

	if (!sums)
		return -ENOMEM;
	for (size_t i = 0; i < k->n_tunnels; i++)
		tunnel_stats_sum(&k->tunnels[i], k->n_workers, &sums[i]);
	header(out, "ktund_info", "gauge", "ktund's version and whether the kernel has kTLS.");
	fprintf(out, "ktund_info{version=\"%s\",ktls=\"%s\"} 1\n", KTUN_VERSION,
		k->ktls.ulp ? "yes" : "no");
	header(out, "ktund_connections_open", "gauge", "Connections accepted and not yet closed.");
	for (size_t i = 0; i < k->n_tunnels; i++)
		fprintf(out, "ktund_connections_open{tunnel=\"%s\"} %u\n", k->tunnels[i].name,
			__atomic_load_n(&k->tunnels[i].live, __ATOMIC_RELAXED));
	per_tunnel(out, k, sums, handshake_series, ARRAY_SIZE(handshake_series));
	by_reason(out, k, sums, true);
	by_reason(out, k, sums, false);
	two_ways(out, k, sums);
	per_tunnel(out, k, sums, payload_series, ARRAY_SIZE(payload_series));
	header(out, "ktund_metrics_refused_total", "counter",
	       "Connections to metrics-listen closed at once: too many open from their address.");
	fprintf(out, "ktund_metrics_refused_total %llu\n", __atomic_load_n(&refused, __ATOMIC_RELAXED));
	histogram(out, k, sums);
	pools(out, k, sums);
	cert_expiry(out, k);
	cert_info(out, k);
	destinations(out, k);
	chain_cache_gauge(out, k);
	ticket_cache_gauge(out, k, false);
	ticket_cache_gauge(out, k, true);
	targets(out, k, true);
	targets(out, k, false);
	reloads(out, k);
	ocsp_expiry(out, k);
	crl_expiry(out, k);
	identities(out, k);
	free(sums);
	return 0;
}
