#!/bin/bash
# handshake-records: handshake messages that span several TLS records, and peers that leave
# in the middle of one. GnuTLS reads one record per gnutls_handshake call; ktund must go on
# while records wait in its buffer, not wait for the socket (issue 10, item 2).
#   frag512 1.3/1.2   openssl s_client -max_send_frag 512 (its certificate chain spans several
#                     records): 10 of 10 connections echo through ktund server
#   big client cert   a client chain of ~24 KiB (a leaf with a big extension), from openssl
#                     s_client and gnutls-cli at TLS 1.3 and 1.2: accepted, echoed
#   big server cert   ktund client against openssl s_server whose certificate message is
#                     ~24 KiB, TLS 1.3 and 1.2: a line goes through
#   big pair          ktund client to ktund server, both with those certificates: a line
#                     goes through and back
#   partial hello     20 peers send two records of a ClientHello that claims 20,000 bytes,
#                     then close: with --handshake-timeout 60 every connection is gone within
#                     5 s (conns_open 0, no CLOSE-WAIT socket), each counted reject.peer-closed
# Case functions run indirectly (run_case) and take no arguments from the script:
# shellcheck disable=SC2317,SC2119
set -euo pipefail
. "$(dirname "$0")/srvlib.sh"
srv_init
CLIENTTOOL=$INTEG_DIR/clienttool.py

# issue_big NAME EKU SUBJECT SAN: a leaf NAME.pem signed by the intermediate whose DER is
# over 20 KiB (a 23,000-byte private extension), and NAME-chain.pem with the intermediate.
issue_big() {
	local name=$1 eku=$2 subj=$3 san=$4 big
	big=$(head -c 23000 /dev/zero | tr '\0' k)
	(
		cd "$PKI"
		printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
			"extendedKeyUsage=$eku" "subjectAltName=$san" \
			"1.3.6.1.4.1.55555.1=ASN1:UTF8String:$big" >"$name.ext"
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$name.key" \
			-subj "$subj" -out "$name.csr" 2>/dev/null
		openssl x509 -req -in "$name.csr" -CA inter.pem -CAkey inter.key -CAcreateserial \
			-days 30 -extfile "$name.ext" -out "$name.pem" 2>/dev/null
		cat "$name.pem" inter.pem >"$name-chain.pem"
		rm -f "$name.csr" "$name.ext"
	) || fail "openssl could not issue $name"
	[ "$(openssl x509 -in "$PKI/$name.pem" -outform DER | wc -c)" -gt 20000 ] ||
		fail "$name is not over 20,000 bytes"
}
issue_big client-big clientAuth "/OU=edge/CN=edge-big" "DNS:edge.test"
issue_big server-big serverAuth "/CN=origin.test" "DNS:origin.test,IP:$ORIGIN_IP"

# echoed TOOL WHO LABEL [ARGS...]: one connection through ktund server comes back echoed.
echoed() {
	local tool=$1 who=$2 label=$3 line="through ktund $RANDOM"
	shift 3
	"$tool" "$who" "$line"$'\n' "$@" || fail "$label: the peer failed: $(tail -n 3 "$WORK/peer.err")"
	[ "$(cat "$WORK/peer.out")" = "$line" ] ||
		fail "$label: want '$line' back, got '$(head -c 100 "$WORK/peer.out")'"
}

frag512() {
	local ver=$1 i
	origin_start line
	srv_start
	for ((i = 1; i <= 10; i++)); do
		echoed ossl client "TLS$ver #$i" "-tls${ver/./_}" -max_send_frag 512
	done
	want_stat handshakes_ok 10
	want_stat close.done 10
	note "10 of 10 s_client -max_send_frag 512 -tls${ver/./_} connections echoed"
	srv_stop
}

big_client_cert() {
	use_origin line
	srv_start
	echoed ossl client-big "s_client TLS1.3" -tls1_3
	echoed ossl client-big "s_client TLS1.2" -tls1_2
	use_origin echo
	echoed gtls client-big "gnutls-cli TLS1.3" --priority "$GT13"
	echoed gtls client-big "gnutls-cli TLS1.2" --priority "$GT12"
	want_stat handshakes_ok 4
	[ "$(nlines '\] handshake .*id="CN=edge-big,OU=edge"')" = 4 ] ||
		fail "want 4 handshake lines naming the big certificate: $(grep '\] handshake ' "$SERVER_LOG")"
	note "$(last_line '\] handshake ' | sed 's/.*\] //')"
	srv_stop
}

