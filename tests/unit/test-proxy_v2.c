// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "check.h"
#include "policy.h"
#include "proxy_v2.h"

/* proxy_v2_encode against the specification (proxy-protocol.txt, section 2.2), read back
 * by a small independent parser. */

static const uint8_t sig[12] = "\r\n\r\n\0\r\nQUIT\n";

static unsigned be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* The value of TLV type in [p, end), or NULL; *len gets its length. */
static const uint8_t *find_tlv(const uint8_t *p, const uint8_t *end, uint8_t type, unsigned *len)
{
	while (end - p >= 3) {
		unsigned n = be16(p + 1);

		if (p + 3 + n > end)
			return NULL;
		if (p[0] == type) {
			*len = n;
			return p + 3;
		}
		p += 3 + n;
	}
	return NULL;
}

static bool tlv_is(const uint8_t *p, const uint8_t *end, uint8_t type, const char *want)
{
	unsigned len;
	const uint8_t *v = find_tlv(p, end, type, &len);

	return v && len == strlen(want) && !memcmp(v, want, len);
}

static struct sockaddr_in v4(const char *ip, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };

	inet_pton(AF_INET, ip, &sa.sin_addr);
	return sa;
}

static uint8_t fp[32];
static uint8_t buf[PROXY_V2_MAX];

static struct proxy_v2_info full_info(const struct sockaddr *src, const struct sockaddr *dst)
{
	for (int i = 0; i < 32; i++)
		fp[i] = (uint8_t)(0xA0 + i);
	return (struct proxy_v2_info){ .src = src, .dst = dst, .version = "TLSv1.3",
				       .cn = "edge-client", .cipher = "TLS_AES_128_GCM_SHA256",
				       .uri = "spiffe://ktun.test/edge", .fingerprint = fp };
}

static void test_ipv4_header(void)
{
	struct sockaddr_in src = v4("192.0.2.1", 40000), dst = v4("192.0.2.2", 8443);
	struct proxy_v2_info info = full_info((void *)&src, (void *)&dst);
	int len = proxy_v2_encode(buf, sizeof(buf), &info);
	const uint8_t *tlvs = buf + 16 + 12, *end = buf + len;
	unsigned n;
	const uint8_t *ssl, *v;

	CHECK(len > 28);
	CHECK(!memcmp(buf, sig, 12));
	CHECK(buf[12] == 0x21); /* version 2, PROXY */
	CHECK(buf[13] == 0x11); /* TCP over IPv4 */
	CHECK(be16(buf + 14) == (unsigned)len - 16);
	CHECK(!memcmp(buf + 16, &src.sin_addr, 4) && !memcmp(buf + 20, &dst.sin_addr, 4));
	CHECK(be16(buf + 24) == 40000 && be16(buf + 26) == 8443);
	ssl = find_tlv(tlvs, end, PP2_TYPE_SSL, &n);
	CHECK(ssl && n >= 5);
	if (ssl) {
		CHECK(ssl[0] == (PP2_CLIENT_SSL | PP2_CLIENT_CERT_CONN | PP2_CLIENT_CERT_SESS));
		CHECK(!memcmp(ssl + 1, "\0\0\0\0", 4)); /* verified */
		CHECK(tlv_is(ssl + 5, ssl + n, PP2_SUBTYPE_SSL_VERSION, "TLSv1.3"));
		CHECK(tlv_is(ssl + 5, ssl + n, PP2_SUBTYPE_SSL_CN, "edge-client"));
		CHECK(tlv_is(ssl + 5, ssl + n, PP2_SUBTYPE_SSL_CIPHER, "TLS_AES_128_GCM_SHA256"));
	}
	v = find_tlv(tlvs, end, PP2_TYPE_KTUN_FINGERPRINT, &n);
	CHECK(v && n == 32 && !memcmp(v, fp, 32));
	CHECK(tlv_is(tlvs, end, PP2_TYPE_KTUN_URI, "spiffe://ktun.test/edge"));
}

