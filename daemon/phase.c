// SPDX-License-Identifier: GPL-2.0-only
#include "log.h"
#include "phase.h"
#include "tunnel.h"
#include "tunnel_ctx.h"
#include "worker.h"

/*
 * The only place a phase begins. Each mode runs its phases in a fixed order; the last step
 * streams, in the kernel if the hand-over gave it the keys, else in userspace. A phase
 * handler's VERDICT_NEXT moves the connection on, and a begin that finishes at once (no
 * hand-over wanted, say) moves it on again in the same call.
 */

#define STEPS 6
#define STREAM NULL /* the last step: pump_ktls_phase or pump_phase */

static const struct phase *const sequence[][STEPS] = {
	[MODE_SERVER] = { &handshake_phase, &dest_request_phase, &connect_phase, &ktls_handover_phase,
			  STREAM },
	[MODE_CLIENT] = { &connect_phase, &handshake_phase, &pool_wait_phase, &dest_announce_phase,
			  &ktls_handover_phase, STREAM },
};

static const struct phase *phase_at(const struct conn *c, unsigned step)
{
	const struct phase *p = sequence[c->ctx->mode][step];

	if (p != STREAM)
		return p;
	return __atomic_load_n(&c->ktls, __ATOMIC_RELAXED) ? &pump_ktls_phase : &pump_phase;
}

static void phase_enter(struct conn *c, unsigned step)
{
	c->step = step;
	c->phase = phase_at(c, step);
	__atomic_store_n(&c->state, c->phase->state, __ATOMIC_RELAXED);
}

static void run(struct conn *c, enum verdict v)
{
	while (v == VERDICT_NEXT && c->state != CONN_CLOSING) {
		if (sequence[c->ctx->mode][c->step] == STREAM) {
			/* Streaming ends by closing: a NEXT from it is a bug, which must not
			 * leave the connection without an owner. */
			log_err("[%s] the %s phase ended without closing", c->t->name, c->phase->name);
			conn_close(c, REASON_IO_ERROR);
			return;
		}
		phase_enter(c, c->step + 1);
		v = c->phase->begin(c);
	}
}

void phase_start(struct conn *c)
{
	phase_enter(c, 0);
	run(c, c->phase->begin(c));
}

void phase_take(struct conn *c)
{
	if (c->state != CONN_POOLED) {
		/* pool.c hands out only ready connections: anything else is a bug. */
		log_err("[%s] a pooled connection was taken in the %s phase", c->t->name, c->phase->name);
		conn_close(c, REASON_IO_ERROR);
		return;
	}
	run(c, VERDICT_NEXT);
}

void phase_on_cqe(struct conn *c, enum op op, int res)
{
	phase_handler handler;

	conn_op_done(c, op);
	if (c->state == CONN_CLOSING)
		return; /* a cancelled operation, or one that finished as we closed */
	c->active_ms = c->w->now_ms;
	if (op == OP_CANCEL || op == OP_CONNECT_TIMEOUT)
		return; /* only counted in flight: their operation reports the outcome */
	handler = c->phase->on[op];
	if (!handler) {
		log_err("[%s] operation %d completed (%d) in the %s phase, which started none",
			c->t->name, (int)op, res, c->phase->name);
		conn_closef(c, REASON_IO_ERROR, "internal: operation %d in the %s phase", (int)op,
			    c->phase->name);
		return;
	}
	run(c, handler(c, res));
}

void phase_idle(struct conn *c)
{
	if (c->state != CONN_CLOSING && c->phase->idle)
		c->phase->idle(c);
}
