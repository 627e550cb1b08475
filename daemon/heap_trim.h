/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_HEAP_TRIM_H
#define KTUN_HEAP_TRIM_H

#include <stdint.h>

struct ktun;

struct heap_trim {
	unsigned peak;   /* most live connections seen since the last trim */
	int64_t next_ms; /* no trim before this */
};

/* Gives freed heap back to the kernel once the number of live connections has fallen well
 * below its peak, or to none. Main thread, from its loop (at least every 200 ms). */
void heap_trim_tick(struct heap_trim *h, const struct ktun *k, int64_t now_ms);

#endif
