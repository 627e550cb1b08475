/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_HEALTH_H
#define KTUN_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct ktun;

/* GET /healthz, for load balancers and orchestrators' probes: {"status":"ready"|"draining",
 * "tunnels":N,"certificates_valid":true|false}, with 200 while ktund takes new connections
 * with every tunnel's own certificate within its notAfter, else 503 (draining after SIGTERM,
 * or an own certificate expired: peers would refuse each handshake). With targets (GET
 * /healthz?targets=1) also "targets":[{"tunnel","target","reachable"[,"error"]}...] and
 * "targets_reachable", and 503 when a target does not accept a connection (target_probe.h).
 * *body is a malloc'd NUL-terminated string, NULL if out of memory. Returns the HTTP
 * status. Any thread. */
unsigned health_write(struct ktun *k, time_t now, bool targets, char **body);

#endif
