// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <linux/rtnetlink.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "connect_request.h"
#include "daemon.h"
#include "http_answer.h"
#include "local_route.h"
#include "phase.h"
#include "resolver.h"
#include "tls_io.h"
#include "tunnel.h"
#include "tunnel_ctx.h"
#include "worker.h"

/*
 * The destination request phase of a `target = from-client` server, between the handshake
 * and the connect: the peer's first application bytes must be an HTTP/1.1 CONNECT request
 * head (connect_request.c), read through GnuTLS before any key goes to the kernel. The
 * destination it names must be covered by an allow-destination rule for this peer and must
 * not be one of our own listeners; then the connect phase connects there (c->dst) and
 * answers 200. A refusal is answered (400, 403) and ends with close_notify. What follows the
 * head stays in plain_out, for the origin before anything else. Other tunnels pass at once.
 * Until its first byte the request may take request-timeout (a client's pooled connection
 * waits here until taken); from its first byte, handshake-timeout bounds a slow request.
 */

static bool sa_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24 == IN_LOOPBACKNET;
	return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

/* Whether a connection to sa would come back to this host: all of loopback, and any address
 * the kernel routes locally (local_route.c). Fails closed: an unanswered query counts as this
 * host. */
static bool addr_is_this_host(const struct sockaddr *sa)
{
	int type;

	if (sa_loopback(sa))
		return true;
	type = local_route_type(sa);
	if (type == -ENETUNREACH || type == -EHOSTUNREACH)
		return false;
	return type < 0 || type == RTN_LOCAL;
}

static uint16_t sa_port(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
					      : ((const struct sockaddr_in6 *)ss)->sin6_port);
}

