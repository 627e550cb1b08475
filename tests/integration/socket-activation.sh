#!/bin/bash
# socket-activation: ktund serves listening sockets a service manager bound for it
# (sd_listen_fds(3)). The activator is systemd-socket-activate, which binds, waits for the first
# connection, then execs ktund in its own process with LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES:
#   server-ipv4     ktund server (2 workers) on an inherited 127.0.0.1 socket, matched by its
#                   address, serves openssl s_client with a client certificate. ktund did not
#                   bind: ss shows one listening socket on the port, the activator's, held by
#                   ktund once per worker (had ktund ignored LISTEN_FDS its own bind would fail
#                   with EADDRINUSE, and the log line would be missing). A reload keeps it.
#   client-unix     ktund client on an inherited unix socket named for its tunnel
#                   (--fdname=to-origin) carries a plaintext application through that server.
#   named-nonblock  a socket named for a server tunnel ("server") but bound elsewhere than its
#                   listen address, O_NONBLOCK as systemd's own sockets are (a python activator
#                   that does what systemd does: bind, then exec with the variables), with
#                   20 clients at once and no accept error.
#   refused         exit 1 with the documented message: a socket that matches no tunnel; a
#                   datagram socket; a client tunnel's named socket bound elsewhere than its
#                   listen address; two sockets for one tunnel.
# No root: loopback addresses and random ports only.
set -euo pipefail
: "${KTUND:?} ${KTUN_SRCDIR:?}"
# shellcheck source=../lib/result.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/result.sh"
need_cmd systemd-socket-activate openssl ss python3
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
"$KTUN_SRCDIR/tests/lib/pki.sh" "$work/pki" >/dev/null
P=$work/pki

# The activator that systemd itself is: bind every SPEC (HOST:PORT[=NAME]) non-blocking, put
# the sockets at fd 3 on, set the variables for this process and exec the command.
cat >"$work/activate.py" <<'PY'
import os, socket, sys
sep = sys.argv.index("--")
specs, cmd = sys.argv[1:sep], sys.argv[sep + 1:]
names, high = [], []
for spec in specs:
    addr, _, name = spec.partition("=")
    host, _, port = addr.rpartition(":")
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((host, int(port)))
    s.listen(64)
    s.setblocking(False)
    high.append(os.dup2(s.fileno(), 100 + len(high)))  # out of the way of fds 3...
    s.close()
    names.append(name or "unknown")
for i, fd in enumerate(high):
    os.dup2(fd, 3 + i)
    os.close(fd)
os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS=str(len(specs)),
                  LISTEN_FDNAMES=":".join(names))
os.execv(cmd[0], cmd)
PY
# A plaintext application: sends a line over a unix socket, wants it back, then ends.
cat >"$work/app.py" <<'PY'
import socket, sys
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.settimeout(10)
c.connect(sys.argv[1])
c.sendall(sys.argv[2].encode() + b"\n")
got = b""
while b"\n" not in got:
    b = c.recv(4096)
    if not b:
        break
    got += b
sys.stdout.write(got.decode())
PY

port=$((20000 + RANDOM % 20000))
origin=$((port + 1))
python3 "$KTUN_SRCDIR/tests/lib/origin.py" line "127.0.0.1:$origin" "$work/accepts.log" &
for _ in $(seq 50); do ss -Htln "sport = :$origin" | grep -q . && break; sleep 0.1; done

server_args=(--target "127.0.0.1:$origin" --cert "$P/server-chain.pem" --key "$P/server.key"
	--cacert "$P/ca.pem" --allow-ou edge)
