#!/bin/bash
# crl: whose CRLs ktund takes, and what it does when one grows old. CRLs made here by
# `openssl ca -gencrl` from an index.txt of the intermediate (client-revoked revoked), dated
# with -crl_lastupdate/-crl_nextupdate or -crlsec; a forged one by certtool (the intermediate's
# name, the foreign CA's key). Peers: openssl s_client and gnutls-cli (srvlib.sh).
#   foreign        a CRL signed by a CA that is not in cacert: --check and the start refuse it
#                  (exit 2, "not signed by a CA")
#   forged         a CRL in the intermediate's name signed by another key: refused likewise
#   reload-keeps   a running server's CRL replaced by a forged one that lists nothing (an
#                  "un-revocation"): the reload fails, client-revoked is still refused
#   stale-warn     a CRL past its nextUpdate (crl-stale = warn, the default): a warning, the
#                  counter ktund_stale_revocation_data_total{kind="crl"} 1, a negative
#                  ktund_crl_next_update_seconds; it still revokes, a good client is served
#   stale-refuse   crl-stale = refuse: a client of that CA is refused with reason crl-stale
#                  (alert certificate_unknown), one of another CA in cacert is served
#   goes-stale     a CRL whose nextUpdate comes 20 s after it is made (room for a slow ASan
#                  start): warned and counted within seconds of it, not at the next hourly check
#   cert-ends      the same for the server's own certificate reaching its notAfter 20 s after
#                  it is made (the expiry-warn checks run at the next threshold, not hourly)
#   split-pki      cacert = the root only, clients from inter2 (an intermediate in neither
#                  cacert nor the server's chain), inter2's CRL revoking client2-revoked: alone
#                  it is refused, the error saying to add the issuer's certificate to the file;
#                  with inter2's certificate in the file (after the CRL, behind a comment) the
#                  start succeeds, client2-revoked is refused (revoked), client2 is served, and
#                  client2 without inter2 in its chain is still refused: inter2 vouches for the
#                  CRL only, it is no trust anchor
#   carried-bad    the CRL file carries a CA that does not chain to cacert (foreign root CA,
#                  with its own CRL), a certificate that is no CA (client2), or a certificate
#                  block cut short after a good CRL: each refused, naming what is wrong
# Case functions run indirectly (run_case) and take no arguments from the script:
# shellcheck disable=SC2317,SC2119
set -euo pipefail
. "$(dirname "$0")/srvlib.sh"
srv_init

# ---------------------------------------------------------------- the CRLs
C=$WORK/crls
mkdir -p "$C"
printf 'R\t300101000000Z\t240101000000Z\t%s\tunknown\t/CN=edge-client\n' \
	"$(openssl x509 -in "$PKI/client-revoked.pem" -noout -serial | cut -d= -f2)" >"$C/index.txt"
printf '[ca]\ndefault_ca = ktun\n[ktun]\ndatabase = %s/index.txt\ndefault_md = sha256\n' "$C" >"$C/ca.cnf"
# gencrl CA OUT [openssl ca ARGS...]: a CRL of CA (a tests/lib/pki.sh CA) from the index.
gencrl() {
	local ca=$1 out=$2
	shift 2
	openssl ca -gencrl -config "$C/ca.cnf" -keyfile "$PKI/$ca.key" -cert "$PKI/$ca.pem" -out "$out" \
		"$@" >"$WORK/gencrl.log" 2>&1 || fail "openssl ca -gencrl ($ca): $(cat "$WORK/gencrl.log")"
}
gencrl inter "$C/good.pem" -crldays 30
gencrl inter "$C/stale.pem" -crl_lastupdate 20200101000000Z -crl_nextupdate 20200102000000Z
gencrl foreign-ca "$C/foreign.pem" -crldays 30
make_crl "$C/forged.pem" "$PKI/foreign-ca.key" "$PKI/inter.pem"
cat "$PKI/ca.pem" "$PKI/foreign-ca.pem" >"$C/two-cas.pem"

# inter2: a second intermediate under the root, in neither cacert nor the server's chain (the
# usual split PKI: the server's certificate comes from inter); its clients send it in their
# chain. client2-leaf is client2 sending no chain.
(cd "$PKI" && for n in inter2 client2 client2-revoked; do
	certtool --generate-privkey --key-type ecdsa --curve secp256r1 --outfile "$n.key" || exit
done &&
	printf '%s\n' 'cn = "ktun test intermediate CA 2"' ca cert_signing_key crl_signing_key \
		'expiration_days = 3650' >inter2.tmpl &&
	certtool --generate-certificate --load-privkey inter2.key --load-ca-certificate ca.pem \
		--load-ca-privkey ca.key --template inter2.tmpl --outfile inter2.pem &&
	printf '%s\n' 'cn = "edge-client"' 'unit = "edge"' tls_www_client signing_key \
		'expiration_days = 365' >client2.tmpl &&
	for n in client2 client2-revoked; do
		certtool --generate-certificate --load-privkey "$n.key" --load-ca-certificate inter2.pem \
			--load-ca-privkey inter2.key --template client2.tmpl --outfile "$n.pem" &&
			cat "$n.pem" inter2.pem >"$n-chain.pem" || exit
	done &&
	cp client2.pem client2-leaf.pem && cp client2.pem client2-leaf-chain.pem &&
	cp client2.key client2-leaf.key) >"$WORK/inter2.log" 2>&1 ||
	fail "inter2 PKI: $(cat "$WORK/inter2.log")"
