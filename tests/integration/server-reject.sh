#!/bin/bash
# server-reject: ktund server refuses each kind of bad TLS client, from openssl s_client and
# gnutls-cli, over TLS 1.3 and 1.2: no client certificate, expired, not yet valid, revoked (with
# --crl), chained to a foreign CA, serverAuth-only, without extended key usage, with
# anyExtendedKeyUsage only, a CA:TRUE leaf, not allowed by --allow-ou edge, a TLS
# 1.1-only client and a client offering only non-AEAD (CBC) ciphers. For each refusal: the
# peer fails with no data and names the specific TLS alert ktund sent, ktund logs one
# `reject ... reason=R` and one `close ... reason=R` line, reject.R and close.R count it, no
# handshake counts as done, and no connection reaches the origin. A bad record once streaming
# fails the connection without counting as a refused handshake.
# Case functions run indirectly (run_case) and take no arguments from the script:
# shellcheck disable=SC2317,SC2119
set -euo pipefail
. "$(dirname "$0")/srvlib.sh"
srv_init

# The alert each refusal sends (daemon/verify.c), as the numbers both peers print.
# certificate_required (116) exists in TLS 1.3 only: a TLS 1.2 client without a certificate
# gets handshake_failure (40).
declare -A ALERT=(
	[no-client-cert]=116 [no-client-cert/1.2]=40 [expired]=45 [not-yet-valid]=42 [revoked]=44
	[untrusted]=48 [bad-purpose]=43 [policy-denied]=49 [tls-error/version]=70
	[tls-error/cipher]=40 [bad-certificate]=42
)

# refused TOOL WHO VERSION REASON ALERT [PEER ARGS...]: one connection that ktund must refuse.
# k counts the refusals so far in this case.
refused() {
	local tool=$1 who=$2 ver=$3 reason=$4 alert=$5 rc=0 rj cl
	shift 5
	"$tool" "$who" "must not reach the origin $RANDOM"$'\n' "$@" || rc=$?
	[ "$rc" != 0 ] || fail "$tool $who TLS$ver: the peer succeeded (exit 0), echoed: $(head -c 100 "$WORK/peer.out")"
	[ ! -s "$WORK/peer.out" ] || fail "$tool $who TLS$ver: the peer received data: $(head -c 100 "$WORK/peer.out")"
	k=$((k + 1))
	if [ "$tool" = ossl ]; then
		grep -Eq "SSL alert number ($alert)\$" "$WORK/peer.err" ||
			fail "$tool $who TLS$ver: want TLS alert $alert: $(grep -m1 error "$WORK/peer.err")"
	else
		grep -Eq "Received alert \[($alert)\]" "$WORK/peer.log" ||
			fail "$tool $who TLS$ver: want TLS alert $alert: $(grep -m1 -i alert "$WORK/peer.log")"
	fi
	# A presented certificate is named after the detail (id, serial, issuer, sha256).
	wait_n "\\] reject peer=[^ ]+ reason=$reason detail=\"[^\"]+\"( id=\"[^\"]*\" serial=[0-9a-f.]+ issuer=\"[^\"]*\" sha256=[0-9a-f]{64})?\$" "$k"
	wait_n "\\] close peer=[^ ]+ id=\"[^\"]*\" up=0 down=0 dur=[0-9.]+ reason=$reason\$" "$k"
	[ "$(nlines '\] reject ')" = "$k" ] || fail "want $k reject lines, all reason=$reason: $(grep '\] reject ' "$SERVER_LOG")"
	[ "$(nlines '\] close ')" = "$k" ] || fail "want $k close lines: $(grep '\] close ' "$SERVER_LOG")"
	want_stat "reject.$reason" "$k"
	want_stat "close.$reason" "$k"
	want_stat handshakes_ok 0
	want_stat conns_open 0
	[ "$(accepts)" = 0 ] || fail "$tool $who TLS$ver: $(accepts) connection(s) reached the origin"
	rj=$(last_line '\] reject ')
	cl=$(last_line '\] close ')
	if [ "$k" = 1 ]; then
		note "${rj#*\] }"
		note "${cl#*\] }"
		note "peer: $(alert_text "$tool")"
	fi
}

# alert_text TOOL: what the peer said about the alert.
alert_text() {
	if [ "$1" = ossl ]; then
		grep -m1 -o 'alert [a-z ]*' "$WORK/peer.err" | head -n 1
	else
		grep -m1 -o 'Received alert.*' "$WORK/peer.log"
	fi
}

# cert_refusal REASON CLIENT [SERVER ARGS...]: CLIENT refused with REASON by both peers over
# both versions; the counters step 1, 2, 3, 4.
cert_refusal() {
	local reason=$1 who=$2 k=0 a12
	shift 2
	a12=${ALERT[$reason/1.2]:-${ALERT[$reason]}}
	origin_start line
	srv_start "$@"
	refused ossl "$who" 1.3 "$reason" "${ALERT[$reason]}" -tls1_3
	refused ossl "$who" 1.2 "$reason" "$a12" -tls1_2
	refused gtls "$who" 1.3 "$reason" "${ALERT[$reason]}" --priority "$GT13"
	refused gtls "$who" 1.2 "$reason" "$a12" --priority "$GT12"
	srv_stop
}

