/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_METRICS_H
#define KTUN_METRICS_H

#include <stdio.h>

struct ktun;

/* Every tunnel's counters, the handshake-duration histogram and certificate expiry, in
 * Prometheus's text format. Any thread. Returns 0 or -ENOMEM. */
int metrics_write(struct ktun *k, FILE *out);
/* Binds the metrics-listen address, if one is set: before privileges are dropped. */
int metrics_http_bind(struct ktun *k);
/* Serves GET /metrics on it from a thread of libmicrohttpd's: after the file sandbox, which
 * the thread inherits. Both return 0 or a negative errno (logged). */
int metrics_http_start(struct ktun *k);
void metrics_http_stop(struct ktun *k);
/* Counts one connection to metrics-listen that libmicrohttpd closed at once at its limits
 * (all or per address), for ktund_metrics_refused_total; returns the total. Any thread. */
unsigned long long metrics_refused_add(void);

#endif
