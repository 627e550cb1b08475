// SPDX-License-Identifier: GPL-2.0-only
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "expiry.h"
#include "health.h"
#include "tunnel.h"
#include "tunnel_ctx.h"

/* The own leaf only: an expired CA in cacert fails the peers it issued, not the tunnel, and
 * /metrics shows it (ktund_certificate_expiry_seconds). */
static bool own_certificates_valid(struct ktun *k, time_t now)
{
	bool valid = true;

	for (size_t i = 0; i < k->n_tunnels && valid; i++) {
		struct tunnel_ctx *ctx = tunnel_acquire_ctx(&k->tunnels[i]);

		for (size_t c = 0; c < ctx->expiry.n; c++)
			if (!strcmp(ctx->expiry.certs[c].role, "own") && ctx->expiry.certs[c].not_after <= now)
				valid = false;
		tunnel_ctx_put(ctx);
	}
	return valid;
}

unsigned health_write(struct ktun *k, time_t now, char *buf, size_t len)
{
	bool running = __atomic_load_n(&k->phase, __ATOMIC_ACQUIRE) == PHASE_RUNNING;
	bool valid = own_certificates_valid(k, now);

	snprintf(buf, len, "{\"status\":\"%s\",\"tunnels\":%zu,\"certificates_valid\":%s}\n",
		 running ? "ready" : "draining", k->n_tunnels, valid ? "true" : "false");
	return running && valid ? 200 : 503;
}
