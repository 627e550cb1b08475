/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_FDLIMIT_H
#define KTUN_FDLIMIT_H

struct ktun;

/* Raises the soft RLIMIT_NOFILE to the hard limit (ktund never uses select(), so a high
 * descriptor number is harmless) and warns once if even the hard limit is below what the
 * tunnels' max-connections need. Main thread, at start-up, before any listener is opened.
 * Never fatal: returns 0 or a negative errno, logged. */
int fdlimit_raise(const struct ktun *k);

#endif
