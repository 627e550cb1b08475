// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "addr.h"
#include "conn.h"
#include "conn_report.h"
#include "daemon.h"
#include "tunnel.h"
#include "worker.h"

/* `ktunctl conns`: one line per live connection. Each worker's list is formatted into memory
 * under its conns_lock, which keeps every listed connection (and its fds) alive, and written
 * to the control client only after the lock is released: a slow reader must not hold up the
 * worker, which takes the lock on every accept, handshake and close. */

static const char *const state_names[] = {
	[CONN_CONNECTING] = "connecting", [CONN_HANDSHAKE] = "handshake",
	[CONN_REQUEST] = "request", [CONN_POOLED] = "pooled", [CONN_HANDOVER] = "handover",
	[CONN_STREAMING] = "streaming", [CONN_CLOSING] = "closing",
};

static void report_sockname(FILE *out, const char *key, int fd, bool local)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char text[ADDR_TEXT_MAX];
	int rc;

	if (fd < 0)
		return;
	rc = local ? getsockname(fd, (struct sockaddr *)&ss, &len)
		   : getpeername(fd, (struct sockaddr *)&ss, &len);
	if (rc == 0)
		fprintf(out, " %s=%s", key, addr_format((struct sockaddr *)&ss, len, text));
}

static void report_conn(FILE *out, const struct conn *c, int64_t now_ms)
{
	bool server = c->t->mode == MODE_SERVER;
	uint64_t p2t = __atomic_load_n(&c->bytes_p2t, __ATOMIC_RELAXED);
	uint64_t t2p = __atomic_load_n(&c->bytes_t2p, __ATOMIC_RELAXED);
	enum conn_state state = __atomic_load_n(&c->state, __ATOMIC_RELAXED);
	int64_t age = now_ms - c->started_ms;
	char peer[ADDR_TEXT_MAX], dst[CONN_DST_TEXT_MAX], rule[CONN_RULE_TEXT_MAX];

	fprintf(out, "conn=%llu tunnel=%s state=%s peer=%s%s id=\"%s\" version=%s cipher=%s "
		"datapath=%s up=%llu down=%llu age=%lld.%03lld",
		(unsigned long long)c->id, c->t->name, state_names[state],
		addr_format((const struct sockaddr *)&c->peer, c->peerlen, peer), conn_dst_text(c, dst),
		c->cert.id,
		c->version ? c->version : "-", c->cipher ? c->cipher : "-",
		state < CONN_STREAMING ? "-" : __atomic_load_n(&c->ktls, __ATOMIC_RELAXED) ? "ktls" : "userspace",
		(unsigned long long)(server ? t2p : p2t), (unsigned long long)(server ? p2t : t2p),
		(long long)(age / 1000), (long long)(age % 1000));
	/* The TLS socket's ends, so ktunctl can find it in the kernel's socket diagnostics. */
	report_sockname(out, "tls_local", c->tls_fd, true);
	report_sockname(out, "tls_remote", c->tls_fd, false);
	fputs(conn_rule_text(c, rule), out);
	fprintf(out, " resumed=%s\n", !c->version ? "-" : c->resumed ? "yes" : "no");
}

static int report_worker(struct worker *w, FILE *out, int64_t now_ms)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	int rc;

	if (!mem)
		return -errno;
	pthread_mutex_lock(&w->conns_lock);
	for (const struct conn *c = w->conns; c; c = c->next)
		report_conn(mem, c, now_ms);
	pthread_mutex_unlock(&w->conns_lock);
	rc = fclose(mem) == 0 ? 0 : -ENOMEM;
	/* A client that stops reading costs one send timeout, not one per worker. */
	if (rc == 0 && fwrite(text, 1, len, out) != len)
		rc = -EIO;
	free(text);
	return rc;
}

int conn_report(struct ktun *k, FILE *out, int64_t now_ms)
{
	int rc = 0;

	for (unsigned i = 0; rc == 0 && i < k->workers_inited; i++)
		rc = report_worker(&k->workers[i], out, now_ms);
	return rc;
}
