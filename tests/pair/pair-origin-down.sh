#!/bin/bash
# pair-origin-down: failures propagate as resets, never as a clean EOF.
#  1. nothing listens at the server's target: an app connecting through the pair sees its
#     connection reset (python ConnectionResetError; curl exit 56, or 7 if the reset beats
#     curl's own connect), the server logs
#     reason=target-unreachable.
#  2. the origin's ktund itself is down: the client ktund logs reason=target-unreachable and the
#     app again sees a reset.
set -euo pipefail
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"
need_cmd curl
pair_init
start_pair

# 1: no origin at 127.0.0.1:$ORIGIN_PORT in the origin namespace.
out=$(in_edge timeout 30 python3 "$PAIRTOOL" expect-reset 127.0.0.1 "$EDGE_PORT" 2>&1) ||
	fail "python client through the pair, origin down: want a reset, got: $out"
ok "python client saw: $out"
rc=0
resets=$(grep -c 'close .*reason=reset' "$CLIENT_LOG" || true)
err=$(in_edge curl -sS --max-time 20 -o /dev/null "http://127.0.0.1:$EDGE_PORT/" 2>&1) || rc=$?
# Exit 56 (reset while receiving). On a loaded machine the reset can reach curl before it sees
# its own connect complete, which curl reports as exit 7: a failed connection too. What must
# never happen is a clean end (exit 0, or 52 for an empty reply).
case $rc in
56) grep -qi reset <<<"$err" || fail "curl exit 56 without a reset: $err" ;;
7)	# Only if ktund accepted it and reset it (the close line is written before the reset is
	# sent): a listener that is gone gives 7 as well.
	[ "$(grep -c 'close .*reason=reset' "$CLIENT_LOG")" -gt "$resets" ] ||
		fail "curl exit 7 and the client ktund reset nothing: $err" ;;
*) fail "curl through the pair, origin down: want a reset (exit 56, or 7), got $rc: $err" ;;
esac
ok "curl exit $rc: $err"
wait_log "$SERVER_LOG" 'close .*reason=target-unreachable' 10 ||
	fail "server did not log reason=target-unreachable"
n=$(grep -c 'close .*reason=target-unreachable' "$SERVER_LOG")
[ "$n" = 2 ] || fail "server: want 2 target-unreachable close lines, got $n"
ok "server: $(grep -m1 'reason=target-unreachable' "$SERVER_LOG")"
wait_stat server close.target-unreachable 2 5 || fail "server counter: $(ctl server status)"
wait_log "$CLIENT_LOG" 'close .*reason=' 10 || fail "no close line in the client log"
note "client: $(close_lines "$CLIENT_LOG" | head -1)"
grep -E 'close .*reason=done' "$CLIENT_LOG" && fail "client logged reason=done for a reset connection"

# 2: the origin's ktund is down (nothing at $ORIGIN_IP:$TLS_PORT).
stop_daemon "$SERVER_PID" server
SERVER_PID=
out=$(in_edge timeout 30 python3 "$PAIRTOOL" expect-reset 127.0.0.1 "$EDGE_PORT" 2>&1) ||
	fail "python client, origin ktund down: want a reset, got: $out"
ok "origin ktund down, python client saw: $out"
wait_log "$CLIENT_LOG" 'close .*reason=target-unreachable' 10 ||
	fail "client did not log reason=target-unreachable with the origin ktund down"
ok "client: $(grep -m1 'reason=target-unreachable' "$CLIENT_LOG")"
stop_pair
pass "origin down resets the app's connection"
