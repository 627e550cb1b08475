// SPDX-License-Identifier: GPL-2.0-only
/*
 * floortool — the two halves of the userspace floor that bench/run measures beside the tunnels
 * (docs/performance.md, "the userspace floor"): what any tunnel that encrypts in userspace must
 * at least spend per byte.
 *
 *   floortool crypto BYTES [CIPHER]   seals BYTES as TLS 1.3 application-data records of 16 KiB
 *                                     and opens them again, one thread, with the calls ktund's
 *                                     own records make (daemon/tls13_rec.c: GnuTLS's
 *                                     gnutls_aead_cipher_encryptv with the inner type joined,
 *                                     gnutls_aead_cipher_decrypt with the header as AAD), the
 *                                     nonce the static IV XOR the sequence number. CIPHER is a
 *                                     GnuTLS cipher name (default AES-128-GCM). Every record is
 *                                     checked: its tag, its length, its inner type and its
 *                                     plaintext. Prints JSON: bytes, records, seal_cpu_s and
 *                                     open_cpu_s (getrusage user + system time around the
 *                                     seals and the opens only, not the checks)
 *   floortool relay LISTEN_IP PORT TARGET_IP TARGET_PORT
 *                                     a plaintext relay: for each accepted connection one to
 *                                     the target, and two threads that only recv() into a
 *                                     256 KiB buffer (ktund's chunk) and send() it on, end of
 *                                     stream passed on as a half-close. No crypto: two TCP
 *                                     connections and four socket copies per byte, which is
 *                                     what a userspace tunnel pair adds to plain TCP before it
 *                                     encrypts anything. A target that cannot be reached
 *                                     closes the accepted connection; the relay goes on.
 */
#ifndef _GNU_SOURCE /* meson defines it for the whole project; bench/run compiles with plain cc */
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#define RECORD 16384 /* TLS 1.3's largest plaintext, the pump's record size */
#define HEADER 5
#define TAG 16
#define NONCE 12
#define TYPE_DATA 23
#define CHUNK (256 * 1024) /* ktund's plaintext chunk: 16 records, one receive */

static _Noreturn void die(const char *what, int err)
{
	fprintf(stderr, "floortool: %s%s%s\n", what, err ? ": " : "", err ? strerror(err) : "");
	exit(1);
}

/* ---------- crypto ---------- */

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void nonce_of(const uint8_t iv[NONCE], uint64_t seq, uint8_t out[NONCE])
{
	memcpy(out, iv, NONCE);
	for (int i = 0; i < 8; i++)
		out[NONCE - 1 - i] ^= (uint8_t)(seq >> (8 * i));
}

/* One record as tls13_seal writes it: header, then ciphertext of plaintext + type, then tag. */
static void seal(gnutls_aead_cipher_hd_t h, const uint8_t iv[NONCE], uint64_t seq, const uint8_t *p, size_t n,
		 uint8_t *out)
{
	static const uint8_t type = TYPE_DATA;
	size_t body = n + 1 + TAG, clen = body;
	giovec_t aad = { out, HEADER };
	giovec_t in[2] = { { (void *)p, n }, { (void *)&type, 1 } };
	uint8_t nonce[NONCE];

	out[0] = TYPE_DATA, out[1] = 3, out[2] = 3, out[3] = (uint8_t)(body >> 8), out[4] = (uint8_t)body;
	nonce_of(iv, seq, nonce);
	if (gnutls_aead_cipher_encryptv(h, nonce, NONCE, &aad, 1, TAG, in, 2, out + HEADER, &clen) < 0 ||
	    clen != body)
		die("gnutls_aead_cipher_encryptv failed", 0);
}

/* One record as tls13_open reads it; the plaintext's length, or -1 if the tag or the inner type
 * is wrong. */
static long open_rec(gnutls_aead_cipher_hd_t h, const uint8_t iv[NONCE], uint64_t seq, const uint8_t *rec,
		     uint8_t *out, size_t room)
{
	size_t body = (size_t)rec[3] << 8 | rec[4], n = room;
	uint8_t nonce[NONCE];

	nonce_of(iv, seq, nonce);
	if (gnutls_aead_cipher_decrypt(h, nonce, NONCE, rec, HEADER, TAG, rec + HEADER, body, out, &n) < 0 ||
	    n != body - TAG || !n || out[n - 1] != TYPE_DATA)
		return -1;
	return (long)n - 1;
}

