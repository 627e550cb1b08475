#!/bin/bash
# tls-fuzz: a TLS handshake fuzzer against a real ktund server, beside a reference gnutls-serv
# with the same priority string (read from ktund's debug log), the same certificate, key and
# CA, and client certificates required like ktund. tls_fuzz.py sends both the same fragmented,
# truncated and corrupted ClientHellos and fails where ktund answers differently in a way that
# matters (its docstring has the rule), then sends ktund 200 seeded random mutations, each
# followed by EOF, which it must close promptly. Afterwards ktund must still be running, carry
# a normal client's bytes, hold no connection, and have counted every fuzz connection as a
# reject (ktunctl status), with tls-error and peer-closed among the reasons.
# Case functions run indirectly (run_case) and take no arguments from the script:
# shellcheck disable=SC2317,SC2119
set -euo pipefail
. "$(dirname "$0")/srvlib.sh"
need_cmd gnutls-serv
srv_init

REF_PORT=8444
REF_LANES=8
FUZZ_COUNT=$WORK/fuzz.count

# The handshake timeout is long so that a connection ktund holds after its peer's EOF shows
# as held, not as ended by the timeout.
start_server --log-level debug --handshake-timeout 30
prio=$(grep -o 'TLS priority [^ ]*' "$SERVER_LOG" | head -n 1 | cut -d' ' -f3)
[ -n "$prio" ] || fail "no 'TLS priority' line in ktund's debug log"
# gnutls-serv serves one connection at a time: one per lane of cases that run side by side.
refs=()
for ((i = 0; i < REF_LANES; i++)); do
	ip netns exec "$NS_ORIGIN" gnutls-serv -q -p $((REF_PORT + i)) --priority "$prio" \
		--x509certfile "$PKI/server-chain.pem" --x509keyfile "$PKI/server.key" \
		--x509cafile "$PKI/ca.pem" --require-client-cert --verify-client-cert \
		>>"$WORK/reference.log" 2>&1 &
	refs+=("$ORIGIN_IP:$((REF_PORT + i))")
done
for ((i = 0; i < REF_LANES; i++)); do
	wait_port "$NS_ORIGIN" $((REF_PORT + i)) || fail "gnutls-serv did not listen on $((REF_PORT + i))"
done
bg_origin python3 "$ORIGIN_TOOL" echo "127.0.0.1:$ORIGIN_PORT" "$WORK/accepts"
wait_port "$NS_ORIGIN" "$ORIGIN_PORT" || fail "origin did not listen on $ORIGIN_PORT"
note "priority: $prio"

fuzz() {
	ip netns exec "$NS_EDGE" timeout 120 python3 "$INTEG_DIR/tls_fuzz.py" --count "$FUZZ_COUNT" \
		"$ORIGIN_IP:$TLS_PORT" "${refs[@]}" | tee "$WORK/fuzz.out" || {
		grep -E '^FAIL' "$WORK/fuzz.out" | head -n 3 | tee "$WORK/case.why" >/dev/null
		exit 1
	}
	# Each case's outcome on both servers, in the test log.
	while read -r l; do note "$l"; done <"$WORK/fuzz.out"
}

still_serving() {
	kill -0 "$SERVER_PID" 2>/dev/null || fail "ktund is gone"
	gtls client "still serving"$'\n' --priority "$GT13" || fail "gnutls-cli: $(tail -n 3 "$WORK/peer.err")"
	[ "$(cat "$WORK/peer.out")" = "still serving" ] || fail "echo through ktund: '$(cat "$WORK/peer.out")'"
}

# Every fuzz connection ends as a reject, and ktund holds none of them.
counted() {
	local n rejects
	[ -s "$FUZZ_COUNT" ] || fail "the fuzzer did not finish"
	n=$(cat "$FUZZ_COUNT")
	want_stat conns_open 0
	want_stat conns_total $((n + 1))
	want_stat handshakes_ok 1
	rejects=$(ctl server status | awk '$1 ~ /^server\.reject\./ { s += $2 } END { print s }')
	[ "$rejects" = "$n" ] || fail "ktunctl status: $rejects rejects, want one per fuzz connection ($n)"
	[ "$(nlines '\] reject ')" = "$n" ] || fail "$(nlines '\] reject ') reject lines in the log, want $n"
	[ "$(stat_of server reject.tls-error)" -gt 0 ] || fail "no reject.tls-error counted"
	[ "$(stat_of server reject.peer-closed)" -gt 0 ] || fail "no reject.peer-closed counted"
	note "$(ctl server status | awk '$1 ~ /^server\.reject\./ && $2 > 0' | tr '\n' ' ')"
}

run_case "ktund against gnutls-serv, then 200 mutations" fuzz
run_case "ktund still serves a normal client" still_serving
run_case "every fuzz connection counted as a reject" counted
srv_stop
srv_finish
