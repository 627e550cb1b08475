/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_CONFIG_H
#define KTUN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "connect_request.h"
#include "dest_rule.h"
#include "expiry.h"
#include "policy.h"
#include "redirect_rule.h"
#include "target_set.h"

/* What the operator asked for, from the command line or an INI file. Both go through
 * config_set() so an option means the same in either place. Built once, then read-only. */

enum tunnel_mode { MODE_SERVER, MODE_CLIENT };

/* Days before a certificate's end at which to warn, descending. */
struct expiry_warn {
	unsigned days[EXPIRY_THRESHOLDS_MAX];
	size_t n;
};

/* A CRL past its nextUpdate: warn (and go on applying it), or refuse its CA's peers too. */
enum crl_stale_mode { CRL_STALE_WARN, CRL_STALE_REFUSE };

/* Client mode: what the CONNECT request names (dest_announce.c); none sends no request. */
enum destination_mode { DESTINATION_NONE, DESTINATION_ORIGINAL, DESTINATION_FIXED };

/* Kernel TLS: use it where possible, insist on it, or never use it. */
enum ktls_mode { KTLS_AUTO, KTLS_REQUIRED, KTLS_OFF };

#define TUNNEL_NAME_MAX 64
#define POOL_MAX 1024 /* pool: connections kept ready per tunnel, all workers */
#define SERVER_NAME_MAX 253 /* characters of a DNS name */
#define REDIRECT_MARK_DEFAULT 0x4b54 /* "KT" */
/* At least the options config.c knows (a static assertion there keeps this in step). */
#define CONFIG_KEYS_MAX 64
/* RFC 8446 4.6.1: a ticket lives at most 7 days. */
#define RESUMPTION_LIFETIME_MAX (7 * 24 * 3600)
/* GnuTLS 3.7 derives the key that encrypts tickets from the master key and the period
 * floor(now / (3 * lifetime)), and accepts the previous period's key too (lib/stek.c): the
 * ticket key rotates every 3 lifetimes, fixed by the library. */
#define TICKET_ROTATION_PER_LIFETIME 3
#define RESUMPTION_LIFETIME_DEFAULT 7200

struct tunnel_config {
	char name[TUNNEL_NAME_MAX];
	enum tunnel_mode mode;
	bool mode_set;
	/* target: one address or a list "a:443, b:443" (at most TARGETS_MAX once resolved) */
	char *listen, *target, *cert, *key, *cacert, *crl, *server_name;
	enum crl_stale_mode crl_stale;
	char *ocsp_staple;  /* DER OCSP response for the own leaf, stapled for peers that ask */
	bool require_ocsp;  /* refuse a peer without a valid stapled OCSP response */
	bool ocsp_fetch;    /* fetch the own OCSP response from the certificate's responder */
	struct policy policy;
	bool has_allow, has_verify; /* which policy options were given */
	unsigned handshake_timeout, connect_timeout, idle_timeout, max_connections;
	/* server, from-client: how long an authenticated connection may wait for the first byte
	 * of its CONNECT request (a client's warm pool parks connections there) */
	unsigned request_timeout;
	unsigned pool;      /* client: established connections kept ready (pool.c), 0: none */
	unsigned pool_idle; /* client: a pooled connection is replaced before it is this old */
	bool unsafe_target, unsafe_listen;
	enum failover failover;   /* which of several targets a new connection tries first */
	unsigned target_backoff;  /* seconds a refused or timed-out target is skipped, at first */
	bool proxy_protocol; /* server: a PROXY v2 header to the target first */
	bool resumption;     /* TLS 1.3 session tickets: issued (server), offered (client) */
	/* Server: a ticket's lifetime and how often the ticket key changes; 0 until
	 * config_validate() fills what was not given (rotation = 3 x lifetime). */
	unsigned resumption_lifetime, ticket_rotation;
	char *ticket_key_file; /* server: the 64-byte master ticket key, shared by hosts */
	enum ktls_mode ktls;
	unsigned ciphers;         /* mask over tls_ciphers[] */
	unsigned tls_min, tls_max; /* 2 = TLS 1.2, 3 = TLS 1.3 */
	struct redirect_rule *redirects; /* client mode: destinations steered into this tunnel */
	size_t n_redirects;
	char *destination; /* client: "original" or HOST:PORT, sent in a CONNECT request */
	struct dest_rule *dests;  /* server, target = from-client: allow-destination rules */
	size_t n_dests;
	/* Filled by config_validate(). */
	struct ktun_addr listen_addr, target_addr; /* target_addr: target_addrs[0] */
	struct ktun_addr *target_addrs; /* every target address, in list order */
	size_t n_targets;
	enum destination_mode destination_mode;
	char destination_authority[CONNECT_AUTHORITY_MAX]; /* DESTINATION_FIXED: as sent */
	bool from_client; /* target = from-client: each connection's CONNECT request names it */
	/* Where each option was set in the --config file, so that an error about what it names
	 * (a certificate, say) points at the line to change: 0 if not set there. */
	const char *config_file;
	int key_line[CONFIG_KEYS_MAX];
};

