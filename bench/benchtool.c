// SPDX-License-Identifier: GPL-2.0-only
/*
 * benchtool — the small load tools of bench/run (one epoll loop each, no threads).
 *
 *   benchtool echo PORT                      echo server on 0.0.0.0:PORT (any number of clients)
 *   benchtool rr HOST PORT COUNT SIZE        one persistent connection, COUNT round trips of
 *                                            SIZE bytes (the first COUNT/10 are warm-up); prints
 *                                            JSON: percentiles in microseconds and a CDF
 *   benchtool conns HOST PORT SECS CONC SIZE new connections for SECS seconds, CONC at a time:
 *                                            connect, send SIZE bytes, read them back, close;
 *                                            prints JSON: completed, errors, rate per second
 *   benchtool idle HOST PORT N SIZE          opens N connections (at most 64 opening at once),
 *                                            one round trip on each, prints "ready N" and holds
 *                                            them until stdin ends; exits non-zero on any error
 *   benchtool sink PORT                      reads each connection to its end (a process each, so
 *                                            streams run at once), then answers with the byte
 *                                            count (8 bytes) and closes
 *   benchtool send HOST PORT BYTES [N]       sends BYTES, half-closes, checks the sink's count;
 *                                            with N, N connections at once (BYTES/N each, a
 *                                            process each); prints JSON: bytes, seconds
 *   benchtool ttfb HOST PORT N [WARM [SIZE [GAP_MS]]] time to first byte: WARM + N connections one
 *                                            after the other, GAP_MS apart (default WARM 1, SIZE
 *                                            64, GAP_MS 0; the gap is not timed): connect, send SIZE
 *                                            bytes, time from connect() to the first byte of the
 *                                            reply, read the whole echo, check it, close; the
 *                                            first WARM are not counted. Prints JSON: percentiles
 *                                            of the N in microseconds, the first connection's
 *                                            time, errors; exits 1 if any connection failed
 *   benchtool ktls-floor BYTES [N [MODE]]    the kernel's own floor for a kTLS tunnel: BYTES
 *                                            through one kernel TLS connection on loopback, no
 *                                            handshake (TCP_ULP "tls", TLS_TX on one end, TLS_RX
 *                                            on the other, one static AES-128-GCM key, TLS 1.3);
 *                                            N connections at once as for send. MODE SEND+RECV:
 *                                            SEND vmsplice (default: vmsplice + splice in) or copy
 *                                            (send()); RECV zc (default: recv() into a 256 KiB
 *                                            buffer with TLS_RX_EXPECT_NO_PAD), copy (recv()
 *                                            without it) or splice (splice into a pipe, then to
 *                                            /dev/null, as ktund did before copy-once; zc is
 *                                            its way now); "copy" = copy+copy.
 *                                            Prints JSON
 *
 * Round trips are whole: a reply counts when all SIZE bytes came back.
 */
#ifndef _GNU_SOURCE /* meson defines it for the whole project; bench/run compiles with plain cc */
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/tls.h>

#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "benchtool: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nodelay(int fd)
{
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
}

static struct sockaddr_in addr_of(const char *host, const char *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };

	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "benchtool: bad IPv4 address %s\n", host);
		exit(2);
	}
	return sa;
}

/* A non-blocking connect in progress (or done). */
static int start_connect(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket");
	nodelay(fd);
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---------- echo server ---------- */

struct echo_conn {
	int fd;
	size_t off, len; /* unsent bytes in buf */
	char buf[16384];
};

static _Noreturn void echo_server(const char *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	if (ls < 0 || ep < 0)
		die("socket/epoll");
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int));
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 4096) < 0)
		die("bind/listen");
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
	for (;;) {
		struct epoll_event evs[256];
		int n = epoll_wait(ep, evs, 256, -1);

		for (int i = 0; i < n; i++) {
			struct echo_conn *c = evs[i].data.ptr;

			if (!c) {
				int fd;

				while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					c = calloc(1, sizeof(*c));
					if (!c)
						die("calloc");
					c->fd = fd;
					nodelay(fd);
					ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = c };
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				}
				continue;
			}
			for (;;) {
				if (c->len > c->off) {
					ssize_t w = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);

					if (w < 0 && errno == EAGAIN) {
						ev = (struct epoll_event){ .events = EPOLLOUT, .data.ptr = c };
						epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
						break;
					}
					if (w < 0)
						goto gone;
					c->off += (size_t)w;
					continue;
				}
				if (evs[i].events & EPOLLOUT) {
					ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = c };
					epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
					evs[i].events = EPOLLIN;
				}
				ssize_t r = recv(c->fd, c->buf, sizeof(c->buf), 0);

				if (r < 0 && errno == EAGAIN)
					break;
				if (r <= 0)
					goto gone;
				c->off = 0;
				c->len = (size_t)r;
			}
			continue;
