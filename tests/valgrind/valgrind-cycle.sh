#!/bin/bash
# valgrind-cycle.sh MODE [URING_YIELD_SO]: ktund under valgrind memcheck through a whole
# life — start, serve connections (carried and refused), SIGHUP reload, `ktunctl reload`,
# SIGTERM — failing on any memcheck error, on any definite or indirect leak (valgrind then
# exits 99) and unless ktund exits 0.
#   server  ktund server from the command line (with --crl) in the origin namespace in front
#           of an echoing origin; openssl s_client peers in the edge namespace: TLS 1.3 and 1.2,
#           1 MiB each way, and refused ones (wrong OU, no certificate, revoked, not TLS).
#   client  ktund client from a --config file in the edge namespace, to a ktund server (not
#           under valgrind) in the origin namespace; the reloads swap the file's verify-cn, so
#           connections are carried, refused (policy-denied) after the SIGHUP, carried again
#           after `ktunctl reload`.
# Memcheck runs without uninitialised-value checks: the kernel fills ktund's receive buffers
# through io_uring, which valgrind cannot see, so every received byte counts as uninitialised
# (some 15,000 reports from GnuTLS parsing a handshake; the ASan build, tools/dev/test-asan.sh,
# covers the rest). ktund.supp holds the
# suppressions, for library-internal allocations only. Valgrind before 3.21 cannot run ktund's
# threads without URING_YIELD_SO preloaded (uring-yield.c says why). Root only (network
# namespaces).
set -euo pipefail
MODE=${1:?usage: valgrind-cycle.sh server|client [URING_YIELD_SO]}
URING_YIELD=${2:-}
VG_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"
TEST_NAME=valgrind-$MODE
VG_LOG=
VG_PID=

netns_need_root
need_cmd valgrind openssl python3 timeout
# ASan and valgrind do not mix; the ASan build runs the other suites (tools/dev/test-asan.sh).
if grep -qa __asan_init "$KTUND"; then
	skip "$KTUND is built with AddressSanitizer"
