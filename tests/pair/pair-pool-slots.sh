#!/bin/bash
# pair-pool-slots: a from-client server at max-connections (2, one worker) full of a client's
# idle pooled connections (pool = 2, pool-idle 40 s) must still serve another client (review
# finding 4): the held connection evicts the oldest connection that has sent no request for
# handshake-timeout (2 s here): close_notify, reason=request-timeout, detail "evicted".
set -euo pipefail
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"
pair_init
bg_origin python3 "$KTUN_LIB/origin.py" echo "127.0.0.1:$ORIGIN_PORT" "$WORK/acc.log"
wait_port "$NS_ORIGIN" "$ORIGIN_PORT" || fail "the origin did not start"
SERVER_TARGET=from-client start_server --allow-destination "127.0.0.1/32:$ORIGIN_PORT" \
	--max-connections 2 --workers 1 --handshake-timeout 2
start_client --destination "127.0.0.1:$ORIGIN_PORT" --pool 2 --workers 1
wait_stat client pool_size 2 10 || fail "no pool of 2"
wait_stat server conns_open 2 10 || fail "the server does not hold the 2 pooled connections"
# Another client, no pool: before the fix it waited for the pool's pool-idle (40 s), past
# its own 20 s limit.
ip netns exec "$NS_EDGE" timeout 30 python3 - "$ORIGIN_IP" "$TLS_PORT" "$PKI" "$ORIGIN_PORT" \
	>"$WORK/other.log" 2>&1 <<'PY' || true
import socket, ssl, sys
host, port, pki, oport = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(pki + "/ca.pem")
ctx.load_cert_chain(pki + "/client-chain.pem", pki + "/client.key")
ctx.check_hostname = False
s = socket.create_connection((host, port), timeout=20)
t = ctx.wrap_socket(s, server_hostname="origin.test")
t.sendall(b"CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\n\r\nhello\n" % (oport.encode(), oport.encode()))
data = b""
while b"hello" not in data:
    d = t.recv(300)
    if not d:
        break
    data += d
print("answer:", data, flush=True)
PY
grep -q "answer: b'HTTP/1.1 200.*hello" "$WORK/other.log" ||
	fail "the other client was not served while idle pooled connections held the slots: \
$(cat "$WORK/other.log"); $(close_lines "$SERVER_LOG")"
wait_log "$SERVER_LOG" 'reason=request-timeout detail="evicted: max-connections reached' 5 ||
	fail "no eviction logged: $(close_lines "$SERVER_LOG")"
ok "a held connection evicts an idle pooled one and is served"
stop_pair
pass "max-connections with a client's idle pool"