# purpose_refusal CLIENT DETAIL: cert_refusal bad-purpose, and the reject lines say DETAIL
# (a grep -E regex): ktund's own leaf check, which GnuTLS's purpose check would let pass.
purpose_refusal() {
	cert_refusal bad-purpose "$1"
	[ "$(nlines "reason=bad-purpose detail=\"$2")" = 4 ] ||
		fail "want 4 reject lines with detail '$2': $(last_line '\] reject ')"
}

# bad_der: s_client sends a leaf whose outer signature algorithm differs from the one inside
# (ECDSA-SHA384 outside, SHA256 inside): OpenSSL loads it, GnuTLS refuses to parse it.
# (gnutls-cli refuses to load it, so it cannot take part.)
bad_der() {
	local k=0
	(
		cd "$PKI"
		openssl x509 -in client.pem -outform DER -out client-bad.der
		python3 - <<'PY'
der = bytearray(open("client-bad.der", "rb").read())
i = der.rfind(bytes.fromhex("2a8648ce3d040302"))  # the outer ecdsa-with-SHA256
der[i + 7] = 3                                      # ecdsa-with-SHA384
open("client-bad.der", "wb").write(der)
PY
		openssl x509 -inform DER -in client-bad.der -out client-bad.pem
		cp client.key client-bad.key
		cat client-bad.pem inter.pem >client-bad-chain.pem
	) || fail "could not make client-bad"
	origin_start line
	srv_start
	refused ossl client-bad 1.3 bad-certificate "${ALERT[bad-certificate]}" -tls1_3
	refused ossl client-bad 1.2 bad-certificate "${ALERT[bad-certificate]}" -tls1_2
	[ "$(nlines 'reason=bad-certificate detail="the peer.s certificate does not parse: ')" = 2 ] ||
		fail "reject detail does not say the certificate does not parse: $(last_line '\] reject ')"
	srv_stop
}

# raw_tls12 KIND REASON ALERT DETAIL: tls12cert.py answers the CertificateRequest with a
# Certificate message of KIND (see there); ktund refuses with REASON and ALERT, the reject
# line's detail matches DETAIL.
raw_tls12() {
	local kind=$1 reason=$2 alert=$3 detail=$4 out
	origin_start line
	srv_start
	out=$(ip netns exec "$NS_EDGE" timeout 20 python3 "$INTEG_DIR/tls12cert.py" "$ORIGIN_IP" "$TLS_PORT" "$kind" 2>&1) ||
		fail "tls12cert.py $kind failed: $out"
	[ "$out" = "alert $alert" ] || fail "$kind: want alert $alert, the peer got: $out"
	wait_n "\\] reject peer=[^ ]+ reason=$reason detail=\"$detail" 1
	wait_n "\\] close peer=[^ ]+ id=\"-\" up=0 down=0 dur=[0-9.]+ reason=$reason\$" 1
	want_stat "reject.$reason" 1
	want_stat conns_open 0
	[ "$(accepts)" = 0 ] || fail "$kind: $(accepts) connection(s) reached the origin"
	note "peer: $out; $(last_line '\] reject ' | sed 's/.*\] //')"
	srv_stop
}

# peer_alert: a peer whose first record is a fatal alert: 113 (bad_certificate_status_response,
# which GnuTLS has no name for) and 200 (no alert at all). The reject detail names the first
# and numbers the second, never "(null)".
peer_alert() {
	origin_start line
	srv_start
	ip netns exec "$NS_EDGE" timeout 20 python3 - "$ORIGIN_IP" "$TLS_PORT" <<'PY' ||
import socket, sys
for alert in (113, 200):
    with socket.create_connection((sys.argv[1], int(sys.argv[2]))) as s:
        s.sendall(bytes([21, 3, 3, 0, 2, 2, alert]))
        s.settimeout(5)
        s.recv(100)  # until ktund closes
PY
		fail "the python peer failed"
	wait_n '\] reject ' 2
	[ "$(nlines 'reason=tls-error detail="peer sent alert bad_certificate_status_response \(113\)"$')" = 1 ] ||
		fail "alert 113 is not named: $(grep '\] reject ' "$SERVER_LOG")"
	[ "$(nlines 'reason=tls-error detail="peer sent alert unknown \(200\)"$')" = 1 ] ||
		fail "alert 200 is not numbered: $(grep '\] reject ' "$SERVER_LOG")"
	note "$(last_line '\] reject ' | sed 's/.*\] //')"
	srv_stop
}

# tls11: a client that speaks only TLS 1.1 (OpenSSL needs security level 0 for it).
tls11() {
	local k=0
	origin_start line
	srv_start
	refused ossl client 1.1 tls-error "${ALERT[tls-error/version]}" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
	refused gtls client 1.1 tls-error "${ALERT[tls-error/version]}" --priority NORMAL:-VERS-ALL:+VERS-TLS1.1
	grep -q 'reason=tls-error detail="[^"]*version' "$SERVER_LOG" || fail "reject detail does not name the version"
	srv_stop
}

# cbc: a TLS 1.2 client offering only CBC (non-AEAD) cipher suites.
cbc() {
	local k=0
	origin_start line
	srv_start
	refused ossl client 1.2 tls-error "${ALERT[tls-error/cipher]}" -tls1_2 \
		-cipher 'ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES128-SHA:AES128-SHA'
	refused gtls client 1.2 tls-error "${ALERT[tls-error/cipher]}" \
		--priority "$GT12:-CIPHER-ALL:+AES-128-CBC:+AES-256-CBC:-MAC-ALL:+SHA1:+SHA256"
	grep -q 'reason=tls-error detail="[^"]*cipher' "$SERVER_LOG" || fail "reject detail does not name the cipher"
	srv_stop
}

# garbage_after_handshake: a verified client that, once streaming, writes bytes that are no TLS
# record, after an echoed line and right after the handshake. The connection fails (close reason tls-error, with its detail on the close line),
# but it is not a refused handshake: no reject line, reject.tls-error stays 0, and the
# handshake counts as done.
garbage_after_handshake() {
	origin_start echo
	srv_start
	ip netns exec "$NS_EDGE" timeout 20 python3 - "$ORIGIN_IP" "$TLS_PORT" "$PKI" <<'PY' ||
import os, socket, ssl, sys
host, port, pki = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=f"{pki}/ca.pem")
ctx.load_cert_chain(f"{pki}/client-chain.pem", f"{pki}/client.key")
for echo_first in (True, False):  # after data both ways, and right after the handshake
    with socket.create_connection((host, port)) as raw:
        tls = ctx.wrap_socket(raw, server_hostname="origin.test")
        if echo_first:
            tls.sendall(b"hello\n")
            assert tls.recv(100) == b"hello\n"
        os.write(tls.fileno(), b"\x17\x03\x03\x00\x20" + b"\xa5" * 32)  # a record that does not decrypt
        tls.settimeout(5)
        try:
            tls.recv(100)
        except (ssl.SSLError, OSError):
            pass
PY
		fail "the python client failed: see above"
	wait_n '\] close ' 2
	[ "$(nlines 'reason=tls-error detail="')" = 2 ] || fail "want two closes with reason=tls-error and a detail: $(grep '\] close ' "$SERVER_LOG")"
	[ "$(nlines '\] reject ')" = 0 ] || fail "a reject line for a failure after the handshake: $(last_line '\] reject ')"
	want_stat close.tls-error 2
	want_stat reject.tls-error 0
	want_stat handshakes_ok 2
	note "$(last_line '\] close ' | sed 's/.*\] //')"
	srv_stop
}

