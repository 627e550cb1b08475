// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"Usage:\n"
	"  ktund server --listen HOST:PORT --target HOST:PORT --cert FILE --key FILE --cacert FILE\n"
	"               [--crl FILE] (--allow-all | --allow-cn N | --allow-ou N | --allow-dns N\n"
	"               | --allow-uri U | --allow-fingerprint sha256:HEX | --allow-serial DN/HEX)...\n"
	"               [--target from-client (--allow-destination CIDR:PORT[-PORT])...]\n"
	"  ktund client --listen HOST:PORT --target HOST:PORT --cert FILE --key FILE --cacert FILE\n"
	"               [--server-name NAME] [--verify-uri U | --verify-fingerprint sha256:HEX\n"
	"               | --verify-cn N | --verify-ou N | --verify-dns N | --verify-serial DN/HEX]...\n"
	"               [--redirect A.B.C.D[/N]:PORT[-PORT] | --redirect [IPV6[/N]]:PORT[-PORT]]...\n"
	"               [--destination original|HOST:PORT] (CONNECT to it through the far side)\n"
	"               [--pool N (0-1024: connections kept ready; needs --destination)\n"
	"               [--pool-idle SEC (40: replaced before this age)]]\n"
	"  ktund --config FILE [--check]\n"
	"\n"
	"Server mode accepts mutual TLS and forwards plaintext to --target; client mode accepts\n"
	"plaintext and forwards it over mutual TLS. Addresses: 127.0.0.1:443, [::1]:443,\n"
	"host:443, unix:/path (plaintext side only, which must be local unless --unsafe-*).\n"
	"\n"
	"Tunnel options:  --crl FILE  --crl-stale warn|refuse (warn)\n"
	"                 --ocsp-staple FILE (DER OCSP response for the own certificate)\n"
	"                 --ocsp-fetch (fetch it from the certificate's OCSP responder)\n"
	"                 --require-ocsp (refuse a peer that staples no valid response)\n"
	"                 --handshake-timeout SEC (10)  --connect-timeout SEC (10)\n"
	"                 --idle-timeout SEC (300, 0 = none)  --max-connections N (10000)\n"
	"                 --unsafe-target  --unsafe-listen  --ktls auto|required|off (auto)\n"
	"                 --ciphers LIST (AES-128-GCM:AES-256-GCM:CHACHA20-POLY1305:AES-128-CCM)\n"
	"                 --tls-min 1.2|1.3 (1.2)  --tls-max 1.2|1.3 (1.3)\n"
	"                 --proxy-protocol (server: PROXY v2 header to the target)\n"
	"                 --request-timeout SEC (60: server, from-client: wait for a request)\n"
	"                 --target repeated: several targets (at most 16 addresses)\n"
	"                 --failover ordered|round-robin (ordered)  --target-backoff SEC (10)\n"
	"                 --resumption=yes|no (yes: TLS 1.3 session tickets, re-verified on resume)\n"
	"                 --resumption-lifetime SEC (server: 7200)  --ticket-rotation SEC (3 x that)\n"
	"                 --ticket-key-file FILE (server: 64-byte key, mode 0600; shared by hosts)\n"
	"Global options:  --workers N (CPUs)  --control PATH (" KTUN_CONTROL_DEFAULT ")  --user NAME\n"
	"                 --log-level debug|info|notice|warning|error  --log-format text|json (text)\n"
	"                 --drain-timeout SEC (30)\n"
	"                 --watch-files=yes|no (yes)  --sandbox=yes|no (yes)\n"
	"                 --expiry-warn DAYS,... (30,7,1)  --metrics-listen HOST:PORT\n"
	"                 --metrics-identities N (0: no per-identity series)\n"
	"eBPF redirector: --bpf-cgroup PATH|none (cgroup2 root)  --redirect-interface IF\n"
	"                 --redirect-mark N (0x4b54)  --bpf-pin-dir DIR (/sys/fs/bpf/ktun)\n"
	"                 --help  --version\n"
	"Yes/no options: --name alone means yes; --name=no turns one off.\n"
	"Exit status: 0 clean exit, 1 runtime failure, 2 bad usage or configuration.\n";

static enum cli_result __attribute__((format(printf, 1, 2))) bad(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ktund: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'ktund --help'.\n");
	return CLI_USAGE;
}

/* Whether argv[first..at) sets key already, as --key, --key=... (values are skipped by
 * looking only at arguments that start with "--" and not at one right after a --key that
 * takes a value). */
