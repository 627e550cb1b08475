// SPDX-License-Identifier: GPL-2.0-only
/*
 * ktls-probe: proves that the running kernel really does TLS (kTLS).
 *
 * For each suite it connects two TCP sockets over loopback, attaches the
 * "tls" ULP to both, installs TLS_TX and TLS_RX with fixed test keys (one key
 * per direction) and pushes 1 MiB each way, checking it arrives intact.  A
 * second pair with TLS_TX on one end only shows that what goes on the wire are
 * TLS records, not the plaintext.  Finally /proc/net/tls_stat must show the
 * software TX/RX counters risen and no decrypt errors.
 *
 * Exit: 0 all good, 1 failure, 77 the kernel has no kTLS (skip).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* accept4, memmem, explicit_bzero */
#endif
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <linux/tls.h>

#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#ifndef TCP_ULP
#define TCP_ULP 31
#endif

#define PROBE_BYTES (1u << 20)
#define PROBE_STALL_MS 30000
#define PROBE_SKIP 77

struct suite {
	const char *name;
	uint16_t version;
	uint16_t cipher;
	size_t overhead;	/* record payload bytes beyond the plaintext */
};

static const struct suite suites[] = {
	{ "TLS 1.3 AES-128-GCM", TLS_1_3_VERSION, TLS_CIPHER_AES_GCM_128, 1 + 16 },
	{ "TLS 1.3 AES-256-GCM", TLS_1_3_VERSION, TLS_CIPHER_AES_GCM_256, 1 + 16 },
	{ "TLS 1.3 ChaCha20-Poly1305", TLS_1_3_VERSION, TLS_CIPHER_CHACHA20_POLY1305, 1 + 16 },
	{ "TLS 1.2 AES-128-GCM", TLS_1_2_VERSION, TLS_CIPHER_AES_GCM_128, 8 + 16 },
	{ "TLS 1.2 ChaCha20-Poly1305", TLS_1_2_VERSION, TLS_CIPHER_CHACHA20_POLY1305, 16 },
};

union crypto_info {
	struct tls_crypto_info info;
	struct tls12_crypto_info_aes_gcm_128 gcm128;
	struct tls12_crypto_info_aes_gcm_256 gcm256;
	struct tls12_crypto_info_chacha20_poly1305 chacha;
};

/* Deterministic filler: a fixed test key is fine, we only prove the kernel path. */
static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 37u + i * 11u + 5u);
}

static socklen_t crypto_info_make(union crypto_info *ci, const struct suite *s, uint8_t seed)
{
	memset(ci, 0, sizeof(*ci));
	ci->info.version = s->version;
	ci->info.cipher_type = s->cipher;
	switch (s->cipher) {
	case TLS_CIPHER_AES_GCM_128:
		fill(ci->gcm128.key, sizeof(ci->gcm128.key), seed);
		fill(ci->gcm128.salt, sizeof(ci->gcm128.salt), seed + 1);
		fill(ci->gcm128.iv, sizeof(ci->gcm128.iv), seed + 2);
		return sizeof(ci->gcm128);
	case TLS_CIPHER_AES_GCM_256:
		fill(ci->gcm256.key, sizeof(ci->gcm256.key), seed);
		fill(ci->gcm256.salt, sizeof(ci->gcm256.salt), seed + 1);
		fill(ci->gcm256.iv, sizeof(ci->gcm256.iv), seed + 2);
		return sizeof(ci->gcm256);
	case TLS_CIPHER_CHACHA20_POLY1305:
		fill(ci->chacha.key, sizeof(ci->chacha.key), seed);
		fill(ci->chacha.iv, sizeof(ci->chacha.iv), seed + 2);
		return sizeof(ci->chacha);
	}
	return 0;
}

