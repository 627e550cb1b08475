/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_CONTROL_H
#define KTUN_CONTROL_H

struct ktun;

/* The control socket ktunctl talks to: a unix stream socket, mode 0600, one request line
 * per connection ("status", "conns", "reload", "redirect add|del|list ..."), answered and
 * closed. Served by the main thread. */
/* Longest command line a client may send, without its "\n"; a longer one is refused. */
#define CONTROL_LINE_MAX 255

int control_open(const char *path);
/* The default socket's directory (/run/ktund/), made if missing (one level) and given to user
 * (if set), so that ktund can still remove its socket at exit. The sandbox lets ktund remove files
 * in the socket's directory and nowhere else, so it must be ktund's own. */
int control_make_dir(const char *path, const char *user);
void control_serve_one(struct ktun *k, int listen_fd);
void control_close(int fd, const char *path);

#endif
