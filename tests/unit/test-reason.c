// SPDX-License-Identifier: GPL-2.0-only
/* The reason names are an interface (log lines, counter names): docs/test-contract.md lists
 * them, and what a reason implies for the connection follows from the same document. */
#include "check.h"
#include "reason.h"

/* docs/test-contract.md, "Reasons". */
static const char *const contract_reasons[] = {
	"done", "no-client-cert", "expired", "not-yet-valid", "revoked", "untrusted",
	"wrong-name", "bad-purpose", "policy-denied", "tls-error", "handshake-timeout",
	"peer-closed", "target-unreachable", "connect-timeout", "idle-timeout", "reset",
	"truncated", "drain-timeout", "shutdown", "io-error", "ocsp-missing", "ocsp-invalid",
	"bad-certificate",
	"no-destination", "destination-refused", "bad-answer", /* client destination */
	"destination-denied", "bad-request", "resolver-busy",  /* server, from-client */
	"request-timeout",                                    /* server, from-client */
	"pool-idle", "pool-reload",                           /* client pool */
};

/* The reasons that refuse a peer during the handshake: they appear on `reject` lines. */
static const char *const handshake_rejects[] = {
	"no-client-cert", "expired", "not-yet-valid", "revoked", "untrusted", "wrong-name",
	"bad-purpose", "policy-denied", "tls-error", "handshake-timeout", "peer-closed",
	"ocsp-missing", "ocsp-invalid", "bad-certificate",
};

#define N(array) (sizeof(array) / sizeof(array[0]))

static int reason_by_name(const char *name)
{
	for (int r = 0; r < REASON_MAX; r++)
		if (!strcmp(reason_name((enum reason)r), name))
			return r;
	return -1;
}

static void test_names_present_and_unique(void)
{
	for (int r = 0; r < REASON_MAX; r++) {
		const char *name = reason_name((enum reason)r);

		CHECK(name && *name);
		CHECK(reason_by_name(name) == r); /* the first with this name is itself */
	}
}

static void test_contract_reasons_exist(void)
{
	for (size_t i = 0; i < N(contract_reasons); i++) {
		if (reason_by_name(contract_reasons[i]) < 0)
			fprintf(stderr, "missing reason '%s'\n", contract_reasons[i]);
		CHECK(reason_by_name(contract_reasons[i]) >= 0);
	}
}

static void test_out_of_range(void)
{
	CHECK_STR(reason_name(REASON_MAX), "unknown");
	CHECK(!reason_resets(REASON_MAX));
	CHECK(!reason_is_reject(REASON_MAX));
}

static void test_handshake_rejects(void)
{
	for (size_t i = 0; i < N(handshake_rejects); i++)
		CHECK(reason_is_reject((enum reason)reason_by_name(handshake_rejects[i])));
	CHECK(!reason_is_reject(REASON_DONE));
	CHECK(!reason_is_reject(REASON_TARGET_UNREACHABLE));
	CHECK(!reason_is_reject(REASON_RESET));
	CHECK(!reason_is_reject(REASON_TRUNCATED));
	CHECK(!reason_is_reject(REASON_IDLE_TIMEOUT));
}

/* "Failures are not hidden": a refused peer or a failure mid-stream is a reset, a clean end
 * of both directions is not. */
static void test_resets(void)
{
	for (int r = 0; r < REASON_MAX; r++)
		if (reason_is_reject((enum reason)r))
			CHECK(reason_resets((enum reason)r));
	CHECK(reason_resets(REASON_TARGET_UNREACHABLE));
	CHECK(reason_resets(REASON_CONNECT_TIMEOUT));
	CHECK(reason_resets(REASON_RESET));
	CHECK(reason_resets(REASON_TRUNCATED));
	CHECK(!reason_resets(REASON_DONE));
	CHECK(!reason_resets(REASON_NONE));
}

/* Status and metrics list what a tunnel's side can give: a server checks no name. */
static void test_possible(void)
{
	CHECK(!reason_possible(REASON_WRONG_NAME, true));
	CHECK(reason_possible(REASON_WRONG_NAME, false));
	for (int r = REASON_DONE; r < REASON_MAX; r++) {
		CHECK(reason_possible((enum reason)r, false));
		if (r != REASON_WRONG_NAME && r != REASON_NO_DESTINATION &&
		    r != REASON_DESTINATION_REFUSED && r != REASON_BAD_ANSWER &&
		    r != REASON_POOL_IDLE && r != REASON_POOL_RELOAD)
			CHECK(reason_possible((enum reason)r, true));
	}
	CHECK(!reason_possible(REASON_MAX, false));
}

/* The client pool's own closes (pool.c) are graceful (close_notify, so the far server sees a
 * clean end, no refusal) and a server has no pool; the server's request-timeout is graceful. */
static void test_pool_reasons(void)
{
	const enum reason pool[] = { REASON_POOL_IDLE, REASON_POOL_RELOAD };

	for (size_t i = 0; i < N(pool); i++) {
		CHECK(!reason_resets(pool[i]));
		CHECK(!reason_is_reject(pool[i]));
		CHECK(reason_possible(pool[i], false));
		CHECK(!reason_possible(pool[i], true));
	}
	CHECK(!reason_resets(REASON_REQUEST_TIMEOUT));
	CHECK(!reason_is_reject(REASON_REQUEST_TIMEOUT));
	CHECK(reason_possible(REASON_REQUEST_TIMEOUT, true));
}

/* A client tunnel's destination (dest_announce.c): the application's connection is reset,
 * and the far side's refusal is not the handshake's, so no reject line; a server never
 * gives these, so its status leaves them out. */
static void test_destination_reasons(void)
{
	const enum reason client_only[] = { REASON_NO_DESTINATION, REASON_DESTINATION_REFUSED,
					    REASON_BAD_ANSWER };

	for (size_t i = 0; i < N(client_only); i++) {
		CHECK(reason_resets(client_only[i]));
		CHECK(!reason_is_reject(client_only[i]));
		CHECK(reason_possible(client_only[i], false));
		CHECK(!reason_possible(client_only[i], true));
	}
}

/* A from-client server answers these with an HTTP status and close_notify after the
 * handshake: a reset would destroy the answer, and the handshake itself succeeded. */
static void test_answered_refusals(void)
{
	static const enum reason answered[] = { REASON_DESTINATION_DENIED, REASON_BAD_REQUEST };

	for (size_t i = 0; i < N(answered); i++) {
		CHECK(!reason_resets(answered[i]));
		CHECK(!reason_is_reject(answered[i]));
		CHECK(reason_possible(answered[i], true));
	}
}

int main(void)
{
	RUN(test_names_present_and_unique);
	RUN(test_contract_reasons_exist);
	RUN(test_out_of_range);
	RUN(test_handshake_rejects);
	RUN(test_resets);
	RUN(test_possible);
	RUN(test_pool_reasons);
	RUN(test_destination_reasons);
	RUN(test_answered_refusals);
	return check_result();
}
