#!/bin/bash
# server-addr: ktund server's addresses. It listens on IPv6 ([2001:db8:1::2]:8443, the origin's
# veth address from tests/lib/netns.sh) for openssl s_client and gnutls-cli, forwards to an IPv6
# loopback target, to `localhost`, and to a unix socket (`unix:/path`, and refuses with a reset
# when that socket is gone); and it refuses to start (exit 2, saying why) with a non-loopback
# plaintext target unless --unsafe-target, or with a unix: listener (client mode only).
# Case functions run indirectly (run_case) and take no arguments from the script:
# shellcheck disable=SC2317,SC2119
set -euo pipefail
. "$(dirname "$0")/srvlib.sh"
srv_init

ID='id="CN=edge-client,OU=edge"'

# echoed TOOL PEERRE [PEER ARGS...]: one connection through the running server, echoed intact,
# its close line names PEERRE (a regex for the client's address), reason=done, exact bytes.
# n counts the connections so far in this case.
echoed() {
	local tool=$1 peer_re=$2 payload cl before len
	shift 2
	use_origin "$(origin_for "$tool")" "${ORIGIN_ADDR:-127.0.0.1:$ORIGIN_PORT}"
	before=$(accepts)
	payload="$tool $* $RANDOM"
	len=$((${#payload} + 1))
	"$tool" client "$payload"$'\n' "$@" || fail "$tool $*: exit status $?: $(tail -n 2 "$WORK/peer.err")"
	[ "$(cat "$WORK/peer.out")" = "$payload" ] || fail "$tool $*: payload not echoed: $(head -c 100 "$WORK/peer.out")"
	n=$((n + 1))
	wait_n '\] close ' "$n"
	cl=$(last_line '\] close ')
	grep -Eq "close peer=$peer_re $ID up=$len down=$len .*reason=done\$" <<<"$cl" ||
		fail "$tool $*: want peer=$peer_re up=$len down=$len reason=done: $cl"
	[ "$(accepts)" = $((before + 1)) ] || fail "$tool $*: the origin saw $(($(accepts) - before)) connections, want 1"
}

case_ipv6() {
	local n=0 ORIGIN_ADDR="[::1]:$ORIGIN_PORT"
	SERVER_LISTEN="[$ORIGIN_IP6]:$TLS_PORT" SERVER_TARGET="[::1]:$ORIGIN_PORT" srv_start
	grep -q "listening on \[$ORIGIN_IP6\]:$TLS_PORT" "$SERVER_LOG" ||
		fail "the log does not say it listens on [$ORIGIN_IP6]:$TLS_PORT: $(grep -m1 listening "$SERVER_LOG")"
	ip netns exec "$NS_ORIGIN" ss -Hltn "sport = :$TLS_PORT" | grep -q "\[$ORIGIN_IP6\]:$TLS_PORT" ||
		fail "no listener on [$ORIGIN_IP6]:$TLS_PORT"
	PEER_HOST=$ORIGIN_IP6 echoed ossl "\\[$EDGE_IP6\\]:[0-9]+" -tls1_3
	PEER_HOST=$ORIGIN_IP6 echoed ossl "\\[$EDGE_IP6\\]:[0-9]+" -tls1_2
	PEER_HOST=$ORIGIN_IP6 echoed gtls "\\[$EDGE_IP6\\]:[0-9]+" --priority "$GT13"
	# The IPv4 address is not listened on.
	ossl client "v4"$'\n' && fail "a connection to $ORIGIN_IP:$TLS_PORT succeeded"
	note "$(grep -m1 listening "$SERVER_LOG" | sed 's/.*\] //')"
	note "$(last_line '\] close ' | sed 's/.*\] //')"
	srv_stop
}

case_localhost() {
	local n=0
	SERVER_TARGET=localhost:$ORIGIN_PORT srv_start
	echoed ossl "$EDGE_IP:[0-9]+" -tls1_3
	note "$(grep -m1 listening "$SERVER_LOG" | sed 's/.*\] //')"
	srv_stop
}

case_unix() {
	local n=0 sock=$WORK/origin.sock ORIGIN_ADDR=unix:$WORK/origin.sock
	SERVER_TARGET=unix:$sock srv_start
	echoed ossl "$EDGE_IP:[0-9]+" -tls1_3
	echoed gtls "$EDGE_IP:[0-9]+" --priority "$GT12"
	want_stat close.done 2
	note "$(last_line '\] close ' | sed 's/.*\] //')"
	srv_stop
}

case_unix_gone() {
	local rc=0 cl
	SERVER_TARGET=unix:$WORK/nobody.sock srv_start
	ossl client "nobody"$'\n' -tls1_3 || rc=$?
	[ "$rc" != 0 ] || fail "s_client exit 0: the failure was hidden"
	[ ! -s "$WORK/peer.out" ] || fail "the client received data"
	grep -q 'errno=104' "$WORK/peer.err" || fail "the client saw no reset: $(tail -n 2 "$WORK/peer.err")"
	wait_n '\] close ' 1
	cl=$(last_line '\] close ')
	grep -q 'reason=target-unreachable detail="connect: ' <<<"$cl" || fail "want target-unreachable: $cl"
	want_stat close.target-unreachable 1
	note "${cl#*\] }"
	srv_stop
}

# refuses_start WHAT REGEX LISTEN TARGET [ARGS...]: ktund server exits 2 at once, its message
# matching REGEX, never ready.
refuses_start() {
	local what=$1 re=$2 listen=$3 target=$4 rc=0
	shift 4
	ip netns exec "$NS_ORIGIN" timeout 10 "$KTUND" server --listen "$listen" --target "$target" \
		--cert "$PKI/server-chain.pem" --key "$PKI/server.key" --cacert "$PKI/ca.pem" \
		--allow-ou edge --control "$WORK/refused.sock" "$@" >"$WORK/refused.out" 2>&1 || rc=$?
	[ "$rc" = 2 ] || fail "$what: exit status $rc, want 2: $(head -n 3 "$WORK/refused.out")"
	! grep -q 'notice: ready' "$WORK/refused.out" || fail "$what: it said ready"
	grep -Eq -- "$re" "$WORK/refused.out" || fail "$what: the message lacks '$re': $(cat "$WORK/refused.out")"
	note "$what: exit 2: $(head -n 1 "$WORK/refused.out")"
}

case_unsafe_target() {
	local n=0
	refuses_start "target $EDGE_IP:$ORIGIN_PORT" "target.*loopback.*unsafe-target" \
		"$ORIGIN_IP:$TLS_PORT" "$EDGE_IP:$ORIGIN_PORT"
	refuses_start "target $ORIGIN_IP:$ORIGIN_PORT (our own veth address)" "target.*loopback.*unsafe-target" \
		"$ORIGIN_IP:$TLS_PORT" "$ORIGIN_IP:$ORIGIN_PORT"
	refuses_start "target [$EDGE_IP6]:$ORIGIN_PORT" "target.*loopback.*unsafe-target" \
		"$ORIGIN_IP:$TLS_PORT" "[$EDGE_IP6]:$ORIGIN_PORT"
	# With --unsafe-target the same plaintext target is allowed and works.
	local ORIGIN_ADDR=$ORIGIN_IP:$ORIGIN_PORT
	SERVER_TARGET=$ORIGIN_IP:$ORIGIN_PORT srv_start --unsafe-target
	echoed ossl "$EDGE_IP:[0-9]+" -tls1_3
	note "--unsafe-target $ORIGIN_IP:$ORIGIN_PORT: starts, and carries a connection"
	srv_stop
}

case_unix_listen() {
	refuses_start "server --listen unix:" "listen" "unix:$WORK/listen.sock" "127.0.0.1:$ORIGIN_PORT"
}

run_case "IPv6 listen [$ORIGIN_IP6]:$TLS_PORT, IPv6 loopback target [::1]" case_ipv6
run_case "target localhost:PORT" case_localhost
run_case "unix:/path target" case_unix
run_case "unix:/path target gone: reset, target-unreachable" case_unix_gone
run_case "non-loopback target refused without --unsafe-target (exit 2), allowed with it" case_unsafe_target
run_case "server --listen unix:/path refused (exit 2)" case_unix_listen
srv_finish