/* A connected loopback pair: *a is the connecting end, *b the accepted one. */
static int tcp_pair(int *a, int *b)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int ret, l, c = -1, s = -1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		return -errno;
	if (bind(l, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&sin, &len) < 0)
		goto fail_listener;
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		goto fail_listener;
	s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (s < 0)
		goto fail_listener;
	close(l);
	*a = c;
	*b = s;
	return 0;

fail_listener:
	ret = -errno;
	if (c >= 0)
		close(c);
	close(l);
	return ret;
}

static int ulp_tls(int fd)
{
	return setsockopt(fd, SOL_TCP, TCP_ULP, "tls", sizeof("tls")) < 0 ? -errno : 0;
}

static int key_install(int fd, int dir, const struct suite *s, uint8_t seed)
{
	union crypto_info ci, back;
	socklen_t len = crypto_info_make(&ci, s, seed), blen = len;
	int ret = 0;

	if (setsockopt(fd, SOL_TLS, dir, &ci, len) < 0) {
		ret = -errno;
		fprintf(stderr, "ktls-probe: %s: setsockopt(%s): %s\n", s->name,
			dir == TLS_TX ? "TLS_TX" : "TLS_RX", strerror(errno));
		goto out;
	}
	/* The kernel wants the exact size of the suite's struct here. */
	if (getsockopt(fd, SOL_TLS, dir, &back, &blen) < 0 ||
	    back.info.version != s->version || back.info.cipher_type != s->cipher) {
		ret = -EPROTO;
		fprintf(stderr, "ktls-probe: %s: getsockopt(%s) does not read back the suite\n",
			s->name, dir == TLS_TX ? "TLS_TX" : "TLS_RX");
	}
out:
	explicit_bzero(&ci, sizeof(ci));
	return ret;
}

struct flow {
	int tx, rx;
	const uint8_t *src;
	uint8_t *dst;
	size_t sent, rcvd;
};

static bool flow_done(const struct flow *f)
{
	return f->rcvd == PROBE_BYTES;
}

static int flow_step(struct flow *f)
{
	ssize_t n;

	if (f->sent < PROBE_BYTES) {
		size_t want = PROBE_BYTES - f->sent;

		n = send(f->tx, f->src + f->sent, want > 65536 ? 65536 : want, MSG_NOSIGNAL);
		if (n > 0)
			f->sent += (size_t)n;
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
	}
	if (f->rcvd < PROBE_BYTES) {
		n = recv(f->rx, f->dst + f->rcvd, PROBE_BYTES - f->rcvd, 0);
		if (n > 0)
			f->rcvd += (size_t)n;
		else if (n == 0)
			return -ECONNRESET;
		else if (errno != EAGAIN && errno != EINTR)
			return -errno;
	}
	return 0;
}

/* Pumps both directions at once so neither side blocks on a full buffer. */
static int pump(struct flow f[2], const char *name)
{
	int ret;

	for (int i = 0; i < 2; i++) {
		fcntl(f[i].tx, F_SETFL, fcntl(f[i].tx, F_GETFL) | O_NONBLOCK);
		fcntl(f[i].rx, F_SETFL, fcntl(f[i].rx, F_GETFL) | O_NONBLOCK);
	}
	while (!flow_done(&f[0]) || !flow_done(&f[1])) {
		/* f[0] sends on a and reads on b, f[1] the reverse: f[0].tx == f[1].rx. */
		struct pollfd p[2] = {
			{ .fd = f[0].tx, .events = (short)((f[0].sent < PROBE_BYTES ? POLLOUT : 0) |
							   (flow_done(&f[1]) ? 0 : POLLIN)) },
			{ .fd = f[1].tx, .events = (short)((f[1].sent < PROBE_BYTES ? POLLOUT : 0) |
							   (flow_done(&f[0]) ? 0 : POLLIN)) },
		};

		ret = poll(p, 2, PROBE_STALL_MS);
		if (ret == 0) {
			fprintf(stderr, "ktls-probe: %s: stalled (sent %zu/%zu, received %zu/%zu)\n",
				name, f[0].sent, f[1].sent, f[0].rcvd, f[1].rcvd);
			return -ETIMEDOUT;
		}
		if (ret < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < 2; i++) {
			ret = flow_step(&f[i]);
			if (ret < 0) {
				fprintf(stderr, "ktls-probe: %s: transfer: %s\n", name, strerror(-ret));
				return ret;
			}
		}
	}
	return 0;
}

