// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>

#include "resume_check.h"
#include "verify.h"

int resume_check(gnutls_session_t session)
{
	struct peer_verdict *v = gnutls_session_get_ptr(session);
	int rc = verify_peer_callback(session);

	/* Say that the refusal came on resumption: the ticket was issued when the peer still
	 * passed, and the operator looks for what changed since. */
	if (rc < 0 && v->reason != REASON_NONE) {
		static const char prefix[] = "on resumption: ";
		char detail[sizeof(v->detail)];

		snprintf(detail, sizeof(detail), "%s%.*s", prefix,
			 (int)(sizeof(detail) - sizeof(prefix)), v->detail);
		snprintf(v->detail, sizeof(v->detail), "%s", detail);
	}
	return rc;
}
