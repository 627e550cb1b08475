/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_PHASE_H
#define KTUN_PHASE_H

#include "conn.h"

/*
 * A connection's phases and the one place that sequences them. Each phase file defines
 * its struct phase: how it begins and, per operation, the handler of a completion. A
 * handler returns a verdict; only the dispatcher (phase.c) begins a phase, in the order of
 * the tunnel's mode (conn.h). A phase never calls another.
 */

typedef enum verdict (*phase_handler)(struct conn *c, int res);

struct phase {
	const char *name;
	enum conn_state state;
	/* Starts the phase's I/O; may finish at once (VERDICT_NEXT). */
	enum verdict (*begin)(struct conn *c);
	/* Indexed by enum op: the operations that may complete during this phase, including
	 * those an earlier phase left in flight. NULL for any other. */
	phase_handler on[OP_MAX];
	/* Optional: c has had no completion for CONN_IDLE_MS (called on each tick after that,
	 * so it must be cheap and do nothing the second time): memory it can do without goes
	 * back until the connection is busy again. */
	void (*idle)(struct conn *c);
};

extern const struct phase handshake_phase;     /* handshake.c */
extern const struct phase dest_request_phase;  /* dest_request.c: server, target = from-client */
extern const struct phase connect_phase;       /* connect.c */
extern const struct phase pool_wait_phase;     /* pool_wait.c: client, pool: waits to be taken */
extern const struct phase dest_announce_phase; /* dest_announce.c: client, CONNECT to a destination */
extern const struct phase ktls_handover_phase; /* ktls_handover.c */
extern const struct phase pump_phase;          /* pump.c: GnuTLS records in userspace */
extern const struct phase pump_ktls_phase;     /* pump_ktls.c: the kernel's records, splice */

/* Begins c's first phase (a new connection from conn_new). */
void phase_start(struct conn *c);
/* c, a ready pooled connection an accepted socket has just joined (conn_adopt), leaves the
 * pool phase for the next. */
void phase_take(struct conn *c);
/* A completion for c: the bookkeeping, then the current phase's handler for op. */
void phase_on_cqe(struct conn *c, enum op op, int res);
/* c has been idle (conn_idle): its phase's idle hook, if it has one. */
void phase_idle(struct conn *c);

#endif
