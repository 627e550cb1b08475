// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>
#include <p11-kit/uri.h>

#include "cert_check.h"
#include "ciphers.h"
#include "file_read.h"
#include "log.h"
#include "paths.h"
#include "pkcs11.h"
#include "tunnel_ctx.h"
#include "verify.h"

/* TLS 1.3 and 1.2 with AEAD ciphers and forward-secret key exchange only. Session tickets
 * only in TLS 1.3, where resuming still makes an (EC)DHE exchange (psk_dhe_ke): a TLS 1.2
 * ticket (RFC 5077) resumes without one. Whether a session issues or offers tickets at all is
 * the tunnel's resumption setting (handshake.c, ticket_key.c). X25519 first, as OpenSSL and
 * Go order them: nettle's P-256 costs a handshake about 5 % more instructions (callgrind, a
 * ktund pair, per end); no finite-field groups. */
static const char priority_format[] =
	"SECURE128:-VERS-ALL:%s:-CIPHER-ALL:%s:"
	"-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:"
	"-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-SECP521R1:+GROUP-X448:"
	"%%NO_TICKETS_TLS12";

/* With kTLS wanted, offer only what the kernel can take over, so no connection has to fall
 * back because of its cipher. Returns the mask over tls_ciphers[] to offer. */
static int choose_ciphers(struct tunnel_ctx *ctx, const struct tunnel_config *cfg,
			  const struct ktls_support *kernel, unsigned *mask)
{
	unsigned offload = cfg->ciphers & ktls_offload_mask(kernel);

	*mask = cfg->ciphers;
	if (cfg->ktls == KTLS_OFF)
		return 0;
	if (kernel->ulp && offload) {
		*mask = offload;
		ctx->ktls_wanted = true;
		return 0;
	}
	if (cfg->ktls == KTLS_AUTO)
		return 0;
	if (!kernel->ulp)
		log_err("[%s] ktls = required, but this kernel has no kernel TLS (TCP_ULP \"tls\": %s)",
			cfg->name, strerror(kernel->ulp_errno));
	else
		log_err("[%s] ktls = required, but this kernel offloads none of the configured ciphers",
			cfg->name);
	return -EOPNOTSUPP;
}

static void format_priority(const struct tunnel_config *cfg, unsigned mask, char *buf, size_t len)
{
	char versions[64] = "", ciphers[128] = "";
	size_t v = 0, n = 0;

	for (unsigned ver = cfg->tls_max; ver >= cfg->tls_min; ver--)
		v += (size_t)snprintf(versions + v, sizeof(versions) - v, "%s+VERS-TLS1.%u", v ? ":" : "", ver);
	for (size_t i = 0; i < TLS_CIPHERS_N; i++)
		if (mask & (1u << i))
			n += (size_t)snprintf(ciphers + n, sizeof(ciphers) - n, "%s+%s", n ? ":" : "",
					      tls_ciphers[i].name);
	snprintf(buf, len, priority_format, versions, ciphers);
}

/* Every file is read here, bounded (file_read.c), and handed to GnuTLS's _mem functions:
 * GnuTLS's own file reading waits on a FIFO, reads /dev/zero until memory runs out and says
 * only "Error while reading file". */
static int read_file(const struct tunnel_config *cfg, const char *what, const char *path,
		     size_t max, struct file_data *out, gnutls_datum_t *datum)
{
	char why[128];
	int rc = file_read_bounded(path, max, out, why, sizeof(why));

	if (rc < 0) {
		log_err("[%s] %s %s: %s", cfg->name, what, path, why);
		return rc;
	}
	datum->data = out->data;
	datum->size = (unsigned)out->len; /* at most FILE_MAX_CRL */
	return 0;
}

/* gnutls_certificate_set_x509_key_mem2 (3.7.9, like key_file2) leaks a certificate object
 * when the chain does not parse, and a watched file may be rewritten broken again and again:
 * parse it here first, so that only a chain that parses reaches GnuTLS. */
