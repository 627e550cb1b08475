// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>
#include <linux/tls.h>
#include <gnutls/gnutls.h>

#include "tls_record.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

size_t tls_record_whole(const struct buf *b, size_t *need)
{
	const uint8_t *p = b->data + b->off;
	size_t used = buf_used(b), done = 0;

	*need = 0;
	while (used - done >= TLS_RECORD_HEADER) {
		size_t len = TLS_RECORD_HEADER + ((size_t)p[done + 3] << 8 | p[done + 4]);

		if (used - done < len) {
			*need = len - (used - done);
			return done;
		}
		done += len;
	}
	if (used > done)
		*need = TLS_RECORD_HEADER - (used - done);
	return done;
}

void tls_record_close_notify(struct record_msg *m)
{
	struct cmsghdr *cmsg;

	m->body[0] = GNUTLS_AL_WARNING;
	m->body[1] = GNUTLS_A_CLOSE_NOTIFY;
	m->iov = (struct iovec){ m->body, 2 };
	m->msg = (struct msghdr){ .msg_iov = &m->iov, .msg_iovlen = 1,
				  .msg_control = m->control.buf, .msg_controllen = sizeof(m->control.buf) };
	cmsg = CMSG_FIRSTHDR(&m->msg);
	cmsg->cmsg_level = SOL_TLS;
	cmsg->cmsg_type = TLS_SET_RECORD_TYPE;
	cmsg->cmsg_len = CMSG_LEN(sizeof(uint8_t));
	*CMSG_DATA(cmsg) = TLS_RECORD_ALERT;
}

void tls_record_prepare_recv(struct record_msg *m, uint8_t *data, size_t len)
{
	m->iov = (struct iovec){ data, len };
	m->msg = (struct msghdr){ .msg_iov = &m->iov, .msg_iovlen = 1,
				  .msg_control = m->control.buf, .msg_controllen = sizeof(m->control.buf) };
	/* No cmsg from a previous record may be read as this one's. */
	memset(m->control.buf, 0, sizeof(m->control.buf));
}

uint8_t tls_record_type(const struct record_msg *m)
{
	struct msghdr *msg = (struct msghdr *)&m->msg;

	for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(msg); cmsg; cmsg = CMSG_NXTHDR(msg, cmsg))
		if (cmsg->cmsg_level == SOL_TLS && cmsg->cmsg_type == TLS_GET_RECORD_TYPE)
			return *CMSG_DATA(cmsg);
	return TLS_RECORD_NONE;
}
