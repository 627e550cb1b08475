#!/bin/bash
# pair-failover: a tunnel with several targets (issue 15 section 4), through a real pair.
#  1. ordered, two origins: traffic goes to the first; the first stops: every new connection
#     still succeeds (the connection retries the second itself), the server logs the target
#     down once, counts the failure (status, metrics) and no flow fails; the first comes back:
#     after its back-off traffic returns to it and the log says it is up again.
#  2. round-robin: connections reach both origins.
#  3. all down: the app sees a reset, target-unreachable is counted.
#  4. a fixed target name that resolves to two addresses (a hosts file) is two targets.
#  5. client mode, two far ktund servers, the first stopped: connections go through the second.
#  6. from-client: a name resolving to two allowed addresses whose first refuses: the
#     connection reaches the second (the connect goes only to checked addresses).
#  7. a reload that changes the list keeps the health of the target it keeps, the new one
#     starts up, and the reload line says so.
# Also: /healthz?targets=1 with one of two targets down (1).
set -euo pipefail
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"
need_cmd curl
pair_init
HERE=$(cd "$(dirname "$0")" && pwd)

# origin NAME ADDR: an echo origin in the origin namespace, its accepts counted in NAME.accepts.
declare -A OPID
origin() {
	ip netns exec "$NS_ORIGIN" python3 "$ORIGIN_TOOL" echo "$2" "$WORK/$1.accepts" \
		>>"$WORK/origin.log" 2>&1 &
	OPID[$1]=$!
	wait_port "$NS_ORIGIN" "${2##*:}" || fail "origin $1 at $2 did not start"
}
stop_origin() {
	kill "${OPID[$1]}" && wait "${OPID[$1]}" 2>/dev/null || true
}
accepts() { [ -f "$WORK/$1.accepts" ] && wc -l <"$WORK/$1.accepts" || echo 0; }
# exchange [N]: N (default 1) connections in turn, each a line through the edge listener,
# echoed back; prints ok or what went wrong with which one, and fails on the first failure.
exchange() {
	in_edge timeout 60 python3 -c '
import socket, sys
for i in range(int(sys.argv[2])):
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=25)
        s.sendall(b"hello\n")
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            got += b
        s.close()
    except OSError as e:
        print("connection %d: error: %r" % (i + 1, e))
        sys.exit(1)
    if got != b"hello\n":
        print("connection %d: got %r" % (i + 1, got))
        sys.exit(1)
print("ok")' "$EDGE_PORT" "${1:-1}"
}
metric() { # NAME TUNNEL TARGET: the value of one series
	ctl "$1" metrics | awk -v k="$2{tunnel=\"$1\",target=\"$3\"}" '$1 == k { print $2 }'
}

A=127.0.0.1:8080 B=127.0.0.1:8081
origin a $A
origin b $B

# 1. ordered
SERVER_TARGET=$A start_server --target $B --target-backoff 1 --metrics-listen 127.0.0.1:9101
start_client
out=$(exchange 3) || fail "ordered, both up: $out"
[ "$(accepts a)" = 3 ] && [ "$(accepts b)" = 0 ] && ok "ordered: 3 connections to the first origin" ||
	fail "ordered: want 3/0 accepts, got $(accepts a)/$(accepts b)"
[ "$(stat_of server target.$A)" = up ] && [ "$(stat_of server target.$B)" = up ] &&
	[ "$(stat_of server failover)" = ordered ] && ok "status: both targets up, ordered" ||
	fail "status: $(ctl server status | grep target)"
stop_origin a
out=$(exchange 5) || fail "ordered, first down: $out"
ok "first origin stopped: 5 of 5 connections succeeded"
[ "$(accepts b)" = 5 ] || fail "want 5 connections at the second origin, got $(accepts b)"
[ "$(stat_of server close.target-unreachable)" = 0 ] && [ "$(stat_of server close.connect-timeout)" = 0 ] ||
	fail "a flow failed: $(ctl server status | grep -E 'target-unreachable|connect-timeout')"
n=$(grep -c "target $A down (Connection refused): tried last for 1 s" "$SERVER_LOG" || true)
[ "$n" = 1 ] && ok "the server logs the first target down once" ||
	fail "want one 'down' line for $A, got $n: $(grep -E 'target ' "$SERVER_LOG")"
f=$(metric server ktund_target_failures_total "$A")
[ "${f:-0}" -ge 1 ] && [ "$(metric server ktund_target_up "$A")" = 0 ] &&
	[ "$(metric server ktund_target_up "$B")" = 1 ] &&
	[ "$(metric server ktund_target_failures_total "$B")" = 0 ] &&
	ok "metrics: $A failures $f, up 0; $B up 1" ||
	fail "metrics: $(ctl server metrics | grep ktund_target_)"
