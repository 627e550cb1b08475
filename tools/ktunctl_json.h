/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_KTUNCTL_JSON_H
#define KTUN_KTUNCTL_JSON_H

#include <stdbool.h>
#include <stdio.h>

/* Prints the daemon's answer to command as one JSON document: an object for status, arrays
 * for conns, metrics and other line lists, {"error": ...} if it failed. Modifies answer.
 * Returns 0 or -ENOMEM. */
int ktunctl_print_json(FILE *out, const char *command, char *answer, bool failed);

#endif