gone:
			close(c->fd);
			free(c);
		}
	}
}

static int io_all(int fd, char *buf, size_t n, int writing)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = writing ? send(fd, buf + done, n - done, MSG_NOSIGNAL) : recv(fd, buf + done, n - done, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

/* ---------- bulk transfer with an exact byte count ---------- */

static _Noreturn void sink_server(const char *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	static char buf[1 << 18];

	if (ls < 0)
		die("socket");
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int));
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 64) < 0)
		die("bind/listen");
	signal(SIGCHLD, SIG_IGN); /* no zombies */
	for (;;) {
		int fd = accept(ls, NULL, NULL);
		uint64_t total = 0;
		ssize_t r;

		if (fd < 0)
			continue;
		if (fork() != 0) { /* the parent (or a failed fork: serve it here) */
			close(fd);
			continue;
		}
		close(ls);
		while ((r = recv(fd, buf, sizeof(buf), 0)) > 0)
			total += (uint64_t)r;
		if (r == 0)
			send(fd, &total, sizeof(total), MSG_NOSIGNAL);
		_exit(0);
	}
}

/* ---------- the kernel TLS floor ---------- */

static void ktls_key(int fd, int dir)
{
	struct tls12_crypto_info_aes_gcm_128 ci = { .info = { .version = TLS_1_3_VERSION,
							       .cipher_type = TLS_CIPHER_AES_GCM_128 } };

	memset(ci.key, 0x4b, sizeof(ci.key));
	memset(ci.salt, 0x53, sizeof(ci.salt));
	memset(ci.iv, 0x49, sizeof(ci.iv));
	/* rec_seq 0 on both ends, so the receiver expects what the sender numbers */
	if (setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")) < 0)
		die("TCP_ULP tls");
	if (setsockopt(fd, SOL_TLS, dir, &ci, sizeof(ci)) < 0)
		die(dir == TLS_TX ? "TLS_TX" : "TLS_RX");
}

/* The sender's cheapest path: the buffer's pages go into a pipe by reference (vmsplice) and
 * from there into the kTLS socket, which encrypts them without copying the plaintext first. */
static int ktls_floor_send(int tx, uint64_t n)
{
	static char page_buf[1 << 16] __attribute__((aligned(4096)));
	int p[2];

	memset(page_buf, 's', sizeof(page_buf));
	if (pipe(p) < 0)
		die("pipe");
	while (n) {
		struct iovec iov = { page_buf, n < sizeof(page_buf) ? (size_t)n : sizeof(page_buf) };
		ssize_t in = vmsplice(p[1], &iov, 1, 0);

		if (in <= 0)
			die("vmsplice");
		for (ssize_t left = in; left > 0;) {
			ssize_t out = splice(p[0], NULL, tx, NULL, (size_t)left, SPLICE_F_MOVE);

			if (out <= 0)
				die("splice into kTLS");
			left -= out;
		}
		n -= (uint64_t)in;
	}
	close(tx);
	return 0;
}

/* The plain way: send() copies the plaintext in. */
static int ktls_floor_copy_send(int tx, uint64_t n)
{
	static char sbuf[1 << 16];

	memset(sbuf, 's', sizeof(sbuf));
	while (n) {
		size_t k = n < sizeof(sbuf) ? (size_t)n : sizeof(sbuf);

		if (io_all(tx, sbuf, k, 1) < 0)
			die("kTLS send");
		n -= k;
	}
	close(tx);
	return 0;
}

/* What the receiving ktund did before copy-once: splice out of the kTLS socket into a pipe (one record per call
 * on Linux 6.12), then out of the pipe, here into /dev/null. The plaintext never reaches
 * userspace. */
static uint64_t ktls_floor_splice_recv(int rx)
{
	int p[2], null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	uint64_t got = 0;
	ssize_t r;

	if (null < 0 || pipe(p) < 0)
		die("pipe");
	fcntl(p[1], F_SETPIPE_SZ, 256 * 1024);
	while ((r = splice(rx, NULL, p[1], NULL, 16384, SPLICE_F_MOVE)) > 0) {
		got += (uint64_t)r;
		for (ssize_t left = r; left > 0;) {
			ssize_t out = splice(p[0], NULL, null, NULL, (size_t)left, SPLICE_F_MOVE);

			if (out <= 0)
				die("splice to /dev/null");
			left -= out;
		}
	}
	if (r < 0)
		die("splice out of kTLS");
	close(p[0]);
	close(p[1]);
	close(null);
	return got;
}

/* recv() into a 256 KiB buffer: with TLS_RX_EXPECT_NO_PAD the kernel decrypts straight into it,
 * without it into its own buffer first and copies out. */
static uint64_t ktls_floor_recv(int rx)
{
	static char buf[1 << 18];
	uint64_t got = 0;
	ssize_t r;

	while ((r = recv(rx, buf, sizeof(buf), 0)) > 0)
		got += (uint64_t)r;
	if (r < 0)
		die("kTLS recv");
	return got;
}

/* MODE: SEND+RECV, SEND one of vmsplice (default), copy; RECV one of zc (default: recv with
 * TLS_RX_EXPECT_NO_PAD), copy (recv without it), splice (to a pipe and /dev/null).
 * "copy" alone is copy+copy. */
static void floor_mode(const char *mode, int *send_copy, char *recv_how, size_t len)
{
	const char *plus = mode ? strchr(mode, '+') : NULL;
	size_t send_len = mode ? (plus ? (size_t)(plus - mode) : strlen(mode)) : 0;
	char send_how[16];

	snprintf(send_how, sizeof(send_how), "%.*s", (int)send_len, mode ? mode : "");
	if (mode && (send_len >= sizeof(send_how) ||
		     (strcmp(send_how, "copy") && strcmp(send_how, "vmsplice")))) {
		fprintf(stderr, "benchtool ktls-floor: unknown mode %s\n", mode);
		exit(2);
	}
	*send_copy = mode && !strcmp(send_how, "copy");
	snprintf(recv_how, len, "%s", plus ? plus + 1 : *send_copy ? "copy" : "zc");
	if (strcmp(recv_how, "zc") && strcmp(recv_how, "copy") && strcmp(recv_how, "splice")) {
		fprintf(stderr, "benchtool ktls-floor: unknown receive mode %s\n", recv_how);
		exit(2);
	}
}

static int ktls_floor(const char *mode, const char *unused_b, uint64_t n)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), tx, rx, st, send_copy;
	char recv_how[16];
	uint64_t got;
	double t0;
	pid_t pid;

	floor_mode(mode, &send_copy, recv_how, sizeof(recv_how));
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 1) < 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &len) < 0)
		die("listen");
	(void)unused_b;
	tx = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (tx < 0 || connect(tx, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect");
	rx = accept(ls, NULL, NULL);
	if (rx < 0)
		die("accept");
	ktls_key(tx, TLS_TX);
	ktls_key(rx, TLS_RX);
	/* The receiver's fastest recv() (Linux 6.0+): records decrypted straight into buf. */
	if (!strcmp(recv_how, "zc") && setsockopt(rx, SOL_TLS, TLS_RX_EXPECT_NO_PAD, &(int){ 1 }, sizeof(int)) < 0)
		fprintf(stderr, "benchtool ktls-floor: TLS_RX_EXPECT_NO_PAD: %s (going on)\n", strerror(errno));
	t0 = now_s();
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(rx);
		_exit(send_copy ? ktls_floor_copy_send(tx, n) : ktls_floor_send(tx, n));
	}
	close(tx);
	got = !strcmp(recv_how, "splice") ? ktls_floor_splice_recv(rx) : ktls_floor_recv(rx);
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || got != n) {
		fprintf(stderr, "benchtool ktls-floor: sent %llu bytes, got %llu\n", (unsigned long long)n,
			(unsigned long long)got);
		return 1;
	}
	printf("{\"bytes\": %llu, \"secs\": %.3f}\n", (unsigned long long)n, now_s() - t0);
	return 0;
}

