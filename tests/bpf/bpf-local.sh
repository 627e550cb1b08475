#!/bin/bash
# bpf-local: curl in the test's cgroup asks for the origin's own addresses (192.0.2.2:80,
# [2001:db8:1::2]:80) and reaches it through ktund client -> ktund server over mutual TLS: the
# origin sees the far ktund (127.0.0.1) as its peer, the server logs the client's identity,
# the client logs dst= the original destination (also in ktunctl conns while it is live).
# Port 81 is not in the rules and goes direct (the origin sees the edge), as does port 80
# from a process outside the cgroup. With KTUN_BPF_EXPECT_KTLS=1 (the kTLS guest) the steered
# connection must be kTLS end to end. After ktund exits (even by SIGKILL) no program is left on
# the cgroup.
set -euo pipefail
. "$(dirname "$0")/bpflib.sh"
bpf_init

start_far
start_gw --redirect 192.0.2.0/24:80 --redirect "[2001:db8:1::/64]:80"
wait_stat client redirect_local attached 1 || fail "connect hooks not attached: $(ctl client status | grep redirect)"

expect_peer "http://$ORIGIN_IP/" "$TUNNELLED" "IPv4, matching: tunnelled"
expect_peer "http://[$ORIGIN_IP6]/" "$TUNNELLED" "IPv6, matching: tunnelled"
expect_peer "http://$ORIGIN_IP:81/" "$EDGE_IP" "IPv4, other port: direct"
expect_peer "http://[$ORIGIN_IP6]:81/" "$EDGE_IP6" "IPv6, other port: direct"
expect_peer "http://$ORIGIN_IP/" "$EDGE_IP" "outside the cgroup: direct" ip netns exec "$NS_EDGE"

# Both tunnelled requests: the far side verified the edge's certificate, the near side knows
# where each was going.
wait_log "$SERVER_LOG" '\] close .*reason=' 10 || fail "no close line in the server log"
[ "$(close_lines "$SERVER_LOG" | grep -c 'id="[^"]*edge-client')" = 2 ] ||
	fail "server: want 2 close lines naming edge-client: $(close_lines "$SERVER_LOG")"
for dst in "$ORIGIN_IP:80" "\[$ORIGIN_IP6\]:80"; do
	grep -Eq "\] handshake peer=127\.0\.0\.1:[0-9]+ dst=$dst id=\"[^\"]*origin\.test" "$CLIENT_LOG" ||
		fail "client: no handshake line with dst=$dst"
	wait_log "$CLIENT_LOG" "\] close peer=127\.0\.0\.1:[0-9]+ dst=$dst id=.* reason=done" 10 ||
		fail "client: no close line with dst=$dst reason=done"
done
[ "$(close_lines "$CLIENT_LOG" | wc -l)" = 2 ] || fail "client: want 2 close lines: $(close_lines "$CLIENT_LOG")"
[ "$(stat_of client redirected_local)" = 2 ] || fail "redirected_local is not 2: $(ctl client status | grep redirect)"
ok "server logged the client identity twice, client logged both original destinations"

# A live steered connection in ktunctl conns: its destination and data path.
fetch "http://$ORIGIN_IP/sleep/3" >"$WORK/slow.out" &
slow=$!
line=$(live_conn "dst=$ORIGIN_IP:80 ")
[ -n "$line" ] || fail "ktunctl conns shows no dst=$ORIGIN_IP:80: $(ctl client conns)"
ok "ktunctl conns: $line"
expect_ktls "$line"
wait "$slow" || fail "the slow request failed"
[ "$(cat "$WORK/slow.out")" = "peer=$TUNNELLED" ] || fail "slow request: $(cat "$WORK/slow.out")"

stop_pair
no_bpf_left
# Even a ktund killed outright leaves nothing attached: the hooks are links that die with it.
start_gw --redirect 192.0.2.0/24:80
kill -KILL "$CLIENT_PID"
wait "$CLIENT_PID" 2>/dev/null || true
CLIENT_PID=
no_bpf_left
expect_peer "http://$ORIGIN_IP/" "$EDGE_IP" "ktund killed: direct"
pass "matching connects tunnelled (IPv4, IPv6), others direct, destinations logged"
