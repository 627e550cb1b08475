// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "activation.h"
#include "daemon.h"
#include "log.h"

/*
 * Listening sockets that a service manager (a systemd .socket unit, systemd-socket-activate)
 * bound for ktund, taken through libsystemd. Main thread, at start-up only; the workers then
 * get them through tunnel.listen_fds like sockets ktund bound (main.c gives each worker its
 * own descriptor of the one socket: docs/architecture.md).
 */

struct passed {
	int fd;
	const char *name; /* FileDescriptorName=; the unit's name or "unknown" when not set */
	char addr[ADDR_TEXT_MAX];
};

static bool bound_to(int fd, const struct ktun_addr *a)
{
	if (addr_is_unix(a))
		return sd_is_socket_unix(fd, SOCK_STREAM, 1,
					 ((const struct sockaddr_un *)&a->ss)->sun_path, 0) > 0;
	return sd_is_socket_sockaddr(fd, SOCK_STREAM, (const struct sockaddr *)&a->ss, a->len, 1) > 0;
}

static struct tunnel *by_name(struct ktun *k, const char *name)
{
	for (size_t i = 0; i < k->n_tunnels; i++)
		if (!strcmp(k->tunnels[i].name, name))
			return &k->tunnels[i];
	return NULL;
}

static struct tunnel *by_address(struct ktun *k, int fd)
{
	for (size_t i = 0; i < k->n_tunnels; i++)
		if (bound_to(fd, &k->tunnels[i].listen))
			return &k->tunnels[i];
	return NULL;
}

/*
 * A socket named for a tunnel may be bound elsewhere than its listen address (ListenStream=8443
 * is [::]:8443 where listen says 0.0.0.0:8443) — but only on a server tunnel's TLS side. A
 * client tunnel's listen address is its plaintext side, held to loopback unless unsafe-listen,
 * and where the redirector steers connections to: its socket must be bound there.
 */
static int check_named(const struct tunnel *t, const struct passed *p)
{
	char want[ADDR_TEXT_MAX];
	bool is_unix = sd_is_socket(p->fd, AF_UNIX, SOCK_STREAM, 1) > 0;

	if (t->mode == MODE_SERVER && is_unix) {
		log_err("[%s] socket activation: %s (fd %d, name %s) is a unix socket: a server tunnel "
			"takes TLS over TCP only", t->name, p->addr, p->fd, p->name);
		return -EINVAL;
	}
	if (t->mode == MODE_CLIENT && !bound_to(p->fd, &t->listen)) {
		log_err("[%s] socket activation: %s (fd %d, name %s) is not bound to the client "
			"tunnel's listen address %s", t->name, p->addr, p->fd, p->name,
			addr_format((const struct sockaddr *)&t->listen.ss, t->listen.len, want));
		return -EINVAL;
	}
	return 0;
}

static int give(struct tunnel *t, const struct passed *p)
{
	if (t->inherited) {
		log_err("[%s] socket activation: two sockets for one tunnel (fd %d and fd %d, %s)",
			t->name, t->listen_fds[0], p->fd, p->addr);
		return -EINVAL;
	}
	t->inherited = true;
	t->listen_fds[0] = p->fd;
	log_notice("[%s] socket activation: serving %s (fd %d, name %s) instead of binding",
		   t->name, p->addr, p->fd, p->name);
	return 0;
}

static int take_one(struct ktun *k, const struct passed *p)
{
	struct tunnel *t;
	int rc;

	if (sd_is_socket(p->fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
		log_err("socket activation: fd %d (name %s, %s) is not a listening stream socket",
			p->fd, p->name, p->addr);
		return -EINVAL;
	}
	/* libsystemd names a socket without FileDescriptorName= "unknown": that is no name. */
	t = strcmp(p->name, "unknown") ? by_name(k, p->name) : NULL;
	if (t) {
		rc = check_named(t, p);
		return rc < 0 ? rc : give(t, p);
	}
	t = by_address(k, p->fd);
	if (!t) {
		log_err("socket activation: %s (fd %d, name %s) matches no tunnel: bind it to a "
			"tunnel's listen address or name it after the tunnel (FileDescriptorName=)",
			p->addr, p->fd, p->name);
		return -EINVAL;
	}
	return give(t, p);
}

static void describe(struct passed *p, int fd, const char *name)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	p->fd = fd;
	p->name = name;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		snprintf(p->addr, sizeof(p->addr), "not a socket");
	else
		addr_format((const struct sockaddr *)&ss, len, p->addr);
}

static bool taken(const struct ktun *k, int fd)
{
	for (size_t i = 0; i < k->n_tunnels; i++)
		if (k->tunnels[i].inherited && k->tunnels[i].listen_fds[0] == fd)
			return true;
	return false;
}

static void free_names(char **names, int n)
{
	for (int i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

int activation_take(struct ktun *k)
{
	char **names = NULL;
	/* Unsets LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES, and sets FD_CLOEXEC on the sockets. */
	int n = sd_listen_fds_with_names(1, &names), rc = 0;

	if (n < 0) {
		log_err("socket activation: LISTEN_FDS: %s", strerror(-n));
		return n;
	}
	for (int i = 0; i < n && rc == 0; i++) {
		struct passed p;

		describe(&p, SD_LISTEN_FDS_START + i, names ? names[i] : "unknown");
		rc = take_one(k, &p);
	}
	/* The tunnels own what they took (tunnel_destroy closes it); start-up ends here otherwise. */
	for (int i = 0; rc < 0 && i < n; i++)
		if (!taken(k, SD_LISTEN_FDS_START + i))
			close(SD_LISTEN_FDS_START + i);
	free_names(names, n);
	return rc;
}
