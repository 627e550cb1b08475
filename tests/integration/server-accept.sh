#!/bin/bash
# server-accept: ktund server accepts real TLS clients with a valid chain — openssl s_client
# and gnutls-cli, TLS 1.3 and 1.2, each client key type (P-256, P-384, Ed25519, RSA) against
# each server key type, and curl over HTTPS — and carries their bytes to the origin and back.
# Each connection must echo its payload intact, log `handshake ... version= cipher=` with the
# version asked for and an AEAD cipher, and `close ... id="CN=edge-client,OU=edge" up=N down=N
# reason=done` with the payload's length both ways; the counters must add up.
# Case functions run indirectly (run_case) and take no arguments from the script:
# shellcheck disable=SC2317,SC2119
set -euo pipefail
. "$(dirname "$0")/srvlib.sh"
need_cmd curl
srv_init

AEAD='cipher=(AES-128-GCM|AES-256-GCM|CHACHA20-POLY1305|AES-128-CCM)( |$)'
ID='id="CN=edge-client,OU=edge"'

# accepted TOOL CLIENT VERSION PAYLOAD: one connection through the running server, checked.
# Uses the counters n (connections so far in this case) and bytes (payload bytes so far), and
# cipher: when set, gnutls-cli offers only that cipher and the handshake line must name it.
accepted() {
	local tool=$1 who=$2 ver=$3 payload=$4 len before args=() hs cl
	len=${#payload}
	use_origin "$(origin_for "$tool")"
	before=$(accepts)
	case $tool/$ver in
	ossl/1.3) args=(-tls1_3) ;;
	ossl/1.2) args=(-tls1_2) ;;
	gtls/1.3) args=(--priority "$GT13${cipher:+:-CIPHER-ALL:+$cipher}") ;;
	gtls/1.2) args=(--priority "$GT12${cipher:+:-CIPHER-ALL:+$cipher}") ;;
	esac
	"$tool" "$who" "$payload" "${args[@]}" || fail "$tool $who TLS$ver: exit status $?: $(tail -n 3 "$WORK/peer.err")"
	[ "$(cat "$WORK/peer.out")" = "${payload%$'\n'}" ] ||
		fail "$tool $who TLS$ver: echoed $(wc -c <"$WORK/peer.out") bytes, not the $len sent"
	n=$((n + 1))
	bytes=$((bytes + len))
	wait_n '\] close ' "$n"
	hs=$(last_line '\] handshake ')
	cl=$(last_line '\] close ')
	[ "$(nlines '\] handshake ')" = "$n" ] || fail "want $n handshake lines: $(nlines '\] handshake ')"
	grep -Eq "version=TLS$ver $AEAD" <<<"$hs" || fail "$tool $who TLS$ver: handshake line: $hs"
	[ -z "$cipher" ] || grep -Eq "cipher=$cipher( |$)" <<<"$hs" || fail "want cipher=$cipher: $hs"
	grep -Fq "$ID" <<<"$hs" || fail "$tool $who: handshake line lacks $ID: $hs"
	grep -Fq " $ID up=$len down=$len " <<<"$cl" || fail "$tool $who TLS$ver: want $ID up=$len down=$len: $cl"
	grep -Eq 'reason=done$' <<<"$cl" || fail "$tool $who TLS$ver: close reason is not done: $cl"
	[ "$(accepts)" = $((before + 1)) ] || fail "$tool $who: the origin saw $(($(accepts) - before)) connections, want 1"
}

# matrix TOOL SERVER-LEAF: every client key type, TLS 1.3 and 1.2, against that server key.
matrix() {
	local tool=$1 leaf=$2 who ver n=0 bytes=0 cipher=
	SERVER_CERT=$PKI/$leaf-chain.pem SERVER_KEY=$PKI/$leaf.key srv_start
	for ver in 1.3 1.2; do
		for who in client client-p384 client-ed25519 client-rsa; do
			accepted "$tool" "$who" "$ver" "$tool $who TLS$ver via $leaf $RANDOM"$'\n'
		done
	done
	note "$(last_line '\] handshake ' | sed 's/.*\] //')"
	note "$(last_line '\] close ' | sed 's/.*\] //')"
	want_stat close.done "$n"
	want_stat handshakes_ok "$n"
	want_stat bytes_up "$bytes"
	want_stat bytes_down "$bytes"
	want_stat conns_open 0
	note "$n connections, $bytes bytes each way, counters agree"
	srv_stop
}