# big_server_cert: ktund client in the edge namespace against s_server sending server-big.
big_server_cert() {
	local ver out
	for ver in 1.3 1.2; do
		ip netns exec "$NS_ORIGIN" openssl s_server -accept "$ORIGIN_IP:$TLS_PORT" \
			-cert "$PKI/server-big.pem" -key "$PKI/server-big.key" -cert_chain "$PKI/inter.pem" \
			-CAfile "$PKI/ca.pem" -Verify 1 -verify_return_error -rev "-tls${ver/./_}" \
			>"$WORK/sserver-$ver.log" 2>&1 &
		track $!
		wait_port "$NS_ORIGIN" "$TLS_PORT" || fail "s_server did not listen"
		start_client
		track "$CLIENT_PID"
		out=$(in_edge timeout 30 python3 "$CLIENTTOOL" rev-line "127.0.0.1:$EDGE_PORT" "big $ver" 2>&1) ||
			fail "TLS$ver: no data through ktund client: $out; $(grep -E '\] (reject|close) ' "$CLIENT_LOG")"
		grep -qE "\] handshake .*id=\"CN=origin.test\" version=TLS$ver " "$CLIENT_LOG" ||
			fail "TLS$ver: no handshake line: $(grep -E '\] (handshake|reject) ' "$CLIENT_LOG")"
		note "TLS$ver: $out"
		stop_daemon "$CLIENT_PID" client
		_reap_case # s_server, before the next one binds the port
	done
}

# big_pair: ktund client and ktund server, each with a ~24 KiB certificate: both ends send
# and receive a certificate message of two records. A line goes through and back.
big_pair() {
	local out
	use_origin echo
	SERVER_CERT=$PKI/server-big-chain.pem SERVER_KEY=$PKI/server-big.key srv_start
	CLIENT_CERT=$PKI/client-big-chain.pem CLIENT_KEY=$PKI/client-big.key start_client
	track "$CLIENT_PID"
	out=$(in_edge timeout 20 python3 - "$EDGE_PORT" <<'PY' 2>&1
import socket, sys
with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as s:
    s.sendall(b"big both ways\n")
    s.shutdown(socket.SHUT_WR)
    got = b""
    while chunk := s.recv(100):
        got += chunk
print(got.decode().strip())
PY
	) || fail "the app failed: $out"
	[ "$out" = "big both ways" ] || fail "want the line back, got '$out'; $(grep -E '\] (reject|close) ' "$CLIENT_LOG")"
	want_stat handshakes_ok 1
	grep -qE '\] handshake .*id="CN=edge-big,OU=edge"' "$SERVER_LOG" || fail "the server did not log the big client"
	grep -qE '\] handshake .*id="CN=origin.test"' "$CLIENT_LOG" || fail "the client did not log the big server"
	note "$(grep -m1 -oE 'handshake peer=.*' "$CLIENT_LOG")"
	stop_daemon "$CLIENT_PID" client
	srv_stop
}

# partial_hello: peers that send part of a multi-record ClientHello and close.
partial_hello() {
	local n=20 cw
	origin_start line
	srv_start --handshake-timeout 60
	ip netns exec "$NS_EDGE" timeout 20 python3 - "$ORIGIN_IP" "$TLS_PORT" "$n" <<'PY' ||
import socket, struct, sys
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def record(body):
    return b"\x16\x03\x01" + struct.pack(">H", len(body)) + body
hello = b"\x01" + (20000).to_bytes(3, "big") + b"\x03\x03" + bytes(594)
socks = []
for _ in range(n):
    s = socket.create_connection((host, port))
    s.sendall(record(hello) + record(bytes(600)))  # two records of a message that never ends
    socks.append(s)
for s in socks:
    s.close()
PY
		fail "the python peer failed"
	# Well before the 60 s handshake timeout: every slot must be free already.
	want_stat conns_open 0
	want_stat reject.peer-closed "$n"
	want_stat close.peer-closed "$n"
	cw=$(ip netns exec "$NS_ORIGIN" ss -Htn state close-wait "( sport = :$TLS_PORT )" | wc -l)
	[ "$cw" = 0 ] || fail "$cw connection(s) in CLOSE-WAIT on the TLS port"
	[ "$(nlines 'reason=peer-closed detail="peer closed the connection mid-handshake"$')" = "$n" ] ||
		fail "want $n reject lines saying mid-handshake: $(last_line '\] reject ')"
	[ "$(accepts)" = 0 ] || fail "$(accepts) connection(s) reached the origin"
	note "$(last_line '\] reject ' | sed 's/.*\] //')"
	srv_stop
}

run_case "s_client -max_send_frag 512, TLS 1.3: 10 of 10" frag512 1.3
run_case "s_client -max_send_frag 512, TLS 1.2: 10 of 10" frag512 1.2
run_case "a ~24 KiB client certificate chain to ktund server" big_client_cert
run_case "ktund client against a ~24 KiB server certificate" big_server_cert
run_case "ktund client and server, ~24 KiB certificates both ways" big_pair
run_case "a partial multi-record ClientHello, then close: freed at once" partial_hello
srv_finish
