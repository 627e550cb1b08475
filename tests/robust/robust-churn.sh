#!/bin/bash
# robust-churn: thousands of short connections through the pair, one after another and 100 at
# a time, in two equal rounds after a warm-up with the same peak concurrency. Every exchange
# echoes exactly; after each round both daemons have exactly their descriptors of before, and
# their memory grows by no more than the bounds below (the first round may still fill the
# allocator's caches, the second must not need more); every connection opened was closed once,
# reason done. The bounds leave room for malloc's per-thread caches only: with those turned off
# (GLIBC_TUNABLES=glibc.malloc.tcache_count=0) the heap in use was the same to the byte after
# every one of eight rounds, and Rss within 68 KiB. A connection's buffers are a mapping of their
# own, so buffers left mapped, or 1.4 KiB of heap lost per connection, show as megabytes a round.
set -euo pipefail
. "$(dirname "$0")/robustlib.sh"
SEQ=1000 CONC=2000 PAR=100
GROW_FIRST_KIB=4096 # warm-up -> end of round 1
GROW_SECOND_KIB=1024 # round 1 -> round 2
robust_init
origin_up
start_pair

edge_tool churn 500 --concurrency $PAR >/dev/null || fail "warm-up churn failed"
total=500
declare -A fd0 rss0 rss1
for who in server client; do
	wait_stat $who conns_open 0 10 || fail "$who: warm-up connections still open"
	pid=$(pid_of $who)
	fd0[$who]=$(fds "$pid") rss0[$who]=$(mem_kb "$pid" Rss)
	note "$who after warm-up: ${fd0[$who]} fds, Rss ${rss0[$who]} KiB"
done

for round in $(seq "${KTUN_CHURN_ROUNDS:-2}"); do
	out=$(edge_tool churn $SEQ 2>&1) || fail "round $round, sequential: $out"
	ok "round $round: $out"
	out=$(edge_tool churn $CONC --concurrency $PAR 2>&1) || fail "round $round, concurrent: $out"
	ok "round $round: $out"
	total=$((total + SEQ + CONC))
	for who in server client; do
		pid=$(pid_of $who)
		check_books $who $total
		want_stat_of $who close.done $total
		wait_fds "$pid" "${fd0[$who]}" 10 ||
			fail "$who: $(fds "$pid") fds after round $round, ${fd0[$who]} before"
		rss=$(mem_kb "$pid" Rss)
		ok "$who after round $round: fds ${fd0[$who]} as before; Rss $rss KiB ($((rss - rss0[$who])) KiB over the warm-up)"
		if [ "$round" = 1 ]; then
			rss1[$who]=$rss
			[ $((rss - rss0[$who])) -le $GROW_FIRST_KIB ] ||
				fail "$who: Rss grew $((rss - rss0[$who])) KiB in round 1 (bound $GROW_FIRST_KIB KiB)"
		else
			prev=${rss1[$who]}
			rss1[$who]=$rss
			[ $((rss - prev)) -le $GROW_SECOND_KIB ] ||
				fail "$who: Rss grew $((rss - prev)) KiB in round $round (bound $GROW_SECOND_KIB KiB): a leak"
		fi
	done
done
stop_pair
pass "$total short connections, opened == closed, fds back after each round, memory bounded"
