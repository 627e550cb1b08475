#!/bin/bash
# tls13-tickets: a TLS 1.3 server that sends session tickets (as OpenSSL, Python and nginx do by
# default) and then its reply. GnuTLS answers AGAIN after it handles a ticket even when the reply's
# record is already read, so a ktund client that stopped there waited for bytes the server would
# never send. Twenty request/response rounds through ktund client, each with its own connection:
# every reply must come back (the stall hit more than half of the connections).
set -euo pipefail
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"
pair_init

cat >"$WORK/tls_server.py" <<'PY'
import socket, ssl, sys, threading
pki, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.num_tickets = 2
ctx.load_cert_chain(f"{pki}/server-chain.pem", f"{pki}/server.key")
ctx.load_verify_locations(f"{pki}/ca.pem")
ctx.verify_mode = ssl.CERT_REQUIRED
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
s.listen(64)
def serve(c):
    with ctx.wrap_socket(c, server_side=True) as t:
        line = t.makefile("rb").readline()
        t.sendall(b"reply:" + line)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
bg_origin python3 "$WORK/tls_server.py" "$PKI" "$ORIGIN_IP" "$TLS_PORT"
wait_port "$NS_ORIGIN" "$TLS_PORT" || fail "TLS server did not start"
start_client

in_edge python3 - "$EDGE_PORT" <<'PY' || fail "replies missing (see above)"
import socket, sys
port, missing = int(sys.argv[1]), 0
for i in range(20):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"round %d\n" % i)
    try:
        got = s.makefile("rb").readline()
    except socket.timeout:
        got = b""
    if got != b"reply:round %d\n" % i:
        print(f"round {i}: got {got!r}")
        missing += 1
    s.close()
sys.exit(1 if missing else 0)
PY
wait_stat client handshakes_ok 20 || fail "handshakes_ok: $(stat_of client handshakes_ok), want 20"
pass "20 of 20 replies arrived after the server's session tickets"
