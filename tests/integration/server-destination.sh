#!/bin/bash
# server-destination: `target = from-client` (issue 13, server side). The peer names its
# destination in an HTTP/1.1 CONNECT request inside the TLS session; the server checks it
# against the allow-destination rules for this peer, connects, answers 200 and relays, or
# answers 4xx/5xx and ends the session with close_notify. Real peers: curl --proxytunnel with
# a client certificate, and connect_client.py for what curl cannot send. Origins on several
# addresses of the origin namespace's loopback.
set -euo pipefail
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"
need_cmd curl
pair_init
HERE=$(cd "$(dirname "$0")" && pwd)

A=10.9.0.1 B=10.9.0.2 C=10.9.0.3 V6=fd00:9::1
origin_addrs $A/32 $B/32 $C/32 $V6/128
for o in "$A:8080 a" "$B:8080 b" "$C:8080 c" "[$V6]:8080 v6"; do
	set -- $o
	bg_origin python3 "$ORIGIN_TOOL" http "$1" "$WORK/origin-$2.accepts"
done
bg_origin python3 "$ORIGIN_TOOL" echo "$A:7" "$WORK/origin-echo.accepts"
for p in 8080 7; do wait_port "$NS_ORIGIN" $p || fail "origins did not start"; done

# 0. Configuration: an INI file with identity-scoped rules checks; what is missing or misplaced
# stops start-up with exit 2 and a message.
ini() { # extra lines for the [gw] section
	printf '[global]\ncontrol = %s\n[gw]\nmode = server\nlisten = 127.0.0.1:9443\n' "$WORK/c.sock"
	printf 'cert = %s\nkey = %s\ncacert = %s\nallow-ou = edge\n' "$PKI/server-chain.pem" \
		"$PKI/server.key" "$PKI/ca.pem"
	printf '%s\n' "$@"
}
check_conf() { # NAME WANT-EXIT WANT-TEXT LINES...
	local name=$1 want=$2 text=$3 out rc=0
	shift 3
	ini "$@" >"$WORK/gw.conf"
	out=$("$KTUND" --config "$WORK/gw.conf" --check 2>&1) || rc=$?
	[ "$rc" = "$want" ] && [[ $out == *"$text"* ]] && ok "config $name: exit $rc" ||
		not_ok "config $name: exit $rc, want $want and '$text': $out"
}
check_conf "scoped rules" 0 "configuration ok" "target = from-client" \
	"allow-destination = 10.1.0.0/16:443" "allow-destination = 10.2.0.0/16:5432 ou=db-client" \
	"allow-destination = [2001:db8::/32]:80-81 uri=spiffe://ktun.test/ns/edge/sa/*" \
	"allow-destination = 10.3.0.0/16:22 cn=Edge Gateway, Inc."
check_conf "from-client without rules" 2 "needs at least one allow-destination" "target = from-client"
check_conf "rules without from-client" 2 "allow-destination needs target = from-client" \
	"target = 127.0.0.1:80" "allow-destination = 10.1.0.0/16:443"
check_conf "unknown identity kind" 2 "want one KIND=VALUE" "target = from-client" \
	"allow-destination = 10.1.0.0/16:443 team=blue"
check_conf "two identity terms in one rule" 2 "second identity term 'cn='" "target = from-client" \
	"allow-destination = 10.1.0.0/16:443 ou=edge cn=nobody"
check_conf "allow-all as a scope" 2 "want one KIND=VALUE" "target = from-client" \
	"allow-destination = 10.1.0.0/16:443 all=yes"
check_conf "host bits set" 2 "allow-destination '10.1.0.1/16:443'" "target = from-client" \
	"allow-destination = 10.1.0.1/16:443"
check_conf "bad fingerprint scope" 2 "allow-destination '10.1.0.0/16:443 fingerprint=sha256:zz'" \
	"target = from-client" "allow-destination = 10.1.0.0/16:443 fingerprint=sha256:zz"
check_conf "duplicate rule" 2 "given twice" "target = from-client" \
	"allow-destination = 10.1.0.0/16:443" "allow-destination = 10.1.0.0/16:443"
