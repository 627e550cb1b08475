#!/bin/bash
# tls-fuzz-client: the client side of tls-fuzz. A real gnutls-serv --echo (client certificate
# required) sits behind tls_frag_proxy.py, which rewrites the server's plaintext handshake
# records one way per port (re-fragmented into 1-, 7-, 100-byte records, one record for the
# whole flight, an empty record first, a bit flipped, an oversized record, cut after 100 bytes,
# garbage). Through each port, at TLS 1.3 and 1.2, an app goes through ktund client and, as the
# reference, gnutls-cli with the same priority string (from ktund's debug log) connects
# directly. For each case ktund must do as the reference does (echo "ping", or fail), within 3 s
# (its handshake timeout is 4 s: a case that takes that long shows as "hang"). Then ktund must
# still be running, hold no connection, and have counted each failed case as a reject.
set -euo pipefail
. "$(dirname "$0")/client-common.sh"
need_cmd gnutls-serv gnutls-cli
# shellcheck disable=SC2119 # no --app: two namespaces are enough
pair_init

PROXY=$INTEG_DIR/tls_frag_proxy.py
REF_PORT=8444    # gnutls-serv for gnutls-cli, behind the proxy ports 9500+I
KTUN_PORT=8445   # gnutls-serv for ktund client, behind 9600+I: it serves one connection at a
                 # time, and a connection ktund holds must not hold up the reference's
CONF=$WORK/ktund.conf
mapfile -t MODES < <(python3 "$PROXY" modes)

for port in $REF_PORT $KTUN_PORT; do
	ip netns exec "$NS_ORIGIN" gnutls-serv --echo -q -p "$port" \
		--x509certfile "$PKI/server-chain.pem" --x509keyfile "$PKI/server.key" \
		--x509cafile "$PKI/ca.pem" --require-client-cert --verify-client-cert \
		>>"$WORK/reference.log" 2>&1 &
	wait_port "$NS_ORIGIN" "$port" || fail "gnutls-serv did not listen on $port"
	bg_origin python3 "$PROXY" serve $((port == REF_PORT ? 9500 : 9600)) "127.0.0.1:$port"
done
wait_port "$NS_ORIGIN" $((9600 + ${#MODES[@]} - 1)) || fail "the proxy did not listen"

# One client tunnel per mode and version: v13-I listens on 9100+I, v12-I on 9200+I.
{
	printf '[global]\ncontrol = %s\nlog-level = debug\n' "$WORK/client.sock"
	for v in 13 12; do
		for ((i = 0; i < ${#MODES[@]}; i++)); do
			printf '\n[v%s-%s]\nmode = client\nlisten = 127.0.0.1:%s\ntarget = %s:%s\n' \
				"$v" "$i" $((v == 13 ? 9100 + i : 9200 + i)) "$ORIGIN_IP" $((9600 + i))
			printf 'server-name = origin.test\ncert = %s\nkey = %s\ncacert = %s\n' \
				"$PKI/client-chain.pem" "$PKI/client.key" "$PKI/ca.pem"
			printf 'handshake-timeout = 4\ntls-max = 1.%s\n' "${v#1}"
		done
	done
} >"$CONF"
CLIENT_LOG=$WORK/client.log
ip netns exec "$NS_EDGE" "$KTUND" --config "$CONF" 2>"$CLIENT_LOG" &
CLIENT_PID=$!
_wait_ready "$CLIENT_PID" "$CLIENT_LOG" client

# through_ktund PORT: "ok" when ping comes back through ktund client on PORT, else "fail";
# "hang" when that takes 3 s or more (ktund's handshake timeout is 4 s; answers take ms).
through_ktund() {
	local got t0=${EPOCHREALTIME/./}
	got=$(in_edge timeout 8 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && printf 'ping\n' >&3 &&
		head -c 5 <&3" 2>/dev/null) || true
	if [ $((${EPOCHREALTIME/./} - t0)) -ge 3000000 ]; then echo hang; elif [ "$got" = ping ]; then echo ok; else echo fail; fi
}

# reference PORT PRIORITY: the same for gnutls-cli straight to the proxy.
reference() {
	local got
	got=$(printf 'ping\n' | in_edge timeout 10 gnutls-cli --x509cafile "$PKI/ca.pem" \
		--x509certfile "$PKI/client-chain.pem" --x509keyfile "$PKI/client.key" \
		--priority "$2" --verify-hostname origin.test --logfile "$WORK/reference-cli.log" \
		-p "$1" "$ORIGIN_IP" 2>>"$WORK/reference-cli.err") || true
	if [ "$got" = ping ]; then echo ok; else echo fail; fi
}

fails=0
for v in 13 12; do
	for m in "${MODES[@]}"; do
		read -r i expect name <<<"$m"
		prio=$(grep -o "\[v$v-$i\] TLS priority [^ ]*" "$CLIENT_LOG" | head -n 1 | cut -d' ' -f4)
		[ -n "$prio" ] || fail "no TLS priority line for tunnel v$v-$i"
		k=$(through_ktund $((v == 13 ? 9100 + i : 9200 + i)))
		r=$(reference $((9500 + i)) "$prio")
		what="TLS 1.${v#1}, $name: ktund client $k, gnutls-cli $r"
		if [ "$k" != "$r" ]; then
			not_ok "$what"
		elif [ "$expect" != any ] && [ "$r" != "$expect" ]; then
			not_ok "$what (want $expect: the proxy case is broken)"
		else
			ok "$what"
		fi
		[ "$k" = ok ] || fails=$((fails + 1))
	done
done

# Every tunnel's connections are closed, and each failed case is one reject.
ok=1
for ((i = 0; i < 50; i++)); do
	open=$(ctl client status | awk '$1 ~ /\.conns_open$/ { s += $2 } END { print s }')
	[ "$open" = 0 ] && break
	sleep 0.1
done
[ "$open" = 0 ] || { not_ok "ktund client holds $open connection(s)"; ok=0; }
rejects=$(ctl client status | awk '$1 ~ /\.reject\./ { s += $2 } END { print s }')
[ "$rejects" = "$fails" ] || { not_ok "$rejects rejects counted, want $fails"; ok=0; }
kill -0 "$CLIENT_PID" 2>/dev/null || { not_ok "ktund client is gone"; ok=0; }
[ $ok = 0 ] || ok "no connection held, $rejects rejects counted"
stop_daemon "$CLIENT_PID" client
CLIENT_PID=
finish "$((2 * ${#MODES[@]})) cases"
