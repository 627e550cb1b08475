// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "paths.h"
#include "watch.h"

/* Writers replace several files in a row (cert, then key): wait for them to settle. */
#define SETTLE_MS 500
#define WATCH_EVENTS (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | \
		      IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

/* What stat() says of a file, through symlinks: any difference means new contents. */
struct file_state {
	bool exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

struct watched_file {
	char *path;
	struct file_state state;
};

struct file_watch {
	int fd;
	struct watched_file *files;
	size_t n_files;
	int *wds;
	size_t n_wds;
	int64_t due_ms; /* end of the settling delay; -1 when none runs */
};

static struct file_state file_state_of(const char *path)
{
	struct file_state s = { 0 };
	struct stat st;

	if (stat(path, &st) < 0)
		return s;
	s.exists = true;
	s.dev = st.st_dev;
	s.ino = st.st_ino;
	s.size = st.st_size;
	s.mtime = st.st_mtim;
	s.ctime = st.st_ctim;
	return s;
}

static bool file_state_equal(const struct file_state *a, const struct file_state *b)
{
	return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

static void free_files(struct file_watch *w)
{
	for (size_t i = 0; i < w->n_files; i++)
		free(w->files[i].path);
	free(w->files);
	w->files = NULL;
	w->n_files = 0;
}

static int add_file(struct file_watch *w, const char *path)
{
	struct watched_file *files;

	if (!path || path_is_pkcs11(path))
		return 0;
	for (size_t i = 0; i < w->n_files; i++)
		if (!strcmp(w->files[i].path, path))
			return 0;
	files = realloc(w->files, (w->n_files + 1) * sizeof(*files));
	if (!files)
		return -ENOMEM;
	w->files = files;
	files[w->n_files].path = strdup(path);
	if (!files[w->n_files].path)
		return -ENOMEM;
	w->n_files++;
	return 0;
}

static int collect_files(struct file_watch *w, const struct ktun_config *cfg)
{
	int rc = add_file(w, cfg->config_file);

	for (size_t i = 0; rc == 0 && i < cfg->n_tunnels; i++) {
		const struct tunnel_config *t = &cfg->tunnels[i];

		rc = add_file(w, t->cert);
		if (rc == 0)
			rc = add_file(w, t->key);
		if (rc == 0)
			rc = add_file(w, t->cacert);
		if (rc == 0)
			rc = add_file(w, t->crl);
		if (rc == 0)
			rc = add_file(w, t->ocsp_staple);
		if (rc == 0)
			rc = add_file(w, t->ticket_key_file);
	}
	return rc;
}

static void unwatch_dirs(struct file_watch *w)
{
	for (size_t i = 0; i < w->n_wds; i++)
		inotify_rm_watch(w->fd, w->wds[i]);
	free(w->wds);
	w->wds = NULL;
	w->n_wds = 0;
}

/* Watches the directory holding path. inotify gives one wd per directory, so a directory
 * named by several files (or by a path and its symlink target) is watched once. */
static int watch_dir_of(struct file_watch *w, const char *path)
{
	char dir[PATH_MAX];
	int wd, *wds;

	path_dir_of(path, dir);
	wd = inotify_add_watch(w->fd, dir, WATCH_EVENTS | IN_ONLYDIR);
	if (wd < 0) {
		int err = errno; /* the log's write may change errno */

		log_warn("cannot watch %s for changes to %s: %s (reload with SIGHUP instead)", dir, path,
			 strerror(err));
		return -err;
	}
	for (size_t i = 0; i < w->n_wds; i++)
		if (w->wds[i] == wd)
			return 0;
	wds = realloc(w->wds, (w->n_wds + 1) * sizeof(*wds));
	if (!wds)
		return -ENOMEM;
	w->wds = wds;
	wds[w->n_wds++] = wd;
	return 0;
}

/* Both where the file is named and, for a symlink (certbot's live/ -> archive/), where it is. */
static void watch_dirs(struct file_watch *w)
{
	for (size_t i = 0; i < w->n_files; i++) {
		char *real = realpath(w->files[i].path, NULL);

		watch_dir_of(w, w->files[i].path);
		if (real && strcmp(real, w->files[i].path))
			watch_dir_of(w, real);
		free(real);
	}
}

static void take_baseline(struct file_watch *w)
{
	for (size_t i = 0; i < w->n_files; i++)
		w->files[i].state = file_state_of(w->files[i].path);
}

int watch_refresh(struct file_watch *w, const struct ktun_config *cfg)
{
	int rc = 0;

	if (cfg) {
		unwatch_dirs(w);
		free_files(w);
		rc = collect_files(w, cfg);
		if (rc < 0) {
			log_err("watching files: %s", strerror(-rc));
			return rc;
		}
		watch_dirs(w);
	}
	take_baseline(w);
	w->due_ms = -1;
	return rc;
}

int watch_open(const struct ktun_config *cfg, struct file_watch **out)
{
	struct file_watch *w = calloc(1, sizeof(*w));
	int rc;

	if (!w)
		return -ENOMEM;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		rc = -errno;
		log_warn("inotify: %s: files are reloaded on SIGHUP only", strerror(-rc));
		free(w);
		return rc;
	}
	rc = watch_refresh(w, cfg);
	if (rc < 0) {
		watch_close(w);
		return rc;
	}
	*out = w;
	return 0;
}

void watch_close(struct file_watch *w)
{
	if (!w)
		return;
	free_files(w);
	free(w->wds);
	close(w->fd);
	free(w);
}

int watch_fd(const struct file_watch *w)
{
	return w->fd;
}

void watch_read(struct file_watch *w, int64_t now_ms)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool any = false;

	/* Which file an event names does not matter: stat() decides once things settle. */
	while (read(w->fd, buf, sizeof(buf)) > 0)
		any = true;
	if (any)
		w->due_ms = now_ms + SETTLE_MS;
}

int watch_timeout_ms(const struct file_watch *w, int64_t now_ms)
{
	if (w->due_ms < 0)
		return -1;
	return w->due_ms > now_ms ? (int)(w->due_ms - now_ms) : 0;
}

bool watch_change_due(struct file_watch *w, int64_t now_ms)
{
	if (w->due_ms < 0 || now_ms < w->due_ms)
		return false;
	w->due_ms = -1;
	for (size_t i = 0; i < w->n_files; i++) {
		struct file_state now = file_state_of(w->files[i].path);

		if (!file_state_equal(&now, &w->files[i].state)) {
			log_notice("%s changed on disk: reloading", w->files[i].path);
			return true;
		}
	}
	return false;
}
