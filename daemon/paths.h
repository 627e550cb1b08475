/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_PATHS_H
#define KTUN_PATHS_H

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* The directory holding path: "." for a bare name, "/" for a file at the root. */
static inline void path_dir_of(const char *path, char dir[static PATH_MAX])
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(dir, PATH_MAX, ".");
	else
		snprintf(dir, PATH_MAX, "%.*s", slash == path ? 1 : (int)(slash - path), path);
}

/* key = pkcs11:... names an object in a token (RFC 7512), not a file: there is nothing to
 * watch, confine or check for readability, and it may carry a PIN that must never be logged. */
static inline int path_is_pkcs11(const char *path)
{
	return path && !strncmp(path, "pkcs11:", 7);
}

#endif
