// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "daemon.h"
#include "log.h"
#include "phase.h"
#include "pool.h"
#include "resolve_done.h"
#include "ring.h"
#include "tunnel.h"
#include "worker.h"

/*
 * A worker's loop: submit what is queued, wait for at least one completion, handle every
 * completion that is ready, repeat. All connection state changes happen here, on the
 * worker's own thread. A one-second tick enforces timeouts and retries paused accepts; an
 * eventfd read wakes the worker when the main thread changes the daemon's phase.
 */

#define RING_ENTRIES 1024
#define RING_CQ_ENTRIES 16384

/* The loop's clock: coarse (a tick's resolution is plenty for timeouts) and cheap. */
static int64_t coarse_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * seccomp cannot see what a ring does, so the ring itself is restricted: created disabled,
 * told the only operations and SQE flags the loop uses, then enabled. Opening files, reading
 * arbitrary fds into memory or any register operation are refused from then on.
 */
static int ring_restrict(struct io_uring *ring)
{
	static const uint8_t ops[] = {
		IORING_OP_ACCEPT, IORING_OP_CONNECT, IORING_OP_RECV, IORING_OP_SEND,
		IORING_OP_RECVMSG, IORING_OP_SENDMSG, IORING_OP_SPLICE, IORING_OP_TIMEOUT,
		IORING_OP_LINK_TIMEOUT, IORING_OP_ASYNC_CANCEL, IORING_OP_READ, IORING_OP_POLL_ADD,
	};
	struct io_uring_restriction res[sizeof(ops) + 1] = { 0 };
	int rc;

	for (size_t i = 0; i < sizeof(ops); i++)
		res[i] = (struct io_uring_restriction){ .opcode = IORING_RESTRICTION_SQE_OP,
							.sqe_op = ops[i] };
	res[sizeof(ops)] = (struct io_uring_restriction){
		.opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED,
		.sqe_flags = IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS };
	/* Debian's liburing 2.3 declares io_uring_register_restrictions() but does not export
	 * it: the generic io_uring_register() does the same. */
	rc = io_uring_register(ring->ring_fd, IORING_REGISTER_RESTRICTIONS, res,
			       sizeof(res) / sizeof(res[0]));
	if (rc == 0)
		rc = io_uring_register(ring->ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
	return rc;
}

static int ring_init(struct worker *w)
{
	struct io_uring_params p = {
		/* Only this thread submits. COOP_TASKRUN, not DEFER_TASKRUN: task work waits for
		 * the thread's next kernel entry instead of an IPI, yet io-wq may post a splice's
		 * completion and issue the next link of a chain itself, without waking this thread
		 * for each one (fewer context switches per GiB on the kTLS path, the userspace
		 * path unchanged within noise: docs/performance.md). The loop never reads the CQ
		 * without io_uring_enter(GETEVENTS) first, so TASKRUN_FLAG would add nothing. */
		.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN |
			 IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_R_DISABLED,
		.cq_entries = RING_CQ_ENTRIES,
	};
	int rc = io_uring_queue_init_params(RING_ENTRIES, &w->ring, &p);

	if (rc == -EINVAL) {
		/* Kernels before 6.0 lack SINGLE_ISSUER (5.19 COOP_TASKRUN); the loop works the
		 * same without them. */
		p = (struct io_uring_params){ .flags = IORING_SETUP_CQSIZE | IORING_SETUP_R_DISABLED,
					      .cq_entries = RING_CQ_ENTRIES };
		rc = io_uring_queue_init_params(RING_ENTRIES, &w->ring, &p);
	}
	if (rc == 0) {
		rc = ring_restrict(&w->ring);
		if (rc < 0)
			io_uring_queue_exit(&w->ring);
	}
	return rc;
}

/* A worker's listeners: each tunnel's, then the transparent ones of tunnels that have them.
 * The worker owns their fds from here on. */
static int take_listeners(struct worker *w, struct ktun *k)
{
	size_t n = k->n_tunnels;

	for (size_t i = 0; i < k->n_tunnels; i++)
		n += k->tunnels[i].tproxy_fds && k->tunnels[i].tproxy_fds[w->id] >= 0;
	if (!n)
		return 0;
	/* Aligned: a listener is the object of its accepts (user_data.h). */
	w->listeners = aligned_alloc(USER_DATA_ALIGN, n * sizeof(*w->listeners));
	if (!w->listeners)
		return -ENOMEM;
	for (size_t i = 0; i < k->n_tunnels; i++) {
		struct tunnel *t = &k->tunnels[i];

		w->listeners[w->n_listeners++] = (struct listener){ .w = w, .t = t,
								    .fd = t->listen_fds[w->id],
								    .held_fd = -1 };
		t->listen_fds[w->id] = -1;
	}
	for (size_t i = 0; i < k->n_tunnels; i++) {
		struct tunnel *t = &k->tunnels[i];

		if (!t->tproxy_fds || t->tproxy_fds[w->id] < 0)
			continue;
		w->listeners[w->n_listeners++] = (struct listener){
			.w = w, .t = t, .fd = t->tproxy_fds[w->id], .transparent = true,
			.held_fd = -1 };
		t->tproxy_fds[w->id] = -1;
	}
	return 0;
}

int worker_init(struct worker *w, struct ktun *k, unsigned id)
{
	int rc;

	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->conns_lock, NULL);
	w->id = id;
	w->k = k;
	w->event_fd = -1;
	rc = take_listeners(w, k);
	if (rc < 0)
		return rc;
	rc = pool_init(w);
	if (rc < 0)
		return rc;
	w->event_fd = eventfd(0, EFD_CLOEXEC);
	if (w->event_fd < 0)
		return -errno;
	return 0;
}