static int send_bytes(const char *host, const char *port, uint64_t n)
{
	struct sockaddr_in sa = addr_of(host, port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	static char buf[1 << 16];
	uint64_t left = n, got = 0;
	double t0 = now_s();

	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect");
	memset(buf, 's', sizeof(buf));
	while (left) {
		size_t k = left < sizeof(buf) ? (size_t)left : sizeof(buf);

		if (io_all(fd, buf, k, 1) < 0)
			die("send");
		left -= k;
	}
	shutdown(fd, SHUT_WR);
	if (io_all(fd, (char *)&got, sizeof(got), 0) < 0)
		die("reading the sink's count");
	if (got != n) {
		fprintf(stderr, "benchtool send: sent %llu bytes, the sink got %llu\n", (unsigned long long)n,
			(unsigned long long)got);
		return 1;
	}
	printf("{\"bytes\": %llu, \"secs\": %.3f}\n", (unsigned long long)n, now_s() - t0);
	return 0;
}

/* run(a, b, bytes / n) in n processes at once; one JSON line for all of them. */
static int in_parallel(int (*run)(const char *, const char *, uint64_t), const char *a, const char *b,
		       uint64_t bytes, int n)
{
	double t0 = now_s();
	int failed = 0, st;

	if (n < 1)
		n = 1;
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			if (!freopen("/dev/null", "w", stdout))
				_exit(1);
			_exit(run(a, b, bytes / (uint64_t)n));
		}
	}
	while (wait(&st) > 0)
		failed |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	if (failed)
		return 1;
	printf("{\"bytes\": %llu, \"secs\": %.3f, \"streams\": %d}\n",
	       (unsigned long long)(bytes / (uint64_t)n * (uint64_t)n), now_s() - t0, n);
	return 0;
}

