// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mntent.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "daemon.h"
#include "log.h"
#include "redirect_internal.h"
#include "redirect_connect.skel.h"
#include "redirect_tc.skel.h"

/*
 * Loading and attaching the redirector's programs: the only file that includes their
 * skeletons. Two objects share the pinned rule maps (libbpf re-uses a pin of the same
 * shape, or creates and pins it): the connect hooks (bpf/redirect_connect.bpf.c) on a
 * cgroup, the tc program (bpf/redirect_tc.bpf.c) on redirect-interface. Both are links that
 * die with the process, except the clsact filter used where the kernel has no tcx, which stop
 * removes. Every failure is logged once, here, and leaves that hook unavailable (nothing of it
 * attached): the tunnels work on without it.
 */

#define DEFAULT_PIN_DIR "/sys/fs/bpf/ktun"
/* tcx (Linux 6.6): a BPF link on the interface's ingress, gone with the process like the
 * cgroup links. Newer than the UAPI headers we build against, hence the number. */
#define ATTACH_TCX_INGRESS 46
/* Older kernels: a filter on the clsact ingress hook, which outlives the process. A fixed
 * handle, so that a restart replaces the filter a killed ktund left instead of adding one. */
#define TC_HANDLE 0x4b54
#define TC_PRIORITY 1

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n;

	/* libbpf explains failures at length (verifier logs): kept for debug; the reason the
	 * operator needs is in our own line. */
	if (!log_enabled(LOG_DEBUG))
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	log_debug("%s", line); /* libbpf says "libbpf: " itself */
	return 0;
}

#define NEED_PRIVILEGE "loading BPF programs needs root (CAP_BPF and CAP_NET_ADMIN)"

static const char *load_error(int err)
{
	return err == EPERM || err == EACCES ? NEED_PRIVILEGE : strerror(err);
}

/* Asked before anything else, so that an unprivileged ktund says that, and not what it
 * first trips over (a pin directory it may not open). CAP_SYS_ADMIN covers both. */
static bool may_load_bpf(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct caps[2] = { 0 };

	if (syscall(SYS_capget, &hdr, caps) < 0)
		return true; /* the load will tell */
#define HAS(cap) (caps[(cap) / 32].effective & (1u << ((cap) % 32)))
	return HAS(CAP_SYS_ADMIN) || (HAS(CAP_BPF) && HAS(CAP_NET_ADMIN));
#undef HAS
}

/* The pin directory must be on a bpf filesystem; it is created if its parent is one. Held
 * with an exclusive flock, since two ktunds sharing one would overwrite each other's
 * namespace, pid and tunnel entries. */
static int open_pin_dir(struct redirect *r, const char *dir)
{
	char parent[PATH_MAX], *slash;
	struct statfs fs;

	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	if (statfs(access(dir, F_OK) == 0 ? dir : parent, &fs) < 0 || fs.f_type != BPF_FS_MAGIC) {
		log_err("redirect unavailable: bpf-pin-dir %s is not on a bpf filesystem "
			"(mount one: mount -t bpf bpf /sys/fs/bpf)", dir);
		return -ENOTDIR;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		int err = errno;

		log_err("redirect unavailable: bpf-pin-dir %s: %s", dir, strerror(err));
		return -err;
	}
	r->pin_dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->pin_dir_fd < 0 || flock(r->pin_dir_fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;

		log_err("redirect unavailable: bpf-pin-dir %s: %s", dir,
			err == EWOULDBLOCK ? "in use by another ktund (give each its own bpf-pin-dir)"
					   : strerror(err));
		return -err;
	}
	return 0;
}

static int load_local(struct redirect *r, const char *pin_dir)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	int rc;

	r->local = redirect_connect__open_opts(&opts);
	rc = r->local ? redirect_connect__load(r->local) : -errno;
	if (rc < 0) {
		log_err("redirect: cannot load the connect hooks: %s%s", load_error(-rc),
			rc == -EPERM ? "" : " (libbpf says why at log-level debug)");
		redirect_connect__destroy(r->local);
		r->local = NULL;
	}
	return rc;
}

static int load_routed(struct redirect *r, const char *pin_dir)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	int rc;

	r->routed = redirect_tc__open_opts(&opts);
	rc = r->routed ? redirect_tc__load(r->routed) : -errno;
	if (rc < 0) {
		log_err("redirect: cannot load the tc program: %s%s", load_error(-rc),
			rc == -EPERM ? "" : " (libbpf says why at log-level debug)");
		redirect_tc__destroy(r->routed);
		r->routed = NULL;
	}
	return rc;
}

