// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "log.h"
#include "privs.h"

int privs_drop(const char *user)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		log_err("user %s: %s", user, errno ? strerror(errno) : "no such user");
		return errno ? -errno : -ENOENT;
	}
	if (pw->pw_uid == 0) {
		log_err("user %s is root: nothing would be dropped", user);
		return -EINVAL;
	}
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		int err = errno;

		log_err("dropping to user %s: %s", user, strerror(err));
		return -err;
	}
	if (setuid(0) == 0) {
		log_err("dropping to user %s: root could be regained", user);
		return -EPERM;
	}
	/* No new privileges through exec'd setuid binaries either (ktund execs none). */
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	log_notice("running as user %s (uid %u, gid %u)", user, (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
	return 0;
}
