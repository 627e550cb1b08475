/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_FILE_READ_H
#define KTUN_FILE_READ_H

#include <stddef.h>
#include <sys/types.h>

/* Every file ktund reads (configuration, certificates, keys, CA bundles, CRLs, OCSP
 * responses) is read whole through file_read_bounded(): a regular file of at most a known
 * size, so that a device (/dev/zero), a FIFO or a huge file is an error naming the file,
 * never a hang or an out-of-memory kill. */

#define FILE_MAX_PEM (1u << 20)  /* certificate, key, CA bundle, OCSP response: 1 MiB */
#define FILE_MAX_CONFIG (1u << 20) /* the --config file: 1 MiB */
#define FILE_MAX_CRL (16u << 20) /* a CRL lists every revoked serial: 16 MiB */

struct file_data {
	unsigned char *data; /* NUL-terminated: data[len] == 0 */
	size_t len;
};

/* Reads path, which must be a regular file of at most max bytes. Returns 0 with out filled,
 * or a negative errno with why filled ("Is a directory", "not a regular file (a FIFO)",
 * "larger than 1048576 bytes", strerror(errno)); the caller names the file and logs it. */
int file_read_bounded(const char *path, size_t max, struct file_data *out, char *why,
		      size_t whylen);
/* The same for a secret shared with no one: also refuses (-EPERM, why "mode 0644: ..." or
 * "owned by uid N: ...") a file owned by anyone but root, ktund's user or the service user, or
 * whose mode lets others in at all, or its group in, unless read-only for the service user's
 * group. */
int file_read_private(const char *path, size_t max, struct file_data *out, char *why,
		      size_t whylen);
/* The user ktund drops privileges to (--user): its uid may own private files, its group may
 * read them. Set once, before any file is read. */
void file_read_service_user(uid_t uid, gid_t gid);
/* Wipes and frees: a key's bytes do not stay behind on the heap. Safe on a zeroed one. */
void file_data_free(struct file_data *f);

#endif
