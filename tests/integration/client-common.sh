# shellcheck shell=bash
# client-common.sh — shared by tests/integration/client-*.sh and config-*.sh: ktund client in
# the edge namespace (start_client from tests/lib/ktund.sh) against a real TLS server in the
# origin namespace on $ORIGIN_IP:$TLS_PORT. Every case prints one ok or not_ok line
# (tests/lib/result.sh); a failed case does not stop the script, `finish` fails it at the end.
#
# Source it after `set -euo pipefail`, then call pair_init (namespaces, root) or plain_init.
INTEG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"
CLIENTTOOL=$INTEG_DIR/clienttool.py
APP_ADDR=127.0.0.1:$EDGE_PORT
TLS_SERVER_PID=
TLS_SERVER_LOG=

# issue_server NAME ISSUER TEMPLATE-LINES...: a serverAuth leaf NAME.pem/NAME.key signed by
# ISSUER (inter or foreign-ca, from tests/lib/pki.sh), with NAME-chain.pem for the server to send.
issue_server() {
	local name=$1 issuer=$2
	shift 2
	(
		cd "$PKI"
		certtool --generate-privkey --key-type ecdsa --curve secp256r1 --outfile "$name.key" 2>/dev/null
		printf '%s\n' "$@" tls_www_server signing_key "expiration_days = 30" >"$name.tmpl"
		certtool --generate-certificate --load-privkey "$name.key" --load-ca-certificate "$issuer.pem" \
			--load-ca-privkey "$issuer.key" --template "$name.tmpl" --outfile "$name.pem" 2>/dev/null
		rm -f "$name.tmpl"
		if [ "$issuer" = inter ]; then
			cat "$name.pem" inter.pem >"$name-chain.pem"
		else
			cp "$name.pem" "$name-chain.pem"
		fi
	) || fail "certtool could not issue $name"
}

# start_sserver LABEL CERTNAME [S_SERVER ARGS...]: openssl s_server with $PKI/CERTNAME.pem (and
# the intermediate when CERTNAME-chain.pem has one), demanding a client certificate that chains
# to ca.pem (-Verify 1 -verify_return_error), answering each line reversed (-rev). Logs to
# $WORK/LABEL.log; waits until it listens. Any earlier s_server is stopped first.
start_sserver() {
	local label=$1 cert=$2 chain=()
	shift 2
	stop_sserver
	# Send the intermediate only when the leaf has one (its chain file holds more than the leaf).
	if [ "$(grep -c 'BEGIN CERTIFICATE' "$PKI/$cert-chain.pem")" -gt 1 ]; then
		chain=(-cert_chain "$PKI/inter.pem")
	fi
	TLS_SERVER_LOG=$WORK/$label.log
	ip netns exec "$NS_ORIGIN" openssl s_server -accept "$ORIGIN_IP:$TLS_PORT" \
		-cert "$PKI/$cert.pem" -key "$PKI/$cert.key" "${chain[@]}" \
		-CAfile "$PKI/ca.pem" -Verify 1 -verify_return_error -rev "$@" >"$TLS_SERVER_LOG" 2>&1 &
	TLS_SERVER_PID=$!
	wait_port "$NS_ORIGIN" "$TLS_PORT" || fail "openssl s_server ($label) did not start"
}

stop_sserver() {
	[ -n "$TLS_SERVER_PID" ] || return 0
	kill "$TLS_SERVER_PID" 2>/dev/null || true
	wait "$TLS_SERVER_PID" 2>/dev/null || true
	TLS_SERVER_PID=
}

# stop_client: the running ktund client must exit 0 on SIGTERM. Each case starts its own, so
# its counters start at zero (and two of them never share the SO_REUSEPORT listener).
stop_client() {
	[ -n "$CLIENT_PID" ] && stop_daemon "$CLIENT_PID" client
	CLIENT_PID=
}

app() { in_edge timeout 30 python3 "$CLIENTTOOL" "$@" 2>&1; }

