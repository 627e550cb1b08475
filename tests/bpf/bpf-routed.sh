#!/bin/bash
# bpf-routed: a client namespace (app, 198.51.100.1) routes through the gateway (edge) to the
# origin. The tc program on the gateway's ingress veth (ve-app) assigns the app's flows to the
# origin's port 80 (IPv4 and IPv6) to ktund client's transparent listener, and the policy route
# (fwmark -> local, the operator's step, done here inside the gateway namespace) delivers them
# locally: the origin sees the far ktund, the client logs peer= the app and dst= the original
# destination. Port 81 is forwarded as before: the origin sees the app itself. Removing the
# rule sends new flows direct but leaves a live one in the tunnel; after ktund exits the
# program is gone (flows are forwarded again).
set -euo pipefail
. "$(dirname "$0")/bpflib.sh"
need_cmd tc
bpf_init --app

MARK=0x4b54
for fam in -4 -6; do
	ip -n "$NS_EDGE" $fam rule add fwmark $MARK lookup 100
done
ip -n "$NS_EDGE" route add local 0.0.0.0/0 dev lo table 100
ip -n "$NS_EDGE" -6 route add local ::/0 dev lo table 100
ip netns exec "$NS_EDGE" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip -n "$NS_ORIGIN" route add 198.51.100.0/24 via "$EDGE_IP"
ip -n "$NS_ORIGIN" -6 route add 2001:db8:2::/64 via "$EDGE_IP6"

start_far
GW_CGROUP=none start_gw --redirect-interface ve-app --redirect-mark "$MARK" \
	--redirect 192.0.2.0/24:80 --redirect "[2001:db8:1::/64]:80"
wait_stat client redirect_routed attached 1 || fail "tc program not attached: $(ctl client status | grep redirect)"
[ "$(stat_of client redirect_local)" = off ] || fail "bpf-cgroup none, yet: $(stat_of client redirect_local)"

expect_peer "http://$ORIGIN_IP/" "$TUNNELLED" "routed IPv4, matching: tunnelled" in_app
expect_peer "http://[$ORIGIN_IP6]/" "$TUNNELLED" "routed IPv6, matching: tunnelled" in_app
expect_peer "http://$ORIGIN_IP:81/" "$APP_IP" "routed IPv4, other port: forwarded" in_app
expect_peer "http://[$ORIGIN_IP6]:81/" "$APP_IP6" "routed IPv6, other port: forwarded" in_app

wait_log "$SERVER_LOG" '\] close .*reason=' 10 || fail "no close line in the server log"
[ "$(close_lines "$SERVER_LOG" | grep -c 'id="[^"]*edge-client')" = 2 ] ||
	fail "server: want 2 close lines naming edge-client: $(close_lines "$SERVER_LOG")"
wait_log "$CLIENT_LOG" "\] close peer=$APP_IP:[0-9]+ dst=$ORIGIN_IP:80 id=.* reason=done" 10 ||
	fail "client: no close line with peer=$APP_IP dst=$ORIGIN_IP:80"
wait_log "$CLIENT_LOG" "\] close peer=\[$APP_IP6\]:[0-9]+ dst=\[$ORIGIN_IP6\]:80 id=.* reason=done" 10 ||
	fail "client: no close line with peer=[$APP_IP6] dst=[$ORIGIN_IP6]:80"
[ "$(stat_of client redirected_routed)" = 2 ] || fail "redirected_routed is not 2: $(ctl client status | grep redirect)"
ok "the far ktund verified the edge, the gateway logged the app and the original destinations"

# A live routed flow in ktunctl conns (and, in the kTLS guest, on kTLS).
fetch "http://$ORIGIN_IP/sleep/3" in_app >"$WORK/slow.out" &
slow=$!
line=$(live_conn "dst=$ORIGIN_IP:80 ")
grep -q "peer=$APP_IP:[0-9]* dst=$ORIGIN_IP:80 " <<<"$line" || fail "ktunctl conns: no routed flow: $(ctl client conns)"
ok "ktunctl conns: $line"
expect_ktls "$line"
# Removing the rule leaves the live flow alone (established flows are found by the kernel's
# socket lookup, not by the rules) and sends new ones direct.
ctl client redirect del client 192.0.2.0/24:80 >/dev/null || fail "redirect del failed"
expect_peer "http://$ORIGIN_IP/" "$APP_IP" "routed IPv4, rule removed: forwarded" in_app
wait "$slow" || fail "the live tunnelled flow broke when its rule was removed"
[ "$(cat "$WORK/slow.out")" = "peer=$TUNNELLED" ] || fail "slow request: $(cat "$WORK/slow.out")"
ok "rule removed: the live flow finished through the tunnel, new ones go direct"

# Once ktund is gone so is its program, though the pinned IPv6 rule stays: the flow is forwarded
# (a program left behind with no listener to assign to would drop the SYN).
stop_pair
expect_peer "http://[$ORIGIN_IP6]/" "$APP_IP6" "routed IPv6, ktund stopped: forwarded" in_app
tc -n "$NS_EDGE" filter show dev ve-app ingress | grep -q ktun && fail "tc filter left on ve-app after exit"
pass "routed flows to matching destinations tunnelled, others forwarded"
