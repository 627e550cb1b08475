#!/bin/bash
# bench/vm-profile.sh — where a kTLS ktund pair's time goes, against the kernel's own floor, in ONE
# guest (issue 12, "Where kTLS time goes now" in docs/performance.md).
#
#   tests/vm/run --share OUT -- bench/vm-profile.sh KTUND OUT [MIB]
#
# For 1 and 8 streams, MIB MiB (default 32) one way, each under `perf record -a -g -F 4000 -e
# cpu-clock` (software clock, the whole guest): a kTLS ktund pair on loopback (benchtool send ->
# ktund client -> ktund server -> sink), the bare kernel-TLS connection (benchtool ktls-floor,
# send/recv and vmsplice+zc) and a plain TCP hop (benchtool send -> sink). Writes to OUT, per
# LABEL-STREAMS: perf-L-N.txt (`perf report --stdio`, self time by comm and symbol, top lines)
# and script-L-N.txt (`perf script`: comm and call chain per sample, for bench/vm-profile.py).
# Not a test: nothing is asserted.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 2 ] || { sed -n '2,13s/^# \{0,1\}//p' "$0" >&2; exit 2; }
K=$1 OUT=$2 BYTES=$((${3:-32} << 20))
command -v perf >/dev/null || { echo "no perf" >&2; exit 1; }
# shellcheck source-path=SCRIPTDIR source=guest-lib.sh
. "$SRC/bench/guest-lib.sh"
guest_setup

echo "kernel $(uname -r), $(nproc) vCPU, $((BYTES >> 20)) MiB, perf $(perf version 2>/dev/null)"
for n in 1 8; do
	for l in pair copy+copy vmsplice+zc hop; do
		[ "$l" = pair ] && pair_up "$K"
		perf record -q -a -g -F 4000 -e cpu-clock -o "$W/perf.data" -- \
			bash -c "$(declare -f work); BT=$BT BYTES=$BYTES work $l $n" >"$W/work.out" 2>&1
		echo "$l streams=$n $(sed -n 's/.*"secs": \([0-9.]*\).*/secs=\1/p' "$W/work.out")"
		[ "$l" = pair ] && pair_down
		perf report -q -i "$W/perf.data" --stdio --no-children --sort comm,sym --percent-limit 1 -g none \
			2>/dev/null | head -40 >"$OUT/perf-$l-$n.txt"
		perf script -i "$W/perf.data" -F comm,ip,sym,dso 2>/dev/null >"$OUT/script-$l-$n.txt"
	done
done
