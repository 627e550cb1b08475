/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_SERVICE_H
#define KTUN_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

struct ktun;

/* systemd notifications (READY, RELOADING, STOPPING, STATUS) and the watchdog. No-ops when
 * not started by systemd. Main thread only. */
void service_ready(const struct ktun *k);
void service_reloading(void);
void service_reloaded(const struct ktun *k, bool ok);
void service_stopping(unsigned drain_timeout);
/* How often to call service_watchdog_kick(), or -1 without a watchdog. */
int service_watchdog_ms(void);
/* WATCHDOG=1, but only while every worker's tick is recent: a stuck worker lets systemd
 * restart the daemon. */
void service_watchdog_kick(const struct ktun *k, int64_t now_ms);

#endif
