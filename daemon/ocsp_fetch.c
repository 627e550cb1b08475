// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <curl/curl.h>
#include <gnutls/ocsp.h>

#include "ca_pool.h"
#include "daemon.h"
#include "log.h"
#include "ocsp.h"
#include "ocsp_fetch.h"
#include "tunnel.h"

#define RESPONSE_MAX (64 * 1024)  /* responses are a few KiB; a responder that sends more is broken */
#define TRANSFER_TIMEOUT_S 10
#define MIN_INTERVAL_S 10         /* between two fetches for one context, whatever the response says */
#define NO_NEXT_UPDATE_S (12 * 3600) /* refresh a response that never goes stale this often */
#define BACKOFF_MAX_S 3600
#define IDLE_S 3600               /* look again at least this often */
#define CLOCK_SKEW_S 300          /* a thisUpdate this far in the future is still accepted */
#define RESOLVE_MAX 8

static struct {
	struct ktun *k;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool running, stop, kick;
} fetcher = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct body {
	unsigned char data[RESPONSE_MAX];
	size_t len;
};

static size_t keep_body(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;

	if (n > RESPONSE_MAX - b->len)
		return 0; /* libcurl then fails the transfer (CURLE_WRITE_ERROR) */
	memcpy(b->data + b->len, p, n);
	b->len += n;
	(void)size; /* always 1 */
	return n;
}

static int abort_if_stopping(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)arg, (void)a, (void)b, (void)c, (void)d;
	return __atomic_load_n(&fetcher.stop, __ATOMIC_RELAXED);
}

/* libcurl would resolve a name on a thread of its own, which the sandbox forbids: glibc
 * resolves it here (as a reload does) and libcurl gets the addresses as "HOST:PORT:A,B". */
static struct curl_slist *resolve(const char *url, char *why, size_t why_len, int *rc)
{
	char *host = NULL, *port = NULL, entry[1024], addr[INET6_ADDRSTRLEN + 2];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	struct curl_slist *list = NULL;
	CURLU *u = curl_url();
	int n = 0, len;

	*rc = -EINVAL;
	if (!u || curl_url_set(u, CURLUPART_URL, url, 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT)) {
		snprintf(why, why_len, "cannot parse the responder's address");
		goto out;
	}
	*rc = 0;
	if (host[0] == '[' || inet_pton(AF_INET, host, addr) == 1)
		goto out; /* an address: libcurl resolves nothing */
	if (getaddrinfo(host, port, &hints, &res) != 0 || !res) {
		snprintf(why, why_len, "cannot resolve %s", host);
		*rc = -EHOSTUNREACH;
		goto out;
	}
	len = snprintf(entry, sizeof(entry), "%s:%s:", host, port);
	for (struct addrinfo *a = res; a && n < RESOLVE_MAX; a = a->ai_next, n++) {
		const void *ip = a->ai_family == AF_INET6 ?
			(const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr :
			(const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr;

		if (!inet_ntop(a->ai_family, ip, addr, sizeof(addr)))
			continue;
		len += snprintf(entry + len, sizeof(entry) - (size_t)len,
				a->ai_family == AF_INET6 ? "%s[%s]" : "%s%s", n ? "," : "", addr);
		if (len >= (int)sizeof(entry))
			break;
	}
	freeaddrinfo(res);
	if (len >= (int)sizeof(entry) || !(list = curl_slist_append(NULL, entry))) {
		snprintf(why, why_len, "too many addresses for %s", host);
		*rc = -ENOMEM;
	}
out:
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return list;
}

/* POSTs the request (RFC 6960 A.1); 0 with the answer in b, or a negative errno and why. */
static int post(const struct ocsp_request *req, struct body *b, char *why, size_t why_len)
{
	char error[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL, *addrs;
	long status = 0;
	CURLcode res;
	CURL *h;
	int rc;

	addrs = resolve(req->url, why, why_len, &rc);
	if (rc < 0)
		return rc;
	h = curl_easy_init();
	headers = curl_slist_append(NULL, "Content-Type: application/ocsp-request");
	if (!h || !headers) {
		snprintf(why, why_len, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)TRANSFER_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_RESOLVE, addrs);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->der.data);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)req->der.size);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, abort_if_stopping);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
	res = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	rc = -EIO;
	if (res == CURLE_WRITE_ERROR)
		snprintf(why, why_len, "the response is larger than %d bytes", RESPONSE_MAX);
	else if (res != CURLE_OK)
		snprintf(why, why_len, "%s", *error ? error : curl_easy_strerror(res));
	else if (status != 200)
		snprintf(why, why_len, "HTTP status %ld", status);
	else
		rc = 0;