/* ---------- request/response latency ---------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}


static int rr(const char *host, const char *port, long count, size_t size)
{
	struct sockaddr_in sa = addr_of(host, port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	long warm = count / 10;
	double *lat = malloc(sizeof(double) * (size_t)count), sum = 0;
	char *buf = malloc(size);

	if (fd < 0 || !lat || !buf)
		die("socket/malloc");
	nodelay(fd);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect");
	memset(buf, 'x', size);
	for (long i = 0; i < warm + count; i++) {
		double t0 = now_s();

		if (io_all(fd, buf, size, 1) < 0 || io_all(fd, buf, size, 0) < 0)
			die("round trip");
		if (i >= warm)
			lat[i - warm] = (now_s() - t0) * 1e6;
	}
	close(fd);
	for (long i = 0; i < count; i++)
		sum += lat[i];
	qsort(lat, (size_t)count, sizeof(double), cmp_double);
#define PCT(p) lat[(long)((double)(count - 1) * (p) / 100.0)]
	printf("{\"count\": %ld, \"size\": %zu, \"mean_us\": %.2f, \"p50_us\": %.2f, \"p90_us\": %.2f, "
	       "\"p99_us\": %.2f, \"p999_us\": %.2f, \"max_us\": %.2f, \"cdf\": [",
	       count, size, sum / (double)count, PCT(50), PCT(90), PCT(99), PCT(99.9), lat[count - 1]);
	for (int q = 0; q <= 200; q++) /* 0.5 % steps up to p99, then finer to the max */
		printf("%s[%.3f, %.2f]", q ? ", " : "", q < 198 ? q * 0.5 : 99 + (q - 198) * 0.5,
		       PCT(q < 198 ? q * 0.5 : 99 + (q - 198) * 0.5));
	printf("]}\n");
	return 0;
}

