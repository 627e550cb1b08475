/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_WORKER_H
#define KTUN_WORKER_H

#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>
#include <liburing.h>

#include "listener.h"
#include "user_data.h"

struct ktun;
struct conn;
struct tunnel;
struct pool;

/* A worker thread owns one io_uring, its listeners and its connections; nothing here is
 * touched by another thread except through the eventfd. */
struct worker {
	unsigned id;
	struct ktun *k;
	pthread_t thread;
	struct io_uring ring;
	int event_fd;
	uint64_t event_value;
	struct __kernel_timespec tick;
	int64_t heartbeat_ms;       /* atomic: now_ms at the last tick, for the watchdog */
	struct listener *listeners; /* one per tunnel, then the transparent ones */
	size_t n_listeners;
	struct conn *conns;         /* doubly linked, newest first */
	struct conn *closed;        /* closed, nothing in flight: freed after the batch */
	bool slot_freed;            /* a connection slot came free in this batch */
	struct pool *pools;         /* client pools, one per tunnel (pool.c) */
	bool pool_dirty;            /* a pooled connection was taken or freed: refill */
	/* Held by the worker only to link or unlink a connection or to publish its identity,
	 * and by the control thread while it lists connections: never on the data path. */
	pthread_mutex_t conns_lock;
	unsigned n_conns;
	int64_t now_ms;
	int64_t drain_started_ms, drain_deadline_ms;
	bool draining;
	bool joinable;
	sem_t started;
	int start_rc;
} __attribute__((aligned(USER_DATA_ALIGN)));

int worker_init(struct worker *w, struct ktun *k, unsigned id);
/* Starts the thread and waits until its ring exists; returns its setup error if any. */
int worker_start(struct worker *w);
void worker_destroy(struct worker *w);
/* Wakes the worker to look at the daemon phase. Any thread. */
void worker_notify(struct worker *w);

#endif
