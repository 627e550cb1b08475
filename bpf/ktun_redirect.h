/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_BPF_MAPS_LAYOUT_H
#define KTUN_BPF_MAPS_LAYOUT_H

/*
 * The eBPF redirector's map layouts, shared by the BPF programs (bpf/) and the one
 * daemon file that loads them (daemon/redirect.c). Addresses and the ports of sockets are in
 * network byte order, as the kernel hands them over; rule port ranges are in host order,
 * since they are compared, not copied.
 *
 * Pinned under the pin directory (bpf-pin-dir), so they outlive a ktund and can be changed
 * while it runs: ktun_rules, ktun_tunnels, ktun_cfg. Private to one ktund: the rest.
 */

#include <linux/types.h>

#define KTUN_RULES_MAX 64    /* per rule set; the map holds two sets (see ktun_cfg.active) */
#define KTUN_TUNNELS_MAX 256 /* tunnel indexes a rule can name */
#define KTUN_TUNNEL_NAME_MAX 64
#define KTUN_ORIG_MAX 65536  /* connects in flight between the connect hook and accept */

/* A destination rule: (dst & mask) == addr, port_lo <= dst port <= port_hi. IPv4 uses
 * word 0 only. Rules are kept most specific first, so the first match wins. */
struct ktun_rule {
	__u32 addr[4];
	__u32 mask[4];
	__u16 port_lo, port_hi;
	__u8 family;    /* AF_INET or AF_INET6 */
	__u8 prefixlen; /* what mask was made from: for listing the rule */
	__u16 tunnel;   /* index into ktun_tunnels */
};

/* Where a tunnel's listener is: a local connect is rewritten to it. addr6 holds the IPv6
 * address, or ::ffff:A.B.C.D for an IPv4 listener (what an IPv6 socket must connect to). */
struct ktun_tunnel {
	char name[KTUN_TUNNEL_NAME_MAX]; /* empty: no such tunnel; matched by name across restarts */
	__u32 addr4;
	__u32 addr6[4];
	__u16 port;
	__u8 family; /* of the listener */
	__u8 pad;
};

/* One element, key 0. A rule change writes the new set into the inactive half of ktun_rules
 * and then flips `active`, so a program never sees a half-written set. */
struct ktun_cfg {
	__u64 netns_cookie; /* the only network namespace the connect hooks act in */
	__u32 daemon_tgid;  /* ktund's own connects are never redirected */
	__u32 mark;         /* set on routed packets assigned to ktund, for policy routing */
	__u32 active;       /* 0 or 1: which half of ktun_rules is live */
	__u32 n_rules[2];
	__u32 pad;
};

/* The destination an application asked for, before the connect hook rewrote it. */
struct ktun_orig {
	__u32 addr[4];
	__u16 port;
	__u8 family;
	__u8 pad;
	__u32 tunnel;
};

/* A redirected connection as ktund's accepted socket sees it: peer = the application's
 * socket, local = the tunnel's listener. IPv4-mapped IPv6 addresses are stored as IPv4. */
struct ktun_orig_key {
	__u32 peer[4];
	__u32 local[4];
	__u16 peer_port, local_port;
	__u8 family;
	__u8 pad[3];
};

/* Per tunnel and CPU, since the programs were loaded. */
struct ktun_stats {
	__u64 local;       /* connects rewritten by the connect hooks */
	__u64 routed;      /* routed SYNs assigned to the transparent listener */
	__u64 routed_miss; /* routed SYNs that matched but could not be assigned */
};

#endif
