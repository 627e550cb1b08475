// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <linux/tls.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "sockdiag.h"

/* One exact-match inet_diag request: family, both ends; answered with tcp_info and the ULP
 * attribute (which carries the kTLS configuration of each direction). */

struct endpoint {
	int family;
	uint8_t addr[16];
	uint16_t port;
};

static int parse_endpoint(const char *text, struct endpoint *ep)
{
	char host[64];
	const char *colon = strrchr(text, ':');
	size_t len;

	if (!colon)
		return -EINVAL;
	len = (size_t)(colon - text);
	if (text[0] == '[') {
		text++;
		len -= 2;
	}
	if (len >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, len);
	host[len] = '\0';
	ep->port = (uint16_t)atoi(colon + 1);
	ep->family = strchr(host, ':') ? AF_INET6 : AF_INET;
	return inet_pton(ep->family, host, ep->addr) == 1 ? 0 : -EINVAL;
}

static const char *tls_conf_name(uint16_t conf)
{
	switch (conf) {
	case TLS_CONF_BASE:
		return "base";
	case TLS_CONF_SW:
		return "sw";
	case TLS_CONF_HW:
	case TLS_CONF_HW_RECORD:
		return "hw";
	}
	return NULL;
}

static void parse_ulp(struct nlattr *attr, struct sock_facts *out)
{
	struct nlattr *ulp[INET_ULP_INFO_MAX + 1], *tls[TLS_INFO_MAX + 1];

	if (nla_parse_nested(ulp, INET_ULP_INFO_MAX, attr, NULL) < 0)
		return;
	if (ulp[INET_ULP_INFO_NAME])
		nla_strlcpy(out->ulp, ulp[INET_ULP_INFO_NAME], sizeof(out->ulp));
	if (!ulp[INET_ULP_INFO_TLS] || nla_parse_nested(tls, TLS_INFO_MAX, ulp[INET_ULP_INFO_TLS], NULL) < 0)
		return;
	if (tls[TLS_INFO_TXCONF])
		out->tls_tx = tls_conf_name(nla_get_u16(tls[TLS_INFO_TXCONF]));
	if (tls[TLS_INFO_RXCONF])
		out->tls_rx = tls_conf_name(nla_get_u16(tls[TLS_INFO_RXCONF]));
}

static int on_reply(struct nl_msg *msg, void *arg)
{
	struct sock_facts *out = arg;
	struct nlattr *tb[INET_DIAG_MAX + 1];
	struct nlmsghdr *hdr = nlmsg_hdr(msg);

	if (nlmsg_parse(hdr, sizeof(struct inet_diag_msg), tb, INET_DIAG_MAX, NULL) < 0)
		return NL_SKIP;
	/* An older kernel's tcp_info is shorter: read it only if it reaches the last field used. */
	if (tb[INET_DIAG_INFO] && nla_len(tb[INET_DIAG_INFO]) >=
				  (int)(offsetof(struct tcp_info, tcpi_total_retrans) + sizeof(__u32))) {
		const struct tcp_info *ti = nla_data(tb[INET_DIAG_INFO]);

		out->rtt_us = ti->tcpi_rtt;
		out->retrans = ti->tcpi_total_retrans;
		out->snd_cwnd = ti->tcpi_snd_cwnd;
		out->have_tcp_info = true;
	}
	if (tb[INET_DIAG_ULP_INFO])
		parse_ulp(tb[INET_DIAG_ULP_INFO], out);
	return NL_OK;
}

static void fill_request(struct inet_diag_req_v2 *req, const struct endpoint *l, const struct endpoint *r)
{
	memset(req, 0, sizeof(*req));
	req->sdiag_family = (uint8_t)l->family;
	req->sdiag_protocol = IPPROTO_TCP;
	req->idiag_states = ~0u;
	req->idiag_ext = 1 << (INET_DIAG_INFO - 1);
	req->id.idiag_sport = htons(l->port);
	req->id.idiag_dport = htons(r->port);
	memcpy(req->id.idiag_src, l->addr, l->family == AF_INET ? 4 : 16);
	memcpy(req->id.idiag_dst, r->addr, r->family == AF_INET ? 4 : 16);
	req->id.idiag_cookie[0] = req->id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
}

int sockdiag_lookup(const char *local, const char *remote, struct sock_facts *out)
{
	struct endpoint l, r;
	struct inet_diag_req_v2 req;
	struct nl_sock *sk;
	int rc;

	memset(out, 0, sizeof(*out));
	if (parse_endpoint(local, &l) < 0 || parse_endpoint(remote, &r) < 0 || l.family != r.family)
		return -EINVAL;
	fill_request(&req, &l, &r);
	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	rc = nl_connect(sk, NETLINK_SOCK_DIAG);
	if (rc == 0)
		rc = nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_reply, out);
	if (rc == 0)
		rc = nl_send_simple(sk, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, &req, sizeof(req));
	if (rc >= 0)
		rc = nl_recvmsgs_default(sk);
	nl_socket_free(sk);
	if (rc == -NLE_OBJ_NOTFOUND)
		return -ENOENT;
	return rc < 0 ? -EIO : 0;
}
