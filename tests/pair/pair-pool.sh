#!/bin/bash
# pair-pool: a ktund client with a warm pool (pool = 2, destination) -> ktund server
# --target from-client (issue 14 §2). The origin (tests/lib/origin.py echo) logs every accept.
#   start      2 established TLS connections to the server (the client's ktunctl conns: state
#              pooled; the server's: state request; ss on the edge), the origin has seen none
#   hit        an application's connection takes one (pool_hits 1), its bytes are echoed,
#              the origin sees exactly one connection, the pool refills to 2
#   miss       6 connections opened at once: hits + misses add up to 6, at least one miss
#              (cold connect, as without a pool), every one echoed
#   idle       pool-idle 2: pooled connections are replaced (pool_discards.idle), none fails
#   reload     a reload closes the pooled connections (pool_discards.reload) and refills
#   server     request-timeout 2 on the server (shorter than pool-idle): the server closes
#              the idle pooled connections (close.request-timeout), the client discards them
#              as closed and refills
#   restart    the server killed: discards counted (closed, then failed while it is down),
#              it comes back: the pool refills and a connection works
#   drain      SIGTERM to the server: the pooled connections waiting for a request are closed
#              at once (shutdown), not held until request-timeout or the drain deadline
#   config     pool without destination: an error naming file:line; pool in a server tunnel
# KTUN_POOL_KTLS=required (pair-pool-guest: in the kTLS guest, tests/vm/run) gives both ends
# ktls = required: a connection taken from the pool must be handed over to kernel TLS on both.
set -euo pipefail
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"
pair_init
KTLS=()
[ -n "${KTUN_POOL_KTLS:-}" ] && KTLS=(--ktls "$KTUN_POOL_KTLS")
W=10 # seconds to wait for a state; the guest's emulated CPU is slower
[ -n "${KTUN_VM:-}" ] && W=60

ACCEPTS=$WORK/origin-accepts.log
: >"$ACCEPTS"
bg_origin python3 "$KTUN_LIB/origin.py" echo "127.0.0.1:$ORIGIN_PORT" "$ACCEPTS"
wait_port "$NS_ORIGIN" "$ORIGIN_PORT" || fail "origin did not start"
DEST=127.0.0.1:$ORIGIN_PORT
accepts() { wc -l <"$ACCEPTS"; }

server() {
	SERVER_TARGET=from-client start_server --allow-destination "127.0.0.1/32:$ORIGIN_PORT" \
		"${KTLS[@]}" "$@"
}
client() { start_client --destination "$DEST" --pool 2 --workers 2 "${KTLS[@]}" "$@"; }
restart_client() {
	[ -n "$CLIENT_PID" ] && stop_daemon "$CLIENT_PID" client
	CLIENT_PID=
	client "$@"
}
# app TEXT: one application connection through the client; its output must echo TEXT.
# --echo-first: the app half-closes only after its echo, so a server still connecting when a
# close_notify arrives (which then ends the connection on the userspace path, by design) does
# not make the kTLS check below depend on the race.
app() {
	local out
	out=$(ip netns exec "$NS_EDGE" python3 "$KTUN_LIB/connect_relay.py" app "127.0.0.1:$EDGE_PORT" "$1" \
		--echo-first) ||
		fail "app '$1': exit $?: $out"
	grep -qF "b'$1\\n'" <<<"$out" || fail "app '$1': got $out"
}
# tls_established NS REMOTE_PORT: the number of established TCP connections to that port.
tls_established() {
	ip netns exec "$1" ss -Htn state established "( dport = :$2 )" | wc -l
}

server
client
wait_stat client "pool_size" 2 "$W" || fail "pool_size is $(stat_of client "pool_size"), want 2"
[ "$(ctl client conns | grep -c 'state=pooled')" = 2 ] ||
	fail "client conns: want 2 pooled: $(ctl client conns)"
[ "$(ctl server conns | grep -c 'state=request')" = 2 ] ||
	fail "server conns: want 2 waiting for a request: $(ctl server conns)"
