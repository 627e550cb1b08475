#!/bin/bash
# pair-sha256: 256 MiB each way at once (full duplex) through ktund client -> ktund server; each
# end hashes what it receives and the SHA-256 must equal that of the file the other end sent.
set -euo pipefail
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"
need_cmd sha256sum
pair_init

size=${KTUN_PAIR_BYTES:-268435456}
head -c "$size" /dev/urandom >"$WORK/up.bin"
head -c "$size" /dev/urandom >"$WORK/down.bin"
want_up=$(sha256sum <"$WORK/up.bin" | cut -d' ' -f1)
want_down=$(sha256sum <"$WORK/down.bin" | cut -d' ' -f1)

bg_origin python3 "$PAIRTOOL" serve-duplex "$ORIGIN_PORT" "$WORK/down.bin" "$WORK/origin-got"
wait_port "$NS_ORIGIN" "$ORIGIN_PORT" || fail "origin did not start"
start_pair

t0=$(date +%s.%N)
out=$(in_edge timeout 120 python3 "$PAIRTOOL" duplex-client 127.0.0.1 "$EDGE_PORT" "$WORK/up.bin") ||
	fail "duplex client failed: $out"
t1=$(date +%s.%N)
for _ in $(seq 100); do [ -s "$WORK/origin-got" ] && break; sleep 0.1; done
read -r got_down n_down _ <<<"$out"
read -r got_up n_up <"$WORK/origin-got" || fail "origin wrote no hash"
secs=$(python3 -c "print(f'{$t1 - $t0:.2f}')")

[ "$n_up" = "$size" ] || fail "origin received $n_up bytes, want $size"
[ "$n_down" = "$size" ] || fail "client received $n_down bytes, want $size"
[ "$got_up" = "$want_up" ] || fail "edge->origin sha256 $got_up, want $want_up"
[ "$got_down" = "$want_down" ] || fail "origin->edge sha256 $got_down, want $want_down"
ok "edge->origin $n_up bytes sha256 $got_up"
ok "origin->edge $n_down bytes sha256 $got_down"
mib=$((size / 1048576))
note "time: ${mib} MiB each way (full duplex) in ${secs} s: $(python3 -c "print(round(2 * $mib / ($t1 - $t0)))") MiB/s total"

wait_log "$SERVER_LOG" '\] close .*reason=' 10 || fail "no close line in the server log"
line=$(close_lines "$SERVER_LOG")
grep -q " up=$size down=$size .*reason=done" <<<"$line" || fail "server close line: $line"
ok "$line"
for who in server client; do
	note "$who datapath: $(stat_of $who datapath)"
done
stop_pair
pass "256 MiB each way, hashes equal"
