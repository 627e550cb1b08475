/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_PROXY_V2_H
#define KTUN_PROXY_V2_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * The PROXY protocol version 2 header (haproxy.org/download/2.9/doc/proxy-protocol.txt) that
 * a server tunnel with proxy-protocol = yes sends to its target before any payload: the TLS
 * client's address, the address it connected to, and what ktund verified about it.
 */

/* TLVs: PP2_TYPE_SSL with version, CN and cipher, and two of the custom range for what the
 * standard ones cannot carry. */
#define PP2_TYPE_SSL 0x20
#define PP2_SUBTYPE_SSL_VERSION 0x21
#define PP2_SUBTYPE_SSL_CN 0x22
#define PP2_SUBTYPE_SSL_CIPHER 0x23
#define PP2_CLIENT_SSL 0x01
#define PP2_CLIENT_CERT_CONN 0x02
#define PP2_CLIENT_CERT_SESS 0x04
#define PP2_TYPE_KTUN_FINGERPRINT 0xE0 /* SHA-256 of the client certificate's DER, 32 bytes */
#define PP2_TYPE_KTUN_URI 0xE1         /* a URI SAN of the client certificate (policy_identity) */

/* Header + TLVs as ktund fills them, with room to spare: 52 bytes of header and IPv6
 * addresses, a CN and a URI of up to 511 bytes each (policy_identity), version, cipher name
 * and fingerprint: under 1,300. */
#define PROXY_V2_MAX 2048

struct proxy_v2_info {
	const struct sockaddr *src, *dst; /* both AF_INET or both AF_INET6 */
	const char *version, *cn, *cipher, *uri; /* NULL or "": left out */
	const uint8_t *fingerprint;              /* 32 bytes, or NULL */
};

/* Writes the header into buf; returns its length, -ENOSPC if cap is too small, or -EINVAL if
 * the addresses are not both IPv4 or both IPv6. */
int proxy_v2_encode(uint8_t *buf, size_t cap, const struct proxy_v2_info *info);

#endif
