// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/tls.h>

#include "ciphers.h"
#include "ktls.h"
#include "ktls_info.h"
#include "log.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

/* The cipher's row in tls_ciphers[] (ciphers.c), whose index numbers the support bits. */
static const struct tls_cipher *cipher_find(gnutls_cipher_algorithm_t alg)
{
	for (size_t i = 0; i < TLS_CIPHERS_N; i++)
		if (tls_ciphers[i].alg == alg)
			return &tls_ciphers[i];
	return NULL;
}

/* Bit layout of ktls_support.ciphers: cipher index * 2 + (TLS 1.3 ? 1 : 0). */
static uint32_t support_bit(size_t cipher_index, bool tls13)
{
	return 1u << (cipher_index * 2 + tls13);
}

int ktls_attach(int fd)
{
	static const char ulp[] = "tls";

	return setsockopt(fd, IPPROTO_TCP, TCP_ULP, ulp, sizeof(ulp)) < 0 ? -errno : 0;
}

static int install_info(int fd, bool read, const union ktls_info *ci, size_t size)
{
	int rc = setsockopt(fd, SOL_TLS, read ? TLS_RX : TLS_TX, ci, (socklen_t)size);

	if (rc == 0)
		return 0;
	/* The ULP is attached but the kernel lacks this cipher (or its crypto module). */
	return errno == EINVAL || errno == ENOENT || errno == ENOPROTOOPT ? -EOPNOTSUPP : -errno;
}

/* TLS 1.3 records may be padded, so the kernel decrypts a record into its own memory unless
 * told to expect no padding: then a recvmsg (the kTLS pump's receive) decrypts straight into
 * the caller's buffer, one copy less. A padded record is decrypted again the slow way
 * (TlsRxNoPadViolation, TlsDecryptRetry in /proc/net/tls_stat), nothing lost. That retry is
 * why the kernel's documentation keeps the option for trusted peers (one that pads every
 * record doubles the decryption): here the only peers whose records reach the kernel are
 * those whose certificate verified. Kernels before 6.0 lack the option (ENOPROTOOPT): they
 * copy, as without it. */
static void expect_no_pad(int fd)
{
	static bool logged;

	if (setsockopt(fd, SOL_TLS, TLS_RX_EXPECT_NO_PAD, &(int){ 1 }, sizeof(int)) == 0 ||
	    errno == ENOPROTOOPT || __atomic_exchange_n(&logged, true, __ATOMIC_RELAXED))
		return;
	log_notice("kTLS: TLS_RX_EXPECT_NO_PAD refused (%m): TLS 1.3 records are decrypted into "
		   "the kernel's memory and copied (said once)");
}

int ktls_install(int fd, gnutls_session_t session, bool read)
{
	const struct tls_cipher *c = cipher_find(gnutls_cipher_get(session));
	bool tls13 = gnutls_protocol_get_version(session) == GNUTLS_TLS1_3;
	union ktls_info ci;
	gnutls_datum_t mac, iv, key;
	uint8_t seq[8];
	int rc;

	if (!c)
		return -EOPNOTSUPP;
	rc = gnutls_record_get_state(session, read, &mac, &iv, &key, seq);
	if (rc < 0)
		return -EPROTO;
	rc = ktls_info_fill(&ci, c, tls13, &iv, &key, seq);
	if (rc == 0)
		rc = install_info(fd, read, &ci, c->ktls_size);
	if (rc == 0 && read && tls13)
		expect_no_pad(fd);
	explicit_bzero(&ci, sizeof(ci));
	return rc;
}

/* A connected loopback TCP pair for probing. The ULP needs an established connection, so
 * the accepted end stays open until the probe is done (*peer). */
static int probe_socket(int *peer)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int lfd, cfd = -1, afd;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -errno;
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(lfd, 1) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len) < 0)
		goto fail;
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		goto fail;
	afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (afd < 0)
		goto fail;
	close(lfd);
	*peer = afd;
	return cfd;
fail:
	afd = -errno;
	if (cfd >= 0)
		close(cfd);
	close(lfd);
	return afd;
}

static bool probe_cipher(const struct tls_cipher *c, bool tls13)
{
	static const uint8_t zero[32];
	gnutls_datum_t key = { (unsigned char *)zero, (unsigned)c->key_len };
	gnutls_datum_t iv = { (unsigned char *)zero,
			      (unsigned)(!tls13 && c->salt_len ? c->salt_len : c->salt_len + c->iv_len) };
	union ktls_info ci;
	bool ok = false;
	int peer, fd = probe_socket(&peer);

	if (fd < 0)
		return false;
	if (ktls_attach(fd) == 0 && ktls_info_fill(&ci, c, tls13, &iv, &key, zero) == 0)
		ok = install_info(fd, false, &ci, c->ktls_size) == 0 &&
		     install_info(fd, true, &ci, c->ktls_size) == 0;
	close(fd);
	close(peer);
	return ok;
}

void ktls_probe(struct ktls_support *out)
{
	int peer, fd = probe_socket(&peer);

	*out = (struct ktls_support){ 0 };
	if (fd < 0) {
		out->ulp_errno = -fd;
		return;
	}
	out->ulp_errno = -ktls_attach(fd);
	close(fd);
	close(peer);
	out->ulp = out->ulp_errno == 0;
	for (size_t i = 0; out->ulp && i < TLS_CIPHERS_N; i++)
		for (int tls13 = 0; tls13 < 2; tls13++)
			if (probe_cipher(&tls_ciphers[i], tls13))
				out->ciphers |= support_bit(i, tls13);
}

bool ktls_can_offload(const struct ktls_support *k, gnutls_protocol_t version,
		      gnutls_cipher_algorithm_t cipher)
{
	const struct tls_cipher *c = cipher_find(cipher);

	if (!k->ulp || !c || (version != GNUTLS_TLS1_3 && version != GNUTLS_TLS1_2))
		return false;
	return k->ciphers & support_bit((size_t)(c - tls_ciphers), version == GNUTLS_TLS1_3);
}

unsigned ktls_offload_mask(const struct ktls_support *k)
{
	unsigned mask = 0;

	/* Support bits and cipher sets are indexed by the same table. */
	for (size_t i = 0; i < TLS_CIPHERS_N; i++) {
		uint32_t both = support_bit(i, false) | support_bit(i, true);

		if ((k->ciphers & both) == both)
			mask |= 1u << i;
	}
	return mask;
}
