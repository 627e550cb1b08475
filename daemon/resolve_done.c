// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>

#include "phase.h"
#include "resolve_done.h"
#include "resolver.h"
#include "worker.h"

/* The worker-level end of resolver.c: a separate file so that the phase that submits
 * (dest_request.c) and the dispatcher it completes into (phase.c) stay without a cycle. */

void resolve_done(struct worker *w)
{
	struct resolve_req *req = resolver_take_done(w->id);

	while (req) {
		struct resolve_req *next = req->next;
		struct conn *c = req->c;

		/* The phase reads the answer from c->resolving during the call. */
		phase_on_cqe(c, OP_RESOLVE, req->gai ? -EHOSTUNREACH : (int)req->n);
		c->resolving = NULL;
		free(req);
		req = next;
	}
}
