// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "listen_fds.h"
#include "listener.h"
#include "log.h"
#include "redirect.h"

/* Worker w's listening socket for t: its own, or a descriptor of the one all workers share. */
static int for_worker(struct tunnel *t, unsigned w)
{
	/* A unix socket has no SO_REUSEPORT, and an inherited socket is the only one there is
	 * (binding siblings beside it would defeat socket activation): each worker gets its own
	 * descriptor of the one socket (docs/architecture.md). */
	bool shared = t->inherited || addr_is_unix(&t->listen);
	int fd;

	if (w == 0 && t->inherited)
		return t->listen_fds[0];
	if (w == 0 || !shared)
		return listener_open(&t->listen, true);
	fd = dup(t->listen_fds[0]);
	return fd < 0 ? -errno : fd;
}

int listen_fds_open(struct ktun *k)
{
	char addr[ADDR_TEXT_MAX];

	for (size_t i = 0; i < k->n_tunnels; i++) {
		struct tunnel *t = &k->tunnels[i];

		for (unsigned w = 0; w < k->n_workers; w++) {
			int fd = for_worker(t, w);

			if (fd < 0) {
				log_err("[%s] cannot listen on %s: %s", t->name,
					addr_format((struct sockaddr *)&t->listen.ss, t->listen.len, addr),
					strerror(-fd));
				return fd;
			}
			t->listen_fds[w] = fd;
		}
	}
	return 0;
}

/* One transparent listener per worker, all on one port: all of them, or none (fds -1). */
static void open_tproxy_set(struct tunnel *t, unsigned workers)
{
	unsigned short port = 0;

	for (unsigned w = 0; w < workers; w++) {
		int fd = listener_open_transparent(&port);

		if (fd >= 0) {
			t->tproxy_fds[w] = fd;
			continue;
		}
		log_err("redirect: routed flows unavailable: [%s] transparent listener: %s", t->name,
			strerror(-fd));
		while (w--) {
			close(t->tproxy_fds[w]);
			t->tproxy_fds[w] = -1;
		}
		return;
	}
}

/* A failure is the redirector's, not the tunnel's: it is logged, and the redirector leaves
 * routed flows alone (redirect.c). */
int listen_fds_open_transparent(struct ktun *k)
{
	for (size_t i = 0; i < k->n_tunnels; i++) {
		if (!redirect_routed_wanted(&k->cfg, i))
			continue;
		if (tunnel_want_tproxy(&k->tunnels[i], k->n_workers) < 0)
			return -ENOMEM;
		open_tproxy_set(&k->tunnels[i], k->n_workers);
	}
	return 0;
}
