#!/bin/bash
# bench-connect: what the connect hooks add to connect(). Not part of any suite (run it by hand,
# as root, on a quiet machine: sudo KTUND=build/daemon/ktund KTUNCTL=build/tools/ktunctl
# tests/bpf/bench-connect.sh [N]). An application times N connects (tests/bpf/connect_bench.py:
# connect() only, closed at once) per case; the cases take turns, ROUNDS times, and the median
# of the rounds' medians is printed:
#   plain       to ktund client's listener from outside the hooked cgroup: no program runs
#   hooked      the same from inside it: the programs run, no rule matches (1 rule)
#   redirected  to 192.0.2.2:80 from inside: rule match, rewrite, both map entries
#   hooked-64, redirected-64: the same with 64 rules, the matching one tried last
# ktund's target refuses, so the daemon's side of each connection stays cheap. APP_CPU and
# DAEMON_CPU (0 and 1) pin the application and ktund.
# connect() times on a shared machine move by more than the hooks cost, so the kernel's own
# account of our programs' run time is printed too: BPF_ENABLE_STATS, held only while this
# runs (it adds two clock reads to every BPF program run on the machine meanwhile).
set -euo pipefail
. "$(dirname "$0")/bpflib.sh"
N=${1:-1000}
ROUNDS=${ROUNDS:-9}
# The application and ktund's one worker on CPUs of their own: where the scheduler puts them
# otherwise moves the figures by more than the hooks do.
APP_CPU=${APP_CPU:-0}
DAEMON_CPU=${DAEMON_CPU:-$(($(nproc) > 1 ? 1 : 0))}
bpf_init
BENCH=$BPF_DIR/connect_bench.py

gw() { # start ktund client with ARGS, target refusing
	CLIENT_LOG=$WORK/client.log
	# Outside the cgroup, so that the programs run for the application's connects only.
	nsenter --net="/run/netns/$NS_EDGE" taskset -c "$DAEMON_CPU" "$KTUND" client --workers 1 \
		--listen "127.0.0.1:$EDGE_PORT" --target 127.0.0.1:1 --server-name x --cert "$PKI/client-chain.pem" --key "$PKI/client.key" \
		--cacert "$PKI/ca.pem" --control "$WORK/client.sock" --log-level warning "$@" \
		2>"$CLIENT_LOG" &
	CLIENT_PID=$!
	for _ in $(seq 50); do ctl client status >/dev/null 2>&1 && return; sleep 0.1; done
	fail "ktund did not start"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# The kernel counts run time and runs of every program while someone holds this fd.
python3 -c '
import ctypes, signal, struct
libc = ctypes.CDLL(None, use_errno=True)
attr = ctypes.create_string_buffer(struct.pack("I", 0), 128)  # BPF_STATS_RUN_TIME
if libc.syscall(321, 32, attr, 128) < 0:  # x86_64 bpf(BPF_ENABLE_STATS)
    raise SystemExit("BPF_ENABLE_STATS: errno %d" % ctypes.get_errno())
signal.pause()' &
STATS_PID=$!
on_exit 'kill $STATS_PID 2>/dev/null'

# prog_stats: "run_time_ns run_cnt" of our connect4 and sockops programs, summed.
prog_stats() {
	bpftool -j prog show | python3 -c '
import json, sys
t = c = 0
for p in json.load(sys.stdin):
    if p.get("name") in ("ktun_connect4", "ktun_sockops"):
        t += p.get("run_time_ns", 0); c += p.get("run_cnt", 0)
print(t, c)'
}

declare -A results bpf_ns
measure() { # name, then the command prefix and bench arguments
	local name=$1 before after out
	shift
	before=$(prog_stats)
	out=$("$@" "$N" 2>>"$WORK/bench-errors.log")
	grep -q 'errors=0' <<<"$out" || echo "$name: $out" >&2
	results[$name]+="$(sed -n 's/.*median=\([0-9.]*\).*/\1/p' <<<"$out") "
	after=$(prog_stats)
	# Program time per connect (both programs together).
	bpf_ns[$name]+="$(awk -v b="$before" -v a="$after" -v n="$N" 'BEGIN {
		split(b, x, " "); split(a, y, " "); printf "%.0f", (y[1] - x[1]) / n }') "
}
rules() { # add|del: the 63 rules that never match, each more specific than the one that does
	for i in $(seq 63); do ctl client redirect "$1" client "10.$i.0.0/24:80" >/dev/null; done
}

gw --bpf-cgroup "$CG" --bpf-pin-dir "$PIN" --redirect 192.0.0.0/16:80
outside=(ip netns exec "$NS_EDGE" taskset -c "$APP_CPU" python3 "$BENCH")
inside=(in_cg taskset -c "$APP_CPU" python3 "$BENCH")
for ((r = 0; r < ROUNDS; r++)); do
	measure plain "${outside[@]}" 127.0.0.1 "$EDGE_PORT"
	measure hooked "${inside[@]}" 127.0.0.1 "$EDGE_PORT"
	measure redirected "${inside[@]}" "$ORIGIN_IP" 80
	rules add
	measure hooked-64 "${inside[@]}" 127.0.0.1 "$EDGE_PORT"
	measure redirected-64 "${inside[@]}" "$ORIGIN_IP" 80
	rules del
done
[ "$(stat_of client redirected_local)" = $((2 * ROUNDS * N)) ] ||
	fail "redirected_local is $(stat_of client redirected_local), want $((2 * ROUNDS * N))"
stop_daemon "$CLIENT_PID" client
echo "connect() median of $ROUNDS x $N connects ($(uname -r), $(nproc) CPUs); BPF run time per connect:"
for k in plain hooked redirected hooked-64 redirected-64; do
	printf '  %-14s %5s us   bpf %4s ns   (rounds, us: %s)\n' "$k" \
		"$(tr ' ' '\n' <<<"${results[$k]}" | grep . | median)" \
		"$(tr ' ' '\n' <<<"${bpf_ns[$k]}" | grep . | median)" "${results[$k]}"
done
