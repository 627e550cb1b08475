// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "conn_report.h"
#include "control.h"
#include "daemon.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "paths.h"
#include "peers.h"
#include "pool_list.h"
#include "redirect.h"

int control_make_dir(const char *path)
{
	char dir[PATH_MAX];
	int rc = 0;

	path_dir_of(path, dir);
	/* 0755, less under the umask: never writable by others, so control_own_dir() takes it. */
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		rc = -errno;
		log_err("control socket %s: its directory: %s", path, strerror(-rc));
	}
	return rc;
}

/* Why the directory whose status is st must not hold the control socket, or NULL: uid is to
 * own it and ktund may remove files in it (the sandbox allows that there and nowhere else),
 * so it must be root's or uid's already, and writable by no one else. */
static const char *dir_unsafe(const struct stat *st, uid_t uid, char *buf, size_t size)
{
	if (!S_ISDIR(st->st_mode))
		return "not a directory";
	if (st->st_uid != 0 && st->st_uid != uid) {
		snprintf(buf, size, "owned by uid %u, neither root nor uid %u", (unsigned)st->st_uid,
			 (unsigned)uid);
		return buf;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(buf, size, "writable by its group or others (mode %04o)",
			 (unsigned)(st->st_mode & 07777));
		return buf;
	}
	return NULL;
}

/* Why open(dir, O_DIRECTORY | O_NOFOLLOW) failed with err: ENOTDIR for a symbolic link too. */
static const char *open_failure(const char *dir, int err)
{
	struct stat st;

	if (err != ENOTDIR && err != ELOOP)
		return strerror(err);
	return lstat(dir, &st) == 0 && S_ISLNK(st.st_mode) ? "a symbolic link" : "not a directory";
}

/* The open directory fd checked and, if pw is set and it is not its user's yet, given to it. */
static int take_dir(int fd, const struct passwd *pw, const char **why, char *buf, size_t size)
{
	struct stat st;
	int rc = 0;

	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if ((*why = dir_unsafe(&st, pw ? pw->pw_uid : geteuid(), buf, size)))
		return -EPERM;
	/* Also when systemd made it for root (the redirector drop-in runs ktund as root). */
	else if (pw && st.st_uid != pw->pw_uid && fchown(fd, pw->pw_uid, pw->pw_gid) < 0)
		rc = -errno;
	if (rc < 0)
		*why = strerror(-rc);
	return rc;
}

int control_own_dir(const char *path, const char *user)
{
	struct passwd *pw = user ? getpwnam(user) : NULL; /* unknown: privs_drop()'s error */
	char dir[PATH_MAX], buf[96];
	const char *why = NULL;
	int fd, rc;

	path_dir_of(path, dir);
	/* Checked and given away through one descriptor, never by name: chown() followed a
	 * symbolic link there to wherever it pointed. */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		why = open_failure(dir, -rc);
	} else {
		rc = take_dir(fd, pw, &why, buf, sizeof(buf));
		close(fd);
	}
	if (rc < 0)
		log_err("control socket directory %s: %s: refused (remove it, or give --control PATH)",
			dir, why);
	return rc;
}

int control_open(const char *path)
{
	struct ktun_addr addr;
	char text[ADDR_HOST_MAX], err[256];
	mode_t old_mask;
	int fd;

	snprintf(text, sizeof(text), "unix:%s", path);
	if (addr_parse(text, true, &addr, err, sizeof(err)) < 0) {
		log_err("control socket %s: %s", path, err);
		return -EINVAL;
	}
	/* Only the daemon's owner may steer it. */
	old_mask = umask(0077);
	fd = listener_open(&addr, false);
	umask(old_mask);
	if (fd < 0)
		log_err("control socket %s: %s", path, strerror(-fd));
	return fd;
}

static void write_pool_status(const struct tunnel *t, const struct tunnel_stats *sum, FILE *out)
{
	fprintf(out, "%s.pool_size %llu\n%s.pool_hits %llu\n%s.pool_misses %llu\n", t->name,
		(unsigned long long)sum->pool_ready, t->name, (unsigned long long)sum->pool_hits,
		t->name, (unsigned long long)sum->pool_misses);
	for (int d = 0; d < POOL_DISCARD_MAX; d++)
		fprintf(out, "%s.pool_discards.%s %llu\n", t->name,
			pool_discard_name((enum pool_discard)d),
			(unsigned long long)sum->pool_discards[d]);
}

/* The client ticket cache (ticket_cache.c): the main thread swaps contexts, so reading
 * t->ctx here needs no reference. */
