/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_URING_DATA_H
#define KTUN_URING_DATA_H

#include <stdint.h>

/* io_uring user_data: an object pointer (16-byte aligned, from malloc) with the operation
 * in its low four bits. The only place that packs or unpacks it. */
enum ud_op {
	UD_ACCEPT,       /* struct listener */
	UD_TICK,         /* struct worker */
	UD_EVENT,        /* struct worker */
	UD_IGNORE,       /* worker-level cancel: nothing to do */
	UD_TLS_RECV,     /* struct conn, from here on */
	UD_TLS_SEND,
	UD_PLAIN_RECV,
	UD_PLAIN_SEND,
	UD_CONNECT,
	UD_LINK_TIMEOUT,
	UD_CANCEL,
	UD_OP_MAX,
};

_Static_assert(UD_OP_MAX <= 16, "op must fit in four bits");

static inline uint64_t ud_encode(const void *obj, enum ud_op op)
{
	return (uint64_t)(uintptr_t)obj | (uint64_t)op;
}

static inline void *ud_object(uint64_t ud)
{
	return (void *)(uintptr_t)(ud & ~(uint64_t)15);
}

static inline enum ud_op ud_op(uint64_t ud)
{
	return (enum ud_op)(ud & 15);
}

#endif
