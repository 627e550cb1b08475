#!/bin/bash
# ocsp-fetch: ktund fetches its own OCSP staple from the responder its certificate names
# (Authority Information Access, http://localhost:PORT/: a name, resolved by glibc under the
# sandbox) and keeps it fresh. The responder is `openssl ocsp` serving the intermediate's
# index.txt, in the origin namespace next to the ktund server; every ktund runs sandboxed.
#   fetch-good        the server fetches at start: openssl s_client -status sees a good staple,
#                     a ktund client --require-ocsp carries data, ktund_ocsp_fetches_total ok >= 1
#   refresh           the responses last 1 minute (-nmin 1): a second fetch comes halfway
#   responder-down    the responder stopped: the next fetch fails, is logged and counted, and the
#                     last good response is still stapled, also after a reload (reload-carries)
#   revoked           a responder that says the certificate is revoked: nothing is stapled (a
#                     require-ocsp client is refused with ocsp-missing), warning, counted
#   garbage           a responder that answers 200 with junk, with 100 KB, with a good response
#                     about another certificate, or with one signed by a foreign CA: refused
#   refusals          a certificate without an OCSP responder, or ocsp-fetch with ocsp-staple:
#                     ktund does not start, exit 2, and says why; a reload that turns
#                     ocsp-fetch on is refused (restart ktund), and the daemon serves on
# shellcheck disable=SC2119 # tests/lib/ktund.sh functions take optional arguments; none needed here
set -euo pipefail
. "$(dirname "$0")/client-common.sh"
# shellcheck source=../lib/ocsp.sh
. "$KTUN_LIB/ocsp.sh"
pair_init

RPORT=8888
issue_server server-aia inter 'cn = "origin.test"' 'dns_name = "origin.test"' \
	"ocsp_uri = \"http://localhost:$RPORT/\""
issue_server server-noaia inter 'cn = "origin.test"' 'dns_name = "origin.test"'
# index V|R: openssl ca's index.txt naming server-aia valid or revoked (in 2024).
index() { ocsp_index_line "$1" server-aia >"$PKI/index-$1.txt"; }
index V
index R

RESPONDER_PID=
# responder V|R: openssl ocsp answering for the intermediate, responses valid 1 minute.
responder() {
	stop_responder
	(cd "$PKI" && exec ip netns exec "$NS_ORIGIN" openssl ocsp -index "index-$1.txt" -port "$RPORT" \
		-CA inter.pem -rsigner inter.pem -rkey inter.key -nmin 1 -ignore_err) >"$WORK/responder.log" 2>&1 &
	RESPONDER_PID=$!
	wait_port "$NS_ORIGIN" "$RPORT" || fail "openssl ocsp did not start: $(cat "$WORK/responder.log")"
}
# fixed_responder FILE: HTTP 200 with FILE's bytes, whatever is asked.
fixed_responder() {
	stop_responder
	ip netns exec "$NS_ORIGIN" python3 -c '
import http.server, sys
body = open(sys.argv[2], "rb").read()
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "application/ocsp-response")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()' "$RPORT" "$1" >"$WORK/fixed.log" 2>&1 &
	RESPONDER_PID=$!
	wait_port "$NS_ORIGIN" "$RPORT" || fail "the fixed responder did not start"
}
# respond NAME SIGNER OUT: a response about NAME.pem signed by SIGNER, valid a day.
respond() { ocsp_respond index-V.txt "$2" "$1" "$3" -ndays 1; }
stop_responder() {
	[ -n "$RESPONDER_PID" ] || return 0
	kill "$RESPONDER_PID" 2>/dev/null || true
	wait "$RESPONDER_PID" 2>/dev/null || true
	RESPONDER_PID=
}
on_exit stop_responder

fetches() { grep -c 'ocsp-fetch: stapling the response of' "$SERVER_LOG" || true; }

