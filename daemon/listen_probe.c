// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "listen_probe.h"
#include "log.h"

int listen_probe_free(const struct ktun_addr *addr)
{
	int fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), rc = 0;

	if (fd < 0)
		return -errno;
	/* As listener_open() does, so that connections of an earlier ktund in TIME_WAIT do not
	 * count: on Linux SO_REUSEADDR never lets a bind share a port with a listening socket. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int));
	if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int listen_probe_all(const struct ktun *k)
{
	char text[ADDR_TEXT_MAX];

	for (size_t i = 0; i < k->n_tunnels; i++) {
		const struct tunnel *t = &k->tunnels[i];
		int rc;

		if (t->inherited || addr_is_unix(&t->listen))
			continue;
		rc = listen_probe_free(&t->listen);
		if (rc == 0)
			continue;
		addr_format((const struct sockaddr *)&t->listen.ss, t->listen.len, text);
		if (rc == -EADDRINUSE)
			log_err("[%s] cannot listen on %s: another process listens there (another "
				"ktund?), and would share its connections: stop it, or choose another "
				"address", t->name, text);
		else
			log_err("[%s] cannot listen on %s: %s", t->name, text, strerror(-rc));
		return rc;
	}
	return 0;
}
