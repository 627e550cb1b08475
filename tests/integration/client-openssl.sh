#!/bin/bash
# client-openssl: ktund client against openssl s_server (-Verify 1 -verify_return_error: the
# server demands a client certificate chaining to ca.pem) in the origin namespace.
#   tls13, tls12          a line goes through and comes back reversed (-rev); s_server verified
#                         the client's chain (root, intermediate, OU=edge CN=edge-client) at the
#                         version asked for; ktund's handshake line names the server and the
#                         version, its close line has reason=done and the exact byte counts
#   server-p384/-ed25519/-rsa, client-p384/-ed25519/-rsa: other key types, either side
#   tls-min             --tls-min 1.3 against a TLS 1.2-only server: tls-error, app reset
#   foreign-sent        ktund holds client-foreign (foreign CA) and the server sends no CA list,
#                       so ktund presents it (TLS 1.2): s_server refuses the chain, the app's
#                       connection is reset, ktund logs reject reason=tls-error
#   foreign-withheld    same certificate, the server lists ca.pem as acceptable (TLS 1.3):
#                       ktund has nothing to offer, sends no certificate, s_server refuses it
#                       ("peer did not return a certificate"); app reset, reject tls-error
#   server-first        an OpenSSL TLS 1.3 server (python ssl) that issues two session tickets
#                       and then greets first: the greeting reaches the app
# shellcheck disable=SC2119 # pair_init/start_client take optional arguments; none needed here
set -euo pipefail
. "$(dirname "$0")/client-common.sh"
pair_init