static int check_chain_parses(const struct tunnel_config *cfg, const gnutls_datum_t *pem)
{
	gnutls_x509_crt_t *chain = NULL;
	unsigned n = 0;
	int rc = gnutls_x509_crt_list_import2(&chain, &n, pem, GNUTLS_X509_FMT_PEM, 0);

	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(chain[i]);
	gnutls_free(chain);
	if (rc < 0)
		log_err("[%s] cert %s: %s", cfg->name, cfg->cert, gnutls_strerror(rc));
	return rc < 0 ? -EINVAL : 0;
}

static int load_ca(struct tunnel_ctx *ctx, const struct tunnel_config *cfg)
{
	struct file_data ca;
	gnutls_datum_t ca_pem;
	int rc;

	if (read_file(cfg, "cacert", cfg->cacert, FILE_MAX_PEM, &ca, &ca_pem) < 0)
		return -EINVAL;
	rc = gnutls_certificate_set_x509_trust_mem(ctx->creds, &ca_pem, GNUTLS_X509_FMT_PEM);
	if (rc <= 0)
		log_err("[%s] cacert %s: %s", cfg->name, cfg->cacert,
			rc == 0 ? "no certificate found" : gnutls_strerror(rc));
	rc = rc <= 0 ? -EINVAL : cert_check_ca(cfg, &ca_pem);
	file_data_free(&ca);
	return rc;
}

/* After the CA and the certificate: a CRL must be signed by one of their CAs. */
static int load_crl(struct tunnel_ctx *ctx, const struct tunnel_config *cfg)
{
	if (!cfg->crl)
		return 0;
	return crl_load(&ctx->crl, cfg->name, cfg->crl, cfg->crl_stale == CRL_STALE_REFUSE,
			ctx->creds);
}

/* What the log may say of the key: its file name, or its PKCS#11 URI with every pin-value
 * replaced (a pin-source names a file, which may be said). */
static void key_for_log(const char *key, char *buf, size_t len)
{
	static const char attr[] = "pin-value=";
	bool uri = path_is_pkcs11(key);
	size_t n = 0;

	buf[0] = '\0';
	while (n < len) {
		/* Any spelling: p11-kit ignores a misspelt attribute, and the load then fails and
		 * logs the URI. */
		const char *pin = uri ? strcasestr(key, attr) : NULL;
		size_t plain = pin ? (size_t)(pin - key) + sizeof(attr) - 1 : strlen(key);

		n += (size_t)snprintf(buf + n, len - n, "%.*s%s", (int)plain, key, pin ? "(hidden)" : "");
		if (!pin)
			break;
		key = pin + sizeof(attr) - 1;
		key += strcspn(key, ";&");
	}
}

/* p11-kit opens a pin-source file blocking, and would wait for ever on a FIFO: vet the file
 * here first (p11-kit reads it again itself; this catches a wrong file, not a swap). A URI
 * that does not parse is left to GnuTLS to refuse. */
static int check_pin_source(const struct tunnel_config *cfg)
{
	P11KitUri *uri = p11_kit_uri_new();
	struct file_data pin = { 0 };
	gnutls_datum_t unused;
	const char *source;
	int rc = 0;

	if (!uri) {
		log_err("[%s] out of memory parsing the key's URI", cfg->name);
		return -ENOMEM;
	}
	if (p11_kit_uri_parse(cfg->key, P11_KIT_URI_FOR_ANY, uri) == P11_KIT_URI_OK) {
		source = p11_kit_uri_get_pin_source(uri);
		if (source)
			rc = read_file(cfg, "key pin-source", source, FILE_MAX_PEM, &pin, &unused);
	}
	file_data_free(&pin);
	p11_kit_uri_free(uri);
	return rc;
}

/* A pkcs11: key is an object in a token, which GnuTLS finds through p11-kit's modules; the
 * chain is the one read here, as for a key file (key_file2 would read the file again). On
 * success the credentials own the certificates and the key; on failure they are still ours. */
