// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>

#include "daemon.h"
#include "health.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"

/* GET /metrics over HTTP for Prometheus, and GET /healthz for probes (health.h), served by libmicrohttpd on a thread of its own. The
 * socket is bound here, before privileges are dropped, and handed to libmicrohttpd. */

/* A scrape takes milliseconds, so idle or slow (slowloris) clients are what fills the slots:
 * each address holds at most PER_ADDR of them (libmicrohttpd closes one more at once), so a
 * few addresses cannot keep a scrape from another out (at 16 for everyone, 16 idle
 * connections did); at CONNECTIONS_MAX libmicrohttpd stops accepting and new connections wait
 * in the backlog. A connection that has sent nothing for TIMEOUT_S is closed (a client
 * trickling bytes keeps its slot, within its address's share). Prometheus reconnects when
 * its kept-alive connection has been closed. */
#define CONNECTIONS_MAX 128
#define CONNECTIONS_PER_ADDR 8
#define CONNECTION_TIMEOUT_S 5
/* What libmicrohttpd logs for each connection it closes at a limit. */
#define LIMIT_MESSAGE "Server reached connection limit"
#define REFUSED_LOG_INTERVAL_S 60

static time_t refused_logged = -1; /* libmicrohttpd's thread only */

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
			     char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result rc;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	static char not_found[] = "only /metrics and /healthz are here\n";
	static char not_allowed[] = "GET only\n";
	char *body = NULL;
	size_t len = 0;
	FILE *out;
	int rc;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", not_allowed,
			     sizeof(not_allowed) - 1, MHD_RESPMEM_PERSISTENT);
	if (!strcmp(url, "/healthz")) {
		const char *targets = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "targets");
		unsigned status = health_write(cls, time(NULL), targets && !strcmp(targets, "1"), &body);

		if (!body)
			return MHD_NO;
		return reply(conn, status, "application/json", body, strlen(body),
			     MHD_RESPMEM_MUST_FREE);
	}
	if (strcmp(url, "/metrics"))
		return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", not_found,
			     sizeof(not_found) - 1, MHD_RESPMEM_PERSISTENT);
	out = open_memstream(&body, &len);
	if (!out)
		return MHD_NO;
	rc = metrics_write(cls, out);
	if (fclose(out) != 0 || rc < 0) {
		free(body);
		return MHD_NO;
	}
	return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, len,
		     MHD_RESPMEM_MUST_FREE);
}

/* Counted each time, logged at most once a minute: a flood of connections must not flood the
 * log too. */
static void count_refused(void)
{
	unsigned long long n = metrics_refused_add();
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	if (refused_logged >= 0 && now.tv_sec - refused_logged < REFUSED_LOG_INTERVAL_S)
		return;
	refused_logged = now.tv_sec;
	log_warn("metrics: a connection was closed at once: %d are open from its address "
		 "(%llu so far, in ktund_metrics_refused_total; said at most once a minute)",
		 CONNECTIONS_PER_ADDR, n);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[256];

	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	if (!strncmp(line, LIMIT_MESSAGE, strlen(LIMIT_MESSAGE)))
		count_refused();
	else
		log_warn("metrics: %s", line);
}

int metrics_http_bind(struct ktun *k)
{
	char addr[ADDR_TEXT_MAX];

	k->metrics_fd = -1;
	if (!k->cfg.metrics_listen)
		return 0;
	k->metrics_fd = listener_open(&k->cfg.metrics_addr, false);
	if (k->metrics_fd < 0) {
		log_err("metrics-listen %s: %s", addr_format((const struct sockaddr *)&k->cfg.metrics_addr.ss,
							    k->cfg.metrics_addr.len, addr),
			strerror(-k->metrics_fd));
		return k->metrics_fd;
	}
	k->metrics_bound = k->cfg.metrics_addr;
	return 0;
}

int metrics_http_start(struct ktun *k)
{
	char addr[ADDR_TEXT_MAX];
	int fd = k->metrics_fd;

	if (fd < 0)
		return 0;
	k->metrics_fd = -1; /* libmicrohttpd's now, or closed below */
	addr_format((const struct sockaddr *)&k->cfg.metrics_addr.ss, k->cfg.metrics_addr.len, addr);
	/* The logger first: libmicrohttpd uses its own for options that precede it. */
	/* poll or epoll, not select(): select() cannot watch a descriptor numbered 1024 or more,
	 * and a busy ktund (its soft RLIMIT_NOFILE raised) hands out such numbers. */
	k->metrics_http = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0,
					   NULL, NULL, on_request, k,
					   MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
					   MHD_OPTION_LISTEN_SOCKET, fd,
					   MHD_OPTION_CONNECTION_LIMIT, CONNECTIONS_MAX,
					   MHD_OPTION_PER_IP_CONNECTION_LIMIT, CONNECTIONS_PER_ADDR,
					   MHD_OPTION_CONNECTION_TIMEOUT, CONNECTION_TIMEOUT_S,
					   MHD_OPTION_END);
	if (!k->metrics_http) {
		log_err("metrics-listen %s: libmicrohttpd could not start", addr);
		close(fd);
		return -EIO;
	}
	log_notice("metrics on http://%s/metrics, health on http://%s/healthz", addr, addr);
	return 0;
}

void metrics_http_stop(struct ktun *k)
{
	if (k->metrics_fd >= 0)
		close(k->metrics_fd);
	k->metrics_fd = -1;
	if (k->metrics_http)
		MHD_stop_daemon(k->metrics_http);
	k->metrics_http = NULL;
}
