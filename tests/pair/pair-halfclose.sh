#!/bin/bash
# pair-halfclose: a half-closed direction crosses the pair and the other direction keeps going.
#  1. the client sends a request and shuts its write side; the origin reads to EOF, then
#     answers; the answer reaches the client.
#  2. the origin greets and shuts its write side first; the client reads the greeting and EOF,
#     then still sends; the origin receives it.
set -euo pipefail
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"
pair_init
start_pair

# 1: client half-closes first.
bg_origin python3 "$PAIRTOOL" serve-halfclose "$ORIGIN_PORT" request
wait_port "$NS_ORIGIN" "$ORIGIN_PORT" || fail "origin did not start"
out=$(in_edge timeout 30 python3 "$PAIRTOOL" halfclose-client 127.0.0.1 "$EDGE_PORT" request 2>&1) ||
	fail "client half-close first: $out"
ok "client shut its write side first; $out"
wait "$ORIGIN_PID" || fail "origin (request mode) failed: $(cat "$WORK/origin.log")"
wait_log "$SERVER_LOG" '\] close .*reason=' 10 || fail "no close line in the server log"
grep -E '\] close .*reason=done' "$SERVER_LOG" | grep -q ' up=100000 ' ||
	fail "server close line (want up=100000 reason=done): $(close_lines "$SERVER_LOG")"

# 2: origin half-closes first.
msg="late data from the client, sent after the origin's EOF"
bg_origin python3 "$PAIRTOOL" serve-halfclose "$ORIGIN_PORT" greet "$WORK/origin-got"
wait_port "$NS_ORIGIN" "$ORIGIN_PORT" || fail "origin did not start"
out=$(in_edge timeout 30 python3 "$PAIRTOOL" halfclose-client 127.0.0.1 "$EDGE_PORT" greet \
	--message "$msg" 2>&1) || fail "origin half-close first: $out"
wait "$ORIGIN_PID" || fail "origin (greet mode) failed: $(cat "$WORK/origin.log")"
[ "$(cat "$WORK/origin-got")" = "$msg" ] ||
	fail "origin received '$(cat "$WORK/origin-got")' after its own EOF, want '$msg'"
ok "origin shut its write side first; client got the greeting and EOF, then its data reached the origin"

for who in server client; do
	wait_stat $who close.done 2 10 || fail "$who: want close.done 2: $(ctl $who status)"
	n=$(close_lines "$([ $who = server ] && echo "$SERVER_LOG" || echo "$CLIENT_LOG")" | grep -c 'reason=done')
	[ "$n" = 2 ] || fail "$who: want 2 close lines with reason=done"
done
stop_pair
pass "half-close crosses the pair in both directions"
