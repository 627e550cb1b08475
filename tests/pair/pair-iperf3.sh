#!/bin/bash
# pair-iperf3: iperf3 through ktund client -> ktund server, 5 s each way (-c, then -R); both
# runs must succeed. The throughput is printed, never asserted.
set -euo pipefail
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"
need_cmd iperf3
pair_init

IPERF_PORT=5201
bg_origin iperf3 -s -B 127.0.0.1 -p "$IPERF_PORT"
wait_port "$NS_ORIGIN" "$IPERF_PORT" || fail "iperf3 -s did not start"
SERVER_TARGET=127.0.0.1:$IPERF_PORT start_pair

# iperf3 -c ... [-R]: prints the receiver's summary line; fails if iperf3 fails.
run() {
	local label=$1 out
	shift
	out=$(in_edge timeout 30 iperf3 -c 127.0.0.1 -p "$EDGE_PORT" -t 5 -f m "$@" 2>&1) ||
		fail "iperf3 $label failed: $out"
	line=$(grep -E 'receiver$' <<<"$out" | tail -1)
	[ -n "$line" ] || fail "iperf3 $label: no receiver summary: $out"
	note "$label: $(awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") print $i " Mbit/s" }' <<<"$line") ($line)"
}
run "edge->origin (-c)"
run "origin->edge (-R)" -R

for who in server client; do
	wait_stat $who conns_open 0 10 || fail "$who: connections still open: $(ctl $who status)"
done
note "datapath: server $(stat_of server datapath), client $(stat_of client datapath)"
stop_pair
pass "iperf3 both ways through the pair"