static bool given_before(char **argv, int first, int at, const char *key)
{
	size_t n = strlen(key);

	for (int j = first; j < at; j++) {
		const char *a = argv[j];

		if (strncmp(a, "--", 2))
			continue;
		if (!strncmp(a + 2, key, n) && (a[2 + n] == '\0' || a[2 + n] == '='))
			return true;
		/* --key VALUE: VALUE may itself look like an option; skip it. */
		if (!strchr(a, '=') && j + 1 < at) {
			char k[64];

			snprintf(k, sizeof(k), "%s", a + 2);
			if (config_option_exists(k) && !config_option_is_flag(k))
				j++;
		}
	}
	return false;
}

static enum cli_result parse_options(int argc, char **argv, int i, struct ktun_config *cfg,
				     struct tunnel_config *tunnel, bool *check)
{
	char err[CONFIG_ERR_MAX];
	int first = i;

	for (; i < argc; i++) {
		char key[64];
		const char *arg = argv[i], *value = NULL, *eq;

		if (strncmp(arg, "--", 2))
			return bad("unexpected argument '%s'", arg);
		arg += 2;
		eq = strchr(arg, '=');
		if ((eq ? (size_t)(eq - arg) : strlen(arg)) >= sizeof(key))
			return bad("unknown option '%s'", argv[i]);
		snprintf(key, sizeof(key), "%.*s", eq ? (int)(eq - arg) : (int)strlen(arg), arg);
		if (eq)
			value = eq + 1;
		if (!strcmp(key, "help")) {
			fputs(usage, stdout);
			return CLI_EXIT_OK;
		}
		if (!strcmp(key, "check") && !value) {
			*check = true;
			continue;
		}
		if (!strcmp(key, "config"))
			return bad("%s", "--config cannot be combined with a mode or given twice");
		if (!config_option_exists(key)) {
			const char *near = config_suggest(key);

			if (near)
				return bad("unknown option '--%s': did you mean '--%s'?", key, near);
			return bad("unknown option '--%s'", key);
		}
		/* --target repeated lists several targets (the INI file's "target = a, b"). */
		if (!config_option_repeats(key) && strcmp(key, "target") &&
		    given_before(argv, first, i, key))
			return bad("option '--%s' is given twice: keep one (only --allow-*, --verify-*, "
				   "--redirect and --target may repeat)", key);
		if (!value && !config_option_is_flag(key)) {
			if (++i >= argc)
				return bad("option '--%s' needs a value", key);
			value = argv[i];
		}
		if (config_set(cfg, config_option_is_global(key) ? NULL : tunnel, key, value, err,
			       sizeof(err)) < 0)
			return bad("%s", err);
	}
	return CLI_RUN;
}

static enum cli_result parse_config_file(int argc, char **argv, struct ktun_config *cfg)
{
	char err[CONFIG_ERR_MAX];
	bool check = false;
	enum cli_result r;

	if (argc < 3)
		return bad("%s", "--config needs a file");
	if (config_load_file(cfg, argv[2], err, sizeof(err)) < 0)
		return bad("%s", err);
	/* Command-line global options override the file's [global] section. */
	r = parse_options(argc, argv, 3, cfg, NULL, &check);
	if (r != CLI_RUN)
		return r;
	return check ? CLI_CHECK : CLI_RUN;
}

enum cli_result cli_parse(int argc, char **argv, struct ktun_config *cfg)
{
	struct tunnel_config *t;
	bool check = false;
	char err[CONFIG_ERR_MAX];
	enum cli_result r;

	if (argc < 2)
		return bad("%s", "missing mode: server, client or --config FILE");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, stdout);
		return CLI_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("ktund %s\n", KTUN_VERSION);
		return CLI_EXIT_OK;
	}
	if (!strcmp(argv[1], "--config"))
		return parse_config_file(argc, argv, cfg);
	if (strcmp(argv[1], "server") && strcmp(argv[1], "client"))
		return bad("unknown mode '%s': use server, client or --config FILE", argv[1]);
	t = config_add_tunnel(cfg, argv[1]);
	if (!t || config_set(cfg, t, "mode", argv[1], err, sizeof(err)) < 0)
		return bad("%s", "out of memory");
	r = parse_options(argc, argv, 2, cfg, t, &check);
	if (r == CLI_RUN && check)
		return CLI_CHECK;
	return r;
}
