// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdio.h>

#include "connect_request.h"
#include "http_answer.h"
#include "tls_io.h"

int http_answer_ok(struct conn *c)
{
	char answer[128];
	size_t len = connect_answer_head(200, answer);
	ssize_t sent = gnutls_record_send(c->session, answer, len);

	if (sent != (ssize_t)len)
		return sent < 0 ? (int)sent : GNUTLS_E_INTERNAL_ERROR;
	tls_io_flush(c);
	return 0;
}

enum verdict http_answer_refuse(struct conn *c, int status, enum reason reason, const char *fmt,
				...)
{
	char answer[128];
	size_t len = connect_answer_head(status, answer);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	/* GnuTLS fails only for a broken session; the peer then learns from the close. */
	if (gnutls_record_send(c->session, answer, len) == (ssize_t)len)
		gnutls_bye(c->session, GNUTLS_SHUT_WR);
	c->bye_queued = true;
	c->answered = true;
	return conn_close(c, reason);
}
