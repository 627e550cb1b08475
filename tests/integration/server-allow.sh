#!/bin/bash
# server-allow: each --allow-* kind of ktund server, matching and not matching, with openssl
# s_client presenting real chains: --allow-cn, --allow-ou, --allow-dns, --allow-uri (`*` within
# one path segment, never across '/'), --allow-fingerprint sha256:HEX (tests/lib/pki.sh's
# client.sha256), --allow-serial ISSUER-DN/SERIAL (client.serial; the same serial from another
# trusted CA is refused, a bare serial refused at start), several rules OR'd, --allow-all (which still
# verifies the chain); and a server with no allow-* rule, or a malformed one, refuses to start
# (exit 2, saying why). An allowed client must get its payload echoed with `reason=done`; a
# refused one gets `reject ... reason=policy-denied`, the access_denied alert and no origin
# connection.
#
# The client leaves (tests/lib/pki.sh): client and client-p384 are CN=edge-client OU=edge, SAN DNS
# edge.test and URI spiffe://ktun.test/ns/edge/sa/client, with different keys, serials and
# fingerprints; client-wrongou is CN=edge-client OU=other, DNS edge.test and no URI.
# Case functions run indirectly (run_case) and take no arguments from the script:
# shellcheck disable=SC2317,SC2119
set -euo pipefail
. "$(dirname "$0")/srvlib.sh"
srv_init

