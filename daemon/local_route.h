/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_LOCAL_ROUTE_H
#define KTUN_LOCAL_ROUTE_H

#include <sys/socket.h>

/* The type of the route the kernel would take to sa (RTN_LOCAL, RTN_UNICAST, RTN_BROADCAST,
 * ... from linux/rtnetlink.h), as `ip route get` shows it, or a negative errno (-ENETUNREACH:
 * no route). AF_INET and AF_INET6 only. */
int local_route_type(const struct sockaddr *sa);

#endif
