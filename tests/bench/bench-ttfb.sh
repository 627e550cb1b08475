#!/bin/bash
# bench-ttfb: benchtool ttfb (the time-to-first-byte client of bench/run --wan) against real
# peers in two network namespaces: a good echo origin gives N timed samples and no errors;
# nothing listening, a reply that differs from the request and a peer that closes half-way
# are counted as errors with their reason and make it exit 1; bad arguments exit 2.
# No timing is asserted (only that the figures are there and ordered).
set -euo pipefail
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"
need_cmd python3
[ -x "${BENCHTOOL:-}" ] || fail "BENCHTOOL is not set to the built benchtool"
netns_setup
W=$(mktemp -d "${TMPDIR:-/tmp}/bench-ttfb.XXXXXX")
on_exit 'rm -rf "$W"'

# ttfb ARGS... -> $OUT (the JSON), $RC (exit status)
ttfb() {
	RC=0
	OUT=$(in_edge "$BENCHTOOL" ttfb "$@" 2>"$W/err") || RC=$?
}
field() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]).get(sys.argv[2]); print("" if v is None else v)' "$OUT" "$1"; }

# A peer that misbehaves in one way per connection: "wrong" answers with other bytes of the
# same length, "short" answers half the request and closes.
cat >"$W/peer.py" <<'PY'
import socket, sys
mode, port = sys.argv[1], int(sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
s.listen(16)
while True:
    c, _ = s.accept()
    req = b""
    while len(req) < 64:
        b = c.recv(64 - len(req))
        if not b:
            break
        req += b
    c.sendall(b"X" * len(req) if mode == "wrong" else req[: len(req) // 2])
    c.close()
PY

in_origin "$BENCHTOOL" echo 7000 >"$W/echo.log" 2>&1 &
in_origin python3 "$W/peer.py" wrong 7001 >"$W/wrong.log" 2>&1 &
in_origin python3 "$W/peer.py" short 7002 >"$W/short.log" 2>&1 &
for p in 7000 7001 7002; do
	wait_port "$NS_ORIGIN" $p || fail "nothing listens on port $p in the origin namespace"
done

ttfb "$ORIGIN_IP" 7000 20 2 64
[ $RC = 0 ] || fail "ttfb against the echo origin exited $RC: $(cat "$W/err") $OUT"
python3 - "$OUT" <<'PY' || fail "ttfb JSON against the echo origin is not as expected: $OUT"
import json, sys
j = json.loads(sys.argv[1])
assert j["count"] == 20 and j["warm"] == 2 and j["size"] == 64, j
assert j["ok"] == 20 and j["errors"] == 0 and "first_error" not in j, j
s = j["samples_us"]
assert len(s) == 20 and s == sorted(s) and all(x > 0 for x in s), s
assert j["min_us"] == s[0] and j["max_us"] == s[-1], j
assert j["min_us"] <= j["p50_us"] <= j["p90_us"] <= j["p99_us"] <= j["max_us"], j
assert j["first_us"] > 0, j
PY
ok "20 timed connections (+2 warm-up) through the echo origin: p50 $(field p50_us) us, p99 $(field p99_us) us"

ttfb "$ORIGIN_IP" 7009 3 1
[ $RC = 1 ] || not_ok "nothing listening: want exit 1, got $RC"
[ "$(field errors)" = 4 ] && [ "$(field ok)" = 0 ] && grep -q 'Connection refused' <<<"$(field first_error)" &&
	ok "nothing listening: exit 1, 4 errors, $(field first_error)" ||
	not_ok "nothing listening: $OUT"

ttfb "$ORIGIN_IP" 7001 3 0
[ $RC = 1 ] && [ "$(field errors)" = 3 ] && grep -q 'reply differs' <<<"$(field first_error)" &&
	ok "a wrong reply: exit 1, 3 errors, $(field first_error)" ||
	not_ok "a wrong reply is not an error: exit $RC, $OUT"

ttfb "$ORIGIN_IP" 7002 3 0
[ $RC = 1 ] && [ "$(field errors)" = 3 ] && grep -q 'closed before the whole reply' <<<"$(field first_error)" &&
	ok "half a reply, then close: exit 1, 3 errors, $(field first_error)" ||
	not_ok "half a reply is not an error: exit $RC, $OUT"

for bad in "0 1 64" "3 -1 64" "3 1 0" "3 1 2000000"; do
	# shellcheck disable=SC2086
	ttfb "$ORIGIN_IP" 7000 $bad
	[ $RC = 2 ] && ok "ttfb N WARM SIZE = $bad: usage error (exit 2)" ||
		not_ok "ttfb N WARM SIZE = $bad: want exit 2, got $RC ($OUT)"
done
finish "benchtool ttfb measures and counts its failures"