void worker_destroy(struct worker *w)
{
	if (w->listeners)
		for (size_t i = 0; i < w->n_listeners; i++)
			if (w->listeners[i].fd >= 0)
				close(w->listeners[i].fd);
	free(w->listeners);
	pool_destroy(w);
	if (w->event_fd >= 0)
		close(w->event_fd);
	pthread_mutex_destroy(&w->conns_lock);
}

void worker_notify(struct worker *w)
{
	uint64_t one = 1;

	if (write(w->event_fd, &one, sizeof(one)) < 0)
		log_err("worker %u: eventfd write: %m", w->id);
}

/* Phase changes and the tick */

static void arm_event_read(struct worker *w)
{
	struct io_uring_sqe *sqe = ring_sqe(&w->ring);

	io_uring_prep_read(sqe, w->event_fd, &w->event_value, sizeof(w->event_value), 0);
	io_uring_sqe_set_data64(sqe, user_data_pack(w, OP_EVENT));
}

static void arm_tick(struct worker *w)
{
	struct io_uring_sqe *sqe = ring_sqe(&w->ring);

	w->tick = (struct __kernel_timespec){ .tv_sec = 1 };
	io_uring_prep_timeout(sqe, &w->tick, 0, 0);
	io_uring_sqe_set_data64(sqe, user_data_pack(w, OP_TICK));
}

static void close_all(struct worker *w, enum reason reason)
{
	struct conn *c = w->conns, *next;

	for (; c; c = next) {
		next = c->next;
		conn_close(c, reason);
	}
}

static void on_event(struct worker *w)
{
	unsigned phase = __atomic_load_n(&w->k->phase, __ATOMIC_ACQUIRE);

	if (phase >= PHASE_DRAINING && !w->draining) {
		w->draining = true;
		w->drain_started_ms = w->now_ms;
		w->drain_deadline_ms = w->now_ms + (int64_t)w->k->cfg.drain_timeout * 1000;
		for (size_t i = 0; i < w->n_listeners; i++)
			listener_close(&w->listeners[i]);
		pool_drain(w); /* they have no application to wait for */
		/* A connection that has sent no request byte (a client's pooled one) would hold the
		 * drain until request-timeout: conn_check_timers closes it after a grace. */
	}
	if (phase == PHASE_STOPPING)
		close_all(w, REASON_SHUTDOWN);
	else
		pool_refresh(w); /* a reload's contexts */
	resolve_done(w); /* the resolver wakes us through the same eventfd */
	listener_serve_held(w);
	arm_event_read(w);
}

