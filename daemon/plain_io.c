// SPDX-License-Identifier: GPL-2.0-only
#include <sys/socket.h>

#include "plain_io.h"

void plain_io_flush(struct conn *c)
{
	struct io_uring_sqe *sqe;

	if (conn_busy(c, OPS_PLAIN_TX) || !buf_used(&c->plain_out))
		return;
	sqe = conn_sqe(c);
	io_uring_prep_send(sqe, c->plain_fd, c->plain_out.data + c->plain_out.off,
			   buf_used(&c->plain_out), MSG_NOSIGNAL);
	conn_submit(c, sqe, OP_PLAIN_SEND);
}

int plain_io_sent(struct conn *c, int res)
{
	if (res < 0)
		return res;
	/* On a kTLS connection (its pump) the kernel decrypted what plain_out holds; the
	 * hand-over's early records, decrypted by GnuTLS, are all sent before c->ktls is set. */
	conn_count_bytes(c, false, (size_t)res, c->ktls ? PAYLOAD_COPIED : PAYLOAD_USERSPACE);
	c->plain_out.off += (size_t)res;
	if (buf_used(&c->plain_out)) {
		plain_io_flush(c);
		return 1;
	}
	c->plain_out.off = c->plain_out.len = 0;
	return 0;
}
