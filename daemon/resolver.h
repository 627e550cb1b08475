/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_RESOLVER_H
#define KTUN_RESOLVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * Name lookups for `target = from-client` servers, off the io_uring workers: getaddrinfo
 * blocks (hosts file, DNS with its timeouts), so one thread of its own, started before the
 * sandbox forbids new threads, does them in turn. A worker queues a request; the thread
 * answers into the worker's done list and wakes it through its eventfd (the one the main
 * thread uses for phase changes); the worker takes the list (resolve_done.c). A request
 * belongs to the resolver from submit to take, then to the worker.
 */

#define RESOLVE_ADDRS_MAX 8
#define RESOLVE_ALTS_MAX (RESOLVE_ADDRS_MAX - 1)
/* Lookups queued or running at once, all tunnels together: one slow name server cannot make
 * the queue (and the connections behind it) grow without bound. */
#define RESOLVE_PENDING_MAX 64
#define RESOLVE_HOST_MAX 254

struct conn;

struct resolve_req {
	struct conn *c;              /* whose request; held open (an op in flight) until taken */
	unsigned worker;             /* the worker to answer */
	char host[RESOLVE_HOST_MAX];
	uint16_t port;
	int gai;                     /* getaddrinfo's result: 0, or an EAI_* code */
	size_t n;                    /* addresses found, in getaddrinfo's order */
	struct sockaddr_storage addrs[RESOLVE_ADDRS_MAX];
	socklen_t lens[RESOLVE_ADDRS_MAX];
	struct resolve_req *next;
};

/* Starts the thread; event_fds[i] wakes worker i. 0 or a negative errno. Main thread. */
int resolver_start(const int *event_fds, unsigned workers);
/* Stops and joins the thread once no worker runs; requests still queued are dropped. */
void resolver_stop(void);
/* Queues req (filled: c, worker, host, port). -ENOTSUP if the resolver was not started,
 * -EBUSY if RESOLVE_PENDING_MAX lookups are pending. */
int resolver_submit(struct resolve_req *req);
/* Its connection closed: a req still queued is answered at once (gai EAI_CANCELED) without
 * a lookup, so the connection need not wait for the lookups ahead of it; one being looked up
 * is answered when that ends. The worker frees req after it is answered, as always. */
void resolver_cancel(struct resolve_req *req);
/* The answered requests of worker i, oldest first; the caller owns them. */
struct resolve_req *resolver_take_done(unsigned worker);

#endif