/* ---------- time to first byte of a new connection ---------- */

/* A stuck peer must not hang a benchmark run: every blocking call gives up after this. */
#define TTFB_IO_TIMEOUT_S 30

struct ttfb_err {
	long count;
	char first[160];
};

static void ttfb_fail(struct ttfb_err *e, long i, const char *what, int err)
{
	if (!e->count++)
		snprintf(e->first, sizeof(e->first), "connection %ld: %s%s%s", i, what, err ? ": " : "",
			 err ? strerror(err) : "");
}

/* One connection: connect, send out[0..size), time until the first reply byte, read and check
 * the whole echo. Returns the time to first byte in microseconds, or -1 (e says why). */
static double ttfb_one(const struct sockaddr_in *sa, const char *out, char *in, size_t size, long i,
		       struct ttfb_err *e)
{
	struct timeval tv = { .tv_sec = TTFB_IO_TIMEOUT_S };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	double t0, first = -1;
	size_t got = 0;

	if (fd < 0)
		die("socket");
	nodelay(fd);
	/* SO_SNDTIMEO bounds connect() too (EINPROGRESS when it expires). */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	t0 = now_s();
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		ttfb_fail(e, i, "connect", errno == EINPROGRESS ? ETIMEDOUT : errno);
		goto out;
	}
	if (io_all(fd, (char *)out, size, 1) < 0) {
		ttfb_fail(e, i, "send", errno);
		goto out;
	}
	while (got < size) {
		ssize_t r = recv(fd, in + got, size - got, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ttfb_fail(e, i, r ? "recv" : "closed before the whole reply", r ? errno : 0);
			first = -1;
			goto out;
		}
		if (!got)
			first = (now_s() - t0) * 1e6;
		got += (size_t)r;
	}
	if (memcmp(in, out, size)) {
		ttfb_fail(e, i, "the reply differs from the request", 0);
		first = -1;
	}
out:
	close(fd);
	return first;
}

static int ttfb(const char *host, const char *port, long count, long warm, size_t size, long gap_ms)
{
	struct sockaddr_in sa = addr_of(host, port);
	struct ttfb_err e = { 0 };
	double *lat, sum = 0, first_us = -1;
	char *out, *in;
	long n = 0;

	if (count < 1 || count > 10000000 || warm < 0 || size < 1 || size > (1 << 20) || gap_ms < 0 ||
	    gap_ms > 60000) {
		fprintf(stderr, "benchtool ttfb: 1 <= N <= 10^7, WARM >= 0, 1 <= SIZE <= 1 MiB and "
				"0 <= GAP_MS <= 60000\n");
		return 2;
	}
	lat = malloc(sizeof(double) * (size_t)count);
	out = malloc(size);
	in = malloc(size);
	if (!lat || !out || !in)
		die("malloc");
	for (size_t k = 0; k < size; k++) /* not all one byte, so a misplaced reply shows */
		out[k] = (char)('a' + k % 26);
	for (long i = 0; i < warm + count; i++) {
		double us;

		if (i && gap_ms)
			nanosleep(&(struct timespec){ gap_ms / 1000, gap_ms % 1000 * 1000000 }, NULL);
		us = ttfb_one(&sa, out, in, size, i, &e);

		if (i == 0)
			first_us = us;
		if (us >= 0 && i >= warm) {
			lat[n++] = us;
			sum += us;
		}
	}
	printf("{\"count\": %ld, \"warm\": %ld, \"size\": %zu, \"ok\": %ld, \"errors\": %ld, ", count, warm,
	       size, n, e.count);
	if (e.count)
		printf("\"first_error\": \"%s\", ", e.first);
	if (first_us >= 0)
		printf("\"first_us\": %.1f, ", first_us);
	if (n) {
		qsort(lat, (size_t)n, sizeof(double), cmp_double);
#define TPCT(p) lat[(long)((double)(n - 1) * (p) / 100.0)]
		printf("\"mean_us\": %.1f, \"min_us\": %.1f, \"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, "
		       "\"max_us\": %.1f, \"samples_us\": [",
		       sum / (double)n, lat[0], TPCT(50), TPCT(90), TPCT(99), lat[n - 1]);
#undef TPCT
		for (long i = 0; i < n; i++)
			printf("%s%.1f", i ? ", " : "", lat[i]);
		printf("]");
	} else {
		printf("\"samples_us\": []");
	}
	printf("}\n");
	free(lat);
	free(out);
	free(in);
	return e.count ? 1 : 0;
}