static int run_duplex(const struct suite *s, uint8_t *buf)
{
	uint8_t *src0 = buf, *src1 = buf + PROBE_BYTES, *dst0 = buf + 2 * PROBE_BYTES,
		*dst1 = buf + 3 * PROBE_BYTES;
	struct flow f[2];
	int ret, a = -1, b = -1;

	ret = tcp_pair(&a, &b);
	if (ret < 0) {
		fprintf(stderr, "ktls-probe: loopback TCP pair: %s\n", strerror(-ret));
		return ret;
	}
	ret = ulp_tls(a);
	if (ret == 0)
		ret = ulp_tls(b);
	if (ret < 0)
		goto out;
	/* Key 1 protects a->b, key 2 b->a. */
	if ((ret = key_install(a, TLS_TX, s, 1)) < 0 || (ret = key_install(b, TLS_RX, s, 1)) < 0 ||
	    (ret = key_install(b, TLS_TX, s, 2)) < 0 || (ret = key_install(a, TLS_RX, s, 2)) < 0)
		goto out;

	memset(dst0, 0, PROBE_BYTES);
	memset(dst1, 0, PROBE_BYTES);
	f[0] = (struct flow){ .tx = a, .rx = b, .src = src0, .dst = dst0 };
	f[1] = (struct flow){ .tx = b, .rx = a, .src = src1, .dst = dst1 };
	ret = pump(f, s->name);
	if (ret < 0)
		goto out;
	if (memcmp(src0, dst0, PROBE_BYTES) || memcmp(src1, dst1, PROBE_BYTES)) {
		fprintf(stderr, "ktls-probe: %s: data corrupted in transit\n", s->name);
		ret = -EBADMSG;
	}
out:
	close(a);
	close(b);
	return ret;
}

