// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "phase.h"
#include "proxy_v2.h"
#include "tls_io.h"
#include "tunnel_ctx.h"

/* The connect phase: opening the second socket of a connection, to the target (server
 * mode, plaintext) or to the far ktund (client mode, TLS). A failure here resets the
 * accepted side, so the application sees its connection fail instead of a clean close (see
 * peers.md on istio#60955). */

static enum verdict connect_begin(struct conn *c)
{
	const struct ktun_addr *target = &c->ctx->target;
	struct io_uring_sqe *sqe;
	int fd;

	fd = socket(target->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return conn_closef(c, REASON_TARGET_UNREACHABLE, "socket: %s", strerror(errno));
	if (target->ss.ss_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	if (c->ctx->mode == MODE_SERVER)
		c->plain_fd = fd;
	else
		c->tls_fd = fd;
	c->connect_timeout = (struct __kernel_timespec){ .tv_sec = c->ctx->connect_timeout_ms / 1000 };

	conn_sqe_reserve(c, 2);
	sqe = conn_sqe(c);
	io_uring_prep_connect(sqe, fd, (const struct sockaddr *)&target->ss, target->len);
	sqe->flags |= IOSQE_IO_LINK;
	conn_submit(c, sqe, OP_CONNECT);
	sqe = conn_sqe(c);
	io_uring_prep_link_timeout(sqe, &c->connect_timeout, 0);
	conn_submit(c, sqe, OP_CONNECT_TIMEOUT);
	return VERDICT_AGAIN;
}

static const char *tls_version_text(gnutls_session_t s)
{
	/* The spelling PROXY v2 consumers (HAProxy, nginx) know from OpenSSL. */
	switch (gnutls_protocol_get_version(s)) {
	case GNUTLS_TLS1_3:
		return "TLSv1.3";
	case GNUTLS_TLS1_2:
		return "TLSv1.2";
	default:
		return NULL;
	}
}

/* The PROXY v2 header, first on the target connection: a few hundred bytes into an empty
 * socket buffer, so one non-blocking send takes it whole or the connection is broken. */
static int send_proxy_header(struct conn *c)
{
	struct sockaddr_storage src = c->peer, dst;
	socklen_t srclen = c->peerlen, dstlen = sizeof(dst);
	uint8_t header[PROXY_V2_MAX];
	struct peer_facts facts;
	ssize_t sent;
	int len;

	if (getsockname(c->tls_fd, (struct sockaddr *)&dst, &dstlen) < 0)
		return -errno;
	/* A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d: say what they are. */
	addr_unmap(&src, &srclen);
	addr_unmap(&dst, &dstlen);
	verify_peer_facts(c->session, &facts);
	len = proxy_v2_encode(header, sizeof(header), &(struct proxy_v2_info){
		.src = (struct sockaddr *)&src, .dst = (struct sockaddr *)&dst,
		.version = tls_version_text(c->session), .cn = facts.cn,
		.cipher = gnutls_ciphersuite_get(c->session), .uri = facts.uri,
		.fingerprint = facts.has_fingerprint ? facts.fingerprint : NULL });
	if (len < 0)
		return len;
	sent = send(c->plain_fd, header, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (sent < 0)
		return -errno;
	return sent == len ? 0 : -EAGAIN;
}

static enum verdict on_connect(struct conn *c, int res)
{
	if (res == -ECANCELED)
		return conn_closef(c, REASON_CONNECT_TIMEOUT, "no connection within %u s",
				   c->ctx->connect_timeout_ms / 1000);
	if (res < 0)
		return conn_closef(c, REASON_TARGET_UNREACHABLE, "connect: %s", strerror(-res));
	if (c->ctx->mode == MODE_SERVER && c->ctx->proxy_protocol) {
		res = send_proxy_header(c);
		if (res < 0)
			return conn_closef(c, REASON_IO_ERROR, "PROXY header: %s", strerror(-res));
	}
	return VERDICT_NEXT;
}

const struct phase connect_phase = {
	.name = "connect",
	.state = CONN_CONNECTING,
	.begin = connect_begin,
	.on = {
		[OP_CONNECT] = on_connect,
		[OP_TLS_SEND] = tls_io_on_send, /* server: the handshake's last flight */
	},
};