out:
	curl_slist_free_all(headers);
	curl_slist_free_all(addrs);
	curl_easy_cleanup(h);
	return rc;
}

/* The checks a stapled file gets, and that it is about our certificate, good and current. */
static int check(struct tunnel_ctx *ctx, const struct body *b, time_t now, struct ocsp_facts *f,
		 char *why, size_t why_len)
{
	gnutls_datum_t der = { .data = (unsigned char *)b->data, .size = (unsigned)b->len };
	const char *bad = "cannot read the own certificate";
	struct ca_pool pool;

	if (ca_pool_build(&pool, ctx->creds) == 0) {
		bad = ocsp_response_check(&der, ctx->creds, pool.leaf, f);
		ca_pool_free(&pool);
	}
	if (!bad && f->cert_status == GNUTLS_OCSP_CERT_REVOKED)
		bad = "the responder says the certificate is REVOKED";
	else if (!bad && f->cert_status != GNUTLS_OCSP_CERT_GOOD)
		bad = "the responder does not know the certificate";
	else if (!bad && f->this_update > now + CLOCK_SKEW_S)
		bad = "its thisUpdate is in the future";
	else if (!bad && f->next_update != (time_t)-1 && f->next_update <= now)
		bad = "it is past its nextUpdate";
	if (!bad)
		return 0;
	snprintf(why, why_len, "%s", bad);
	return f->cert_status == GNUTLS_OCSP_CERT_REVOKED ? -EKEYREVOKED : -EINVAL;
}

static time_t refresh_at(const struct ocsp_facts *f, time_t now)
{
	time_t at = f->next_update == (time_t)-1 ? now + NO_NEXT_UPDATE_S :
		f->this_update + (f->next_update - f->this_update) / 2;

	return at < now + MIN_INTERVAL_S ? now + MIN_INTERVAL_S : at;
}

static void fetched(struct tunnel *t, struct tunnel_ctx *ctx, const struct body *b,
		    const struct ocsp_facts *f, time_t now)
{
	gnutls_datum_t der = { .data = (unsigned char *)b->data, .size = (unsigned)b->len };
	struct ocsp_store *s = &ctx->ocsp_fetched;
	char next[32] = "never";
	struct tm tm;

	if (ocsp_store_put(s, &der, f->next_update) < 0) {
		log_err("[%s] ocsp-fetch: out of memory keeping the response", t->name);
		__atomic_store_n(&s->due, now + MIN_INTERVAL_S, __ATOMIC_RELAXED);
		return;
	}
	if (f->next_update != (time_t)-1)
		strftime(next, sizeof(next), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&f->next_update, &tm));
	log_info("[%s] ocsp-fetch: stapling the response of %s (good, nextUpdate %s)", t->name,
		 ctx->ocsp_request.url, next);
	s->failures = 0;
	__atomic_store_n(&s->due, refresh_at(f, now), __ATOMIC_RELAXED);
	__atomic_add_fetch(&t->ocsp_fetched, 1, __ATOMIC_RELAXED);
}

static void failed(struct tunnel *t, struct tunnel_ctx *ctx, int rc, const char *why, time_t now)
{
	struct ocsp_store *s = &ctx->ocsp_fetched;
	unsigned shift = s->failures < 9 ? s->failures : 9;
	time_t wait = (time_t)MIN_INTERVAL_S << shift, held;
	const gnutls_datum_t none = { 0 };

	s->failures++;
	__atomic_store_n(&s->due, now + (wait < BACKOFF_MAX_S ? wait : BACKOFF_MAX_S),
			 __ATOMIC_RELAXED);
	__atomic_add_fetch(&t->ocsp_fetch_failed, 1, __ATOMIC_RELAXED);
	if (rc == -EKEYREVOKED)
		ocsp_store_put(s, &none, (time_t)-1); /* never staple "good" for a revoked one */
	held = ocsp_store_next_update(s);
	log_warn("[%s] ocsp-fetch from %s failed: %s; %s, next try in %lld s", t->name,
		 ctx->ocsp_request.url, why,
		 held == 0 ? "nothing to staple" :
		 held == (time_t)-1 || held > now ? "the last good response is still stapled" :
		 "the last good response is past its nextUpdate and no longer stapled",
		 (long long)(__atomic_load_n(&s->due, __ATOMIC_RELAXED) - now));
}

