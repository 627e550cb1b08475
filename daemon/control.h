/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_CONTROL_H
#define KTUN_CONTROL_H

struct ktun;

/* The control socket ktunctl talks to: a unix stream socket, mode 0600, one request line
 * per connection ("status", "conns", "reload", "redirect add|del|list ..."), answered and
 * closed. Served by the main thread. */
/* Longest command line a client may send, without its "\n" or "\r\n"; a longer one, or one
 * holding a NUL or other control character, is refused whole. */
#define CONTROL_LINE_MAX 255

int control_open(const char *path);
/* The default socket's directory (/run/ktund/), made if missing (one level, mode 0755).
 * Returns -errno, logged, if it cannot be: ktund then runs without a control socket. */
int control_make_dir(const char *path);
/* Then the directory as it is, not through a symbolic link, given to user (if set) so that
 * ktund can still remove its socket at exit: the sandbox lets ktund remove files there and
 * nowhere else, so it must be ktund's own. A directory that is a symbolic link, someone
 * else's (neither root's nor ktund's user's) or writable by its group or others is refused
 * (-EPERM), as is one that cannot be checked or given (-errno): logged, and ktund must not
 * start. */
int control_own_dir(const char *path, const char *user);
void control_serve_one(struct ktun *k, int listen_fd);
void control_close(int fd, const char *path);

#endif
