/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_RING_H
#define KTUN_RING_H

#include <liburing.h>

/* An SQE from ring, submitting what is queued when the queue is full. Never NULL. */
static inline struct io_uring_sqe *ring_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	while (!sqe) {
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
	}
	return sqe;
}

/* Makes room for n SQEs that must go in one submission (a linked chain: submitting between
 * its entries would end the chain early). */
static inline void ring_reserve(struct io_uring *ring, unsigned n)
{
	if (io_uring_sq_space_left(ring) < n)
		io_uring_submit(ring);
}

#endif
