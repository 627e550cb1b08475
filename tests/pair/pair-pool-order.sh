#!/bin/bash
# pair-pool-order: a connection takes the oldest ready pooled connection, not the newest
# (issue 14's WAN figure). Newest first left the others of the pool idle until pool-idle
# replaced them (a handshake at a random moment, competing with requests for the CPU), and
# handed out a connection whose handshake had just ended (its session tickets still being
# filed on both ends). A client with pool = 2 and one worker: an application connection takes
# one, the pool refills (the refill is now the newest); the next application connection must
# take the other one, made before the refill.
set -euo pipefail
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"
pair_init
W=10
[ -n "${KTUN_VM:-}" ] && W=60
bg_origin python3 "$KTUN_LIB/origin.py" echo "127.0.0.1:$ORIGIN_PORT" "$WORK/accepts.log"
wait_port "$NS_ORIGIN" "$ORIGIN_PORT" || fail "origin did not start"
SERVER_TARGET=from-client start_server --allow-destination "127.0.0.1/32:$ORIGIN_PORT"
start_client --destination "127.0.0.1:$ORIGIN_PORT" --pool 2 --workers 1
pooled() { ctl client conns | grep 'state=pooled' | sed -n 's/^conn=\([0-9]*\) .*/\1/p' | sort -n; }

wait_stat client pool_size 2 "$W" || fail "pool_size is $(stat_of client pool_size), want 2"
first=$(pooled)
ip netns exec "$NS_EDGE" python3 "$KTUN_LIB/connect_relay.py" app "127.0.0.1:$EDGE_PORT" one \
	--echo-first >/dev/null || fail "the first application connection failed"
wait_stat client pool_size 2 "$W" || fail "the pool did not refill to 2"
read -r -d '' -a now < <(pooled) || true
[ ${#now[@]} = 2 ] || fail "want 2 pooled connections, have: ${now[*]}"
# The one of the first pair that is left, and the refill (made after it, a higher number).
grep -qx "${now[0]}" <<<"$first" || fail "pooled ${now[*]}: ${now[0]} is not of the first pair ($first)"
grep -qx "${now[1]}" <<<"$first" && fail "pooled ${now[*]}: no refill among them (first pair: $first)"
old=${now[0]} new=${now[1]}

# A second application holds its connection open while the pool is looked at.
ip netns exec "$NS_EDGE" python3 - "$EDGE_PORT" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"two\n")
s.recv(16)
time.sleep(4)
PY
holder=$!
for ((i = 0; i < W * 10; i++)); do
	[ "$(stat_of client pool_hits)" = 2 ] && break
	sleep 0.1
done
[ "$(stat_of client pool_hits)" = 2 ] || fail "pool_hits is $(stat_of client pool_hits), want 2"
taken=$(ctl client conns | grep -v 'state=pooled' | sed -n 's/^conn=\([0-9]*\) .*/\1/p')
grep -qx "$old" <<<"$taken" ||
	fail "the second application took conn=$taken, want the older conn=$old (not the refill conn=$new)"
ctl client conns | grep -q "^conn=$new .*state=pooled" || fail "the refill conn=$new is no longer pooled"
ok "the oldest ready connection was taken (conn=$old), the newer one (conn=$new) still waits"
wait "$holder" || fail "the second application failed"
stop_pair
pass "a warm pool hands out its oldest ready connection first"
