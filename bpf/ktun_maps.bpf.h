/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_MAPS_BPF_H
#define KTUN_MAPS_BPF_H

/* The maps both program objects share through their pins (bpf-pin-dir), and the rule match.
 * BPF side only; the layouts are in ktun_redirect.h. */

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "ktun_redirect.h"

#define AF_INET 2
#define AF_INET6 10

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * KTUN_RULES_MAX);
	__type(key, __u32);
	__type(value, struct ktun_rule);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ktun_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KTUN_TUNNELS_MAX);
	__type(key, __u32);
	__type(value, struct ktun_tunnel);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ktun_tunnels SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ktun_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ktun_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KTUN_TUNNELS_MAX);
	__type(key, __u32);
	__type(value, struct ktun_stats);
} ktun_stats SEC(".maps");

static __always_inline struct ktun_cfg *ktun_get_cfg(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&ktun_cfg, &zero);
}

static __always_inline struct ktun_stats *ktun_get_stats(__u32 tunnel)
{
	return bpf_map_lookup_elem(&ktun_stats, &tunnel);
}

static __always_inline int ktun_rule_matches(const struct ktun_rule *r, __u8 family,
					     const __u32 addr[4], __u16 port)
{
	if (r->family != family || port < r->port_lo || port > r->port_hi)
		return 0;
	if ((addr[0] & r->mask[0]) != r->addr[0])
		return 0;
	if (family == AF_INET)
		return 1;
	return (addr[1] & r->mask[1]) == r->addr[1] && (addr[2] & r->mask[2]) == r->addr[2] &&
	       (addr[3] & r->mask[3]) == r->addr[3];
}

/* The first rule of the live set that matches family, address and (host order) port. */
static __always_inline const struct ktun_rule *ktun_match(const struct ktun_cfg *cfg, __u8 family,
							  const __u32 addr[4], __u16 port)
{
	__u32 set = cfg->active & 1;
	__u32 n = cfg->n_rules[set];

	for (__u32 i = 0; i < KTUN_RULES_MAX; i++) {
		__u32 key = set * KTUN_RULES_MAX + i;
		const struct ktun_rule *r;

		if (i >= n)
			break;
		r = bpf_map_lookup_elem(&ktun_rules, &key);
		if (!r)
			break;
		if (ktun_rule_matches(r, family, addr, port))
			return r;
	}
	return 0;
}

#endif
