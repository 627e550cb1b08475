/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_FUZZ_H
#define KTUN_FUZZ_H

/* Shared by the libFuzzer harnesses in tests/fuzz (see meson.build there). */

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy of the input (free() it): as a string, it ends at the first NUL. */
char *fuzz_strndup(const uint8_t *data, size_t size);

/* Replaces the contents of a memfd with data and returns a path that opens it
 * ("/proc/self/fd/N"), for code that takes a file name. Aborts if that fails. */
const char *fuzz_memfd_path(int *fd, const void *data, size_t size);

#endif
