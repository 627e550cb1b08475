#!/bin/bash
# pair-concurrent: 1,000 connections open at once through the pair (python asyncio), each
# sends a distinct message and gets exactly it back from an echo origin; while all are open
# both daemons count them in conns_open; after they close, conns_open is 0 on both sides.
set -euo pipefail
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"
N=${KTUN_PAIR_CONNS:-1000}
# Each tunnelled connection costs the client ktund and the server ktund two descriptors and
# the echo origin and the test client one each.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $((2 * N + 500)) ] ||
	skip "RLIMIT_NOFILE $(ulimit -n) is too low for $N connections (hard limit $(ulimit -Hn))"
pair_init
note "RLIMIT_NOFILE $(ulimit -n)"

bg_origin python3 "$PAIRTOOL" serve-echo "$ORIGIN_PORT"
wait_port "$NS_ORIGIN" "$ORIGIN_PORT" || fail "echo origin did not start"
start_pair

mkdir "$WORK/hold"
in_edge timeout 150 python3 "$PAIRTOOL" concurrent 127.0.0.1 "$EDGE_PORT" "$N" --hold "$WORK/hold" \
	>"$WORK/concurrent.out" 2>&1 &
cpid=$!
for ((i = 0; i < 1200; i++)); do
	[ -e "$WORK/hold/held" ] && break
	kill -0 $cpid 2>/dev/null || break
	sleep 0.1
done
[ -e "$WORK/hold/held" ] || { wait $cpid || true; fail "the $N connections were not all echoed: $(cat "$WORK/concurrent.out")"; }
s_open=$(stat_of server conns_open)
c_open=$(stat_of client conns_open)
note "with all $N open: server conns_open $s_open, client conns_open $c_open"
touch "$WORK/hold/release"
rc=0
wait $cpid || rc=$?
note "$(cat "$WORK/concurrent.out")"
[ $rc = 0 ] || fail "concurrent client failed (exit $rc)"
[ "$s_open" = "$N" ] || fail "server conns_open $s_open while $N connections were open"
[ "$c_open" = "$N" ] || fail "client conns_open $c_open while $N connections were open"

for who in server client; do
	wait_stat $who conns_open 0 20 || fail "$who: conns_open not 0 after all closed: $(ctl $who status)"
	st=$(ctl $who status)
	note "$who: $(grep -E "^$who\.(conns_open|conns_total|close\.done) " <<<"$st" | tr '\n' ' ')"
	grep -qx "$who.conns_total $N" <<<"$st" || fail "$who: want conns_total $N: $st"
	grep -qx "$who.close.done $N" <<<"$st" || fail "$who: want close.done $N: $st"
done
stop_pair
pass "$N concurrent connections echoed exactly; conns_open back to 0"
