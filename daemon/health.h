/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_HEALTH_H
#define KTUN_HEALTH_H

#include <stddef.h>
#include <time.h>

struct ktun;

/* GET /healthz, for load balancers and orchestrators' probes: {"status":"ready"|"draining",
 * "tunnels":N,"certificates_valid":true|false}, with 200 while ktund takes new connections
 * with every tunnel's own certificate within its notAfter, else 503 (draining after SIGTERM,
 * or an own certificate expired: peers would refuse each handshake). Writes the body into
 * buf (NUL-terminated, cut if len is short) and returns the HTTP status. Any thread. */
unsigned health_write(struct ktun *k, time_t now, char *buf, size_t len);

#endif