static int recv_all(int fd, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = recv(fd, p, n, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -ECONNRESET;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* TLS_TX on a only: b must read a TLS application-data record, not plaintext. */
static int run_wire(const struct suite *s, size_t *reclen)
{
	static const char msg[] = "ktls-probe: this must not appear on the wire";
	uint8_t rec[5 + sizeof(msg) + 64];
	size_t want = sizeof(msg) + s->overhead;
	int ret, a = -1, b = -1;

	ret = tcp_pair(&a, &b);
	if (ret < 0)
		return ret;
	ret = ulp_tls(a);
	if (ret < 0 || (ret = key_install(a, TLS_TX, s, 3)) < 0)
		goto out;
	if (send(a, msg, sizeof(msg), MSG_NOSIGNAL) != (ssize_t)sizeof(msg)) {
		ret = -errno;
		fprintf(stderr, "ktls-probe: %s: send: %s\n", s->name, strerror(errno));
		goto out;
	}
	ret = recv_all(b, rec, 5 + want);
	if (ret < 0) {
		fprintf(stderr, "ktls-probe: %s: reading the record: %s\n", s->name, strerror(-ret));
		goto out;
	}
	*reclen = (size_t)rec[3] << 8 | rec[4];
	if (rec[0] != 0x17 || rec[1] != 0x03 || rec[2] != 0x03 || *reclen != want) {
		fprintf(stderr, "ktls-probe: %s: unexpected record header %02x %02x%02x len %zu "
			"(want 17 0303 len %zu)\n", s->name, rec[0], rec[1], rec[2], *reclen, want);
		ret = -EPROTO;
	} else if (memmem(rec, 5 + want, "must not appear", 15)) {
		fprintf(stderr, "ktls-probe: %s: plaintext on the wire\n", s->name);
		ret = -EPROTO;
	}
out:
	close(a);
	close(b);
	return ret;
}

/* One counter from /proc/net/tls_stat, or -1 when absent. */
static long long tls_stat(const char *name)
{
	char line[128], key[64];
	long long v, ret = -1;
	FILE *f = fopen("/proc/net/tls_stat", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %lld", key, &v) == 2 && strcmp(key, name) == 0) {
			ret = v;
			break;
		}
	fclose(f);
	return ret;
}

/* Can this kernel attach the tls ULP at all?  1 yes, 0 no (skip), <0 error. */
static int ktls_present(void)
{
	int ret, a, b;

	ret = tcp_pair(&a, &b);
	if (ret < 0) {
		fprintf(stderr, "ktls-probe: loopback TCP pair: %s\n", strerror(-ret));
		return ret;
	}
	ret = ulp_tls(a);
	close(a);
	close(b);
	if (ret == -ENOENT) {
		printf("skip: kernel has no kTLS (TCP_ULP tls: ENOENT)\n");
		return 0;
	}
	if (ret < 0) {
		fprintf(stderr, "ktls-probe: setsockopt(TCP_ULP, tls): %s\n", strerror(-ret));
		return ret;
	}
	return 1;
}

int main(void)
{
	long long tx0, rx0, err0, tx1, rx1, err1;
	size_t n = sizeof(suites) / sizeof(suites[0]), failed = 0;
	uint8_t *buf;
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ret = ktls_present();
	if (ret <= 0)
		return ret == 0 ? PROBE_SKIP : 1;

	tx0 = tls_stat("TlsTxSw");
	rx0 = tls_stat("TlsRxSw");
	err0 = tls_stat("TlsDecryptError");
	if (tx0 < 0 || rx0 < 0 || err0 < 0) {
		fprintf(stderr, "ktls-probe: /proc/net/tls_stat lacks TlsTxSw/TlsRxSw/TlsDecryptError\n");
		return 1;
	}

	buf = malloc(4 * (size_t)PROBE_BYTES);
	if (!buf) {
		perror("ktls-probe: malloc");
		return 1;
	}
	fill(buf, PROBE_BYTES, 7);
	fill(buf + PROBE_BYTES, PROBE_BYTES, 8);

	for (size_t i = 0; i < n; i++) {
		size_t reclen = 0;

		ret = run_duplex(&suites[i], buf);
		if (ret == 0)
			ret = run_wire(&suites[i], &reclen);
		if (ret < 0) {
			printf("FAIL %s: %s\n", suites[i].name, strerror(-ret));
			failed++;
			continue;
		}
		printf("ok   %s: %u bytes each way intact, wire record type 0x17 len %zu\n",
		       suites[i].name, PROBE_BYTES, reclen);
	}
	free(buf);

	tx1 = tls_stat("TlsTxSw");
	rx1 = tls_stat("TlsRxSw");
	err1 = tls_stat("TlsDecryptError");
	printf("tls_stat: TlsTxSw %lld -> %lld, TlsRxSw %lld -> %lld, TlsDecryptError %lld -> %lld\n",
	       tx0, tx1, rx0, rx1, err0, err1);
	/* Per suite: 3 sockets got TLS_TX and 2 got TLS_RX (counters count sockets). */
	if (tx1 - tx0 < 3 * (long long)(n - failed) || rx1 - rx0 < 2 * (long long)(n - failed)) {
		printf("FAIL tls_stat: software TX/RX counters did not rise as expected\n");
		failed++;
	}
	if (err1 != err0) {
		printf("FAIL tls_stat: TlsDecryptError rose\n");
		failed++;
	}
	if (failed) {
		printf("ktls-probe: %zu check(s) failed\n", failed);
		return 1;
	}
	printf("ktls-probe: kTLS works on this kernel (%zu suites)\n", n);
	return 0;
}
