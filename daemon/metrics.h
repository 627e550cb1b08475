/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_METRICS_H
#define KTUN_METRICS_H

#include <stdio.h>

struct ktun;

/* Every tunnel's counters, the handshake-duration histogram and certificate expiry, in
 * Prometheus's text format. Any thread. Returns 0 or -ENOMEM. */
int metrics_write(struct ktun *k, FILE *out);
/* Serves GET /metrics on the metrics-listen address, if one is set, from a thread of
 * libmicrohttpd's. Call before privileges are dropped. Returns 0 or a negative errno (logged). */
int metrics_http_start(struct ktun *k);
void metrics_http_stop(struct ktun *k);

#endif
