#!/bin/bash
# bench-floortool: bench/floortool, the userspace floor's two halves in bench/run, against real
# peers in network namespaces (app -> relay on the edge -> relay on the origin -> servers, as
# bench/run lays them out). No timing is asserted.
#   crypto            1 MiB sealed and opened: 64 records of 16 KiB, the byte count, both CPU figures
#   crypto-refuses    an unknown cipher, a cipher that is no TLS 1.3 AEAD (AES-128-CBC), a byte
#                     count that is not whole records: exit 2 with the reason, before measuring
#   relay-MODE        (epoll, threads) exact byte counts through the relay pair with 1 and 4
#                     streams (benchtool send checks the sink's count, which comes back only if the
#                     half-close went through), and 64-byte round trips through an echo server
#   relay-no-target   a relay whose target refuses: the accepted connection is closed (the client
#                     sees the end, not a hang), the reason is logged, the relay serves on
#   relay-bad-mode    an unknown relay mode: exit 2
set -euo pipefail
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"
need_cmd python3
[ -x "${BENCHTOOL:-}" ] || fail "BENCHTOOL is not set to the built benchtool"
[ -x "${FLOORTOOL:-}" ] || fail "FLOORTOOL is not set to the built floortool"
W=$(mktemp -d "${TMPDIR:-/tmp}/bench-floortool.XXXXXX")
on_exit 'rm -rf "$W"'

# crypto
out=$("$FLOORTOOL" crypto $((1 << 20))) || fail "floortool crypto 1 MiB failed"
python3 - "$out" <<'PY' && ok "crypto: 1 MiB as 64 records of 16 KiB: $out" || not_ok "crypto: unexpected output $out"
import json, sys
j = json.loads(sys.argv[1])
assert j["cipher"] == "AES-128-GCM" and j["bytes"] == 1 << 20 and j["records"] == 64 and j["record_bytes"] == 16384, j
assert j["seal_cpu_s"] >= 0 and j["open_cpu_s"] >= 0, j
PY
for c in AES-256-GCM CHACHA20-POLY1305; do
	out=$("$FLOORTOOL" crypto 32768 "$c") && grep -q "\"cipher\": \"$c\", \"bytes\": 32768, \"records\": 2" <<<"$out" &&
		ok "crypto: $c, 2 records" || not_ok "crypto: $c: $out"
done
refuse() { # WHY WANT ARGS...
	local why=$1 want=$2 rc=0
	shift 2
	"$FLOORTOOL" "$@" >"$W/out" 2>"$W/err" || rc=$?
	if [ $rc = 2 ] && grep -q -- "$want" "$W/err" && [ ! -s "$W/out" ]; then
		ok "$why: exit 2, $(head -n 1 "$W/err")"
	else
		not_ok "$why: exit $rc, want 2 with '$want': $(head -n 2 "$W/err") $(head -c 200 "$W/out")"
	fi
}
refuse "crypto-refuses: unknown cipher" "unknown or unsuitable cipher" crypto 16384 NO-SUCH-CIPHER
refuse "crypto-refuses: AES-128-CBC is no TLS 1.3 AEAD" "unknown or unsuitable cipher" crypto 16384 AES-128-CBC
refuse "crypto-refuses: not whole records" "multiple of 16384" crypto 16385
refuse "crypto-refuses: no bytes" "multiple of 16384" crypto 0
refuse "relay-bad-mode" "unknown mode" relay 127.0.0.1 1 127.0.0.1 2 fork

# relay: app -> edge relay -> origin relay -> servers in a fourth namespace, as in bench/run
netns_setup --app
NS_SRV=${NS_ORIGIN/origin/srv}
_netns_add "$NS_SRV"
_netns_link "$NS_ORIGIN" vo-srv 203.0.113.1 2001:db8:3::1 "$NS_SRV" vs-origin 203.0.113.2 2001:db8:3::2
in_srv() { ip netns exec "$NS_SRV" "$@"; }
in_srv "$BENCHTOOL" sink 5201 >"$W/sink.log" 2>&1 &
in_srv "$BENCHTOOL" echo 7000 >"$W/echo.log" 2>&1 &
wait_port "$NS_SRV" 5201 && wait_port "$NS_SRV" 7000 || fail "the servers did not start"

# relay_pair MODE TARGET_PORT: the two relays, edge 4201 -> origin 7443 -> srv TARGET_PORT
relay_pair() {
	# ip netns exec directly (not in_origin, a function): $! is then the relay itself
	ip netns exec "$NS_ORIGIN" "$FLOORTOOL" relay "$ORIGIN_IP" 7443 203.0.113.2 "$2" "$1" >"$W/relay-origin.log" 2>&1 &
	RO=$!
	ip netns exec "$NS_EDGE" "$FLOORTOOL" relay "$EDGE_APP_IP" 4201 "$ORIGIN_IP" 7443 "$1" >"$W/relay-edge.log" 2>&1 &
	RE=$!
	wait_port "$NS_ORIGIN" 7443 && wait_port "$NS_EDGE" 4201 || fail "the $1 relays did not start"
}
stop_relays() {
	kill "$RE" "$RO" 2>/dev/null || true
	wait "$RE" "$RO" 2>/dev/null || true
}
for mode in epoll threads; do
	relay_pair $mode 5201
	for n in 1 4; do
		out=$(in_app "$BENCHTOOL" send "$EDGE_APP_IP" 4201 $((8 << 20)) $n 2>"$W/err") &&
			ok "relay-$mode: 8 MiB in $n stream(s), the sink counted them all: $out" ||
			not_ok "relay-$mode: 8 MiB in $n stream(s): $(cat "$W/err") $out"
	done
	stop_relays
	relay_pair $mode 7000
	out=$(in_app "$BENCHTOOL" rr "$EDGE_APP_IP" 4201 100 64 2>"$W/err") &&
		ok "relay-$mode: 100 round trips of 64 bytes through the echo server" ||
		not_ok "relay-$mode: round trips: $(cat "$W/err")"
	stop_relays
done

# A target that refuses: the client reads the end of the connection (within 10 s, not a hang).
for mode in epoll threads; do
	relay_pair $mode 7009
	got=$(in_app timeout 10 python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 4201))
s.sendall(b"x" * 64)
try:
    print("end" if s.recv(64) == b"" else "data")
except ConnectionResetError:
    print("end")
' "$EDGE_APP_IP" 2>&1) || got="$got (exit $?)"
	if [ "$got" = end ] && grep -q 'to the target: Connection refused' "$W/relay-origin.log" &&
		kill -0 "$RO" 2>/dev/null; then
		ok "relay-no-target ($mode): the connection ends, '$(head -n 1 "$W/relay-origin.log")', the relay serves on"
	else
		not_ok "relay-no-target ($mode): client saw '$got'; origin relay log: $(head -n 3 "$W/relay-origin.log")"
	fi
	stop_relays
done
finish
