/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_HTTP_ANSWER_H
#define KTUN_HTTP_ANSWER_H

#include "conn.h"

/*
 * The HTTP answers of a `target = from-client` server (connect_request.h writes them), sent
 * through GnuTLS into tls_out before the keys go to the kernel. For the destination request
 * and connect phases, which share it as they share tls_io.
 */

/* Queues the 200 and sends it. 0, or a GnuTLS error code. */
int http_answer_ok(struct conn *c);
/* Queues the refusal for status (400, 403, 502, 504) and close_notify, then closes c for
 * reason with the detail fmt: conn_close sends both and closes the TLS side rather than
 * resetting it (conn.answered). */
enum verdict http_answer_refuse(struct conn *c, int status, enum reason reason, const char *fmt,
				...) __attribute__((format(printf, 4, 5)));

#endif
