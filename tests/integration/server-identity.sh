#!/bin/bash
# server-identity: certificate text a client chose, with openssl s_client presenting leaves
# the test intermediate (tests/lib/pki.sh) signed with openssl, their SANs written as raw DER:
# - A NUL inside a DNS or URI SAN ("edge.test\0.evil.example") matches no --allow-dns or
#   --allow-uri rule (reason=policy-denied), and the URI is not sent to the origin in the PROXY
#   v2 header (python origin, pp_origin.py).
# - Control characters and quotes in the subject never match --allow-cn, reach the log, the
#   `ktunctl conns` line and the origin only escaped (\xHH) or not at all.
# - --allow-uri's '*' admits valid SPIFFE IDs only: a URI SAN with a "..", "%2F", empty segment
#   or query is refused by a pattern whose '*' would have covered it; a '*' outside a
#   spiffe:// path is refused at start.
# - The PROXY v2 CN and URI TLVs name what the policy matched: a leaf with CNs "admin" and
#   "edge-client" let in by --allow-cn edge-client is edge-client to the origin; let in by a
#   rule of another kind, a leaf with several CNs (URIs) has none named, one with one has it.
# - Audit lines name what a SPIFFE SVID (empty subject, one critical URI SAN) presented: its
#   handshake line the URI, serial, issuer, SHA-256 and the allow-uri rule that let it in; its
#   close line and `ktunctl conns` the URI, not id="-"; a policy-denied reject the URI,
#   serial, issuer and SHA-256 (certtool's figures for the certificate). `ktunctl peers`
#   counts it under its URI: the connection and its bytes, then the refusal. An SVID whose
#   URI holds '"' and ESC is named by it escaped (\xHH), adding no field of its own.
# Case functions run indirectly (run_case) and take no arguments from the script:
# shellcheck disable=SC2317,SC2119
set -euo pipefail
. "$(dirname "$0")/srvlib.sh"
srv_init
PP_JSON=$WORK/pp.json

# san_der dns:NAME|uri:URI...: hex of a subjectAltName (SEQUENCE of [2] dNSName and [6] URI,
# in the order given) whose values are Python string literals' contents, so "\0" is a NUL.
san_der() {
	python3 - "$@" <<'PY'
import sys
def tlv(tag, b):
    assert len(b) < 128
    return bytes([tag, len(b)]) + b
tags = {"dns": 0x82, "uri": 0x86}
body = b"".join(tlv(tags[a.split(":", 1)[0]],
                    a.split(":", 1)[1].encode().decode("unicode_escape").encode("latin-1"))
                for a in sys.argv[1:])
print(tlv(0x30, body).hex())
PY
}

# odd_leaf NAME SUBJECT SAN...: a clientAuth leaf NAME.pem/NAME.key (and NAME-chain.pem) from
# the test intermediate, subject as openssl -subj takes it, SANs as san_der takes them.
odd_leaf() {
	local name=$1 subj=$2
	shift 2
	openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/$name.key"
	openssl req -new -utf8 -key "$PKI/$name.key" -subj "$subj" -out "$WORK/$name.csr"
	# An empty subject needs a critical subjectAltName (RFC 5280 4.2.1.6).
	printf '%s\n' 'basicConstraints = critical, CA:FALSE' 'keyUsage = critical, digitalSignature' \
		'extendedKeyUsage = clientAuth' \
		"subjectAltName = ${SAN_CRITICAL:+critical, }DER:$(san_der "$@")" >"$WORK/$name.ext"
	openssl x509 -req -in "$WORK/$name.csr" -CA "$PKI/inter.pem" -CAkey "$PKI/inter.key" \
		-set_serial "0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" -days 30 \
		-extfile "$WORK/$name.ext" -out "$PKI/$name.pem" 2>/dev/null
	cat "$PKI/$name.pem" "$PKI/inter.pem" >"$PKI/$name-chain.pem"
}

odd_leaf client-nul '/CN=edge-client/OU=edge' 'dns:edge.test\0.evil.example' \
	'uri:spiffe://ktun.test/ns/edge/sa/client\0/evil'
odd_leaf client-ctl $'/CN=edge"client\x1b[31m/OU=edge' dns:edge.test \
	'uri:spiffe://ktun.test/ns/edge/sa/client\r'
# C1 controls as UTF-8 (U+009B, the 8-bit CSI) in the CN, bytes that are no UTF-8 in a URI.
odd_leaf client-c1 $'/CN=edge\xc2\x9bclient/OU=edge' dns:edge.test \
	'uri:spiffe://ktun.test/ns/edge/sa/client\xff\x9b'
