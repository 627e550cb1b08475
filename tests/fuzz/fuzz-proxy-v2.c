// SPDX-License-Identifier: GPL-2.0-only
/* proxy_v2_encode() with any addresses, texts, fingerprint and buffer size, and the header it
 * writes read back by an independent reader of the PROXY v2 format: the signature, the
 * family, the length, the addresses and ports, and every TLV — what a real origin (nginx,
 * HAProxy) parses. A header that does not fit must be refused with -ENOSPC, never written
 * past cap (ASan would see it: the buffer is exactly cap bytes). */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "proxy_v2.h"

/* The input: one byte of flags, 36 bytes of addresses and ports, two bytes of cap, 32 of
 * fingerprint, then version, cn, cipher and uri separated by NULs. */
struct input {
	uint8_t flags;
	uint8_t addr[36];
	uint16_t cap;
	uint8_t fingerprint[32];
	const char *text[4];
};

static size_t be16(const uint8_t *p)
{
	return (size_t)p[0] << 8 | p[1];
}

static size_t text_len(const char *s)
{
	return s ? strnlen(s, 0xFFFF) : 0;
}

/* The TLV of type at p (end of the region at end), checked against the text it must carry. */
static const uint8_t *expect_text(const uint8_t *p, const uint8_t *end, uint8_t type, const char *text)
{
	size_t n = text_len(text);

	if (!n)
		return p;
	if (end - p < 3 || p[0] != type || be16(p + 1) != n || (size_t)(end - p - 3) < n ||
	    memcmp(p + 3, text, n))
		abort();
	return p + 3 + n;
}

static const uint8_t *expect_ssl(const uint8_t *p, const uint8_t *end, const struct input *in)
{
	const uint8_t *body_end;

	if (end - p < 8 || p[0] != PP2_TYPE_SSL || (size_t)(end - p - 3) < be16(p + 1))
		abort();
	body_end = p + 3 + be16(p + 1);
	if (p[3] != (PP2_CLIENT_SSL | PP2_CLIENT_CERT_CONN | PP2_CLIENT_CERT_SESS) ||
	    p[4] | p[5] | p[6] | p[7]) /* verified: 0 */
		abort();
	p += 8;
	p = expect_text(p, body_end, PP2_SUBTYPE_SSL_VERSION, in->text[0]);
	p = expect_text(p, body_end, PP2_SUBTYPE_SSL_CN, in->text[1]);
	p = expect_text(p, body_end, PP2_SUBTYPE_SSL_CIPHER, in->text[2]);
	if (p != body_end)
		abort();
	return p;
}

static void check(const uint8_t *h, size_t len, const struct input *in, bool v6)
{
	static const uint8_t sig[12] = "\r\n\r\n\0\r\nQUIT\n";
	size_t alen = v6 ? 36 : 12;
	const uint8_t *p = h + 16 + alen, *end = h + len;

	if (len < 16 + alen || memcmp(h, sig, 12) || h[12] != 0x21 || h[13] != (v6 ? 0x21 : 0x11) ||
	    be16(h + 14) != len - 16)
		abort();
	/* Addresses as given (src, dst), then the ports, all in network order. */
	if (memcmp(h + 16, in->addr, alen - 4) || memcmp(h + 16 + alen - 4, in->addr + 32, 4))
		abort();
	p = expect_ssl(p, end, in);
	if (in->flags & 2) {
		if (end - p < 35 || p[0] != PP2_TYPE_KTUN_FINGERPRINT || be16(p + 1) != 32 ||
		    memcmp(p + 3, in->fingerprint, 32))
			abort();
		p += 35;
	}
	p = expect_text(p, end, PP2_TYPE_KTUN_URI, in->text[3]);
	if (p != end)
		abort();
}

static void fill_addresses(const struct input *in, bool v6, struct sockaddr_storage *src,
			   struct sockaddr_storage *dst)
{
	memset(src, 0, sizeof(*src));
	memset(dst, 0, sizeof(*dst));
	if (v6) {
		struct sockaddr_in6 *s = (void *)src, *d = (void *)dst;

		s->sin6_family = d->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, in->addr, 16);
		memcpy(&d->sin6_addr, in->addr + 16, 16);
		memcpy(&s->sin6_port, in->addr + 32, 2);
		memcpy(&d->sin6_port, in->addr + 34, 2);
	} else {
		struct sockaddr_in *s = (void *)src, *d = (void *)dst;

		s->sin_family = d->sin_family = AF_INET;
		memcpy(&s->sin_addr, in->addr, 4);
		memcpy(&d->sin_addr, in->addr + 4, 4);
		memcpy(&s->sin_port, in->addr + 32, 2);
		memcpy(&d->sin_port, in->addr + 34, 2);
	}
}

static void run(struct input *in)
{
	bool v6 = in->flags & 1, mixed = in->flags & 4;
	struct sockaddr_storage src, dst;
	struct proxy_v2_info info;
	uint8_t *buf = malloc(in->cap ? in->cap : 1);
	int rc;

	fill_addresses(in, v6, &src, &dst);
	if (mixed) /* one IPv4, one IPv6 address: refused */
		dst.ss_family = v6 ? AF_INET : AF_INET6;
	info = (struct proxy_v2_info){
		.src = (struct sockaddr *)&src, .dst = (struct sockaddr *)&dst,
		.version = in->text[0], .cn = in->text[1], .cipher = in->text[2], .uri = in->text[3],
		.fingerprint = in->flags & 2 ? in->fingerprint : NULL,
	};
	rc = proxy_v2_encode(buf, in->cap, &info);
	if (mixed ? rc != -EINVAL : rc < 0 && rc != -ENOSPC)
		abort();
	if (rc >= 0) {
		if ((size_t)rc > in->cap)
			abort();
		check(buf, (size_t)rc, in, v6);
	} else if (rc == -ENOSPC && in->cap >= PROXY_V2_MAX && in->flags & 8) {
		abort(); /* short texts (flag 8: each under 64 bytes) always fit PROXY_V2_MAX */
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { 0 };
	char *rest, *p;

	if (size < 71 || size > 70000)
		return 0;
	in.flags = data[0];
	memcpy(in.addr, data + 1, 36);
	in.cap = (uint16_t)be16(data + 37);
	memcpy(in.fingerprint, data + 39, 32);
	rest = malloc(size - 71 + 4);
	memcpy(rest, data + 71, size - 71);
	memset(rest + size - 71, 0, 4);
	p = rest;
	for (int i = 0; i < 4; i++) {
		size_t n = strlen(p);

		in.text[i] = n ? p : NULL;
		if (in.flags & 8 && n >= 64)
			in.flags &= (uint8_t)~8;
		p += n + (p + n < rest + size - 71 ? 1 : 0);
	}
	run(&in);
	free(rest);
	return 0;
}