URI=spiffe://ktun.test/ns/edge/sa/client
FP=$(cat "$PKI/client.sha256")
SERIAL=$(cat "$PKI/client.serial")
[ ${#FP} = 64 ] || fail "tests/lib/pki.sh wrote no 64-digit client.sha256: '$FP'"
[ -n "$SERIAL" ] || fail "tests/lib/pki.sh wrote no client.serial"

# rules ARGS...: a fresh server whose only policy is ARGS (no default --allow-ou edge).
# c counts the connections it has closed, d those refused.
rules() {
	[ -z "${SERVER_PID:-}" ] || srv_stop
	c=0 d=0
	SERVER_ALLOW_DEFAULT=0 srv_start "$@"
	policy="$*"
}

# allowed WHO: WHO's connection goes through and ends with reason=done.
allowed() {
	local who=$1 payload cl
	payload="allowed $who by $policy $RANDOM"
	ossl "$who" "$payload"$'\n' -tls1_3 || fail "[$policy] $who refused: $(grep -m1 -o 'alert [a-z ]*' "$WORK/peer.err")"
	[ "$(cat "$WORK/peer.out")" = "$payload" ] || fail "[$policy] $who: payload not echoed"
	c=$((c + 1))
	wait_n '\] close ' "$c"
	cl=$(last_line '\] close ')
	grep -Eq 'id="CN=edge-client,OU=[a-z]+" .*reason=done$' <<<"$cl" || fail "[$policy] $who: $cl"
	note "[$policy] $who allowed"
}

# denied WHO [REASON]: WHO is refused, by default with policy-denied and access_denied (49).
denied() {
	local who=$1 reason=${2:-policy-denied} before rc=0
	before=$(accepts)
	ossl "$who" "denied $who $RANDOM"$'\n' -tls1_3 || rc=$?
	[ "$rc" != 0 ] || fail "[$policy] $who was allowed"
	[ ! -s "$WORK/peer.out" ] || fail "[$policy] $who received data"
	c=$((c + 1))
	d=$((d + 1))
	wait_n '\] close ' "$c"
	last_line '\] close ' | grep -Eq "reason=$reason\$" || fail "[$policy] $who: $(last_line '\] close ')"
	[ "$(nlines "\\] reject .*reason=$reason ")" -ge 1 ] || fail "[$policy] $who: no reject line with reason=$reason"
	if [ "$reason" = policy-denied ]; then
		grep -q 'SSL alert number 49$' "$WORK/peer.err" || fail "[$policy] $who: no access_denied alert: $(grep -m1 error "$WORK/peer.err")"
		want_stat reject.policy-denied "$d"
	fi
	[ "$(accepts)" = "$before" ] || fail "[$policy] $who reached the origin"
	note "[$policy] $who refused: $reason"
}

case_cn() {
	origin_start line
	rules --allow-cn edge-client
	allowed client
	allowed client-wrongou
	rules --allow-cn edge-clien # a prefix is not the name
	denied client
	rules --allow-cn origin.test
	denied client
	srv_stop
}

case_ou() {
	origin_start line
	rules --allow-ou edge
	allowed client
	denied client-wrongou
	rules --allow-ou other
	allowed client-wrongou
	denied client
	rules --allow-ou edg
	denied client
	srv_stop
}

case_dns() {
	origin_start line
	rules --allow-dns edge.test
	allowed client
	allowed client-wrongou
	rules --allow-dns edge # a label is not the name
	denied client
	rules --allow-dns edge-client # the CN is no DNS name
	denied client
	srv_stop
}

case_uri() {
	origin_start line
	rules --allow-uri "$URI"
	allowed client
	denied client-wrongou # no URI at all
	rules --allow-uri 'spiffe://ktun.test/ns/*/sa/client'
	allowed client
	rules --allow-uri 'spiffe://ktun.test/ns/e*e/sa/client' # '*' inside a segment
	allowed client
	rules --allow-uri 'spiffe://ktun.test/ns/edge/sa/*'
	allowed client
	rules --allow-uri 'spiffe://ktun.test/*/sa/client' # would need '*' = "ns/edge": across '/'
	denied client
	rules --allow-uri 'spiffe://ktun.test/ns/*' # would need '*' = "edge/sa/client"
	denied client
	rules --allow-uri 'spiffe://ktun.test/ns/edge/sa/clien' # a prefix is not the URI
	denied client
	rules --allow-uri 'spiffe://ktun.test/ns/other/sa/client'
	denied client
	srv_stop
}

case_fingerprint() {
	local fp_p384 colons
	# The fingerprint is of the certificate's DER; client-p384 has the same names, another one.
	fp_p384=$(openssl x509 -in "$PKI/client-p384.pem" -outform DER | sha256sum | cut -d' ' -f1)
	colons=$(sed 's/../&:/g; s/:$//' <<<"$FP" | tr 'a-f' 'A-F')
	origin_start line
	rules --allow-fingerprint "sha256:$FP"
	allowed client
	denied client-p384
	rules --allow-fingerprint "sha256:$colons" # colon-separated upper case: the same value
	allowed client
	rules --allow-fingerprint "sha256:$fp_p384"
	allowed client-p384
	denied client
	srv_stop
}

# client-twin: a leaf with client's names and serial, issued by the root CA instead of the
# intermediate: both trusted, so only the issuer tells the two apart.
make_twin() {
	openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/client-twin.key"
	openssl req -new -key "$PKI/client-twin.key" -subj '/OU=edge/CN=edge-client' -out "$WORK/twin.csr"
	printf '%s\n' 'basicConstraints = critical, CA:FALSE' 'keyUsage = critical, digitalSignature' \
		'extendedKeyUsage = clientAuth' "subjectAltName = DNS:edge.test, URI:$URI" >"$WORK/twin.ext"
	openssl x509 -req -in "$WORK/twin.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" \
		-set_serial "0x$SERIAL" -days 30 -extfile "$WORK/twin.ext" -out "$PKI/client-twin.pem" 2>/dev/null
	cp "$PKI/client-twin.pem" "$PKI/client-twin-chain.pem"
}

case_serial() {
	local serial_p384 inter='CN=ktun test intermediate CA' root='CN=ktun test root CA'
	serial_p384=$(openssl x509 -in "$PKI/client-p384.pem" -noout -serial | cut -d= -f2)
	[ "$serial_p384" != "$SERIAL" ] || fail "client and client-p384 have the same serial"
	make_twin
	[ "$(openssl x509 -in "$PKI/client-twin.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)" = \
		"$(tr A-F a-f <<<"$SERIAL")" ] || fail "client-twin does not have client's serial"
	origin_start line
	rules --allow-serial "$inter/$SERIAL"
	allowed client
	denied client-p384
	denied client-twin # the same serial from another CA
	rules --allow-serial "$inter/0000$SERIAL" # serials compare as integers
	allowed client
	rules --allow-serial "$inter/$serial_p384"
	allowed client-p384
	denied client
	rules --allow-serial "$root/$SERIAL"
	allowed client-twin
	denied client
	srv_stop
	refuses_start "--allow-serial without its issuer" --allow-serial "$SERIAL"
	grep -q 'issuer' "$WORK/refused.out" || fail "the message does not ask for the issuer: $(cat "$WORK/refused.out")"
}

case_or() {
	origin_start line
	# Only the URI rule matches client; nothing matches client-wrongou.
	rules --allow-cn nobody --allow-dns nothing.test --allow-uri "$URI" \
		--allow-serial 'CN=ktun test intermediate CA/01'
	allowed client
	denied client-wrongou
	# client by fingerprint, client-wrongou by OU; client-p384 by neither.
	rules --allow-ou other --allow-fingerprint "sha256:$FP"
	allowed client
	allowed client-wrongou
	denied client-p384
	srv_stop
}

case_all() {
	origin_start line
	rules --allow-all
	allowed client
	allowed client-wrongou
	allowed client-p384
	# allow-all is about the policy only: the chain is still verified.
	denied client-expired expired
	denied client-foreign untrusted
	want_stat reject.policy-denied 0
	srv_stop
}

# refuses_start WHAT ARGS...: ktund server with ARGS must exit 2 at once, saying why, and never
# listen.
refuses_start() {
	local what=$1 rc=0
	shift
	ip netns exec "$NS_ORIGIN" timeout 10 "$KTUND" server --listen "$ORIGIN_IP:$TLS_PORT" \
		--target "127.0.0.1:$ORIGIN_PORT" --cert "$PKI/server-chain.pem" --key "$PKI/server.key" \
		--cacert "$PKI/ca.pem" --control "$WORK/refused.sock" "$@" >"$WORK/refused.out" 2>&1 || rc=$?
	[ "$rc" = 2 ] || fail "$what: exit status $rc, want 2: $(head -n 3 "$WORK/refused.out")"
	! grep -q 'notice: ready' "$WORK/refused.out" || fail "$what: it said ready"
	note "$what: exit 2: $(grep -m1 -v '^$' "$WORK/refused.out")"
}

case_no_rule() {
	refuses_start "no allow-* rule"
	grep -q 'allow-\*' "$WORK/refused.out" || fail "the message does not name allow-*: $(cat "$WORK/refused.out")"
	grep -qi 'at least one\|no implicit' "$WORK/refused.out" || fail "the message does not say a rule is needed"
	refuses_start "--allow-fingerprint without sha256:" --allow-fingerprint "$FP"
	refuses_start "--allow-fingerprint of 31 bytes" --allow-fingerprint "sha256:${FP:2}"
	refuses_start "--allow-serial not hex" --allow-serial 'CN=ktun test intermediate CA/xyz'
	# The same through a configuration file, checked with --check.
	{
		printf '[global]\ncontrol = %s\n' "$WORK/refused.sock"
		server_ini from-edge
	} >"$WORK/norule.conf"
	local rc=0
	"$KTUND" --config "$WORK/norule.conf" --check >"$WORK/refused.out" 2>&1 || rc=$?
	[ "$rc" = 2 ] || fail "--config without allow-* --check: exit $rc, want 2: $(cat "$WORK/refused.out")"
	grep -q 'from-edge.*allow-' "$WORK/refused.out" || fail "--check message names neither the tunnel nor allow-*: $(cat "$WORK/refused.out")"
	note "--config --check: exit 2: $(head -n 1 "$WORK/refused.out")"
}

run_case "--allow-cn: edge-client matches; a prefix or another CN does not" case_cn
run_case "--allow-ou: edge/other match their leaves only; a prefix does not" case_ou
run_case "--allow-dns: edge.test matches; a label or the CN does not" case_dns
run_case "--allow-uri: exact and '*' within a segment match; '*' across '/', a prefix, another segment do not" case_uri
run_case "--allow-fingerprint sha256: the leaf's DER digest only (colons, upper case ok)" case_fingerprint
run_case "--allow-serial ISSUER/SERIAL: the leaf's serial from that issuer only (leading zeros ok)" case_serial
run_case "several allow-* rules are OR'd" case_or
run_case "--allow-all admits any verified client, still refuses expired and untrusted" case_all
run_case "no allow-* rule or a malformed one: refuses to start, exit 2" case_no_rule
srv_finish
