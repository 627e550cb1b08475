/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_SANDBOX_H
#define KTUN_SANDBOX_H

struct ktun;

/* With sandbox = yes (the default). Landlock: files read-only, and only in the directories of
 * the files a reload reads; for the calling thread and the threads it starts later, so call it
 * before any thread starts. Returns 0 (also when the kernel has no Landlock, which is said
 * once) or a negative errno (logged). */
int sandbox_files_apply(const struct ktun *k);
/* seccomp: only the system calls ktund makes once it serves, for every thread. After the
 * last thread has started. Returns 0 or a negative errno (logged). */
int sandbox_syscalls_apply(const struct ktun *k);

#endif
