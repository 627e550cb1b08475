#!/bin/bash
# robust-drain: SIGTERM to one daemon of the pair while twelve paced 3 MiB echo transfers run
# through it (--drain-timeout 15), first the server, then the client. New connections to the
# draining daemon are refused; every transfer in flight completes with equal SHA-256; the
# daemon exits 0 by itself once they are done, well within the drain timeout, having closed
# every connection as done (none as drain-timeout).
set -euo pipefail
. "$(dirname "$0")/robustlib.sh"
COUNT=12 DRAIN=15
robust_init
origin_up

for side in server client; do
	start_server --drain-timeout $DRAIN
	start_client --drain-timeout $DRAIN
	# Each transfer waits half way until SIGTERM has been sent and a new connection refused:
	# the drain always finds them in flight, however fast or slow this machine is.
	rm -f "$WORK/released"
	edge_tool transfers --count $COUNT --size $((3 << 20)) --interval 40 --hold "$WORK/released" \
		>"$WORK/drain-$side.out" 2>&1 &
	tpid=$!
	wait_stat $side conns_open $COUNT 10 || fail "$side: the transfers did not all start: $(ctl $side status | grep conns_open)"
	sleep 0.5
	if [ $side = server ]; then pid=$SERVER_PID log=$SERVER_LOG; else pid=$CLIENT_PID log=$CLIENT_LOG; fi
	t0=$(date +%s%N)
	kill -TERM "$pid"
	wait_log "$log" 'draining' 5 || fail "$side: no drain notice after SIGTERM"
	if [ $side = server ]; then
		out=$(in_edge timeout 10 python3 "$PAIRTOOL" expect-refused "$ORIGIN_IP" "$TLS_PORT" 2>&1) ||
			fail "server draining: a new connection to its TLS port was $out, want refused"
	else
		out=$(in_edge timeout 10 python3 "$PAIRTOOL" expect-refused 127.0.0.1 "$EDGE_PORT" 2>&1) ||
			fail "client draining: a new connection to its listener was $out, want refused"
	fi
	ok "$side draining: a new connection was $out"
	kill -0 $tpid 2>/dev/null || fail "$side: the transfers ended at SIGTERM: $(cat "$WORK/drain-$side.out")"
	touch "$WORK/released"

	rc=0
	wait $tpid || rc=$?
	[ $rc = 0 ] || fail "$side draining: transfers in flight: $(cat "$WORK/drain-$side.out")"
	ok "$side draining: $(cat "$WORK/drain-$side.out")"
	wait_daemon_exit "$pid" "$side" "$DRAIN"
	dt=$((($(date +%s%N) - t0) / 1000000))
	ok "$side exited 0, $dt ms after SIGTERM (drain timeout $DRAIN s)"
	grep -q 'all connections closed; exiting' "$log" || fail "$side: no 'all connections closed' notice"
	n=$(grep -cE '\] close .* reason=done$' "$log" || true)
	[ "$n" = $COUNT ] || fail "$side: $n close lines with reason=done, want $COUNT: $(close_lines "$log" | grep -v 'reason=done$' | head -3)"
	! grep -q 'reason=drain-timeout' "$log" || fail "$side: a connection was cut by the drain timeout"
	if [ $side = server ]; then SERVER_PID=; else CLIENT_PID=; fi
	stop_pair
done
pass "SIGTERM under load: in-flight transfers exact, new connections refused, exit 0 in time"
