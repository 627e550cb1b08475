// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "conn.h"
#include "tunnel_ctx.h"
#include "worker.h"

/* Opening the second socket of a connection: the target (server mode, plaintext) or the far
 * ktund (client mode, TLS). A failure here resets the accepted side, so the application sees
 * its connection fail instead of a clean close (see peers.md on istio#60955). */

void connect_start(struct conn *c)
{
	const struct ktun_addr *target = &c->ctx->target;
	struct io_uring_sqe *sqe;
	int fd;

	fd = socket(target->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(c->detail, sizeof(c->detail), "socket: %s", strerror(errno));
		conn_close(c, REASON_TARGET_UNREACHABLE);
		return;
	}
	if (target->ss.ss_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	if (c->ctx->mode == MODE_SERVER)
		c->plain_fd = fd;
	else
		c->tls_fd = fd;
	c->state = CONN_CONNECTING;
	c->connect_timeout = (struct __kernel_timespec){ .tv_sec = c->ctx->connect_timeout_ms / 1000 };

	sqe = worker_sqe(c->w);
	io_uring_prep_connect(sqe, fd, (const struct sockaddr *)&target->ss, target->len);
	sqe->flags |= IOSQE_IO_LINK;
	conn_submit(c, sqe, UD_CONNECT);
	sqe = worker_sqe(c->w);
	io_uring_prep_link_timeout(sqe, &c->connect_timeout, 0);
	conn_submit(c, sqe, UD_LINK_TIMEOUT);
}

void connect_done(struct conn *c, int res)
{
	if (res == -ECANCELED) {
		snprintf(c->detail, sizeof(c->detail), "no connection within %u s",
			 c->ctx->connect_timeout_ms / 1000);
		conn_close(c, REASON_CONNECT_TIMEOUT);
		return;
	}
	if (res < 0) {
		snprintf(c->detail, sizeof(c->detail), "connect: %s", strerror(-res));
		conn_close(c, REASON_TARGET_UNREACHABLE);
		return;
	}
	if (c->ctx->mode == MODE_SERVER) {
		pump_start(c);
		return;
	}
	if (handshake_start(c) == 0)
		handshake_step(c);
}
