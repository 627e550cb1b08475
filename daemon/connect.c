// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "http_answer.h"
#include "log.h"
#include "phase.h"
#include "plain_io.h"
#include "proxy_v2.h"
#include "tls_io.h"
#include "tunnel.h"
#include "tunnel_ctx.h"
#include "worker.h"

/* The connect phase: opening the second socket of a connection, to the target (server
 * mode, plaintext) or to the far ktund (client mode, TLS). A failure here resets the
 * accepted side, so the application sees its connection fail instead of a clean close (see
 * peers.md on istio#60955). */

/* Closes c for reason: a from-client peer gets the HTTP answer for it first. */
static enum verdict refuse(struct conn *c, int status, enum reason reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static enum verdict refuse(struct conn *c, int status, enum reason reason, const char *fmt, ...)
{
	char detail[sizeof(c->detail)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (c->ctx->from_client)
		return http_answer_refuse(c, status, reason, "%s", detail);
	return conn_closef(c, reason, "%s", detail);
}

/* Where this attempt goes: a fixed target the tunnel's set picks (target_set.c), or the
 * destination dest_request.c allowed. False once every fixed target was tried. */
static bool choose(struct conn *c, const struct sockaddr_storage **addr, socklen_t *len)
{
	struct target_set *set = &c->ctx->targets;
	int i;

	if (c->ctx->from_client) {
		*addr = &c->dst;
		*len = c->dstlen;
		return true;
	}
	i = target_set_pick(set, c->targets_tried, c->w->now_ms);
	if (i < 0)
		return false;
	c->target = i;
	c->targets_tried |= UINT32_C(1) << i;
	*addr = &set->addrs[i].ss;
	*len = set->addrs[i].len;
	return true;
}

static enum verdict attempt(struct conn *c, const struct sockaddr_storage *target, socklen_t len)
{
	struct io_uring_sqe *sqe;
	int fd;

	fd = socket(target->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return refuse(c, 502, REASON_TARGET_UNREACHABLE, "socket: %s", strerror(errno));
	if (target->ss_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	if (c->ctx->mode == MODE_SERVER)
		c->plain_fd = fd;
	else
		c->tls_fd = fd;
	c->connect_timeout = (struct __kernel_timespec){ .tv_sec = c->ctx->connect_timeout_ms / 1000 };

	conn_sqe_reserve(c, 2);
	sqe = conn_sqe(c);
	io_uring_prep_connect(sqe, fd, (const struct sockaddr *)target, len);
	sqe->flags |= IOSQE_IO_LINK;
	conn_submit(c, sqe, OP_CONNECT);
	sqe = conn_sqe(c);
	io_uring_prep_link_timeout(sqe, &c->connect_timeout, 0);
	conn_submit(c, sqe, OP_CONNECT_TIMEOUT);
	return VERDICT_AGAIN;
}

static enum verdict connect_begin(struct conn *c)
{
	const struct sockaddr_storage *target;
	socklen_t len;

	if (!choose(c, &target, &len))
		return refuse(c, 502, REASON_TARGET_UNREACHABLE, "no target");
	return attempt(c, target, len);
}

/* The attempt's socket goes before the next is made; ktunctl conns reads the fds of a
 * listed connection under its worker's conns_lock. */
static void drop_socket(struct conn *c)
{
	int *fd = c->ctx->mode == MODE_SERVER ? &c->plain_fd : &c->tls_fd;

	pthread_mutex_lock(&c->w->conns_lock);
	close(*fd);
	*fd = -1;
	pthread_mutex_unlock(&c->w->conns_lock);
}

/* A fixed target failed: its back-off starts (said once, when it goes down). */
static void mark_down(struct conn *c, const char *why)
{
	const struct ktun_addr *a = &c->ctx->targets.addrs[c->target];
	char text[ADDR_TEXT_MAX];
	unsigned backoff;

	if (target_set_failed(&c->ctx->targets, (size_t)c->target, c->w->now_ms, &backoff))
		log_warn("[%s] target %s down (%s): tried last for %u s", c->t->name,
			 addr_format((const struct sockaddr *)&a->ss, a->len, text), why,
			 backoff / 1000);
}

/* from-client: the next allowed address of the name, as the destination of the connection. */
static bool next_alternative(struct conn *c, const struct sockaddr_storage **addr, socklen_t *len)
{
	struct dest_alts *alts = c->dest_alts;

	if (!alts || alts->next == alts->n)
		return false;
	conn_set_dst(c, &alts->addrs[alts->next], alts->lens[alts->next], alts->rules[alts->next]);
	alts->next++;
	*addr = &c->dst;
	*len = c->dstlen;
	return true;
}

/* The connect failed: the next target (or allowed address) gets its own attempt within this
 * connection, so the application sees no failure while one is up; the last failure closes. */
static enum verdict attempt_failed(struct conn *c, int res)
{
	const char *why = res == -ECANCELED ? "timed out" : strerror(-res);
	const struct sockaddr_storage *next = NULL;
	char addr[ADDR_TEXT_MAX];
	socklen_t len = 0;

	if (c->target >= 0)
		mark_down(c, why);
	drop_socket(c);
	if (c->ctx->from_client ? next_alternative(c, &next, &len) : choose(c, &next, &len)) {
		log_debug("[%s] conn=%llu: connect failed (%s), trying %s", c->t->name,
			  (unsigned long long)c->id, why,
			  addr_format((const struct sockaddr *)next, len, addr));
		return attempt(c, next, len);
	}
	if (res == -ECANCELED)
		return refuse(c, 504, REASON_CONNECT_TIMEOUT, "no connection within %u s",
			      c->ctx->connect_timeout_ms / 1000);
	return refuse(c, 502, REASON_TARGET_UNREACHABLE, "connect: %s", why);
}

/* A fixed target that had failed took a connection: up again, said once. */
static void mark_up(struct conn *c)
{
	const struct ktun_addr *a;
	char text[ADDR_TEXT_MAX];

	if (c->target < 0 || !target_set_succeeded(&c->ctx->targets, (size_t)c->target))
		return;
	a = &c->ctx->targets.addrs[c->target];
	log_notice("[%s] target %s up again", c->t->name,
		   addr_format((const struct sockaddr *)&a->ss, a->len, text));
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

/* An IPv4 address as IPv4-mapped IPv6 (::ffff:a.b.c.d), for a PROXY header whose other
 * address is IPv6: the header carries two addresses of one family. */
static void map_v4(struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	if (ss->ss_family != AF_INET)
		return;
	memcpy(&sin, ss, sizeof(sin));
	memset(ss, 0, sizeof(*ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = sin.sin_port;
	sin6->sin6_addr.s6_addr[10] = sin6->sin6_addr.s6_addr[11] = 0xff;
	memcpy(&sin6->sin6_addr.s6_addr[12], &sin.sin_addr, 4);
	*len = sizeof(*sin6);
}

/* The PROXY v2 header, first on the target connection: a few hundred bytes into an empty
 * socket buffer, so one non-blocking send takes it whole or the connection is broken.
 * from-client: the source is the original client the request's Forwarded names (else the
 * edge host), the destination the one it asked for. */
static int send_proxy_header(struct conn *c)
{
	struct sockaddr_storage src = c->fwdlen ? c->fwd : c->peer, dst = c->dst;
	socklen_t srclen = c->fwdlen ? c->fwdlen : c->peerlen, dstlen = sizeof(dst);
	uint8_t header[PROXY_V2_MAX];
	struct peer_facts facts;
	ssize_t sent;
	int len;

	if (c->ctx->from_client)
		dstlen = c->dstlen;
	else if (getsockname(c->tls_fd, (struct sockaddr *)&dst, &dstlen) < 0)
		return -errno;
	/* A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d: say what they are. */
	addr_unmap(&src, &srclen);
	addr_unmap(&dst, &dstlen);
	if (src.ss_family != dst.ss_family) {
		map_v4(&src, &srclen);
		map_v4(&dst, &dstlen);
	}
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

/* target = from-client: the 200 goes to the peer, and the bytes that followed its request
 * head (in plain_out) to the origin, after the PROXY header, before anything else. */
static enum verdict accept_request(struct conn *c)
{
	int rc = http_answer_ok(c);

	if (rc < 0)
		return tls_io_close(c, REASON_IO_ERROR, rc, "200 answer: ");
	if (!buf_used(&c->plain_out))
		return VERDICT_NEXT;
	plain_io_flush(c);
	return VERDICT_AGAIN;
}

static enum verdict on_connect(struct conn *c, int res)
{
	if (res < 0)
		return attempt_failed(c, res);
	mark_up(c);
	if (c->ctx->mode == MODE_SERVER && c->ctx->proxy_protocol) {
		res = send_proxy_header(c);
		if (res < 0)
			return conn_closef(c, REASON_IO_ERROR, "PROXY header: %s", strerror(-res));
	}
	if (c->ctx->from_client)
		return accept_request(c);
	return VERDICT_NEXT;
}

static enum verdict on_plain_send(struct conn *c, int res)
{
	res = plain_io_sent(c, res);
	if (res < 0)
		return conn_fail_io(c, "send to the origin", res);
	return res ? VERDICT_AGAIN : VERDICT_NEXT;
}

const struct phase connect_phase = {
	.name = "connect",
	.state = CONN_CONNECTING,
	.begin = connect_begin,
	.on = {
		[OP_CONNECT] = on_connect,
		[OP_TLS_SEND] = tls_io_on_send, /* server: the handshake's last flight, a 200 */
		[OP_PLAIN_SEND] = on_plain_send, /* from-client: what followed the request head */
	},
};
