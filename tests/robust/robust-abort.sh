#!/bin/bash
# robust-abort: ten concurrent echo transfers of 4 MiB through the pair; half way through, two
# are reset by the application (SO_LINGER 0 close) and two by the origin. The six others
# complete with equal SHA-256; the applications whose origin reset them see a reset, never a
# clean end; both daemons log each aborted connection with reason=reset (the reset crosses the
# tunnel both ways) and the rest with reason=done; descriptors are back afterwards.
set -euo pipefail
. "$(dirname "$0")/robustlib.sh"
COUNT=10 CABORT=2 OABORT=2
robust_init
origin_up
start_pair
fd_s=$(fds "$SERVER_PID") fd_c=$(fds "$CLIENT_PID")

for run in 1 2; do
	out=$(edge_tool transfers --count $COUNT --size $((4 << 20)) --interval 20 \
		--client-abort $CABORT --origin-abort $OABORT 2>&1) || fail "run $run: $out"
	ok "run $run: $out"
done
aborted=$((2 * (CABORT + OABORT))) clean=$((2 * (COUNT - CABORT - OABORT)))
for who in server client; do
	check_books $who $((2 * COUNT))
	want_stat_of $who close.reset $aborted
	want_stat_of $who close.done $clean
	log=$([ $who = server ] && echo "$SERVER_LOG" || echo "$CLIENT_LOG")
	n=$(grep -cE '\] close peer=.* reason=reset( |$)' "$log" || true)
	[ "$n" = $aborted ] || fail "$who: want $aborted close lines with reason=reset, got $n"
	ok "$who: e.g. $(grep -m1 -E '\] close peer=.* reason=reset' "$log" | sed 's/^.*ktund: info: //')"
done
wait_fds "$SERVER_PID" "$fd_s" 10 || fail "server: $(fds "$SERVER_PID") fds afterwards, $fd_s before"
wait_fds "$CLIENT_PID" "$fd_c" 10 || fail "client: $(fds "$CLIENT_PID") fds afterwards, $fd_c before"
stop_pair
pass "aborts from either side reset only their own connection; the others stay exact"
