#!/bin/bash
# pair-pool-fds: the descriptor budget counts the warm pool (review finding 5). A client with
# RLIMIT_NOFILE 300 (soft = hard: it cannot raise it), max-connections 50 (about 171
# descriptors without a pool) and pool 150 (one socket each, outside max-connections) needs
# more than it has: the start warns. Before the fix the pool was left out, and no warning came.
set -euo pipefail
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"
pair_init
need_cmd prlimit
# $1: pool size. Starts a client under the limit; no far side needed for the start's check.
client_limited() {
	CLIENT_LOG=$WORK/client-pool$1.log
	ip netns exec "$NS_EDGE" prlimit --nofile=300:300 "$KTUND" client --listen "127.0.0.1:$EDGE_PORT" \
		--target "$ORIGIN_IP:$TLS_PORT" --server-name origin.test --cert "$PKI/client-chain.pem" \
		--key "$PKI/client.key" --cacert "$PKI/ca.pem" --control "$WORK/client.sock" \
		--destination "127.0.0.1:$ORIGIN_PORT" --pool "$1" --workers 1 --max-connections 50 \
		2>"$CLIENT_LOG" &
	CLIENT_PID=$!
	_wait_ready "$CLIENT_PID" "$CLIENT_LOG" client
}

client_limited 10
! grep -q 'RLIMIT_NOFILE is 300' "$CLIENT_LOG" ||
	fail "a small pool within the budget warned: $(grep RLIMIT "$CLIENT_LOG")"
stop_daemon "$CLIENT_PID" client
CLIENT_PID=
client_limited 150
grep -q 'RLIMIT_NOFILE is 300 but max-connections (and pool) need about' "$CLIENT_LOG" ||
	fail "a pool of 150 beyond the descriptor budget did not warn: $(grep RLIMIT "$CLIENT_LOG")"
ok "the descriptor budget counts the pool's sockets"
stop_pair
pass "the warm pool in the descriptor budget"
