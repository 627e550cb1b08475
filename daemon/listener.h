/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_LISTENER_H
#define KTUN_LISTENER_H

#include "addr.h"

/* Opens a listening socket. TCP listeners set SO_REUSEPORT so that each worker has its own
 * and the kernel spreads connections; a unix socket path replaces a stale socket file but
 * refuses one that a live process still accepts on. Returns the fd or a negative errno. */
int listener_open(const struct ktun_addr *addr, bool reuseport);
/* A transparent listener for routed flows (docs/redirect.md): IPv6 and IPv4 (dual stack),
 * IP_TRANSPARENT so that it may accept connections to any address, SO_REUSEPORT, on the
 * loopback address at *port (0: the kernel picks, and *port says which). Connections reach
 * it only through bpf_sk_assign, or from this host. Needs CAP_NET_ADMIN (or CAP_NET_RAW).
 * Returns the fd or a negative errno. */
int listener_open_transparent(unsigned short *port);

#endif
