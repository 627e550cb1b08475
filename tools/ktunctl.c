// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ktunctl_json.h"
#include "sockdiag.h"

/* ktunctl: sends one command to ktund's control socket and prints the answer. */


static const struct {
	const char *name;
	const char *help;
} commands[] = {
	{ "status", "counters of every tunnel, one 'tunnel.counter value' per line" },
	{ "conns", "live connections: peer identity, cipher, data path, bytes, age, kernel TLS state" },
	{ "peers", "per peer identity: connections, refused handshakes, bytes, last seen (at most\n"
		   "           1024 identities; the rest on one overflow line)" },
	{ "metrics", "every counter, the handshake-duration histogram and certificate expiry, in\n"
		     "           Prometheus's text format (also over HTTP with metrics-listen)" },
	{ "reload", "reload certificates, keys, CA and CRL (like SIGHUP)" },
	{ "redirect", "add TUNNEL RULE | del TUNNEL RULE | list: the eBPF redirector's rules, live\n"
		      "           (RULE: A.B.C.D[/N]:PORT[-PORT] or [IPV6[/N]]:PORT[-PORT])" },
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: ktunctl [--control PATH] [--json] COMMAND [ARGS]\n"
		     "       ktunctl --help | --version\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "\nThe control socket is --control PATH, else $KTUNCTL_SOCKET, else %s.\n",
		KTUN_CONTROL_DEFAULT);
}

/* A failure once a command is under way: text on stderr, or with --json one {"error": ...}
 * document on stdout and nothing on stderr, so that a program reads every outcome in one
 * place. Usage errors (exit 2) stay text on stderr. */
static void __attribute__((format(printf, 2, 3))) failure(bool json, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (json)
		ktunctl_print_json(stdout, "", why, true);
	else
		fprintf(stderr, "ktunctl: %s\n", why);
}

/* The first control character (C0, DEL) of s, or -1. ktund refuses a command holding one,
 * but a "\n" in an argument ends the line there and ktund would run the part before it. */
static int first_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return (unsigned char)*s;
	return -1;
}

/* The request line for argv[i..argc): a known command with the right arguments, or NULL. */
static const char *request(int argc, char **argv, int i, char *line, size_t len)
{
	bool redirect = !strcmp(argv[i], "redirect");
	int words = argc - i;

	if (redirect && !(words == 2 && !strcmp(argv[i + 1], "list")) &&
	    !(words == 4 && (!strcmp(argv[i + 1], "add") || !strcmp(argv[i + 1], "del"))))
		return NULL;
	if (!redirect && words != 1)
		return NULL;
	line[0] = '\0';
	for (; i < argc; i++) {
		if (strlen(line) + strlen(argv[i]) + 2 > len)
			return NULL;
		strcat(line, argv[i]);
		if (i + 1 < argc)
			strcat(line, " ");
	}
	return line;
}

static int connect_control(const char *path, bool json)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		failure(json, "control path too long: %s", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		failure(json, "cannot reach ktund at %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* sock_diag answers for the caller's network namespace only: when ktund (the control
 * socket's peer) runs in another, no conns line can get the kernel's facts. Returns ktund's
 * pid if it is known to be elsewhere, else 0 (the same namespace, or it cannot be told). */
static pid_t peer_in_other_netns(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct stat self, peer;
	char path[64];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)cred.pid);
	if (stat("/proc/self/ns/net", &self) < 0 || stat(path, &peer) < 0)
		return 0;
	return self.st_dev != peer.st_dev || self.st_ino != peer.st_ino ? cred.pid : 0;
}

/* Value of " key=VALUE" in a conns line, copied into buf. Quoted values (id="...", a peer's
 * subject) are skipped: a certificate holder may put " tls_local=..." in its DN. */
static bool field(const char *line, const char *key, char *buf, size_t len)
{
	size_t keylen = strlen(key), n;
	bool quoted = false;
	const char *p;

	for (p = line; *p && *p != '\n'; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (!quoted && *p == ' ' && !strncmp(p + 1, key, keylen) && p[1 + keylen] == '=')
			break;
	}
	if (*p != ' ')
		return false;
	p += 1 + keylen + 1;
	n = strcspn(p, " \n");
	if (n >= len)
		return false;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return true;
}

/* Appends to out (a memstream) a conns line with what sock_diag says about its TLS socket;
 * other_netns: ktund is in another network namespace, where sock_diag cannot look. */
