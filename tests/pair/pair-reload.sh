#!/bin/bash
# pair-reload: SIGHUP to the ktund server with a re-issued certificate (same CA, new key, new
# serial): new connections present the new certificate, a connection opened before the reload
# and still transferring completes intact. Then a broken certificate file and SIGHUP: the log
# says "reload failed", `ktunctl reload` reports the error, the previous certificate keeps
# serving and the pair keeps working.
set -euo pipefail
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"
pair_init

# The server's credentials live in files of their own, replaced in place by this test.
SERVER_CERT=$WORK/srv-chain.pem
SERVER_KEY=$WORK/srv.key
cp "$PKI/server-chain.pem" "$SERVER_CERT"
cp "$PKI/server.key" "$SERVER_KEY"

# reissue SERIAL: a new server key and certificate (same names, same intermediate) in $WORK/new-*.
reissue() {
	certtool --generate-privkey --key-type ecdsa --curve secp256r1 --outfile "$WORK/new.key" 2>/dev/null
	printf '%s\n' 'cn = "origin.test"' 'dns_name = "localhost"' 'dns_name = "origin.test"' \
		'ip_address = "127.0.0.1"' 'ip_address = "::1"' tls_www_server signing_key \
		'expiration_days = 30' "serial = $1" >"$WORK/new.tmpl"
	certtool --generate-certificate --load-privkey "$WORK/new.key" --load-ca-certificate "$PKI/inter.pem" \
		--load-ca-privkey "$PKI/inter.key" --template "$WORK/new.tmpl" --outfile "$WORK/new.pem" 2>/dev/null
	cat "$WORK/new.pem" "$PKI/inter.pem" >"$WORK/new-chain.pem"
}

# served_serial: the serial (hex, upper case, no leading zeros) of the certificate the server
# presents to a new connection, as openssl s_client from the edge sees it.
served_serial() {
	in_edge timeout 10 openssl s_client -connect "$ORIGIN_IP:$TLS_PORT" -servername origin.test \
		-CAfile "$PKI/ca.pem" -cert "$PKI/client.pem" -cert_chain "$PKI/inter.pem" -key "$PKI/client.key" \
		-verify_return_error </dev/null 2>/dev/null | openssl x509 -noout -serial | sed 's/^serial=0*//'
}
file_serial() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=0*//'; }

bg_origin python3 "$PAIRTOOL" serve-slow "$ORIGIN_PORT"
wait_port "$NS_ORIGIN" "$ORIGIN_PORT" || fail "origin did not start"
start_pair

old=$(file_serial "$SERVER_CERT")
got=$(served_serial)
[ "$got" = "$old" ] || fail "before the reload the server presents serial '$got', want $old"
ok "before the reload: serial $got"

# A transfer that spans the reload: 60 x 64 KiB, one per 100 ms.
in_edge timeout 60 python3 "$PAIRTOOL" slow-client 127.0.0.1 "$EDGE_PORT" 60 100 across-reload \
	>"$WORK/across.out" 2>&1 &
across=$!
wait_stat server conns_open 1 10 || fail "the long transfer did not start: $(ctl server status)"
sleep 1

new_serial_dec=$((0x$old + 4242))
reissue "$new_serial_dec"
new=$(file_serial "$WORK/new.pem")
[ "$new" != "$old" ] || fail "re-issued certificate has the old serial"
mv "$WORK/new-chain.pem" "$SERVER_CERT"
mv "$WORK/new.key" "$SERVER_KEY"
kill -HUP "$SERVER_PID"
wait_log "$SERVER_LOG" 'reload ok' 10 || fail "no 'reload ok' after SIGHUP with a new certificate"
ok "$(grep -m1 'reload ok' "$SERVER_LOG")"
kill -0 $across 2>/dev/null || fail "the long transfer ended before the reload: $(cat "$WORK/across.out")"

got=$(served_serial)
[ "$got" = "$new" ] || fail "after the reload a new connection gets serial '$got', want $new (old $old)"
ok "after the reload: serial $got (was $old)"
out=$(in_edge timeout 30 python3 "$PAIRTOOL" slow-client 127.0.0.1 "$EDGE_PORT" 4 0 after-reload 2>&1) ||
	fail "a new connection through the pair after the reload failed: $out"
ok "new connection through the pair: $out"

rc=0
wait $across || rc=$?
[ $rc = 0 ] || fail "the transfer opened before the reload failed: $(cat "$WORK/across.out")"
ok "connection opened before the reload: $(cat "$WORK/across.out")"

# A broken certificate file: the reload fails and the certificate loaded last keeps serving.
cp "$SERVER_CERT" "$WORK/good-chain.pem"
printf -- '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n' >"$SERVER_CERT"
kill -HUP "$SERVER_PID"
wait_log "$SERVER_LOG" 'reload failed' 10 || fail "no 'reload failed' after SIGHUP with a broken certificate"
ok "$(grep -m1 'reload failed' "$SERVER_LOG")"
rc=0
out=$(ctl server reload 2>&1) || rc=$?
[ $rc = 1 ] || fail "ktunctl reload with a broken certificate: want exit 1, got $rc: $out"
ok "ktunctl reload: exit $rc: $out"
kill -0 "$SERVER_PID" 2>/dev/null || fail "ktund server died after a failed reload"
got=$(served_serial)
[ "$got" = "$new" ] || fail "after the failed reload the server presents serial '$got', want $new"
ok "after the failed reload: still serial $got"
out=$(in_edge timeout 30 python3 "$PAIRTOOL" slow-client 127.0.0.1 "$EDGE_PORT" 4 0 after-failed 2>&1) ||
	fail "a connection through the pair after the failed reload failed: $out"
ok "pair still works: $out"

# Fixed file, reload again: ok.
cp "$WORK/good-chain.pem" "$SERVER_CERT"
out=$(ctl server reload 2>&1) || fail "ktunctl reload with the certificate restored: $out"
[ "$out" = "reload ok" ] || fail "ktunctl reload printed '$out', want 'reload ok'"
ok "ktunctl reload after the fix: $out"
stop_pair
pass "reload swaps the certificate for new connections, keeps live ones, survives a broken file"
