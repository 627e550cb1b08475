// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ktunctl_json.h"
#include "sockdiag.h"

/* ktunctl: sends one command to ktund's control socket and prints the answer. */

#define DEFAULT_CONTROL_PATH KTUN_CONTROL_DEFAULT /* ktund's, from meson.build */

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
	fprintf(out, "Usage: ktunctl [--control PATH] [--json] COMMAND [ARGS]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "\nThe control socket defaults to %s.\n", DEFAULT_CONTROL_PATH);
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

/* With --json the failure is a JSON document on stdout too, like the daemon's own errors. */
static int connect_control(const char *path, bool json)
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
		char why[256];

		snprintf(why, sizeof(why), "error: cannot reach ktund at %s: %s", path, strerror(errno));
		fprintf(stderr, "ktunctl: %s\n", why + 7);
		if (json)
			ktunctl_print_json(stdout, "", why, true);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
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

/* Appends to out (a memstream) a conns line with what sock_diag says about its TLS socket. */
static void add_kernel_facts(FILE *out, const char *line)
{
	char local[80], remote[80];
	struct sock_facts f;

	fwrite(line, 1, strcspn(line, "\n"), out);
	if (field(line, "tls_local", local, sizeof(local)) &&
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
static int read_answer(int fd, const char *command, char **answer, size_t *len)
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
			add_kernel_facts(out, line);
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
	bool failed;
	int rc, fd = connect_control(path, json);

	if (fd < 0)
		return 1;
	if (dprintf(fd, "%s\n", command) < 0) {
		fprintf(stderr, "ktunctl: write: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	rc = read_answer(fd, command, &answer, &len);
	if (rc < 0) {
		fprintf(stderr, "ktunctl: reading the answer: %s\n", strerror(-rc));
		free(answer);
		return 1;
	}
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
	const char *path = DEFAULT_CONTROL_PATH;
	bool json = false;
	int i = 1;

	if (i < argc && (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))) {
		usage(stdout);
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
