#!/bin/bash
# config-file: one `ktund --config FILE` process with a [global] section and two tunnels chained
# in one namespace: app -> [edge] client 127.0.0.1:9000 -> TLS -> [origin] server 127.0.0.1:8443
# -> echo origin 127.0.0.1:8080.
#   chain             200,000 bytes echoed intact; one close line per tunnel (named after its
#                     section) with reason=done, the peer's identity and the byte counts;
#                     ktunctl status has edge.* (mode client) and origin.* (mode server)
#   reload-deny       SIGHUP with origin's allow-cn changed to someone else: "reload ok"; a new
#                     connection is refused (origin reject policy-denied, the app reset) while a
#                     connection opened before the reload keeps carrying data
#   reload-allow      SIGHUP with an allow-ou edge rule added: new connections go through again
#   reload-broken     an unknown key: "reload failed" naming FILE:LINE, the rules in force stay
#   reload-shape      a changed listen, an added tunnel: refused ("restart ktund"), rules stay
#   ktunctl-reload    ktunctl reload re-reads the file like SIGHUP
#   reload-expired    [edge]'s cert replaced by an expired one: "reload failed", the error at
#                     the cert line (FILE:LINE), the certificate in force keeps serving
#   sigterm           exit 0
# shellcheck disable=SC2119 # pair_init takes optional arguments; none needed here
set -euo pipefail
. "$(dirname "$0")/client-common.sh"
pair_init

CONF=$WORK/ktund.conf
LOG=$WORK/ktund.log
EDGE=127.0.0.1:9000

# write_conf ORIGIN-RULES... [-- EXTRA-LINES...]: the two tunnels with these allow-* lines in
# [origin] (and EXTRA-LINES appended to the file).
write_conf() {
	local rules=() extra=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		rules+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift && extra=("$@")
	{
		cat <<EOF
[global]
control = $WORK/ktund.sock
log-level = info
drain-timeout = 5

EOF
		client_ini edge "$EDGE" 127.0.0.1:8443 'verify-cn = origin.test' ''
		cat <<EOF
[origin]
mode = server
listen = 127.0.0.1:8443
target = 127.0.0.1:$ORIGIN_PORT
cert = $PKI/server-chain.pem
key = $PKI/server.key
cacert = $PKI/ca.pem
crl = $PKI/crl.pem
EOF
		printf '%s\n' "${rules[@]}" "${extra[@]}"
	} >"$CONF.new"
	mv "$CONF.new" "$CONF"
}

count() { grep -cE -- "$2" "$1" || true; }

# ctl (tests/lib/ktund.sh) reaches the daemon as "ktund" ($WORK/ktund.sock); counters are per tunnel.
tstat() { ctl ktund status | awk -v k="$1" '$1 == k { print $2 }'; }

