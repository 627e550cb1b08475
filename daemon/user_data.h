/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_USER_DATA_H
#define KTUN_USER_DATA_H

#include <stdint.h>

/*
 * io_uring user_data: the object an operation belongs to, with the operation itself in the
 * pointer's low bits (objects are aligned to USER_DATA_ALIGN). Each operation a connection
 * can have in flight has its own value, so a completion says exactly what completed and is
 * dispatched once, from a table (phase.c); cancelling by user_data hits exactly that one.
 * The only place that packs or unpacks user_data.
 */
enum op {
	OP_ACCEPT,            /* struct listener */
	OP_TICK,              /* struct worker */
	OP_EVENT,             /* struct worker */
	OP_IGNORE,            /* struct worker: a listener's cancel, nothing to do */
	OP_CONNECT,           /* struct conn, from here on */
	OP_CONNECT_TIMEOUT,   /* the link timeout of OP_CONNECT */
	OP_CANCEL,            /* a cancel submitted by conn_close */
	OP_RESOLVE,           /* no SQE: a name lookup of resolver.c, completed by resolve_done.c */
	/* the userspace TLS and plain I/O (handshake, hand-over, userspace pump) */
	OP_TLS_RECV,
	OP_TLS_SEND,
	OP_PLAIN_RECV,
	OP_PLAIN_SEND,
	/* kernel TLS: plain -> kTLS splices through a pipe, kTLS -> plain a recvmsg into a
	 * buffer then OP_PLAIN_SEND; a POLL_ADD for each after EAGAIN */
	OP_P2T_SPLICE_IN,     /* plain socket -> pipe, quiet (conn_submit_quiet) */
	OP_P2T_SPLICE_OUT,    /* pipe -> kTLS socket */
	OP_P2T_IN_POLL,
	OP_P2T_OUT_POLL,
	OP_T2P_IN_POLL,
	OP_T2P_OUT_POLL,
	OP_CLOSE_NOTIFY,      /* sendmsg of a close_notify alert record on the kTLS socket */
	OP_T2P_RECV,          /* recvmsg from the kTLS socket: data records, or one other */
	OP_MAX,
};

#define USER_DATA_ALIGN 64
#define OP_BIT(op) (UINT64_C(1) << (op))

_Static_assert(OP_MAX <= USER_DATA_ALIGN, "an op must fit below the object alignment");

static inline uint64_t user_data_pack(const void *obj, enum op op)
{
	return (uint64_t)(uintptr_t)obj | (uint64_t)op;
}

static inline void *user_data_object(uint64_t ud)
{
	return (void *)(uintptr_t)(ud & ~(uint64_t)(USER_DATA_ALIGN - 1));
}

static inline enum op user_data_op(uint64_t ud)
{
	return (enum op)(ud & (USER_DATA_ALIGN - 1));
}

#endif
