/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_LISTENER_H
#define KTUN_LISTENER_H

#include "addr.h"

/* Opens a listening socket. TCP listeners set SO_REUSEPORT so that each worker has its own
 * and the kernel spreads connections; a unix socket path replaces a stale socket file but
 * refuses one that a live process still accepts on. Returns the fd or a negative errno. */
int listener_open(const struct ktun_addr *addr, bool reuseport);

#endif
