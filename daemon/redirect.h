/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_REDIRECT_H
#define KTUN_REDIRECT_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>

#include "config.h"

/*
 * The eBPF redirector (docs/redirect.md): connects on this host and flows routed through it
 * whose destination matches a rule are steered into a client tunnel's listener.
 * redirect.c loads and attaches the programs, redirect_maps.c keeps the rules,
 * redirect_control.c runs ktunctl's redirect commands and redirect_status.c writes the status
 * lines; a build without the BPF toolchain links redirect_none.c instead.
 *
 * Threads: start, stop and the control commands run on the main thread; workers only call
 * redirect_take_orig(), which reads a map through a file descriptor fixed at start.
 */

struct ktun;
struct redirect;

enum redirect_state { REDIRECT_OFF, REDIRECT_ATTACHED, REDIRECT_UNAVAILABLE };

/* Loads the programs, re-uses the pinned rule maps and applies the configuration's rules,
 * then attaches. Main thread, after the listeners are bound and before privileges are
 * dropped. A redirector that cannot work is logged (one line per cause) and shown as
 * unavailable; the tunnels keep serving their listeners, so this only fails on -ENOMEM. */
int redirect_start(struct ktun *k);
/* Reload with --config: the file's redirect lines as they are now (next) replace those the
 * running configuration has; rules added with ktunctl stay. Main thread, after the new
 * tunnel contexts are in. Lines that cannot take effect (no redirector loaded, or the maps
 * cannot be written) are logged and leave the rules as they were. */
void redirect_reload(struct ktun *k, struct ktun_config *next);
/* Detaches everything (the pinned rule maps stay). Safe if start never ran. */
void redirect_stop(struct ktun *k);
/* Whether tunnel i gets a transparent listener for routed flows (redirect-interface set). */
bool redirect_routed_wanted(const struct ktun_config *cfg, size_t i);
/* The destination a locally redirected connection asked for, found by the accepted
 * socket's addresses and removed from the map. False if this connection was not redirected
 * by the connect hooks. Any thread. */
bool redirect_take_orig(const struct redirect *r, int fd, struct sockaddr_storage *dst, socklen_t *len);
/* `redirect add TUNNEL RULE`, `redirect del TUNNEL RULE`, `redirect list` (args without the
 * leading "redirect "); the answer, or "error: ..." , goes to out. */
void redirect_control(struct ktun *k, const char *args, FILE *out);
/* The redirect lines of `ktunctl status` for tunnel i. */
void redirect_status_write(const struct ktun *k, size_t i, FILE *out);

#endif
