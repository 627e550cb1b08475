/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_LISTEN_PROBE_H
#define KTUN_LISTEN_PROBE_H

#include "addr.h"

struct ktun;

/* Workers share a TCP listen address through SO_REUSEPORT, which would let a second process
 * (another ktund started with the same configuration, say) bind beside them and silently take
 * part of the connections. Before ktund binds its own, each address is bound once without
 * SO_REUSEPORT, which fails if anyone holds it, there or on a wildcard that covers it.
 * Unix sockets (listener.c refuses a live one) and inherited sockets (activation.c: the
 * service manager bound them) are not probed. */

/* 0 if nothing holds the TCP address, -EADDRINUSE if something does, or another negative
 * errno from socket() or bind() (EACCES for a low port, say). */
int listen_probe_free(const struct ktun_addr *addr);
/* Probes every tunnel's listen address that ktund is to bind, all before any is bound (so
 * that a tunnel on 127.0.0.1:P beside one on 0.0.0.0:P is not taken for a collision). Logs
 * and returns a negative errno at the first that fails. Main thread, at start-up. */
int listen_probe_all(const struct ktun *k);

#endif
