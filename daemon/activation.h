/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_ACTIVATION_H
#define KTUN_ACTIVATION_H

struct ktun;

/* Socket activation (sd_listen_fds(3)): takes the listening sockets a service manager passed
 * (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES, unset here so that no child sees them) and gives
 * each to its tunnel, which then serves it instead of binding (`tunnel.inherited`, the socket
 * in listen_fds[0]). A socket matches the tunnel named by its FileDescriptorName=, else the
 * tunnel whose listen address it is bound to. A socket that is not a listening stream socket
 * or matches no tunnel, or two for one tunnel, fail start-up: logged, -EINVAL. Returns 0 or a
 * negative errno. Main thread, once, before the listeners are opened. */
int activation_take(struct ktun *k);

#endif
