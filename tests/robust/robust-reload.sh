#!/bin/bash
# robust-reload: eight paced 4 MiB echo transfers and a stream of short connections go through
# the pair while both daemons reload eight times, by SIGHUP and by `ktunctl reload` in turn.
# Every reload succeeds, every transfer completes with equal SHA-256, every short exchange
# echoes exactly, and the books say every connection ended done: none lost to a reload.
set -euo pipefail
. "$(dirname "$0")/robustlib.sh"
COUNT=8 SHORT=800 RELOADS=8
robust_init
origin_up
start_pair

# Each transfer waits half way until the reloads are done: all eight reloads fall mid-transfer
# however fast or slow this machine is.
edge_tool transfers --count $COUNT --size $((4 << 20)) --interval 20 --hold "$WORK/reloaded" \
	>"$WORK/transfers.out" 2>&1 &
tpid=$!
edge_tool churn $SHORT >"$WORK/churn.out" 2>&1 &
cpid=$!
wait_stat server conns_open $COUNT 10 || wait_stat server conns_open $((COUNT + 1)) 1 ||
	fail "the transfers did not all start: $(ctl server status | grep conns_open)"
for ((i = 0; i < RELOADS; i++)); do
	for who in server client; do
		if [ $((i % 2)) = 0 ]; then
			kill -HUP "$(pid_of $who)"
		else
			out=$(ctl $who reload 2>&1) || fail "$who: ktunctl reload #$i: $out"
			[ "$out" = "reload ok" ] || fail "$who: ktunctl reload #$i printed '$out'"
		fi
	done
	sleep 0.5
	kill -0 $tpid 2>/dev/null || fail "the transfers ended before reload #$i: $(cat "$WORK/transfers.out")"
done
touch "$WORK/reloaded"
for who in server client; do
	log=$([ $who = server ] && echo "$SERVER_LOG" || echo "$CLIENT_LOG")
	for ((i = 0; i < 50; i++)); do
		[ "$(grep -c "reload ok" "$log")" -ge $RELOADS ] && break
		sleep 0.1
	done
	n=$(grep -c 'reload ok' "$log" || true)
	[ "$n" = $RELOADS ] || fail "$who: $n 'reload ok' lines for $RELOADS reloads"
	! grep -q 'reload failed' "$log" || fail "$who: $(grep -m1 'reload failed' "$log")"
	ok "$who: $RELOADS reloads, $n 'reload ok' in the log"
done

rc=0
wait $tpid || rc=$?
[ $rc = 0 ] || fail "transfers across the reloads: $(cat "$WORK/transfers.out")"
ok "across $RELOADS reloads: $(cat "$WORK/transfers.out")"
rc=0
wait $cpid || rc=$?
[ $rc = 0 ] || fail "short connections across the reloads: $(cat "$WORK/churn.out")"
ok "across $RELOADS reloads: $(cat "$WORK/churn.out")"
for who in server client; do
	check_books $who $((COUNT + SHORT))
	want_stat_of $who close.done $((COUNT + SHORT))
	alive $who
done
stop_pair
pass "no connection lost across $RELOADS reloads of each daemon"
