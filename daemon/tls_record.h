/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_TLS_RECORD_H
#define KTUN_TLS_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "buf.h"

/* TLS records as the data path sees them: their framing in a byte stream, and the
 * recvmsg/sendmsg form a kTLS socket uses for records that are not application data. */

#define TLS_RECORD_HEADER 5
#define TLS_MAX_PLAINTEXT 16384
#define TLS_RECORD_NONE 0 /* recvmsg returned no record type */
#define TLS_RECORD_ALERT 21
#define TLS_RECORD_HANDSHAKE 22
#define TLS_RECORD_DATA 23

/* recvmsg/sendmsg of one record with its type in a cmsg. */
struct record_msg {
	struct msghdr msg;
	struct iovec iov;
	union {
		size_t align; /* a cmsghdr's: not the struct itself, whose flexible array
			       * member would make this union variable-sized */
		uint8_t buf[CMSG_SPACE(sizeof(uint8_t))];
	} control;
	uint8_t body[2]; /* an alert: level, description */
};
/* Room for exactly one record type. The kTLS receive (pump_ktls.c t2p_received) takes bytes
 * without a type as data only with MSG_CTRUNC: with room for a second cmsg, an io_uring retry
 * could put an alert's type behind a stale data type from the attempt before it and the
 * alert's body would be read as data. */
_Static_assert(sizeof(((struct record_msg *)0)->control.buf) == CMSG_SPACE(sizeof(uint8_t)),
	       "record_msg holds one record-type cmsg, no more");

/* Bytes at the head of b that form whole records; *need is what the next one lacks
 * (0 when b ends at a record boundary). */
size_t tls_record_whole(const struct buf *b, size_t *need);
/* Fills m with a close_notify alert record for sendmsg (the kernel encrypts it). */
void tls_record_close_notify(struct record_msg *m);
/* Prepares m for a recvmsg of one record into data[0, len), its type to come in the cmsg. */
void tls_record_prepare_recv(struct record_msg *m, uint8_t *data, size_t len);
/* The record type a recvmsg into m reported, or TLS_RECORD_NONE. */
uint8_t tls_record_type(const struct record_msg *m);

#endif
