/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_WATCH_H
#define KTUN_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

/*
 * Reload when the files the tunnels load change on disk: certificates, keys, CA bundles, CRLs
 * and the configuration file. The directories holding them are watched with inotify, so an
 * atomic rename (cert-manager, SPIRE, certbot's symlinks, a Kubernetes secret's ..data swap)
 * is seen like a rewrite in place. An event only arms a short settling delay; then the files
 * are stat()ed and a reload is due only if one of them is really different. Main thread only.
 */
struct file_watch;

/* Starts watching the files cfg names. Returns 0 or a negative errno (logged). */
int watch_open(const struct ktun_config *cfg, struct file_watch **out);
void watch_close(struct file_watch *w);
/* The inotify fd to poll for POLLIN. */
int watch_fd(const struct file_watch *w);
/* Reads pending events; a relevant one (re)starts the settling delay. */
void watch_read(struct file_watch *w, int64_t now_ms);
/* Milliseconds until the settling delay ends (for a poll timeout), or -1 if none is running. */
int watch_timeout_ms(const struct file_watch *w, int64_t now_ms);
/* True, once, when the delay has ended and a watched file differs from the last reload. */
bool watch_change_due(struct file_watch *w, int64_t now_ms);
/* After a reload: watch what cfg names now (NULL: the same files) and take their state as
 * the new baseline, so a broken file is not reloaded again until it changes. */
int watch_refresh(struct file_watch *w, const struct ktun_config *cfg);

#endif
