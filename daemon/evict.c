// SPDX-License-Identifier: GPL-2.0-only
#include "conn.h"
#include "evict.h"
#include "tunnel.h"
#include "worker.h"

/*
 * Only one idle for handshake-timeout or longer: the held connection may itself be a pooled
 * one (we cannot tell before its handshake), and evicting a fresh one for it would make a
 * client whose pool does not fit under max-connections churn as fast as its round trips.
 * So a misconfigured pool costs one eviction per handshake-timeout at most.
 */
static bool idle_request(const struct conn *c, const struct tunnel *t)
{
	return c->t == t && c->state == CONN_REQUEST && c->ctx->from_client &&
	       !c->plain_out.len && !c->resolving &&
	       c->w->now_ms - c->request_ms >= c->ctx->handshake_timeout_ms;
}

bool evict_idle_request(struct worker *w, struct tunnel *t)
{
	struct conn *oldest = NULL;

	for (struct conn *c = w->conns; c; c = c->next) {
		if (c->t == t && c->evicted && c->slot)
			return true; /* its slot comes back at the end of the batch */
		if (idle_request(c, t) && (!oldest || c->request_ms < oldest->request_ms))
			oldest = c;
	}
	if (!oldest)
		return false;
	oldest->evicted = true;
	conn_closef(oldest, REASON_REQUEST_TIMEOUT, "evicted: max-connections reached, and a new "
		    "connection waits for a slot while this one sent no request");
	return true;
}
