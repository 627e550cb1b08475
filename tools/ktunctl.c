// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sockdiag.h"

/* ktunctl: sends one command to ktund's control socket and prints the answer. */

#define DEFAULT_CONTROL_PATH "/run/ktund.sock"

static const struct {
	const char *name;
	const char *help;
} commands[] = {
	{ "status", "counters of every tunnel, one 'tunnel.counter value' per line" },
	{ "conns", "live connections: peer identity, cipher, data path, bytes, age, kernel TLS state" },
	{ "metrics", "every counter, the handshake-duration histogram and certificate expiry, in\n"
		     "           Prometheus's text format (also over HTTP with metrics-listen)" },
	{ "reload", "reload certificates, keys, CA and CRL (like SIGHUP)" },
	{ "redirect", "add TUNNEL RULE | del TUNNEL RULE | list: the eBPF redirector's rules, live\n"
		      "           (RULE: A.B.C.D[/N]:PORT[-PORT] or [IPV6[/N]]:PORT[-PORT])" },
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: ktunctl [--control PATH] COMMAND [ARGS]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "\nThe control socket defaults to %s.\n", DEFAULT_CONTROL_PATH);
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

static int connect_control(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "ktunctl: control path too long\n");
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "ktunctl: cannot reach ktund at %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Value of " key=VALUE" in a conns line, copied into buf. */
static bool field(const char *line, const char *key, char *buf, size_t len)
{
	char pattern[32];
	const char *p;
	size_t n;

	snprintf(pattern, sizeof(pattern), " %s=", key);
	p = strstr(line, pattern);
	if (!p)
		return false;
	p += strlen(pattern);
	n = strcspn(p, " \n");
	if (n >= len)
		return false;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return true;
}

/* Prints a conns line with what sock_diag says about its TLS socket appended. */
static void print_conn_line(const char *line)
{
	char local[80], remote[80];
	struct sock_facts f;
	size_t len = strcspn(line, "\n");

	fwrite(line, 1, len, stdout);
	if (field(line, "tls_local", local, sizeof(local)) &&
	    field(line, "tls_remote", remote, sizeof(remote)) &&
	    sockdiag_lookup(local, remote, &f) == 0) {
		printf(" ulp=%s", f.ulp[0] ? f.ulp : "none");
		if (f.tls_tx || f.tls_rx)
			printf(" ktls_tx=%s ktls_rx=%s", f.tls_tx ? f.tls_tx : "-", f.tls_rx ? f.tls_rx : "-");
		if (f.have_tcp_info)
			printf(" rtt_us=%u retrans=%u cwnd=%u", f.rtt_us, f.retrans, f.snd_cwnd);
	}
	putchar('\n');
}

static int run_conns(FILE *in)
{
	char line[2048];

	while (fgets(line, sizeof(line), in)) {
		if (!strncmp(line, "error:", 6)) {
			fputs(line, stderr);
			return 1;
		}
		print_conn_line(line);
	}
	return 0;
}

static int run(const char *path, const char *command)
{
	char buf[8192];
	bool failed = false, first = true;
	ssize_t n;
	int fd = connect_control(path);

	if (fd < 0)
		return 1;
	if (dprintf(fd, "%s\n", command) < 0) {
		fprintf(stderr, "ktunctl: write: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	if (!strcmp(command, "conns")) {
		FILE *in = fdopen(fd, "r");
		int rc;

		if (!in) {
			close(fd);
			return 1;
		}
		rc = run_conns(in);
		fclose(in);
		return rc;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (first && !strncmp(buf, "error:", 6))
			failed = true;
		first = false;
		fwrite(buf, 1, (size_t)n, failed ? stderr : stdout);
	}
	close(fd);
	if (n < 0) {
		fprintf(stderr, "ktunctl: read: %s\n", strerror(errno));
		return 1;
	}
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *path = DEFAULT_CONTROL_PATH;
	int i = 1;

	if (i < argc && (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (i < argc && !strcmp(argv[i], "--control")) {
		if (i + 1 >= argc) {
			usage(stderr);
			return 2;
		}
		path = argv[i + 1];
		i += 2;
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++) {
		char line[256];

		if (strcmp(argv[i], commands[c].name))
			continue;
		if (!request(argc, argv, i, line, sizeof(line))) {
			usage(stderr);
			return 2;
		}
		return run(path, line);
	}
	fprintf(stderr, "ktunctl: unknown command '%s'\n", argv[i]);
	usage(stderr);
	return 2;
}