static void write_ticket_status(const struct tunnel *t, const struct tunnel_stats *sum, FILE *out)
{
	size_t entries, bytes;

	ticket_cache_stats(&t->ctx->tickets, &entries, &bytes);
	fprintf(out, "%s.ticket_hits %llu\n%s.ticket_misses %llu\n%s.tickets_stored %llu\n"
		"%s.ticket_cache_entries %zu\n%s.ticket_cache_bytes %zu\n",
		t->name, (unsigned long long)sum->ticket_hits, t->name,
		(unsigned long long)sum->ticket_misses, t->name,
		(unsigned long long)sum->tickets_stored, t->name, entries, t->name, bytes);
}

/* Each fixed target: "NAME.target.ADDR up|down" and "NAME.target_failures.ADDR N". Control
 * commands run on the main thread, the one that swaps contexts, so the reference taken here
 * (and in write_chain_cache_status) is not needed; it is kept as the safe pattern. */
static void targets_status(struct tunnel *t, FILE *out)
{
	struct tunnel_ctx *ctx = tunnel_acquire_ctx(t);

	if (ctx->targets.n > 1)
		fprintf(out, "%s.failover %s\n", t->name, failover_name(ctx->targets.failover));
	for (size_t j = 0; j < ctx->targets.n; j++) {
		const struct ktun_addr *a = &ctx->targets.addrs[j];
		char text[ADDR_TEXT_MAX];

		addr_format((const struct sockaddr *)&a->ss, a->len, text);
		fprintf(out, "%s.target.%s %s\n%s.target_failures.%s %llu\n", t->name, text,
			target_set_up(&ctx->targets, j) ? "up" : "down", t->name, text,
			target_set_failures(&ctx->targets, j));
	}
	tunnel_ctx_put(ctx);
}

/* The verified-chain cache's occupancy (chain_cache.c), its context held by a reference. */
static void write_chain_cache_status(struct tunnel *t, FILE *out)
{
	struct tunnel_ctx *ctx = tunnel_acquire_ctx(t);

	fprintf(out, "%s.resume_chain_cache_entries %zu\n", t->name,
		ctx->chains ? chain_cache_count(ctx->chains) : 0);
	tunnel_ctx_put(ctx);
}

static void write_status(struct ktun *k, const char *args, FILE *out)
{
	for (size_t i = 0; i < k->n_tunnels; i++) {
		struct tunnel *t = &k->tunnels[i];
		struct tunnel_stats sum;

		tunnel_stats_sum(t, k->n_workers, &sum);
		fprintf(out, "%s.mode %s\n%s.datapath %s\n", t->name, config_mode_name(t->mode), t->name,
			t->ctx->ktls_wanted ? "ktls" : "userspace");
		fprintf(out, "%s.conns_open %u\n", t->name, __atomic_load_n(&t->live, __ATOMIC_RELAXED));
		fprintf(out, "%s.conns_total %llu\n%s.handshakes_ok %llu\n%s.bytes_up %llu\n"
			"%s.bytes_down %llu\n%s.accept_errors %llu\n",
			t->name, (unsigned long long)sum.conns_total, t->name,
			(unsigned long long)sum.handshakes_ok, t->name, (unsigned long long)sum.bytes_up,
			t->name, (unsigned long long)sum.bytes_down, t->name,
			(unsigned long long)sum.accept_errors);
		fprintf(out, "%s.handshakes_resumed %llu\n%s.resume_chain_cache_hits %llu\n"
			"%s.resume_chain_cache_misses %llu\n%s.resume_chain_cache_bypassed %llu\n",
			t->name, (unsigned long long)sum.handshakes_resumed, t->name,
			(unsigned long long)sum.chain_cache_hits, t->name,
			(unsigned long long)sum.chain_cache_misses, t->name,
			(unsigned long long)sum.chain_cache_bypassed);
		write_chain_cache_status(t, out);
		fprintf(out, "%s.conns_ktls %llu\n%s.conns_userspace %llu\n%s.payload_userspace %llu\n"
			"%s.payload_copied %llu\n", t->name, (unsigned long long)sum.conns_ktls, t->name,
			(unsigned long long)sum.conns_userspace, t->name,
			(unsigned long long)sum.payload_userspace, t->name,
			(unsigned long long)sum.payload_copied);
		if (t->mode == MODE_CLIENT)
			write_ticket_status(t, &sum, out);
		for (int r = REASON_DONE; r < REASON_MAX; r++) {
			if (!reason_possible((enum reason)r, t->mode == MODE_SERVER))
				continue;
			if (reason_is_reject((enum reason)r))
				fprintf(out, "%s.reject.%s %llu\n", t->name, reason_name((enum reason)r),
					(unsigned long long)sum.reject[r]);
			fprintf(out, "%s.close.%s %llu\n", t->name, reason_name((enum reason)r),
				(unsigned long long)sum.close[r]);
		}
		if (t->mode == MODE_CLIENT)
			write_pool_status(t, &sum, out);
		targets_status(t, out);
		redirect_status_write(k, i, out);
	}
}

