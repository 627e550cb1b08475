#!/bin/bash
# listen-collide: a listen address that another process holds refuses the start (exit 1, a
# clear error), even where SO_REUSEPORT would have let ktund bind beside it and take part of
# its connections; the workers of one ktund still share theirs. In the edge namespace:
#   first              ktund client, --workers 2, on 127.0.0.1:$EDGE_PORT: ready
#   second-same        a second ktund (another control socket) on the same address: exit 1
#   second-wildcard    on 0.0.0.0:$EDGE_PORT and [::]:$EDGE_PORT (unsafe-listen): exit 1
#   first-serves       the first still accepts every connection: conns_total counts all 6
#   foreign-reuseport  a python listener with SO_REUSEPORT on another port: exit 1
#   time-wait          a port whose last listener left connections in TIME_WAIT: ready
# shellcheck disable=SC2119 # common.sh functions take optional arguments; none needed here
set -euo pipefail
. "$(dirname "$0")/client-common.sh"
pair_init

# refused LABEL ADDR [ARGS...]: a ktund client on ADDR exits 1 within 10 s, never ready, with
# the error naming ADDR and the other process.
refused() {
	local label=$1 addr=$2 rc=0 shown
	shift 2
	shown=${addr/#\[::\]/\\[::\\]}
	ip netns exec "$NS_EDGE" timeout 10 "$KTUND" client --listen "$addr" \
		--target "$ORIGIN_IP:$TLS_PORT" --server-name origin.test --cert "$PKI/client-chain.pem" \
		--key "$PKI/client.key" --cacert "$PKI/ca.pem" --control "$WORK/$label.sock" "$@" \
		2>"$WORK/$label.log" || rc=$?
	if [ "$rc" = 1 ] && ! grep -q 'notice: ready' "$WORK/$label.log" &&
		grep -qE "error: \[client\] cannot listen on $shown: another process listens there \(another ktund\?\), and would share its connections: stop it, or choose another address" "$WORK/$label.log"; then
		ok "$label: exit 1: $(grep -m1 'cannot listen' "$WORK/$label.log")"
	else
		not_ok "$label: want exit 1 and 'cannot listen on $addr: another process listens there', got $rc: $(tr '\n' ' ' <"$WORK/$label.log")"
	fi
}

# Its target is a closed port: each connection is refused at once, and counted.
CLIENT_TARGET=127.0.0.1:1 start_client --workers 2
ok "first: ready on 127.0.0.1:$EDGE_PORT with 2 workers sharing it"

refused second-same "127.0.0.1:$EDGE_PORT"
refused second-wildcard "0.0.0.0:$EDGE_PORT" --unsafe-listen
refused second-wildcard6 "[::]:$EDGE_PORT" --unsafe-listen

# Nothing took part of the first's connections: it saw every one (each reset, as nothing
# serves its target).
for ((i = 0; i < 6; i++)); do
	ip netns exec "$NS_EDGE" python3 "$CLIENTTOOL" expect-reset "127.0.0.1:$EDGE_PORT" >/dev/null 2>&1 || true
done
if kill -0 "$CLIENT_PID" 2>/dev/null && wait_stat client conns_total 6 5; then
	ok "first-serves: still running, conns_total 6 of 6"
else
	not_ok "first-serves: want the first ktund running with conns_total 6, got $(stat_of client conns_total)"
fi

# Another program with SO_REUSEPORT, as the same user: the kernel would let ktund share it.
python_port=$((EDGE_PORT + 1))
ip netns exec "$NS_EDGE" python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
print("listening", flush=True)
time.sleep(60)
' "$python_port" >"$WORK/python.out" 2>&1 &
python_pid=$!
wait_log "$WORK/python.out" '^listening' 10 || fail "the python listener did not start: $(cat "$WORK/python.out")"
refused foreign-reuseport "127.0.0.1:$python_port"
kill "$python_pid" 2>/dev/null || true
wait "$python_pid" 2>/dev/null || true

# A restart must not be refused for the last run's connections in TIME_WAIT (the listening
# side closed first): they hold the port, but no listener does.
tw_port=$((EDGE_PORT + 2))
ip netns exec "$NS_EDGE" python3 -c '
import socket, sys
port = int(sys.argv[1])
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", port))
l.listen()
c = socket.create_connection(("127.0.0.1", port))
a, _ = l.accept()
a.close()
c.recv(1)
c.close()
l.close()
' "$tw_port" || fail "could not leave a connection in TIME_WAIT on $tw_port"
if ip netns exec "$NS_EDGE" ss -Htan state time-wait "sport = :$tw_port" | grep -q .; then
	tw_pid=
	ip netns exec "$NS_EDGE" "$KTUND" client --listen "127.0.0.1:$tw_port" --target "$ORIGIN_IP:$TLS_PORT" \
		--server-name origin.test --cert "$PKI/client-chain.pem" --key "$PKI/client.key" \
		--cacert "$PKI/ca.pem" --control "$WORK/tw.sock" 2>"$WORK/tw.log" &
	tw_pid=$!
	if wait_log "$WORK/tw.log" 'notice: ready' 10; then
		ok "time-wait: ready on 127.0.0.1:$tw_port beside a connection in TIME_WAIT"
	else
		not_ok "time-wait: not ready on a port with only TIME_WAIT left: $(tr '\n' ' ' <"$WORK/tw.log")"
	fi
	kill -TERM "$tw_pid" 2>/dev/null || true
	wait "$tw_pid" 2>/dev/null || true
else
	not_ok "time-wait: no connection in TIME_WAIT on $tw_port to test with"
fi

finish "a held listen address refuses the start; the first ktund keeps all its connections"