fi
VG_PRELOAD=()
vg_version=$(valgrind --version | sed -n 's/^valgrind-\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
read -r vg_major vg_minor <<<"$vg_version"
if [ "${vg_major:-0}" -lt 3 ] || { [ "$vg_major" = 3 ] && [ "${vg_minor:-0}" -lt 21 ]; }; then
	[ -n "$URING_YIELD" ] && [ -f "$URING_YIELD" ] ||
		skip "valgrind ${vg_major}.${vg_minor} needs uring-yield.so preloaded (build it: tests/valgrind/meson.build)"
	VG_PRELOAD=(env "LD_PRELOAD=$URING_YIELD")
fi
# A seccomp filter cannot work under valgrind, which makes system calls of its own: where
# ktund has a sandbox, the runs here turn it off (what it confines is tested elsewhere).
SANDBOX_ARGS=() SANDBOX_CONF=
if ! "$KTUND" server --sandbox=no 2>&1 | grep -q "unknown option '--sandbox'"; then
	SANDBOX_ARGS=(--sandbox=no) SANDBOX_CONF='sandbox = no'
fi
pair_init

# vg_start NS LOG ARGS...: valgrind ktund ARGS in namespace NS, stderr to LOG; waits (up to
# 120 s: valgrind is slow to start on a busy machine) for "ready".
vg_start() {
	local ns=$1 log=$2 i
	shift 2
	VG_LOG=$WORK/valgrind-$MODE.log
	ip netns exec "$ns" "${VG_PRELOAD[@]}" valgrind --tool=memcheck --leak-check=full \
		--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
		--undef-value-errors=no --error-exitcode=99 --num-callers=40 \
		--suppressions="$VG_DIR/ktund.supp" --gen-suppressions=all --log-file="$VG_LOG" \
		"$KTUND" "$@" 2>"$log" &
	VG_PID=$!
	for ((i = 0; i < 1200; i++)); do
		grep -q 'ktund: notice: ready' "$log" && return 0
		kill -0 "$VG_PID" 2>/dev/null || fail "ktund under valgrind exited before it was ready"
		sleep 0.1
	done
	fail "ktund under valgrind not ready after 120 s"
}

# vg_stop: SIGTERM; ktund must exit 0 and valgrind find nothing (it would exit 99).
vg_stop() {
	local i rc=0
	kill -TERM "$VG_PID" 2>/dev/null || fail "ktund under valgrind (pid $VG_PID) was not running"
	for ((i = 0; i < 1200; i++)); do
		kill -0 "$VG_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$VG_PID" 2>/dev/null && fail "ktund under valgrind did not exit within 120 s of SIGTERM"
	wait "$VG_PID" || rc=$?
	VG_PID=
	if [ "$rc" != 0 ] || ! grep -q 'ERROR SUMMARY: 0 errors' "$VG_LOG"; then
		cat "$VG_LOG"
		fail "ktund under valgrind exited with status $rc (99: memcheck found errors or leaks)"
	fi
	note "$(grep -E 'in use at exit|total heap usage|ERROR SUMMARY|definitely lost|indirectly lost|possibly lost' "$VG_LOG" | sed 's/^==[0-9]*== *//' | tr '\n' ';')"
}

vg_cleanup() {
	[ -n "$VG_PID" ] && kill -KILL "$VG_PID" 2>/dev/null
	return 0
}
on_exit vg_cleanup

# wait_reload LOG N: wait until LOG has N "reload ok" lines.
wait_reload() {
	local i
	for ((i = 0; i < 600; i++)); do
		[ "$(grep -c 'reload ok' "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	fail "no reload ok number $2 in $1"
}

# origin_start: origin.py "line" on 127.0.0.1:$ORIGIN_PORT in the origin namespace: echoes up
# to the first newline (1 MiB lines too), then ends the exchange.
origin_start() {
	ip netns exec "$NS_ORIGIN" python3 "$ORIGIN_TOOL" line "127.0.0.1:$ORIGIN_PORT" "$WORK/accepts" \
		>>"$WORK/origin.log" 2>&1 &
	wait_port "$NS_ORIGIN" "$ORIGIN_PORT" || fail "origin did not listen"
}

# line LABEL [SIZE]: a line of SIZE (default 32) random characters and a newline.
line() {
	printf '%s-%s\n' "$1" "$(head -c "${2:-32}" /dev/urandom | base64 -w 0)"
}

# ---------------------------------------------------------------- server mode

# ossl NAME [ARGS...]: openssl s_client as PKI leaf NAME ("none": no certificate) to the
# server, stdin to it, what came back in $WORK/peer.out. Returns s_client's status.
ossl() {
	local who=$1 cert=()
	shift
	if [ "$who" != none ]; then
		cert=(-cert "$PKI/$who.pem" -key "$PKI/$who.key" -cert_chain "$PKI/inter.pem")
	fi
	ip netns exec "$NS_EDGE" timeout 120 openssl s_client -connect "$ORIGIN_IP:$TLS_PORT" \
		-CAfile "$PKI/ca.pem" -verify_return_error -servername origin.test "${cert[@]}" \
		-quiet "$@" >"$WORK/peer.out" 2>"$WORK/peer.err"
}

# carried LABEL [SIZE [ARGS...]]: a line goes through ktund to the origin and back.
carried() {
	local label=$1 size=${2:-32}
	shift $(($# > 1 ? 2 : 1))
	line "$label" "$size" >"$WORK/peer.in"
	ossl client "$@" <"$WORK/peer.in" || true
	cmp -s "$WORK/peer.in" "$WORK/peer.out" ||
		fail "$label: the line did not come back: $(tr '\n' ' ' <"$WORK/peer.err")"
}

# refused LABEL WHO: ktund refuses the peer (no data reaches it) and logs the close.
refused() {
	local n
	n=$(grep -c '\] close ' "$SRV_LOG" || true)
	line "$1" | ossl "$2" || true
	[ -s "$WORK/peer.out" ] && fail "$1: a refused peer got data back"
	wait_lines "$SRV_LOG" '\] close ' $((n + 1)) 60 || fail "$1: no close line in the log"
}

server_cycle() {
	SRV_LOG=$WORK/ktund-server.log
	origin_start
	vg_start "$NS_ORIGIN" "$SRV_LOG" server --listen "$ORIGIN_IP:$TLS_PORT" \
		--target "127.0.0.1:$ORIGIN_PORT" --cert "$PKI/server-chain.pem" \
		--key "$PKI/server.key" --cacert "$PKI/ca.pem" --crl "$PKI/crl.pem" \
		--allow-ou edge --allow-uri 'spiffe://ktun.test/ns/*/sa/client' \
		--control "$WORK/server.sock" --workers 2 "${SANDBOX_ARGS[@]}"
	carried tls13 32 -tls1_3
	carried tls12 32 -tls1_2
	carried big 786432
	refused wrong-ou client-wrongou
	refused no-cert none
	refused revoked client-revoked
	# Not TLS at all.
	printf 'GET / HTTP/1.0\r\n\r\n' | ip netns exec "$NS_EDGE" timeout 30 python3 -c \
		'import socket, sys; s = socket.create_connection((sys.argv[1], int(sys.argv[2]))); s.sendall(sys.stdin.buffer.read()); s.recv(100)' \
		"$ORIGIN_IP" "$TLS_PORT" 2>/dev/null || true

	kill -HUP "$VG_PID"
	wait_reload "$SRV_LOG" 1
	carried after-sighup
	"$KTUNCTL" --control "$WORK/server.sock" reload >/dev/null || fail "ktunctl reload failed"
	wait_reload "$SRV_LOG" 2
	carried after-ktunctl-reload
	"$KTUNCTL" --control "$WORK/server.sock" status >/dev/null || fail "ktunctl status failed"
	"$KTUNCTL" --control "$WORK/server.sock" conns >/dev/null || fail "ktunctl conns failed"
	vg_stop
}

# ---------------------------------------------------------------- client mode

# plain LABEL [SIZE]: a line through the ktund client (edge namespace) and back.
plain() {
	line "$1" "${2:-32}" >"$WORK/plain.in"
	ip netns exec "$NS_EDGE" timeout 120 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.stdin.buffer.read())
while True:
    b = s.recv(65536)
    if not b:
        break
    sys.stdout.buffer.write(b)
' "$EDGE_PORT" <"$WORK/plain.in" >"$WORK/plain.out" 2>"$WORK/plain.err" || true
	cmp -s "$WORK/plain.in" "$WORK/plain.out"
}

client_conf() { # VERIFY-CN
	{
		printf '[global]\ncontrol = %s\nworkers = 2\n%s\n\n' "$WORK/client.sock" "$SANDBOX_CONF"
		client_ini edge "127.0.0.1:$EDGE_PORT" "$ORIGIN_IP:$TLS_PORT" "verify-cn = $1" \
			'verify-uri = spiffe://ktun.test/ns/*/sa/nobody'
	} >"$WORK/client.conf"
}

client_cycle() {
	local log=$WORK/ktund-client.log
	origin_start
	start_server # the far end: a ktund server (not under valgrind) in the origin namespace
	client_conf origin.test
	vg_start "$NS_EDGE" "$log" --config "$WORK/client.conf"
	plain first || fail "first: the line did not come back"
	plain big 786432 || fail "big: 1 MiB did not come back"

	client_conf someone-else.test # the reload makes the policy refuse the server
	kill -HUP "$VG_PID"
	wait_reload "$log" 1
	plain refused && fail "refused: carried although verify-cn no longer matches"
	wait_log "$log" 'reason=policy-denied' 30 || fail "refused: no policy-denied close"

	client_conf origin.test
	"$KTUNCTL" --control "$WORK/client.sock" reload >/dev/null || fail "ktunctl reload failed"
	wait_reload "$log" 2
	plain after-ktunctl-reload || fail "after-ktunctl-reload: the line did not come back"
	"$KTUNCTL" --control "$WORK/client.sock" status >/dev/null || fail "ktunctl status failed"
	vg_stop
	stop_daemon "$SERVER_PID" server
	SERVER_PID=
}

case $MODE in
server) server_cycle ;;
client) client_cycle ;;
*) fail "unknown mode $MODE" ;;
esac
pass
