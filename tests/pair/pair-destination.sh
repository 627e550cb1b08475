#!/bin/bash
# pair-destination: ktund client with `destination` -> ktund server --target from-client, end
# to end (issue 13). Origins on 203.0.113.1 and 203.0.113.2 port 7000 in the origin namespace
# (tests/lib/connect_relay.py origin: a banner naming the address, then an echo); the server
# allows 203.0.113.1/32:7000 only.
#   allowed   destination = 203.0.113.1:7000: the application gets that origin's banner and
#             its bytes echoed; both close lines say dst=203.0.113.1:7000 reason=done
#   denied    destination = 203.0.113.2:7000: the server refuses it (403); the application is
#             reset and the client counts destination-refused with the status in its detail
# Skips until the server side is built: `ktund server --help` must mention from-client.
set -euo pipefail
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"
"$KTUND" server --help 2>&1 | grep -q 'from-client' ||
	skip "ktund server has no --target from-client yet (the server side of issue 13)"
pair_init

RELAY=$KTUN_LIB/connect_relay.py
relay_origins 203.0.113.1:7000 203.0.113.2:7000
SERVER_TARGET=from-client start_server --allow-destination 203.0.113.1/32:7000

# through DESTINATION TEXT: a client tunnel to DESTINATION, the application's exchange;
# sets OUT and RC.
through() {
	[ -n "$CLIENT_PID" ] && stop_daemon "$CLIENT_PID" client
	CLIENT_PID=
	start_client --destination "$1"
	RC=0
	OUT=$(ip netns exec "$NS_EDGE" python3 "$RELAY" app "127.0.0.1:$EDGE_PORT" "$2") || RC=$?
}

through 203.0.113.1:7000 "hello"
[ "$RC" = 0 ] || fail "allowed: app exit $RC: $OUT"
grep -qF "b'banner 203.0.113.1:7000 peer=" <<<"$OUT" && grep -qF '\nhello\n' <<<"$OUT" ||
	fail "allowed: got $OUT"
wait_log "$CLIENT_LOG" '\] close .* dst=203\.0\.113\.1:7000 .*reason=done' 10 ||
	fail "client: no close line dst=203.0.113.1:7000 reason=done"
wait_log "$SERVER_LOG" '\] close .*dst=203\.0\.113\.1:7000 .*reason=done' 10 ||
	fail "server: no close line dst=203.0.113.1:7000 reason=done"
ok "allowed destination reached through the pair"

through 203.0.113.2:7000 "hello"
[ "$RC" = 3 ] || fail "denied: want a reset (exit 3), got $RC: $OUT"
wait_log "$CLIENT_LOG" '\] close .* dst=203\.0\.113\.2:7000 .*reason=destination-refused detail="the relay answered 403' 10 ||
	fail "client: no close line reason=destination-refused with the 403"
[ "$(stat_of client close.destination-refused)" = 1 ] || fail "client: close.destination-refused is not 1"
ok "denied destination: the application reset, the refusal counted"

stop_pair
pass "client destination against ktund server --target from-client"