make_crl "$C/inter2.pem" "$PKI/inter2.key" "$PKI/inter2.pem" "$PKI/client2-revoked.pem"
{
	echo "# inter2's CRL, then inter2 itself: text outside the PEM blocks is allowed"
	cat "$C/inter2.pem" "$PKI/inter2.pem"
} >"$C/inter2-bundle.pem"
cat "$PKI/foreign-ca.pem" "$C/foreign.pem" >"$C/foreign-bundle.pem"
cat "$C/inter2.pem" "$PKI/client2.pem" >"$C/noca-bundle.pem"
{
	cat "$C/good.pem"
	head -n 3 "$PKI/inter.pem"
} >"$C/cut.pem"

# ---------------------------------------------------------------- helpers
# served WHO: WHO (a PKI leaf) gets its line echoed through the running server.
served() {
	ossl "$1" "crl $1"$'\n' -tls1_3 || fail "$1 was not served: $(tail -n 3 "$WORK/peer.err")"
	[ "$(cat "$WORK/peer.out")" = "crl $1" ] || fail "$1: echoed '$(head -c 80 "$WORK/peer.out")'"
}

# refused_as WHO REASON: WHO's handshake is refused with REASON (server log).
refused_as() {
	local before
	before=$(nlines "reject peer=[^ ]+ reason=$2 ")
	! gtls "$1" "x" --priority "$GT13" || fail "$1 was served, want reason=$2"
	wait_n "reject peer=[^ ]+ reason=$2 " $((before + 1))
	note "$1: $(last_line "reason=$2 " | sed 's/.*\] //')"
}

# served_gtls WHO: WHO gets its line echoed (gnutls-cli, which sends WHO's whole chain; the
# origin must be "echo").
served_gtls() {
	gtls "$1" "crl $1"$'\n' --priority "$GT13" || fail "$1 was not served: $(tail -n 3 "$WORK/peer.err")"
	[ "$(cat "$WORK/peer.out")" = "crl $1" ] || fail "$1: echoed '$(head -c 80 "$WORK/peer.out")'"
}

# wait_long REGEX N SEC: like wait_n, for up to SEC seconds.
wait_long() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		[ "$(nlines "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	fail "want $2 server log line(s) matching '$1' within $3 s, have $(nlines "$1")"
}

# metric NAME LABELS: the server's value of NAME{LABELS} ("" if absent).
metric() {
	ctl server metrics | awk -v k="$1{$2} " 'index($0, k) == 1 { print $NF }'
}

# refused_start CRL WANT: ktund --check and ktund itself exit 2 with CRL, logging WANT.
refused_start() { refused_server "$2" --crl "$1"; }

# ---------------------------------------------------------------- cases
case_foreign() {
	refused_start "$C/foreign.pem" "crl $C/foreign.pem (issuer \"CN=foreign root CA\") is not signed by a CA"
}

case_forged() {
	refused_start "$C/forged.pem" "crl $C/forged.pem (issuer \"CN=ktun test intermediate CA\") is not signed by a CA"
}

case_reload_keeps() {
	use_origin line
	mkdir -p "$WORK/live"
	cp "$C/good.pem" "$WORK/live/crl.pem"
	srv_start --allow-all --crl "$WORK/live/crl.pem" --watch-files=no
	refused_as client-revoked revoked
	cp "$C/forged.pem" "$WORK/live/crl.pem"
	! ctl server reload >"$WORK/ctl.out" 2>&1 || fail "the reload took a forged CRL: $(cat "$WORK/ctl.out")"
	grep -q "crl $WORK/live/crl.pem .*is not signed by a CA" "$SERVER_LOG" ||
		fail "no error naming the forged CRL: $(grep error "$SERVER_LOG")"
	refused_as client-revoked revoked
	served client
	srv_stop
}

case_stale_warn() {
	use_origin line
	srv_start --allow-all --crl "$C/stale.pem"
	grep -q "warning: \[server\] crl $C/stale.pem from \"CN=ktun test intermediate CA\" is past its nextUpdate (2020-01-02 00:00:00 UTC)" "$SERVER_LOG" ||
		fail "no warning about the stale CRL: $(grep -i crl "$SERVER_LOG")"
	[ "$(metric ktund_stale_revocation_data_total 'tunnel="server",kind="crl"')" = 1 ] ||
		fail "stale counter: $(ctl server metrics | grep stale_revocation)"
	local left
	left=$(metric ktund_crl_next_update_seconds 'tunnel="server",issuer="CN=ktun test intermediate CA"')
	[ -n "$left" ] && [ "$left" -lt 0 ] || fail "ktund_crl_next_update_seconds is '$left', want < 0"
	refused_as client-revoked revoked
	served client
	srv_stop
	note "ktund_crl_next_update_seconds $left"
}

