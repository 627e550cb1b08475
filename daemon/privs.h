/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_PRIVS_H
#define KTUN_PRIVS_H

/* Switches the whole process to an unprivileged user once sockets are bound: supplementary
 * groups cleared, gid then uid set, and checked that root cannot be regained. Returns 0 or a
 * negative errno, logging why. */
int privs_drop(const char *user);

#endif