# big TOOL: one 300,000-byte payload (many TLS records each way), counted exactly.
big() {
	local tool=$1 n=0 bytes=0 payload cipher=
	srv_start
	payload=$(head -c 225000 /dev/urandom | base64 -w 0)$'\n'
	accepted "$tool" client 1.3 "$payload"
	want_stat bytes_up "$bytes"
	want_stat bytes_down "$bytes"
	note "$(last_line '\] close ' | sed 's/.*\] //')"
	srv_stop
}

# ciphers: each of the four AEAD ciphers ktund offers by default, TLS 1.3 and 1.2, chosen by
# gnutls-cli offering only that one.
ciphers() {
	local n=0 bytes=0 ver cipher
	srv_start
	for ver in 1.3 1.2; do
		for cipher in AES-128-GCM AES-256-GCM CHACHA20-POLY1305 AES-128-CCM; do
			accepted gtls client "$ver" "TLS$ver $cipher $RANDOM"$'\n'
		done
	done
	want_stat close.done "$n"
	note "$(grep -E '\] handshake ' "$SERVER_LOG" | sed 's/.*version=//' | tr '\n' ',' | sed 's/,$//')"
	srv_stop
}

# curl_get VERSION-ARGS...: curl with a client certificate fetches a page through ktund.
curl_get() {
	local out code req hdr body cl
	origin_start http
	srv_start
	out=$(ip netns exec "$NS_EDGE" timeout 20 curl -sS --cacert "$PKI/ca.pem" \
		--cert "$PKI/client-chain.pem" --key "$PKI/client.key" "$@" \
		--resolve "origin.test:$TLS_PORT:$ORIGIN_IP" -o "$WORK/page" \
		-w '%{http_code} %{size_request} %{size_header} %{size_download}' \
		"https://origin.test:$TLS_PORT/" 2>&1) || fail "curl failed: $out"
	read -r code req hdr body <<<"$out"
	[ "$code" = 200 ] || fail "HTTP status $code"
	grep -q 'ktun origin page' "$WORK/page" || fail "curl got no page"
	wait_n '\] close ' 1
	cl=$(last_line '\] close ')
	grep -Fq " $ID up=$req down=$((hdr + body)) " <<<"$cl" ||
		fail "want $ID up=$req down=$((hdr + body)) (curl sent $req, got $hdr+$body): $cl"
	grep -Eq 'reason=done$' <<<"$cl" || fail "close reason is not done: $cl"
	[ "$(accepts)" = 1 ] || fail "the origin saw $(accepts) connections, want 1"
	note "$(last_line '\] handshake ' | sed 's/.*\] //')"
	note "${cl#*\] }"
	srv_stop
}

for leaf in server server-p384 server-ed25519 server-rsa; do
	run_case "openssl s_client, 4 client keys x TLS 1.3/1.2, server key $leaf" matrix ossl "$leaf"
	run_case "gnutls-cli, 4 client keys x TLS 1.3/1.2, server key $leaf" matrix gtls "$leaf"
done
run_case "gnutls-cli, each AEAD cipher, TLS 1.3/1.2" ciphers
run_case "openssl s_client, 300,000 bytes each way" big ossl
run_case "gnutls-cli, 300,000 bytes each way" big gtls
run_case "curl HTTPS with a client certificate, TLS 1.3" curl_get --tlsv1.3
run_case "curl HTTPS with a client certificate, TLS 1.2" curl_get --tlsv1.2 --tls-max 1.2
srv_finish
