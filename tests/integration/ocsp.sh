#!/bin/bash
# ocsp: ocsp-staple and require-ocsp, with OCSP responses made here by `openssl ocsp` from an
# index.txt (openssl ca format) of the intermediate CA that issued the leaves, signed by the
# intermediate itself (-rsigner), DER (-respout); a stale one dated 2020 with faketime.
#   staple-s_client   ktund server --ocsp-staple: openssl s_client -status gets "OCSP Response
#                     Status: successful" and "Cert Status: good"; the metric
#                     ktund_ocsp_staple_expiry_seconds is the response's 7 days
#   staple-soon       a response 2 hours from its nextUpdate: the warning, and the metric <= 2 h
#   goes-soon         a response whose last day begins 8 s after the start: the "reaches its
#                     nextUpdate" warning comes then, not at the next hourly check
#   goes-stale        a response whose nextUpdate comes 8 s after the start: the "past its
#                     nextUpdate" warning comes then, and
#                     ktund_stale_revocation_data_total{kind="ocsp-staple"} is 1
#   client-good       ktund client --require-ocsp -> ktund server stapling a good response: data
#   client-missing    ... -> ktund server without a staple: app reset, reason ocsp-missing
#   client-revoked    ... -> openssl s_server stapling "revoked" (no CRL anywhere): revoked, alert 44
#   client-other      ... -> s_server stapling the response for another certificate: ocsp-invalid
#   client-stale      ... -> s_server stapling a response past its nextUpdate: ocsp-invalid
#   reload-rename     ktund server whose staple file is stale (warned, not stapled: a
#                     require-ocsp client is refused, ocsp-missing); a good response renamed over
#                     it is picked up by the file watch, under the sandbox, without a restart
#                     (same pid), and the next connection passes
#   server-require    ktund server --require-ocsp: ktund client --ocsp-staple passes (TLS 1.3);
#                     openssl s_client, which cannot staple, is refused with ocsp-missing
#   delegated         a response signed by a responder the intermediate delegated to (OCSP
#                     signing purpose) is stapled, and a require-ocsp ktund client accepts it
#   reload-rogue      a running server's staple replaced by one signed by a responder the CA
#                     never delegated to: the reload fails, the good staple is still served
#   refusals          a staple for another certificate, or one signed by a key the CA never
#                     delegated to (a leaf of the CA, a responder of a foreign CA), stops
#                     ktund from starting; client-mode
#                     ocsp-staple and server-mode require-ocsp with tls-max 1.2 are refused
# shellcheck disable=SC2119 # tests/lib/ktund.sh functions take optional arguments; none needed here
set -euo pipefail
. "$(dirname "$0")/client-common.sh"
# shellcheck source=../lib/ocsp.sh
. "$KTUN_LIB/ocsp.sh"
need_cmd faketime
pair_init

# ---------------------------------------------------------------- the responder's data
issue_server server-revoked inter 'cn = "origin.test"' 'dns_name = "origin.test"'
{
	ocsp_index_line V server
	ocsp_index_line V client
	ocsp_index_line R server-revoked
} >"$PKI/index.txt"

