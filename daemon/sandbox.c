// SPDX-License-Identifier: GPL-2.0-only
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <netdb.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/landlock.h>
#include <seccomp.h>

#include "daemon.h"
#include "log.h"
#include "paths.h"
#include "sandbox.h"

/*
 * Once every socket is bound and the privileges are dropped, ktund narrows what it can do:
 *   - Landlock: files may only be read, and only in the directories holding the files a
 *     reload reads (certificates, keys, CAs, CRLs, OCSP responses, the configuration file)
 *     and the resolver's files and NSS modules (a reload resolves the addresses again).
 *     Nothing may be written, created or executed anywhere, nor removed outside the control
 *     socket's directory.
 *   - seccomp: only the system calls the loop, the control socket, reloads and the metrics
 *     thread make; anything else fails with EPERM (no exec, no ptrace, no new mounts...).
 * The rings' own operations are restricted where they are created (worker.c).
 */

/* AddressSanitizer builds (tools/dev/test-asan.sh): LeakSanitizer stops the world at exit with
 * clone and ptrace, which the filter refuses, and reads /proc/self/task and maps, which
 * Landlock would hide. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZER_BUILD 1
#endif
#endif

#define READ_RIGHTS (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)

static bool files_confined;

/* Landlock has no glibc wrapper in Debian 12 (no libc or packaged library provides one). */
static int landlock_create_ruleset(const struct landlock_ruleset_attr *attr, size_t size,
				   unsigned flags)
{
	return (int)syscall(SYS_landlock_create_ruleset, attr, size, flags);
}

static int landlock_add_rule(int fd, enum landlock_rule_type type, const void *attr, unsigned flags)
{
	return (int)syscall(SYS_landlock_add_rule, fd, type, attr, flags);
}

static int landlock_restrict_self(int fd, unsigned flags)
{
	return (int)syscall(SYS_landlock_restrict_self, fd, flags);
}

/* Every filesystem right that ABI version abi knows: all of them are denied unless a rule
 * grants them. */
static __u64 handled_rights(int abi)
{
	__u64 rights = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* ABI 1: EXECUTE .. MAKE_SYM */

	if (abi >= 2)
		rights |= LANDLOCK_ACCESS_FS_REFER;
#ifdef LANDLOCK_ACCESS_FS_TRUNCATE
	if (abi >= 3)
		rights |= LANDLOCK_ACCESS_FS_TRUNCATE;
#endif
	return rights;
}

/* rights on path (open with oflags) and, for a directory, everything beneath it. */
static int allow_path(int ruleset, const char *path, int oflags, __u64 rights)
{
	struct landlock_path_beneath_attr rule = { .allowed_access = rights };
	int rc = 0;

	rule.parent_fd = open(path, O_PATH | O_CLOEXEC | oflags);
	if (rule.parent_fd < 0)
		return -errno;
	if (landlock_add_rule(ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) < 0)
		rc = -errno;
	close(rule.parent_fd);
	return rc;
}

static int allow_in_dir_of(int ruleset, const char *path, __u64 rights)
{
	char dir[PATH_MAX];

	path_dir_of(path, dir);
	return allow_path(ruleset, dir, O_DIRECTORY, rights);
}

/* The named path's directory and, for a symlink, its target's (certbot, Kubernetes). */
static int allow_file(int ruleset, const char *path)
{
	char *real;
	int rc;

	if (!path || path_is_pkcs11(path))
		return 0;
	rc = allow_in_dir_of(ruleset, path, READ_RIGHTS);
	real = realpath(path, NULL);
	if (rc == 0 && real && strcmp(real, path))
		rc = allow_in_dir_of(ruleset, real, READ_RIGHTS);
	free(real);
	return rc;
}

/* A reload re-resolves every listen and target name (getaddrinfo: hosts file, DNS). Rules
 * hold inodes: a resolver file replaced by a rename after start-up (systemd-resolved's
 * stub file, an editor's save) is not covered; a name that then fails to resolve keeps its
 * running address (config_validate.c), with a warning. */
static const char *const resolver_files[] = {
	"/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf",
};

