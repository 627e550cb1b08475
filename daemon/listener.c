// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conn.h"
#include "daemon.h"
#include "evict.h"
#include "listener.h"
#include "log.h"
#include "origdst.h"
#include "phase.h"
#include "pool.h"
#include "ring.h"
#include "tunnel.h"
#include "worker.h"

#define LISTEN_BACKLOG 4096

static int remove_stale_unix_socket(const struct ktun_addr *addr)
{
	const struct sockaddr_un *sun = (const struct sockaddr_un *)&addr->ss;
	struct stat st;
	int probe, rc;

	if (lstat(sun->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return -errno;
	rc = connect(probe, (const struct sockaddr *)&addr->ss, addr->len);
	close(probe);
	if (rc == 0)
		return -EADDRINUSE;
	return unlink(sun->sun_path) < 0 ? -errno : 0;
}

int listener_open(const struct ktun_addr *addr, bool reuseport)
{
	int fd, rc;

	if (addr_is_unix(addr)) {
		rc = remove_stale_unix_socket(addr);
		if (rc < 0)
			return rc;
	}
	fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (!addr_is_unix(addr)) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int));
		if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &(int){ 1 }, sizeof(int)) < 0)
			goto fail;
	}
	if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0 ||
	    listen(fd, LISTEN_BACKLOG) < 0)
		goto fail;
	return fd;
fail:
	rc = -errno;
	close(fd);
	return rc;
}

int listener_open_transparent(unsigned short *port)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT,
				     .sin6_port = htons(*port) };
	socklen_t len = sizeof(sin6);
	int fd, rc;

	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int){ 0 }, sizeof(int)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, &(int){ 1 }, sizeof(int)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &(int){ 1 }, sizeof(int)) < 0 ||
	    bind(fd, (const struct sockaddr *)&sin6, sizeof(sin6)) < 0 ||
	    listen(fd, LISTEN_BACKLOG) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin6, &len) < 0)
		goto fail;
	*port = ntohs(sin6.sin6_port);
	return fd;
fail:
	rc = -errno;
	close(fd);
	return rc;
}

/* Accepting */

/*
 * Accept first, then take a slot. Reserving a slot before accepting let an idle worker's
 * armed accept hold a slot while another worker's listener, which the kernel keeps feeding
 * through SO_REUSEPORT, had a client and no slot: with max-connections below the number of
 * workers some clients waited forever. Now a listener that finds no slot holds its one
 * accepted connection, stops accepting, and serves it when any worker frees a slot.
 */
void listener_arm(struct listener *l)
{
	struct io_uring_sqe *sqe;

	if (l->accepting || l->held_fd >= 0 || l->closed || l->w->draining)
		return;
	l->paused = false;
	l->accepting = true;
	l->peerlen = sizeof(l->peer);
	sqe = ring_sqe(&l->w->ring);
	io_uring_prep_accept(sqe, l->fd, (struct sockaddr *)&l->peer, &l->peerlen, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, user_data_pack(l, OP_ACCEPT));
}

static void listener_drop_held(struct listener *l)
{
	struct linger reset = { .l_onoff = 1, .l_linger = 0 };

	if (l->held_fd < 0)
		return;
	/* Never served: the client sees a reset, as if its connection had been refused. */
	setsockopt(l->held_fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
	close(l->held_fd);
	l->held_fd = -1;
	__atomic_fetch_sub(&l->t->waiting, 1, __ATOMIC_RELAXED);
}

/* destination = original in t's current context: a connection without an original
 * destination is refused, and must not use up a pooled connection. */
static bool destination_original(struct tunnel *t)
{
	struct tunnel_ctx *ctx = tunnel_acquire_ctx(t);
	bool original = ctx->destination_mode == DESTINATION_ORIGINAL;

	tunnel_ctx_put(ctx);
	return original;
}

/* Serves the held connection if a slot is free; true if the listener may accept again. */
static bool serve_held(struct listener *l)
{
	int fd = l->held_fd;
	struct conn *c;

	if (fd < 0)
		return true;
	if (!tunnel_reserve(l->t)) {
		if (l->t->mode == MODE_SERVER)
			evict_idle_request(l->w, l->t);
		return false;
	}
	l->held_fd = -1;
	__atomic_fetch_sub(&l->t->waiting, 1, __ATOMIC_RELAXED);
	/* A ready pooled connection takes it, unless it would be refused below anyway. */
	c = l->t->mode == MODE_CLIENT && (l->dstlen || !destination_original(l->t)) ?
		    pool_take(l->w, l->t) : NULL;
	if (c) {
		conn_adopt(c, fd, &l->peer, l->peerlen, l->dstlen ? &l->dst : NULL, l->dstlen);
		phase_take(c);
		return true;
	}
	c = conn_new(l->w, l->t, fd, &l->peer, l->peerlen, l->dstlen ? &l->dst : NULL, l->dstlen);
	if (c && c->ctx->destination_mode == DESTINATION_ORIGINAL && !c->dstlen)
		/* Nothing to name in its CONNECT request: refused before any far connection. */
		conn_closef(c, REASON_NO_DESTINATION, "destination = original, and the connection "
			    "came to the listener itself");
	else if (c)
		phase_start(c);
	return true;
}

void listener_close(struct listener *l)
{
	if (l->closed)
		return;
	l->closed = true;
	listener_drop_held(l);
	if (l->accepting) {
		struct io_uring_sqe *sqe = ring_sqe(&l->w->ring);

		io_uring_prep_cancel_fd(sqe, l->fd, IORING_ASYNC_CANCEL_ALL);
		io_uring_sqe_set_data64(sqe, user_data_pack(l->w, OP_IGNORE));
		return; /* closed when the cancelled accept completes */
	}
	close(l->fd);
	l->fd = -1;
}

void listener_on_accept(struct listener *l, int res)
{
	struct worker *w = l->w;

	l->accepting = false;
	if (res >= 0) {
		if (l->transparent)
			addr_unmap(&l->peer, &l->peerlen);
		/* Where a steered connection was going (a client tunnel's, from this host). */
		l->dstlen = 0;
		if (l->t->mode == MODE_CLIENT && !addr_is_unix(&l->t->listen))
			origdst_find(w->k->redirect, res, l->transparent, &l->dst, &l->dstlen);
		l->held_fd = res;
		__atomic_fetch_add(&l->t->waiting, 1, __ATOMIC_RELAXED);
		if (l->closed) {
			listener_drop_held(l);
		} else if (!serve_held(l)) {
			return; /* at max-connections: a freed slot serves it */
		}
	} else {
		if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM) {
			/* Out of descriptors or memory: retrying at once would spin. Wait for the tick. */
			stat_add(&l->t->stats[w->id].accept_errors, 1);
			log_warn("[%s] accept: %s; pausing accepts for a second", l->t->name, strerror(-res));
			l->paused = true;
			return;
		}
		if (res != -ECANCELED && res != -EINTR && res != -ECONNABORTED)
			log_warn("[%s] accept: %s", l->t->name, strerror(-res));
	}
	if (l->closed) {
		if (l->fd >= 0)
			close(l->fd);
		l->fd = -1;
		return;
	}
	if (!l->paused)
		listener_arm(l);
}

void listener_serve_held(struct worker *w)
{
	for (size_t i = 0; i < w->n_listeners; i++) {
		struct listener *l = &w->listeners[i];

		if (l->held_fd >= 0 && serve_held(l))
			listener_arm(l);
	}
}
