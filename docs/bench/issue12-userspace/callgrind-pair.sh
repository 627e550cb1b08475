#!/bin/bash
# callgrind-pair.sh KTUND LABEL MIB: callgrind instructions of each ktund of a loopback pair
# (a network namespace of its own) while MIB MiB go client -> server (benchtool send -> sink),
# instrumentation on after start-up. Root. Needs build/ (uring-yield preload, see
# tests/valgrind) and build-bench/ (benchtool, from bench/run). Output in build-out/cg-LABEL;
# read it with callgrind_annotate --inclusive=no build-out/cg-LABEL/s.out.1 (c.out.1).
set -eu
KTUND=$1 LABEL=$2 MIB=$3
SRC=$(cd "$(dirname "$0")/../../.." && pwd)
OUT=$SRC/build-out/cg-$LABEL
BT=$SRC/build-bench/bench/benchtool
NS=uspace-cg-$$
rm -rf "$OUT"; mkdir -p "$OUT"
W=$(mktemp -d /tmp/uspace-cg.XXXXXX)
"$SRC/tests/lib/pki.sh" "$W/pki" >/dev/null 2>&1
P=$W/pki
ip netns add $NS; ip -n $NS link set lo up
cleanup() { for p in ${PIDS:-}; do kill $p 2>/dev/null || true; done; sleep 2; ip netns del $NS 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
cat >"$W/s.conf" <<C
[global]
control = $W/s.sock
sandbox = no
[t]
mode = server
listen = 127.0.0.1:18443
target = 127.0.0.1:15202
allow-ou = edge
cert = $P/server-chain.pem
key = $P/server.key
cacert = $P/ca.pem
ktls = off
unsafe-target = yes
C
cat >"$W/c.conf" <<C
[global]
control = $W/c.sock
sandbox = no
[t]
mode = client
listen = 127.0.0.1:15201
target = 127.0.0.1:18443
server-name = origin.test
cert = $P/client-chain.pem
key = $P/client.key
cacert = $P/ca.pem
ktls = off
unsafe-listen = yes
C
ip netns exec $NS "$BT" sink 15202 >/dev/null 2>&1 & PIDS="$!"
for s in s c; do
  ip netns exec $NS env LD_PRELOAD=$SRC/build/tests/valgrind/liburing-yield.so valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/$s.out" \
    "$KTUND" --config "$W/$s.conf" --workers 1 2>"$OUT/$s.log" & PIDS="$PIDS $!"
done
for i in $(seq 300); do grep -qs 'notice: ready' "$OUT/s.log" && grep -qs 'notice: ready' "$OUT/c.log" && break; sleep 0.2; done
callgrind_control -i on >/dev/null
ip netns exec $NS "$BT" send 127.0.0.1 15201 $((MIB * 1048576)) > "$OUT/send.json"
callgrind_control -i off >/dev/null
callgrind_control -d >/dev/null
sleep 1
cat "$OUT/send.json"