static void add_kernel_facts(FILE *out, const char *line, bool other_netns)
{
	char local[80], remote[80];
	struct sock_facts f;

	fwrite(line, 1, strcspn(line, "\n"), out);
	if (other_netns)
		fputs(" sock_diag=other-netns", out);
	else if (field(line, "tls_local", local, sizeof(local)) &&
	    field(line, "tls_remote", remote, sizeof(remote)) &&
	    sockdiag_lookup(local, remote, &f) == 0) {
		fprintf(out, " ulp=%s", f.ulp[0] ? f.ulp : "none");
		if (f.tls_tx || f.tls_rx)
			fprintf(out, " ktls_tx=%s ktls_rx=%s", f.tls_tx ? f.tls_tx : "-",
				f.tls_rx ? f.tls_rx : "-");
		if (f.have_tcp_info)
			fprintf(out, " rtt_us=%u retrans=%u cwnd=%u", f.rtt_us, f.retrans, f.snd_cwnd);
	}
	fputc('\n', out);
}

/* The daemon's whole answer, read until it closes; conns lines get the kernel's facts. */
static int read_answer(int fd, const char *command, bool other_netns, char **answer, size_t *len)
{
	FILE *in = fdopen(fd, "r"), *out = open_memstream(answer, len);
	char line[4096];
	int rc = 0;

	if (!in || !out) {
		if (in)
			fclose(in);
		else
			close(fd);
		if (out)
			fclose(out);
		return -ENOMEM;
	}
	while (fgets(line, sizeof(line), in)) {
		if (!strcmp(command, "conns") && strncmp(line, "error:", 6))
			add_kernel_facts(out, line, other_netns);
		else
			fputs(line, out);
	}
	if (ferror(in))
		rc = -EIO;
	fclose(in);
	if (fclose(out) != 0)
		rc = -ENOMEM;
	return rc;
}

static int run(const char *path, const char *command, bool json)
{
	char *answer = NULL;
	size_t len = 0;
	bool failed, conns = !strcmp(command, "conns");
	int rc, fd = connect_control(path, json);
	pid_t elsewhere;

	if (fd < 0)
		return 1;
	elsewhere = conns ? peer_in_other_netns(fd) : 0;
	if (dprintf(fd, "%s\n", command) < 0) {
		failure(json, "write: %s", strerror(errno));
		close(fd);
		return 1;
	}
	rc = read_answer(fd, command, elsewhere, &answer, &len);
	if (rc < 0) {
		failure(json, "reading the answer: %s", strerror(-rc));
		free(answer);
		return 1;
	}
	if (elsewhere && len && !json)
		fprintf(stderr, "ktunctl: ktund (pid %d) runs in another network namespace, where "
			"sock_diag cannot look: no ulp, ktls_tx/rx, rtt_us, retrans or cwnd (run "
			"ktunctl there: nsenter -t %d -n ktunctl conns)\n", (int)elsewhere,
			(int)elsewhere);
	failed = !strncmp(answer, "error:", 6);
	if (json) {
		char word[16];

		snprintf(word, sizeof(word), "%.*s", (int)strcspn(command, " "), command);
		rc = ktunctl_print_json(stdout, word, answer, failed);
	} else {
		fwrite(answer, 1, len, failed ? stderr : stdout);
	}
	free(answer);
	return failed || rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *path = getenv("KTUNCTL_SOCKET");
	bool json = false;
	int i = 1;

	if (!path || !*path)
		path = KTUN_CONTROL_DEFAULT;
	if (i < argc && (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (i < argc && !strcmp(argv[i], "--version")) {
		printf("ktunctl %s\n", KTUN_VERSION);
		return 0;
	}
	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--control") && i + 1 < argc) {
			path = argv[++i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++) {
		char line[256];

		if (strcmp(argv[i], commands[c].name))
			continue;
		for (int a = i, ch; a < argc; a++)
			if ((ch = first_control(argv[a])) >= 0) {
				fprintf(stderr, "ktunctl: an argument holds a control character (0x%02x)\n", ch);
				return 2;
			}
		if (!request(argc, argv, i, line, sizeof(line))) {
			usage(stderr);
			return 2;
		}
		return run(path, line, json);
	}
	fprintf(stderr, "ktunctl: unknown command '%s'\n", argv[i]);
	usage(stderr);
	return 2;
}
