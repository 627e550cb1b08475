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

#endif
