#!/bin/bash
# server-proxy: proxy-protocol = yes. A ktund client -> ktund server pair whose server sends a
# PROXY v2 header to its origin first. An nginx origin (listen ... proxy_protocol) logs the edge
# host's address, not ktund's; so does HAProxy (accept-proxy); a python origin parses the header field by field and checks
# the TLVs: PP2_TYPE_SSL (verified, TLSv1.3, CN edge-client, the IANA cipher name), the SHA-256
# fingerprint and the URI SAN of the client certificate. Without the option no header is sent,
# and the option is refused in client mode.
set -euo pipefail
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"
need_cmd nginx curl
pair_init

# 1. nginx with proxy_protocol: its $proxy_protocol_addr is the edge host.
mkdir -p "$WORK/www"
echo "hello through PROXY v2" >"$WORK/www/index.html"
# shellcheck disable=SC2016 # nginx's variables
nginx_origin '$proxy_protocol_addr:$proxy_protocol_port $remote_addr $status "$request"' \
	"server { listen 127.0.0.1:$ORIGIN_PORT proxy_protocol; }"
wait_port "$NS_ORIGIN" "$ORIGIN_PORT" || fail "nginx did not start: $(cat "$WORK/nginx-error.log")"
start_server --proxy-protocol
start_client
body=$(in_edge curl -sS --max-time 10 "http://127.0.0.1:$EDGE_PORT/") || true
wait_log "$WORK/nginx-access.log" 'GET /' 5 || true
line=$(tail -1 "$WORK/nginx-access.log" 2>/dev/null || true)
if [ "$body" = "hello through PROXY v2" ] && [[ $line == "$EDGE_IP:"[0-9]*" 127.0.0.1 200 "* ]]; then
	ok "nginx: page served, proxy_protocol_addr is the edge host: $line"
else
	not_ok "nginx: body '$body', access log '$line'"
fi
stop_pair
kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
for _ in $(seq 50); do
	ip netns exec "$NS_ORIGIN" ss -Htln "sport = :$ORIGIN_PORT" | grep -q . || break
	sleep 0.1
done

# 2. HAProxy with accept-proxy: it takes the header, TLVs and all (a malformed TLV would make
# it drop the connection), and its src is the edge host.
if command -v haproxy >/dev/null; then
	cat >"$WORK/haproxy.cfg" <<EOF
global
    pidfile $WORK/haproxy.pid
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend origin
    bind 127.0.0.1:$ORIGIN_PORT accept-proxy
    http-request return status 200 content-type text/plain lf-string "haproxy saw src=%[src] dst=%[dst]\n"
EOF
	ip netns exec "$NS_ORIGIN" haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
	hap=$!
	wait_port "$NS_ORIGIN" "$ORIGIN_PORT" || fail "haproxy did not start: $(cat "$WORK/haproxy.log")"
	start_server --proxy-protocol
	start_client
	body=$(in_edge curl -sS --max-time 10 "http://127.0.0.1:$EDGE_PORT/") || true
	if [[ $body == "haproxy saw src=$EDGE_IP dst=$ORIGIN_IP" ]]; then
		ok "haproxy: accept-proxy took the header; src is the edge host: $body"
	else
		not_ok "haproxy: body '$body'; $(tail -3 "$WORK/haproxy.log")"
	fi
	stop_pair
	kill "$hap" 2>/dev/null || true
	wait "$hap" 2>/dev/null || true
	for _ in $(seq 50); do
		ip netns exec "$NS_ORIGIN" ss -Htln "sport = :$ORIGIN_PORT" | grep -q . || break
		sleep 0.1
	done
else
	not_ok "haproxy is not installed (tools/dev/install-deps.sh installs it)"
fi

# 3. A python origin that parses the header itself.
bg_origin python3 "$(dirname "$0")/pp_origin.py" "$ORIGIN_PORT" "$WORK/pp.json"
wait_port "$NS_ORIGIN" "$ORIGIN_PORT" || fail "python origin did not start"

# app_line TEXT: one line through the pair, waiting for the origin's answer.
app_line() {
	in_edge python3 -c "
import socket, sys
s = socket.create_connection(('127.0.0.1', $EDGE_PORT), timeout=10)
s.sendall(sys.argv[1].encode() + b'\n'); s.makefile('rb').readline()" "$1" >/dev/null || true
}

start_server --proxy-protocol
start_client
app_line "payload after the header"
wait_log "$WORK/pp.json" payload 5 || true
if python3 - "$WORK/pp.json" "$EDGE_IP" "$ORIGIN_IP" "$(cat "$PKI/client.sha256")" <<'PY'; then
import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
want = {"ver": 0x21, "fam": 0x11, "ssl_client": 7, "ssl_verify": 0, "ssl_21": "TLSv1.3",
        "ssl_22": "edge-client", "uri": "spiffe://ktun.test/ns/edge/sa/client",
        "fingerprint": sys.argv[4], "payload": "payload after the header\n"}
wrong = {k: (r.get(k), v) for k, v in want.items() if r.get(k) != v}
if not r.get("src", "").startswith(sys.argv[2] + ":") or r.get("dst") != sys.argv[3] + ":8443":
    wrong["addresses"] = (r.get("src"), r.get("dst"))
if not r.get("ssl_23", "").startswith("TLS_AES_"):
    wrong["cipher"] = r.get("ssl_23")
print(wrong or "all fields match")
sys.exit(1 if wrong else 0)
PY
	ok "python origin: header and TLVs as sent: $(tail -1 "$WORK/pp.json")"
else
	not_ok "python origin: $(cat "$WORK/pp.json" 2>/dev/null)"
fi
stop_pair

# 4. Without the option the origin gets the payload and nothing before it.
start_server
start_client
app_line "plain payload, no header before it"
sleep 0.3
if tail -1 "$WORK/pp.json" | grep -q 'no PROXY v2 signature'; then
	ok "no proxy-protocol: no header"
else
	not_ok "without proxy-protocol the origin saw: $(tail -1 "$WORK/pp.json")"
fi
stop_pair

# 5. Client mode refuses it.
rc=0
"$KTUND" client --listen 127.0.0.1:1 --target 192.0.2.2:2 --cert "$PKI/client-chain.pem" \
	--key "$PKI/client.key" --cacert "$PKI/ca.pem" --proxy-protocol --check >/dev/null \
	2>"$WORK/cm.err" || rc=$?
if [ $rc = 2 ] && grep -q 'proxy-protocol is a server-mode option' "$WORK/cm.err"; then
	ok "client mode: proxy-protocol refused"
else
	not_ok "client mode: exit $rc: $(cat "$WORK/cm.err")"
fi

finish "PROXY v2 header for nginx and a parser, none without the option"
