// SPDX-License-Identifier: GPL-2.0-only
/* file_read_bounded: regular files whole, up to the limit; devices, FIFOs, directories and
 * larger files refused at once with the reason. */
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "file_read.h"

static char tmpdir[PATH_MAX], path[PATH_MAX + 16];
static char why[256];

static const char *write_file(const char *name, size_t len)
{
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	for (size_t i = 0; f && i < len; i++)
		fputc('a' + (int)(i % 26), f);
	if (!f || fclose(f)) {
		perror(path);
		exit(EXIT_FAILURE);
	}
	return path;
}

static int read_path(const char *p, size_t max, struct file_data *f)
{
	why[0] = '\0';
	return file_read_bounded(p, max, f, why, sizeof(why));
}

static void test_regular(void)
{
	struct file_data f;

	CHECK(read_path(write_file("ten", 10), 10, &f) == 0);
	CHECK(f.len == 10 && f.data && f.data[10] == '\0');
	CHECK_STR((char *)f.data, "abcdefghij");
	file_data_free(&f);
	CHECK(!f.data && f.len == 0);
	CHECK(read_path(write_file("empty", 0), 10, &f) == 0);
	CHECK(f.len == 0 && f.data && f.data[0] == '\0');
	file_data_free(&f);
	unlink(write_file("ten", 0));
	unlink(path);
}

/* Exactly the limit reads; one byte more does not, whatever st_size says. */
static void test_limit(void)
{
	struct file_data f;

	CHECK(read_path(write_file("big", 4096), 4096, &f) == 0 && f.len == 4096);
	file_data_free(&f);
	CHECK(read_path(write_file("big", 4097), 4096, &f) == -EFBIG);
	CHECK_CONTAINS(why, "larger than 4096 bytes");
	CHECK(!f.data);
	unlink(path);
	/* procfs files have st_size 0: read to the end, bounded all the same. */
	CHECK(read_path("/proc/self/status", 1 << 20, &f) == 0 && f.len > 100);
	CHECK(f.data && strstr((char *)f.data, "Name:"));
	file_data_free(&f);
	CHECK(read_path("/proc/self/status", 64, &f) == -EFBIG);
}

static void test_not_regular(void)
{
	struct file_data f;

	CHECK(read_path("/dev/zero", 1 << 20, &f) == -EINVAL);
	CHECK_STR(why, "not a regular file (a character device)");
	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	CHECK(mkfifo(path, 0600) == 0);
	CHECK(read_path(path, 1 << 20, &f) == -EINVAL); /* at once: no writer is waited for */
	CHECK_STR(why, "not a regular file (a FIFO)");
	unlink(path);
	CHECK(read_path(tmpdir, 1 << 20, &f) == -EISDIR);
	CHECK_STR(why, strerror(EISDIR));
	snprintf(path, sizeof(path), "%s/absent", tmpdir);
	CHECK(read_path(path, 1 << 20, &f) == -ENOENT);
	CHECK_STR(why, strerror(ENOENT));
	CHECK(!f.data && f.len == 0);
}

/* A secret (ticket-key-file): only its owner may read or write it, checked on the open file. */
static void test_private(void)
{
	struct file_data f;

	write_file("secret", 64);
	CHECK(chmod(path, 0600) == 0);
	CHECK(file_read_private(path, 64, &f, why, sizeof(why)) == 0 && f.len == 64);
	file_data_free(&f);
	CHECK(chmod(path, 0400) == 0);
	CHECK(file_read_private(path, 64, &f, why, sizeof(why)) == 0);
	file_data_free(&f);
	CHECK(chmod(path, 0640) == 0);
	CHECK(file_read_private(path, 64, &f, why, sizeof(why)) == -EPERM && !f.data);
	CHECK_CONTAINS(why, "mode 0640: readable or writable by its group");
	CHECK(chmod(path, 0602) == 0);
	CHECK(file_read_private(path, 64, &f, why, sizeof(why)) == -EPERM);
	CHECK_CONTAINS(why, "mode 0602: readable or writable by others");
	/* With a service user: its group may read (reloads run as it), never write. */
	file_read_service_user(4242, getegid());
	CHECK(chmod(path, 0640) == 0);
	CHECK(file_read_private(path, 64, &f, why, sizeof(why)) == 0 && f.len == 64);
	file_data_free(&f);
	CHECK(chmod(path, 0660) == 0);
	CHECK(file_read_private(path, 64, &f, why, sizeof(why)) == -EPERM);
	CHECK(chmod(path, 0644) == 0);
	CHECK(file_read_private(path, 64, &f, why, sizeof(why)) == -EPERM);
	/* The owner: root, ktund's own user or the service user; anyone else could replace it. */
	CHECK(chmod(path, 0600) == 0);
	if (geteuid() == 0) {
		CHECK(chown(path, 4242, (gid_t)-1) == 0);
		CHECK(file_read_private(path, 64, &f, why, sizeof(why)) == 0);
		file_data_free(&f);
		CHECK(chown(path, 4343, (gid_t)-1) == 0);
		CHECK(file_read_private(path, 64, &f, why, sizeof(why)) == -EPERM && !f.data);
		CHECK_CONTAINS(why, "owned by uid 4343");
	}
	/* The plain reader does not care. */
	CHECK(read_path(path, 64, &f) == 0);
	file_data_free(&f);
	unlink(path);
}

int main(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/ktun-test-file_read-XXXXXX", base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	RUN(test_regular);
	RUN(test_limit);
	RUN(test_not_regular);
	RUN(test_private);
	rmdir(tmpdir);
	return check_result();
}