# Two names of each kind, the one an operator would not allow first.
ADMIN_URI=spiffe://ktun.test/ns/admin/sa/root
EDGE_URI=spiffe://ktun.test/ns/edge/sa/client
# URIs that are no SPIFFE IDs, though a '*' would once have matched them.
odd_leaf client-dotdot '/CN=edge-client/OU=edge' 'uri:spiffe://ktun.test/ns/../sa/client'
odd_leaf client-pct '/CN=edge-client/OU=edge' 'uri:spiffe://ktun.test/ns/a%2Fb/sa/client'
odd_leaf client-empty '/CN=edge-client/OU=edge' 'uri:spiffe://ktun.test/ns//sa/client'
odd_leaf client-query '/CN=edge-client/OU=edge' 'uri:spiffe://ktun.test/ns/edge/sa/client?x=1'
odd_leaf client-two '/CN=admin/CN=edge-client/OU=edge' dns:edge.test "uri:$ADMIN_URI" "uri:$EDGE_URI"
# A SPIFFE X.509-SVID: no subject, its one name a URI SAN.
SVID_URI=spiffe://ktun.test/ns/edge/sa/svid
SAN_CRITICAL=1 odd_leaf client-svid '/' "uri:$SVID_URI"
# One whose URI, the name it is logged by, holds a quote and an escape sequence.
SAN_CRITICAL=1 odd_leaf client-svid-ctl '/' 'uri:spiffe://ktun.test/x" rule="allow-all\x1b[31m'

# rules ARGS...: a fresh server with --proxy-protocol whose only policy is ARGS, and the
# parsing origin. c counts the connections it has closed.
rules() {
	[ -z "${SERVER_PID:-}" ] || srv_stop
	c=0
	SERVER_ALLOW_DEFAULT=0 srv_start --proxy-protocol "$@"
	policy="$*"
}

pp_origin_start() {
	: >"$PP_JSON"
	ip netns exec "$NS_ORIGIN" python3 "$INTEG_DIR/pp_origin.py" "$ORIGIN_PORT" "$PP_JSON" \
		>>"$WORK/origin.log" 2>&1 &
	track $!
	wait_port "$NS_ORIGIN" "$ORIGIN_PORT" || fail "pp_origin.py did not listen"
}

# denied WHO: refused by the policy, nothing reached the origin.
denied() {
	local rc=0 n
	n=$(wc -l <"$PP_JSON")
	ossl "$1" "denied $1"$'\n' -tls1_3 || rc=$?
	[ "$rc" != 0 ] || fail "[$policy] $1 was allowed"
	c=$((c + 1))
	wait_n '\] close ' "$c"
	last_line '\] close ' | grep -q 'reason=policy-denied$' || fail "[$policy] $1: $(last_line '\] close ')"
	[ "$(wc -l <"$PP_JSON")" = "$n" ] || fail "[$policy] $1 reached the origin: $(tail -n 1 "$PP_JSON")"
	note "[$policy] $1 refused: policy-denied"
}

# allowed WHO: through to the origin; PP is the origin's JSON line for it.
allowed() {
	local n
	n=$(wc -l <"$PP_JSON")
	ossl "$1" "allowed $1"$'\n' -tls1_3 || fail "[$policy] $1 refused: $(grep -m1 -o 'alert [a-z ]*' "$WORK/peer.err")"
	[ "$(cat "$WORK/peer.out")" = ok ] || fail "[$policy] $1: no answer from the origin"
	c=$((c + 1))
	wait_n '\] close ' "$c"
	PP=$(tail -n +$((n + 1)) "$PP_JSON" | head -n 1)
	[ -n "$PP" ] || fail "[$policy] $1: the origin logged nothing"
}

# pp FIELD: a field of PP ("" if absent).
pp() { python3 -c 'import json, sys; print(json.loads(sys.argv[1]).get(sys.argv[2], ""))' "$PP" "$1"; }

case_nul() {
	pp_origin_start
	# Each of these admits the clean leaf, none the one with NULs.
	rules --allow-dns edge.test --allow-uri "$EDGE_URI" --allow-uri 'spiffe://ktun.test/ns/edge/sa/*'
	denied client-nul
	allowed client
	# Admitted by its OU: the origin hears of no URI, not the part before the NUL.
	rules --allow-ou edge
	allowed client-nul
	[ "$(pp ssl_22)" = edge-client ] || fail "CN TLV: $PP"
	[ -z "$(pp uri)" ] || fail "the origin was sent a URI SAN with a NUL in it: $PP"
	note "--allow-ou edge: client-nul admitted, no URI TLV: $PP"
	srv_stop
}

