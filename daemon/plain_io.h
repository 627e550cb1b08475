/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_PLAIN_IO_H
#define KTUN_PLAIN_IO_H

#include "conn.h"

/* Plaintext decrypted in userspace (plain_out) on its way to the plain side: by the
 * userspace pump, by the kTLS hand-over for records that came with the handshake, and by
 * the kTLS pump for data a control-record recvmsg returned. */

/* Sends plain_out to the plain side, if no send is in flight. */
void plain_io_flush(struct conn *c);
/* Accounts a completed OP_PLAIN_SEND: negative errno, 1 if the rest is in flight, 0 when
 * plain_out is empty again. */
int plain_io_sent(struct conn *c, int res);

#endif
