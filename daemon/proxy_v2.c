// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <netinet/in.h>

#include "proxy_v2.h"

static const uint8_t signature[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
				       0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };

#define PP2_VERSION_PROXY 0x21 /* version 2, command PROXY */
#define PP2_TCP4 0x11
#define PP2_TCP6 0x21
#define HEADER_LEN 16

/* A bounded writer: once it overflows, every later write is a no-op and len says so. */
struct out {
	uint8_t *p;
	size_t cap, len;
};

static void put(struct out *o, const void *data, size_t n)
{
	if (o->len + n <= o->cap)
		memcpy(o->p + o->len, data, n);
	o->len += n;
}

static void put_u8(struct out *o, uint8_t v)
{
	put(o, &v, 1);
}

static void put_be16(struct out *o, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	put(o, b, 2);
}

static void put_tlv(struct out *o, uint8_t type, const void *value, size_t n)
{
	put_u8(o, type);
	put_be16(o, (uint16_t)n);
	put(o, value, n);
}

static void put_text_tlv(struct out *o, uint8_t type, const char *text)
{
	/* A TLV's length is 16 bits, and nothing ktund sends comes near it. */
	if (text && *text)
		put_tlv(o, type, text, strnlen(text, 0xFFFF));
}

static int put_addresses(struct out *o, const struct sockaddr *src, const struct sockaddr *dst)
{
	if (src->sa_family == AF_INET && dst->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)src, *d = (const void *)dst;

		put(o, &s->sin_addr, 4);
		put(o, &d->sin_addr, 4);
		put(o, &s->sin_port, 2);
		put(o, &d->sin_port, 2);
		return PP2_TCP4;
	}
	if (src->sa_family == AF_INET6 && dst->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)src, *d = (const void *)dst;

		put(o, &s->sin6_addr, 16);
		put(o, &d->sin6_addr, 16);
		put(o, &s->sin6_port, 2);
		put(o, &d->sin6_port, 2);
		return PP2_TCP6;
	}
	return -EINVAL;
}

/* PP2_TYPE_SSL: client flags, verify result (0: verified), then the sub-TLVs. */
static void put_ssl_tlv(struct out *o, const struct proxy_v2_info *info)
{
	size_t start = o->len, body;
	uint8_t verify_ok[4] = { 0 };

	put_u8(o, PP2_TYPE_SSL);
	put_be16(o, 0); /* patched below */
	put_u8(o, PP2_CLIENT_SSL | PP2_CLIENT_CERT_CONN | PP2_CLIENT_CERT_SESS);
	put(o, verify_ok, sizeof(verify_ok));
	put_text_tlv(o, PP2_SUBTYPE_SSL_VERSION, info->version);
	put_text_tlv(o, PP2_SUBTYPE_SSL_CN, info->cn);
	put_text_tlv(o, PP2_SUBTYPE_SSL_CIPHER, info->cipher);
	body = o->len - start - 3;
	if (o->len <= o->cap) {
		o->p[start + 1] = (uint8_t)(body >> 8);
		o->p[start + 2] = (uint8_t)body;
	}
}

int proxy_v2_encode(uint8_t *buf, size_t cap, const struct proxy_v2_info *info)
{
	struct out o = { .p = buf, .cap = cap };
	size_t payload;
	int family;

	put(&o, signature, sizeof(signature));
	put_u8(&o, PP2_VERSION_PROXY);
	put_u8(&o, 0);    /* family, known once the addresses are written */
	put_be16(&o, 0);  /* length of what follows, likewise */
	family = put_addresses(&o, info->src, info->dst);
	if (family < 0)
		return family;
	put_ssl_tlv(&o, info);
	if (info->fingerprint)
		put_tlv(&o, PP2_TYPE_KTUN_FINGERPRINT, info->fingerprint, 32);
	put_text_tlv(&o, PP2_TYPE_KTUN_URI, info->uri);
	payload = o.len - HEADER_LEN;
	if (o.len > o.cap || payload > 0xFFFF)
		return -ENOSPC;
	buf[13] = (uint8_t)family;
	buf[14] = (uint8_t)(payload >> 8);
	buf[15] = (uint8_t)payload;
	return (int)o.len;
}
