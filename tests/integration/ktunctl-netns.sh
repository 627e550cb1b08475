#!/bin/bash
# ktunctl-netns: `ktunctl conns` adds the kernel's facts about each TLS socket (sock_diag),
# which answers for the caller's network namespace only. Run from another namespace than
# ktund's it must say so, not silently leave them out:
#   outside        a conns line with sock_diag=other-netns (after the daemon's own fields, which end
#                  in resumed=) and no ulp=; a note on stderr
#                  naming ktund's pid and how to run ktunctl there
#   outside-json   the JSON object has "sock_diag": "other-netns"; nothing on stderr
#   inside         (ip netns exec) the line has ulp=, no sock_diag=, no note
# The connection is held in its handshake: ktund client's target accepts TCP and says nothing.
# shellcheck disable=SC2119 # common.sh functions take optional arguments; none needed here
set -euo pipefail
. "$(dirname "$0")/client-common.sh"
pair_init

hold_port=$((EDGE_PORT + 1))
ip netns exec "$NS_EDGE" python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
print("listening", flush=True)
held = [s.accept()[0] for _ in range(1)]
time.sleep(60)
' "$hold_port" >"$WORK/hold.out" 2>&1 &
hold_pid=$!
wait_log "$WORK/hold.out" '^listening' 10 || fail "the silent target did not start: $(cat "$WORK/hold.out")"
CLIENT_TARGET=127.0.0.1:$hold_port start_client --handshake-timeout 60
ip netns exec "$NS_EDGE" python3 -c '
import socket, sys, time
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
time.sleep(60)
' "$EDGE_PORT" >"$WORK/app.out" 2>&1 &
app_pid=$!
wait_stat client conns_open 1 10 || fail "no connection open in ktund: $(ctl client status | grep conns_)"
for ((i = 0; i < 50; i++)); do
	ctl client conns 2>/dev/null | grep -q 'tls_remote=' && break
	sleep 0.1
done

rc=0
out=$(ctl client conns 2>"$WORK/outside.err") || rc=$?
if [ "$rc" = 0 ] && grep -Eq ' tls_remote=127.0.0.1:[0-9]*( [a-z_]+=[^ ]*)* sock_diag=other-netns$' <<<"$out" &&
	! grep -q ' ulp=' <<<"$out" &&
	grep -qE "^ktunctl: ktund \(pid $CLIENT_PID\) runs in another network namespace, where sock_diag cannot look: .*nsenter -t $CLIENT_PID -n ktunctl conns" "$WORK/outside.err"; then
	ok "outside: $(cut -c1-60 <<<"$out")... sock_diag=other-netns; $(cut -c1-80 "$WORK/outside.err")..."
else
	not_ok "outside: want sock_diag=other-netns and a note, got $rc: $out / $(cat "$WORK/outside.err")"
fi

rc=0
out=$(ctl client --json conns 2>"$WORK/json.err") || rc=$?
if [ "$rc" = 0 ] && [ ! -s "$WORK/json.err" ] &&
	python3 -c 'import json, sys; c = json.load(sys.stdin); sys.exit(0 if len(c) == 1 and c[0]["sock_diag"] == "other-netns" else 1)' <<<"$out"; then
	ok "outside-json: \"sock_diag\": \"other-netns\", nothing on stderr"
else
	not_ok "outside-json: got $rc: $out / $(cat "$WORK/json.err")"
fi

rc=0
out=$(ip netns exec "$NS_EDGE" "$KTUNCTL" --control "$WORK/client.sock" conns 2>"$WORK/inside.err") || rc=$?
if [ "$rc" = 0 ] && grep -q ' ulp=' <<<"$out" && ! grep -q 'sock_diag=' <<<"$out" && [ ! -s "$WORK/inside.err" ]; then
	ok "inside: $(grep -o ' ulp=.*' <<<"$out")"
else
	not_ok "inside: want ulp= and no sock_diag=, no note, got $rc: $out / $(cat "$WORK/inside.err")"
fi

kill "$app_pid" "$hold_pid" 2>/dev/null || true
finish "ktunctl conns says when sock_diag cannot see ktund's sockets"