static int crypto(const char *bytes_arg, const char *cipher_name)
{
	gnutls_cipher_algorithm_t alg = gnutls_cipher_get_id(cipher_name);
	unsigned long long bytes = strtoull(bytes_arg, NULL, 10);
	size_t klen = alg == GNUTLS_CIPHER_UNKNOWN ? 0 : gnutls_cipher_get_key_size(alg);
	size_t rec_len = HEADER + RECORD + 1 + TAG;
	uint8_t key[32], iv[NONCE], *plain, *sealed, *opened;
	gnutls_aead_cipher_hd_t h;
	double t_seal = 0, t_open = 0;
	uint64_t seq = 0;

	/* The AEADs of TLS 1.3 records: a 12-byte nonce and a 16-byte tag. */
	if (!klen || klen > sizeof(key) || gnutls_cipher_get_iv_size(alg) != NONCE ||
	    gnutls_cipher_get_tag_size(alg) != TAG) {
		fprintf(stderr, "floortool crypto: unknown or unsuitable cipher %s (AES-128-GCM, AES-256-GCM, "
				"CHACHA20-POLY1305)\n", cipher_name);
		return 2;
	}
	if (bytes < RECORD || bytes > (1ULL << 40) || bytes % RECORD) {
		fprintf(stderr, "floortool crypto: BYTES must be a multiple of %d, at most 2^40\n", RECORD);
		return 2;
	}
	if (gnutls_rnd(GNUTLS_RND_NONCE, key, klen) < 0 || gnutls_rnd(GNUTLS_RND_NONCE, iv, NONCE) < 0)
		die("gnutls_rnd failed", 0);
	if (gnutls_aead_cipher_init(&h, alg, &(gnutls_datum_t){ key, (unsigned)klen }) < 0)
		die("gnutls_aead_cipher_init failed", 0);
	plain = malloc(CHUNK);
	sealed = malloc(CHUNK / RECORD * rec_len);
	opened = malloc(CHUNK + 256);
	if (!plain || !sealed || !opened)
		die("malloc", errno);
	for (size_t i = 0; i < CHUNK; i++)
		plain[i] = (uint8_t)(i * 31 + 7);
	for (unsigned long long done = 0; done < bytes;) {
		size_t recs = (bytes - done) / RECORD < CHUNK / RECORD ? (size_t)((bytes - done) / RECORD) : CHUNK / RECORD;
		double t0 = cpu_s(), t1, t2;

		for (size_t r = 0; r < recs; r++)
			seal(h, iv, seq + r, plain + r * RECORD, RECORD, sealed + r * rec_len);
		t1 = cpu_s();
		for (size_t r = 0; r < recs; r++)
			if (open_rec(h, iv, seq + r, sealed + r * rec_len, opened + r * RECORD, RECORD + 1) != RECORD)
				die("a record did not open (tag, length or inner type)", 0);
		t2 = cpu_s();
		if (memcmp(opened, plain, recs * RECORD))
			die("an opened record differs from what was sealed", 0);
		memset(opened, 0, recs * RECORD); /* so the next chunk's check sees its own output */
		t_seal += t1 - t0;
		t_open += t2 - t1;
		seq += recs;
		done += recs * RECORD;
	}
	gnutls_aead_cipher_deinit(h);
	explicit_bzero(key, sizeof(key));
	free(plain);
	free(sealed);
	free(opened);
	printf("{\"cipher\": \"%s\", \"bytes\": %llu, \"records\": %llu, \"record_bytes\": %d, "
	       "\"seal_cpu_s\": %.4f, \"open_cpu_s\": %.4f}\n",
	       gnutls_cipher_get_name(alg), bytes, (unsigned long long)seq, RECORD, t_seal, t_open);
	return 0;
}

/* ---------- relay ---------- */

struct pipe_end {
	int from, to;
	atomic_int *left; /* directions of the connection still running; the last closes both */
};

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w, n -= (size_t)w;
	}
	return 0;
}