/* ---------- new connections per second, and idle connections ---------- */

enum slot_state { S_FREE, S_CONNECTING, S_WAITING, S_HELD };

struct slot {
	int fd;
	enum slot_state st;
	size_t got;
};

struct loop {
	struct sockaddr_in sa;
	int ep;
	size_t size;
	char *out, *in;
	long done, errors;
};

static int slot_open(struct loop *l, struct slot *s)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = s };

	s->fd = start_connect(&l->sa);
	if (s->fd < 0)
		return -1;
	s->st = S_CONNECTING;
	s->got = 0;
	epoll_ctl(l->ep, EPOLL_CTL_ADD, s->fd, &ev);
	return 0;
}

static void slot_drop(struct loop *l, struct slot *s)
{
	epoll_ctl(l->ep, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	s->fd = -1;
	s->st = S_FREE;
}

/* Advances one slot on an event. Returns 1 when its round trip completed, -1 on error. */
static int slot_event(struct loop *l, struct slot *s, uint32_t events)
{
	if (s->st == S_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };

		getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err || (events & (EPOLLERR | EPOLLHUP)))
			return -1;
		/* SIZE bytes fit in the socket buffer: one send. */
		if (send(s->fd, l->out, l->size, MSG_NOSIGNAL) != (ssize_t)l->size)
			return -1;
		s->st = S_WAITING;
		epoll_ctl(l->ep, EPOLL_CTL_MOD, s->fd, &ev);
		return 0;
	}
	if (s->st == S_WAITING) {
		ssize_t r = recv(s->fd, l->in, l->size - s->got, 0);

		if (r < 0 && errno == EAGAIN)
			return 0;
		if (r <= 0)
			return -1;
		s->got += (size_t)r;
		return s->got == l->size;
	}
	/* S_HELD: the far end should stay quiet; anything else is an error. */
	return -1;
}

static void loop_init(struct loop *l, const char *host, const char *port, size_t size)
{
	l->sa = addr_of(host, port);
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	l->size = size;
	l->out = malloc(size);
	l->in = malloc(size);
	if (l->ep < 0 || !l->out || !l->in)
		die("epoll/malloc");
	memset(l->out, 'c', size);
	l->done = l->errors = 0;
}

static int conns(const char *host, const char *port, double secs, int conc, size_t size)
{
	struct loop l;
	struct slot *slots = calloc((size_t)conc, sizeof(*slots));
	double t0, end, t1;

	loop_init(&l, host, port, size);
	t0 = now_s();
	end = t0 + secs;
	for (int i = 0; i < conc; i++)
		if (slot_open(&l, &slots[i]) < 0)
			l.errors++;
	while ((t1 = now_s()) < end) {
		struct epoll_event evs[256];
		int n = epoll_wait(l.ep, evs, 256, 100);

		for (int i = 0; i < n; i++) {
			struct slot *s = evs[i].data.ptr;
			int r = slot_event(&l, s, evs[i].events);

			if (r == 0)
				continue;
			if (r > 0)
				l.done++;
			else
				l.errors++;
			slot_drop(&l, s);
			if (now_s() < end && slot_open(&l, s) < 0)
				l.errors++;
		}
		/* Slots whose connect failed at once: retry (after a pause, if errors pile up). */
		for (int i = 0; i < conc; i++)
			if (slots[i].st == S_FREE && now_s() < end && slot_open(&l, &slots[i]) < 0) {
				l.errors++;
				usleep(1000);
			}
	}
	printf("{\"completed\": %ld, \"errors\": %ld, \"secs\": %.3f, \"concurrency\": %d, \"size\": %zu, "
	       "\"rate\": %.1f}\n", l.done, l.errors, t1 - t0, conc, size, (double)l.done / (t1 - t0));
	return 0;
}