static int set_token_key(struct tunnel_ctx *ctx, const struct tunnel_config *cfg,
			 const gnutls_datum_t *cert_pem)
{
	gnutls_x509_crt_t *crts = NULL;
	gnutls_pcert_st *pcerts = NULL;
	gnutls_privkey_t key = NULL;
	unsigned n = 0, imported = 0;
	int rc = gnutls_x509_crt_list_import2(&crts, &n, cert_pem, GNUTLS_X509_FMT_PEM, 0);

	if (rc == 0) {
		pcerts = gnutls_calloc(n, sizeof(*pcerts));
		imported = n;
		rc = pcerts ? gnutls_pcert_import_x509_list(pcerts, crts, &imported, 0)
			    : GNUTLS_E_MEMORY_ERROR;
		if (rc < 0)
			imported = 0;
	}
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	if (rc == 0)
		rc = gnutls_privkey_init(&key);
	if (rc == 0)
		rc = gnutls_privkey_import_url(key, cfg->key, 0);
	if (rc == 0)
		rc = gnutls_certificate_set_key(ctx->creds, NULL, 0, pcerts, (int)imported, key);
	if (rc < 0) {
		for (unsigned i = 0; i < imported; i++)
			gnutls_pcert_deinit(&pcerts[i]);
		if (key)
			gnutls_privkey_deinit(key);
	}
	gnutls_free(pcerts);
	return rc;
}

/* GnuTLS's reason, and of the key only its file name (or its URI without the PIN): its
 * contents never reach the log. */
static int set_key(struct tunnel_ctx *ctx, const struct tunnel_config *cfg,
		   const gnutls_datum_t *cert_pem, const gnutls_datum_t *key_pem)
{
	char key[512];
	int rc;

	if (path_is_pkcs11(cfg->key))
		rc = set_token_key(ctx, cfg, cert_pem);
	else
		rc = gnutls_certificate_set_x509_key_mem2(ctx->creds, cert_pem, key_pem,
							  GNUTLS_X509_FMT_PEM, NULL, 0);
	if (rc < 0) {
		key_for_log(cfg->key, key, sizeof(key));
		log_err("[%s] cert %s / key %s: %s", cfg->name, cfg->cert, key, gnutls_strerror(rc));
		return -EINVAL;
	}
	return 0;
}

static int load_own_cert(struct tunnel_ctx *ctx, const struct tunnel_config *cfg)
{
	struct file_data cert, key = { 0 };
	gnutls_datum_t cert_pem, key_pem = { 0 };
	int rc = read_file(cfg, "cert", cfg->cert, FILE_MAX_PEM, &cert, &cert_pem);

	if (rc == 0)
		rc = check_chain_parses(cfg, &cert_pem);
	if (rc == 0 && path_is_pkcs11(cfg->key))
		rc = check_pin_source(cfg);
	else if (rc == 0)
		rc = read_file(cfg, "key", cfg->key, FILE_MAX_PEM, &key, &key_pem);
	if (rc == 0)
		rc = set_key(ctx, cfg, &cert_pem, &key_pem);
	if (rc == 0)
		rc = cert_check_own(cfg, ctx->creds, time(NULL));
	file_data_free(&key);
	file_data_free(&cert);
	if (rc < 0)
		return -EINVAL;
	return expiry_load(&ctx->expiry, cfg->name, ctx->creds, cfg->cacert) < 0 ? -EINVAL : 0;
}

/* After the certificate: the response is checked against it. */
static int load_ocsp_staple(struct tunnel_ctx *ctx, const struct tunnel_config *cfg)
{
	if (!cfg->ocsp_staple)
		return 0;
	return ocsp_staple_load(&ctx->ocsp, cfg->name, cfg->ocsp_staple, ctx->creds, time(NULL));
}

/* ocsp-fetch: the request is built here, so that a certificate without a responder or
 * issuer is a load error (at start, in --check and on reload), not a failing thread. */
static int prepare_ocsp_fetch(struct tunnel_ctx *ctx, const struct tunnel_config *cfg)
{
	char why[256];
	int rc;

	if (!cfg->ocsp_fetch)
		return 0;
	rc = ocsp_request_build(&ctx->ocsp_request, ctx->creds, why, sizeof(why));
	if (rc < 0) {
		log_err("[%s] ocsp-fetch: %s", cfg->name, why);
		return rc;
	}
	if (ocsp_store_init(&ctx->ocsp_fetched, ctx->creds) < 0) {
		log_err("[%s] ocsp-fetch: GnuTLS refuses a stapling callback", cfg->name);
		return -EINVAL;
	}
	return 0;
}

