#!/bin/bash
# pair-http: curl in the edge namespace fetches a file from a python http.server origin through
# ktund client -> ktund server; the file arrives intact, the server names the client's identity
# and logs one close line with reason=done and the exact byte counts, the client names the server.
set -euo pipefail
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"
need_cmd curl sha256sum
pair_init

mkdir -p "$WORK/www"
head -c 5000000 /dev/urandom >"$WORK/www/file.bin"
bg_origin python3 -m http.server --bind 127.0.0.1 --directory "$WORK/www" "$ORIGIN_PORT"
wait_port "$NS_ORIGIN" "$ORIGIN_PORT" || fail "http.server did not start"
start_pair

# size_request: bytes curl sent; size_header + size_download: bytes it received.
sizes=$(in_edge curl -sS --max-time 30 -o "$WORK/got.bin" \
	-w '%{http_code} %{size_request} %{size_header} %{size_download}' \
	"http://127.0.0.1:$EDGE_PORT/file.bin") || fail "curl through the pair failed: $sizes"
read -r code req hdr body <<<"$sizes"
[ "$code" = 200 ] || fail "HTTP status $code"
want=$(sha256sum <"$WORK/www/file.bin" | cut -d' ' -f1)
got=$(sha256sum <"$WORK/got.bin" | cut -d' ' -f1)
[ "$want" = "$got" ] || fail "file differs: sha256 $got, want $want"
ok "5000000-byte file intact through the pair (sha256 $got)"

up=$req
down=$((hdr + body))
wait_log "$SERVER_LOG" '\] close .*reason=' 10 || fail "no close line in the server log"
wait_log "$CLIENT_LOG" '\] close .*reason=' 10 || fail "no close line in the client log"
for who in server client; do
	log=$SERVER_LOG
	[ $who = client ] && log=$CLIENT_LOG
	lines=$(close_lines "$log")
	[ "$(wc -l <<<"$lines")" = 1 ] || fail "$who: want exactly one close line, got: $lines"
	grep -Eq "reason=done( |$)" <<<"$lines" || fail "$who: close reason is not done: $lines"
	grep -q " up=$up down=$down " <<<"$lines" ||
		fail "$who: want up=$up down=$down (curl sent $req, received $hdr+$body): $lines"
	ok "$who: $lines"
done
grep -E '\] close ' "$SERVER_LOG" | grep -q 'id="[^"]*edge-client' ||
	fail "server close line does not name the client identity edge-client"
grep -E '\] close ' "$CLIENT_LOG" | grep -q 'id="[^"]*origin.test' ||
	fail "client close line does not name the server identity origin.test"

for who in server client; do
	[ "$(stat_of $who conns_open)" = 0 ] || fail "$who: conns_open is not 0: $(ctl $who status)"
	[ "$(stat_of $who close.done)" = 1 ] || fail "$who: close.done is not 1: $(ctl $who status)"
done
stop_pair
pass "file intact, identities and byte counts logged"
