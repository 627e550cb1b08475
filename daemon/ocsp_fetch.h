/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_OCSP_FETCH_H
#define KTUN_OCSP_FETCH_H

#include <stdbool.h>

struct ktun;

/* ocsp-fetch: one thread fetches each such tunnel's OCSP response from the responder its
 * certificate names (libcurl), checks it as a stapled file is checked, and keeps it in the
 * tunnel context's store (ocsp_store.h): at start, again halfway to its nextUpdate, and after
 * a failure with a back-off from 10 s to an hour, keeping the last good response meanwhile.
 * Every fetch is logged and counted (tunnel.h). */

/* Starts the thread if a tunnel wants it, before the sandbox closes (it only needs calls the
 * sandbox allows; names are resolved by glibc in this thread, not by libcurl's threads).
 * Returns 0 or a negative errno (logged). Main thread. */
int ocsp_fetch_start(struct ktun *k);
/* After a reload: new contexts fetch at once unless they carried a response over. */
void ocsp_fetch_kick(void);
/* Whether the thread runs (a reload cannot start it). */
bool ocsp_fetch_running(void);
/* Stops the thread, aborting a transfer in progress. */
void ocsp_fetch_stop(void);

#endif
