// SPDX-License-Identifier: GPL-2.0-only
#include <malloc.h>

#include "daemon.h"
#include "heap_trim.h"

/*
 * glibc gives freed heap back to the kernel only from the top of an arena. After a burst of
 * connections the GnuTLS sessions and connection records they freed lie scattered through the
 * arenas, so without this the daemon would keep its peak size for good (134 MiB after 10,000
 * connections closed, against 8 MiB before them). malloc_trim(0) releases those pages, but it
 * locks and walks every arena, workers' included, so it runs only after the load has fallen,
 * at most every few seconds.
 */

#define TRIM_DROP 256           /* live connections fewer than the peak: worth a trim */
#define TRIM_INTERVAL_MS 5000

static unsigned live_connections(const struct ktun *k)
{
	unsigned live = 0;

	for (size_t i = 0; i < k->n_tunnels; i++)
		live += __atomic_load_n(&k->tunnels[i].live, __ATOMIC_RELAXED);
	return live;
}

void heap_trim_tick(struct heap_trim *h, const struct ktun *k, int64_t now_ms)
{
	unsigned live = live_connections(k);

	if (live > h->peak)
		h->peak = live;
	if (now_ms < h->next_ms || h->peak == live || (live && h->peak - live < TRIM_DROP))
		return;
	malloc_trim(0);
	h->peak = live;
	h->next_ms = now_ms + TRIM_INTERVAL_MS;
}