# respond NAME OUT [ARGS...]: the intermediate's answer about NAME.pem into OUT, signed by
# $RSIGNER (default inter); $AT dates it (tests/lib/ocsp.sh).
respond() {
	local name=$1 out=$2
	shift 2
	ocsp_respond index.txt "${RSIGNER:-inter}" "$name" "$out" "$@"
}
O=$WORK/ocsp
mkdir -p "$O"
respond server "$O/server-good.der" -ndays 7
respond server "$O/server-soon.der" -nmin 120
respond server-revoked "$O/server-revoked.der" -ndays 7
respond client "$O/client-good.der" -ndays 7
AT='2020-01-01 00:00:00' respond server "$O/server-stale.der" -ndays 1
# Responders: one the intermediate delegated to, one a foreign CA made; and a plain leaf.
issue_responder() {
	(cd "$PKI" && certtool --generate-privkey --key-type ecdsa --curve secp256r1 --outfile "$1.key" &&
		printf 'cn = "%s"\nocsp_signing_key\nsigning_key\nexpiration_days = 30\n' "$1" >"$1.tmpl" &&
		certtool --generate-certificate --load-privkey "$1.key" --load-ca-certificate "$2.pem" \
			--load-ca-privkey "$2.key" --template "$1.tmpl" --outfile "$1.pem") \
		>"$WORK/responder.log" 2>&1 || fail "certtool could not issue $1: $(cat "$WORK/responder.log")"
}
issue_responder responder inter
issue_responder foreign-responder foreign-ca
RSIGNER=responder respond server "$O/server-delegated.der" -ndays 7
RSIGNER=client respond server "$O/server-by-leaf.der" -ndays 7
RSIGNER=foreign-responder respond server "$O/server-by-foreign.der" -ndays 7
ocsptool -j -S "$O/server-stale.der" 2>/dev/null | grep -q 'Next Update:.*2020' ||
	fail "the stale response is not dated 2020: $(ocsptool -j -S "$O/server-stale.der" 2>&1 | grep Update)"

bg_origin python3 "$ORIGIN_TOOL" echo "127.0.0.1:$ORIGIN_PORT" "$WORK/accepts"
wait_port "$NS_ORIGIN" "$ORIGIN_PORT" || fail "origin did not start"

# ---------------------------------------------------------------- cases
start_server --ocsp-staple "$O/server-good.der"
if stapled_good; then
	ok "staple-s_client: $(grep -m1 -o 'OCSP Response Status: [a-z]*' "$WORK/sc.out"), $(grep -m1 -o 'Cert Status: [a-z]*' "$WORK/sc.out")"
else
	not_ok "staple-s_client: s_client -status saw no good staple: $(grep -iE -m3 'ocsp|status' "$WORK/sc.out" | tr '\n' ' ')"
fi
m=$(metric ktund_ocsp_staple_expiry_seconds server)
if [ -n "$m" ] && [ "$m" -gt $((7 * 86400 - 600)) ] && [ "$m" -le $((7 * 86400)) ]; then
	ok "staple-metric: ktund_ocsp_staple_expiry_seconds $m"
else
	not_ok "staple-metric: ktund_ocsp_staple_expiry_seconds is '${m:-absent}', want about 7 days"
fi

start_client --require-ocsp
data_through client-good
stop_client
stop_server

start_server --ocsp-staple "$O/server-soon.der"
if wait_log "$SERVER_LOG" 'OCSP response .*server-soon.der reaches its nextUpdate in 1 hours' 5; then
	ok "staple-soon: $(grep -o 'OCSP response .*' "$SERVER_LOG")"
else
	not_ok "staple-soon: no warning about the response's nextUpdate"
fi
m=$(metric ktund_ocsp_staple_expiry_seconds server)
if [ -n "$m" ] && [ "$m" -gt 6600 ] && [ "$m" -le 7200 ]; then
	ok "staple-soon: ktund_ocsp_staple_expiry_seconds $m"
else
	not_ok "staple-soon: ktund_ocsp_staple_expiry_seconds is '${m:-absent}', want under 2 hours"
fi
stop_server

# respond_due NAME SECONDS MINUTES: NAME's response valid for MINUTES, made so that its
# nextUpdate comes SECONDS from now (openssl ocsp -nmin, at a time set back by faketime).
respond_due() {
	AT=$(date -d "@$(($(date +%s) + $2 - $3 * 60))" '+%Y-%m-%d %H:%M:%S') \
		respond server "$O/$1.der" -nmin "$3"
}
# goes: the running server's log gets WANT within 15 s, and not before the moment comes.
goes() {
	local label=$1 want=$2
	if grep -Eq "$want" "$SERVER_LOG"; then
		not_ok "$label: warned at the start, before its time: $(grep -E "$want" "$SERVER_LOG")"
	elif wait_log "$SERVER_LOG" "$want" 15; then
		ok "$label: $(grep -Eo "$want.*" "$SERVER_LOG")"
	else
		not_ok "$label: no '$want' within 15 s: $(grep -E 'OCSP' "$SERVER_LOG" | tr '\n' ' ')"
	fi
}
respond_due server-goes-soon 86408 1441
start_server --ocsp-staple "$O/server-goes-soon.der"
goes goes-soon 'OCSP response .*server-goes-soon.der reaches its nextUpdate in 2[34] hours'
stop_server
respond_due server-goes-stale 8 1
start_server --ocsp-staple "$O/server-goes-stale.der"
if ! grep -q 'server-goes-stale.der reaches its nextUpdate in 0 hours' "$SERVER_LOG"; then
	not_ok "goes-stale: no warning at the start about the near nextUpdate"
