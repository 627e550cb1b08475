// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resolver.h"

/* One process-wide resolver: a queue under one mutex, taken briefly by workers (submit,
 * take) and by the thread; never on the data path (only a new from-client connection that
 * names a host comes here). */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool running, stopping;
	struct resolve_req *queue, **queue_tail;
	unsigned pending; /* queued or being looked up */
	struct resolve_req **done; /* per worker, newest first */
	int *event_fds;
	unsigned workers;
} R = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

static void lookup(struct resolve_req *req)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res, *ai;
	char port[8];

	snprintf(port, sizeof(port), "%u", req->port);
	req->n = 0;
	req->gai = getaddrinfo(req->host, port, &hints, &res);
	if (req->gai)
		return;
	for (ai = res; ai && req->n < RESOLVE_ADDRS_MAX; ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(req->addrs[0]))
			continue;
		memcpy(&req->addrs[req->n], ai->ai_addr, ai->ai_addrlen);
		req->lens[req->n++] = ai->ai_addrlen;
	}
	freeaddrinfo(res);
}

/* Under R.lock. */
static void answer_locked(struct resolve_req *req)
{
	R.pending--;
	req->next = R.done[req->worker];
	R.done[req->worker] = req;
}

static void wake_worker(unsigned worker)
{
	uint64_t one = 1;

	/* An eventfd write fails only when its counter would overflow: it is then readable. */
	if (write(R.event_fds[worker], &one, sizeof(one)) < 0)
		return;
}

static void answer(struct resolve_req *req)
{
	unsigned worker = req->worker;

	pthread_mutex_lock(&R.lock);
	answer_locked(req);
	pthread_mutex_unlock(&R.lock);
	wake_worker(worker);
}

void resolver_cancel(struct resolve_req *req)
{
	struct resolve_req **p;
	unsigned worker = req->worker;
	bool queued = false;

	pthread_mutex_lock(&R.lock);
	for (p = &R.queue; *p; p = &(*p)->next) { /* at most RESOLVE_PENDING_MAX */
		if (*p != req)
			continue;
		*p = req->next;
		if (R.queue_tail == &req->next)
			R.queue_tail = p;
		req->gai = EAI_CANCELED;
		req->n = 0;
		answer_locked(req);
		queued = true;
		break;
	}
	pthread_mutex_unlock(&R.lock);
	if (queued)
		wake_worker(worker);
}

static void *resolver_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&R.lock);
	while (!R.stopping) {
		struct resolve_req *req = R.queue;

		if (!req) {
			pthread_cond_wait(&R.wake, &R.lock);
			continue;
		}
		R.queue = req->next;
		if (!R.queue)
			R.queue_tail = &R.queue;
		pthread_mutex_unlock(&R.lock);
		lookup(req);
		answer(req);
		pthread_mutex_lock(&R.lock);
	}
	pthread_mutex_unlock(&R.lock);
	return NULL;
}

int resolver_start(const int *event_fds, unsigned workers)
{
	int rc;

	R.done = calloc(workers, sizeof(*R.done));
	R.event_fds = calloc(workers, sizeof(*R.event_fds));
	if (!R.done || !R.event_fds) {
		free(R.done);
		free(R.event_fds);
		R.done = NULL;
		return -ENOMEM;
	}
	memcpy(R.event_fds, event_fds, workers * sizeof(*event_fds));
	R.workers = workers;
	R.queue = NULL;
	R.queue_tail = &R.queue;
	rc = pthread_create(&R.thread, NULL, resolver_main, NULL);
	if (rc) {
		free(R.done);
		free(R.event_fds);
		R.done = NULL;
		return -rc;
	}
	R.running = true;
	return 0;
}

static void free_list(struct resolve_req *req)
{
	while (req) {
		struct resolve_req *next = req->next;

		free(req);
		req = next;
	}
}

void resolver_stop(void)
{
	if (!R.running)
		return;
	pthread_mutex_lock(&R.lock);
	R.stopping = true;
	pthread_cond_signal(&R.wake);
	pthread_mutex_unlock(&R.lock);
	pthread_join(R.thread, NULL);
	R.running = false;
	free_list(R.queue);
	for (unsigned i = 0; i < R.workers; i++)
		free_list(R.done[i]);
	free(R.done);
	free(R.event_fds);
	R.done = NULL;
}

int resolver_submit(struct resolve_req *req)
{
	if (!__atomic_load_n(&R.running, __ATOMIC_ACQUIRE) || req->worker >= R.workers)
		return -ENOTSUP;
	req->next = NULL;
	pthread_mutex_lock(&R.lock);
	if (R.pending >= RESOLVE_PENDING_MAX) {
		pthread_mutex_unlock(&R.lock);
		return -EBUSY;
	}
	R.pending++;
	*R.queue_tail = req;
	R.queue_tail = &req->next;
	pthread_cond_signal(&R.wake);
	pthread_mutex_unlock(&R.lock);
	return 0;
}

struct resolve_req *resolver_take_done(unsigned worker)
{
	struct resolve_req *list, *oldest = NULL;

	if (!R.done || worker >= R.workers)
		return NULL;
	pthread_mutex_lock(&R.lock);
	list = R.done[worker];
	R.done[worker] = NULL;
	pthread_mutex_unlock(&R.lock);
	while (list) { /* newest first: reverse */
		struct resolve_req *next = list->next;

		list->next = oldest;
		oldest = list;
		list = next;
	}
	return oldest;
}