static bool sa_unspecified(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* Whether dst reaches the listener l. One on a wildcard address takes every local address (a
 * dual-stack one IPv4's too). */
static bool reaches(const struct ktun_addr *listener, const struct sockaddr_storage *dst,
		    socklen_t len)
{
	struct sockaddr_storage l = listener->ss;
	socklen_t llen = listener->len;

	if (l.ss_family != AF_INET && l.ss_family != AF_INET6)
		return false;
	addr_unmap(&l, &llen);
	if (sa_port(&l) != sa_port(dst))
		return false;
	if (sa_unspecified(dst))
		return true;
	if (sa_unspecified(&l) && (l.ss_family == dst->ss_family || l.ss_family == AF_INET6) &&
	    addr_is_this_host((const struct sockaddr *)dst))
		return true;
	return llen == len && !memcmp(&l, dst, len);
}

/* A destination that is one of this daemon's listeners would loop back into it (a tunnel's)
 * or hand out what only the operator's network should see (the metrics and health one). */
static bool is_own_listener(const struct conn *c, const struct sockaddr_storage *dst, socklen_t len)
{
	const struct ktun *k = c->w->k;

	for (size_t i = 0; i < k->n_tunnels; i++)
		if (reaches(&k->tunnels[i].listen, dst, len))
			return true;
	return reaches(&k->metrics_bound, dst, len);
}

/* The first allow-destination rule that gives dst to this peer, or -1. */
static int rule_for(const struct conn *c, const struct sockaddr_storage *dst)
{
	const gnutls_datum_t *chain;
	gnutls_x509_crt_t leaf;
	unsigned n = 0;
	int rule = -1;

	chain = gnutls_certificate_get_peers(c->session, &n);
	if (!chain || !n || gnutls_x509_crt_init(&leaf) < 0)
		return -1;
	if (gnutls_x509_crt_import(leaf, &chain[0], GNUTLS_X509_FMT_DER) == 0)
		rule = dest_rules_match(c->ctx->dests, c->ctx->n_dests, (const struct sockaddr *)dst, leaf);
	gnutls_x509_crt_deinit(leaf);
	return rule;
}

/* dst is allowed by rule: the connect phase goes there. */
static enum verdict allow(struct conn *c, const struct sockaddr_storage *dst, socklen_t len,
			  int rule)
{
	conn_set_dst(c, dst, len, rule);
	__atomic_add_fetch(&c->ctx->dests[rule].allowed, 1, __ATOMIC_RELAXED);
	return VERDICT_NEXT;
}

/* Addresses no rule gives: the unspecified one reaches this host's wildcard services, and
 * multicast or broadcast ones are not one destination. */
static const char *never_allowed(const struct sockaddr_storage *dst)
{
	if (sa_unspecified(dst))
		return "the unspecified address (it reaches this host)";
	if (dst->ss_family == AF_INET6)
		return IN6_IS_ADDR_MULTICAST(&((const struct sockaddr_in6 *)dst)->sin6_addr)
			       ? "a multicast address" : NULL;
	if (IN_MULTICAST(ntohl(((const struct sockaddr_in *)dst)->sin_addr.s_addr)))
		return "a multicast address";
	/* 255.255.255.255 (routed only where a route covers it), and every subnet's broadcast
	 * address, as the kernel routes them. */
	if (((const struct sockaddr_in *)dst)->sin_addr.s_addr == htonl(INADDR_BROADCAST) ||
	    local_route_type((const struct sockaddr *)dst) == RTN_BROADCAST)
		return "a broadcast address";
	return NULL;
}

/* Why dst may not be had, or NULL if it may (with *rule set). */
static const char *check(const struct conn *c, const struct sockaddr_storage *dst, socklen_t len,
			 int *rule)
{
	const char *never = never_allowed(dst);

	*rule = -1;
	if (never)
		return never;
	*rule = rule_for(c, dst);
	if (*rule < 0)
		return "no allow-destination rule gives it to this peer";
	if (is_own_listener(c, dst, len))
		return "one of this server's own listeners (a loop)";
	return NULL;
}

/* The allowed addresses after the first (from), kept for connect.c to try in order if the
 * first refuses or times out; each passes check() as the first did. Without memory, only
 * the first is tried. */
static void keep_alternatives(struct conn *c, struct resolve_req *req, size_t from)
{
	struct dest_alts *alts = NULL;

	for (size_t i = from; i < req->n; i++) {
		int rule;

		addr_unmap(&req->addrs[i], &req->lens[i]);
		if (check(c, &req->addrs[i], req->lens[i], &rule))
			continue;
		if (!alts)
			alts = calloc(1, sizeof(*alts));
		if (!alts || alts->n == RESOLVE_ALTS_MAX)
			break;
		alts->addrs[alts->n] = req->addrs[i];
		alts->lens[alts->n] = req->lens[i];
		alts->rules[alts->n++] = rule;
	}
	c->dest_alts = alts;
}

/* A name's addresses, in the resolver's order: the first that passes check() is taken, the
 * others that pass are kept to fall back on. */
static enum verdict on_resolved(struct conn *c, int res)
{
	struct resolve_req *req = c->resolving;
	char list[3 * ADDR_TEXT_MAX] = "", addr[ADDR_TEXT_MAX];
	const char *why = "no address";

	if (res < 0)
		return http_answer_refuse(c, 502, REASON_TARGET_UNREACHABLE, "dst=%s:%u: %s",
					  req->host, req->port, gai_strerror(req->gai));
	for (size_t i = 0; i < req->n; i++) {
		int rule;

		addr_unmap(&req->addrs[i], &req->lens[i]);
		why = check(c, &req->addrs[i], req->lens[i], &rule);
		if (!why) {
			keep_alternatives(c, req, i + 1);
			return allow(c, &req->addrs[i], req->lens[i], rule);
		}
		if (strlen(list) + ADDR_TEXT_MAX + 2 < sizeof(list))
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? " " : "",
				 addr_format((const struct sockaddr *)&req->addrs[i], req->lens[i], addr));
	}
	return http_answer_refuse(c, 403, REASON_DESTINATION_DENIED, "dst=%s:%u (%s): %s",
				  req->host, req->port, list, why);
}

/* A name goes to the resolver thread; the worker goes on with other connections. */
static enum verdict resolve(struct conn *c, const struct connect_request *req)
{
	struct resolve_req *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return http_answer_refuse(c, 502, REASON_TARGET_UNREACHABLE,
					  "dst=%s:%u: out of memory", req->host, req->port);
	*r = (struct resolve_req){ .c = c, .worker = c->w->id, .port = req->port };
	memcpy(r->host, req->host, sizeof(r->host));
	rc = resolver_submit(r);
	if (rc == -EBUSY) {
		free(r);
		return http_answer_refuse(c, 503, REASON_RESOLVER_BUSY, "dst=%s:%u: %u name lookups "
					  "already wait (the most the resolver holds)", req->host,
					  req->port, RESOLVE_PENDING_MAX);
	}
	if (rc < 0) {
		free(r);
		return http_answer_refuse(c, 502, REASON_TARGET_UNREACHABLE,
					  "dst=%s:%u: no name resolver (target = from-client came "
					  "by a reload: restart ktund)", req->host, req->port);
	}
	c->resolving = r;
	conn_op_started(c, OP_RESOLVE);
	return VERDICT_AGAIN;
}

/* The request is whole: decide on its destination. */
static enum verdict decide(struct conn *c, struct connect_request *req)
{
	char addr[ADDR_TEXT_MAX];
	const char *why;
	int rule;

	c->fwd = req->src;
	c->fwdlen = req->srclen;
	if (c->fwdlen)
		addr_unmap(&c->fwd, &c->fwdlen);
	if (!req->host_is_literal)
		return resolve(c, req);
	addr_unmap(&req->dst, &req->dstlen);
	why = check(c, &req->dst, req->dstlen, &rule);
	if (why)
		return http_answer_refuse(c, 403, REASON_DESTINATION_DENIED, "dst=%s: %s",
					  addr_format((const struct sockaddr *)&req->dst, req->dstlen,
						      addr), why);
	return allow(c, &req->dst, req->dstlen, rule);
}

/* The rest of the record that ended the head is the application's: take it now, as GnuTLS
 * would otherwise hold it where the next phases do not look. */
static int take_pending(struct conn *c)
{
	struct buf *in = &c->plain_out;

	while (gnutls_record_check_pending(c->session) && buf_room(in)) {
		ssize_t n = gnutls_record_recv(c->session, in->data + in->len, buf_room(in));

		if (n <= 0)
			return n < 0 ? (int)n : 0;
		in->len += (size_t)n;
	}
	return 0;
}

static enum verdict parsed(struct conn *c, struct connect_request *req, int head_len)
{
	int rc = take_pending(c);

	if (rc < 0)
		return tls_io_close(c, REASON_TLS_ERROR, rc, "request: ");
	c->plain_out.off = (size_t)head_len;
	return decide(c, req);
}

/* Reads application data through GnuTLS until the head is whole: at most
 * CONNECT_REQUEST_MAX bytes, so an oversized head is refused without reading past it. */
static enum verdict request_step(struct conn *c)
{
	struct buf *in = &c->plain_out;
	struct connect_request req;
	char why[160];

	/* A refusal's answer must follow what is being sent (a session ticket) in order. */
	if (conn_busy(c, OPS_TLS_TX))
		return VERDICT_AGAIN;
	for (;;) {
		size_t before = c->tls_in.off;
		ssize_t n;
		int rc;

		c->pull_starved = false;
		n = gnutls_record_recv(c->session, in->data + in->len, CONNECT_REQUEST_MAX - in->len);
		if (n > 0 && !in->len)
			/* The request has begun: the rest is bounded as a handshake is. */
			c->deadline_ms = c->w->now_ms + c->ctx->handshake_timeout_ms;
		if (n > 0) {
			in->len += (size_t)n;
			rc = connect_request_parse(in->data, in->len, &req, why, sizeof(why));
			if (rc > 0)
				return parsed(c, &req, rc);
			if (rc < 0)
				return http_answer_refuse(c, 400, REASON_BAD_REQUEST, "%s", why);
			continue;
		}
		if (n == 0 && !in->len)
			/* A clean end before any request: a client's pooled connection it did not
			 * need (pool-idle, reload, drain), no malformed request. */
			return conn_closef(c, REASON_DONE, "closed before a request (an unused "
					   "pooled connection)");
		if (n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION)
			return conn_closef(c, REASON_BAD_REQUEST, "the peer ended the session before "
					   "a complete CONNECT request (%zu bytes)", in->len);
		if (n == GNUTLS_E_AGAIN && (c->pull_starved || c->tls_in.off == before)) {
			tls_io_receive(c);
			return VERDICT_AGAIN;
		}
		if (n != GNUTLS_E_AGAIN && n != GNUTLS_E_INTERRUPTED)
			return tls_io_close(c, REASON_TLS_ERROR, (int)n, "request: ");
	}
}

static enum verdict request_begin(struct conn *c)
{
	if (!c->ctx->from_client)
		return VERDICT_NEXT;
	/* An authenticated peer may wait for its request (a client's warm pool): that wait
	 * has a bound of its own, and max-connections bounds how many wait. */
	c->request_ms = c->w->now_ms;
	c->deadline_ms = c->w->now_ms + c->ctx->request_timeout_ms;
	c->plain_out.off = c->plain_out.len = 0;
	return request_step(c);
}

static enum verdict on_tls_recv(struct conn *c, int res)
{
	res = tls_io_received(c, res);
	if (res < 0)
		return conn_close(c, conn_error_reason(-res));
	return request_step(c);
}

static enum verdict on_tls_send(struct conn *c, int res)
{
	res = tls_io_sent(c, res);
	if (res < 0)
		return conn_close(c, REASON_PEER_CLOSED);
	/* While a name is looked up the request has been read: nothing to step. */
	return res || c->resolving ? VERDICT_AGAIN : request_step(c);
}

const struct phase dest_request_phase = {
	.name = "destination request",
	.state = CONN_REQUEST,
	.begin = request_begin,
	.on = {
		[OP_TLS_RECV] = on_tls_recv,
		[OP_TLS_SEND] = on_tls_send, /* the handshake's last flight, a session ticket */
		[OP_RESOLVE] = on_resolved,
	},
};
