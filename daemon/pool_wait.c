// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>

#include "phase.h"
#include "pool_list.h"
#include "tls_io.h"
#include "tls_record.h"
#include "worker.h"

/*
 * The pool phase of a client tunnel with pool (pool.c): a connection the pool made waits here,
 * established and verified, until an accepted connection joins it (conn_adopt, then
 * phase_take begins the destination phase). It sends nothing, so the far ktund connects to no
 * origin; a receive stays posted so that whatever the far side sends is seen at once: a
 * session ticket or KeyUpdate is handled by GnuTLS and the wait goes on, anything else (a
 * close, an alert, data, an error) ends the connection, and the pool makes another.
 * GnuTLS sees whole records only (pull_limit), so the phases after it start at a record
 * boundary exactly as after the handshake. A connection with an application (no pool, or
 * taken before ready: never) passes at once.
 */

static enum verdict wait_step(struct conn *c)
{
	uint8_t sink[64];

	while (!c->close_notify_seen) {
		size_t need, whole = tls_record_whole(&c->tls_in, &need), before = c->tls_in.off;
		ssize_t n;

		if (!whole && !gnutls_record_check_pending(c->session))
			break;
		c->pull_limit = c->tls_in.off + whole;
		n = gnutls_record_recv(c->session, sink, sizeof(sink));
		c->pull_limit = SIZE_MAX;
		if (n > 0)
			return conn_closef(c, REASON_IO_ERROR, "the far ktund sent data to a pooled "
					   "connection before its CONNECT request");
		if (n == 0)
			c->close_notify_seen = true;
		else if (gnutls_error_is_fatal((int)n))
			return tls_io_close(c, REASON_TLS_ERROR, (int)n, "pooled connection: ");
		else if (c->tls_in.off == before && !gnutls_record_check_pending(c->session))
			break;
	}
	tls_io_flush(c); /* a KeyUpdate reply */
	if (c->close_notify_seen)
		return conn_closef(c, REASON_DONE, "the far ktund closed the pooled connection");
	if (c->tls_rd_eof)
		return conn_closef(c, REASON_TRUNCATED, "the far ktund ended the pooled connection "
				   "without close_notify");
	tls_io_receive(c);
	return VERDICT_AGAIN;
}

static enum verdict wait_begin(struct conn *c)
{
	if (!c->pooled)
		return VERDICT_NEXT;
	pool_list_add(c);
	return wait_step(c);
}

static enum verdict on_tls_recv(struct conn *c, int res)
{
	res = tls_io_received(c, res);
	if (res < 0)
		return conn_fail_io(c, "tls recv (pooled)", res);
	return wait_step(c);
}

static enum verdict on_tls_send(struct conn *c, int res)
{
	res = tls_io_sent(c, res);
	if (res < 0)
		return conn_fail_io(c, "tls send (pooled)", res);
	return VERDICT_AGAIN;
}

const struct phase pool_wait_phase = {
	.name = "pool",
	.state = CONN_POOLED,
	.begin = wait_begin,
	.on = {
		[OP_TLS_RECV] = on_tls_recv,
		[OP_TLS_SEND] = on_tls_send, /* the handshake's last flight */
	},
};
