// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "tls_io.h"
#include "tls_names.h"
#include "tunnel.h"

static ssize_t tls_pull(gnutls_transport_ptr_t ptr, void *data, size_t len)
{
	struct conn *c = ptr;
	size_t end = c->tls_in.len < c->pull_limit ? c->tls_in.len : c->pull_limit;
	size_t n = end - c->tls_in.off;

	if (!n) {
		if (c->tls_rd_eof)
			return 0;
		c->pull_starved = true;
		gnutls_transport_set_errno(c->session, EAGAIN);
		return -1;
	}
	if (n > len)
		n = len;
	memcpy(data, c->tls_in.data + c->tls_in.off, n);
	c->tls_in.off += n;
	return (ssize_t)n;
}

static int tls_pull_timeout(gnutls_transport_ptr_t ptr, unsigned ms)
{
	struct conn *c = ptr;

	(void)ms;
	return c->tls_in.off < c->tls_in.len || c->tls_rd_eof ? 1 : 0;
}

static ssize_t tls_push(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
	struct conn *c = ptr;
	struct buf *out = &c->tls_out;
	size_t total = 0;

	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if (!conn_busy(c, OP_BIT(OP_TLS_SEND)))
		buf_compact(out);
	if (buf_room(out) < total) {
		/* The data path never queues more than fits; this is a broken invariant. */
		log_err("[%s] TLS output buffer full (%zu queued, %zu more)", c->t->name,
			buf_used(out), total);
		gnutls_transport_set_errno(c->session, ENOBUFS);
		return -1;
	}
	for (int i = 0; i < iovcnt; i++) {
		memcpy(out->data + out->len, iov[i].iov_base, iov[i].iov_len);
		out->len += iov[i].iov_len;
	}
	return (ssize_t)total;
}

void tls_io_attach(struct conn *c)
{
	gnutls_transport_set_ptr(c->session, c);
	gnutls_transport_set_pull_function(c->session, tls_pull);
	gnutls_transport_set_pull_timeout_function(c->session, tls_pull_timeout);
	gnutls_transport_set_vec_push_function(c->session, tls_push);
}

void tls_io_flush(struct conn *c)
{
	struct io_uring_sqe *sqe;

	if (conn_busy(c, OP_BIT(OP_TLS_SEND)) || !buf_used(&c->tls_out))
		return;
	sqe = conn_sqe(c);
	io_uring_prep_send(sqe, c->tls_fd, c->tls_out.data + c->tls_out.off, buf_used(&c->tls_out),
			   MSG_NOSIGNAL);
	conn_submit(c, sqe, OP_TLS_SEND);
}

void tls_io_receive(struct conn *c)
{
	struct io_uring_sqe *sqe;

	if (conn_busy(c, OP_BIT(OP_TLS_RECV)) || c->tls_rd_eof)
		return;
	buf_reset_if_empty(&c->tls_in);
	if (buf_room(&c->tls_in) < 16 * 1024 + 512)
		buf_compact(&c->tls_in);
	/* Full of records the plain side has no room for yet: the plain send re-arms us. A
	 * zero-length receive would read as end of stream. */
	if (!buf_room(&c->tls_in))
		return;
	sqe = conn_sqe(c);
	io_uring_prep_recv(sqe, c->tls_fd, c->tls_in.data + c->tls_in.len, buf_room(&c->tls_in), 0);
	conn_submit(c, sqe, OP_TLS_RECV);
}

int tls_io_sent(struct conn *c, int res)
{
	if (res < 0)
		return res;
	c->tls_out.off += (size_t)res;
	if (!buf_used(&c->tls_out)) {
		buf_reset_if_empty(&c->tls_out);
		return 0;
	}
	tls_io_flush(c); /* short send, or records queued meanwhile */
	return 1;
}

enum verdict tls_io_on_send(struct conn *c, int res)
{
	if (tls_io_sent(c, res) < 0)
		return conn_close(c, REASON_PEER_CLOSED);
	return VERDICT_AGAIN;
}

int tls_io_received(struct conn *c, int res)
{
	if (res < 0)
		return res;
	if (res == 0)
		c->tls_rd_eof = true;
	c->tls_in.len += (size_t)res;
	return 0;
}

enum verdict tls_io_close(struct conn *c, enum reason reason, int rc, const char *what)
{
	char alert[TLS_ALERT_TEXT_MAX];

	if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED || rc == GNUTLS_E_WARNING_ALERT_RECEIVED)
		return conn_closef(c, reason, "%speer sent alert %s", what,
				   tls_alert_text(gnutls_alert_get(c->session), alert));
	return conn_closef(c, reason, "%s%s", what, gnutls_strerror(rc));
}