fi
goes goes-stale 'OCSP response .*server-goes-stale.der is past its nextUpdate: it is not stapled'
m=$(ctl server metrics | awk '/^ktund_stale_revocation_data_total\{tunnel="server",kind="ocsp-staple"\}/ { print $2 }')
if [ "$m" = 1 ]; then
	ok "goes-stale: ktund_stale_revocation_data_total{kind=\"ocsp-staple\"} 1"
else
	not_ok "goes-stale: ktund_stale_revocation_data_total{kind=\"ocsp-staple\"} is '${m:-absent}', want 1"
fi
stop_server

start_server
start_client --require-ocsp
check_refused client-missing ocsp-missing
stop_client
stop_server

# refused_by_sserver LABEL CERT RESPONSE REASON ALERT-NUMBER ALERT-NAME: s_server staples RESPONSE.
refused_by_sserver() {
	start_sserver "sserver-$1" "$2" -status_file "$3"
	start_client --require-ocsp
	check_refused "$1" "$4"
	check_alert "$1" "$5" "$6"
	stop_client
	stop_sserver
}
refused_by_sserver client-revoked server-revoked "$O/server-revoked.der" revoked 44 certificate_revoked
refused_by_sserver client-other server "$O/client-good.der" ocsp-invalid 113 bad_certificate_status_response
refused_by_sserver client-stale server "$O/server-stale.der" ocsp-invalid 113 bad_certificate_status_response

# reload-rename: the staple lives in a directory of its own, as a certificate manager's would.
mkdir -p "$WORK/staple"
cp "$O/server-stale.der" "$WORK/staple/ocsp.der"
start_server --ocsp-staple "$WORK/staple/ocsp.der"
pid=$SERVER_PID
if ! wait_log "$SERVER_LOG" 'OCSP response .*ocsp.der is past its nextUpdate: it is not stapled' 5; then
	not_ok "reload-rename: no warning about the stale response"
fi
start_client --require-ocsp
check_refused reload-rename-before ocsp-missing
cp "$O/server-good.der" "$WORK/staple/.ocsp.der.tmp"
mv "$WORK/staple/.ocsp.der.tmp" "$WORK/staple/ocsp.der"
if wait_log "$SERVER_LOG" 'reload ok' 10 && [ "$SERVER_PID" = "$pid" ] && kill -0 "$pid"; then
	if out=$(app echo "$APP_ADDR" 1000); then
		ok "reload-rename: $(grep -o 'ocsp.der changed on disk.*' "$SERVER_LOG"); then $out"
	else
		not_ok "reload-rename: reloaded, yet the next connection failed: $out; $(grep -E 'reject' "$CLIENT_LOG" | tail -1)"
	fi
else
	not_ok "reload-rename: the renamed response was not reloaded: $(grep -E 'reload|changed|sandbox' "$SERVER_LOG" | tr '\n' ' ')"
fi
grep -q 'sandbox: files read-only' "$SERVER_LOG" || not_ok "reload-rename: the server ran without the sandbox"
stop_client
stop_server

# delegated: GnuTLS peers accept a delegated responder's answer; so does ktund.
start_server --ocsp-staple "$O/server-delegated.der"
start_client --require-ocsp
data_through delegated
stop_client