[ "$(tls_established "$NS_EDGE" "$TLS_PORT")" = 2 ] ||
	fail "ss: want 2 established to the server: $(ip netns exec "$NS_EDGE" ss -tn)"
[ "$(accepts)" = 0 ] || fail "the origin saw $(accepts) connections before any application"
ok "pool of 2 established, verified and parked; the origin has seen nothing"
# Pooled connections were never accepted (review finding 6): pool_size counts them.
[ "$(stat_of client conns_open)" = 0 ] ||
	fail "conns_open counts untaken pooled connections: $(stat_of client conns_open)"
m=$(ctl client metrics | grep '^ktund_connections_open' || true)
[ "$m" = 'ktund_connections_open{tunnel="client"} 0' ] ||
	fail "ktund_connections_open counts untaken pooled connections: $m"
ok "untaken pooled connections are not open connections (conns_open, ktund_connections_open)"

app hello
[ "$(stat_of client "pool_hits")" = 1 ] || fail "pool_hits is $(stat_of client "pool_hits"), want 1"
[ "$(stat_of client "pool_misses")" = 0 ] || fail "pool_misses is not 0"
[ "$(accepts)" = 1 ] || fail "the origin saw $(accepts) connections, want 1"
wait_stat client "pool_size" 2 "$W" || fail "the pool did not refill to 2"
wait_log "$CLIENT_LOG" '\] close peer=127\.0\.0\.1:[0-9]+ dst=.* reason=done' "$W" ||
	fail "no close line for the application's connection"
if [ -n "${KTUN_POOL_KTLS:-}" ]; then
	[ "$(stat_of client conns_ktls)" = 1 ] && [ "$(stat_of server conns_ktls)" = 1 ] ||
		fail "the pooled connection was not handed to kernel TLS: client conns_ktls" \
			"$(stat_of client conns_ktls), server $(stat_of server conns_ktls)"
	ok "the connection taken from the pool streams on kernel TLS at both ends"
fi
ok "a connection served from the pool (hit counted), the pool refilled"

# Six connections at once, from one process (so they arrive faster than a refill).
out=$(ip netns exec "$NS_EDGE" python3 - "$EDGE_PORT" <<'PY'
import socket, sys
port = int(sys.argv[1])
socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(6)]
for i, s in enumerate(socks):
    s.sendall(b"many %d\n" % i)
    s.shutdown(socket.SHUT_WR)
ok = 0
for i, s in enumerate(socks):
    got = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        got += d
    ok += got == b"many %d\n" % i
print(ok)
PY
) || fail "6 at once: $out"
[ "$out" = 6 ] || fail "6 at once: only $out echoed"
hits=$(stat_of client "pool_hits")
misses=$(stat_of client "pool_misses")
note "6 at once: hits $((hits - 1)), misses $misses"
[ $((hits - 1 + misses)) = 6 ] || fail "hits + misses = $((hits - 1 + misses)), want 6"
[ "$misses" -ge 1 ] || fail "no miss with 6 connections against a pool of 2"
wait_stat client "pool_size" 2 "$W" || fail "the pool did not refill to 2 after the burst"
ok "more connections than the pool: misses counted, all served"

# pool-idle: replaced before they get old, no failure.
restart_client --pool-idle 2
wait_stat client "pool_size" 2 "$W" || fail "pool-idle 2: no pool"
wait_ge client pool_discards.idle 4 "$W" ||
	fail "pool_discards.idle is $(stat_of client "pool_discards.idle") after $W s, want >= 4"
wait_log "$CLIENT_LOG" 'close peer=\? .*reason=pool-idle' 1 || fail "no close line reason=pool-idle"
for r in failed closed; do
	[ "$(stat_of client "pool_discards.$r")" = 0 ] ||
		fail "pool_discards.$r is $(stat_of client "pool_discards.$r"), want 0"
done
wait_stat client "pool_size" 2 "$W" || fail "pool-idle: the pool did not stay at 2"
app idle
ok "pool-idle replaces pooled connections, none failed"

