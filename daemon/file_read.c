// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_read.h"

/* Called from the main thread (start-up, reloads) and from --check. The one state: the user
 * ktund drops to, set once before the first file is read. */
static struct {
	bool set;
	uid_t uid;
	gid_t gid;
} service;

void file_read_service_user(uid_t uid, gid_t gid)
{
	service.set = true;
	service.uid = uid;
	service.gid = gid;
}

static const char *file_type(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFIFO: return "a FIFO";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFSOCK: return "a socket";
	default: return "not a file";
	}
}

/* Refuses what is no regular file of at most max bytes, from its stat. */
static int check_regular(const struct stat *st, size_t max, char *why, size_t whylen)
{
	if (S_ISDIR(st->st_mode)) {
		snprintf(why, whylen, "%s", strerror(EISDIR));
		return -EISDIR;
	}
	if (!S_ISREG(st->st_mode)) {
		snprintf(why, whylen, "not a regular file (%s)", file_type(st->st_mode));
		return -EINVAL;
	}
	if ((unsigned long long)st->st_size > max) {
		snprintf(why, whylen, "larger than %zu bytes (%lld)", max, (long long)st->st_size);
		return -EFBIG;
	}
	return 0;
}

/* The type is checked before the open, since opening some devices does something
 * (/dev/watchdog arms the watchdog), and again on the open file, which must be the one that
 * was checked. O_NONBLOCK: a FIFO swapped in meanwhile must not wait for a writer.
 * O_NOCTTY: a terminal named as a file must not become ours. */
static int open_regular(const char *path, size_t max, struct stat *opened, char *why,
			size_t whylen)
{
	struct stat before, st;
	int fd, rc;

	if (stat(path, &before) < 0) {
		rc = -errno;
		snprintf(why, whylen, "%s", strerror(-rc));
		return rc;
	}
	rc = check_regular(&before, max, why, whylen);
	if (rc < 0)
		return rc;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		snprintf(why, whylen, "%s", strerror(-rc));
	} else if (st.st_dev != before.st_dev || st.st_ino != before.st_ino) {
		rc = -EAGAIN;
		snprintf(why, whylen, "replaced while it was opened");
	} else {
		rc = check_regular(&st, max, why, whylen);
	}
	if (rc < 0) {
		if (fd >= 0)
			close(fd);
		return rc;
	}
	*opened = st;
	return fd;
}

/* A larger buffer for the same bytes; the old one is wiped, since it may hold a key. */
static unsigned char *grow(unsigned char *buf, size_t len, size_t cap)
{
	unsigned char *grown = malloc(cap + 1);

	if (grown)
		memcpy(grown, buf, len);
	explicit_bzero(buf, len);
	free(buf);
	return grown;
}

/* Reads to the end, never more than max + 1 bytes: st_size is only a hint (procfs files say
 * 0, and a file may grow while it is read). */
static int read_all(int fd, size_t max, size_t hint, struct file_data *out, char *why,
		    size_t whylen)
{
	size_t cap = (hint < max ? hint : max) + 1, len = 0;
	unsigned char *buf = malloc(cap + 1);
	int rc = 0;

	while (buf && rc == 0) {
		ssize_t n = read(fd, buf + len, cap - len);

		if (n < 0 && errno != EINTR)
			rc = -errno;
		if (n <= 0) {
			if (n == 0)
				break; /* end of file */
			continue;
		}
		len += (size_t)n;
		if (len > max)
			rc = -EFBIG;
		else if (len == cap) {
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			buf = grow(buf, len, cap);
		}
	}
	if (!buf)
		rc = -ENOMEM;
	if (rc < 0) {
		if (rc == -EFBIG)
			snprintf(why, whylen, "larger than %zu bytes", max);
		else
			snprintf(why, whylen, "%s", strerror(-rc));
		if (buf)
			explicit_bzero(buf, len);
		free(buf);
		return rc;
	}
	buf[len] = '\0';
	out->data = buf;
	out->len = len;
	return 0;
}

/* A secret's file: owned by root or the service user (whoever owns it can replace it), and
 * readable by no one else, except the service user's group where ktund drops to a user: root
 * reads it at start, that user on every reload (mode 0640, root:GROUP). */
static int check_private(const struct stat *st, char *why, size_t whylen)
{
	mode_t mode = st->st_mode & 07777;
	bool group_ok = service.set && st->st_gid == service.gid;

	if (st->st_uid != 0 && st->st_uid != geteuid() && !(service.set && st->st_uid == service.uid)) {
		snprintf(why, whylen, "owned by uid %u: must be owned by root or the service user",
			 (unsigned)st->st_uid);
		return -EPERM;
	}
	if ((mode & 027) || ((mode & 040) && !group_ok)) {
		snprintf(why, whylen, "mode %04o: readable or writable by %s (chmod 600, or 640 with "
			 "the group of the user ktund runs as)", (unsigned)mode,
			 mode & 007 ? "others" : "its group");
		return -EPERM;
	}
	return 0;
}

static int read_file(const char *path, size_t max, bool private, struct file_data *out,
		     char *why, size_t whylen)
{
	struct stat st = { 0 };
	int fd = open_regular(path, max, &st, why, whylen), rc;

	out->data = NULL;
	out->len = 0;
	if (fd < 0)
		return fd;
	/* Checked on the open file, the one that is read. */
	rc = private ? check_private(&st, why, whylen) : 0;
	if (rc == 0)
		rc = read_all(fd, max, (size_t)st.st_size, out, why, whylen);
	close(fd);
	return rc;
}

int file_read_bounded(const char *path, size_t max, struct file_data *out, char *why,
		      size_t whylen)
{
	return read_file(path, max, false, out, why, whylen);
}

int file_read_private(const char *path, size_t max, struct file_data *out, char *why,
		      size_t whylen)
{
	return read_file(path, max, true, out, why, whylen);
}

void file_data_free(struct file_data *f)
{
	if (f->data) {
		explicit_bzero(f->data, f->len);
		free(f->data);
	}
	f->data = NULL;
	f->len = 0;
}