struct ktun_config {
	unsigned workers;
	char *control_path;
	char *user;        /* drop to this user once listeners are bound */
	int log_level;
	int log_format;    /* enum log_format */
	unsigned drain_timeout;
	char *config_file; /* set when loaded from --config; reload re-reads it */
	bool watch_files;  /* reload when a certificate, key, CA, CRL or the file changes */
	bool sandbox;      /* Landlock and seccomp once serving */
	struct expiry_warn expiry_warn;
	char *metrics_listen;          /* HOST:PORT serving GET /metrics; NULL: none */
	unsigned metrics_identities;   /* per-identity series for this many identities; 0: none */
	struct ktun_addr metrics_addr; /* filled by config_validate() */
	/* Set by a reload: the running configuration. A listen, target or metrics-listen whose
	 * text is unchanged but no longer resolves (DNS down, a resolver file the sandbox does
	 * not cover) keeps the address it had, with a warning, instead of failing the reload:
	 * new certificates and CRLs must not wait for the resolver. */
	const struct ktun_config *running;
	/* The eBPF redirector (docs/redirect.md); NULL means the default. */
	char *bpf_pin_dir;        /* where the rule maps are pinned */
	char *bpf_cgroup;         /* cgroup the connect hooks attach to; "none": no local hooks */
	char *redirect_interface; /* tc ingress hook for routed flows; NULL: none */
	unsigned redirect_mark;   /* set on routed packets assigned to ktund */
	struct tunnel_config *tunnels;
	size_t n_tunnels;
	int key_line[CONFIG_KEYS_MAX]; /* [global]'s lines, as a tunnel_config's */
};

#define CONFIG_ERR_MAX 512
/* Longest line of a --config file, without its line ending: a longer one is an error. */
#define CONFIG_LINE_MAX 4096

void config_init(struct ktun_config *cfg);
/* control, or its default. */
const char *config_control_path(const struct ktun_config *cfg);
void config_free(struct ktun_config *cfg);
struct tunnel_config *config_add_tunnel(struct ktun_config *cfg, const char *name);
/* Applies one option; tunnel is NULL for global options. Returns 0 or a negative errno with
 * err filled. value is NULL for a flag given without a value (command line). */
int config_set(struct ktun_config *cfg, struct tunnel_config *tunnel, const char *key,
	       const char *value, char *err, size_t errlen);
bool config_option_exists(const char *key);
/* True if the option takes no value on the command line. */
bool config_option_is_flag(const char *key);
bool config_option_is_global(const char *key);
/* Option i of the table (NULL past the end); prefix: an allow-/verify- rule family. */
const char *config_option_at(size_t i, bool *prefix);
/* The known option closest to an unknown key (a typo), or NULL if none is close. The text
 * stays valid until the next call. */
const char *config_suggest(const char *key);
/* Whether key adds a rule each time it is given (allow-*, verify-*, redirect) rather than
 * being set once. */
bool config_option_repeats(const char *key);
/* Notes that key was set at line of the --config file (tunnel NULL: [global]). Returns 0, or
 * the line it was set at before if it is one that is set once: only allow-*, verify-* and
 * redirect add a rule each time. */
int config_key_seen(struct ktun_config *cfg, struct tunnel_config *tunnel, const char *key,
		    int line);
/* "FILE:LINE: " where the tunnel's key was set in the --config file, or "" if it was not. */
const char *config_key_where(const struct tunnel_config *tunnel, const char *key, char *buf,
			     size_t len);
/* Checks the whole configuration and resolves addresses. */
int config_validate(struct ktun_config *cfg, char *err, size_t errlen);
/* Loads an INI file: [global] and one section per tunnel. */
int config_load_file(struct ktun_config *cfg, const char *path, char *err, size_t errlen);
const char *config_mode_name(enum tunnel_mode mode);
const char *config_ktls_name(enum ktls_mode mode);
/* True if the eBPF redirector is to be loaded: a tunnel has a redirect rule, or one of the
 * redirector's global options was given (then rules can be added at run time). */
bool config_redirect_wanted(const struct ktun_config *cfg);

#endif