static int init_gnutls_objects(struct tunnel_ctx *ctx, const struct tunnel_config *cfg,
			       const struct ktls_support *kernel)
{
	const char *errpos = NULL;
	char priority[512];
	unsigned mask;
	int rc;

	rc = choose_ciphers(ctx, cfg, kernel, &mask);
	if (rc < 0)
		return rc;
	format_priority(cfg, mask, priority, sizeof(priority));
	/* Tests run a reference server with exactly this string (tests/integration/tls-fuzz.sh). */
	log_debug("[%s] TLS priority %s", cfg->name, priority);

	rc = gnutls_certificate_allocate_credentials(&ctx->creds);
	if (rc < 0) {
		log_gnutls_error("allocating credentials", rc);
		return -ENOMEM;
	}
	rc = gnutls_priority_init2(&ctx->priority, priority, &errpos, 0);
	if (rc < 0) {
		log_err("[%s] TLS priority string rejected at '%s': %s", cfg->name,
			errpos ? errpos : "?", gnutls_strerror(rc));
		return -EINVAL;
	}
	gnutls_certificate_set_verify_function(ctx->creds, verify_peer_callback);
	return 0;
}

static void copy_settings(struct tunnel_ctx *ctx, const struct tunnel_config *cfg)
{
	struct in6_addr probe;
	char target[ADDR_TEXT_MAX];

	memcpy(ctx->name, cfg->name, sizeof(ctx->name));
	ctx->mode = cfg->mode;
	ctx->target = cfg->target_addr;
	ctx->targets.n = cfg->n_targets;
	if (cfg->n_targets)
		memcpy(ctx->targets.addrs, cfg->target_addrs, cfg->n_targets * sizeof(*cfg->target_addrs));
	ctx->targets.failover = cfg->failover;
	ctx->targets.backoff_ms = cfg->target_backoff * 1000;
	snprintf(ctx->server_name, sizeof(ctx->server_name), "%s",
		 cfg->server_name ? cfg->server_name : cfg->target_addr.host);
	ctx->server_name_is_ip = inet_pton(AF_INET, ctx->server_name, &probe) == 1 ||
				 inet_pton(AF_INET6, ctx->server_name, &probe) == 1;
	snprintf(ctx->ticket_identity, sizeof(ctx->ticket_identity), "%s %s",
		 addr_format((const struct sockaddr *)&ctx->target.ss, ctx->target.len, target),
		 ctx->server_name);
	ctx->handshake_timeout_ms = cfg->handshake_timeout * 1000;
	ctx->connect_timeout_ms = cfg->connect_timeout * 1000;
	ctx->idle_timeout_ms = cfg->idle_timeout * 1000;
	ctx->request_timeout_ms = cfg->request_timeout * 1000;
	ctx->pool = cfg->pool;
	ctx->pool_idle_ms = cfg->pool_idle * 1000;
	ctx->max_connections = cfg->max_connections;
	ctx->ktls = cfg->ktls;
	ctx->proxy_protocol = cfg->proxy_protocol;
	ctx->destination_mode = cfg->destination_mode;
	memcpy(ctx->destination_authority, cfg->destination_authority, sizeof(ctx->destination_authority));
	ctx->require_ocsp = cfg->require_ocsp;
	ctx->pkcs11_key = path_is_pkcs11(cfg->key);
	ctx->resumption = cfg->resumption && !cfg->require_ocsp;
	ctx->resumption_lifetime = cfg->resumption_lifetime;
}

/* Server: the master ticket key, from its file or made now (a reload then carries the
 * running one over: daemon.c). */
static int load_ticket_key(struct tunnel_ctx *ctx, const struct tunnel_config *cfg)
{
	if (!ctx->resumption || ctx->mode != MODE_SERVER)
		return 0;
	return ticket_key_load(&ctx->ticket, cfg->name, cfg->ticket_key_file);
}

