/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_TLS_IO_H
#define KTUN_TLS_IO_H

#include "conn.h"

/*
 * The TLS side's bytes while GnuTLS handles the records (handshake, hand-over, userspace
 * pump). GnuTLS never touches a socket: its transport reads ciphertext that io_uring
 * received into tls_in and appends the records it writes to tls_out, which io_uring sends.
 * So a GnuTLS call never blocks, and the same session moves from the handshake to the data
 * path (or to kTLS) without changing hands.
 */

/* Makes c's tls_in and tls_out the transport of c->session. */
void tls_io_attach(struct conn *c);
/* Sends what GnuTLS queued in tls_out, if no send is in flight. */
void tls_io_flush(struct conn *c);
/* Arms a receive into tls_in, if none is in flight and the peer has not ended. */
void tls_io_receive(struct conn *c);
/* Accounts a completed OP_TLS_SEND: negative errno, 1 if more is in flight, 0 when all is out. */
int tls_io_sent(struct conn *c, int res);
/* A phase handler for a send that completes before streaming (a handshake flight): a
 * failure means the peer has gone. */
enum verdict tls_io_on_send(struct conn *c, int res);
/* Accounts a completed OP_TLS_RECV: the bytes, or end of stream. Negative errno on error. */
int tls_io_received(struct conn *c, int res);
/* Closes c for GnuTLS error rc, with what + GnuTLS's reason as the detail, naming the
 * alert when the peer sent one. */
enum verdict tls_io_close(struct conn *c, enum reason reason, int rc, const char *what);

#endif
