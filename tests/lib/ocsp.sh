# shellcheck shell=bash
# ocsp.sh — OCSP helpers of tests/integration/ocsp.sh, ocsp-fetch.sh and client-resumption.sh:
# responses made by `openssl ocsp` from an index.txt (openssl ca format) of the CA that issued
# the certificate (the intermediate, unless ISSUER says), and what a ktund server staples as
# openssl s_client -status sees it.
# Source it after tests/integration/client-common.sh (PKI, WORK, in_edge, ctl).

# ocsp_serial NAME: the serial number of $PKI/NAME.pem, in hex as openssl ca's index.txt has it.
ocsp_serial() { openssl x509 -in "$PKI/$1.pem" -noout -serial | cut -d= -f2; }

# ocsp_index_line V|R NAME: one line of openssl ca's index.txt naming $PKI/NAME.pem valid (V)
# or revoked (R, in 2024).
ocsp_index_line() {
	local revoked=
	[ "$1" = R ] && revoked=240101000000Z
	printf '%s\t300101000000Z\t%s\t%s\tunknown\t%s\n' "$1" "$revoked" "$(ocsp_serial "$2")" \
		"$(openssl x509 -in "$PKI/$2.pem" -noout -subject -nameopt compat | sed 's/^subject=//')"
}

# ocsp_respond INDEX SIGNER NAME OUT [ARGS...]: the answer of NAME.pem's issuer ($ISSUER.pem,
# default the intermediate) from $PKI/INDEX about NAME.pem into OUT (DER), signed by
# SIGNER.pem/SIGNER.key, made at the time $AT says (faketime) if set; ARGS are openssl ocsp's
# (-ndays N, -nmin N).
ocsp_respond() {
	local index=$1 signer=$2 name=$3 out=$4 issuer=${ISSUER:-inter} at=()
	shift 4
	[ -z "${AT:-}" ] || at=(faketime "$AT")
	(cd "$PKI" && "${at[@]}" openssl ocsp -index "$index" -CA "$issuer.pem" -rsigner "$signer.pem" \
		-rkey "$signer.key" -issuer "$issuer.pem" -cert "$name.pem" -respout "$out" "$@") \
		>"$WORK/ocsp-gen.log" 2>&1 ||
		fail "openssl ocsp could not answer for $name: $(cat "$WORK/ocsp-gen.log")"
}

# s_client_status: openssl s_client -status against the ktund server; its report in $WORK/sc.out.
s_client_status() {
	echo Q | in_edge timeout 10 openssl s_client -connect "$ORIGIN_IP:$TLS_PORT" -status \
		-servername origin.test -CAfile "$PKI/ca.pem" -cert "$PKI/client.pem" \
		-key "$PKI/client.key" -cert_chain "$PKI/inter.pem" >"$WORK/sc.out" 2>&1 || true
}

# stapled_good: s_client_status, and the server stapled a successful response saying "good".
stapled_good() {
	s_client_status
	grep -q 'OCSP Response Status: successful' "$WORK/sc.out" && grep -q 'Cert Status: good' "$WORK/sc.out"
}

# metric NAME DAEMON [LABEL]: the value of NAME{...} (whose labels hold LABEL, when given) from
# ktunctl metrics; "" if absent.
metric() {
	ctl "$2" metrics | awk -v n="$1" -v l="${3:-}" \
		'index($0, n "{") == 1 && (l == "" || index($0, l)) { print $2 }'
}

# data_through LABEL: 1000 bytes through the running ktund client and server to the echo origin.
data_through() {
	local out
	if out=$(app echo "$APP_ADDR" 1000); then
		ok "$1: $out"
	else
		not_ok "$1: no data through: $out"
	fi
}
