// SPDX-License-Identifier: GPL-2.0-only
/* ktund's command line: cli_parse() on an argv made of the input's lines (argv[0] is
 * "ktund"), then config_validate() as main() does when the line is accepted. `--config FILE`
 * as the first argument always reads a fixed, valid file (a fuzzer must not name files to
 * read: /dev/zero never ends), so the command-line overrides of its [global] section are
 * what is fuzzed there; the file format itself is fuzz-config's.
 *
 * cli_parse() prints usage and errors: run with -close_fd_mask=3 (the meson test does). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "fuzz.h"

#define MAX_ARGS 64

static const char config_file[] =
	"[global]\nworkers = 2\n"
	"[edge]\nmode = client\nlisten = 127.0.0.1:9000\ntarget = 192.0.2.2:8443\n"
	"server-name = origin.test\ncert = c.pem\nkey = c.key\ncacert = ca.pem\n"
	"[origin]\nmode = server\nlisten = [::1]:8443\ntarget = unix:/run/o.sock\n"
	"cert = s.pem\nkey = s.key\ncacert = ca.pem\nallow-ou = edge\n";
static int fd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *rest, *argv[MAX_ARGS + 1];
	char config_path[64];
	struct ktun_config cfg;
	char err[CONFIG_ERR_MAX];
	int argc = 0;
	enum cli_result r;

	if (size > 16 * 1024)
		return 0;
	text = fuzz_strndup(data, size);
	argv[argc++] = "ktund";
	/* strsep, not strtok: an empty line is an empty argument (--listen ""). */
	rest = text;
	while (rest && argc < MAX_ARGS)
		argv[argc++] = strsep(&rest, "\n");
	argv[argc] = NULL;
	if (argc > 2 && !strcmp(argv[1], "--config")) {
		snprintf(config_path, sizeof(config_path), "%s",
			 fuzz_memfd_path(&fd, config_file, sizeof(config_file) - 1));
		argv[2] = config_path;
	}

	config_init(&cfg);
	r = cli_parse(argc, argv, &cfg);
	if (r == CLI_RUN || r == CLI_CHECK) {
		err[0] = '\0';
		if (config_validate(&cfg, err, sizeof(err)) < 0 && !err[0])
			abort();
	}
	config_free(&cfg);
	free(text);
	return 0;
}
