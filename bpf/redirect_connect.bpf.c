// SPDX-License-Identifier: GPL-2.0-only
/*
 * Local flows: connects made by processes on this host (in the cgroup the programs are
 * attached to) whose destination matches a rule are rewritten to the rule's tunnel listener.
 *
 *   cgroup/connect4, cgroup/connect6: match, remember the destination in the socket's own
 *       storage, rewrite the destination. Only in ktund's network namespace (a cgroup hook
 *       sees every namespace's connects) and never for ktund's own connects (no loops).
 *   sockops (TCP_CONNECT_CB): once the kernel has chosen the source port, and before the SYN
 *       leaves, move the remembered destination to the key ktund can build from the socket
 *       it accepts: its peer (our source) and its local address (our destination).
 *
 * Only UAPI context types are used, so the object needs no kernel BTF.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "ktun_maps.bpf.h"

#define SOCK_STREAM 1

char LICENSE[] SEC("license") = "GPL";

/* The destination a rewritten connect asked for, on the socket itself until TCP_CONNECT_CB
 * moves it: no hashing on the connect path, and freed with the socket if it never gets
 * that far. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ktun_orig);
} ktun_sk_orig SEC(".maps");

/* Redirected connections not yet accepted: ktund looks each one up and deletes it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KTUN_ORIG_MAX);
	__type(key, struct ktun_orig_key);
	__type(value, struct ktun_orig);
} ktun_orig SEC(".maps");

static __always_inline int in_scope(struct bpf_sock_addr *ctx, const struct ktun_cfg *cfg)
{
	if (ctx->type != SOCK_STREAM || ctx->protocol != IPPROTO_TCP)
		return 0;
	if (bpf_get_netns_cookie(ctx) != cfg->netns_cookie)
		return 0;
	return (__u32)(bpf_get_current_pid_tgid() >> 32) != cfg->daemon_tgid;
}

/* 0, or -1 if there is nowhere to keep the destination (then the connect is left alone:
 * ktund could not tell where it was going). */
static __always_inline int remember(struct bpf_sock_addr *ctx, const struct ktun_rule *r,
				    const __u32 addr[4], __u16 port)
{
	struct ktun_orig *orig;
	struct ktun_stats *st;

	if (!ctx->sk)
		return -1;
	orig = bpf_sk_storage_get(&ktun_sk_orig, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!orig)
		return -1;
	orig->addr[0] = addr[0];
	orig->addr[1] = addr[1];
	orig->addr[2] = addr[2];
	orig->addr[3] = addr[3];
	orig->port = port;
	orig->family = r->family;
	orig->tunnel = r->tunnel;
	st = ktun_get_stats(r->tunnel);
	if (st)
		__sync_fetch_and_add(&st->local, 1);
	return 0;
}

SEC("cgroup/connect4")
int ktun_connect4(struct bpf_sock_addr *ctx)
{
	struct ktun_cfg *cfg = ktun_get_cfg();
	const struct ktun_rule *r;
	const struct ktun_tunnel *t;
	__u32 addr[4] = { 0 }, key;
	__u16 port;

	if (!cfg || !in_scope(ctx, cfg))
		return 1;
	addr[0] = ctx->user_ip4;
	port = (__u16)ctx->user_port;
	r = ktun_match(cfg, AF_INET, addr, bpf_ntohs(port));
	if (!r)
		return 1;
	key = r->tunnel;
	t = bpf_map_lookup_elem(&ktun_tunnels, &key);
	if (!t || t->family != AF_INET)
		return 1; /* the daemon refuses such rules; a stale pin must not misroute */
	if (remember(ctx, r, addr, port) < 0)
		return 1;
	ctx->user_ip4 = t->addr4;
	ctx->user_port = t->port;
	return 1;
}

/* ::ffff:a.b.c.d: an IPv6 socket connecting to an IPv4 destination. */
static __always_inline int v4mapped(const __u32 a[4])
{
	return a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0xffff);
}

SEC("cgroup/connect6")
int ktun_connect6(struct bpf_sock_addr *ctx)
{
	struct ktun_cfg *cfg = ktun_get_cfg();
	const struct ktun_rule *r;
	const struct ktun_tunnel *t;
	__u32 addr[4], key;
	__u16 port;
	__u8 family = AF_INET6;

	if (!cfg || !in_scope(ctx, cfg))
		return 1;
	addr[0] = ctx->user_ip6[0];
	addr[1] = ctx->user_ip6[1];
	addr[2] = ctx->user_ip6[2];
	addr[3] = ctx->user_ip6[3];
	if (v4mapped(addr)) {
		/* Matched against the IPv4 rules, and remembered as the IPv4 address it is. */
		family = AF_INET;
		addr[0] = addr[3];
		addr[1] = addr[2] = addr[3] = 0;
	}
	port = (__u16)ctx->user_port;
	r = ktun_match(cfg, family, addr, bpf_ntohs(port));
	if (!r)
		return 1;
	key = r->tunnel;
	t = bpf_map_lookup_elem(&ktun_tunnels, &key);
	if (!t || !t->family)
		return 1;
	if (remember(ctx, r, addr, port) < 0)
		return 1;
	ctx->user_ip6[0] = t->addr6[0];
	ctx->user_ip6[1] = t->addr6[1];
	ctx->user_ip6[2] = t->addr6[2];
	ctx->user_ip6[3] = t->addr6[3];
	ctx->user_port = t->port;
	return 1;
}

static __always_inline void key_from_sockops(struct bpf_sock_ops *skops, struct ktun_orig_key *k)
{
	/* local_port is in host order; remote_port is the network-order port in the upper half. */
	k->peer_port = bpf_htons((__u16)skops->local_port);
	k->local_port = bpf_htons((__u16)bpf_ntohl(skops->remote_port));
	if (skops->family == AF_INET) {
		k->family = AF_INET;
		k->peer[0] = skops->local_ip4;
		k->local[0] = skops->remote_ip4;
		return;
	}
	k->peer[0] = skops->local_ip6[0];
	k->peer[1] = skops->local_ip6[1];
	k->peer[2] = skops->local_ip6[2];
	k->peer[3] = skops->local_ip6[3];
	k->local[0] = skops->remote_ip6[0];
	k->local[1] = skops->remote_ip6[1];
	k->local[2] = skops->remote_ip6[2];
	k->local[3] = skops->remote_ip6[3];
	k->family = AF_INET6;
	if (v4mapped(k->local)) {
		/* An IPv6 socket sent to an IPv4 listener: ktund accepted an IPv4 connection. */
		k->family = AF_INET;
		k->peer[0] = k->peer[3];
		k->local[0] = k->local[3];
		k->peer[1] = k->peer[2] = k->peer[3] = 0;
		k->local[1] = k->local[2] = k->local[3] = 0;
	}
}

SEC("sockops")
int ktun_sockops(struct bpf_sock_ops *skops)
{
	struct ktun_orig_key key = { 0 };
	struct bpf_sock *sk = skops->sk;
	struct ktun_orig *orig;

	if (skops->op != BPF_SOCK_OPS_TCP_CONNECT_CB || !sk)
		return 1;
	orig = bpf_sk_storage_get(&ktun_sk_orig, sk, 0, 0);
	if (!orig)
		return 1;
	key_from_sockops(skops, &key);
	bpf_map_update_elem(&ktun_orig, &key, orig, BPF_ANY);
	/* The storage is left to go with the socket: deleting it costs an RCU free per connect,
	 * and a TCP socket connects once. */
	return 1;
}
