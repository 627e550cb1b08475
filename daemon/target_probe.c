// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "target_probe.h"
#include "tunnel.h"

static pthread_mutex_t round_lock = PTHREAD_MUTEX_INITIALIZER;
static struct target_state *last;
static size_t last_n;
static struct timespec last_at;

static void failed(struct target_reach *s, const char *why)
{
	s->reachable = false;
	snprintf(s->error, sizeof(s->error), "%s", why);
}

/* A non-blocking connect: the fd to wait on, or -1 with s filled (done at once either way). */
static int start(const struct ktun_addr *a, struct target_reach *s)
{
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	addr_format((const struct sockaddr *)&a->ss, a->len, s->target);
	if (fd < 0) {
		failed(s, strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) == 0) {
		s->reachable = true;
		close(fd);
		return -1;
	}
	if (errno != EINPROGRESS) {
		failed(s, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void finish(struct pollfd *p, struct target_reach *s)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (!p->revents) {
		failed(s, "timed out");
	} else if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
		failed(s, strerror(err ? err : errno));
	} else {
		s->reachable = true;
	}
	close(p->fd);
}

static int ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int)((now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000);
}

static void start_tunnel(struct tunnel *t, struct target_state *out, struct pollfd *fds,
			 size_t *waiting)
{
	struct tunnel_ctx *ctx = tunnel_acquire_ctx(t);

	memset(out, 0, sizeof(*out));
	out->fixed = ctx->targets.n > 0;
	out->n = ctx->targets.n;
	for (size_t j = 0; j < TARGETS_MAX; j++) {
		fds[j].fd = j < out->n ? start(&ctx->targets.addrs[j], &out->each[j]) : -1;
		fds[j].events = POLLOUT;
		*waiting += fds[j].fd >= 0;
	}
	tunnel_ctx_put(ctx);
}

/* All connects in flight at once (TARGETS_MAX slots per tunnel), one poll over them until
 * all answered or the time is up. */
static void probe_round(struct ktun *k, struct target_state *out, size_t n)
{
	struct pollfd *fds = calloc(n * TARGETS_MAX, sizeof(*fds));
	struct timespec t0;
	size_t waiting = 0;

	if (!fds) {
		for (size_t i = 0; i < n; i++)
			out[i] = (struct target_state){ .fixed = true };
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < n; i++)
		start_tunnel(&k->tunnels[i], &out[i], &fds[i * TARGETS_MAX], &waiting);
	while (waiting) {
		int left = TARGET_PROBE_TIMEOUT_MS - ms_since(&t0), rc;

		rc = left > 0 ? poll(fds, n * TARGETS_MAX, left) : 0;
		if (rc < 0 && errno == EINTR)
			continue;
		for (size_t f = 0; f < n * TARGETS_MAX; f++) {
			if (fds[f].fd < 0 || (rc > 0 && !fds[f].revents))
				continue;
			finish(&fds[f], &out[f / TARGETS_MAX].each[f % TARGETS_MAX]);
			fds[f].fd = -1; /* poll skips it from now on */
			waiting--;
		}
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < out[i].n; j++)
			out[i].reachable |= out[i].each[j].reachable;
	free(fds);
}

size_t target_probe(struct ktun *k, struct target_state *out, size_t n)
{
	size_t down = 0;

	if (n > k->n_tunnels)
		n = k->n_tunnels;
	pthread_mutex_lock(&round_lock);
	if (!last || last_n != n || ms_since(&last_at) >= TARGET_PROBE_CACHE_S * 1000) {
		struct target_state *fresh = calloc(n, sizeof(*fresh));

		if (fresh) {
			probe_round(k, fresh, n);
			free(last);
			last = fresh;
			last_n = n;
			clock_gettime(CLOCK_MONOTONIC, &last_at);
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (last && last_n == n)
			out[i] = last[i];
		else
			out[i] = (struct target_state){ .fixed = true };
		down += out[i].fixed && !out[i].reachable;
	}
	pthread_mutex_unlock(&round_lock);
	return down;
}