static int allow_resolver_files(int ruleset)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < sizeof(resolver_files) / sizeof(resolver_files[0]); i++) {
		rc = allow_path(ruleset, resolver_files[i], 0, LANDLOCK_ACCESS_FS_READ_FILE);
		if (rc == -ENOENT) /* a system without it does not need it */
			rc = 0;
	}
	return rc;
}

/* A reload's lookup may be the first to reach an NSS module named in nsswitch.conf
 * (myhostname, resolve, mdns...): glibc then loads it, through ld.so.cache, from beside libc.
 * Libraries hold nothing secret. */
static int allow_nss_modules(int ruleset)
{
	Dl_info libc;
	int rc = allow_path(ruleset, "/etc/ld.so.cache", 0, LANDLOCK_ACCESS_FS_READ_FILE);

	if (rc == -ENOENT)
		rc = 0;
	if (rc == 0 && dladdr((void *)getaddrinfo, &libc) && libc.dli_fname &&
	    libc.dli_fname[0] == '/')
		rc = allow_file(ruleset, libc.dli_fname);
	return rc;
}

static int add_file_rules(int ruleset, const struct ktun_config *cfg)
{
	/* A clean exit removes the control socket: files may be removed in its directory and
	 * nowhere else. The default one, /run/ktund/, is ktund's own (control.c, systemd's
	 * RuntimeDirectory=), not /run, where anything could then have been removed. */
	int rc = allow_in_dir_of(ruleset, config_control_path(cfg), LANDLOCK_ACCESS_FS_REMOVE_FILE);

	if (rc == 0)
		rc = allow_file(ruleset, cfg->config_file);
	if (rc == 0)
		rc = allow_resolver_files(ruleset);
	if (rc == 0)
		rc = allow_nss_modules(ruleset);
#ifdef SANITIZER_BUILD
	if (rc == 0)
		rc = allow_in_dir_of(ruleset, "/proc/self", READ_RIGHTS);
#endif
	for (size_t i = 0; rc == 0 && i < cfg->n_tunnels; i++) {
		const struct tunnel_config *t = &cfg->tunnels[i];
		const char *files[] = { t->cert, t->key, t->cacert, t->crl, t->ocsp_staple,
					t->ticket_key_file };

		for (size_t f = 0; rc == 0 && f < sizeof(files) / sizeof(files[0]); f++)
			rc = allow_file(ruleset, files[f]);
	}
	return rc;
}

/* A PKCS#11 module reads its token's store (SoftHSM2's object files, a vendor's
 * configuration) on every signature, at paths only the module knows. */
static const char *pkcs11_tunnel(const struct ktun_config *cfg)
{
	for (size_t i = 0; i < cfg->n_tunnels; i++)
		if (path_is_pkcs11(cfg->tunnels[i].key))
			return cfg->tunnels[i].name;
	return NULL;
}

