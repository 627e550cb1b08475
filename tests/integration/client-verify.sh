#!/bin/bash
# client-verify: ktund client's --verify-* rules on the server's leaf, against openssl s_server
# holding a certificate made here (CN=origin.test, OU=origin, DNS origin.test,
# URI spiffe://ktun.test/ns/origin/sa/web, serial 0xc0ffee — DER-encoded with a leading 00).
# Each rule once matching (data through, server named in the handshake line) and once not
# (app reset, reject reason=policy-denied, client.reject.policy-denied 1):
#   cn, ou, dns, uri (a * matches within one path segment only), fingerprint (colons and upper
#   case allowed; another valid cert's fingerprint refused), serial (ISSUER-DN/HEX, compared as
#   an integer: leading zeros, 0x and an odd number of digits are fine; the same serial under
#   another issuer refused).
# Also: rules are OR'd, and no rule replaces the name check (matching rule, wrong
# --server-name -> wrong-name).
# shellcheck disable=SC2119 # pair_init takes optional arguments; none needed here
set -euo pipefail
. "$(dirname "$0")/client-common.sh"
pair_init

issue_server server-policy inter 'cn = "origin.test"' 'unit = "origin"' 'dns_name = "origin.test"' \
	'uri = "spiffe://ktun.test/ns/origin/sa/web"' "serial = $((0xc0ffee))"
fp=$(certtool --fingerprint --hash sha256 --infile "$PKI/server-policy.pem" 2>/dev/null | tr -d '\n')
other_fp=$(certtool --fingerprint --hash sha256 --infile "$PKI/server.pem" 2>/dev/null | tr -d '\n')
if [ ${#fp} != 64 ] || [ ${#other_fp} != 64 ]; then
	fail "certtool --fingerprint gave '$fp' / '$other_fp'"
fi
serial=$(certtool -i --infile "$PKI/server-policy.pem" 2>/dev/null | awk '/Serial Number \(hex\):/ { print $4 }')
[ "$serial" = 00c0ffee ] || fail "server-policy serial is '$serial', want 00c0ffee"
# With colons and in upper case, as openssl x509 -fingerprint prints it.
fp_colons=$(sed 's/../&:/g; s/:$//' <<<"$fp" | tr 'a-f' 'A-F')

start_sserver sserver server-policy
export SERVER_ID='CN=origin.test,OU=origin'

# args_ok LABEL KTUND-ARGS...: ktund client takes these arguments (else the case fails here
# rather than the whole script in start_client).
args_ok() {
	local label=$1 out
	shift
	out=$("$KTUND" client --listen 127.0.0.1:1 --target 127.0.0.1:2 --server-name origin.test \
		--cert "$PKI/client-chain.pem" --key "$PKI/client.key" --cacert "$PKI/ca.pem" "$@" --check 2>&1) ||
		{
			not_ok "$label: ktund refuses $*: $(grep -v notice <<<"$out" | head -2 | tr '\n' ' ')"
			return 1
		}
}

# match LABEL KTUND-ARGS...: data through with these extra ktund client arguments.
match() {
	local label=$1
	shift
	args_ok "$label" "$@" || return 0
	start_client "$@"
	check_through "$label" "verify $label"
	stop_client
}

# deny LABEL REASON KTUND-ARGS...: refused with REASON.
deny() {
	local label=$1 reason=$2
	shift 2
	args_ok "$label" "$@" || return 0
	start_client "$@"
	check_refused "$label" "$reason"
	stop_client
}

match cn-match --verify-cn origin.test
deny cn-mismatch policy-denied --verify-cn edge-client
# The detail names the rules that failed (checked once here).
if grep -q 'reject .*detail="certificate matches no verify-\* rule"' "$CLIENT_LOG"; then
	ok "policy-denied detail: $(grep -oE 'detail=.*' "$CLIENT_LOG")"
else
	not_ok "policy-denied detail does not say 'matches no verify-* rule': $(grep -E 'reject ' "$CLIENT_LOG")"
fi
check_alert cn-mismatch 49 access_denied
match ou-match --verify-ou origin
deny ou-mismatch policy-denied --verify-ou edge
match dns-match --verify-dns origin.test
deny dns-mismatch policy-denied --verify-dns other.test
match uri-match --verify-uri 'spiffe://ktun.test/ns/*/sa/web'
deny uri-mismatch policy-denied --verify-uri 'spiffe://ktun.test/ns/origin/sa/db'
deny uri-star-one-segment policy-denied --verify-uri 'spiffe://ktun.test/*/web'
match fingerprint-match --verify-fingerprint "sha256:$fp_colons"
deny fingerprint-mismatch policy-denied --verify-fingerprint "sha256:$other_fp"
# A serial is the issuer's: ISSUER-DN/HEX (server-policy's issuer is the intermediate).
INTER_DN='CN=ktun test intermediate CA'
match serial-match --verify-serial "$INTER_DN/c0ffee"
match serial-match-padded --verify-serial "$INTER_DN/0x00C0FFEE"
# Hex integers need not have an even number of digits (README: serials compare as integers).
match serial-match-odd-digits --verify-serial "$INTER_DN/0c0ffee"
deny serial-mismatch policy-denied --verify-serial "$INTER_DN/c0ffef"
deny serial-other-issuer policy-denied --verify-serial 'CN=ktun test root CA/c0ffee'
match rules-ored --verify-cn nobody --verify-ou nobody --verify-uri 'spiffe://ktun.test/ns/origin/sa/web'
deny all-rules-fail policy-denied --verify-cn nobody --verify-dns nobody.test --verify-serial "$INTER_DN/0bad"
CLIENT_SERVER_NAME=other.test deny rule-does-not-replace-name wrong-name --verify-cn origin.test
stop_sserver

finish "every verify-* rule matched and refused as it should"
