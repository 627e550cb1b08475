// SPDX-License-Identifier: GPL-2.0-only
/*
 * Routed flows: TCP that other hosts send through this gateway (tc clsact ingress on the
 * interface they arrive on, redirect-interface). A SYN whose destination matches a rule is
 * assigned to the tunnel's transparent listener with bpf_sk_assign; later packets of the
 * flow to the socket the kernel made for it. Assigned packets get the configured mark, and
 * the operator's policy route (fwmark -> "local" route) makes the kernel deliver them
 * locally instead of forwarding them. ktund's accepted socket then has the original
 * destination as its local address. Everything else is left alone (forwarded as before), and
 * passed on to any later filter (TC_ACT_UNSPEC).
 *
 * Established flows are looked up whatever the rules say now, so removing a rule leaves
 * connections already tunnelled alone. Only UAPI types: no kernel BTF needed.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "ktun_maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define IP_OFFSET 0x1fff
#define IP_MF 0x2000

/* Each tunnel's transparent listener, by tunnel index (filled by ktund, not pinned: a
 * socket belongs to the process that has it). */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, KTUN_TUNNELS_MAX);
	__type(key, __u32);
	__type(value, __u64);
} ktun_tproxy SEC(".maps");

/* What one packet says about its flow. */
struct flow {
	struct bpf_sock_tuple tuple;
	__u32 tuple_len;
	__u32 dst[4];
	__u16 dport; /* host order */
	__u8 family;
	__u8 new_flow; /* SYN without ACK */
};

static __always_inline int parse_tcp(struct __sk_buff *skb, void *l4, struct flow *f)
{
	void *end = (void *)(long)skb->data_end;
	struct tcphdr *th = l4;

	if ((void *)(th + 1) > end)
		return -1;
	f->dport = bpf_ntohs(th->dest);
	f->new_flow = th->syn && !th->ack;
	if (f->family == AF_INET) {
		f->tuple.ipv4.sport = th->source;
		f->tuple.ipv4.dport = th->dest;
	} else {
		f->tuple.ipv6.sport = th->source;
		f->tuple.ipv6.dport = th->dest;
	}
	return 0;
}

static __always_inline int parse_ipv4(struct __sk_buff *skb, void *l3, struct flow *f)
{
	void *end = (void *)(long)skb->data_end;
	struct iphdr *ip = l3;

	if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_TCP || ip->ihl < 5)
		return -1;
	/* A fragment other than the first has no TCP header; a first fragment is left to the
	 * kernel as well (TCP over fragmented IPv4 is rare and not worth reassembling here). */
	if (ip->frag_off & bpf_htons(IP_OFFSET | IP_MF))
		return -1;
	f->family = AF_INET;
	f->tuple_len = sizeof(f->tuple.ipv4);
	f->tuple.ipv4.saddr = ip->saddr;
	f->tuple.ipv4.daddr = ip->daddr;
	f->dst[0] = ip->daddr;
	return parse_tcp(skb, l3 + ip->ihl * 4, f);
}

static __always_inline int parse_ipv6(struct __sk_buff *skb, void *l3, struct flow *f)
{
	void *end = (void *)(long)skb->data_end;
	struct ipv6hdr *ip6 = l3;

	/* TCP right after the fixed header only: extension headers are not walked. */
	if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_TCP)
		return -1;
	f->family = AF_INET6;
	f->tuple_len = sizeof(f->tuple.ipv6);
	__builtin_memcpy(f->tuple.ipv6.saddr, &ip6->saddr, 16);
	__builtin_memcpy(f->tuple.ipv6.daddr, &ip6->daddr, 16);
	__builtin_memcpy(f->dst, &ip6->daddr, 16);
	return parse_tcp(skb, ip6 + 1, f);
}

static __always_inline int parse(struct __sk_buff *skb, struct flow *f)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return -1;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(skb, eth + 1, f);
	if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(skb, eth + 1, f);
	return -1;
}

/* A later packet of a flow the kernel already has a socket for (request, established or
 * time-wait). 1 if assigned, 0 if there is none (or only a listener, which is not ours). */
static __always_inline int assign_existing(struct __sk_buff *skb, struct flow *f)
{
	struct bpf_sock *sk;
	int err;

	sk = bpf_skc_lookup_tcp(skb, &f->tuple, f->tuple_len, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	if (sk->state == BPF_TCP_LISTEN) {
		bpf_sk_release(sk);
		return 0;
	}
	err = bpf_sk_assign(skb, sk, 0);
	bpf_sk_release(sk);
	return err == 0;
}

/* A SYN that matches a rule: to the tunnel's transparent listener. 1 if assigned, 0 if no
 * rule matches, -1 if one does but there is no listener to take it (ktund is draining). */
static __always_inline int assign_new(struct __sk_buff *skb, const struct ktun_cfg *cfg,
				      struct flow *f)
{
	const struct ktun_rule *r = ktun_match(cfg, f->family, f->dst, f->dport);
	struct ktun_stats *st;
	struct bpf_sock *sk;
	__u32 key;
	int err = -1;

	if (!r)
		return 0;
	key = r->tunnel;
	st = ktun_get_stats(key);
	sk = bpf_map_lookup_elem(&ktun_tproxy, &key);
	if (sk) {
		err = bpf_sk_assign(skb, sk, 0);
		bpf_sk_release(sk);
	}
	if (st && err)
		__sync_fetch_and_add(&st->routed_miss, 1);
	else if (st)
		__sync_fetch_and_add(&st->routed, 1);
	return err ? -1 : 1;
}

SEC("tc")
int ktun_tc_ingress(struct __sk_buff *skb)
{
	struct ktun_cfg *cfg = ktun_get_cfg();
	struct flow f = { 0 };
	int assigned;

	if (!cfg || parse(skb, &f) < 0)
		return TC_ACT_UNSPEC;
	assigned = assign_existing(skb, &f);
	if (!assigned && f.new_flow)
		assigned = assign_new(skb, cfg, &f);
	/* A flow meant for the tunnel is dropped rather than forwarded in plaintext while ktund
	 * runs without a listener for it; once ktund exits, the filter is gone too. */
	if (assigned < 0)
		return TC_ACT_SHOT;
	if (!assigned)
		return TC_ACT_UNSPEC;
	skb->mark = cfg->mark;
	return TC_ACT_OK;
}