bg_origin python3 "$ORIGIN_TOOL" echo "127.0.0.1:$ORIGIN_PORT" "$WORK/accepts"
wait_port "$NS_ORIGIN" "$ORIGIN_PORT" || fail "origin did not start"
SERVER_CERT=$PKI/server-aia-chain.pem SERVER_KEY=$PKI/server-aia.key
export SERVER_CERT SERVER_KEY

# ---------------------------------------------------------------- fetch-good, refresh
responder V
start_server --ocsp-fetch
if wait_log "$SERVER_LOG" "ocsp-fetch: stapling the response of http://localhost:$RPORT/ \\(good, nextUpdate " 15 &&
	stapled_good; then
	ok "fetch-good: $(grep -m1 -o 'Cert Status: [a-z]*' "$WORK/sc.out") from the fetched response"
else
	not_ok "fetch-good: no good staple: $(grep -iE -m3 'ocsp|status' "$WORK/sc.out" | tr '\n' ' ')"
fi
m=$(metric ktund_ocsp_fetches_total server 'result="ok"')
if [ "${m:-0}" -ge 1 ]; then ok "fetch-good: ktund_ocsp_fetches_total{result=\"ok\"} $m"
else not_ok "fetch-good: ktund_ocsp_fetches_total{result=\"ok\"} is '${m:-absent}'"; fi
m=$(metric ktund_ocsp_staple_expiry_seconds server tunnel)
if [ -n "$m" ] && [ "$m" -gt 0 ] && [ "$m" -le 60 ]; then ok "fetch-good: staple expiry metric $m s"
else not_ok "fetch-good: ktund_ocsp_staple_expiry_seconds is '${m:-absent}', want 1..60"; fi
start_client --require-ocsp
data_through "fetch-good: require-ocsp client"
stop_client

# A 1-minute response is fetched again halfway (30 s).
for _ in $(seq 60); do [ "$(fetches)" -ge 2 ] && break; sleep 1; done
if [ "$(fetches)" -ge 2 ]; then
	ok "refresh: fetched again before the nextUpdate ($(fetches) fetches)"
else
	not_ok "refresh: $(fetches) fetch(es) in 60 s of 1-minute responses"
fi

# ---------------------------------------------------------------- responder-down
stop_responder
if wait_log "$SERVER_LOG" "ocsp-fetch from http://localhost:$RPORT/ failed: .*; the last good response is still stapled" 40; then
	ok "responder-down: $(grep -m1 -o 'ocsp-fetch from .* failed: [^;]*' "$SERVER_LOG")"
else
	not_ok "responder-down: no failure line in 40 s"
fi
m=$(metric ktund_ocsp_fetches_total server 'result="failed"')
if [ "${m:-0}" -ge 1 ]; then ok "responder-down: ktund_ocsp_fetches_total{result=\"failed\"} $m"
else not_ok "responder-down: ktund_ocsp_fetches_total{result=\"failed\"} is '${m:-absent}'"; fi
if stapled_good; then ok "responder-down: the last good response is still stapled"
else not_ok "responder-down: no staple after one failed fetch: $(grep -iE -m3 'ocsp|status' "$WORK/sc.out" | tr '\n' ' ')"; fi
# A reload that keeps the certificate keeps its fetched staple (the responder is still down).
ctl server reload >/dev/null || not_ok "reload-carries: ktunctl reload failed"
if stapled_good; then ok "reload-carries: the fetched staple survives a reload"
else not_ok "reload-carries: no staple after a reload: $(grep -iE -m3 'ocsp|status' "$WORK/sc.out" | tr '\n' ' ')"; fi
stop_server

# ---------------------------------------------------------------- revoked
responder R
start_server --ocsp-fetch
if wait_log "$SERVER_LOG" 'ocsp-fetch from .* failed: the responder says the certificate is REVOKED; nothing to staple' 15; then
	ok "revoked: refused and said"
else
	not_ok "revoked: no REVOKED line"