restart_client
wait_stat client "pool_size" 2 "$W" || fail "no pool before the reload"
ctl client reload >/dev/null || fail "reload failed"
wait_stat client "pool_discards.reload" 2 "$W" ||
	fail "pool_discards.reload is $(stat_of client "pool_discards.reload"), want 2"
wait_stat client "pool_size" 2 "$W" || fail "the pool did not refill after the reload"
app reloaded
ok "a reload drops the pool, which refills"

# The server's request-timeout bounds an idle authenticated connection.
stop_daemon "$CLIENT_PID" client
CLIENT_PID=
stop_daemon "$SERVER_PID" server
SERVER_PID=
server --request-timeout 2
client
before=$(accepts)
wait_ge server close.request-timeout 2 "$W" ||
	fail "the server did not close the idle pooled connections at request-timeout"
wait_log "$SERVER_LOG" 'reason=request-timeout detail="no CONNECT request within 2 s of the handshake"' 1 ||
	fail "no request-timeout close line on the server"
wait_ge client pool_discards.closed 2 "$W" || fail "the client counted no closed discards"
[ "$(accepts)" = "$before" ] || fail "the origin saw connections from unused pooled ones"
ok "request-timeout on the server closes idle pooled connections; the client discards them"

stop_daemon "$SERVER_PID" server
SERVER_PID=
server
restart_client
wait_stat client "pool_size" 2 "$W" || fail "no pool before the server restart"
kill -KILL "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=
wait_stat client "pool_size" 0 "$W" || fail "the pool kept connections to a dead server"
[ "$(stat_of client "pool_discards.closed")" = 2 ] ||
	fail "pool_discards.closed is $(stat_of client "pool_discards.closed"), want 2"
wait_log "$CLIENT_LOG" 'pool: a pooled connection to the far ktund (closed|failed)' 5 ||
	fail "no back-off line"
server
wait_stat client "pool_size" 2 40 || fail "the pool did not refill after the server came back"
app back
ok "server killed: discards counted, the pool refilled once it was back"

# A draining server closes the connections waiting for a request after a 1 s grace (they
# would hold the drain until request-timeout); the client counts them.
wait_stat client pool_size 2 "$W" || fail "no pool before the server's drain"
kill -TERM "$SERVER_PID"
wait_daemon_exit "$SERVER_PID" server 40
SERVER_PID=
n=$(grep -c 'reason=shutdown detail="draining, and no request came within 1 s"' "$SERVER_LOG" || true)
[ "$n" = 2 ] || fail "draining server: $n idle connections closed as shutdown, want 2"
wait_stat client pool_size 0 "$W" || fail "the client kept pooled connections to a stopped server"
ok "a draining server closes the idle pooled connections within its grace"
stop_pair

# Configuration: pool needs destination (file:line), and a client tunnel.
conf=$WORK/pool.conf
client_ini edge "127.0.0.1:$EDGE_PORT" "$ORIGIN_IP:$TLS_PORT" 'pool = 2' >"$conf"
rc=0
err=$("$KTUND" --config "$conf" --check 2>&1) || rc=$?
[ "$rc" = 2 ] || fail "pool without destination: exit $rc, want 2: $err"
grep -qF "$conf:9: [edge] pool = 2 needs destination" <<<"$err" || fail "pool without destination: $err"
echo "destination = $DEST" >>"$conf"
"$KTUND" --config "$conf" --check >/dev/null 2>&1 || fail "pool with destination: --check failed"
sed -i -e 's/^mode = client/mode = server/' -e '/^destination = /d' \
	-e "s/^target = .*/target = 127.0.0.1:$ORIGIN_PORT/" -e 's/^server-name = .*/# (no server-name)/' "$conf"
echo "allow-all = yes" >>"$conf"
rc=0
err=$("$KTUND" --config "$conf" --check 2>&1) || rc=$?
[ "$rc" = 2 ] && grep -qF "$conf:9: [edge] pool is a client-mode option" <<<"$err" ||
	fail "pool in a server tunnel: exit $rc: $err"
ok "pool without destination, or in a server tunnel, is refused at file:line"

pass "warm pool: hits, misses, refill, pool-idle, reload, request-timeout, restart, config"
