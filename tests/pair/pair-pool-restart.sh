#!/bin/bash
# pair-pool-restart: a client's warm pool (pool = 8, one worker) across a restart of the far
# ktund (review finding 1, repro backoff-after-far-restart.sh):
#   kill   the far ktund is killed and back at once: the 8 ready connections close in one
#          batch, which is one back-off round (1 s), not eight (the 30 s cap); the pool is full
#          again well before the cap
#   down   after a reload (the back-off starts afresh), the far side stays down: one probe
#          connection per back-off round (1, 2, 4 s), not 8
#   term   first, a draining far ktund closes them with close_notify (reason=done on the
#          client): no failure (the refill's first failure is the refused connect that
#          follows, not the close), and the pool refills once the far side accepts again
set -euo pipefail
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"
pair_init
N=8
server() { SERVER_TARGET=from-client start_server --allow-destination "127.0.0.1/32:$ORIGIN_PORT"; }

# $1: the signal. The bound (12 s) lies between one round of the fixed code (about 1-3 s)
# and the 30 s cap that counting every closed connection reached.
restart() {
	local sig=$1 i
	kill "-$sig" "$SERVER_PID"
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=
	server
	for ((i = 0; i < 120; i++)); do
		[ "$(stat_of client pool_size)" = "$N" ] && return 0
		sleep 0.1
	done
	return 1
}

server
start_client --destination "127.0.0.1:$ORIGIN_PORT" --pool "$N" --workers 1
wait_stat client pool_size "$N" 10 || fail "no pool of $N"
restart TERM || fail "the pool is not full 12 s after a clean far restart (pool_size \
$(stat_of client pool_size)): $(grep 'pool:' "$CLIENT_LOG")"
grep -q 'close peer=? .*reason=done' "$CLIENT_LOG" ||
	fail "no clean close of a pooled connection: $(close_lines "$CLIENT_LOG")"
! grep -q 'pool: a pooled connection to the far ktund closed (done' "$CLIENT_LOG" ||
	fail "a close_notify from a draining far ktund counted as a failure: $(grep 'pool:' "$CLIENT_LOG")"
ok "a draining far ktund (close_notify) is no failure: the pool refills"
restart KILL || fail "the pool is not full 12 s after the far ktund came back (pool_size \
$(stat_of client pool_size)): $(grep 'pool:' "$CLIENT_LOG")"
ok "a far restart (killed) costs one back-off round, not the cap"
# The far side stays down: one probe per round, not the whole share of 8 each time. A
# reload first starts the back-off afresh (the rounds above raised it): 1, 2, 4 s, so three
# probes fall in the 10 s below; without the reset the rounds are 4 s and 8 s or longer.
ctl client reload >/dev/null || fail "reload failed"
wait_stat client pool_discards.reload "$N" 10 || fail "the reload did not replace the pool"
wait_stat client pool_size "$N" 10 || fail "the pool did not refill after the reload"
kill -KILL "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=
wait_stat client pool_size 0 10 || fail "the pool kept connections to a dead server"
discards() { echo $(($(stat_of client pool_discards.closed) + $(stat_of client pool_discards.failed))); }
d0=$(discards)
sleep 10 # the window the bound below is about (a 4 s round falls in it), not a timing assert
d1=$(discards)
note "far side down: $((d1 - d0)) pooled connections tried in 10 s"
[ $((d1 - d0)) -ge 2 ] && [ $((d1 - d0)) -le 5 ] ||
	fail "want 2 to 5 probes in 10 s (one per round, back-off reset by the reload), got $((d1 - d0))"
ok "after a reload the back-off starts afresh; while the far side is down, one probe per round"
stop_pair
pass "the pool across far ktund restarts"
