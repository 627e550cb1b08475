#!/bin/bash
# pair-pool-far: a ktund client's warm pool (pool = 1, one worker) against far sides that do
# more than wait for the CONNECT request (issue 14 §2):
#   tickets    openssl s_server (TLS 1.3) sends two session tickets right after the handshake,
#              then, a few seconds later, a line of data unasked: the pooled connection stays
#              ready through the tickets (pool_size 1 while only tickets came), and the data
#              closes it (detail: data before its CONNECT request; pool_discards.closed)
#   refused    a ktund server whose policy refuses the client (allow-cn nobody): in TLS 1.3
#              the refusal (an alert) comes after the client's Finished, in the pool phase:
#              a reject line and reject.tls-error on the client, pool_discards.closed
#   back-off   while the far side refuses every connection (or is not there), the refill backs
#              off (1 s doubling) instead of spinning: over 4 s, at most 6 pooled connections
#              are tried, and the failure is logged once
#   unused     a clean close of an unused pooled connection is no bad request to the server
#              (reason=done, close.bad-request 0)
set -euo pipefail
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"
pair_init
DEST=127.0.0.1:$ORIGIN_PORT
client() { start_client --destination "$DEST" --pool 1 --workers 1 "$@"; }

# The far side is openssl s_server: tickets, then data nobody asked for.
mkfifo "$WORK/sin"
ip netns exec "$NS_ORIGIN" openssl s_server -accept "$ORIGIN_IP:$TLS_PORT" -naccept 1 \
	-cert "$PKI/server.pem" -cert_chain "$PKI/inter.pem" -key "$PKI/server.key" \
	-CAfile "$PKI/ca.pem" -Verify 1 -verify_return_error -tls1_3 -num_tickets 2 \
	<"$WORK/sin" >"$WORK/s_server.log" 2>&1 &
SSERVER_PID=$!
exec 7>"$WORK/sin"
wait_port "$NS_ORIGIN" "$TLS_PORT" || fail "openssl s_server did not start"
client
wait_stat client pool_size 1 10 || fail "no pooled connection to openssl s_server"
wait_log "$WORK/s_server.log" 'CIPHER is|Verification: OK|ACCEPT' 10 >/dev/null 2>&1 || true
# The tickets came with the server's first flight after our Finished; the pool phase read
# them (or will), and the connection is still ready.
sleep 1 # not a timing assert: lets the tickets arrive before the check below means anything
[ "$(stat_of client pool_size)" = 1 ] && [ "$(stat_of client pool_discards.closed)" = 0 ] ||
	fail "the session tickets closed the pooled connection: $(close_lines "$CLIENT_LOG")"
ok "session tickets from the far side: the pooled connection stays ready"
echo "unasked data" >&7
wait_log "$CLIENT_LOG" 'reason=io-error detail="the far ktund sent data to a pooled connection before its CONNECT request"' 10 ||
	fail "data from the far side did not close the pooled connection: $(close_lines "$CLIENT_LOG")"
wait_stat client pool_discards.closed 1 10 || fail "pool_discards.closed is not 1"
ok "data from the far side before the request closes the pooled connection (discard: closed)"
exec 7>&-
kill "$SSERVER_PID" 2>/dev/null || true
wait "$SSERVER_PID" 2>/dev/null || true
stop_daemon "$CLIENT_PID" client
CLIENT_PID=

# A ktund server that refuses this client after the TLS 1.3 handshake.
SERVER_ALLOW_DEFAULT=0 SERVER_TARGET=from-client start_server --allow-cn nobody \
	--allow-destination "127.0.0.1/32:$ORIGIN_PORT"
client --tls-min 1.3
wait_ge client pool_discards.closed 1 10 || fail "the refused pooled connection was not discarded"
wait_log "$CLIENT_LOG" '\] reject peer=\? reason=tls-error' 1 ||
	fail "no reject line for the refusal: $(grep -E 'reject|close' "$CLIENT_LOG")"
[ "$(stat_of client reject.tls-error)" -ge 1 ] || fail "reject.tls-error not counted"
ok "a refusal after the handshake: a reject line, discarded as closed"
d0=$(($(stat_of client pool_discards.closed) + $(stat_of client pool_discards.failed)))
sleep 4 # the window the bound below is about, not a timing assert on ktund
d1=$(($(stat_of client pool_discards.closed) + $(stat_of client pool_discards.failed)))
note "refused: $((d1 - d0)) pooled connections tried in 4 s"
[ $((d1 - d0)) -le 6 ] || fail "the refill spins: $((d1 - d0)) pooled connections in 4 s"
[ "$(grep -c 'pool: a pooled connection to the far ktund' "$CLIENT_LOG")" = 1 ] ||
	fail "the failure was not logged exactly once: $(grep 'pool:' "$CLIENT_LOG")"
ok "the refill backs off while the far side refuses, logged once"
stop_pair

# A server that accepts: an unused pooled connection closed by the client is no bad request.
SERVER_TARGET=from-client start_server --allow-destination "127.0.0.1/32:$ORIGIN_PORT"
client --pool-idle 1
wait_ge client pool_discards.idle 2 10 || fail "no pool-idle discards"
wait_log "$SERVER_LOG" 'close peer=.* up=0 down=0 .*reason=done' 10 ||
	fail "the server logged no clean close of an unused pooled connection"
[ "$(stat_of server close.bad-request)" = 0 ] ||
	fail "unused pooled connections counted as bad requests: $(stat_of server close.bad-request)"
ok "an unused pooled connection ends reason=done on the server"
stop_pair
pass "the pool against far sides that send tickets, data or refusals"
