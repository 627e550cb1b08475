#!/bin/bash
# bpf-pair-destination: issue 13 end to end, with real ktund on both ends. One client tunnel
# with `destination = original` and CIDR redirect rules (203.0.113.0/24:7000,
# [2001:db8:9::/64]:7000) steers the applications of the test's cgroup, which connect to the
# origins' own addresses, through `ktund server --target from-client` in the origin namespace.
# Origins listen on 203.0.113.1, .2, .200 and [2001:db8:9::1] port 7000, each greeting with a
# banner naming its address (tests/lib/connect_relay.py origin); the edge namespace has no
# route to them. The server admits OU=edge and OU=other at the handshake; its destinations:
#   203.0.113.0/25:7000 ou=edge, [2001:db8:9::/64]:7000 ou=edge, 203.0.113.2/32:7000 ou=other
#   OU=edge    .1, .2, [2001:db8:9::1]: each origin reached at its own address (its banner),
#              the application's bytes echoed, dst= on the client's and the server's close
#              lines; again .1 with the application's FIN right after its bytes (it may reach
#              the server before its kTLS hand-over: the flow must still end done)
#   OU=edge    .200 (in the redirect rule, outside every allow-destination): the server
#              answers 403; the application is reset; counted on both sides (server
#              close.destination-denied, client close.destination-refused)
#   OU=other   (a second client tunnel, certificate client-wrongou): .2 reached, .1 refused:
#              the identity-scoped rule gives it only 203.0.113.2:7000
# In the kTLS guest (KTUN_BPF_EXPECT_KTLS=1, --ktls required on both daemons) every allowed
# flow must be on kernel TLS on both sides after the CONNECT answer (conns_ktls of each).
set -euo pipefail
. "$(dirname "$0")/bpflib.sh"
"$KTUND" server --help 2>&1 | grep -q 'from-client' ||
	skip "ktund server has no --target from-client (the server side of issue 13)"
bpf_init

RELAY=$KTUN_LIB/connect_relay.py
relay_origins 203.0.113.1:7000 203.0.113.2:7000 203.0.113.200:7000 "[2001:db8:9::1]:7000"
SERVER_TARGET=from-client start_server --allow-ou other "${KTUND_ARGS[@]}" \
	--allow-destination "203.0.113.0/25:7000 ou=edge" \
	--allow-destination "[2001:db8:9::/64]:7000 ou=edge" \
	--allow-destination "203.0.113.2/32:7000 ou=other"

# gw: the client tunnel (certificate from CLIENT_CERT/CLIENT_KEY), redirector attached.
gw() {
	[ -n "$CLIENT_PID" ] && stop_daemon "$CLIENT_PID" client
	CLIENT_PID=
	start_gw --destination original --redirect 203.0.113.0/24:7000 --redirect "[2001:db8:9::/64]:7000"
	wait_stat client redirect_local attached 1 || fail "connect hooks not attached: $(ctl client status | grep redirect)"
}

# re TEXT: TEXT as an extended regular expression matching itself.
re() { sed 's/[].[]/\\&/g' <<<"$1"; }

# reached WHO DST [--echo-first]: an application in the cgroup connects to DST and gets that
# origin's banner and its bytes back; both close lines name DST with reason=done. The
# application half-closes right after its bytes (before the tunnel streams) or, with
# --echo-first, once they came back.
reached() {
	local who=$1 dst=$2 out cre sre cn sn
	cre="\] close peer=127\.0\.0\.1:[0-9]+ dst=$(re "$dst") .*reason=done"
	sre="\] close .*dst=$(re "$dst") .*reason=done"
	cn=$(grep -Ec -- "$cre" "$CLIENT_LOG" || true)
	sn=$(grep -Ec -- "$sre" "$SERVER_LOG" || true)
	out=$(in_cg python3 "$RELAY" app "$dst" "hello $dst" "${@:3}") || fail "[$who] $dst: app failed: $out"
	grep -qF "b'banner $dst peer=" <<<"$out" && grep -qF "\\nhello $dst\\n'" <<<"$out" ||
		fail "[$who] $dst: got $out, want that origin's banner and the echo"
	wait_lines "$CLIENT_LOG" "$cre" $((cn + 1)) ||
		fail "[$who] $dst: no client close line with dst=$dst reason=done"
	wait_lines "$SERVER_LOG" "$sre" $((sn + 1)) ||
		fail "[$who] $dst: no server close line with dst=$dst reason=done"
	ok "[$who] $dst: steered through the pair, reached its own origin${3:+ ($3)}"
}

