#!/bin/bash
# robust-flap: the origin is killed (SIGKILL) and restarted six times while four client loops
# make short exchanges through the pair without pause. Every exchange either echoes exactly or
# is reset; a clean end of stream the origin never sent, a refusal or a hang is a failure (the
# origin's sockets carry SO_LINGER 0, so its death resets them). Both kinds must occur. The
# daemons' books agree with what the applications saw: the client ktund closed as done exactly
# the exchanges that succeeded and as reset all the others; the server ktund refused
# (target-unreachable) or reset the same ones. Both daemons live on with their descriptors.
set -euo pipefail
. "$(dirname "$0")/robustlib.sh"
CYCLES=6
robust_init
origin_up
start_pair
fd_s=$(fds "$SERVER_PID") fd_c=$(fds "$CLIENT_PID")

edge_tool flap-clients --loops 4 --seconds $((CYCLES * 3 + 2)) >"$WORK/flap.out" 2>&1 &
clients=$!
for ((i = 1; i <= CYCLES; i++)); do
	sleep 1.5
	kill -KILL "$ORIGIN_PID"
	wait "$ORIGIN_PID" 2>/dev/null || true
	ORIGIN_PID=
	sleep 1
	origin_up
done
rc=0
wait $clients || rc=$?
out=$(cat "$WORK/flap.out")
[ $rc = 0 ] || fail "clients during the flapping: $out"
ok "clients across $CYCLES origin restarts: $out"
read -r ok reset <<<"$(sed -nE '1s/^ok=([0-9]+) reset=([0-9]+) bad=0$/\1 \2/p' <<<"$out")"
if [ -z "$ok" ] || [ "$ok" = 0 ]; then fail "no exchange succeeded while the origin was up: $out"; fi
[ "$reset" -gt 0 ] || fail "no exchange was reset while the origin was down: $out"
alive server
alive client

total=$((ok + reset))
check_books client $total
check_books server $total
want_stat_of client close.done "$ok"
want_stat_of client close.reset "$reset"
want_stat_of server close.done "$ok"
s_unreach=$(stat_of server close.target-unreachable) s_reset=$(stat_of server close.reset)
[ "$s_unreach" -gt 0 ] || fail "server: no target-unreachable while the origin was down"
[ $((s_unreach + s_reset)) = "$reset" ] ||
	fail "server: target-unreachable $s_unreach + reset $s_reset, but the applications saw $reset resets"
wait_fds "$SERVER_PID" "$fd_s" 10 || fail "server: $(fds "$SERVER_PID") fds afterwards, $fd_s before"
wait_fds "$CLIENT_PID" "$fd_c" 10 || fail "client: $(fds "$CLIENT_PID") fds afterwards, $fd_c before"

out=$(edge_tool churn 20 2>&1) || fail "after the flapping, with the origin up: $out"
ok "afterwards: $out"
stop_pair
pass "a flapping origin gives resets or exact echoes, never a silent close; books agree"
