/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_DAEMON_H
#define KTUN_DAEMON_H

#include <stddef.h>
#include <time.h>

#include "config.h"
#include "ktls.h"
#include "tunnel.h"

struct redirect;
struct file_watch;
struct MHD_Daemon;
struct worker;

enum daemon_phase { PHASE_RUNNING, PHASE_DRAINING, PHASE_STOPPING };

/* The whole daemon: built by main, read by workers, changed only by the main thread. */
struct ktun {
	struct ktun_config cfg;
	struct ktls_support ktls; /* probed once at start-up */
	struct file_watch *watch; /* NULL: reload on SIGHUP and ktunctl reload only */
	struct MHD_Daemon *metrics_http; /* NULL: no metrics-listen */
	int metrics_fd;                  /* bound, until libmicrohttpd takes it */
	/* Where the metrics listener is bound (ss_family 0: none); set before the workers start,
	 * never changed (a reload keeps the listener), so workers read it for the loop guard. */
	struct ktun_addr metrics_bound;
	struct tunnel *tunnels;
	size_t n_tunnels;
	struct worker *workers;
	unsigned n_workers;
	unsigned workers_inited; /* how many worker_init() calls were made, for teardown */
	unsigned phase;          /* atomic enum daemon_phase */
	unsigned workers_alive;  /* atomic */
	struct redirect *redirect; /* the eBPF redirector; NULL when not configured */
	time_t revocation_due;     /* wall clock: a CRL's or staple's next warning; -1 none */
	/* For the metrics threads (atomic; written by the main thread): reloads by outcome, and
	 * when the certificates in force were loaded (at start, or by the last good reload). */
	unsigned long reloads_ok, reloads_failed;
	long long loaded_at;
};

/* Re-reads certificates, keys, CA, CRL and (with --config) the file; swaps in only a fully
 * valid result. Returns 0 or a negative errno with the reason in err. Main thread only. */
int daemon_reload(struct ktun *k, char *err, size_t errlen);
/* Warns about certificates crossing an expiry-warn threshold, and CRLs and OCSP staples
 * nearing or past their nextUpdate (counted in the tunnel's stale counters); sets
 * revocation_due. Main thread only: at start-up, after each reload, hourly and at
 * revocation_due. */
void daemon_check_expiry(struct ktun *k);

#endif