/* Applies to the calling thread and the threads it starts afterwards. */
static int sandbox_files(const struct ktun_config *cfg)
{
	int abi = landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	const char *token_user = pkcs11_tunnel(cfg);
	struct landlock_ruleset_attr attr;
	int ruleset, rc;

	if (token_user) {
		log_notice("sandbox: files are not confined: [%s] signs with a PKCS#11 key, whose "
			   "module reads files ktund cannot name", token_user);
		return 0;
	}
	if (abi < 0) {
		log_notice("sandbox: this kernel has no Landlock (%s): files are not confined",
			   strerror(errno));
		return 0;
	}
	attr = (struct landlock_ruleset_attr){ .handled_access_fs = handled_rights(abi) };
	ruleset = landlock_create_ruleset(&attr, sizeof(attr), 0);
	if (ruleset < 0) {
		rc = -errno;
		log_err("sandbox: Landlock ruleset: %s", strerror(-rc));
		return rc;
	}
	rc = add_file_rules(ruleset, cfg);
	/* restrict_self needs no_new_privs (or CAP_SYS_ADMIN): ktund never execs anyway. */
	if (rc == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		rc = -errno;
	if (rc == 0 && landlock_restrict_self(ruleset, 0) < 0)
		rc = -errno;
	close(ruleset);
	if (rc < 0)
		log_err("sandbox: Landlock: %s", strerror(-rc));
	files_confined = rc == 0;
	return rc;
}

/* What ktund calls once it serves: the loop, reloads (GnuTLS reading files), the control
 * socket, inotify, the metrics thread (libmicrohttpd), sd_notify, malloc and threads that
 * already exist. No clone, execve, ptrace, mount, open_by_handle_at, keyctl, ... */
static const char *const allowed[] = {
	"read", "readv", "pread64", "write", "writev", "close", "openat", "newfstatat", "fstat",
	"statx", "lseek", "readlink", "readlinkat", "getcwd", "fcntl", "ioctl", "pipe2", "unlink",
	"mmap", "munmap", "mremap", "mprotect", "madvise", "brk",
	"futex", "set_robust_list", "rseq", "sched_yield", "sched_getaffinity",
	"rt_sigprocmask", "rt_sigreturn", "rt_sigaction", "sigaltstack", "restart_syscall",
	"exit", "exit_group", "getpid", "gettid", "tgkill", "getuid", "geteuid", "getgid", "getegid",
	"getrandom", "clock_gettime", "clock_nanosleep", "nanosleep", "gettimeofday", "uname",
	"io_uring_enter",
	"socket", "connect", "accept", "accept4", "setsockopt", "getsockopt", "getsockname",
	"getpeername", "shutdown", "sendto", "sendmsg", "recvfrom", "recvmsg",
	/* A reload's getaddrinfo: glibc sends the A and AAAA queries at once (UDP; TCP when the
	 * answer is truncated uses the calls above). Not bind: glibc's netlink query for the local
	 * addresses (__check_pf) is refused and it then orders several addresses without them. */
	"sendmmsg",
	"poll", "ppoll", "select", "pselect6", "epoll_create1", "epoll_ctl", "epoll_wait",
	"epoll_pwait", "inotify_add_watch", "inotify_rm_watch",
	"getdents64", /* a PKCS#11 module (SoftHSM2) listing its token's store on a reload */
};

/* With a token key: a module initialized again (pkcs11.h) looks for its configuration and
 * rewrites a file of its store (SoftHSM2). */
static const char *const allowed_pkcs11[] = { "access", "ftruncate" };
#define N_PKCS11 (sizeof(allowed_pkcs11) / sizeof(allowed_pkcs11[0]))

static int allow_names(scmp_filter_ctx f, const char *const *names, size_t n)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);

		/* A name this architecture lacks (select on arm64, say) is simply not there. */
		if (nr != __NR_SCMP_ERROR)
			rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 0);
	}
	return rc;
}

static int sandbox_syscalls(bool bpf, bool pkcs11)
{
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int rc = f ? 0 : -ENOMEM;

	/* Every thread, the workers and libmicrohttpd's included, gets the filter at once. */
	if (rc == 0)
		rc = seccomp_attr_set(f, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc == 0)
		rc = allow_names(f, allowed, sizeof(allowed) / sizeof(allowed[0]));
	if (rc == 0 && pkcs11)
		rc = allow_names(f, allowed_pkcs11, N_PKCS11);
	/* ktunctl redirect add/del writes the rule maps. */
	if (rc == 0 && bpf)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(bpf), 0);
	if (rc == 0)
		rc = seccomp_load(f);
	if (f)
		seccomp_release(f);
	if (rc < 0)
		log_err("sandbox: seccomp: %s", strerror(-rc));
	return rc;
}

int sandbox_files_apply(const struct ktun *k)
{
	return k->cfg.sandbox ? sandbox_files(&k->cfg) : 0;
}

static const char *files_state(void)
{
	return files_confined ? "files read-only in the certificate and configuration directories"
			      : "files not confined";
}

int sandbox_syscalls_apply(const struct ktun *k)
{
	bool pkcs11 = pkcs11_tunnel(&k->cfg) != NULL;
	int rc;

	if (!k->cfg.sandbox)
		return 0;
#ifdef SANITIZER_BUILD
	log_notice("sandbox: %s; no seccomp filter in this AddressSanitizer build (its leak check "
		   "needs ptrace at exit)", files_state());
	return 0;
#endif
	rc = sandbox_syscalls(k->redirect != NULL, pkcs11);
	if (rc == 0)
		log_notice("sandbox: %s; %zu system calls allowed", files_state(),
			   sizeof(allowed) / sizeof(allowed[0]) + (k->redirect != NULL) +
				   (pkcs11 ? N_PKCS11 : 0));
	return rc;
}