/* Resumed sessions only consult it: without resumption there are none. */
static int init_chain_cache(struct tunnel_ctx *ctx)
{
	int rc;

	if (!ctx->resumption)
		return 0;
	ctx->chains = malloc(sizeof(*ctx->chains));
	if (!ctx->chains)
		return -ENOMEM;
	rc = chain_cache_init(ctx->chains, CHAIN_CACHE_ENTRIES);
	if (rc < 0) {
		free(ctx->chains);
		ctx->chains = NULL;
	}
	return rc;
}

static void tunnel_ctx_free(struct tunnel_ctx *ctx)
{
	/* A token key closes its session: not while pkcs11_reinit() finalizes the module. */
	if (ctx->pkcs11_key)
		pkcs11_enter();
	if (ctx->creds)
		gnutls_certificate_free_credentials(ctx->creds);
	if (ctx->pkcs11_key)
		pkcs11_leave();
	if (ctx->priority)
		gnutls_priority_deinit(ctx->priority);
	policy_free(&ctx->policy);
	for (size_t i = 0; i < ctx->n_dests; i++)
		dest_rule_free(&ctx->dests[i]);
	free(ctx->dests);
	expiry_free(&ctx->expiry);
	ocsp_staple_free(&ctx->ocsp);
	if (ctx->ocsp_request.url)
		ocsp_store_destroy(&ctx->ocsp_fetched);
	ocsp_request_free(&ctx->ocsp_request);
	crl_free(&ctx->crl);
	ticket_cache_destroy(&ctx->tickets);
	ticket_key_wipe(&ctx->ticket);
	if (ctx->chains)
		chain_cache_destroy(ctx->chains);
	free(ctx->chains);
	free(ctx);
}

static int copy_dests(struct tunnel_ctx *ctx, const struct tunnel_config *cfg)
{
	ctx->from_client = cfg->from_client;
	if (!cfg->n_dests)
		return 0;
	ctx->dests = calloc(cfg->n_dests, sizeof(*ctx->dests));
	if (!ctx->dests)
		return -ENOMEM;
	for (; ctx->n_dests < cfg->n_dests; ctx->n_dests++)
		if (dest_rule_copy(&ctx->dests[ctx->n_dests], &cfg->dests[ctx->n_dests]) < 0)
			return -ENOMEM;
	return 0;
}

int tunnel_ctx_new(const struct tunnel_config *cfg, const struct ktls_support *kernel,
		   struct tunnel_ctx **out)
{
	struct tunnel_ctx *ctx = calloc(1, sizeof(*ctx));
	int rc = -ENOMEM;

	if (!ctx)
		goto fail;
	ctx->refs = 1;
	ticket_cache_init(&ctx->tickets);
	copy_settings(ctx, cfg);
	if (policy_copy(&ctx->policy, &cfg->policy) < 0 || copy_dests(ctx, cfg) < 0 ||
	    init_chain_cache(ctx) < 0)
		goto fail;
	rc = init_gnutls_objects(ctx, cfg, kernel);
	if (rc < 0)
		goto fail;
	rc = load_ca(ctx, cfg);
	if (rc < 0)
		goto fail;
	rc = load_own_cert(ctx, cfg);
	if (rc == 0)
		rc = load_crl(ctx, cfg);
	if (rc == 0)
		rc = load_ocsp_staple(ctx, cfg);
	if (rc == 0)
		rc = prepare_ocsp_fetch(ctx, cfg);
	if (rc == 0)
		rc = load_ticket_key(ctx, cfg);
	if (rc < 0)
		goto fail;
	*out = ctx;
	return 0;
fail:
	if (rc == -ENOMEM)
		log_err("[%s] out of memory building TLS context", cfg->name);
	if (ctx)
		tunnel_ctx_free(ctx);
	return rc;
}

struct tunnel_ctx *tunnel_ctx_get(struct tunnel_ctx *ctx)
{
	__atomic_add_fetch(&ctx->refs, 1, __ATOMIC_RELAXED);
	return ctx;
}

void tunnel_ctx_put(struct tunnel_ctx *ctx)
{
	if (ctx && __atomic_sub_fetch(&ctx->refs, 1, __ATOMIC_ACQ_REL) == 0)
		tunnel_ctx_free(ctx);
}
