/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_LISTEN_FDS_H
#define KTUN_LISTEN_FDS_H

/* Which listening socket each worker serves a tunnel on (tunnel.listen_fds, tproxy_fds).
 * Main thread, at start-up: after socket activation took its sockets, before the workers
 * start and before privileges are dropped. */

struct ktun;

/* Fills every tunnel's listen_fds, one per worker: its own SO_REUSEPORT socket, or a
 * descriptor of the one socket all share (unix, inherited). Returns 0 or a negative errno
 * (logged). */
int listen_fds_open(struct ktun *k);
/* For every tunnel that wants routed flows (redirect-interface), one transparent listener
 * per worker on one port: all of them, or none (logged). Opened while ktund may still set
 * IP_TRANSPARENT. Returns 0, or -ENOMEM. */
int listen_fds_open_transparent(struct ktun *k);

#endif
