# shellcheck shell=bash
# robustlib.sh — shared by tests/robust/*.sh: the pair set-up of tests/lib/ktund.sh (ktund
# client in the edge namespace, ktund server in the origin namespace, veth between), the origin
# and load generators of robusttool.py, and what the tests measure of a running daemon: its
# descriptors (/proc/PID/fd), its memory (/proc/PID/smaps_rollup) and its counters (ktunctl).
#
#   app (edge) -> 127.0.0.1:$EDGE_PORT ktund client -TLS-> $ORIGIN_IP:$TLS_PORT ktund server
#       -> 127.0.0.1:$ORIGIN_PORT robusttool.py serve (origin namespace)
#
# Source it after `set -euo pipefail`, then robust_init.
ROBUST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"
RTOOL=$ROBUST_DIR/robusttool.py
ORIGIN_PID=

# shellcheck disable=SC2119 # no --app: two namespaces are enough
robust_init() {
	pair_init
	on_exit '_robust_cleanup'
}

_robust_cleanup() {
	[ -n "$ORIGIN_PID" ] && kill -TERM "$ORIGIN_PID" 2>/dev/null
	return 0
}

# origin_up: robusttool.py serve on 127.0.0.1:$ORIGIN_PORT in the origin namespace.
origin_up() {
	bg_origin python3 "$RTOOL" serve "$ORIGIN_PORT"
	wait_port "$NS_ORIGIN" "$ORIGIN_PORT" || fail "origin did not start"
}

# edge_tool SUBCOMMAND ARGS...: robusttool.py against the edge ktund's plaintext listener.
edge_tool() {
	local cmd=$1
	shift
	in_edge python3 "$RTOOL" "$cmd" 127.0.0.1 "$EDGE_PORT" "$@"
}

# pid_of server|client
pid_of() { if [ "$1" = server ]; then echo "$SERVER_PID"; else echo "$CLIENT_PID"; fi; }

# fds PID: open descriptors of PID.
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# mem_kb PID Rss|Pss: that line of /proc/PID/smaps_rollup, in KiB.
mem_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/smaps_rollup"; }

# wait_fds PID WANT [TIMEOUT_S]: wait until PID has WANT descriptors again.
wait_fds() {
	local i
	for ((i = 0; i < ${3:-10} * 10; i++)); do
		[ "$(fds "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# close_sum server|client: the sum of that daemon's close.* counters.
close_sum() {
	ctl "$1" status | awk -v p="$1.close." 'index($1, p) == 1 { s += $2 } END { print s + 0 }'
}

# check_books server|client TOTAL: nothing open, TOTAL connections seen, and every one of them
# closed exactly once (conns_total == sum of close.*).
check_books() {
	local who=$1 total=$2 st closed
	wait_stat "$who" conns_open 0 20 || fail "$who: conns_open not back to 0: $(ctl "$who" status | grep -v ' 0$')"
	st=$(ctl "$who" status)
	closed=$(close_sum "$who")
	grep -qx "$who.conns_total $total" <<<"$st" ||
		fail "$who: want conns_total $total: $(grep -v ' 0$' <<<"$st")"
	[ "$closed" = "$total" ] || fail "$who: $total connections opened but $closed closed: $(grep -v ' 0$' <<<"$st")"
	ok "$who: opened $total, closed $closed ($(grep -E "^$who\.close\." <<<"$st" | grep -v ' 0$' |
		sed "s/^$who\.close\.//" | tr '\n' ' '| sed 's/ $//'))"
}

# want_stat_of server|client COUNTER VALUE: that counter is exactly VALUE.
want_stat_of() {
	local got
	got=$(stat_of "$1" "$2")
	[ "$got" = "$3" ] || fail "$1: want $2 $3, got '$got': $(ctl "$1" status | grep -v ' 0$')"
}

# alive server|client
alive() { kill -0 "$(pid_of "$1")" 2>/dev/null || fail "ktund $1 died: $(tail -n 5 "$([ "$1" = server ] && echo "$SERVER_LOG" || echo "$CLIENT_LOG")")"; }