static void test_ipv6_header(void)
{
	struct sockaddr_in6 src = { .sin6_family = AF_INET6, .sin6_port = htons(1) };
	struct sockaddr_in6 dst = { .sin6_family = AF_INET6, .sin6_port = htons(65535) };
	struct proxy_v2_info info = full_info((void *)&src, (void *)&dst);
	int len;

	inet_pton(AF_INET6, "2001:db8:1::1", &src.sin6_addr);
	inet_pton(AF_INET6, "2001:db8:1::2", &dst.sin6_addr);
	len = proxy_v2_encode(buf, sizeof(buf), &info);
	CHECK(len > 16 + 36);
	CHECK(buf[13] == 0x21); /* TCP over IPv6 */
	CHECK(be16(buf + 14) == (unsigned)len - 16);
	CHECK(!memcmp(buf + 16, &src.sin6_addr, 16) && !memcmp(buf + 32, &dst.sin6_addr, 16));
	CHECK(be16(buf + 48) == 1 && be16(buf + 50) == 65535);
}

static void test_empty_fields_left_out(void)
{
	struct sockaddr_in src = v4("192.0.2.1", 1), dst = v4("192.0.2.2", 2);
	struct proxy_v2_info info = { .src = (void *)&src, .dst = (void *)&dst, .cn = "" };
	int len = proxy_v2_encode(buf, sizeof(buf), &info);
	unsigned n;
	const uint8_t *ssl = find_tlv(buf + 28, buf + len, PP2_TYPE_SSL, &n);

	CHECK(ssl && n == 5); /* flags and verify only */
	CHECK(!find_tlv(buf + 28, buf + len, PP2_TYPE_KTUN_FINGERPRINT, &n));
	CHECK(!find_tlv(buf + 28, buf + len, PP2_TYPE_KTUN_URI, &n));
	CHECK(len == 28 + 3 + 5);
}

static void test_too_small_buffer(void)
{
	struct sockaddr_in src = v4("192.0.2.1", 1), dst = v4("192.0.2.2", 2);
	struct proxy_v2_info info = full_info((void *)&src, (void *)&dst);
	int len = proxy_v2_encode(buf, sizeof(buf), &info);
	uint8_t small[PROXY_V2_MAX];

	for (int cap = 0; cap < len; cap++)
		CHECK(proxy_v2_encode(small, (size_t)cap, &info) == -ENOSPC);
	CHECK(proxy_v2_encode(small, (size_t)len, &info) == len);
	CHECK(!memcmp(small, buf, (size_t)len));
}

/* The longest CN and URI ktund sends (policy_identity: up to POLICY_VALUE_MAX - 1 bytes each)
 * with the longest IANA cipher name fit PROXY_V2_MAX, over IPv6: a client with long names
 * must not lose its connection to -ENOSPC. */
static void test_longest_names_fit(void)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(1) };
	static char cn[POLICY_VALUE_MAX], uri[POLICY_VALUE_MAX];
	struct proxy_v2_info info;
	unsigned len;
	int n;

	memset(cn, 'c', sizeof(cn) - 1);
	memset(uri, 'u', sizeof(uri) - 1);
	info = full_info((struct sockaddr *)&a, (struct sockaddr *)&a);
	info.cn = cn;
	info.uri = uri;
	info.cipher = "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256";
	n = proxy_v2_encode(buf, sizeof(buf), &info);
	CHECK(n > 0);
	if (n > 0) {
		CHECK(tlv_is(buf + 52, buf + n, PP2_TYPE_KTUN_URI, uri));
		CHECK(find_tlv(buf + 52, buf + n, PP2_TYPE_SSL, &len) != NULL);
	}
}

static void test_mixed_families_refused(void)
{
	struct sockaddr_in src = v4("192.0.2.1", 1);
	struct sockaddr_in6 dst = { .sin6_family = AF_INET6 };
	struct proxy_v2_info info = { .src = (void *)&src, .dst = (void *)&dst };

	CHECK(proxy_v2_encode(buf, sizeof(buf), &info) == -EINVAL);
}

int main(void)
{
	RUN(test_ipv4_header);
	RUN(test_ipv6_header);
	RUN(test_empty_fields_left_out);
	RUN(test_too_small_buffer);
	RUN(test_mixed_families_refused);
	RUN(test_longest_names_fit);
	return check_result();
}
