// SPDX-License-Identifier: GPL-2.0-only
/* The INI configuration path of `ktund --config FILE` and of every reload: config_load_file()
 * (inih plus ktund's section and key handling, config_set() for every option) and, when the
 * file loads, config_validate() (required options, policy/mode rules, address parsing), then
 * config_free(). The input is the file's contents, served from a memfd. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

static int fd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ktun_config cfg;
	char err[CONFIG_ERR_MAX];
	const char *path;
	int rc;

	if (size > 64 * 1024)
		return 0;
	path = fuzz_memfd_path(&fd, data, size);
	config_init(&cfg);
	err[0] = '\0';
	rc = config_load_file(&cfg, path, err, sizeof(err));
	if (rc < 0 && !err[0])
		abort();
	if (rc == 0) {
		err[0] = '\0';
		if (config_validate(&cfg, err, sizeof(err)) < 0 && !err[0])
			abort();
	}
	config_free(&cfg);
	return 0;
}
