/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_EVICT_H
#define KTUN_EVICT_H

#include <stdbool.h>

struct tunnel;
struct worker;

/*
 * A tunnel at max-connections with an accepted connection held for a slot: idle
 * authenticated connections (a client's warm pool parks them in REQUEST on a from-client
 * server) must not keep out one with work to do. Closes w's oldest connection of t that has
 * sent no request byte for handshake-timeout or longer (close_notify, request-timeout,
 * detail "evicted"), unless one closed
 * so is still giving its slot back. Its slot serves the held connection when it is freed.
 * Returns whether one was closed or is closing. Worker thread only: w's own connections.
 */
bool evict_idle_request(struct worker *w, struct tunnel *t);

#endif