# check_refused LABEL REASON: an application connecting through the running ktund client sees
# its connection reset (no data, no clean close); ktund logs one reject line with REASON and
# one close line with REASON, and counts client.reject.REASON = 1.
check_refused() {
	local label=$1 reason=$2 out line n
	if ! out=$(app expect-reset "$APP_ADDR"); then
		not_ok "$label: the application's connection was not reset: $out"
		return
	fi
	if ! wait_log "$CLIENT_LOG" '\] close .*reason=' 10; then
		not_ok "$label: no close line in ktund's log"
		return
	fi
	line=$(grep -E '\] reject ' "$CLIENT_LOG" || true)
	n=$(grep -cE '\] reject ' "$CLIENT_LOG" || true)
	if [ "$n" != 1 ] || ! grep -qE "reject peer=[^ ]+ reason=$reason detail=\"[^\"]+\"" <<<"$line"; then
		not_ok "$label: want one reject line with reason=$reason and a detail, got: ${line:-none}"
		return
	fi
	if ! grep -qE "\] close .*reason=$reason\$" "$CLIENT_LOG"; then
		not_ok "$label: close line is not reason=$reason: $(close_lines "$CLIENT_LOG")"
		return
	fi
	n=$(stat_of client "reject.$reason")
	if [ "$n" != 1 ]; then
		not_ok "$label: counter client.reject.$reason is ${n:-absent}, want 1"
		return
	fi
	if [ "$(stat_of client close.done)" != 0 ]; then
		not_ok "$label: refused, yet counted as close.done"
		return
	fi
	# Our own checks fail inside the handshake; only a refusal by the far side may come after it.
	if [ "$reason" != tls-error ] && [ "$(stat_of client handshakes_ok)" != 0 ]; then
		not_ok "$label: refused, yet counted in handshakes_ok"
		return
	fi
	ok "$label: app saw $out; ${line#*\] }; client.reject.$reason 1"
}

# check_through LABEL TEXT: a line goes through ktund to s_server -rev and comes back reversed;
# ktund's handshake line names the server (CN=origin.test unless SERVER_ID says otherwise).
check_through() {
	local label=$1 text=$2 out id=${SERVER_ID:-CN=origin.test}
	if ! out=$(app rev-line "$APP_ADDR" "$text"); then
		not_ok "$label: no data through ktund: $out"
		return
	fi
	if ! wait_log "$CLIENT_LOG" "\] handshake peer=[^ ]+ id=\"$id\"" 5; then
		not_ok "$label: data went through, but no handshake line naming $id: $(grep -E '\] (handshake|reject) ' "$CLIENT_LOG")"
		return
	fi
	if grep -qE '\] reject ' "$CLIENT_LOG"; then
		not_ok "$label: a reject line although data went through"
		return
	fi
	ok "$label: $out; $(grep -m1 -oE 'handshake peer=.*' "$CLIENT_LOG")"
}

# check_alert LABEL NUMBER NAME: the refused far server was told why — s_server logs the TLS
# alert ktund sent (README: "a peer that is refused gets a specific TLS alert").
check_alert() {
	local label=$1 num=$2 name=$3
	# s_server says CONNECTION FAILURE once it is done with a refused connection, alert or not.
	wait_log "$TLS_SERVER_LOG" '^CONNECTION FAILURE' 5 || true
	if grep -q "SSL alert number $num\b" "$TLS_SERVER_LOG"; then
		ok "$label: the server got alert $num ($name): $(grep -m1 -oE 'alert [a-z ]+:' "$TLS_SERVER_LOG")"
	else
		not_ok "$label: the server did not get alert $num ($name); s_server says: $(grep -vE '^(verify depth|Using default|ACCEPT)' "$TLS_SERVER_LOG" | tr '\n' ' ')"
	fi
}

# plain_init: for tests that need no namespaces and no root (config-check, config-cli): the
# work dir (removed at exit, with any ktund in CLIENT_PID/SERVER_PID stopped) and the PKI.
plain_init() {
	need_cmd python3 certtool
	[ -x "$KTUND" ] || fail "no ktund at $KTUND (build first: meson setup build && ninja -C build)"
	[ -x "$KTUNCTL" ] || fail "no ktunctl at $KTUNCTL"
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/ktun-$TEST_NAME.XXXXXX")
	on_exit '_pair_cleanup'
	make_pki "$WORK/pki"
	PKI=$WORK/pki
}
