# shellcheck shell=bash
# bench/guest-lib.sh — what the guest benches (vm-ab.sh, vm-floor.sh, vm-profile.sh) share.
# Sourced inside the kTLS guest (tests/vm/run), with SRC set to the checkout and `set -euo
# pipefail`. guest_setup makes W (a work directory, removed on exit), BT (benchtool built
# from source, as the guest has no build of its own), P (a test PKI) and a benchtool sink on
# 127.0.0.1:9000 (SINK), and kills SINK and a pair started by pair_up (S, C) on exit.

guest_setup() {
	grep -q TlsCurrTxSw /proc/net/tls_stat 2>/dev/null ||
		{ echo "no kernel TLS here: run me in tests/vm/run" >&2; exit 1; }
	W=$(mktemp -d)
	BT=$W/benchtool
	cc -O2 -o "$BT" "$SRC/bench/benchtool.c"
	"$SRC/tests/lib/pki.sh" "$W/pki" >/dev/null 2>&1
	P=$W/pki
	"$BT" sink 9000 >/dev/null 2>&1 &
	SINK=$!
	S='' C=''
	trap 'kill $SINK $S $C 2>/dev/null; rm -rf "$W"' EXIT
}

stat_ctxt() { awk '$1 == "ctxt" { print $2 }' /proc/stat; }
stat_busy() { awk 'NR == 1 { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

# A pair of the ktund binary KTUND on loopback with kTLS required: client 127.0.0.1:9001 ->
# server 127.0.0.1:9443 -> the sink; S and C are their pids.
pair_up() { # KTUND
	local k=$1

	"$k" server --listen 127.0.0.1:9443 --target 127.0.0.1:9000 --cert "$P/server-chain.pem" \
		--key "$P/server.key" --cacert "$P/ca.pem" --allow-cn edge-client --ktls required \
		--control "$W/s.sock" --log-level info >"$W/s.log" 2>&1 &
	S=$!
	"$k" client --listen 127.0.0.1:9001 --target 127.0.0.1:9443 --server-name origin.test \
		--cert "$P/client-chain.pem" --key "$P/client.key" --cacert "$P/ca.pem" --ktls required \
		--control "$W/c.sock" >"$W/c.log" 2>&1 &
	C=$!
	for _ in $(seq 150); do
		grep -q 'notice: ready' "$W/s.log" && grep -q 'notice: ready' "$W/c.log" && return 0
		sleep 0.2
	done
	echo "the pair did not start" >&2
	cat "$W/s.log" "$W/c.log" >&2
	exit 1
}
pair_down() {
	kill "$C" "$S"
	wait "$C" "$S" 2>/dev/null || true
	S='' C=''
}

# BYTES through LABEL (hop: one plain TCP connection to the sink; pair: the ktund pair; else a
# benchtool ktls-floor mode) with STREAMS streams.
work() { # LABEL STREAMS
	case $1 in
	hop) "$BT" send 127.0.0.1 9000 "$BYTES" "$2" ;;
	pair) "$BT" send 127.0.0.1 9001 "$BYTES" "$2" ;;
	*) "$BT" ktls-floor "$BYTES" "$2" "$1" ;;
	esac
}
