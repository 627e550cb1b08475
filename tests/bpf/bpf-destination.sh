#!/bin/bash
# bpf-destination: one client tunnel with `destination = original` and CIDR redirect rules
# (203.0.113.0/24:7000, [2001:db8:9::/64]:7000) in front of an mTLS CONNECT relay
# (tests/lib/connect_relay.py) in the origin namespace, behind which origins listen on
# 203.0.113.1, 203.0.113.2 and [2001:db8:9::1] port 7000, each greeting with its own banner.
# The edge namespace has no route to them: only the tunnel reaches them. An application in
# the test's cgroup connects to each origin address and gets that origin's banner and its
# own bytes echoed; the relay got CONNECT <that address> with Forwarded: for= the
# application's address; ktund logs dst= that address on its handshake and close lines. A
# connection made to the listener itself is reset and counted as no-destination, and never
# reaches the relay. In the kTLS guest (KTUN_BPF_EXPECT_KTLS=1, --ktls required) the flows must
# be handed over to kernel TLS after the answer.
set -euo pipefail
. "$(dirname "$0")/bpflib.sh"
bpf_init

RELAY=$KTUN_LIB/connect_relay.py
RLOG=$WORK/relay-requests.log
relay_origins 203.0.113.1:7000 203.0.113.2:7000 "[2001:db8:9::1]:7000"
relay_start "$RLOG" "$TLS_PORT:ok"

start_gw --destination original --redirect 203.0.113.0/24:7000 --redirect "[2001:db8:9::/64]:7000"
wait_stat client redirect_local attached 1 || fail "connect hooks not attached: $(ctl client status | grep redirect)"

for dst in 203.0.113.1:7000 203.0.113.2:7000 "[2001:db8:9::1]:7000"; do
	out=$(in_cg python3 "$RELAY" app "$dst" "hello $dst") || fail "$dst: app failed: $out"
	grep -qF "b'banner $dst peer=" <<<"$out" && grep -qF "\\nhello $dst\\n'" <<<"$out" ||
		fail "$dst: got $out, want that origin's banner and the echo"
	grep -qF "request port=$TLS_PORT mode=ok authority=$dst host=$dst forwarded=for=\"127.0.0.1:" "$RLOG" ||
		fail "$dst: the relay got no CONNECT for it: $(cat "$RLOG")"
	re=$(sed 's/[].[]/\\&/g' <<<"$dst")
	grep -Eq "\] handshake peer=127\.0\.0\.1:[0-9]+ dst=$re id=" "$CLIENT_LOG" ||
		fail "$dst: no handshake line with dst=$dst"
	wait_log "$CLIENT_LOG" "\] close peer=127\.0\.0\.1:[0-9]+ dst=$re .*reason=done" 5 ||
		fail "$dst: no close line with dst=$dst reason=done"
	ok "$dst: steered, sent in CONNECT, reached its own origin"
done
[ "$(stat_of client redirected_local)" = 3 ] || fail "redirected_local is not 3: $(ctl client status | grep redirect)"
if [ -n "${KTUN_BPF_EXPECT_KTLS:-}" ]; then
	[ "$(stat_of client conns_ktls)" = 3 ] || fail "not all 3 flows on kTLS: $(ctl client status | grep conns_)"
	ok "kernel TLS: all 3 flows handed over after the CONNECT answer"
fi

# Made to the listener itself: nothing to name.
rc=0
out=$(in_cg python3 "$RELAY" app "127.0.0.1:$EDGE_PORT" "direct") || rc=$?
[ "$rc" = 3 ] || fail "a connection to the listener: want a reset (exit 3), got $rc: $out"
wait_log "$CLIENT_LOG" '\] close peer=127\.0\.0\.1:[0-9]+ id="-" .*reason=no-destination' 5 ||
	fail "no close line with reason=no-destination"
[ "$(stat_of client close.no-destination)" = 1 ] || fail "close.no-destination is not 1"
[ "$(grep -c '^request ' "$RLOG")" = 3 ] || fail "the relay saw more than the 3 steered requests: $(cat "$RLOG")"
ok "a connection to the listener itself: reset, counted, never sent"

stop_daemon "$CLIENT_PID" client
CLIENT_PID=
pass "destination = original: each steered flow reached its own origin through one tunnel"