static void take_map_fds(struct redirect *r)
{
	if (r->local) {
		r->rules_fd = bpf_map__fd(r->local->maps.ktun_rules);
		r->tunnels_fd = bpf_map__fd(r->local->maps.ktun_tunnels);
		r->cfg_fd = bpf_map__fd(r->local->maps.ktun_cfg);
		r->orig_fd = bpf_map__fd(r->local->maps.ktun_orig);
		r->local_stats_fd = bpf_map__fd(r->local->maps.ktun_stats);
	}
	if (r->routed) {
		r->rules_fd = bpf_map__fd(r->routed->maps.ktun_rules);
		r->tunnels_fd = bpf_map__fd(r->routed->maps.ktun_tunnels);
		r->cfg_fd = bpf_map__fd(r->routed->maps.ktun_cfg);
		r->routed_stats_fd = bpf_map__fd(r->routed->maps.ktun_stats);
		r->tproxy_fd = bpf_map__fd(r->routed->maps.ktun_tproxy);
	}
}

/* bpf_get_current_pid_tgid() numbers the thread group as the initial pid namespace does,
 * which is what getpid() says only in that namespace (the one with the fixed inode
 * PROC_PID_INIT_INO). Elsewhere (a container with its own pid namespace) ktund cannot know
 * the number, and the connect hooks would loop its own connects. */
static int init_ns_tgid(uint32_t *tgid)
{
	struct stat st;

	if (stat("/proc/self/ns/pid", &st) < 0)
		return -errno;
	if (st.st_ino != 0xEFFFFFFCu)
		return -ESRCH;
	*tgid = (uint32_t)getpid();
	return 0;
}

/* What the connect hooks compare against: our network namespace and our process. */
static int identify_self(struct redirect *r)
{
	socklen_t len = sizeof(r->cfg.netns_cookie);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &r->cfg.netns_cookie, &len) < 0) {
		log_err("redirect: local connects unavailable: no network namespace cookie "
			"(SO_NETNS_COOKIE needs Linux 5.14): %s", strerror(errno));
		rc = -ENOTSUP;
	} else if (init_ns_tgid(&r->cfg.daemon_tgid) < 0) {
		log_err("redirect: local connects unavailable: ktund must run in the host's pid "
			"namespace for the connect hooks to tell its own connects apart (no loops)");
		rc = -ESRCH;
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

/* The first cgroup2 mount: the root of the unified hierarchy. */
static int cgroup2_root(char *path, size_t len)
{
	FILE *f = setmntent("/proc/self/mounts", "re");
	struct mntent *m;
	int rc = -ENOENT;

	if (!f)
		return -errno;
	while ((m = getmntent(f)))
		if (!strcmp(m->mnt_type, "cgroup2")) {
			snprintf(path, len, "%s", m->mnt_dir);
			rc = 0;
			break;
		}
	endmntent(f);
	return rc;
}

static int open_cgroup(struct redirect *r, const char *configured)
{
	char path[PATH_MAX];
	struct statfs fs;

	if (configured)
		snprintf(path, sizeof(path), "%s", configured);
	else if (cgroup2_root(path, sizeof(path)) < 0) {
		log_err("redirect: local connects unavailable: no cgroup2 filesystem is mounted "
			"(set bpf-cgroup, or mount one: mount -t cgroup2 none /sys/fs/cgroup)");
		return -ENOENT;
	}
	r->cgroup_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->cgroup_fd < 0) {
		int err = errno;

		log_err("redirect: local connects unavailable: bpf-cgroup %s: %s", path, strerror(err));
		return -err;
	}
	if (fstatfs(r->cgroup_fd, &fs) < 0 || fs.f_type != CGROUP2_SUPER_MAGIC) {
		log_err("redirect: local connects unavailable: bpf-cgroup %s is not a cgroup2 directory",
			path);
		return -ENOTDIR;
	}
	log_notice("redirect: connect hooks on cgroup %s", path);
	return 0;
}

static int attach_local(struct redirect *r, const struct ktun *k)
{
	struct redirect_connect *s = r->local;
	int err;

	if (open_cgroup(r, k->cfg.bpf_cgroup) < 0)
		return -ENOENT;
	s->links.ktun_connect4 = bpf_program__attach_cgroup(s->progs.ktun_connect4, r->cgroup_fd);
	if (s->links.ktun_connect4)
		s->links.ktun_connect6 = bpf_program__attach_cgroup(s->progs.ktun_connect6, r->cgroup_fd);
	if (s->links.ktun_connect6)
		s->links.ktun_sockops = bpf_program__attach_cgroup(s->progs.ktun_sockops, r->cgroup_fd);
	if (s->links.ktun_sockops)
		return 0;
	err = errno;
	log_err("redirect: local connects unavailable: attaching to the cgroup: %s", strerror(err));
	/* All or nothing: a connect hook without the sockops program would lose destinations. */
	bpf_link__destroy(s->links.ktun_connect4);
	bpf_link__destroy(s->links.ktun_connect6);
	s->links.ktun_connect4 = s->links.ktun_connect6 = NULL;
	return -err;
}