# wait_log FILE REGEX: a line of FILE matches within 10 s.
wait_log() {
	for _ in $(seq 100); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# tls PORT TEXT: through the ktund server at 127.0.0.1:PORT as the edge client; the echo.
tls() {
	echo "$2" | timeout 10 openssl s_client -quiet -connect "127.0.0.1:$1" -CAfile "$P/ca.pem" \
		-cert "$P/client.pem" -cert_chain "$P/inter.pem" -key "$P/client.key" 2>>"$work/s_client.err"
}
# listeners PORT: how many sockets listen on PORT; held PID INODE: how many fds of PID are it.
listeners() { ss -Htln "sport = :$1" | wc -l; }
inode() { ss -Htlne "sport = :$1" | grep -o 'ino:[0-9]*' | cut -d: -f2; }
held() { find "/proc/$1/fd" -lname "socket:\[$2\]" 2>/dev/null | wc -l; }

# --- server-ipv4
systemd-socket-activate -l "127.0.0.1:$port" --fdname=tls-in "$KTUND" server \
	--listen "127.0.0.1:$port" "${server_args[@]}" --workers 2 --control "$work/srv.sock" \
	>"$work/server.log" 2>&1 &
srv=$!
wait_log "$work/server.log" "Listening on 127.0.0.1:$port" || not_ok "server-ipv4: the activator is not listening"
[ "$(listeners "$port")" = 1 ] || not_ok "server-ipv4: want one listener before ktund starts"
ino=$(inode "$port")
# The first connection makes the activator exec ktund; it waits in the backlog meanwhile.
out=$(tls "$port" "first $RANDOM") || true
if [[ $out == first* ]] && grep -q "socket activation: serving 127.0.0.1:$port (fd 3, name tls-in) instead of binding" "$work/server.log" &&
	grep -q "listening on 127.0.0.1:$port (inherited socket)" "$work/server.log"; then
	ok "server-ipv4: s_client served through the inherited socket (matched by address)"
else
	not_ok "server-ipv4: echo '$out'"
fi
for i in 1 2 3 4; do
	[ "$(tls "$port" "more $i")" = "more $i" ] || not_ok "server-ipv4: connection $i not served"
done
n=$(listeners "$port")
h=$(held "$srv" "$ino")
[ "$n" = 1 ] && [ "$(inode "$port")" = "$ino" ] && [ "$h" = 2 ] &&
	ok "server-ipv4: ktund did not bind: one listener on :$port, the activator's (inode $ino), one fd per worker" ||
	not_ok "server-ipv4: $n listener(s) on :$port, inode $(inode "$port") (activator's $ino), ktund holds it $h times (want 2)"

# --- client-unix: a client tunnel on an inherited unix socket, to the server above.
cat >"$work/client.conf" <<EOF
[global]
control = $work/cli.sock
workers = 2

[to-origin]
mode = client
listen = unix:$work/app.sock
target = 127.0.0.1:$port
server-name = origin.test
cert = $P/client-chain.pem
key = $P/client.key
cacert = $P/ca.pem
EOF
systemd-socket-activate -l "$work/app.sock" --fdname=to-origin "$KTUND" --config "$work/client.conf" \
	>"$work/client.log" 2>&1 &
cli=$!
wait_log "$work/client.log" "Listening on $work/app.sock" || not_ok "client-unix: the activator is not listening"
out=$(python3 "$work/app.py" "$work/app.sock" "plain $RANDOM") || true
[[ $out == plain* ]] &&
	grep -q "\[to-origin\] socket activation: serving unix:$work/app.sock (fd 3, name to-origin)" "$work/client.log" &&
	ok "client-unix: an application through the inherited unix socket (matched by name), then the server" ||
	not_ok "client-unix: got '$out'"

# --- reload keeps the inherited sockets
kill -HUP "$srv" "$cli"
wait_log "$work/server.log" 'reload ok' && wait_log "$work/client.log" 'reload ok' || not_ok "reload: no 'reload ok'"
[ "$(python3 "$work/app.py" "$work/app.sock" "after reload")" = "after reload" ] &&
	[ "$(tls "$port" "again")" = again ] && [ "$(inode "$port")" = "$ino" ] && [ "$(held "$srv" "$ino")" = 2 ] &&
	ok "reload: both keep serving their inherited sockets" || not_ok "reload: not served after SIGHUP"

kill -TERM "$srv" "$cli"
rc=0
wait "$srv" || rc=$?
wait "$cli" || rc=$((rc + $?))
[ "$rc" = 0 ] && ok "SIGTERM: both exit 0" || not_ok "SIGTERM: exit status $rc"

# --- named-nonblock
port3=$((port + 2))
python3 "$work/activate.py" "127.0.0.1:$port3=server" -- "$KTUND" server --listen "0.0.0.0:$port3" \
	"${server_args[@]}" --workers 2 --control "$work/srv3.sock" >"$work/server3.log" 2>&1 &
srv3=$!
wait_log "$work/server3.log" 'notice: ready' || not_ok "named-nonblock: not ready"
# 20 clients at once: the two workers' rings race for each connection on the one socket; a
# lost race must stay inside io_uring (an EAGAIN reaching ktund would log "accept:").
burst=()
for i in $(seq 20); do
	tls "$port3" "burst $i" >"$work/burst.$i" &
	burst+=($!)
done
wait "${burst[@]}" || true
served=$(cat "$work"/burst.* | grep -c '^burst ' || true)
[ "$(tls "$port3" "named")" = named ] && [ "$(listeners "$port3")" = 1 ] && [ "$served" = 20 ] &&
	grep -q "socket activation: serving 127.0.0.1:$port3 (fd 3, name server)" "$work/server3.log" &&
	! grep -q 'accept:' "$work/server3.log" &&
	ok "named-nonblock: a non-blocking socket named for the tunnel, bound to 127.0.0.1 for listen = 0.0.0.0; 20 clients at once" ||
	not_ok "named-nonblock: not served ($served of 20 at once)"
kill -TERM "$srv3"
wait "$srv3" || not_ok "named-nonblock: exit status $?"

# --- refused: refused CASE REGEX COMMAND...: exits 1 within 10 s, and the log matches.
refused() {
	local name=$1 want=$2 rc=0
	shift 2
	timeout 10 "$@" >"$work/$name.log" 2>&1 || rc=$?
	if [ "$rc" = 1 ] && grep -Eq -- "$want" "$work/$name.log"; then
		ok "refused $name: exit 1, $(grep -Eo -- "error: .*" "$work/$name.log" | head -1)"
	else
		not_ok "refused $name: exit status $rc, want 1 and /$want/"
		sed 's/^/    | /' "$work/$name.log"
	fi
}
p=$((port + 3))
# The activators wait for a first connection (or datagram) before starting ktund.
(sleep 1; python3 -c "import socket; socket.create_connection(('127.0.0.1', $p), 5)" 2>/dev/null) &
refused no-tunnel "error: socket activation: 127\.0\.0\.1:$p \(fd 3, name [^)]*\) matches no tunnel" \
	systemd-socket-activate -l "127.0.0.1:$p" "$KTUND" server --listen "127.0.0.1:$((p + 1))" \
	"${server_args[@]}" --control "$work/r1.sock"
(sleep 1; echo x >"/dev/udp/127.0.0.1/$p") &
refused datagram "error: socket activation: fd 3 \(name [^,]*, 127\.0\.0\.1:$p\) is not a listening stream socket" \
	systemd-socket-activate -d -l "127.0.0.1:$p" "$KTUND" server --listen "127.0.0.1:$p" \
	"${server_args[@]}" --control "$work/r2.sock"
# An unnamed socket is "unknown" to libsystemd: it must not go to a tunnel of that name.
cat >"$work/unknown.conf" <<EOF
[global]
control = $work/r4.sock
[unknown]
mode = server
listen = 127.0.0.1:$((p + 2))
target = 127.0.0.1:$origin
cert = $P/server-chain.pem
key = $P/server.key
cacert = $P/ca.pem
allow-ou = edge
EOF
(sleep 1; python3 -c "import socket; socket.create_connection(('127.0.0.1', $p), 5)" 2>/dev/null) &
refused unnamed-not-unknown "error: socket activation: 127\.0\.0\.1:$p \(fd 3, name unknown\) matches no tunnel" \
	systemd-socket-activate -l "127.0.0.1:$p" "$KTUND" --config "$work/unknown.conf"
refused client-elsewhere "error: \[to-origin\] socket activation: 127\.0\.0\.1:$p \(fd 3, name to-origin\) is not bound to the client tunnel's listen address unix:$work/app.sock" \
	python3 "$work/activate.py" "127.0.0.1:$p=to-origin" -- "$KTUND" --config "$work/client.conf"
refused two-sockets "error: \[server\] socket activation: two sockets for one tunnel \(fd 3 and fd 4" \
	python3 "$work/activate.py" "127.0.0.1:$p=server" "127.0.0.2:$p=server" -- "$KTUND" server \
	--listen "127.0.0.1:$p" "${server_args[@]}" --control "$work/r3.sock"

[ "$RESULT_FAILURES" = 0 ] || {
	for f in server client server3; do echo "----- $f.log"; cat "$work/$f.log"; done
	exit 1
}
echo "socket-activation: PASS"
