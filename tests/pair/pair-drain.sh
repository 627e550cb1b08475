#!/bin/bash
# pair-drain: SIGTERM while a slow transfer is in progress: new connections are refused, the
# transfer in progress completes intact, ktund exits 0. Done for the server ktund (origin side)
# and then for the client ktund (edge side).
set -euo pipefail
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"
pair_init

bg_origin python3 "$PAIRTOOL" serve-slow "$ORIGIN_PORT"
wait_port "$NS_ORIGIN" "$ORIGIN_PORT" || fail "origin did not start"

# slow_transfer NAME: 40 x 64 KiB through the pair, one chunk per 100 ms (about 4 s).
slow_transfer() {
	in_edge timeout 60 python3 "$PAIRTOOL" slow-client 127.0.0.1 "$EDGE_PORT" 40 100 "$1" \
		>"$WORK/$1.out" 2>&1 &
	slow=$!
}

# waitexit PID NAME MAX_S: wait for a daemon to exit by itself and return its status.
waitexit() {
	local i rc=0
	for ((i = 0; i < $3 * 10; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$1" 2>/dev/null && fail "ktund $2 still running $3 s after SIGTERM, with its transfer done"
	wait "$1" || rc=$?
	return $rc
}

for side in server client; do
	start_pair
	slow_transfer "drain-$side"
	wait_stat server conns_open 1 10 || fail "the slow transfer did not start: $(ctl server status)"
	sleep 1
	if [ $side = server ]; then pid=$SERVER_PID log=$SERVER_LOG; else pid=$CLIENT_PID log=$CLIENT_LOG; fi
	t0=$(date +%s.%N)
	kill -TERM "$pid"
	wait_log "$log" 'draining' 5 || fail "$side: no drain notice after SIGTERM"
	kill -0 $slow 2>/dev/null || fail "$side: the slow transfer ended at SIGTERM: $(cat "$WORK/drain-$side.out")"

	# New connections are refused while the old one drains.
	if [ $side = server ]; then
		out=$(in_edge timeout 10 python3 "$PAIRTOOL" expect-refused "$ORIGIN_IP" "$TLS_PORT" 2>&1) ||
			fail "server draining: a new TCP connection to its port was $out, want refused"
		ok "server draining: new connection to $ORIGIN_IP:$TLS_PORT $out"
		# Through the (still running) client ktund the app sees a reset, never a clean EOF.
		out=$(in_edge timeout 20 python3 "$PAIRTOOL" expect-reset 127.0.0.1 "$EDGE_PORT" 2>&1) ||
			fail "server draining: an app connection through the pair got '$out', want a reset"
		ok "server draining: new app connection through the pair: $out"
	else
		out=$(in_edge timeout 10 python3 "$PAIRTOOL" expect-refused 127.0.0.1 "$EDGE_PORT" 2>&1) ||
			fail "client draining: a new connection to 127.0.0.1:$EDGE_PORT was $out, want refused"
		ok "client draining: new connection to 127.0.0.1:$EDGE_PORT $out"
	fi

	rc=0
	wait $slow || rc=$?
	[ $rc = 0 ] || fail "$side draining: the transfer in progress failed: $(cat "$WORK/drain-$side.out")"
	ok "$side draining: transfer in progress $(cat "$WORK/drain-$side.out")"
	rc=0
	waitexit "$pid" $side 10 || rc=$?
	[ $rc = 0 ] || fail "ktund $side exited with status $rc after draining, want 0"
	ok "ktund $side exited 0 after $(python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')") s"
	grep -q 'all connections closed; exiting' "$log" || fail "$side: no 'all connections closed' notice"
	grep -E 'close .*reason=done' "$log" | grep -q ' down=2621440 ' ||
		fail "$side: no close line with reason=done down=2621440 for the drained transfer: $(close_lines "$log")"
	if [ $side = server ]; then SERVER_PID=; else CLIENT_PID=; fi
	stop_pair
	sleep 0.2
done
pass "SIGTERM drains: new connections refused, the live transfer completes, exit 0"
