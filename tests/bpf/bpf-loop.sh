#!/bin/bash
# bpf-loop: ktund's own connects are never redirected, even where a rule covers them. ktund
# client runs inside the cgroup the hooks are attached to, and a rule steers 192.0.2.0/24
# ports 80 and 8443 — which covers the far ktund it connects to (192.0.2.2:8443). A request
# to the origin still arrives through exactly one tunnelled connection on each side (were
# ktund's connect redirected to its own listener, it would accept it and connect again,
# without end). An application connecting to 192.0.2.2:8443 itself is steered like any other.
# ktund runs as nobody (user=): the exemption holds after the privilege drop.
set -euo pipefail
. "$(dirname "$0")/bpflib.sh"
bpf_init

start_far
for_nobody
start_gw --redirect 192.0.2.0/24:80 --redirect "192.0.2.0/24:$TLS_PORT" --user nobody
wait_log "$CLIENT_LOG" "running as user nobody" 1 || fail "ktund did not drop to nobody"
in_cgroup=$(sed -n 's/^0:://p' "/proc/$CLIENT_PID/cgroup")
[ "${CG%"$in_cgroup"}" != "$CG" ] && [ "$in_cgroup" != / ] ||
	fail "ktund is not in the test cgroup $CG but in $in_cgroup"
wait_stat client redirect_local attached 1 || fail "connect hooks not attached"

expect_peer "http://$ORIGIN_IP/" "$TUNNELLED" "app to port 80: tunnelled, ktund's own connect to :$TLS_PORT not looped"
wait_log "$CLIENT_LOG" '\] close .*reason=done' 10 || fail "no close line in the client log"
[ "$(stat_of client conns_total)" = 1 ] || fail "client accepted $(stat_of client conns_total) connections for one request (a loop)"
[ "$(stat_of client redirected_local)" = 1 ] || fail "redirected_local is $(stat_of client redirected_local), want 1"
[ "$(stat_of server conns_total)" = 1 ] || fail "server accepted $(stat_of server conns_total) connections for one request"

expect_peer "http://$ORIGIN_IP:$TLS_PORT/" "$TUNNELLED" "app to the far ktund's own port: steered like any other"
wait_stat client conns_total 2 5 || fail "client conns_total is $(stat_of client conns_total), want 2"
grep -Eq "\] close peer=127\.0\.0\.1:[0-9]+ dst=$ORIGIN_IP:$TLS_PORT id=.* reason=done" "$CLIENT_LOG" ||
	fail "no close line with dst=$ORIGIN_IP:$TLS_PORT"
[ "$(stat_of server conns_total)" = 2 ] || fail "server conns_total is $(stat_of server conns_total), want 2"
stop_pair
pass "ktund's connects inside a redirected range are not looped"
