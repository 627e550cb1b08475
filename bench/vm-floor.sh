#!/bin/bash
# bench/vm-floor.sh — what a bare kernel TLS connection costs, done several ways, against a kTLS
# ktund pair, alternating inside ONE guest (issue 12: "the floor is not a floor").
#
#   tests/vm/run -- bench/vm-floor.sh KTUND [ROUNDS] [MIB] [STREAMS...]
#
# Each round, for each STREAMS (default 1 8), in rotating order: benchtool ktls-floor in each
# MODE (see benchtool.c: SEND+RECV), a plain TCP hop (benchtool send -> sink) and a kTLS ktund
# pair on loopback, MIB MiB (default 32). One line per run: label, streams, seconds, the guest's
# context switches and busy jiffies (/proc/stat). With KTUN_FLOOR_PERF=1, one more run of each
# label under `perf record -a -g` (software clock), and the top of each report. Not a test.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { sed -n '2,11s/^# \{0,1\}//p' "$0" >&2; exit 2; }
K=$1 ROUNDS=${2:-3} BYTES=$((${3:-32} << 20))
shift $(($# < 3 ? $# : 3))
STREAMS=("${@:-1}")
[ $# -ge 1 ] || STREAMS=(1 8)
MODES=(vmsplice+zc copy+copy vmsplice+splice copy+splice)
# shellcheck source-path=SCRIPTDIR source=guest-lib.sh
. "$SRC/bench/guest-lib.sh"
guest_setup

run() { # LABEL STREAMS
	local x0 b0 r
	[ "$1" = pair ] && pair_up "$K"
	x0=$(stat_ctxt) b0=$(stat_busy)
	r=$(work "$1" "$2" | sed -n 's/.*"secs": \([0-9.]*\).*/\1/p')
	echo "$1 streams=$2 secs=${r:-failed} ctxt=$(($(stat_ctxt) - x0)) busy_jiffies=$(($(stat_busy) - b0))"
	if [ "$1" = pair ]; then
		grep -m1 -o 'version=[^ ]* cipher=[^ ]*' "$W/s.log" | sed 's/^/  pair: /' || true
		pair_down
	fi
}

LABELS=("${MODES[@]}" hop pair)
echo "kernel $(uname -r), $(nproc) vCPU, host load ${KTUN_BENCH_HOST_LOAD:-unknown}"
for ((i = 1; i <= ROUNDS; i++)); do
	k=$(((i - 1) % ${#LABELS[@]}))
	for n in "${STREAMS[@]}"; do
		for l in "${LABELS[@]:k}" "${LABELS[@]:0:k}"; do run "$l" "$n"; done
	done
done
[ "${KTUN_FLOOR_PERF:-0}" = 1 ] || exit 0
for l in vmsplice+zc vmsplice+splice pair; do
	[ "$l" = pair ] && pair_up "$K"
	perf record -q -a -g -e cpu-clock -o "$W/perf-$l.data" -- bash -c "$(declare -f work); BT=$BT BYTES=$BYTES work $l 1" >/dev/null 2>&1
	echo "=== perf, $l, 1 stream (cpu-clock, whole guest, self time)"
	perf report -q -i "$W/perf-$l.data" --no-children --sort sym --percent-limit 1.5 -g none 2>/dev/null | head -40
	[ "$l" = pair ] && pair_down
done
