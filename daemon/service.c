// SPDX-License-Identifier: GPL-2.0-only
#include <stdbool.h>
#include <stdio.h>
#include <time.h>
#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "log.h"
#include "service.h"
#include "worker.h"

/*
 * systemd's notification protocol, through libsystemd: readiness, reloads and stopping for
 * Type=notify-reload units, and the watchdog. Without NOTIFY_SOCKET (not started by systemd)
 * every call is a no-op. Main thread only.
 */

/* A worker whose tick (every second) is older than this is stuck: the watchdog stops. */
#define WORKER_STALE_MS 5000

static uint64_t monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void service_ready(const struct ktun *k)
{
	sd_notifyf(0, "READY=1\nSTATUS=%zu tunnel(s) serving", k->n_tunnels);
}

void service_reloading(void)
{
	/* MONOTONIC_USEC lets systemd tell this reload from an earlier one (notify-reload). */
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
		   (unsigned long long)monotonic_us());
}

void service_reloaded(const struct ktun *k, bool ok)
{
	sd_notifyf(0, "READY=1\nSTATUS=%zu tunnel(s) serving%s", k->n_tunnels,
		   ok ? "" : "; the last reload failed (see the log), old certificates in use");
}

void service_stopping(unsigned drain_timeout)
{
	sd_notifyf(0, "STOPPING=1\nSTATUS=draining (up to %u s)", drain_timeout);
}

int service_watchdog_ms(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0 || !usec)
		return -1;
	/* Kick twice per period, as sd_watchdog_enabled(3) advises. */
	return (int)(usec / 2000) ? (int)(usec / 2000) : 1;
}

/* The main thread is alive if it gets here; the workers prove it with their tick. */
static bool workers_alive(const struct ktun *k, int64_t now_ms)
{
	for (unsigned i = 0; i < k->n_workers; i++) {
		int64_t beat = __atomic_load_n(&k->workers[i].heartbeat_ms, __ATOMIC_RELAXED);

		if (now_ms - beat > WORKER_STALE_MS)
			return false;
	}
	return true;
}

void service_watchdog_kick(const struct ktun *k, int64_t now_ms)
{
	static bool said;

	if (workers_alive(k, now_ms)) {
		sd_notify(0, "WATCHDOG=1");
		said = false;
	} else if (!said) {
		log_err("a worker has not ticked for %d s: no longer telling the watchdog we are alive",
			WORKER_STALE_MS / 1000);
		said = true;
	}
}