/* Each tunnel's transparent listener into the sockmap the tc program assigns SYNs to. One
 * missing (main.c said why) makes routed flows unavailable: the program would drop the SYNs
 * that tunnel's rules match. */
static int fill_tproxy(struct redirect *r, const struct ktun *k)
{
	for (size_t i = 0; i < k->n_tunnels; i++) {
		uint32_t key = (uint32_t)i;
		uint64_t fd;

		if (!redirect_routed_wanted(&k->cfg, i))
			continue;
		if (!k->tunnels[i].tproxy_fds || k->tunnels[i].tproxy_fds[0] < 0)
			return -ENOENT;
		fd = (uint64_t)k->tunnels[i].tproxy_fds[0];
		if (bpf_map_update_elem(r->tproxy_fd, &key, &fd, BPF_ANY) < 0) {
			int err = errno;

			log_err("redirect: routed flows unavailable: [%s] transparent listener into the "
				"sockmap: %s", k->tunnels[i].name, strerror(err));
			return -err;
		}
	}
	return 0;
}

static int attach_clsact(struct redirect *r, int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIORITY,
		    .prog_fd = bpf_program__fd(r->routed->progs.ktun_tc_ingress),
		    .flags = BPF_TC_F_REPLACE);
	int rc = bpf_tc_hook_create(&hook); /* the clsact qdisc; someone else's is fine */

	if (rc == 0 || rc == -EEXIST)
		rc = bpf_tc_attach(&hook, &opts);
	if (rc == 0)
		r->clsact_ifindex = ifindex;
	return rc;
}

static int attach_routed(struct redirect *r, const struct ktun *k)
{
	const char *ifname = k->cfg.redirect_interface;
	int ifindex = (int)if_nametoindex(ifname), rc;

	if (!ifindex) {
		log_err("redirect: routed flows unavailable: redirect-interface %s: %s", ifname,
			strerror(errno));
		return -ENODEV;
	}
	rc = fill_tproxy(r, k);
	if (rc < 0)
		return rc;
	r->tcx_fd = bpf_link_create(bpf_program__fd(r->routed->progs.ktun_tc_ingress), ifindex,
				    (enum bpf_attach_type)ATTACH_TCX_INGRESS, NULL);
	if (r->tcx_fd < 0) {
		rc = attach_clsact(r, ifindex);
		if (rc < 0) {
			log_err("redirect: routed flows unavailable: tc ingress on %s: %s", ifname,
				strerror(-rc));
			return rc;
		}
		/* Removing a filter at exit needs CAP_NET_ADMIN, which user= gives up. */
		if (k->cfg.user)
			log_warn("redirect: this kernel has no tcx links: the tc filter on %s will outlive "
				 "ktund (remove it: tc filter del dev %s ingress handle 0x%x prio %u bpf)",
				 ifname, ifname, TC_HANDLE, TC_PRIORITY);
	}
	log_notice("redirect: tc ingress program on %s (%s; policy route for mark 0x%x needed: "
		   "docs/redirect.md)", ifname, r->tcx_fd >= 0 ? "tcx link" : "clsact filter",
		   k->cfg.redirect_mark);
	return 0;
}

static void detach_clsact(struct redirect *r)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = r->clsact_ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIORITY);
	int rc = bpf_tc_detach(&hook, &opts);

	/* The qdisc stays: other filters may use it, and an empty clsact costs nothing. */
	if (rc < 0 && rc != -ENOENT)
		log_warn("redirect: removing the tc filter from ifindex %d: %s", r->clsact_ifindex,
			 strerror(-rc));
}

static int load(struct redirect *r, const struct ktun *k, bool local, bool routed)
{
	const char *dir = k->cfg.bpf_pin_dir ? k->cfg.bpf_pin_dir : DEFAULT_PIN_DIR;
	int rc = open_pin_dir(r, dir);

	if (rc < 0)
		return rc;
	if (local)
		rc = load_local(r, dir);
	/* Without the privilege to load one object there is none for the other: say it once. */
	if (routed && rc != -EPERM)
		load_routed(r, dir);
	if (!r->local && !r->routed)
		return -ENOENT;
	take_map_fds(r);
	return 0;
}

static void attach(struct redirect *r, const struct ktun *k, bool self_known)
{
	if (r->local && self_known && attach_local(r, k) == 0)
		r->local_state = REDIRECT_ATTACHED;
	if (r->routed && attach_routed(r, k) == 0)
		r->routed_state = REDIRECT_ATTACHED;
	log_notice("redirect: %zu rule(s); local connects %s, routed flows %s", r->n_rules,
		   r->local_state == REDIRECT_ATTACHED ? "steered" : "not steered",
		   r->routed_state == REDIRECT_ATTACHED ? "steered" : "not steered");
}

