// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "local_route.h"

/*
 * Whether an address is this host's, asked of the kernel's routing: RTM_GETROUTE for the
 * address answers with a route of type local for every address of every interface (secondary
 * ones too, which a UDP connect's chosen source does not show) and for local routes (AnyIP).
 * Unlike a bind test it is not fooled by ip_nonlocal_bind or IP_FREEBIND, and it needs no
 * bind(2), which the sandbox does not allow: an unbound netlink socket is bound by the kernel
 * on its first send. The kernel answers within the send, so the receive does not wait.
 */

struct route_query {
	struct nlmsghdr nh;
	struct rtmsg rt;
	char attrs[RTA_SPACE(sizeof(struct in6_addr))];
};

static int build(struct route_query *q, const struct sockaddr *sa)
{
	const void *addr;
	size_t alen;
	struct rtattr *rta;

	if (sa->sa_family == AF_INET) {
		addr = &((const struct sockaddr_in *)sa)->sin_addr;
		alen = sizeof(struct in_addr);
	} else if (sa->sa_family == AF_INET6) {
		addr = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		alen = sizeof(struct in6_addr);
	} else {
		return -EAFNOSUPPORT;
	}
	memset(q, 0, sizeof(*q));
	q->nh.nlmsg_len = NLMSG_LENGTH(sizeof(q->rt)) + RTA_SPACE(alen);
	q->nh.nlmsg_type = RTM_GETROUTE;
	q->nh.nlmsg_flags = NLM_F_REQUEST;
	q->nh.nlmsg_seq = 1;
	q->rt.rtm_family = (unsigned char)sa->sa_family;
	q->rt.rtm_dst_len = (unsigned char)(alen * 8);
	rta = (struct rtattr *)q->attrs;
	rta->rta_type = RTA_DST;
	rta->rta_len = (unsigned short)RTA_LENGTH(alen);
	memcpy(RTA_DATA(rta), addr, alen);
	return 0;
}

/* The answer: a route (its type) or an error message. */
static int answer(const void *buf, ssize_t n)
{
	const struct nlmsghdr *nh = buf;

	if (n < 0)
		return -errno;
	if (!NLMSG_OK(nh, (size_t)n))
		return -EBADMSG;
	if (nh->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = NLMSG_DATA(nh);

		if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
			return -EBADMSG;
		return e->error < 0 ? e->error : -EBADMSG;
	}
	if (nh->nlmsg_type != RTM_NEWROUTE || nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg)))
		return -EBADMSG;
	return ((const struct rtmsg *)NLMSG_DATA(nh))->rtm_type;
}

int local_route_type(const struct sockaddr *sa)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct route_query q;
	union {
		struct nlmsghdr nh;
		char buf[4096];
	} reply;
	int fd, rc = build(&q, sa);

	if (rc < 0)
		return rc;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (sendto(fd, &q, q.nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		rc = -errno;
	else
		rc = answer(&reply, recv(fd, &reply, sizeof(reply), MSG_DONTWAIT));
	close(fd);
	return rc;
}