static void fetch(struct tunnel *t, struct tunnel_ctx *ctx, time_t now)
{
	static struct body b; /* this thread only: 64 KiB off its stack */
	struct ocsp_facts f;
	char why[256];
	int rc;

	b.len = 0;
	rc = post(&ctx->ocsp_request, &b, why, sizeof(why));
	if (rc == 0)
		rc = check(ctx, &b, now, &f, why, sizeof(why));
	if (__atomic_load_n(&fetcher.stop, __ATOMIC_RELAXED))
		return;
	if (rc == 0)
		fetched(t, ctx, &b, &f, now);
	else
		failed(t, ctx, rc, why, now);
}

/* One pass over the tunnels: fetches what is due, returns when the next fetch is. */
static time_t pass(struct ktun *k)
{
	time_t now = time(NULL), next = now + IDLE_S;

	for (size_t i = 0; i < k->n_tunnels && !__atomic_load_n(&fetcher.stop, __ATOMIC_RELAXED); i++) {
		struct tunnel_ctx *ctx = tunnel_acquire_ctx(&k->tunnels[i]);

		if (ctx->ocsp_request.url) {
			if (__atomic_load_n(&ctx->ocsp_fetched.due, __ATOMIC_RELAXED) <= now)
				fetch(&k->tunnels[i], ctx, now);
			time_t due = __atomic_load_n(&ctx->ocsp_fetched.due, __ATOMIC_RELAXED);

			if (due < next)
				next = due;
		}
		tunnel_ctx_put(ctx);
	}
	return next;
}

static void *run(void *arg)
{
	struct ktun *k = arg;

	pthread_mutex_lock(&fetcher.lock);
	while (!fetcher.stop) {
		struct timespec until = { 0 };

		fetcher.kick = false;
		pthread_mutex_unlock(&fetcher.lock);
		until.tv_sec = pass(k);
		pthread_mutex_lock(&fetcher.lock);
		while (!fetcher.stop && !fetcher.kick &&
		       pthread_cond_timedwait(&fetcher.wake, &fetcher.lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&fetcher.lock);
	return NULL;
}

static bool wanted(const struct ktun *k)
{
	for (size_t i = 0; i < k->n_tunnels; i++)
		if (k->cfg.tunnels[i].ocsp_fetch)
			return true;
	return false;
}

int ocsp_fetch_start(struct ktun *k)
{
	pthread_condattr_t attr;
	int rc;

	if (!wanted(k))
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_err("ocsp-fetch: cannot initialize libcurl");
		return -ENOMEM;
	}
	/* The wait is until a wall-clock time: nextUpdate is one. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_REALTIME);
	pthread_cond_init(&fetcher.wake, &attr);
	pthread_condattr_destroy(&attr);
	fetcher.k = k;
	rc = pthread_create(&fetcher.thread, NULL, run, k);
	if (rc) {
		log_err("ocsp-fetch: cannot start its thread: %s", strerror(rc));
		return -rc;
	}
	fetcher.running = true;
	return 0;
}

void ocsp_fetch_kick(void)
{
	pthread_mutex_lock(&fetcher.lock);
	fetcher.kick = true;
	if (fetcher.running)
		pthread_cond_signal(&fetcher.wake);
	pthread_mutex_unlock(&fetcher.lock);
}

bool ocsp_fetch_running(void)
{
	return fetcher.running;
}

void ocsp_fetch_stop(void)
{
	if (!fetcher.running)
		return;
	pthread_mutex_lock(&fetcher.lock);
	__atomic_store_n(&fetcher.stop, true, __ATOMIC_RELAXED);
	pthread_cond_signal(&fetcher.wake);
	pthread_mutex_unlock(&fetcher.lock);
	pthread_join(fetcher.thread, NULL);
	fetcher.running = false;
	curl_global_cleanup();
}