# refused WHO DST: the server refuses DST (403): the application is reset, the client closes
# with destination-refused and the 403, the server with destination-denied.
refused() {
	local who=$1 dst=$2 out rc=0
	out=$(in_cg python3 "$RELAY" app "$dst" "hello $dst") || rc=$?
	[ "$rc" = 3 ] || fail "[$who] $dst: want a reset (exit 3), got $rc: $out"
	wait_log "$CLIENT_LOG" "\] close .* dst=$(re "$dst") .*reason=destination-refused detail=\"the relay answered 403" 10 ||
		fail "[$who] $dst: no client close line reason=destination-refused with the 403"
	wait_log "$SERVER_LOG" "\] close .*reason=destination-denied detail=\"dst=$(re "$dst"): no allow-destination rule" 10 ||
		fail "[$who] $dst: no server close line reason=destination-denied"
	ok "[$who] $dst: refused by the server, the application reset"
}

gw
for dst in 203.0.113.1:7000 203.0.113.2:7000 "[2001:db8:9::1]:7000"; do
	reached edge "$dst" --echo-first
done
refused edge 203.0.113.200:7000
[ "$(stat_of client close.destination-refused)" = 1 ] || fail "client: close.destination-refused is not 1"
[ "$(stat_of server close.destination-denied)" = 1 ] || fail "server: close.destination-denied is not 1"
[ "$(stat_of client redirected_local)" = 4 ] || fail "redirected_local is not 4: $(ctl client status | grep redirect)"
ok "the refusal counted on both sides"
if [ -n "${KTUN_BPF_EXPECT_KTLS:-}" ]; then
	[ "$(stat_of client conns_ktls)" = 3 ] || fail "client: not all 3 flows on kTLS: $(ctl client status | grep conns_)"
	[ "$(stat_of server conns_ktls)" = 3 ] || fail "server: not all 3 flows on kTLS: $(ctl server status | grep conns_)"
	ok "kernel TLS: all 3 allowed flows on kTLS on both daemons"
fi
# The application's FIN can reach the server before its hand-over to kTLS (the socket in
# CLOSE_WAIT takes no ULP): the flow still ends done, on the userspace path if need be.
reached edge 203.0.113.1:7000

server_ktls=$(stat_of server conns_ktls)
CLIENT_CERT=$PKI/client-wrongou-chain.pem CLIENT_KEY=$PKI/client-wrongou.key gw
reached other 203.0.113.2:7000 --echo-first
refused other 203.0.113.1:7000
[ "$(stat_of client close.destination-refused)" = 1 ] || fail "OU=other: client close.destination-refused is not 1"
[ "$(stat_of server close.destination-denied)" = 2 ] || fail "OU=other: server close.destination-denied is not 2"
if [ -n "${KTUN_BPF_EXPECT_KTLS:-}" ]; then
	[ "$(stat_of client conns_ktls)" = 1 ] || fail "OU=other: client flow not on kTLS: $(ctl client status | grep conns_)"
	[ "$(stat_of server conns_ktls)" = $((server_ktls + 1)) ] || fail "OU=other: server flow not on kTLS: $(ctl server status | grep conns_)"
	ok "kernel TLS: the OU=other flow on kTLS on both daemons"
fi
ok "identity-scoped rule: OU=other reaches 203.0.113.2 only"

stop_pair
pass "destination = original through ktund server --target from-client, per identity"
