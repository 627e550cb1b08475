// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peers.h"
#include "config.h"

/* An open-addressed hash table twice the cap, so a probe ends soon at an empty slot. The
 * identity is escaped text (peer_cert.h) and at most 255 characters; longer is cut. */
#define SLOTS (2 * PEERS_MAX)

struct peer_row {
	bool used;
	unsigned seq;           /* order first seen: 0, 1, ... */
	char tunnel[TUNNEL_NAME_MAX];
	char id[256];
	uint64_t connections, rejects, up, down;
	time_t last_seen;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct peer_row *rows; /* SLOTS of them, allocated at first use */
static size_t n_rows;
/* What identities beyond the cap did, and how many distinct ones were turned away is not
 * known (they are not kept): the count is of events. */
static struct peer_row overflow;
static uint64_t overflow_events;

static uint64_t hash(const char *tunnel, const char *id)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (const char *s = tunnel; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL; /* no tunnel+id pair reads as another */
	for (const char *s = id; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* The row for tunnel and id, made if there is room; the overflow row if not. Under lock. */
static struct peer_row *find(const char *tunnel, const char *id)
{
	size_t i;

	if (!rows) {
		rows = calloc(SLOTS, sizeof(*rows));
		if (!rows)
			return &overflow;
	}
	for (i = hash(tunnel, id) % SLOTS; rows[i].used; i = (i + 1) % SLOTS)
		if (!strncmp(rows[i].tunnel, tunnel, sizeof(rows[i].tunnel) - 1) &&
		    !strncmp(rows[i].id, id, sizeof(rows[i].id) - 1))
			return &rows[i];
	if (n_rows >= PEERS_MAX) {
		overflow_events++;
		return &overflow;
	}
	rows[i].used = true;
	rows[i].seq = (unsigned)n_rows;
	snprintf(rows[i].tunnel, sizeof(rows[i].tunnel), "%s", tunnel);
	snprintf(rows[i].id, sizeof(rows[i].id), "%s", id);
	n_rows++;
	return &rows[i];
}

static void record(const char *tunnel, const char *id, unsigned conns, unsigned rejects,
		   uint64_t up, uint64_t down, time_t now)
{
	struct peer_row *r;

	pthread_mutex_lock(&lock);
	r = find(tunnel, id);
	r->connections += conns;
	r->rejects += rejects;
	r->up += up;
	r->down += down;
	r->last_seen = now;
	pthread_mutex_unlock(&lock);
}

void peers_connected(const char *tunnel, const char *id, time_t now)
{
	record(tunnel, id, 1, 0, 0, 0, now);
}

void peers_rejected(const char *tunnel, const char *id, time_t now)
{
	record(tunnel, id, 0, 1, 0, 0, now);
}

void peers_closed(const char *tunnel, const char *id, uint64_t up, uint64_t down, time_t now)
{
	record(tunnel, id, 0, 0, up, down, now);
}

static void put_row(FILE *out, const struct peer_row *r)
{
	struct tm tm;

	gmtime_r(&r->last_seen, &tm);
	fprintf(out, "tunnel=%s id=\"%s\" connections=%llu rejects=%llu up=%llu down=%llu "
		"last_seen=%04d-%02d-%02dT%02d:%02d:%02dZ\n", r->tunnel, r->id,
		(unsigned long long)r->connections, (unsigned long long)r->rejects,
		(unsigned long long)r->up, (unsigned long long)r->down, tm.tm_year + 1900,
		tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int peers_report(FILE *out)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	int rc;

	if (!mem)
		return -ENOMEM;
	/* Formatted into memory under the lock, written after: a slow reader of the control
	 * socket must not hold up the workers' handshakes. */
	pthread_mutex_lock(&lock);
	for (size_t i = 0; rows && i < SLOTS; i++)
		if (rows[i].used)
			put_row(mem, &rows[i]);
	if (overflow_events)
		fprintf(mem, "overflow=yes events=%llu connections=%llu rejects=%llu up=%llu down=%llu\n",
			(unsigned long long)overflow_events, (unsigned long long)overflow.connections,
			(unsigned long long)overflow.rejects, (unsigned long long)overflow.up,
			(unsigned long long)overflow.down);
	pthread_mutex_unlock(&lock);
	rc = fclose(mem) == 0 ? 0 : -ENOMEM;
	if (rc == 0 && fwrite(text, 1, len, out) != len)
		rc = -EIO;
	free(text);
	return rc;
}

size_t peers_snapshot(struct peer_sample *out, size_t max, size_t *known)
{
	size_t n = 0;

	pthread_mutex_lock(&lock);
	*known = n_rows;
	for (size_t i = 0; rows && i < SLOTS && n < max; i++) {
		if (!rows[i].used || rows[i].seq >= max)
			continue;
		snprintf(out[n].tunnel, sizeof(out[n].tunnel), "%s", rows[i].tunnel);
		snprintf(out[n].id, sizeof(out[n].id), "%s", rows[i].id);
		out[n].first_seen = rows[i].seq;
		out[n].connections = rows[i].connections;
		out[n].rejects = rows[i].rejects;
		out[n].up = rows[i].up;
		out[n].down = rows[i].down;
		out[n].last_seen = rows[i].last_seen;
		n++;
	}
	pthread_mutex_unlock(&lock);
	return n;
}

void peers_reset(void)
{
	pthread_mutex_lock(&lock);
	free(rows);
	rows = NULL;
	n_rows = 0;
	overflow = (struct peer_row){ 0 };
	overflow_events = 0;
	pthread_mutex_unlock(&lock);
}
