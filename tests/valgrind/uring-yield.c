// SPDX-License-Identifier: GPL-2.0-only
/* LD_PRELOAD for ktund under valgrind before 3.21 only (valgrind-cycle.sh decides).
 *
 * Valgrind runs one guest thread at a time, and before 3.21 it does not count io_uring_enter
 * among the system calls that may block (https://bugs.kde.org/show_bug.cgi?id=463859): a
 * worker waiting in its ring keeps valgrind's lock, so the main thread never runs — ktund is
 * never "ready", never sees a signal. This replaces liburing's io_uring_submit_and_wait()
 * (ktund's only wait) by a submit, then reaping without waiting and short sleeps in between:
 * valgrind lets other threads run during nanosleep. Same completions, at most 2 ms later. */
#include <liburing.h>
#include <time.h>

int io_uring_submit_and_wait(struct io_uring *ring, unsigned wait_nr)
{
	const struct timespec nap = { .tv_nsec = 2 * 1000 * 1000 };
	int rc = io_uring_submit_and_get_events(ring);

	while (rc >= 0 && io_uring_cq_ready(ring) < wait_nr) {
		int got;

		nanosleep(&nap, NULL);
		got = io_uring_get_events(ring);
		if (got < 0)
			return got;
	}
	return rc;
}