# reload-rogue: the staple is replaced by one the CA never delegated: refused, the old one stays.
mkdir -p "$WORK/rogue"
cp "$O/server-good.der" "$WORK/rogue/ocsp.der"
stop_server
start_server --ocsp-staple "$WORK/rogue/ocsp.der"
cp "$O/server-by-leaf.der" "$WORK/rogue/ocsp.der"
if ctl server reload >"$WORK/ctl.out" 2>&1; then
	not_ok "reload-rogue: the reload took a staple signed by a leaf: $(cat "$WORK/ctl.out")"
elif ! grep -q "ocsp-staple $WORK/rogue/ocsp.der is not usable: its signer was not delegated" "$SERVER_LOG"; then
	not_ok "reload-rogue: no error naming the untrusted signer: $(grep -E 'error' "$SERVER_LOG" | tr '\n' ' ')"
else
	s_client_status
	if grep -q 'Cert Status: good' "$WORK/sc.out"; then
		ok "reload-rogue: $(grep -o 'ocsp-staple .*not trusted.*' "$SERVER_LOG" | head -1); still stapling the good one"
	else
		not_ok "reload-rogue: after the refused reload the good staple is not served: $(grep -iE -m3 'ocsp|status' "$WORK/sc.out" | tr '\n' ' ')"
	fi
fi
stop_server

# server-require: the client's staple travels in its TLS 1.3 Certificate message.
start_server --require-ocsp
start_client --ocsp-staple "$O/client-good.der"
data_through server-require-good
stop_client
echo Q | in_edge timeout 10 openssl s_client -connect "$ORIGIN_IP:$TLS_PORT" \
	-servername origin.test -CAfile "$PKI/ca.pem" -cert "$PKI/client.pem" -key "$PKI/client.key" \
	-cert_chain "$PKI/inter.pem" >"$WORK/sc.out" 2>&1 || true
if wait_log "$SERVER_LOG" 'reject peer=[^ ]+ reason=ocsp-missing detail="the client stapled no OCSP response"' 5 &&
	wait_stat server reject.ocsp-missing 1 5; then
	ok "server-require-missing: $(grep -o 'reject peer=.*' "$SERVER_LOG"); server.reject.ocsp-missing 1"
else
	not_ok "server-require-missing: openssl s_client was not refused with ocsp-missing: $(grep -E 'handshake|reject' "$SERVER_LOG" | tr '\n' ' ')"
fi
stop_server

# refusals: configurations that cannot work.
# refused_config LABEL WANT MODE ARGS...: ktund MODE ... --check exits 2 saying WANT.
refused_config() {
	local label=$1 want=$2 mode=$3 out rc=0
	shift 3
	out=$("$KTUND" "$mode" --listen 127.0.0.1:1 --target 127.0.0.1:2 --cert "$PKI/server-chain.pem" \
		--key "$PKI/server.key" --cacert "$PKI/ca.pem" "$@" --check 2>&1) || rc=$?
	if [ "$rc" = 2 ] && grep -qF -- "$want" <<<"$out"; then
		ok "$label: exit 2, $(grep -m1 -F -- "$want" <<<"$out")"
	else
		not_ok "$label: exit $rc, want 2 with '$want': $out"
	fi
}
refused_config refuse-mismatch "ocsp-staple $O/client-good.der: The OCSP response provided doesn't match" \
	server --allow-all --ocsp-staple "$O/client-good.der"
refused_config refuse-leaf-signer "ocsp-staple $O/server-by-leaf.der is not usable: its signer was not delegated by the issuer" \
	server --allow-all --ocsp-staple "$O/server-by-leaf.der"
refused_config refuse-foreign-signer "ocsp-staple $O/server-by-foreign.der is not usable: its signer is neither the issuer nor delegated by it" \
	server --allow-all --ocsp-staple "$O/server-by-foreign.der"
refused_config refuse-client-tls12 "ocsp-staple in client mode needs tls-max 1.3" \
	client --server-name origin.test --ocsp-staple "$O/server-good.der" --tls-max 1.2
refused_config refuse-server-tls12 "require-ocsp in server mode needs tls-max 1.3" \
	server --allow-all --require-ocsp --tls-max 1.2

finish "stapled, required, refused with the right reasons, reloaded"