# version_case LABEL S_SERVER-VERSION-FLAG TLS-VERSION: data, chain, identities, byte counts.
version_case() {
	local label=$1 flag=$2 version=$3 text="through ktund at $3" n
	start_sserver "sserver-$label" server "$flag"
	start_client
	check_through "$label" "$text"
	stop_client
	n=$((${#text} + 1))
	if grep -qE "\] handshake .* version=$version " "$CLIENT_LOG" &&
		grep -qE "\] close peer=[^ ]+ id=\"CN=origin.test\" up=$n down=$n .*reason=done$" "$CLIENT_LOG"; then
		ok "$label: ktund: $(close_lines "$CLIENT_LOG" | sed 's/^.*\] //')"
	else
		not_ok "$label: want a $version handshake line and one close line up=$n down=$n reason=done: $(grep -E '\] (handshake|close) ' "$CLIENT_LOG" | tr '\n' ' ')"
	fi
	# s_server's own account: it verified the chain ktund sent, leaf to root.
	if grep -q '^depth=2 CN = ktun test root CA' "$TLS_SERVER_LOG" &&
		grep -q '^depth=1 CN = ktun test intermediate CA' "$TLS_SERVER_LOG" &&
		grep -q '^depth=0 OU = edge, CN = edge-client' "$TLS_SERVER_LOG" &&
		grep -q '^Peer certificate: OU = edge, CN = edge-client' "$TLS_SERVER_LOG" &&
		grep -q "^Protocol version: TLSv${version#TLS}" "$TLS_SERVER_LOG"; then
		ok "$label: s_server verified the client chain (root, intermediate, OU = edge, CN = edge-client) over TLSv${version#TLS}"
	else
		not_ok "$label: s_server did not verify the client's chain over $version: $(grep -E '^(depth|Peer|Protocol|Verification)' "$TLS_SERVER_LOG" | tr '\n' ' ')"
	fi
}

version_case tls13 -tls1_3 TLS1.3
version_case tls12 -tls1_2 TLS1.2

# Other key types: the server's (s_server) and ktund's own.
for kt in p384 ed25519 rsa; do
	start_sserver "sserver-server-$kt" "server-$kt"
	start_client
	check_through "server-$kt" "to a $kt server"
	stop_client
done
start_sserver sserver-client-keys server
for kt in p384 ed25519 rsa; do
	CLIENT_CERT=$PKI/client-$kt-chain.pem CLIENT_KEY=$PKI/client-$kt.key start_client
	check_through "client-$kt" "from a $kt client"
	stop_client
done

# ktund never goes below its floor.
start_sserver sserver-tls-min server -tls1_2
start_client --tls-min 1.3
check_refused tls-min tls-error
stop_client

# A certificate of a foreign CA, sent: the server must refuse it, and the app must hear of it.
start_sserver sserver-foreign-sent server -tls1_2 -no_ca_names
CLIENT_CERT=$PKI/client-foreign-chain.pem CLIENT_KEY=$PKI/client-foreign.key start_client
check_refused foreign-sent tls-error
if wait_log "$TLS_SERVER_LOG" 'verify error:num=20:unable to get local issuer certificate' 5; then
	ok "foreign-sent: s_server refused the foreign chain: $(grep -m1 'verify error' "$TLS_SERVER_LOG")"
else
	not_ok "foreign-sent: s_server did not say it refused the foreign chain: $(tr '\n' ' ' <"$TLS_SERVER_LOG")"
fi
stop_client

# The same certificate when the server names the CAs it accepts: GnuTLS sends none.
start_sserver sserver-foreign-withheld server -tls1_3
CLIENT_CERT=$PKI/client-foreign-chain.pem CLIENT_KEY=$PKI/client-foreign.key start_client
check_refused foreign-withheld tls-error
if wait_log "$TLS_SERVER_LOG" 'peer did not return a certificate' 5; then
	ok "foreign-withheld: s_server: peer did not return a certificate"
else
	not_ok "foreign-withheld: s_server did not refuse for want of a certificate: $(tr '\n' ' ' <"$TLS_SERVER_LOG")"
fi
stop_client
stop_sserver

# A server that speaks first, right after the TLS 1.3 session tickets OpenSSL issues by default
# (two): the greeting must reach the app without waiting for more bytes from the server. The
# greeter runs OpenSSL through memory BIOs so that the tickets and the greeting leave in one
# send(): the records then reach ktund together, every time.
cat >"$WORK/greeter.py" <<EOF
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain("$PKI/server-chain.pem", "$PKI/server.key")
ctx.load_verify_locations("$PKI/ca.pem")
ctx.verify_mode = ssl.CERT_REQUIRED
ctx.num_tickets = int(sys.argv[1])
s = socket.create_server(("$ORIGIN_IP", $TLS_PORT))
while True:
    c, _ = s.accept()
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, out, server_side=True)
    try:
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                c.sendall(out.read())
                data = c.recv(65536)
                if not data:
                    raise ConnectionError("EOF in the handshake")
                inc.write(data)
        tls.write(b"220 origin ready\\n")
        c.sendall(out.read())  # the session tickets and the greeting, in one send
        c.recv(100)  # until the app is done (ktund's close_notify or FIN)
        print("greeter: greeted", flush=True)
    except (OSError, ssl.SSLError) as e:
        print("greeter:", repr(e), flush=True)
    c.close()
EOF
ip netns exec "$NS_ORIGIN" python3 "$WORK/greeter.py" "${GREETER_TICKETS:-2}" >"$WORK/greeter.log" 2>&1 &
wait_port "$NS_ORIGIN" "$TLS_PORT" || fail "greeter did not start"
# A short drain: a connection stuck here must not hold the test for the default 30 s.
start_client --drain-timeout 1
out=$(in_edge python3 - <<EOF 2>&1
import socket
c = socket.create_connection(("127.0.0.1", $EDGE_PORT))
c.settimeout(5)
try:
    print("greeting", repr(c.recv(100)))
except OSError as e:
    print("no greeting within 5 s:", repr(e))
EOF
) || true
# The app has closed: ktund's connection must end too (close_notify both ways), not linger.
if wait_stat client conns_open 0 5; then
	ok "server-first: the connection ended after the app closed"
else
	not_ok "server-first: the connection is still open 5 s after the app closed: $(ctl client conns | head -1)"
fi
stop_client
if [ "$out" = "greeting b'220 origin ready\\n'" ]; then
	ok "server-first: the app got the greeting sent after two session tickets"
else
	not_ok "server-first: $out; ktund: $(close_lines "$CLIENT_LOG" | sed 's/^.*\] //')"
fi

finish "ktund client interoperates with openssl s_server and refuses what the server refuses"
