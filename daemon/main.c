// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <pwd.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <gnutls/gnutls.h>

#include "activation.h"
#include "cli.h"
#include "control.h"
#include "daemon.h"
#include "fdlimit.h"
#include "file_read.h"
#include "heap_trim.h"
#include "listen_fds.h"
#include "listen_probe.h"
#include "log.h"
#include "metrics.h"
#include "ocsp_fetch.h"
#include "privs.h"
#include "sandbox.h"
#include "service.h"
#include "watch.h"
#include "redirect.h"
#include "resolver.h"
#include "worker.h"

/*
 * ktund: parse, load credentials, bind, start one worker thread per CPU, then serve signals
 * and the control socket on the main thread until drained. Workers own the data path; the
 * main thread only reloads (swapping tunnel contexts) and changes the daemon phase.
 */

#define EXPIRY_CHECK_MS (3600 * 1000)

enum { EXIT_RUNTIME = 1, EXIT_CONFIG = 2 };

static void probe_kernel_tls(struct ktun *k)
{
	bool wanted = false;

	for (size_t i = 0; i < k->cfg.n_tunnels; i++)
		wanted |= k->cfg.tunnels[i].ktls != KTLS_OFF;
	if (!wanted)
		return;
	ktls_probe(&k->ktls);
	/* Said once here; each tunnel's line in announce() and `ktunctl status` repeat the outcome. */
	if (!k->ktls.ulp)
		log_notice("kernel TLS unavailable (TCP_ULP \"tls\": %s): using the userspace GnuTLS "
			   "data path", strerror(k->ktls.ulp_errno));
	else if (!k->ktls.ciphers)
		log_notice("kernel TLS offloads none of the AEAD ciphers here: using the userspace "
			   "GnuTLS data path");
}

/* Private files (the ticket key) may be the service user's, or readable by its group: the
 * reloads run as that user. */
static int service_user_known(const struct ktun_config *cfg)
{
	struct passwd *pw;

	if (!cfg->user)
		return 0;
	errno = 0;
	pw = getpwnam(cfg->user);
	if (!pw) {
		log_err("user %s: %s", cfg->user, errno ? strerror(errno) : "no such user");
		return -ENOENT;
	}
	file_read_service_user(pw->pw_uid, pw->pw_gid);
	return 0;
}

static int build_tunnels(struct ktun *k)
{
	k->n_tunnels = k->cfg.n_tunnels;
	k->tunnels = calloc(k->n_tunnels, sizeof(*k->tunnels));
	if (!k->tunnels)
		return -ENOMEM;
	for (size_t i = 0; i < k->n_tunnels; i++) {
		struct tunnel_ctx *ctx;
		int rc = tunnel_ctx_new(&k->cfg.tunnels[i], &k->ktls, &ctx);

		if (rc < 0)
			return rc;
		rc = tunnel_init(&k->tunnels[i], &k->cfg.tunnels[i], ctx, k->n_workers);
		if (rc < 0) {
			tunnel_ctx_put(ctx);
			return rc;
		}
	}
	return 0;
}

/* The control socket in *fd, or -1 for none. Returns -errno if ktund must not start: an
 * explicit path that does not work, or a default directory that is not safe to use. */
static int open_control(struct ktun *k, int *fd)
{
	const char *path = config_control_path(&k->cfg);
	int rc;

	*fd = -1;
	if (k->cfg.control_path) {
		/* An explicit path must work as given: its directory is not made. */
		*fd = control_open(path);
		return *fd < 0 ? *fd : 0;
	}
	/* The default: a directory that cannot be made (not root) or a socket another instance
	 * holds leaves ktund without one; a directory that is there but unsafe stops it. */
	if (control_make_dir(path) == 0) {
		rc = control_own_dir(path, k->cfg.user);
		if (rc < 0)
			return rc;
		*fd = control_open(path);
	}
	if (*fd < 0)
		log_warn("no control socket: ktunctl cannot reach this ktund (set --control PATH)");
	return 0;
}

