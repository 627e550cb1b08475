#!/bin/bash
# server-drain-request: a from-client server draining (SIGTERM) with authenticated connections
# that have sent no request byte (review findings 2 and 3):
#   late     a handshake that ends after the drain began (a pooled connection in the making)
#            is closed within the grace (1 s), not held until drain-timeout
#   inflight a client whose CONNECT leaves just after the drain began (one round trip in
#            flight when it starts) is served, not refused at the drain's start
set -euo pipefail
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"
pair_init
bg_origin python3 "$KTUN_LIB/origin.py" echo "127.0.0.1:$ORIGIN_PORT" "$WORK/acc.log"
wait_port "$NS_ORIGIN" "$ORIGIN_PORT" || fail "the origin did not start"
server() { SERVER_TARGET=from-client start_server --allow-destination "127.0.0.1/32:$ORIGIN_PORT" \
	--drain-timeout 30 "$@"; }

# $1: mode (late: TCP, then the handshake on "go"; inflight: the handshake, then the CONNECT
# on "go"), $2: the go file. Prints what it saw.
tls_client() {
	ip netns exec "$NS_EDGE" python3 - "$ORIGIN_IP" "$TLS_PORT" "$PKI" "$ORIGIN_PORT" "$1" "$2" <<'PY'
import os, socket, ssl, sys, time
host, port, pki, oport, mode, go = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(pki + "/ca.pem")
ctx.load_cert_chain(pki + "/client-chain.pem", pki + "/client.key")
ctx.check_hostname = False
def wait_go():
    while not os.path.exists(go):
        time.sleep(0.02)
s = socket.create_connection((host, port))
print("tcp connected", flush=True)
if mode == "late":
    wait_go()
t = ctx.wrap_socket(s, server_hostname="origin.test")
print("handshake done", flush=True)
if mode == "inflight":
    wait_go()
    t.sendall(b"CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\n\r\nhello\n" % (oport.encode(), oport.encode()))
data = b""
try:
    while True:
        d = t.recv(300)
        if not d or b"hello" in data + d:
            data += d
            break
        data += d
except Exception as e:
    print("error:", e, flush=True)
print("answer:", data, flush=True)
PY
}

# drain_with MODE client|server REGEX: a fresh server and a tls_client in MODE (its output in
# $WORK/MODE.log); once REGEX is in the client's output or the server's log, the server is sent
# SIGTERM, and once it drains the client goes on. Returns when both have ended (the server with
# status 0).
drain_with() {
	local mode=$1 log pid
	server
	tls_client "$mode" "$WORK/go-$mode" >"$WORK/$mode.log" 2>&1 &
	pid=$!
	log=$WORK/$mode.log
	[ "$2" = server ] && log=$SERVER_LOG
	wait_log "$log" "$3" 10 || fail "$mode: no '$3' in the $2's log"
	kill -TERM "$SERVER_PID"
	wait_log "$SERVER_LOG" 'draining' 10 || fail "$mode: the server did not start draining"
	touch "$WORK/go-$mode"
	wait_daemon_exit "$SERVER_PID" server 40
	SERVER_PID=
	wait "$pid" || true
}

drain_with late client 'tcp connected'
grep -q 'handshake done' "$WORK/late.log" ||
	skip "the handshake did not complete once the drain began: $(cat "$WORK/late.log")"
! grep -q 'reason=drain-timeout' "$SERVER_LOG" ||
	fail "an idle authenticated connection held the drain until drain-timeout: $(close_lines "$SERVER_LOG")"
grep -q 'reason=shutdown detail="draining, and no request came within 1 s"' "$SERVER_LOG" ||
	fail "no shutdown close for the idle connection: $(close_lines "$SERVER_LOG")"
ok "a handshake ending after the drain began is closed within the grace, not at drain-timeout"

drain_with inflight server '\] handshake '
grep -q "answer: b'HTTP/1.1 200.*hello" "$WORK/inflight.log" ||
	fail "a CONNECT sent just after the drain began was not served: $(cat "$WORK/inflight.log"); $(close_lines "$SERVER_LOG")"
ok "a CONNECT one round trip behind the drain's start is served"
pass "draining with connections that have sent no request yet"
