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
# shellcheck source-path=SCRIPTDIR source=guest-lib.sh
. "$SRC/bench/guest-lib.sh"
guest_setup

# EVENT's count in a perf stat -x, file, per GiB
per_gib() { awk -F, -v e="$2" -v b="$BYTES" '$3 == e { printf "%d", $1 * 1073741824 / b }' "$1"; }
COUNTED="syscalls:sys_enter_io_uring_enter,context-switches"

run() { # KTUND LABEL STREAMS
	local x0 b0 r t1 t2 counted='' e=syscalls:sys_enter_io_uring_enter
	pair_up "$1"
	if [ "${KTUN_AB_COUNT:-0}" = 1 ]; then
		perf stat -x, -e "$COUNTED" -o "$W/c.perf" -p "$C" &
		t1=$!
		perf stat -x, -e "$COUNTED" -o "$W/s.perf" -p "$S" &
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
	pair_down
}
for ((i = 1; i <= ROUNDS; i++)); do
	for n in 1 8; do
		run "$A" A "$n"
		run "$B" B "$n"
	done
done