[ "$(stat_of server target.$A)" = down ] && [ "$(stat_of server target_failures.$A)" = "$f" ] &&
	ok "status: $A down, $f failure(s)" || fail "status: $(ctl server status | grep target)"
n=$(ctl server status | grep -c '^server\.target\.' || true)
[ "$n" = 2 ] || fail "status lists $n targets, want 2"
# /healthz?targets=1 probes each target: the tunnel is reachable through the second.
health=$(ip netns exec "$NS_ORIGIN" curl -sS -w '\n%{http_code}' "http://127.0.0.1:9101/healthz?targets=1") ||
	fail "GET /healthz?targets=1 failed"
python3 - "$health" "$A" "$B" <<'PY' && ok "healthz?targets=1: 200, $A unreachable, $B reachable" || fail "healthz: $health"
import json, sys
body, code = sys.argv[1].rsplit("\n", 1)
t = json.loads(body)["targets"][0]
each = {e["target"]: e for e in t["each"]}
assert code == "200" and t["reachable"] is True, (code, t)
assert each[sys.argv[2]]["reachable"] is False and "refused" in each[sys.argv[2]]["error"], each
assert each[sys.argv[3]]["reachable"] is True, each
PY
origin a $A
before=$(accepts a)
for ((i = 0; i < 20; i++)); do
	out=$(exchange) || fail "first origin back: exchange failed: $out"
	[ "$(accepts a)" -gt "$before" ] && break
	sleep 0.5
done
[ "$(accepts a)" -gt "$before" ] || fail "traffic never returned to the first origin"
wait_log "$SERVER_LOG" "target $A up again" 5 && [ "$(stat_of server target.$A)" = up ] &&
	ok "first origin back: traffic returns to it after its back-off, logged up again" ||
	fail "no 'up again' line or status: $(grep -E 'target ' "$SERVER_LOG")"
a0=$(accepts a) b0=$(accepts b)
out=$(exchange 3) || fail "after recovery: $out"
[ "$(accepts a)" = $((a0 + 3)) ] && [ "$(accepts b)" = "$b0" ] &&
	ok "after recovery: all to the first again" || fail "after recovery: a $a0->$(accepts a), b $b0->$(accepts b)"
stop_daemon "$SERVER_PID" server

# 2. round-robin
a0=$(accepts a) b0=$(accepts b)
SERVER_TARGET=$A start_server --target $B --failover round-robin
out=$(exchange 8) || fail "round-robin: $out"
da=$(($(accepts a) - a0)) db=$(($(accepts b) - b0))
[ "$da" -gt 0 ] && [ "$db" -gt 0 ] && [ $((da + db)) = 8 ] &&
	ok "round-robin: 8 connections spread over both origins ($da, $db)" ||
	fail "round-robin: $da and $db connections"

# 3. all down
stop_origin a
stop_origin b
out=$(in_edge timeout 30 python3 "$PAIRTOOL" expect-reset 127.0.0.1 "$EDGE_PORT" 2>&1) ||
	fail "all targets down: want a reset, got: $out"
wait_stat server close.target-unreachable 1 5 && ok "all down: the app saw $out; target-unreachable counted" ||
	fail "all down: close.target-unreachable is $(stat_of server close.target-unreachable)"
grep -q "reason=target-unreachable detail=\"connect: Connection refused\"" "$SERVER_LOG" ||
	fail "no target-unreachable close line: $(close_lines "$SERVER_LOG")"
stop_daemon "$SERVER_PID" server
origin a $A
origin b $B

# 4. a fixed target's name with two addresses (a hosts file seen by this ktund only)
printf '127.0.0.1 two.test\n127.0.0.2 two.test\n' >"$WORK/hosts"
printf '#!/bin/bash\nexec unshare -m bash -c %q %q "$@"\n' \
	"mount --bind $WORK/hosts /etc/hosts && exec \"\$0\" \"\$@\"" "$KTUND" >"$WORK/ktund-hosts"
chmod +x "$WORK/ktund-hosts"
KTUND="$WORK/ktund-hosts" SERVER_TARGET=two.test:8080 start_server
[ "$(ctl server status | grep -c '^server\.target\.127\.0\.0\.[12]:8080 up$')" = 2 ] &&
	ok "a target name with two addresses is two targets" ||
	fail "status: $(ctl server status | grep target)"
stop_daemon "$SERVER_PID" server

