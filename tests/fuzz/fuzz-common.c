// SPDX-License-Identifier: GPL-2.0-only
/* What every harness links: an offline getaddrinfo() and small helpers (fuzz.h). */
#include <dlfcn.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

/* addr_parse() resolves host names with getaddrinfo(). A fuzzer must not send its inputs to
 * DNS (slow, flaky, and a leak of junk onto the network): this definition, in the executable,
 * wins over libc's and the sanitizers' weak interceptor, and lets only numeric hosts and
 * "localhost" (/etc/hosts) through to the real one. Other names fail as an unknown name would. */
int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	static int (*real)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
	struct addrinfo h = { 0 };

	if (!real) {
		real = (int (*)(const char *, const char *, const struct addrinfo *,
				struct addrinfo **))dlsym(RTLD_NEXT, "getaddrinfo");
		if (!real)
			abort();
	}
	if (hints)
		h = *hints;
	if (node && strcmp(node, "localhost"))
		h.ai_flags |= AI_NUMERICHOST;
	return real(node, service, &h, res);
}

char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

const char *fuzz_memfd_path(int *fd, const void *data, size_t size)
{
	static char path[64];

	if (*fd < 0) {
		*fd = memfd_create("ktun-fuzz", MFD_CLOEXEC);
		if (*fd < 0)
			abort();
	}
	if (ftruncate(*fd, 0) < 0 || (size && pwrite(*fd, data, size, 0) != (ssize_t)size))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", *fd);
	return path;
}