fi
s_client_status
if grep -q 'OCSP response: no response sent' "$WORK/sc.out"; then ok "revoked: nothing stapled"
else not_ok "revoked: s_client saw: $(grep -iE -m3 'ocsp|status' "$WORK/sc.out" | tr '\n' ' ')"; fi
start_client --require-ocsp
check_refused revoked-require ocsp-missing
stop_client
stop_server

# ---------------------------------------------------------------- garbage and wrong answers
head -c 40 /dev/urandom >"$WORK/junk-40"
head -c 100000 /dev/zero >"$WORK/junk-100000"
respond client inter "$WORK/other-cert.der"     # good, but about the client's certificate
respond server-aia foreign-ca "$WORK/foreign.der" # about ours, signed by a CA not its issuer
for bad in "junk-40:not a successful DER OCSP response" \
	"junk-100000:the response is larger than 65536 bytes" \
	"other-cert.der:it is about another certificate" \
	"foreign.der:its signer is neither the issuer nor delegated by it"; do
	fixed_responder "$WORK/${bad%%:*}"
	start_server --ocsp-fetch
	if wait_log "$SERVER_LOG" "ocsp-fetch from .* failed: ${bad#*:}; nothing to staple" 15; then
		ok "garbage ${bad%%:*}: refused: ${bad#*:}"
	else
		not_ok "garbage ${bad%%:*}: no '${bad#*:}' line: $(grep -m1 ocsp-fetch "$SERVER_LOG")"
	fi
	stop_server
done
stop_responder

# ---------------------------------------------------------------- refusals
refused() { # LABEL WANT ARGS...
	local label=$1 want=$2 rc=0 log=$WORK/refused-$1.log
	shift 2
	ip netns exec "$NS_ORIGIN" "$KTUND" server --listen "$ORIGIN_IP:$TLS_PORT" --target "127.0.0.1:$ORIGIN_PORT" \
		--cacert "$PKI/ca.pem" --allow-ou edge --control "$WORK/refused.sock" "$@" 2>"$log" || rc=$?
	if [ "$rc" = 2 ] && grep -q -- "$want" "$log"; then ok "$label: exit 2, $want"
	else not_ok "$label: exit $rc, want 2 and '$want': $(tail -n 2 "$log")"; fi
}
refused no-aia 'ocsp-fetch: the certificate names no OCSP responder' \
	--cert "$PKI/server-noaia-chain.pem" --key "$PKI/server-noaia.key" --ocsp-fetch
refused with-staple 'ocsp-staple and ocsp-fetch are both set' \
	--cert "$SERVER_CERT" --key "$SERVER_KEY" --ocsp-fetch --ocsp-staple "$SERVER_CERT"

# A reload cannot turn ocsp-fetch on: its thread starts before the sandbox, which then
# forbids new threads. The reload fails and says to restart; the daemon keeps serving.
cat >"$WORK/turn-on.conf" <<CONF
[global]
control = $WORK/server.sock
[server]
mode = server
listen = $ORIGIN_IP:$TLS_PORT
target = 127.0.0.1:$ORIGIN_PORT
cert = $SERVER_CERT
key = $SERVER_KEY
cacert = $PKI/ca.pem
allow-ou = edge
CONF
_starts=$((_starts + 1)) SERVER_LOG=$WORK/server-conf.log
ip netns exec "$NS_ORIGIN" "$KTUND" --config "$WORK/turn-on.conf" --watch-files=no 2>"$SERVER_LOG" &
SERVER_PID=$!
wait_log "$SERVER_LOG" 'ktund: notice: ready' 10 || fail "the --config server did not start"
echo "ocsp-fetch = yes" >>"$WORK/turn-on.conf"
out=$(ctl server reload 2>&1) || true
if grep -q 'ocsp-fetch turned on: restart ktund for that' <<<"$out" && kill -0 "$SERVER_PID"; then
	ok "reload-turn-on: refused: $out"
else
	not_ok "reload-turn-on: $out"
fi
stop_server

finish "ocsp-fetch: the own staple fetched, refreshed, kept on failure, refused when bad"