static void do_reload(struct ktun *k, const char *args, FILE *out)
{
	char err[CONFIG_ERR_MAX];

	if (daemon_reload(k, err, sizeof(err)) == 0)
		fprintf(out, "reload ok\n");
	else
		fprintf(out, "error: reload failed: %s\n", err);
}

static void write_metrics(struct ktun *k, const char *args, FILE *out)
{
	if (metrics_write(k, out) < 0)
		fprintf(out, "error: out of memory\n");
}

static void write_conns(struct ktun *k, const char *args, FILE *out)
{
	struct timespec ts;

	/* The workers' clock: CLOCK_MONOTONIC_COARSE in milliseconds. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	if (conn_report(k, out, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000) == -ENOMEM)
		fprintf(out, "error: out of memory\n");
}

static void write_peers(struct ktun *k, const char *args, FILE *out)
{
	if (peers_report(out) == -ENOMEM)
		fprintf(out, "error: out of memory\n");
}

/* A command is its first word; only "redirect" takes arguments (the rest of the line). */
static const struct {
	const char *name;
	void (*run)(struct ktun *k, const char *args, FILE *out);
	bool args;
} commands[] = {
	{ "status", write_status, false },
	{ "conns", write_conns, false },
	{ "peers", write_peers, false },
	{ "reload", do_reload, false },
	{ "metrics", write_metrics, false },
	{ "redirect", redirect_control, true },
};

static int find_command(const char *line, const char **args)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		size_t n = strlen(commands[i].name);

		if (strncmp(line, commands[i].name, n))
			continue;
		if (!line[n] || (commands[i].args && line[n] == ' ')) {
			*args = line[n] ? line + n + 1 : line + n;
			return (int)i;
		}
	}
	return -1;
}

/* The first NUL or other control character (C0, DEL) of s[0, len), or -1. */
static int first_control(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return (unsigned char)s[i];
	return -1;
}

/* One command line, whole, into line (CONTROL_LINE_MAX + 2 bytes). It ends at "\n", "\r\n"
 * (neither counted in CONTROL_LINE_MAX) or the end of the input; a client that stops
 * mid-line (the receive timeout) sent no command. fgets() handed over the first characters of
 * a longer line as if they were all of it, and strlen() and strcspn("\r\n") the part before
 * a NUL or CR: "redirect add t 192.0.2.0/24:80\0-8080" became a narrower rule. So a line
 * that does not fit or holds a control character is refused (returns false, the error said
 * to the client), never cut. The errors go to the socket itself: with the rest of the input
 * still buffered, the stream cannot be switched to writing (that seeks, and a socket cannot). */
static bool read_command(FILE *io, char *line)
{
	size_t len = 0;
	int c;

	/* One character more than the limit: a "\r" before the "\n". */
	while ((c = getc(io)) != EOF && c != '\n' && len <= CONTROL_LINE_MAX)
		line[len++] = (char)c;
	if (c == EOF && (ferror(io) || len == 0))
		return false;
	if (c == '\n' && len > 0 && line[len - 1] == '\r')
		len--;
	if (len > CONTROL_LINE_MAX) {
		dprintf(fileno(io), "error: command longer than %d characters\n", CONTROL_LINE_MAX);
		return false;
	}
	c = first_control(line, len);
	if (c >= 0) {
		dprintf(fileno(io), "error: command holds a NUL or control character (0x%02x)\n", c);
		return false;
	}
	line[len] = '\0';
	return true;
}

void control_serve_one(struct ktun *k, int listen_fd)
{
	struct timeval tv = { .tv_sec = 2 };
	char line[CONTROL_LINE_MAX + 2]; /* and "\r", NUL */
	FILE *io;
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	/* A client that never writes must not stall signal handling for long. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	io = fdopen(fd, "r+");
	if (!io) {
		close(fd);
		return;
	}
	if (read_command(io, line)) {
		const char *args = NULL;
		int i;

		i = find_command(line, &args);
		fseek(io, 0, SEEK_CUR); /* switch the stream from reading to writing */
		if (i >= 0)
			commands[i].run(k, args, io);
		else
			fprintf(io, "error: unknown command '%.64s' (try status, conns, metrics, reload, redirect)\n",
				line);
	}
	fclose(io);
}

void control_close(int fd, const char *path)
{
	if (fd < 0)
		return;
	close(fd);
	/* Refused by the sandbox (Landlock) outside the directory it was created in. */
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("control socket %s not removed: %s", path, strerror(errno));
}
