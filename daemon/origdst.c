// SPDX-License-Identifier: GPL-2.0-only
#include <netinet/in.h>
#include <string.h>
#include <linux/netfilter_ipv4.h>

#include "addr.h"
#include "origdst.h"
#include "redirect.h"

/* IP6T_SO_ORIGINAL_DST has the same number as SO_ORIGINAL_DST, at the IPv6 level; its header
 * (linux/netfilter_ipv6/ip6_tables.h) does not mix with the C library's. */
#define IP6T_SO_ORIGINAL_DST SO_ORIGINAL_DST

static bool same_addr(const struct sockaddr_storage *a, socklen_t alen,
		      const struct sockaddr_storage *b, socklen_t blen)
{
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)a, *b4 = (const struct sockaddr_in *)b;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a, *b6 = (const struct sockaddr_in6 *)b;

	if (a->ss_family != b->ss_family || alen != blen)
		return false;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port && a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	return a6->sin6_port == b6->sin6_port &&
	       !memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr));
}

/* conntrack's view: the destination before a NAT redirect, if there was one. */
static void netfilter_orig(int fd, const struct sockaddr_storage *local, socklen_t locallen,
			   struct sockaddr_storage *dst, socklen_t *len)
{
	socklen_t n = sizeof(*dst);
	int rc;

	if (local->ss_family == AF_INET)
		rc = getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, dst, &n);
	else
		rc = getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, dst, &n);
	/* Without conntrack (or without an entry) there is no answer; with one but no NAT, the
	 * answer is the listener itself. */
	if (rc == 0 && !same_addr(dst, n, local, locallen))
		*len = n;
}

void origdst_find(const struct redirect *r, int fd, bool transparent, struct sockaddr_storage *dst,
		  socklen_t *len)
{
	struct sockaddr_storage local;
	socklen_t locallen = sizeof(local);

	*len = 0;
	if (redirect_take_orig(r, fd, dst, len))
		return;
	if (getsockname(fd, (struct sockaddr *)&local, &locallen) < 0)
		return;
	addr_unmap(&local, &locallen); /* a transparent listener is dual stack */
	if (transparent) {
		memcpy(dst, &local, locallen);
		*len = locallen;
		return;
	}
	netfilter_orig(fd, &local, locallen, dst, len);
}
