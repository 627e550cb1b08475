/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef KTUN_PEERS_H
#define KTUN_PEERS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "config.h"

/* `ktunctl peers`: per tunnel and peer identity (the audit lines' id, peer_cert.h), the
 * connections that completed a handshake, the handshakes refused, payload bytes and when it
 * was last seen. Any worker records, the control thread reads; one lock, held briefly.
 * Bounded: at most PEERS_MAX identities are kept, from the first seen on, so a stream of
 * certificates cannot grow ktund's memory; what the others did is counted in one overflow
 * line. Kept since start; a reload does not clear it. */
#define PEERS_MAX 1024

/* A completed handshake. */
void peers_connected(const char *tunnel, const char *id, time_t now);
/* A refused handshake; id "-" for a peer that presented no certificate. */
void peers_rejected(const char *tunnel, const char *id, time_t now);
/* A connection that had completed its handshake ended, having moved up and down bytes. */
void peers_closed(const char *tunnel, const char *id, uint64_t up, uint64_t down, time_t now);
/* One line per identity, "tunnel=T id="ID" connections=N rejects=N up=N down=N
 * last_seen=2026-12-02T23:59:01Z", then, if any identity did not fit, "overflow=yes events=N
 * connections=N rejects=N up=N down=N" (events: handshakes, rejects and closes of
 * identities not kept). Returns 0 or a negative errno. */
int peers_report(FILE *out);
/* One identity's counts, copied out for the metrics (metrics-identities). */
struct peer_sample {
	char tunnel[TUNNEL_NAME_MAX];
	char id[256];
	unsigned first_seen; /* 0 for the first identity seen, 1 for the next, ... */
	uint64_t connections, rejects, up, down;
	time_t last_seen;
};

/* Copies the first max identities seen (by first_seen, in no particular order) into out;
 * *known is how many are kept in all. Returns how many were copied. */
size_t peers_snapshot(struct peer_sample *out, size_t max, size_t *known);
/* Forgets everything: for the unit test. */
void peers_reset(void);

#endif