case_control() {
	local cl conns id
	pp_origin_start
	rules --allow-cn edge-client --allow-uri "$EDGE_URI"
	denied client-ctl
	rules --allow-ou edge
	# Hold the connection open (no payload yet) to see it in ktunctl conns.
	ossl_cmd client-ctl
	mkfifo "$WORK/hold"
	"${OSSL[@]}" <"$WORK/hold" >"$WORK/peer.out" 2>"$WORK/peer.err" &
	track $!
	exec 9>"$WORK/hold"
	wait_n '\] handshake ' 1
	conns=$("$KTUNCTL" --control "$WORK/server.sock" conns)
	printf 'held\n' >&9
	exec 9>&-
	wait_n '\] close ' 1
	cl=$(last_line '\] close ')
	! grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$SERVER_LOG" || fail "a control character reached the log: $(grep -a $'\x1b' "$SERVER_LOG" | cat -A)"
	# GnuTLS writes the DN as RFC 4514 (the '"' as \"); ktund escapes '\\', '"' and ESC.
	id='id="OU=edge,CN=edge\x5c\x22client\x1b[31m"'
	grep -qF "$id" <<<"$cl" || fail "close line: $cl"
	grep -qF "$id" <<<"$conns" || fail "ktunctl conns: $conns"
	[[ $conns != *$'\x1b'* ]] || fail "ktunctl conns printed a control character: $conns"
	PP=$(tail -n 1 "$PP_JSON")
	[ -z "$(pp ssl_22)" ] || fail "the origin was sent a CN with control characters: $PP"
	[ -z "$(pp uri)" ] || fail "the origin was sent a URI with a control character: $PP"
	note "close line: $cl"
	note "origin: $PP"
	srv_stop
}

case_c1() {
	pp_origin_start
	rules --allow-dns other.test --allow-uri 'spiffe://ktun.test/ns/edge/sa/*'
	denied client-c1
	rules --allow-ou edge
	allowed client-c1
	[ -z "$(pp ssl_22)" ] || fail "the origin was sent a CN with a C1 control: $PP"
	[ -z "$(pp uri)" ] || fail "the origin was sent a URI that is no UTF-8: $PP"
	! LC_ALL=C grep -q $'[\x80-\xff]' "$SERVER_LOG" || fail "a byte of 0x80 or above reached the log"
	grep -qF 'CN=edge\xc2\x9bclient' "$SERVER_LOG" || fail "the subject is not escaped in the log"
	note "origin: $PP"
	srv_stop
}

# identity WHO CN URI: WHO is allowed, and the origin is told exactly CN and URI ("": none).
identity() {
	allowed "$1"
	[ "$(pp ssl_22)" = "$2" ] || fail "[$policy] $1: CN TLV '$(pp ssl_22)', want '$2': $PP"
	[ "$(pp uri)" = "$3" ] || fail "[$policy] $1: URI TLV '$(pp uri)', want '$3': $PP"
	note "[$policy] $1: CN '$2' URI '$3'"
}

case_identity() {
	pp_origin_start
	rules --allow-cn edge-client
	identity client-two edge-client ""
	rules --allow-uri 'spiffe://ktun.test/ns/edge/sa/*'
	identity client-two "" "$EDGE_URI"
	# The first rule that matches is the one that let the client in.
	rules --allow-cn nobody --allow-uri "$ADMIN_URI" --allow-cn edge-client
	identity client-two "" "$ADMIN_URI"
	# Let in by a rule of another kind: a certificate with several names gets none named,
	# one with a single name of a kind gets that one.
	rules --allow-ou edge
	identity client-two "" ""
	identity client edge-client "$EDGE_URI"
	srv_stop
}

case_spiffe() {
	local rc=0
	pp_origin_start
	rules --allow-uri 'spiffe://ktun.test/ns/*/sa/client' --allow-uri 'spiffe://ktun.test/ns/edge/sa/*'
	allowed client
	denied client-dotdot
	denied client-pct
	denied client-empty
	denied client-query
	srv_stop
	# A '*' outside a SPIFFE ID's path is refused at start, saying why.
	ip netns exec "$NS_ORIGIN" timeout 10 "$KTUND" server --listen "$ORIGIN_IP:$TLS_PORT" \
		--target "127.0.0.1:$ORIGIN_PORT" --cert "$PKI/server-chain.pem" --key "$PKI/server.key" \
		--cacert "$PKI/ca.pem" --control "$WORK/refused.sock" --allow-uri 'https://ktun.test/*' \
		>"$WORK/refused.out" 2>&1 || rc=$?
	[ "$rc" = 2 ] && grep -q "spiffe://" "$WORK/refused.out" || fail "--allow-uri https://ktun.test/*: exit $rc: $(cat "$WORK/refused.out")"
	note "--allow-uri 'https://ktun.test/*': exit 2: $(head -n 1 "$WORK/refused.out")"
}

