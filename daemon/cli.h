/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_CLI_H
#define KTUN_CLI_H

#include <stdbool.h>

#include "config.h"

enum cli_result { CLI_RUN, CLI_CHECK, CLI_EXIT_OK, CLI_USAGE };

/* Fills cfg from argv (a server/client tunnel, or --config FILE). On CLI_USAGE the reason
 * has been printed. */
enum cli_result cli_parse(int argc, char **argv, struct ktun_config *cfg);

#endif