static int start_workers(struct ktun *k)
{
	/* Aligned: a worker is the object of its io_uring operations (user_data.h). */
	k->workers = aligned_alloc(USER_DATA_ALIGN, k->n_workers * sizeof(*k->workers));
	if (!k->workers)
		return -ENOMEM;
	memset(k->workers, 0, k->n_workers * sizeof(*k->workers));
	for (unsigned i = 0; i < k->n_workers; i++) {
		int rc = worker_init(&k->workers[i], k, i);

		k->workers_inited = i + 1;
		if (rc == 0)
			rc = worker_start(&k->workers[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void announce(const struct ktun *k)
{
	for (size_t i = 0; i < k->n_tunnels; i++) {
		const struct tunnel *t = &k->tunnels[i];
		char l[ADDR_TEXT_MAX], tg[ADDR_TEXT_MAX];

		const struct target_set *set = &t->ctx->targets;
		char more[48] = "";

		if (set->n > 1)
			snprintf(more, sizeof(more), " and %zu more (%s)", set->n - 1,
				 failover_name(set->failover));
		log_notice("[%s] %s mode: listening on %s%s, target %s%s, datapath %s", t->name,
			   config_mode_name(t->mode),
			   addr_format((const struct sockaddr *)&t->listen.ss, t->listen.len, l),
			   t->inherited ? " (inherited socket)" : "",
			   t->ctx->from_client ? "from-client" :
			   addr_format((const struct sockaddr *)&t->ctx->target.ss, t->ctx->target.len, tg),
			   more, t->ctx->ktls_wanted ? "ktls" : "userspace");
	}
	log_notice("ready");
}

static void set_phase(struct ktun *k, enum daemon_phase phase)
{
	__atomic_store_n(&k->phase, phase, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < k->n_workers; i++)
		worker_notify(&k->workers[i]);
}

static void on_signal(struct ktun *k, int sfd)
{
	struct signalfd_siginfo si;
	char err[CONFIG_ERR_MAX];

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		daemon_reload(k, err, sizeof(err));
		return;
	}
	if (__atomic_load_n(&k->phase, __ATOMIC_RELAXED) == PHASE_RUNNING) {
		log_notice("signal %u: draining (new connections refused, up to %u s for live ones)",
			   si.ssi_signo, k->cfg.drain_timeout);
		service_stopping(k->cfg.drain_timeout);
		set_phase(k, PHASE_DRAINING);
	} else {
		log_notice("signal %u again: closing all connections now", si.ssi_signo);
		set_phase(k, PHASE_STOPPING);
	}
}

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_file_events(struct ktun *k, bool readable)
{
	char err[CONFIG_ERR_MAX];
	int64_t now = monotonic_ms();

	if (readable)
		watch_read(k->watch, now);
	if (watch_change_due(k->watch, now))
		daemon_reload(k, err, sizeof(err));
}

static void serve(struct ktun *k, int sfd, int control_fd)
{
	struct pollfd fds[3] = { { .fd = sfd, .events = POLLIN },
				 { .fd = control_fd, .events = POLLIN },
				 { .fd = k->watch ? watch_fd(k->watch) : -1, .events = POLLIN } };

	int64_t expiry_due = monotonic_ms() + EXPIRY_CHECK_MS;
	int watchdog_ms = service_watchdog_ms();
	int64_t watchdog_due = monotonic_ms();
	struct heap_trim trim = { 0 };

	/* poll() ignores negative fds: no control socket or no watch leaves a hole. */
	while (__atomic_load_n(&k->workers_alive, __ATOMIC_ACQUIRE) > 0) {
		int settle = k->watch ? watch_timeout_ms(k->watch, monotonic_ms()) : -1;
		int n = poll(fds, 3, settle >= 0 && settle < 200 ? settle : 200);

		if (monotonic_ms() >= expiry_due) {
			daemon_check_expiry(k);
			expiry_due += EXPIRY_CHECK_MS;
		} else if (k->revocation_due != (time_t)-1 && time(NULL) >= k->revocation_due) {
			daemon_check_expiry(k);
		}
		if (watchdog_ms > 0 && monotonic_ms() >= watchdog_due) {
			service_watchdog_kick(k, monotonic_ms());
			watchdog_due = monotonic_ms() + watchdog_ms;
		}
		heap_trim_tick(&trim, k, monotonic_ms());
		if (n > 0 && (fds[0].revents & POLLIN))
			on_signal(k, sfd);
		if (n > 0 && (fds[1].revents & POLLIN))
			control_serve_one(k, control_fd);
		if (k->watch)
			on_file_events(k, n > 0 && (fds[2].revents & POLLIN));
	}
}

/* The name lookups of target = from-client tunnels (resolver.h): a thread of its own, which
 * must exist before seccomp refuses new threads. Without such a tunnel at start none runs,
 * and a reload that adds one has names refused until a restart (dest_request.c says so). */
static int start_resolver(struct ktun *k)
{
	int fds[k->n_workers];
	bool wanted = false;
	int rc;

	for (size_t i = 0; i < k->n_tunnels; i++)
		wanted |= k->cfg.tunnels[i].from_client;
	if (!wanted)
		return 0;
	for (unsigned i = 0; i < k->n_workers; i++)
		fds[i] = k->workers[i].event_fd;
	rc = resolver_start(fds, k->n_workers);
	if (rc < 0)
		log_err("name resolver thread: %s", strerror(-rc));
	return rc;
}

static int block_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked before any thread starts, so workers inherit the mask and only signalfd sees them. */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC);
}

static void teardown(struct ktun *k, int sfd, int control_fd)
{
	/* Their threads read the tunnels: stop them before anything goes. */
	metrics_http_stop(k);
	ocsp_fetch_stop();
	if (k->workers) {
		if (__atomic_load_n(&k->workers_alive, __ATOMIC_ACQUIRE))
			set_phase(k, PHASE_STOPPING);
		for (unsigned i = 0; i < k->workers_inited; i++) {
			if (k->workers[i].joinable)
				pthread_join(k->workers[i].thread, NULL);
			worker_destroy(&k->workers[i]);
		}
		free(k->workers);
	}
	resolver_stop(); /* after the workers: their connections may wait for it */
	redirect_stop(k);
	for (size_t i = 0; k->tunnels && i < k->n_tunnels; i++)
		if (k->tunnels[i].ctx)
			tunnel_destroy(&k->tunnels[i], k->n_workers);
	free(k->tunnels);
	control_close(control_fd, config_control_path(&k->cfg));
	watch_close(k->watch);
	if (sfd >= 0)
		close(sfd);
	config_free(&k->cfg);
}

int main(int argc, char **argv)
{
	struct ktun k = { .metrics_fd = -1, .revocation_due = (time_t)-1 };
	char err[CONFIG_ERR_MAX];
	int sfd = -1, control_fd = -1, status = EXIT_RUNTIME;
	enum cli_result mode;

	config_init(&k.cfg);
	mode = cli_parse(argc, argv, &k.cfg);
	if (mode == CLI_EXIT_OK || mode == CLI_USAGE) {
		config_free(&k.cfg);
		return mode == CLI_EXIT_OK ? EXIT_SUCCESS : EXIT_CONFIG;
	}
	log_set_level(k.cfg.log_level);
	log_set_format((enum log_format)k.cfg.log_format);
	k.n_workers = k.cfg.workers;
	if (config_validate(&k.cfg, err, sizeof(err)) < 0) {
		log_err("%s", err);
		status = EXIT_CONFIG;
		goto out;
	}
	probe_kernel_tls(&k);
	if (service_user_known(&k.cfg) < 0) {
		status = EXIT_CONFIG;
		goto out;
	}
	if (build_tunnels(&k) < 0) {
		status = EXIT_CONFIG;
		goto out;
	}
	__atomic_store_n(&k.loaded_at, (long long)time(NULL), __ATOMIC_RELAXED);
	if (mode == CLI_CHECK) {
		daemon_check_expiry(&k);
		printf("configuration ok: %zu tunnel(s)\n", k.n_tunnels);
		status = EXIT_SUCCESS;
		goto out;
	}
	/* Before any descriptor is opened for a connection; best effort, logged. */
	fdlimit_raise(&k);
	sfd = block_signals();
	if (sfd < 0 || activation_take(&k) < 0 || listen_probe_all(&k) < 0 ||
	    listen_fds_open(&k) < 0 || listen_fds_open_transparent(&k) < 0)
		goto out;
	if (open_control(&k, &control_fd) < 0)
		goto out;
	/* Loading and attaching BPF needs the privileges the drop below gives up. */
	if (redirect_start(&k) < 0)
		goto out;
	/* Best effort, and before the drop: the directories may be readable by root only. */
	if (k.cfg.watch_files)
		watch_open(&k.cfg, &k.watch);
	if (metrics_http_bind(&k) < 0)
		goto out;
	if (k.cfg.user && privs_drop(k.cfg.user) < 0)
		goto out;
	/* Threads inherit Landlock from the thread that starts them: confine first. */
	if (sandbox_files_apply(&k) < 0 || metrics_http_start(&k) < 0 || start_workers(&k) < 0 ||
	    ocsp_fetch_start(&k) < 0 || start_resolver(&k) < 0 || sandbox_syscalls_apply(&k) < 0)
		goto out;
	announce(&k);
	daemon_check_expiry(&k);
	service_ready(&k);
	serve(&k, sfd, control_fd);
	log_notice("all connections closed; exiting");
	status = EXIT_SUCCESS;
out:
	teardown(&k, sfd, control_fd);
	return status;
}