out=$("$KTUND" client --listen 127.0.0.1:9000 --target from-client --cert "$PKI/client-chain.pem" \
	--key "$PKI/client.key" --cacert "$PKI/ca.pem" --allow-destination 10.0.0.0/8:80 2>&1) && rc=0 || rc=$?
[ "$rc" = 2 ] && [[ $out == *"from-client is a server-mode option"* ]] &&
	ok "client mode refuses target from-client" || not_ok "client from-client: exit $rc: $out"

accepts() { [ -f "$WORK/origin-$1.accepts" ] && wc -l <"$WORK/origin-$1.accepts" || echo 0; }

# via_curl CERT URL: curl through the server as an HTTPS proxy; prints "EXIT CODE BODYLEN".
via_curl() {
	local cert=() out rc=0
	[ "$1" != none ] && cert=(--proxy-cert "$PKI/$1-chain.pem" --proxy-key "$PKI/$1.key")
	out=$(in_edge curl -sS --max-time 10 --proxytunnel --proxy "https://origin.test:$TLS_PORT" \
		--resolve "origin.test:$TLS_PORT:$ORIGIN_IP" --proxy-cacert "$PKI/ca.pem" "${cert[@]}" \
		-o "$WORK/body" -w '%{http_connect} %{http_code}' "$2" 2>"$WORK/curl.err") || rc=$?
	echo "$rc $out $(wc -c <"$WORK/body" 2>/dev/null || echo 0)"
}

# raw CERT ARGS...: connect_client.py from the edge host.
raw() {
	local cert=$1
	shift
	in_edge python3 "$HERE/connect_client.py" "$ORIGIN_IP" "$TLS_PORT" "$PKI" "$cert" "$@"
}

SERVER_TARGET=from-client SERVER_ALLOW_DEFAULT=0 start_server --allow-cn edge-client \
	--handshake-timeout 3 --connect-timeout 3 \
	--allow-destination "$A/32:8080" --allow-destination "[$V6/128]:8080" \
	--allow-destination "$B/32:8080 ou=edge" --allow-destination "$A/32:7-9" \
	--allow-destination "$ORIGIN_IP/32:8443" --allow-destination "127.0.0.1/32:8080" \
	--allow-destination "127.0.0.1/32:9101" --metrics-listen 127.0.0.1:9101
grep -q "target from-client" "$SERVER_LOG" || not_ok "the listening line does not say target from-client"

# 1. curl reaches an allowed destination, IPv4 and IPv6, through one tunnel.
r=$(via_curl client "http://$A:8080/")
[ "$r" = "0 200 200 1088" ] && [ "$(accepts a)" = 1 ] && ok "curl: $A:8080 served ($r)" ||
	not_ok "curl to $A:8080: '$r', $(cat "$WORK/curl.err")"
r=$(via_curl client "http://[$V6]:8080/")
[ "$r" = "0 200 200 1088" ] && [ "$(accepts v6)" = 1 ] && ok "curl: [$V6]:8080 served" ||
	not_ok "curl to [$V6]:8080: '$r', $(cat "$WORK/curl.err")"
wait_log "$SERVER_LOG" "close peer=$EDGE_IP:[0-9]+ dst=\[$V6\]:8080 id=.* reason=done rule=\"\[$V6(/128)?\]:8080\"$" 5 &&
	ok "the close line names the destination" || not_ok "no close line with dst=[$V6]:8080"

