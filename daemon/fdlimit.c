// SPDX-License-Identifier: GPL-2.0-only
/* A shell or service manager often starts ktund with a soft limit of 1,024 descriptors while
 * the default max-connections (10,000) needs twenty times that: connections beyond the limit
 * would wait in the backlog for good, accepts paused on EMFILE. The hard limit is the
 * operator's word on what ktund may use, so the soft limit goes up to it. */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>

#include "daemon.h"
#include "fdlimit.h"
#include "log.h"

/* Per worker: the ring, its eventfd, and slack for the control socket, logs, the metrics
 * thread, reload's file reads and the redirector's maps. */
#define FDS_PER_WORKER 4
#define FDS_SLACK 64

/* Descriptors the configuration needs with every tunnel full: two sockets per connection and,
 * on the kTLS path, a pipe (two descriptors: the receive direction copies, pump_ktls.c); a
 * client's warm pool, one socket per pooled connection (outside max-connections until taken);
 * per worker, one listener per tunnel, its transparent twin and a connection it may hold while
 * waiting for a slot. */
static uint64_t fds_needed(const struct ktun *k)
{
	uint64_t need = FDS_SLACK + (uint64_t)k->n_workers * FDS_PER_WORKER;

	for (size_t i = 0; i < k->n_tunnels; i++) {
		const struct tunnel *t = &k->tunnels[i];

		need += (uint64_t)t->ctx->max_connections * (t->ctx->ktls_wanted ? 4 : 2);
		need += t->ctx->pool;
		need += (uint64_t)k->n_workers * 3;
	}
	return need;
}

int fdlimit_raise(const struct ktun *k)
{
	uint64_t need = fds_needed(k);
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		int err = errno;

		log_warn("RLIMIT_NOFILE: %s", strerror(err));
		return -err;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t was = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			int err = errno;

			log_warn("raising RLIMIT_NOFILE from %ju to %ju: %s", (uintmax_t)was,
				 (uintmax_t)rl.rlim_max, strerror(err));
			return -err;
		}
		log_info("RLIMIT_NOFILE raised from %ju to %ju", (uintmax_t)was, (uintmax_t)rl.rlim_cur);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
		log_warn("RLIMIT_NOFILE is %ju but max-connections (and pool) need about %" PRIu64
			 " descriptors: connections beyond the limit wait until others close "
			 "(raise the hard limit, e.g. LimitNOFILE=)", (uintmax_t)rl.rlim_cur, need);
	return 0;
}
