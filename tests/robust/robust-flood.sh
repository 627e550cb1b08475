#!/bin/bash
# robust-flood: hundreds of hostile peers at the ktund server's TLS port at once — junk bytes,
# a ClientHello dribbled a byte every 100 ms, a whole ClientHello and then silence, nothing at
# all — while legitimate transfers and short connections go through the pair. The legitimate
# ones all complete (SHA-256 equal); every junk connection is refused with tls-error; every slow
# one is closed by the 2 s handshake timeout, no sooner, with reason handshake-timeout; the
# counters (status and metrics) say exactly that; the server's descriptors are back to their
# count before the flood.
# shellcheck disable=SC2119 # start_server/start_client take no arguments here
set -euo pipefail
. "$(dirname "$0")/robustlib.sh"
GARBAGE=300 DRIBBLE=100 STALL=100 SILENT=100
robust_init
origin_up
start_server --handshake-timeout 2
start_client

# Warm up (first connection allocates what stays: GnuTLS state, buffers), then the baseline.
edge_tool churn 1 >/dev/null || fail "warm-up connection failed"
wait_stat server conns_open 0 10 || fail "warm-up connection still open"
base_s=$(fds "$SERVER_PID") base_c=$(fds "$CLIENT_PID")
note "baseline: server $base_s fds, client $base_c fds"

# Legitimate load for the whole flood: 4 transfers of 4 MiB paced over ~4 s, 200 short ones.
edge_tool transfers --count 4 --size $((4 << 20)) --interval 60 >"$WORK/good-transfers.out" 2>&1 &
good1=$!
edge_tool churn 200 >"$WORK/good-churn.out" 2>&1 &
good2=$!

hostile=$((GARBAGE + DRIBBLE + STALL + SILENT))
out=$(in_edge timeout 60 python3 "$RTOOL" flood "$ORIGIN_IP" "$TLS_PORT" --garbage $GARBAGE \
	--dribble $DRIBBLE --stall $STALL --silent $SILENT --min-slow 1.5 --limit 15 2>&1) ||
	fail "hostile connections not ended as they should be: $out"
ok "$out"

rc=0
wait $good1 || rc=$?
[ $rc = 0 ] || fail "legitimate transfers during the flood: $(cat "$WORK/good-transfers.out")"
ok "during the flood: $(cat "$WORK/good-transfers.out")"
rc=0
wait $good2 || rc=$?
[ $rc = 0 ] || fail "legitimate short connections during the flood: $(cat "$WORK/good-churn.out")"
ok "during the flood: $(cat "$WORK/good-churn.out")"
alive server

good=$((1 + 4 + 200))
slow=$((DRIBBLE + STALL + SILENT))
check_books server $((good + hostile))
check_books client $good
want_stat_of server reject.tls-error $GARBAGE
want_stat_of server close.tls-error $GARBAGE
want_stat_of server reject.handshake-timeout $slow
want_stat_of server close.handshake-timeout $slow
want_stat_of server close.done $good
want_stat_of server handshakes_ok $good
n=$(grep -c '\] reject .*reason=handshake-timeout detail="no complete handshake within 2 s"' "$SERVER_LOG" || true)
[ "$n" = $slow ] || fail "want $slow reject lines with reason=handshake-timeout, got $n"
m=$(ctl server metrics)
grep -qx "ktund_handshake_failures_total{tunnel=\"server\",reason=\"tls-error\"} $GARBAGE" <<<"$m" ||
	fail "metrics: want $GARBAGE tls-error failures: $(grep handshake_failures <<<"$m")"
grep -qx "ktund_handshake_failures_total{tunnel=\"server\",reason=\"handshake-timeout\"} $slow" <<<"$m" ||
	fail "metrics: want $slow handshake-timeout failures: $(grep handshake_failures <<<"$m")"
ok "metrics: $GARBAGE tls-error, $slow handshake-timeout"

wait_fds "$SERVER_PID" "$base_s" 10 || fail "server: $(fds "$SERVER_PID") fds after the flood, $base_s before"
wait_fds "$CLIENT_PID" "$base_c" 10 || fail "client: $(fds "$CLIENT_PID") fds after the flood, $base_c before"
ok "fds back to baseline: server $base_s, client $base_c"

# Still serving.
out=$(edge_tool churn 20 2>&1) || fail "after the flood: $out"
stop_pair
pass "$hostile hostile handshakes refused or timed out exactly, legitimate traffic unharmed, no fd leak"