static int idle(const char *host, const char *port, long n, size_t size)
{
	struct loop l;
	struct slot *slots = calloc((size_t)n, sizeof(*slots));
	long next = 0, opening = 0;
	double deadline = now_s() + 600;

	if (!slots)
		die("calloc");
	loop_init(&l, host, port, size);
	while (l.done < n) {
		struct epoll_event evs[256];
		int k;

		while (next < n && opening < 64) {
			if (slot_open(&l, &slots[next]) < 0)
				die("connect");
			next++;
			opening++;
		}
		k = epoll_wait(l.ep, evs, 256, 1000);
		for (int i = 0; i < k; i++) {
			struct slot *s = evs[i].data.ptr;
			int r = slot_event(&l, s, evs[i].events);

			if (r < 0) {
				fprintf(stderr, "benchtool idle: connection %ld of %ld failed (%s)\n",
					(long)(s - slots), n, strerror(errno));
				return 1;
			}
			if (r > 0) {
				struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = s };

				s->st = S_HELD;
				epoll_ctl(l.ep, EPOLL_CTL_MOD, s->fd, &ev);
				l.done++;
				opening--;
			}
		}
		if (now_s() > deadline) {
			fprintf(stderr, "benchtool idle: only %ld of %ld connections after 600 s\n", l.done, n);
			return 1;
		}
	}
	printf("ready %ld\n", n);
	fflush(stdout);
	/* Hold until stdin ends; a held connection closing early is an error. */
	for (;;) {
		struct epoll_event evs[16];
		struct pollfd p = { .fd = 0, .events = POLLIN };
		char b[64];

		if (poll(&p, 1, 0) > 0 && read(0, b, sizeof(b)) <= 0)
			break;
		if (epoll_wait(l.ep, evs, 16, 200) > 0) {
			fprintf(stderr, "benchtool idle: a held connection was closed or spoke\n");
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && !strcmp(argv[1], "echo"))
		echo_server(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "sink"))
		sink_server(argv[2]);
	if (argc >= 3 && argc <= 5 && !strcmp(argv[1], "ktls-floor"))
		return in_parallel(ktls_floor, argc == 5 ? argv[4] : NULL, NULL,
				   strtoull(argv[2], NULL, 10), argc >= 4 ? atoi(argv[3]) : 1);
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "send"))
		return in_parallel(send_bytes, argv[2], argv[3], strtoull(argv[4], NULL, 10),
				   argc == 6 ? atoi(argv[5]) : 1);
	if (argc == 6 && !strcmp(argv[1], "rr"))
		return rr(argv[2], argv[3], atol(argv[4]), (size_t)atol(argv[5]));
	if (argc == 7 && !strcmp(argv[1], "conns"))
		return conns(argv[2], argv[3], atof(argv[4]), atoi(argv[5]), (size_t)atol(argv[6]));
	if (argc >= 5 && argc <= 8 && !strcmp(argv[1], "ttfb"))
		return ttfb(argv[2], argv[3], atol(argv[4]), argc >= 6 ? atol(argv[5]) : 1,
			    argc >= 7 ? (size_t)atol(argv[6]) : 64, argc >= 8 ? atol(argv[7]) : 0);
	if (argc == 6 && !strcmp(argv[1], "idle"))
		return idle(argv[2], argv[3], atol(argv[4]), (size_t)atol(argv[5]));
	fprintf(stderr, "usage: benchtool echo PORT | rr HOST PORT COUNT SIZE |\n"
			"       conns HOST PORT SECS CONC SIZE | idle HOST PORT N SIZE |\n"
			"       sink PORT | send HOST PORT BYTES | ttfb HOST PORT N [WARM [SIZE [GAP_MS]]]\n");
	return 2;
}
