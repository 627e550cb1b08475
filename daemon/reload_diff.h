/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_RELOAD_DIFF_H
#define KTUN_RELOAD_DIFF_H

#include <stdbool.h>
#include <stddef.h>

struct tunnel_ctx;

/* What a reload changes for one tunnel, for its log line: "cert serial=OLD->NEW
 * not_after=..., key, ca, crl, ocsp-staple changed", those that differ, or "nothing
 * changed". The certificates are compared by serial, subject and notAfter, the key by its
 * public key's ID, a CRL by issuer and nextUpdate (a CRL reissued with the same nextUpdate
 * is not seen), the staple by its nextUpdate, the targets by address and order ("; health
 * reset for N new target addresses": those the old list had keep their health). */
void reload_diff(const struct tunnel_ctx *old, const struct tunnel_ctx *new, char *buf, size_t len);

/* Whether a client tunnel's session tickets stay valid across the reload: the same own
 * certificate chain, key and CA certificates (compared as above), the same far identity
 * (target and server name) and the same verify-* rules (a resumed server is not checked by
 * the verify callback). Otherwise the new context starts with an empty cache. */
bool reload_keeps_tickets(const struct tunnel_ctx *old, const struct tunnel_ctx *new);

#endif