m=$(in_origin curl -sS --max-time 5 http://127.0.0.1:9101/metrics 2>&1 || true)
grep -Eq "^ktund_destination_connections_total\{tunnel=\"server\",rule=\"10.9.0.1(/32)?:8080\"\} 1$" <<<"$m" &&
	grep -Eq "^ktund_destination_connections_total\{tunnel=\"server\",rule=\"10.9.0.2(/32)?:8080 ou=edge\"\} 0$" <<<"$m" &&
	ok "metrics: one series per allow-destination rule" ||
	not_ok "metrics: $(grep destination <<<"$m")"

# 2. A destination no rule covers: 403, counted, the origin never sees it.
r=$(via_curl client "http://$C:8080/")
[[ $r == "56 403 "* ]] && [ "$(accepts c)" = 0 ] && ok "curl: $C:8080 refused with 403" ||
	not_ok "curl to $C:8080: '$r', $(cat "$WORK/curl.err")"
wait_stat server close.destination-denied 1 5 && ok "close.destination-denied counted" ||
	not_ok "close.destination-denied is $(stat_of server close.destination-denied)"
grep -q "reason=destination-denied detail=\"dst=$C:8080: no allow-destination rule" "$SERVER_LOG" &&
	ok "the close line says why" || not_ok "no destination-denied close line for $C"

# 3. curl without a certificate is refused at the handshake.
r=$(via_curl none "http://$A:8080/")
[[ $r != "0 "* ]] && wait_log "$SERVER_LOG" "reject peer=$EDGE_IP:[0-9]+ reason=no-client-cert" 5 &&
	ok "curl without a certificate: refused at the handshake" ||
	not_ok "curl without a certificate: '$r'"

# 4. Identity-scoped rule: OU=edge reaches $B, OU=other (admitted by allow-cn) does not.
r=$(via_curl client "http://$B:8080/")
[ "$r" = "0 200 200 1088" ] && ok "ou=edge reaches the ou=edge rule's $B" || not_ok "ou=edge to $B: '$r'"
r=$(via_curl client-wrongou "http://$B:8080/")
[[ $r == "56 403 "* ]] && [ "$(accepts b)" = 1 ] && ok "ou=other gets 403 for $B" ||
	not_ok "ou=other to $B: '$r'"
grep -Eq "close peer=$EDGE_IP:[0-9]+ dst=$B:8080 id=\"[^\"]*OU=edge\" .* rule=\"$B(/32)?:8080 ou=edge\"$" "$SERVER_LOG" &&
	ok "the close line names the rule that gave the destination" ||
	not_ok "no close line with rule=\"$B:8080 ou=edge\""
r=$(via_curl client-wrongou "http://$A:8080/")
[ "$r" = "0 200 200 1088" ] && ok "ou=other still reaches the unscoped $A" || not_ok "ou=other to $A: '$r'"

# 5. Malformed, oversized and slow requests.
expect_raw() { # NAME WANT-PREFIX WANT-END(regex) ARGS...
	local name=$1 want=$2 end=$3 got
	shift 3
	got=$(raw client "$@" 2>&1) || true
	[[ $got == "$want"* ]] && [[ ${got##* } =~ ^($end)$ ]] && ok "$name: ${got:0:60}... $end" || not_ok "$name: got '$got'"
}
H400='HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'
expect_raw "GET instead of CONNECT" "$H400" close_notify --record 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'
expect_raw "absolute-form" "$H400" close_notify \
	--record "CONNECT http://$A:8080/ HTTP/1.1\r\nHost: $A:8080\r\n\r\n"
expect_raw "obs-fold" "$H400" close_notify \
	--record "CONNECT $A:8080 HTTP/1.1\r\nHost: $A:8080\r\nX: a\r\n b\r\n\r\n"
expect_raw "NUL in a field" "$H400" close_notify --record "CONNECT $A:8080 HTTP/1.1\r\nX: a\x00b\r\n\r\n"
expect_raw "duplicate Forwarded" "$H400" close_notify --record "CONNECT $A:8080 HTTP/1.1\r\nHost: $A:8080\r\nForwarded: for=1.2.3.4\r\nForwarded: for=1.2.3.5\r\n\r\n"
big=$(printf 'X: %04000d\\r\\n' 0)
expect_raw "oversized head (4 KiB + 2 records)" "$H400" close_notify \
	--record "CONNECT $A:8080 HTTP/1.1\r\nHost: $A:8080\r\n" --record "$big" --record "$big"
grep -q 'reason=bad-request detail="request head longer than 4096 bytes"' "$SERVER_LOG" &&
	ok "oversized: logged as such" || not_ok "no bad-request line for the oversized head"
expect_raw "slow request (handshake timeout 3 s)" "" 'reset|eof' --wait 15 \
	--record "CONNECT $A:8080 HTTP/1.1\r\n"
grep -q 'reason=handshake-timeout detail="no complete CONNECT request within 3 s' "$SERVER_LOG" &&
	ok "slow: closed by the handshake deadline" || not_ok "no handshake-timeout close for the slow request"
[ "$(stat_of server close.bad-request)" = 6 ] && ok "close.bad-request counts 6" ||
	not_ok "close.bad-request is $(stat_of server close.bad-request), want 6"

# 6. Bytes after the head go to the origin: in the same record, in later records, and a
# second CONNECT (pipelined) is data, not a request. The echo origin answers and waits for
# our half-close, which never comes: the read ends by its own timeout.
H200='HTTP/1.1 200 Connection established\r\n\r\n'
expect_raw "request and data in one record" "${H200}ping\n" timeout --wait 2 \
	--record "CONNECT $A:7 HTTP/1.1\r\nHost: $A:7\r\n\r\nping\n"
expect_raw "head cut over records, data after" "${H200}pong\n" timeout --wait 2 \
	--record "CONNECT $A:7 HTTP/1.1\r\nHo" --record "st: $A:7\r\n\r\n" --record 'pong\n'
expect_raw "TLS 1.2: request and data in one record" "${H200}ping\n" timeout --wait 2 --tls12 \
	--record "CONNECT $A:7 HTTP/1.1\r\nHost: $A:7\r\n\r\nping\n"
expect_raw "TLS 1.2: a refusal" "$H400" close_notify --tls12 --record 'GET / HTTP/1.1\r\n\r\n'
expect_raw "pipelined CONNECT is the application's" \
	"${H200}CONNECT $C:8080 HTTP/1.1\r\nHost: $C:8080\r\n\r\n" timeout --wait 2 \
	--record "CONNECT $A:7 HTTP/1.1\r\nHost: $A:7\r\n\r\nCONNECT $C:8080 HTTP/1.1\r\nHost: $C:8080\r\n\r\n"

# 7. ktunctl conns shows the destination of a live connection, in text and JSON.
raw client --hold 3 --wait 4 --record "CONNECT $A:7 HTTP/1.1\r\nHost: $A:7\r\n\r\n" >/dev/null 2>&1 &
held=$!
for _ in $(seq 30); do ctl server conns | grep -q "dst=$A:7" && break; sleep 0.1; done
ctl server conns | grep -Eq "peer=$EDGE_IP:[0-9]* dst=$A:7 .* rule=\"$A(/32)?:7-9\"( |$)" &&
	ok "ktunctl conns: dst=$A:7 and its rule" ||
	not_ok "ktunctl conns: $(ctl server conns)"
ctl server --json conns 2>/dev/null | grep -q "\"dst\": *\"$A:7\"" &&
	ctl server --json conns 2>/dev/null | grep -Eq "\"rule\": *\"$A(/32)?:7-9\"" &&
	ok "ktunctl conns --json: dst and rule" ||
	not_ok "ktunctl conns --json: $(ctl server --json conns 2>&1 | head -3)"
wait $held || true

# 8. No loops, names resolved on the server must pass the same rules, unreachable origins.
H403='HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'
expect_raw "the server's own listener" "$H403" close_notify \
	--record "CONNECT $ORIGIN_IP:$TLS_PORT HTTP/1.1\r\nHost: $ORIGIN_IP:$TLS_PORT\r\n\r\n"
grep -q "detail=\"dst=$ORIGIN_IP:$TLS_PORT: one of this server's own listeners" "$SERVER_LOG" &&
	ok "loop: refused as the own listener" || not_ok "no loop refusal logged"
# A host glibc would read as a number (0x0a090001 is $A, allowed): 400, never looked up.
expect_raw "a hexadecimal host" "$H400" close_notify \
	--record "CONNECT 0x0a090001:8080 HTTP/1.1\r\nHost: 0x0a090001:8080\r\n\r\n"
grep -q 'reason=bad-request detail="host reads as an IPv4 address in a form other than dotted decimal' \
	"$SERVER_LOG" && ok "a hexadecimal host: refused as such" || not_ok "no bad-request line for 0x0a090001"
# The metrics and health listener is one of ours too, even where a rule covers it.
expect_raw "the metrics listener" "$H403" close_notify \
	--record "CONNECT 127.0.0.1:9101 HTTP/1.1\r\nHost: 127.0.0.1:9101\r\n\r\nGET /metrics HTTP/1.0\r\n\r\n"
grep -q "detail=\"dst=127.0.0.1:9101: one of this server's own listeners" "$SERVER_LOG" &&
	ok "loop: the metrics listener refused" || not_ok "no own-listener refusal for the metrics listener"
expect_raw "a name that resolves to denied addresses" "$H403" close_notify \
	--record "CONNECT localhost:9 HTTP/1.1\r\nHost: localhost:9\r\n\r\n"
grep -q 'reason=destination-denied detail="dst=localhost:9 (.*127.0.0.1:9.*): no allow-destination rule' "$SERVER_LOG" &&
	ok "the name's addresses are named in the close line" || not_ok "no destination-denied line for localhost:9"
expect_raw "closed port: 502" 'HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n' \
	close_notify --record "CONNECT $A:8 HTTP/1.1\r\nHost: $A:8\r\n\r\n"
wait_stat server close.target-unreachable 1 5 && ok "close.target-unreachable counted" ||
	not_ok "close.target-unreachable is $(stat_of server close.target-unreachable)"
stop_pair

# 9. PROXY v2: the origin sees the Forwarded source, or the edge host without one.
bg_origin python3 "$HERE/pp_origin.py" 8080 "$WORK/pp.json"
wait_port "$NS_ORIGIN" 8080 || fail "pp_origin did not start"
# A wildcard listener: every local address with its port is a loop (127.0.0.5 included, and
# a secondary address, whose route's source is the primary one).
origin_addrs 10.9.1.5/24 10.9.1.6/24
SERVER_LISTEN="0.0.0.0:$TLS_PORT" SERVER_TARGET=from-client SERVER_ALLOW_DEFAULT=0 start_server \
	--allow-cn edge-client --proxy-protocol --allow-destination "127.0.0.1/32:8080" \
	--allow-destination "127.0.0.0/8:$TLS_PORT" --allow-destination "10.9.1.0/24:$TLS_PORT" \
	--allow-destination "0.0.0.0/0:8081" --allow-destination "[::/128]:8081" \
	--allow-destination "[ff00::/8]:8081"
expect_raw "a local address of a wildcard listener" "$H403" close_notify \
	--record "CONNECT 127.0.0.5:$TLS_PORT HTTP/1.1\r\nHost: 127.0.0.5:$TLS_PORT\r\n\r\n"
grep -q "detail=\"dst=127.0.0.5:$TLS_PORT: one of this server's own listeners" "$SERVER_LOG" &&
	ok "loop: a wildcard listener's local address refused" || not_ok "no loop refusal for 127.0.0.5"
expect_raw "a secondary address of a wildcard listener" "$H403" close_notify \
	--record "CONNECT 10.9.1.6:$TLS_PORT HTTP/1.1\r\nHost: 10.9.1.6:$TLS_PORT\r\n\r\n"
grep -q "detail=\"dst=10.9.1.6:$TLS_PORT: one of this server's own listeners" "$SERVER_LOG" &&
	ok "loop: a secondary address refused" || not_ok "no loop refusal for the secondary 10.9.1.6"
# Never a destination, whatever the rules say: unspecified (it reaches this host), multicast,
# broadcast (all-ones and a subnet's).
bg_origin python3 "$ORIGIN_TOOL" http "0.0.0.0:8081" "$WORK/origin-any.accepts"
wait_port "$NS_ORIGIN" 8081 || fail "the 8081 origin did not start"
for d in "0.0.0.0:8081 unspecified" "[::]:8081 unspecified" "224.0.0.1:8081 multicast" \
	"[ff02::1]:8081 multicast" "255.255.255.255:8081 broadcast" "10.9.1.255:8081 broadcast"; do
	set -- $d
	expect_raw "never a destination: $1" "$H403" close_notify \
		--record "CONNECT $1 HTTP/1.1\r\nHost: $1\r\n\r\n"
	grep -F "detail=\"dst=$1: " "$SERVER_LOG" | grep -q "$2" && ok "$1 refused as $2" ||
		not_ok "no $2 refusal logged for $1"
done
[ "$(accepts any)" = 0 ] && ok "the origin on 0.0.0.0:8081 was never reached" ||
	not_ok "the origin on 0.0.0.0:8081 was reached $(accepts any) times"
raw client --wait 5 --record "CONNECT 127.0.0.1:8080 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nForwarded: for=\"198.51.100.7:4242\"\r\n\r\nline one\n" >/dev/null || true
raw client --wait 5 --record "CONNECT 127.0.0.1:8080 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nForwarded: for=\"[2001:db8:2::7]:4243\"\r\n\r\nline two\n" >/dev/null || true
raw client --wait 5 --record "CONNECT 127.0.0.1:8080 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\nline three\n" >/dev/null || true
# A name, resolved on the server (hosts file: ::1 and 127.0.0.1); only 127.0.0.1 is allowed.
raw client --wait 5 --record "CONNECT localhost:8080 HTTP/1.1\r\nHost: localhost:8080\r\n\r\nline four\n" >/dev/null || true
wait_log "$WORK/pp.json" 'line four' 5 || true
python3 - "$WORK/pp.json" "$EDGE_IP" <<'PY' && ok "PROXY v2 source: Forwarded, else the edge host; a name resolved to an allowed address" || not_ok "PROXY v2: $(cat "$WORK/pp.json")"
import json, sys
rows = {json.loads(l)["payload"]: json.loads(l) for l in open(sys.argv[1])}
one, two, three = rows["line one\n"], rows["line two\n"], rows["line three\n"]
assert rows["line four\n"]["dst"] == "127.0.0.1:8080", rows["line four\n"]
assert one["src"] == "198.51.100.7:4242" and one["dst"] == "127.0.0.1:8080", one
assert two["fam"] == 0x21 and "2001:db8:2::7" in two["src"], two
assert three["src"].startswith(sys.argv[2] + ":"), three
assert one["ssl_22"] == "edge-client", one
PY
stop_pair

# 10. The resolver under a name server that never answers (each lookup: 2 s): at most 64
# lookups wait, the next name is answered 503 (resolver-busy); a connection whose deadline
# passes while its lookup waits is closed saying so, and its queued lookup is dropped, so a
# later client's name does not wait behind them.
printf 'nameserver 127.0.0.1\noptions timeout:2 attempts:1\n' >"$WORK/resolv.conf"
ip netns exec "$NS_ORIGIN" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 53))
while True:
    s.recvfrom(2048); print("query", flush=True)' >"$WORK/dns.queries" 2>&1 &
printf '#!/bin/bash\nexec unshare -m bash -c %q %q "$@"\n' \
	"mount --bind $WORK/resolv.conf /etc/resolv.conf && exec \"\$0\" \"\$@\"" "$KTUND" \
	>"$WORK/ktund-resolv"
chmod +x "$WORK/ktund-resolv"
KTUND="$WORK/ktund-resolv" SERVER_TARGET=from-client SERVER_ALLOW_DEFAULT=0 start_server \
	--allow-cn edge-client --handshake-timeout 4 --allow-destination "0.0.0.0/0:80"
flood=$(in_edge python3 "$HERE/resolver_flood.py" "$ORIGIN_IP" "$TLS_PORT" "$PKI" client 65 --wait 30 2>&1) || true
note "65 slow names: $(tr '\n' ';' <<<"$flood")"
grep -q "^1 HTTP/1.1_503_Service_Unavailable close_notify$" <<<"$flood" &&
	ok "the 65th name lookup is refused with 503" || not_ok "no single 503 among 65 slow names: $flood"
wait_stat server close.resolver-busy 1 5 && ok "close.resolver-busy counted" ||
	not_ok "close.resolver-busy is $(stat_of server close.resolver-busy)"
grep -q 'detail="name lookup of slow[0-9]*.example took longer than 4 s' "$SERVER_LOG" &&
	ok "a lookup past the deadline is named in the close line" ||
	not_ok "no 'name lookup of ... took longer' close line"
expect_raw "a name after the flood is looked up, not queued behind it" "$H403" close_notify --wait 10 \
	--record "CONNECT localhost:9 HTTP/1.1\r\nHost: localhost:9\r\n\r\n"
note "DNS queries the server sent: $(grep -c query "$WORK/dns.queries" || true)"
stop_pair
finish