static void *relay_dir(void *arg)
{
	struct pipe_end *e = arg;
	char *buf = malloc(CHUNK);
	ssize_t r = -1;

	while (buf) {
		r = recv(e->from, buf, CHUNK, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || send_all(e->to, buf, (size_t)r) < 0)
			break;
	}
	if (r == 0) {
		shutdown(e->to, SHUT_WR);
	} else {
		/* An error either way ends both directions: the other thread's recv returns. */
		shutdown(e->from, SHUT_RDWR);
		shutdown(e->to, SHUT_RDWR);
	}
	free(buf);
	if (atomic_fetch_sub(e->left, 1) == 1) {
		close(e->from);
		close(e->to);
		free(e->left);
	}
	free(e);
	return NULL;
}

static int start_dir(int from, int to, atomic_int *left)
{
	struct pipe_end *e = malloc(sizeof(*e));
	pthread_attr_t a;
	pthread_t t;
	int rc;

	if (!e)
		return -ENOMEM;
	*e = (struct pipe_end){ .from = from, .to = to, .left = left };
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &a, relay_dir, e);
	pthread_attr_destroy(&a);
	if (rc)
		free(e);
	return -rc;
}

static struct sockaddr_in addr_of(const char *host, const char *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };

	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 || atoi(port) <= 0 || atoi(port) > 65535) {
		fprintf(stderr, "floortool relay: bad IPv4 address or port %s:%s\n", host, port);
		exit(2);
	}
	return sa;
}

/* Both directions of one accepted connection, or it is closed (the target refused, no threads). */
/* The next accepted connection with Nagle off, or -1 (out of descriptors: a short pause, so
 * the loop does not spin while connections close). */
static int accept_one(int ls)
{
	int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE)
			usleep(10000);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	return fd;
}

static void relay_one(int in, const struct sockaddr_in *target)
{
	int out = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	atomic_int *left = malloc(sizeof(*left));

	if (out < 0 || !left || connect(out, (const struct sockaddr *)target, sizeof(*target)) < 0) {
		fprintf(stderr, "floortool relay: to the target: %s\n", strerror(errno));
		goto fail;
	}
	setsockopt(out, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	atomic_init(left, 2);
	if (start_dir(in, out, left) < 0)
		goto fail;
	if (start_dir(out, in, left) < 0) {
		/* The first thread owns both fds now: ending its connection ends it. */
		shutdown(in, SHUT_RDWR);
		shutdown(out, SHUT_RDWR);
		atomic_fetch_sub(left, 1);
		return;
	}
	return;
fail:
	free(left);
	if (out >= 0)
		close(out);
	close(in);
}

/* ---------- relay, one epoll loop (ktund's shape: one thread serves many connections) ---------- */

struct ep_dir {
	int from, to;
	size_t off, len; /* unsent bytes in buf */
	bool eof;
	char *buf;
};

struct ep_conn {
	struct ep_dir d[2]; /* [0]: accepted -> target, [1]: target -> accepted */
	int fd[2];
	uint32_t want[2]; /* the events each fd is registered for */
	bool dead;        /* closed; freed after the batch of events, which may still name it */
	struct ep_conn *next_dead;
};

static struct ep_conn *ep_dead;

/* One step of a direction: send what is buffered, else receive. 1 on progress, 0 when it must
 * wait, -1 on an error. */
static int ep_step(struct ep_dir *d)
{
	ssize_t r;

	if (d->len > d->off) {
		r = send(d->to, d->buf + d->off, d->len - d->off, MSG_NOSIGNAL);
		if (r < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		d->off += (size_t)r;
		if (d->off == d->len)
			d->off = d->len = 0;
		return 1;
	}
	if (d->eof)
		return 0;
	r = recv(d->from, d->buf, CHUNK, 0);
	if (r < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (r == 0) {
		d->eof = true;
		shutdown(d->to, SHUT_WR);
		return 1;
	}
	d->len = (size_t)r;
	return 1;
}

static void ep_free(int ep, struct ep_conn *c)
{
	for (int i = 0; i < 2; i++) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd[i], NULL);
		close(c->fd[i]);
		free(c->d[i].buf);
	}
	c->dead = true;
	c->next_dead = ep_dead;
	ep_dead = c;
}

/* Moves both directions as far as they go, then registers what each fd waits for. False once
 * the connection is done (both ends finished, or an error) and freed. */
static bool ep_run(int ep, struct ep_conn *c, uint32_t events)
{
	int progress;

	if (c->dead)
		return false;
	if (events & EPOLLERR) { /* reported whatever we wait for: a reset, say */
		ep_free(ep, c);
		return false;
	}
	do {
		progress = 0;
		for (int i = 0; i < 2; i++) {
			int r = ep_step(&c->d[i]);

			if (r < 0) {
				ep_free(ep, c);
				return false;
			}
			progress |= r;
		}
	} while (progress);
	if (c->d[0].eof && c->d[1].eof && !c->d[0].len && !c->d[1].len) {
		ep_free(ep, c);
		return false;
	}
	for (int i = 0; i < 2; i++) {
		/* fd[i] is d[i]'s source and d[1 - i]'s destination. */
		uint32_t want = (!c->d[i].eof && !c->d[i].len ? EPOLLIN : 0) | (c->d[1 - i].len ? EPOLLOUT : 0);

		if (want != c->want[i]) {
			struct epoll_event ev = { .events = want, .data.ptr = c };

			epoll_ctl(ep, EPOLL_CTL_MOD, c->fd[i], &ev);
			c->want[i] = want;
		}
	}
	return true;
}

static void ep_accept(int ep, int in, const struct sockaddr_in *target)
{
	int out = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct ep_conn *c = calloc(1, sizeof(*c));

	if (out < 0 || !c || connect(out, (const struct sockaddr *)target, sizeof(*target)) < 0) {
		fprintf(stderr, "floortool relay: to the target: %s\n", strerror(errno));
		goto fail;
	}
	setsockopt(out, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	c->fd[0] = in, c->fd[1] = out;
	c->d[0] = (struct ep_dir){ .from = in, .to = out, .buf = malloc(CHUNK) };
	c->d[1] = (struct ep_dir){ .from = out, .to = in, .buf = malloc(CHUNK) };
	if (!c->d[0].buf || !c->d[1].buf)
		goto fail;
	for (int i = 0; i < 2; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

		fcntl(c->fd[i], F_SETFL, fcntl(c->fd[i], F_GETFL) | O_NONBLOCK);
		c->want[i] = EPOLLIN;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd[i], &ev) < 0)
			goto fail;
	}
	ep_run(ep, c, 0);
	return;
fail:
	if (c) {
		epoll_ctl(ep, EPOLL_CTL_DEL, in, NULL);
		epoll_ctl(ep, EPOLL_CTL_DEL, out, NULL);
		free(c->d[0].buf);
		free(c->d[1].buf);
		free(c);
	}
	if (out >= 0)
		close(out);
	close(in);
}

