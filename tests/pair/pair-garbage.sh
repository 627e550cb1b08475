#!/bin/bash
# pair-garbage: bytes that are no ClientHello, sent straight at the ktund server, get that
# connection dropped with reason=tls-error while a good connection through the pair, open at
# the same time, completes intact; a peer that sends half a ClientHello and stalls is closed
# after --handshake-timeout 2 with reason=handshake-timeout; the daemon keeps serving.
set -euo pipefail
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"
pair_init

bg_origin python3 "$PAIRTOOL" serve-slow "$ORIGIN_PORT"
wait_port "$NS_ORIGIN" "$ORIGIN_PORT" || fail "origin did not start"
start_server --handshake-timeout 2
start_client

# A good transfer through the pair (32 x 64 KiB, one per 100 ms) runs during all of this.
in_edge timeout 60 python3 "$PAIRTOOL" slow-client 127.0.0.1 "$EDGE_PORT" 32 100 good-1 \
	>"$WORK/good-1.out" 2>&1 &
good=$!
wait_log "$SERVER_LOG" '\] handshake ' 10 || fail "the good connection did not get through the handshake"

# Garbage straight at the server's TLS port.
out=$(in_edge timeout 30 python3 "$PAIRTOOL" garbage "$ORIGIN_IP" "$TLS_PORT" 2>&1) ||
	fail "garbage connection was not ended by the server: $out"
ok "$out"
wait_log "$SERVER_LOG" 'reason=tls-error' 5 || fail "server did not log reason=tls-error for garbage"
ok "server: $(grep -m1 'close .*reason=tls-error' "$SERVER_LOG")"

# Half a ClientHello, then nothing: closed after the 2 s handshake timeout.
out=$(in_edge timeout 30 python3 "$PAIRTOOL" stall "$ORIGIN_IP" "$TLS_PORT" --min 1.5 --max 8 2>&1) ||
	fail "stalled handshake not closed between 1.5 and 8 s: $out"
ok "$out"
wait_log "$SERVER_LOG" 'close .*reason=handshake-timeout' 5 ||
	fail "server did not log reason=handshake-timeout for the stalled peer"
ok "server: $(grep -m1 'close .*reason=handshake-timeout' "$SERVER_LOG")"

# A bare TLS record header promising more (5 bytes only), then nothing.
start=$(date +%s)
out=$(in_edge timeout 30 python3 -c "
import socket, time
c = socket.create_connection(('$ORIGIN_IP', $TLS_PORT))
c.sendall(bytes([0x16, 0x03, 0x01, 0x02, 0x00]))
c.settimeout(8)
try:
    print('eof' if c.recv(100) == b'' else 'data')
except ConnectionResetError:
    print('reset')
except socket.timeout:
    print('timeout')
" 2>&1)
[ "$out" = eof ] || [ "$out" = reset ] || fail "record header only: want the server to close it, got $out"
ok "record header only: $out after $(($(date +%s) - start)) s"
wait_stat server close.handshake-timeout 2 5 || fail "want 2 handshake timeouts: $(ctl server status)"

rc=0
wait $good || rc=$?
[ $rc = 0 ] || fail "good transfer during the garbage failed: $(cat "$WORK/good-1.out")"
ok "concurrent good transfer: $(cat "$WORK/good-1.out")"

# Still serving.
out=$(in_edge timeout 30 python3 "$PAIRTOOL" slow-client 127.0.0.1 "$EDGE_PORT" 4 0 good-2 2>&1) ||
	fail "transfer after the garbage failed: $out"
ok "afterwards: $out"
st=$(ctl server status)
grep -qx 'server.close.done 2' <<<"$st" || fail "server: want close.done 2: $st"
grep -qx 'server.close.tls-error 1' <<<"$st" || fail "server: want close.tls-error 1: $st"
stop_pair
pass "garbage and stalled handshakes dropped, good connections unharmed"
