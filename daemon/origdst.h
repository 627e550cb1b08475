/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_ORIGDST_H
#define KTUN_ORIGDST_H

#include <stdbool.h>
#include <sys/socket.h>

struct redirect;

/* The original destination of a connection a client tunnel accepted, when it was steered
 * there: by the eBPF connect hooks (their map), by the tc program to a transparent listener
 * (transparent: the socket's own local address), or by iptables REDIRECT/TPROXY
 * (SO_ORIGINAL_DST). *len is 0 when the connection was made to the listener itself.
 * Worker threads. */
void origdst_find(const struct redirect *r, int fd, bool transparent, struct sockaddr_storage *dst,
		  socklen_t *len);

#endif