run_case "no client certificate -> no-client-cert" cert_refusal no-client-cert none
run_case "expired client certificate -> expired" cert_refusal expired client-expired
run_case "not-yet-valid client certificate -> not-yet-valid" cert_refusal not-yet-valid client-notyet
run_case "revoked client certificate with --crl -> revoked" cert_refusal revoked client-revoked --crl "$PKI/crl.pem"
run_case "client chained to a foreign CA -> untrusted" cert_refusal untrusted client-foreign
run_case "serverAuth-only client certificate -> bad-purpose" cert_refusal bad-purpose client-serverauth
run_case "client certificate without extended key usage -> bad-purpose" purpose_refusal client-noeku \
	"the client certificate's extended key usage does not list clientAuth"
run_case "anyExtendedKeyUsage-only client certificate -> bad-purpose" purpose_refusal client-anyeku \
	"the client certificate's extended key usage does not list clientAuth"
run_case "CA:TRUE client leaf (with clientAuth) -> bad-purpose" purpose_refusal client-ca \
	"the client certificate is a CA certificate"
run_case "OU=other against --allow-ou edge -> policy-denied" cert_refusal policy-denied client-wrongou
run_case "a certificate GnuTLS cannot parse (s_client) -> bad-certificate" bad_der
run_case "TLS 1.2 Certificate message, empty list -> no-client-cert, handshake_failure" \
	raw_tls12 empty no-client-cert 40 "No certificate was found"
run_case "TLS 1.2 Certificate message, one empty entry -> bad-certificate" \
	raw_tls12 zero bad-certificate 42 "the peer.s Certificate message"
run_case "TLS 1.2 Certificate message, an entry that is no DER -> bad-certificate" \
	raw_tls12 garbage bad-certificate 42 "the peer.s certificate does not parse"
run_case "a peer's alerts are named or numbered in the reject detail" peer_alert
run_case "TLS 1.1-only client -> tls-error" tls11
run_case "CBC-only (non-AEAD) TLS 1.2 client -> tls-error" cbc
run_case "a bad record after the handshake: tls-error, not a rejection" garbage_after_handshake
srv_finish