# 5. client mode: two far ktund servers, the first one stopped
SERVER_TARGET=$A start_server
S1_PID=$SERVER_PID S1_LOG=$SERVER_LOG
SERVER_LISTEN=$ORIGIN_IP:8444 SERVER_CONTROL=$WORK/server2.sock SERVER_TARGET=$A start_server
S2_PID=$SERVER_PID
stop_daemon "$CLIENT_PID" client
start_client --target "$ORIGIN_IP:8444"
exchange >/dev/null || fail "client mode, both far ends up: exchange failed"
grep -q 'close .*reason=done' "$S1_LOG" || fail "client mode: the first far ktund took nothing"
stop_daemon "$S1_PID" server
out=$(exchange 3) || fail "client mode, first far end down: $out"
grep -q "target $ORIGIN_IP:$TLS_PORT down (Connection refused)" "$CLIENT_LOG" &&
	[ "$(stat_of client close.target-unreachable)" = 0 ] &&
	ok "client mode: the first far ktund down, 3 of 3 connections through the second" ||
	fail "client mode: $(grep -E 'target ' "$CLIENT_LOG"); $(close_lines "$CLIENT_LOG" | tail -3)"
stop_daemon "$S2_PID" server
stop_daemon "$CLIENT_PID" client
CLIENT_PID= SERVER_PID=

# 6. from-client: a name with two allowed addresses, the first refuses. glibc orders the
# addresses (RFC 6724): ask it, in the same hosts file, which comes first, and serve only
# the second.
ip -n "$NS_ORIGIN" addr add 10.9.0.1/32 dev lo
ip -n "$NS_ORIGIN" addr add 10.9.0.2/32 dev lo
printf '10.9.0.1 multi.test\n10.9.0.2 multi.test\n' >"$WORK/hosts"
order=$(ip netns exec "$NS_ORIGIN" unshare -m bash -c "mount --bind $WORK/hosts /etc/hosts && python3 -c '
import socket
seen = []
for ai in socket.getaddrinfo(\"multi.test\", 8082, type=socket.SOCK_STREAM):
    if ai[4][0] not in seen:
        seen.append(ai[4][0])
print(\" \".join(seen))'")
read -r first second <<<"$order"
[ -n "${second:-}" ] || fail "multi.test resolves to '$order', want two addresses"
origin m "$second:8082"
KTUND="$WORK/ktund-hosts" SERVER_TARGET=from-client SERVER_ALLOW_DEFAULT=0 start_server \
	--allow-cn edge-client --allow-destination "10.9.0.0/24:8082"
got=$(in_edge python3 "$HERE/../integration/connect_client.py" "$ORIGIN_IP" "$TLS_PORT" "$PKI" client \
	--wait 10 --record 'CONNECT multi.test:8082 HTTP/1.1\r\nHost: multi.test:8082\r\n\r\nhello\n' 2>&1) || true
[[ $got == 'HTTP/1.1 200 '*'hello\n'* ]] && [ "$(accepts m)" = 1 ] &&
	grep -q "close .*dst=$second:8082" "$SERVER_LOG" &&
	ok "from-client: $first refused, the connection reached $second (got ${got:0:20}...)" ||
	fail "from-client: got '$got', accepts $(accepts m), log: $(close_lines "$SERVER_LOG")"
stop_daemon "$SERVER_PID" server
SERVER_PID=
# 7. A reload that changes the list: the target it keeps keeps its health (down), the new one
# starts up, and the reload line says what was reset.
C=127.0.0.1:8082
cat >"$WORK/gw.conf" <<CONF
[global]
control = $WORK/server.sock
[gw]
mode = server
listen = $ORIGIN_IP:$TLS_PORT
target = $A, $B
cert = $PKI/server-chain.pem
key = $PKI/server.key
cacert = $PKI/ca.pem
allow-ou = edge
CONF
SERVER_LOG=$WORK/gw.log
ip netns exec "$NS_ORIGIN" "$KTUND" --config "$WORK/gw.conf" 2>"$SERVER_LOG" &
SERVER_PID=$!
_wait_ready "$SERVER_PID" "$SERVER_LOG" server
stop_origin a
start_client
out=$(exchange) || fail "reload: exchange with the first origin down: $out"
[ "$(ctl server status | awk '$1 == "gw.target.'$A'" { print $2 }')" = down ] || fail "reload: $A not down"
sed -i "s/^target = .*/target = $A, $C/" "$WORK/gw.conf"
ctl server reload | grep -q 'reload ok' || fail "reload failed: $(tail -3 "$SERVER_LOG")"
st=$(ctl server status)
grep -q "reload: target changed; health reset for 1 new target address" "$SERVER_LOG" &&
	grep -qx "gw.target.$A down" <<<"$st" && grep -qx "gw.target.$C up" <<<"$st" &&
	! grep -q "gw.target.$B" <<<"$st" &&
	ok "reload: $A kept down, $C new and up, the log says 1 reset" ||
	fail "reload: $(grep 'reload:' "$SERVER_LOG"); $(grep target <<<"$st")"
stop_daemon "$CLIENT_PID" client
stop_daemon "$SERVER_PID" server
CLIENT_PID= SERVER_PID=
pass "failover across targets in both modes, and across a from-client name's addresses"
