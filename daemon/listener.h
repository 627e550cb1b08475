/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_LISTENER_H
#define KTUN_LISTENER_H

#include <stdbool.h>
#include <sys/socket.h>

#include "addr.h"
#include "user_data.h"

struct tunnel;
struct worker;

/* One listening socket of one tunnel on one worker, and the accept on it. */
struct listener {
	struct worker *w;
	struct tunnel *t;
	int fd;
	bool accepting;   /* an accept is in flight */
	bool paused;      /* the process ran out of fds or memory: retried on the tick */
	bool closed;
	bool transparent; /* routed flows (redirect-interface): the local address is the destination */
	/* An accepted connection waiting for a slot under max-connections (-1: none). While
	 * one waits, no accept is armed: the rest wait in the kernel's backlog. */
	int held_fd;
	struct sockaddr_storage peer, dst;
	socklen_t peerlen, dstlen;
} __attribute__((aligned(USER_DATA_ALIGN)));

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

/* Arms an accept, unless one is in flight, a connection is held, or the listener closed. */
void listener_arm(struct listener *l);
/* The OP_ACCEPT completion: starts the connection's first phase, or holds it for a slot. */
void listener_on_accept(struct listener *l, int res);
/* Stops accepting (drain); a held connection is reset. */
void listener_close(struct listener *l);
/* Serves the held connections of w's listeners for which a slot is free now, and arms
 * their accepts again. */
void listener_serve_held(struct worker *w);

#endif
