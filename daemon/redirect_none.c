// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>

#include "daemon.h"
#include "log.h"
#include "redirect.h"

/* The redirector in a ktund built without the BPF toolchain (meson: have_bpf false): the
 * options are accepted and the configuration is checked, but nothing is steered. */

int redirect_start(struct ktun *k)
{
	if (config_redirect_wanted(&k->cfg))
		log_err("redirect unavailable: this ktund was built without the eBPF redirector "
			"(libbpf, clang and bpftool were missing at build time)");
	return 0;
}

void redirect_stop(struct ktun *k)
{
}

void redirect_reload(struct ktun *k, struct ktun_config *next)
{
	if (config_redirect_wanted(next))
		log_warn("redirect unavailable: this ktund was built without the eBPF redirector");
}

bool redirect_routed_wanted(const struct ktun_config *cfg, size_t i)
{
	return false;
}

bool redirect_take_orig(const struct redirect *r, int fd, struct sockaddr_storage *dst, socklen_t *len)
{
	return false;
}

void redirect_control(struct ktun *k, const char *args, FILE *out)
{
	fprintf(out, "error: this ktund was built without the eBPF redirector\n");
}

void redirect_status_write(const struct ktun *k, size_t i, FILE *out)
{
	const char *name = k->tunnels[i].name;

	if (k->tunnels[i].mode == MODE_CLIENT)
		fprintf(out, "%s.redirect_local %s\n%s.redirect_routed %s\n", name,
			config_redirect_wanted(&k->cfg) ? "unavailable" : "off", name,
			k->cfg.redirect_interface ? "unavailable" : "off");
}