# wait_tstat TUNNEL.COUNTER VALUE: (5 s)
wait_tstat() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(tstat "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# hup N: SIGHUP, then wait for the Nth reload ok/failed line.
hup() {
	kill -HUP "$CLIENT_PID"
	wait_lines "$LOG" 'reload (ok|failed)' "$1" || fail "no reload line after SIGHUP #$1"
}

echo_ok() { in_origin timeout 30 python3 "$CLIENTTOOL" echo "$EDGE" "${1:-20000}" 2>&1; }

bg_origin python3 "$PAIRTOOL" serve-echo "$ORIGIN_PORT"
wait_port "$NS_ORIGIN" "$ORIGIN_PORT" || fail "echo origin did not start"
write_conf 'allow-cn = edge-client'
: >"$LOG" # exists before _wait_ready looks at it
ip netns exec "$NS_ORIGIN" "$KTUND" --config "$CONF" 2>"$LOG" &
CLIENT_PID=$!
_wait_ready "$CLIENT_PID" "$LOG" "--config"
for t in 'edge\] client mode: listening on 127.0.0.1:9000' 'origin\] server mode: listening on 127.0.0.1:8443'; do
	grep -qE "notice: \[$t" "$LOG" || not_ok "start: no line '[$t' in the log"
done

# chain
if out=$(echo_ok 200000) &&
	wait_log "$LOG" '\[edge\] close ' 5 && wait_log "$LOG" '\[origin\] close ' 5; then
	edge=$(grep -E '\[edge\] close ' "$LOG")
	origin=$(grep -E '\[origin\] close ' "$LOG")
	if grep -qE 'id="CN=origin.test" up=200000 down=200000 .*reason=done$' <<<"$edge" &&
		grep -qE 'id="CN=edge-client,OU=edge" up=200000 down=200000 .*reason=done$' <<<"$origin"; then
		ok "chain: $out; ${edge#*: }; ${origin#*: }"
	else
		not_ok "chain: close lines want the peer's identity, up=down=200000, reason=done: $edge / $origin"
	fi
else
	not_ok "chain: $out; $(close_lines "$LOG")"
fi
st=$(ctl ktund status)
if grep -qx 'edge.mode client' <<<"$st" && grep -qx 'origin.mode server' <<<"$st" &&
	grep -qx 'edge.close.done 1' <<<"$st" && grep -qx 'origin.close.done 1' <<<"$st" &&
	grep -qx 'edge.bytes_up 200000' <<<"$st" && grep -qx 'origin.bytes_down 200000' <<<"$st"; then
	ok "chain: ktunctl status: edge.mode client, origin.mode server, each close.done 1, 200000 bytes"
else
	not_ok "chain: ktunctl status lacks the per-tunnel counters: $(grep -E 'mode|close.done|bytes' <<<"$st" | tr '\n' ' ')"
fi

# reload-deny, with a connection held open across it.
rm -f "$WORK/held" "$WORK/release"
in_origin timeout 30 python3 "$CLIENTTOOL" hold "$EDGE" "$WORK/held" "$WORK/release" >"$WORK/hold.out" 2>&1 &
hold_pid=$!
for ((i = 0; i < 100; i++)); do
	[ -e "$WORK/held" ] && break
	sleep 0.1
done
[ -e "$WORK/held" ] || not_ok "reload-deny: the held connection did not get its first echo: $(cat "$WORK/hold.out")"
write_conf 'allow-cn = somebody-else'
hup 1
if grep -q 'notice: reload ok' "$LOG"; then
	ok "reload-deny: $(grep -m1 'reload ok' "$LOG")"
else
	not_ok "reload-deny: $(grep 'reload failed' "$LOG")"
fi
out=$(in_origin timeout 30 python3 "$CLIENTTOOL" expect-reset "$EDGE" 2>&1) || true
if grep -q '^reset' <<<"$out" && wait_tstat origin.reject.policy-denied 1; then
	ok "reload-deny: new connection refused: app $out; $(grep -m1 -oE '\[origin\] reject .*' "$LOG")"
else
	not_ok "reload-deny: want the app reset and origin.reject.policy-denied 1: app $out; $(grep -E '\] reject ' "$LOG" | tr '\n' ' ')"
fi
touch "$WORK/release"
rc=0
wait "$hold_pid" || rc=$?
if [ "$rc" = 0 ]; then
	ok "reload-deny: the connection opened before the reload still carries data: $(cat "$WORK/hold.out")"
else
	not_ok "reload-deny: the live connection broke across the reload: $(cat "$WORK/hold.out")"
fi

# reload-allow: a rule added.
write_conf 'allow-cn = somebody-else' 'allow-ou = edge'
hup 2
if [ "$(count "$LOG" 'notice: reload ok')" = 2 ] && out=$(echo_ok); then
	ok "reload-allow: allow-ou edge added, new connection: $out"
else
	not_ok "reload-allow: $(tail -3 "$LOG" | tr '\n' ' ') app: ${out:-}"
fi
done_before=$(tstat origin.close.done)

# reload-broken: the file does not parse; what is in force stays.
write_conf 'allow-cn = somebody-else' 'allow-ou = edge' -- 'frobnicate = 1'
hup 3
if grep -qE "error: reload failed: $CONF:[0-9]+: \[origin\] unknown option 'frobnicate'" "$LOG" &&
	out=$(echo_ok) && wait_tstat origin.close.done $((done_before + 1)); then
	ok "reload-broken: $(grep -m1 -oE 'reload failed: .*' "$LOG"); still allowed: $out"
else
	not_ok "reload-broken: want 'reload failed: FILE:LINE: [origin] unknown option' and the old rules: $(grep 'reload' "$LOG" | tail -1) app: ${out:-}"
fi

# reload-shape: listeners and the set of tunnels are fixed for the life of the process.
write_conf 'allow-ou = edge'
sed -i 's/^listen = 127.0.0.1:8443/listen = 127.0.0.1:8444/' "$CONF"
hup 4
if grep -qE 'reload failed: \[origin\] name, mode or listen changed: restart ktund' "$LOG"; then
	ok "reload-shape: $(grep -oE 'reload failed: \[origin\].*' "$LOG")"
else
	not_ok "reload-shape: a changed listen was not refused: $(grep reload "$LOG" | tail -1)"
fi
write_conf 'allow-ou = edge' -- '' '[extra]' 'mode = client' 'listen = 127.0.0.1:9001' \
	'target = 127.0.0.1:8443' "cert = $PKI/client-chain.pem" "key = $PKI/client.key" "cacert = $PKI/ca.pem"
hup 5
if grep -qE 'reload failed: the set of tunnels changed' "$LOG"; then
	ok "reload-shape: $(grep -oE 'reload failed: the set.*' "$LOG")"
else
	not_ok "reload-shape: an added tunnel was not refused: $(grep reload "$LOG" | tail -1)"
fi

# ktunctl-reload: the same as SIGHUP, answered on the control socket.
write_conf 'allow-ou = edge'
rc=0
out=$(ctl ktund reload 2>&1) || rc=$?
if [ "$rc" = 0 ] && [ "$out" = "reload ok" ] && out=$(echo_ok); then
	ok "ktunctl-reload: reload ok; $out"
else
	not_ok "ktunctl-reload: exit $rc: $out"
fi

# reload-expired: what peers would refuse is refused by a reload too, at the line to change.
write_conf 'allow-ou = edge'
sed -i "s|^cert = $PKI/client-chain.pem|cert = $PKI/client-expired-chain.pem|; s|^key = $PKI/client.key|key = $PKI/client-expired.key|" "$CONF"
line=$(grep -n "^cert = $PKI/client-expired-chain.pem" "$CONF" | cut -d: -f1)
rc=0
out=$(ctl ktund reload 2>&1) || rc=$?
if [ "$rc" = 1 ] && grep -q '^error: reload failed' <<<"$out" &&
	grep -qE "error: $CONF:$line: \[edge\] cert $PKI/client-expired-chain.pem .* expired at 2021-01-01 00:00:00 UTC" "$LOG" &&
	out=$(echo_ok); then
	ok "reload-expired: $(grep -m1 -oE "$CONF:$line: .* expired at [0-9-]+ [0-9:]+ UTC" "$LOG"); still serving: $out"
else
	not_ok "reload-expired: want 'reload failed' and '$CONF:$line: [edge] cert ... expired at', the old cert serving: exit $rc: $out; $(grep -E 'expired|reload failed' "$LOG" | tail -2)"
fi
write_conf 'allow-ou = edge'

rc=0
kill -TERM "$CLIENT_PID"
wait "$CLIENT_PID" || rc=$?
CLIENT_PID=
if [ "$rc" = 0 ]; then
	ok "sigterm: exit 0"
else
	not_ok "sigterm: exit $rc"
fi

finish "two tunnels from one file carry data; reloads take effect for new connections only"