int redirect_start(struct ktun *k)
{
	bool local, routed;
	struct redirect *r;

	if (!config_redirect_wanted(&k->cfg))
		return 0;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->pin_dir_fd = r->cgroup_fd = r->tcx_fd = -1;
	r->rules_fd = r->tunnels_fd = r->cfg_fd = -1;
	r->orig_fd = r->local_stats_fd = r->routed_stats_fd = r->tproxy_fd = -1;
	r->cfg.mark = k->cfg.redirect_mark;
	/* libbpf reads /sys for this; a sandbox set up later may not allow that. */
	r->ncpus = libbpf_num_possible_cpus();
	local = !k->cfg.bpf_cgroup || strcmp(k->cfg.bpf_cgroup, "none");
	routed = k->cfg.redirect_interface != NULL;
	r->local_state = local ? REDIRECT_UNAVAILABLE : REDIRECT_OFF;
	r->routed_state = routed ? REDIRECT_UNAVAILABLE : REDIRECT_OFF;
	k->redirect = r;
	libbpf_set_print(print_libbpf);
	if (!local && !routed) {
		log_notice("redirect: bpf-cgroup none and no redirect-interface: nothing to steer");
		return 0;
	}
	if (!may_load_bpf()) {
		log_err("redirect unavailable: %s", NEED_PRIVILEGE);
		return 0;
	}
	if (load(r, k, local, routed) == 0) {
		/* Before the maps are written: ktun_cfg carries the namespace cookie and our tgid. */
		bool self_known = r->local && identify_self(r) == 0;

		if (redirect_maps_init(r, k) == 0)
			attach(r, k, self_known);
	}
	return 0;
}

void redirect_stop(struct ktun *k)
{
	struct redirect *r = k->redirect;

	if (!r)
		return;
	if (r->tcx_fd >= 0)
		close(r->tcx_fd); /* the link goes, and the program with it */
	if (r->clsact_ifindex > 0)
		detach_clsact(r);
	redirect_tc__destroy(r->routed);
	redirect_connect__destroy(r->local); /* destroys the cgroup links: detached */
	if (r->cgroup_fd >= 0)
		close(r->cgroup_fd);
	if (r->pin_dir_fd >= 0)
		close(r->pin_dir_fd);
	free(r);
	k->redirect = NULL;
}

bool redirect_routed_wanted(const struct ktun_config *cfg, size_t i)
{
	const struct tunnel_config *t = &cfg->tunnels[i];

	return cfg->redirect_interface && t->mode == MODE_CLIENT && !addr_is_unix(&t->listen_addr) &&
	       i < REDIRECT_TUNNELS_MAX;
}

/* One side of a key: IPv4-mapped IPv6 counts as IPv4, as in the sockops program. */
static bool key_side(const struct sockaddr_storage *ss, uint32_t addr[4], uint16_t *port, uint8_t *family)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET) {
		*family = AF_INET;
		addr[0] = sin->sin_addr.s_addr;
		*port = sin->sin_port;
	} else if (ss->ss_family == AF_INET6) {
		bool mapped = IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr);

		*family = mapped ? AF_INET : AF_INET6;
		if (mapped)
			memcpy(addr, &sin6->sin6_addr.s6_addr[12], 4);
		else
			memcpy(addr, &sin6->sin6_addr, 16);
		*port = sin6->sin6_port;
	} else {
		return false;
	}
	return true;
}

static void orig_to_sockaddr(const struct ktun_orig *o, struct sockaddr_storage *dst, socklen_t *len)
{
	memset(dst, 0, sizeof(*dst));
	if (o->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)dst;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = o->addr[0];
		sin->sin_port = o->port;
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)dst;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, o->addr, 16);
		sin6->sin6_port = o->port;
		*len = sizeof(*sin6);
	}
}

bool redirect_take_orig(const struct redirect *r, int fd, struct sockaddr_storage *dst, socklen_t *len)
{
	struct sockaddr_storage peer, local;
	socklen_t peerlen = sizeof(peer), locallen = sizeof(local);
	struct ktun_orig_key key = { 0 };
	struct ktun_orig orig;
	uint8_t local_family;

	if (!r || r->local_state != REDIRECT_ATTACHED)
		return false;
	if (getpeername(fd, (struct sockaddr *)&peer, &peerlen) < 0 ||
	    getsockname(fd, (struct sockaddr *)&local, &locallen) < 0)
		return false;
	if (!key_side(&peer, key.peer, &key.peer_port, &key.family) ||
	    !key_side(&local, key.local, &key.local_port, &local_family) || local_family != key.family)
		return false;
	if (bpf_map_lookup_and_delete_elem(r->orig_fd, &key, &orig) < 0)
		return false;
	orig_to_sockaddr(&orig, dst, len);
	return true;
}