# The certificate's serial and SHA-256 as certtool (GnuTLS) prints them, lowercase hex.
cert_serial() { certtool -i --infile "$1" 2>/dev/null | awk '/Serial Number \(hex\):/ { print $4 }'; }
cert_sha256() { certtool --fingerprint --hash sha256 --infile "$1" 2>/dev/null | tr -d ':\n' | tr 'A-F' 'a-f'; }

# has WHAT LINE TEXT...: LINE holds every TEXT.
has() {
	local what=$1 line=$2 t
	shift 2
	for t in "$@"; do
		grep -qF -- "$t" <<<"$line" || fail "$what: no '$t' in: $line"
	done
}

case_audit() {
	local hs cl rj conns peers serial fp issuer='issuer="CN=ktun test intermediate CA"'
	local rule='spiffe://ktun.test/ns/edge/sa/*'
	serial=$(cert_serial "$PKI/client-svid.pem")
	fp=$(cert_sha256 "$PKI/client-svid.pem")
	[ -n "$serial" ] && [ ${#fp} = 64 ] || fail "certtool: serial '$serial', sha256 '$fp'"
	pp_origin_start
	rules --allow-cn nobody --allow-uri "$rule"
	# Held open (no payload yet) to see it in ktunctl conns.
	ossl_cmd client-svid
	mkfifo "$WORK/hold-svid"
	"${OSSL[@]}" <"$WORK/hold-svid" >"$WORK/peer.out" 2>"$WORK/peer.err" &
	track $!
	exec 9>"$WORK/hold-svid"
	wait_n '\] handshake ' 1
	conns=$("$KTUNCTL" --control "$WORK/server.sock" conns)
	printf 'held\n' >&9
	exec 9>&-
	wait_n '\] close ' 1
	hs=$(last_line '\] handshake ')
	cl=$(last_line '\] close ')
	has "handshake line" "$hs" "id=\"$SVID_URI\" version=" " serial=$serial " "$issuer" \
		" sha256=$fp " "rule=\"allow-uri:$rule\""
	has "close line" "$cl" "id=\"$SVID_URI\" up="
	has "ktunctl conns" "$conns" "id=\"$SVID_URI\""
	peers=$("$KTUNCTL" --control "$WORK/server.sock" peers)
	has "ktunctl peers" "$peers" "tunnel=server id=\"$SVID_URI\" connections=1 rejects=0 up=5 down=3 last_seen="
	note "handshake: ${hs#*\] }"
	note "close: ${cl#*\] }"
	note "peers: $peers"
	rules --allow-uri 'spiffe://ktun.test/ns/other/sa/*'
	denied client-svid
	rj=$(last_line '\] reject ')
	has "reject line" "$rj" 'reason=policy-denied detail="' "id=\"$SVID_URI\" serial=$serial " \
		"$issuer" " sha256=$fp"
	has "close line of the reject" "$(last_line '\] close ')" "id=\"$SVID_URI\" up=0"
	has "ktunctl peers after the reject" "$("$KTUNCTL" --control "$WORK/server.sock" peers)" \
		"tunnel=server id=\"$SVID_URI\" connections=0 rejects=1 up=0 down=0 last_seen="
	note "reject: ${rj#*\] }"
	denied client-svid-ctl
	rj=$(last_line '\] reject ')
	has "reject line of a hostile URI" "$rj" 'id="spiffe://ktun.test/x\x22 rule=\x22allow-all\x1b[31m" serial='
	! grep -q $'\x1b' "$SERVER_LOG" || fail "an escape character reached the log: $(grep -a $'\x1b' "$SERVER_LOG" | cat -A)"
	note "reject: ${rj#*\] }"
	srv_stop
}

run_case "a NUL in a DNS or URI SAN matches no rule and is not sent to the origin" case_nul
run_case "control characters in the subject and a URI: no match, escaped in logs, not sent" case_control
run_case "C1 controls and bytes that are no UTF-8: no match, escaped in logs, not sent" case_c1
run_case "'*' in --allow-uri admits SPIFFE IDs only: not '..', '%2F', empty segments, '?'" case_spiffe
run_case "a SPIFFE SVID's audit lines name its URI, serial, issuer, SHA-256 and rule" case_audit
run_case "the origin is told the CN / URI the policy matched, or the only one, never a guess" case_identity
srv_finish