static _Noreturn void relay_epoll(int ls, const struct sockaddr_in *target)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev) < 0)
		die("epoll", errno);
	for (;;) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr) {
				ep_run(ep, evs[i].data.ptr, evs[i].events);
				continue;
			}
			int fd = accept_one(ls);

			if (fd >= 0)
				ep_accept(ep, fd, target);
		}
		while (ep_dead) {
			struct ep_conn *c = ep_dead;

			ep_dead = c->next_dead;
			free(c);
		}
	}
}

static _Noreturn void relay(const char *lhost, const char *lport, const char *thost, const char *tport,
			    const char *how)
{
	struct sockaddr_in la = addr_of(lhost, lport), ta = addr_of(thost, tport);
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (ls < 0)
		die("socket", errno);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int));
	if (bind(ls, (struct sockaddr *)&la, sizeof(la)) < 0 || listen(ls, 4096) < 0)
		die("bind/listen", errno);
	if (!strcmp(how, "epoll"))
		relay_epoll(ls, &ta);
	for (;;) {
		int fd = accept_one(ls);

		if (fd >= 0)
			relay_one(fd, &ta);
	}
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "crypto"))
		return crypto(argv[2], argc == 4 ? argv[3] : "AES-128-GCM");
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "relay")) {
		const char *how = argc == 7 ? argv[6] : "epoll";

		if (strcmp(how, "epoll") && strcmp(how, "threads")) {
			fprintf(stderr, "floortool relay: unknown mode %s (epoll or threads)\n", how);
			return 2;
		}
		relay(argv[2], argv[3], argv[4], argv[5], how);
	}
	fprintf(stderr, "usage: floortool crypto BYTES [CIPHER] | relay LISTEN_IP PORT TARGET_IP TARGET_PORT "
			"[epoll|threads]\n");
	return 2;
}
