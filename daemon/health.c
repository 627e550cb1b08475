// SPDX-License-Identifier: GPL-2.0-only
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "daemon.h"
#include "expiry.h"
#include "health.h"
#include "target_probe.h"
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

/* A tunnel is reachable while one of its targets is: "target" and "error" are its first
 * target's (an unreachable first one with an empty "each" means the probe had no memory),
 * "each" lists every target. */
static void add_tunnel_targets(struct json_object *t, const struct target_state *st)
{
	struct json_object *each = json_object_new_array();

	json_object_object_add(t, "target", json_object_new_string(st->n ? st->each[0].target : ""));
	json_object_object_add(t, "reachable", json_object_new_boolean(st->reachable));
	if (!st->reachable)
		json_object_object_add(t, "error", json_object_new_string(st->n ? st->each[0].error
										  : "out of memory"));
	for (size_t j = 0; j < st->n; j++) {
		struct json_object *one = json_object_new_object();

		json_object_object_add(one, "target", json_object_new_string(st->each[j].target));
		json_object_object_add(one, "reachable",
				       json_object_new_boolean(st->each[j].reachable));
		if (!st->each[j].reachable)
			json_object_object_add(one, "error",
					       json_object_new_string(st->each[j].error));
		json_object_array_add(each, one);
	}
	json_object_object_add(t, "each", each);
}

static void add_targets(struct ktun *k, struct json_object *root, bool *all_up)
{
	struct target_state *st = calloc(k->n_tunnels, sizeof(*st));
	struct json_object *list = json_object_new_array();

	*all_up = st && target_probe(k, st, k->n_tunnels) == 0;
	for (size_t i = 0; st && i < k->n_tunnels; i++) {
		struct json_object *t = json_object_new_object();

		json_object_object_add(t, "tunnel", json_object_new_string(k->tunnels[i].name));
		if (st[i].fixed)
			add_tunnel_targets(t, &st[i]);
		json_object_array_add(list, t);
	}
	free(st);
	json_object_object_add(root, "targets", list);
	json_object_object_add(root, "targets_reachable", json_object_new_boolean(*all_up));
}

unsigned health_write(struct ktun *k, time_t now, bool targets, char **body)
{
	bool running = __atomic_load_n(&k->phase, __ATOMIC_ACQUIRE) == PHASE_RUNNING;
	bool valid = own_certificates_valid(k, now), reachable = true;
	struct json_object *root = json_object_new_object();

	json_object_object_add(root, "status", json_object_new_string(running ? "ready" : "draining"));
	json_object_object_add(root, "tunnels", json_object_new_int64((int64_t)k->n_tunnels));
	json_object_object_add(root, "certificates_valid", json_object_new_boolean(valid));
	if (targets)
		add_targets(k, root, &reachable);
	*body = NULL;
	if (asprintf(body, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN)) < 0)
		*body = NULL;
	json_object_put(root);
	return running && valid && reachable ? 200 : 503;
}
