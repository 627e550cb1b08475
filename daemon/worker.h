/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_WORKER_H
#define KTUN_WORKER_H

#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>
#include <liburing.h>

struct ktun;
struct conn;
struct tunnel;

/* One listener of one tunnel on one worker. */
struct listener {
	struct worker *w;
	struct tunnel *t;
	int fd;
	bool accepting;   /* an accept is in flight */
	bool paused;      /* the process ran out of fds or memory: retried on the tick */
	bool closed;
	bool transparent; /* routed flows (redirect-interface): the local address is the destination */
	/* An accepted connection waiting for a slot under max-connections (-1: none). While
	 * one waits, no accept is armed: the rest wait in the kernel's backlog. */
	int held_fd;
	struct sockaddr_storage peer, dst;
	socklen_t peerlen, dstlen;
} __attribute__((aligned(16)));

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
	/* Held by the worker only to link or unlink a connection or to publish its identity,
	 * and by the control thread while it lists connections: never on the data path. */
	pthread_mutex_t conns_lock;
	unsigned n_conns;
	int64_t now_ms;
	int64_t drain_deadline_ms;
	bool draining;
	bool joinable;
	sem_t started;
	int start_rc;
} __attribute__((aligned(16)));

int worker_init(struct worker *w, struct ktun *k, unsigned id);
/* Starts the thread and waits until its ring exists; returns its setup error if any. */
int worker_start(struct worker *w);
void worker_destroy(struct worker *w);
/* Wakes the worker to look at the daemon phase. Any thread. */
void worker_notify(struct worker *w);
/* An SQE from the worker's ring, flushing the queue if it is full. Never NULL. */
struct io_uring_sqe *worker_sqe(struct worker *w);
/* A connection slot was freed: listeners paused on max-connections may accept again. */
void worker_slot_freed(struct worker *w, struct tunnel *t);

#endif
