/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_SOCKDIAG_H
#define KTUN_SOCKDIAG_H

#include <stdbool.h>
#include <stdint.h>

/* What the kernel says about one TCP socket (NETLINK_SOCK_DIAG, via libnl). */
struct sock_facts {
	char ulp[16];          /* "tls" when kernel TLS is attached, else "" */
	const char *tls_tx, *tls_rx; /* "sw", "hw", "base" or NULL */
	uint32_t rtt_us, retrans, snd_cwnd;
	bool have_tcp_info;
};

/* Looks up the socket with these ends (text as 1.2.3.4:5 or [::1]:5). Returns 0, or a
 * negative errno (-ENOENT if the kernel has no such socket). */
int sockdiag_lookup(const char *local, const char *remote, struct sock_facts *out);

#endif