case_stale_refuse() {
	use_origin line
	SERVER_CACERT=$C/two-cas.pem srv_start --allow-all --crl "$C/stale.pem" --crl-stale refuse
	grep -q "past its nextUpdate .*the peers that CA issued are refused" "$SERVER_LOG" ||
		fail "no warning about refusing: $(grep -i crl "$SERVER_LOG")"
	refused_as client crl-stale
	last_line 'reason=crl-stale ' | grep -qF 'detail="the CRL of CN=ktun test intermediate CA is past its nextUpdate' ||
		fail "detail: $(last_line 'reason=crl-stale ')"
	grep -q 'Received alert \[46\]' "$WORK/peer.log" ||
		fail "gnutls-cli got no certificate_unknown alert: $(grep -i alert "$WORK/peer.log")"
	want_stat reject.crl-stale 1
	served client-foreign
	srv_stop
}

case_goes_stale() {
	use_origin line
	gencrl inter "$WORK/soon.pem" -crlsec 20
	srv_start --allow-all --crl "$WORK/soon.pem"
	! grep -q 'past its nextUpdate' "$SERVER_LOG" || fail "warned before its nextUpdate"
	served client
	wait_long "crl $WORK/soon.pem from .* is past its nextUpdate" 1 30
	[ "$(metric ktund_stale_revocation_data_total 'tunnel="server",kind="crl"')" = 1 ] ||
		fail "stale counter: $(ctl server metrics | grep stale_revocation)"
	srv_stop
	note "$(last_line 'past its nextUpdate' | sed 's/.*warning: //')"
}

case_cert_ends() {
	local end
	use_origin line
	end=$(date -u -d "@$(($(date +%s) + 20))" '+%Y-%m-%d %H:%M:%S')
	(cd "$PKI" && certtool --generate-privkey --key-type ecdsa --curve secp256r1 --outfile brief.key &&
		printf '%s\n' 'cn = "origin.test"' 'dns_name = "origin.test"' tls_www_server signing_key \
			'activation_date = "2020-01-01 00:00:00 UTC"' "expiration_date = \"$end UTC\"" >brief.tmpl &&
		certtool --generate-certificate --load-privkey brief.key --load-ca-certificate inter.pem \
			--load-ca-privkey inter.key --template brief.tmpl --outfile brief.pem &&
		cat brief.pem inter.pem >brief-chain.pem) >"$WORK/brief.log" 2>&1 ||
		fail "certtool: $(cat "$WORK/brief.log")"
	SERVER_CERT=$PKI/brief-chain.pem SERVER_KEY=$PKI/brief.key srv_start --allow-all
	! grep -q 'has expired' "$SERVER_LOG" || fail "said expired before its end"
	wait_long 'own certificate "CN=origin.test" has expired' 1 30
	srv_stop
	note "$(last_line 'has expired' | sed 's/.*warning: //')"
}

case_split_pki() {
	local before
	refused_start "$C/inter2.pem" "crl $C/inter2.pem (issuer \"CN=ktun test intermediate CA 2\") is not signed by a CA"
	grep -qF "add the issuing CA's certificate to the CRL file" "$WORK/check.log" ||
		fail "the error does not say what to do: $(cat "$WORK/check.log")"
	use_origin echo
	srv_start --allow-all --crl "$C/inter2-bundle.pem"
	refused_as client2-revoked revoked
	served_gtls client2
	before=$(nlines 'reject peer=')
	! gtls client2-leaf "x" --priority "$GT13" || fail "client2 was served without inter2 in its chain"
	wait_n 'reject peer=' $((before + 1))
	note "client2 without inter2: $(last_line 'reject peer=' | sed 's/.*\] //')"
	srv_stop
}

case_carried_bad() {
	refused_start "$C/foreign-bundle.pem" "certificate \"CN=foreign root CA\" in it does not chain to cacert"
	refused_start "$C/noca-bundle.pem" "certificate \"CN=edge-client,OU=edge\" in it is not a CA certificate"
	refused_start "$C/cut.pem" "a CERTIFICATE PEM block without its END line"
}

run_case "a CRL signed by a CA not in cacert: --check and start refuse it" case_foreign
run_case "a CRL in the intermediate's name, signed by another key: refused" case_forged
run_case "reload with a forged CRL fails and keeps the old one" case_reload_keeps
run_case "stale CRL, crl-stale = warn: warned, counted, still revokes" case_stale_warn
run_case "stale CRL, crl-stale = refuse: that CA's clients refused, another CA's served" case_stale_refuse
run_case "a CRL reaching its nextUpdate while running is warned about then" case_goes_stale
run_case "the own certificate reaching its end while running is warned about then" case_cert_ends
run_case "split PKI: a peers' intermediate's CRL loads with that CA's certificate in the file" case_split_pki
run_case "a CRL file carrying a CA foreign to cacert, a non-CA or a cut block: refused" case_carried_bad
srv_finish