static void on_tick(struct worker *w)
{
	struct conn *c = w->conns, *next;

	__atomic_store_n(&w->heartbeat_ms, w->now_ms, __ATOMIC_RELAXED);
	for (; c; c = next) {
		next = c->next;
		conn_check_timers(c);
		if (conn_idle(c))
			phase_idle(c);
	}
	if (w->draining && w->now_ms >= w->drain_deadline_ms)
		close_all(w, REASON_DRAIN_TIMEOUT);
	pool_refresh(w);
	listener_serve_held(w);
	for (size_t i = 0; i < w->n_listeners; i++)
		if (w->listeners[i].paused)
			listener_arm(&w->listeners[i]);
	arm_tick(w);
}

static void handle_cqe(struct worker *w, const struct io_uring_cqe *cqe)
{
	void *obj = user_data_object(cqe->user_data);
	enum op op = user_data_op(cqe->user_data);

	switch (op) {
	case OP_ACCEPT:
		listener_on_accept(obj, cqe->res);
		break;
	case OP_TICK:
		on_tick(w);
		break;
	case OP_EVENT:
		on_event(w);
		break;
	case OP_IGNORE:
		break;
	default:
		phase_on_cqe(obj, op, cqe->res);
	}
}

/* Connections held for a slot, here or on another worker (SO_REUSEPORT spreads them), may
 * take the slots freed in this batch. */
static void offer_freed_slots(struct worker *w)
{
	struct ktun *k = w->k;
	bool waiting = false;

	listener_serve_held(w);
	for (size_t i = 0; i < k->n_tunnels && !waiting; i++)
		waiting = __atomic_load_n(&k->tunnels[i].waiting, __ATOMIC_RELAXED);
	if (waiting)
		for (unsigned i = 0; i < k->n_workers; i++)
			if (&k->workers[i] != w)
				worker_notify(&k->workers[i]);
}

/* After a completion batch: free the connections that closed in it, then offer their slots. */
static void after_batch(struct worker *w)
{
	struct conn *c;

	/* A held connection served here may close at once and free a slot again; so may a
	 * pooled connection started here (its failure backs the refill off: no spin). */
	while (w->closed || w->slot_freed || w->pool_dirty) {
		while ((c = w->closed)) {
			w->closed = c->closed_next;
			if (c->pooled)
				pool_forget(c);
			conn_free(c);
		}
		if (w->slot_freed) {
			w->slot_freed = false;
			offer_freed_slots(w);
		}
		if (w->pool_dirty)
			pool_fill(w);
	}
}

static bool worker_finished(const struct worker *w)
{
	if (!w->draining || w->n_conns)
		return false;
	for (size_t i = 0; i < w->n_listeners; i++)
		if (w->listeners[i].accepting)
			return false;
	return true;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	/* A SINGLE_ISSUER ring belongs to the thread that creates it: create it here. */
	w->start_rc = ring_init(w);
	if (w->start_rc == 0)
		__atomic_add_fetch(&w->k->workers_alive, 1, __ATOMIC_RELEASE);
	sem_post(&w->started);
	if (w->start_rc < 0)
		return NULL;
	w->now_ms = coarse_ms();
	__atomic_store_n(&w->heartbeat_ms, w->now_ms, __ATOMIC_RELAXED);
	arm_event_read(w);
	arm_tick(w);
	for (size_t i = 0; i < w->n_listeners; i++)
		listener_arm(&w->listeners[i]);
	pool_refresh(w);
	while (!worker_finished(w)) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		int rc = io_uring_submit_and_wait(&w->ring, 1);

		if (rc < 0 && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN) {
			log_err("worker %u: io_uring_submit_and_wait: %s", w->id, strerror(-rc));
			break;
		}
		w->now_ms = coarse_ms();
		io_uring_for_each_cqe(&w->ring, head, cqe) {
			handle_cqe(w, cqe);
			seen++;
		}
		io_uring_cq_advance(&w->ring, seen);
		after_batch(w);
	}
	io_uring_queue_exit(&w->ring);
	__atomic_sub_fetch(&w->k->workers_alive, 1, __ATOMIC_RELEASE);
	return NULL;
}

int worker_start(struct worker *w)
{
	int rc;

	sem_init(&w->started, 0, 0);
	rc = pthread_create(&w->thread, NULL, worker_main, w);
	if (rc)
		return -rc;
	w->joinable = true;
	sem_wait(&w->started);
	sem_destroy(&w->started);
	if (w->start_rc < 0) {
		log_err("worker %u: io_uring setup: %s", w->id, strerror(-w->start_rc));
		return w->start_rc;
	}
	return 0;
}
