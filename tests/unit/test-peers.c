// SPDX-License-Identifier: GPL-2.0-only
/* peers: per-identity counts, and the cap that keeps a stream of new identities from growing
 * ktund's memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "peers.h"

static char *report(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	CHECK(mem && peers_report(mem) == 0);
	fclose(mem);
	return text;
}

static void test_counts(void)
{
	char *text;

	peers_reset();
	peers_connected("server", "spiffe://ktun.test/a", 0);
	peers_closed("server", "spiffe://ktun.test/a", 5, 3, 0);
	peers_connected("server", "spiffe://ktun.test/a", 0);
	peers_closed("server", "spiffe://ktun.test/a", 1, 2, 60);
	peers_rejected("server", "-", 0);
	/* The same identity on another tunnel is another row. */
	peers_rejected("other", "spiffe://ktun.test/a", 0);
	text = report();
	CHECK(strstr(text, "tunnel=server id=\"spiffe://ktun.test/a\" connections=2 rejects=0 up=6 "
			   "down=5 last_seen=1970-01-01T00:01:00Z\n"));
	CHECK(strstr(text, "tunnel=server id=\"-\" connections=0 rejects=1 "));
	CHECK(strstr(text, "tunnel=other id=\"spiffe://ktun.test/a\" connections=0 rejects=1 "));
	CHECK(!strstr(text, "overflow"));
	free(text);
}

static void test_cap(void)
{
	char id[32], *text;
	size_t lines = 0;

	peers_reset();
	for (int i = 0; i < PEERS_MAX + 10; i++) {
		snprintf(id, sizeof(id), "CN=peer-%d", i);
		peers_connected("server", id, 0);
	}
	/* A kept identity is still counted once the table is full. */
	peers_rejected("server", "CN=peer-0", 0);
	text = report();
	for (const char *p = text; (p = strstr(p, "tunnel=")); p++)
		lines++;
	CHECK(lines == PEERS_MAX);
	CHECK(strstr(text, "id=\"CN=peer-0\" connections=1 rejects=1 "));
	CHECK(!strstr(text, "id=\"CN=peer-1024\""));
	CHECK(strstr(text, "overflow=yes events=10 connections=10 rejects=0 up=0 down=0\n"));
	free(text);
}

int main(void)
{
	RUN(test_counts);
	RUN(test_cap);
	return check_result();
}
