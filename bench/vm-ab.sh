#!/bin/bash
# bench/vm-ab.sh — A/B of two ktund binaries on the kTLS path, alternating inside ONE guest, so
# that both see the same load (the host's load moves the guest's timings more than most changes).
#
#   tests/vm/run -- bench/vm-ab.sh KTUND_A KTUND_B [ROUNDS] [MIB]
#
# For each round and 1 and 8 streams: a kTLS ktund pair on loopback (kTLS required) with A,
# then with B, MIB MiB (default 32) through it (benchtool send -> sink, exact counts). Prints
# one line per run: label, streams, seconds, the guest's context switches and busy jiffies
# (/proc/stat). With KTUN_AB_COUNT=1, `perf stat` counts each daemon's io_uring_enter calls
# (the syscall tracepoint, all threads: no ptrace stops, unlike strace -c) and context switches,
# and each line adds them per GiB; run through tests/vm/run, KTUN_AB_COUNT reaches the guest
# only when KTUN_VM_ENV lists it (KTUN_VM_ENV=KTUN_AB_COUNT). Not a test: nothing is asserted.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 2 ] || { sed -n '2,14s/^# \{0,1\}//p' "$0" >&2; exit 2; }
A=$1 B=$2 ROUNDS=${3:-3} BYTES=$((${4:-32} << 20))
grep -q TlsCurrTxSw /proc/net/tls_stat 2>/dev/null || { echo "no kernel TLS here: run me in tests/vm/run" >&2; exit 1; }
W=$(mktemp -d)
BT=$W/benchtool
cc -O2 -o "$BT" "$SRC/bench/benchtool.c"
"$SRC/tests/lib/pki.sh" "$W/pki" >/dev/null 2>&1
P=$W/pki
"$BT" sink 9000 >/dev/null 2>&1 &
SINK=$!
trap 'kill $SINK 2>/dev/null; rm -rf "$W"' EXIT

stat_ctxt() { awk '$1 == "ctxt" { print $2 }' /proc/stat; }
stat_busy() { awk 'NR == 1 { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
# EVENT's count in a perf stat -x, file, per GiB
per_gib() { awk -F, -v e="$2" -v b="$BYTES" '$3 == e { printf "%d", $1 * 1073741824 / b }' "$1"; }
COUNTED="syscalls:sys_enter_io_uring_enter,context-switches"

run() { # KTUND LABEL STREAMS
	local s c x0 b0 r t1 t2 counted='' e=syscalls:sys_enter_io_uring_enter
	"$1" server --listen 127.0.0.1:9443 --target 127.0.0.1:9000 --cert "$P/server-chain.pem" \
		--key "$P/server.key" --cacert "$P/ca.pem" --allow-cn edge-client --ktls required \
		--control "$W/s.sock" >"$W/s.log" 2>&1 &
	s=$!
	"$1" client --listen 127.0.0.1:9001 --target 127.0.0.1:9443 --server-name origin.test \
		--cert "$P/client-chain.pem" --key "$P/client.key" --cacert "$P/ca.pem" --ktls required \
		--control "$W/c.sock" >"$W/c.log" 2>&1 &
	c=$!
	for _ in $(seq 150); do
		grep -q 'notice: ready' "$W/s.log" && grep -q 'notice: ready' "$W/c.log" && break
		sleep 0.2
	done
	if [ "${KTUN_AB_COUNT:-0}" = 1 ]; then
		perf stat -x, -e "$COUNTED" -o "$W/c.perf" -p "$c" &
		t1=$!
		perf stat -x, -e "$COUNTED" -o "$W/s.perf" -p "$s" &
		t2=$!
		sleep 1
	fi
	x0=$(stat_ctxt) b0=$(stat_busy)
	r=$("$BT" send 127.0.0.1 9001 "$BYTES" "$3" | sed -n 's/.*"secs": \([0-9.]*\).*/\1/p')
	if [ "${KTUN_AB_COUNT:-0}" = 1 ]; then
		kill -INT "$t1" "$t2"
		wait "$t1" "$t2" 2>/dev/null || true
		counted=" io_uring_enter/GiB client=$(per_gib "$W/c.perf" $e) server=$(per_gib "$W/s.perf" $e)"
		counted+=" daemon_ctxt/GiB client=$(per_gib "$W/c.perf" context-switches) server=$(per_gib "$W/s.perf" context-switches)"
	fi
	echo "$2 streams=$3 secs=${r:-failed} ctxt=$(($(stat_ctxt) - x0)) busy_jiffies=$(($(stat_busy) - b0))$counted"
	kill "$c" "$s"
	wait "$c" "$s" 2>/dev/null || true
}
for ((i = 1; i <= ROUNDS; i++)); do
	for n in 1 8; do
		run "$A" A "$n"
		run "$B" B "$n"
	done
done
