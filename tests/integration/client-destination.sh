#!/bin/bash
# client-destination: ktund client with `destination` against an mTLS HTTP CONNECT relay
# (tests/lib/connect_relay.py) in the origin namespace, one tunnel per relay behaviour, all
# in one ktund --config. Origins (connect_relay.py origin) on 203.0.113.1, 203.0.113.2,
# [2001:db8:9::1] and 127.0.0.1 port 7000 in the origin namespace, each greeting with its own
# banner, then echoing. The edge namespace has no route to them: only the relay reaches them.
#   fixed             destination = 203.0.113.1:7000 / 203.0.113.2:7000 / [2001:db8:9::1]:7000 /
#                     localhost:7000 (a name, resolved by the relay): each reaches its own
#                     origin; the relay got CONNECT A, Host: A and Forwarded: for="127.0.0.1:P"
#                     (the application's address); the close line has dst=A reason=done
#   early-bytes       the relay answers only after application bytes came (wait-data): they
#                     did, before the answer (ktund does not wait for the 200)
#   split             the 200 head in 1-byte TLS records: carried as one
#   answer+origin     the 200 head and the origin's banner in one TLS record: the banner reaches
#                     the application, intact and first
#   refused-403/502   the application is reset; reason=destination-refused, the status and the
#                     reason phrase escaped (a quote, a backslash, UTF-8) in the close line
#   malformed, too-long, closed-mid-answer, closed, no-answer (handshake-timeout 2)
#                     the application is reset; reason=bad-answer with why; a record that
#                     does not decrypt: tls-error, on a reject line (a TLS 1.3 refusal comes then)
#   app-reset         the application resets while the answer is awaited: reason=reset
#   no-destination    destination = original and a connection made to the listener itself:
#                     reset at once, reason=no-destination, the relay never sees it
#   counters          each reason counted in ktunctl status under its tunnel
#   validation        destination on a server, a bad HOST:PORT: refused at start (exit 2)
# KTUN_DEST_KTLS=required (in the kTLS guest: KTUN_VM_ENV="KTUND KTUNCTL KTUN_SRCDIR KTUN_DEST_KTLS"
# tests/vm/run --share build -- tests/integration/client-destination.sh) gives every tunnel
# ktls = required: the hand-over after the answer must put each accepted flow on kernel TLS.
set -euo pipefail
. "$(dirname "$0")/client-common.sh"
pair_init

RELAY=$KTUN_LIB/connect_relay.py
RLOG=$WORK/relay-requests.log
relay_origins 203.0.113.1:7000 203.0.113.2:7000 "[2001:db8:9::1]:7000" 127.0.0.1:7000

modes=(ok wait-data split early status-403 status-502 garbage long close-mid silent close tls-garbage)
relay_args=()
for i in "${!modes[@]}"; do
	relay_args+=("$((8443 + i)):${modes[i]}")
done
relay_start "$RLOG" "${relay_args[@]}"

# tunnel NAME PORT RELAYPORT DESTINATION [EXTRA LINE]: one client tunnel's section.
tunnel() {
	client_ini "$1" "127.0.0.1:$2" "$ORIGIN_IP:$3" "destination = $4" "${5:-}" \
		"${KTUN_DEST_KTLS:+ktls = $KTUN_DEST_KTLS}" ''
}
{
	printf '[global]\ncontrol = %s\nlog-level = info\n\n' "$WORK/client.sock"
	tunnel v4a 9001 8443 203.0.113.1:7000
	tunnel v4b 9002 8443 203.0.113.2:7000
	tunnel v6 9003 8443 "[2001:db8:9::1]:7000"
	tunnel name 9004 8443 localhost:7000
	tunnel early 9005 8444 203.0.113.1:7000
	tunnel split 9006 8445 203.0.113.2:7000
	tunnel merged 9007 8446 203.0.113.1:7000
	tunnel r403 9008 8447 203.0.113.1:7000
	tunnel r502 9009 8448 203.0.113.1:7000
	tunnel garbage 9010 8449 203.0.113.1:7000
	tunnel long 9011 8450 203.0.113.1:7000
	tunnel closemid 9012 8451 203.0.113.1:7000
	tunnel silent 9013 8452 203.0.113.1:7000 "handshake-timeout = 2"
	tunnel orig 9014 8443 original
	tunnel closed 9015 8453 203.0.113.1:7000
	tunnel tlsgarbage 9016 8454 203.0.113.1:7000
	tunnel appreset 9017 8452 203.0.113.1:7000
} >"$WORK/client.ini"

CLIENT_LOG=$WORK/client.log
ip netns exec "$NS_EDGE" "$KTUND" --config "$WORK/client.ini" 2>"$CLIENT_LOG" &
CLIENT_PID=$!
_wait_ready "$CLIENT_PID" "$CLIENT_LOG" client

# app PORT TEXT: the application's exchange through the tunnel on PORT; sets OUT and RC.
app() {
	RC=0
	OUT=$(ip netns exec "$NS_EDGE" python3 "$RELAY" app "127.0.0.1:$1" "$2") || RC=$?
}

# reached PORT BANNER: the application got BANNER, then its own text echoed, and a clean end.
reached() {
	app "$1" "hello $1"
	[ "$RC" = 0 ] || { not_ok "$2: app exit $RC: $OUT"; return 1; }
	grep -qF "b'banner $2 peer=" <<<"$OUT" && grep -qF "\\nhello $1\\n'" <<<"$OUT" ||
		{ not_ok "port $1: got $OUT, want the banner of $2 then the echo"; return 1; }
}

# refused PORT TUNNEL REASON DETAIL: the application is reset; the close line says why.
refused() {
	app "$1" "x"
	[ "$RC" = 3 ] || { not_ok "$2: want a reset (exit 3), got exit $RC: $OUT"; return 1; }
	wait_log "$CLIENT_LOG" "\\[$2\\] close .* reason=$3 detail=\"[^\"]*$4" 5 ||
		{ not_ok "$2: no close line reason=$3 with '$4': $(grep "\[$2\]" "$CLIENT_LOG")"; return 1; }
	ok "$2: application reset, reason=$3 ($4)"
}

case_fixed() {
	local port name banner dst re
	for spec in "9001 v4a 203.0.113.1:7000 203.0.113.1:7000" "9002 v4b 203.0.113.2:7000 203.0.113.2:7000" \
		"9003 v6 [2001:db8:9::1]:7000 [2001:db8:9::1]:7000" "9004 name 127.0.0.1:7000 localhost:7000"; do
		read -r port name banner dst <<<"$spec"
		reached "$port" "$banner" || return 1
		grep -qF "request port=8443 mode=ok authority=$dst host=$dst forwarded=for=\"127.0.0.1:" "$RLOG" ||
			{ not_ok "$name: no CONNECT $dst with Forwarded for the app: $(tail -n 2 "$RLOG")"; return 1; }
		re=$(sed 's/[].[]/\\&/g' <<<"$dst")
		wait_log "$CLIENT_LOG" "\\[$name\\] close peer=127\\.0\\.0\\.1:[0-9]+ dst=$re .*reason=done" 5 ||
			{ not_ok "$name: no close line with dst=$dst reason=done: $(grep "\[$name\]" "$CLIENT_LOG")"; return 1; }
		ok "$name: reached $banner through CONNECT $dst"
	done
}

# In the kTLS guest: the flows that streamed did so on kernel TLS.
case_ktls() {
	local t
	[ -n "${KTUN_DEST_KTLS:-}" ] || return 0
	for t in v4a v6 early split merged; do
		[ "$(ctl client status | awk -v k="$t.conns_ktls" '$1 == k {print $2}')" = 1 ] ||
			{ not_ok "$t: not on kTLS: $(ctl client status | grep "^$t\.\(conns\|datapath\)")"; return 1; }
	done
	ok "every answered flow handed over to kernel TLS"
}

case_early_bytes() {
	reached 9005 203.0.113.1:7000 || return 1
	grep -Eq '^before-answer bytes=[1-9]' "$RLOG" ||
		{ not_ok "the relay had no application bytes before it answered: $(grep before-answer "$RLOG")"; return 1; }
	ok "the application's first bytes reached the relay before its answer"
}

case_split() {
	reached 9006 203.0.113.2:7000 && ok "a 200 head in 1-byte records"
}

case_merged() {
	reached 9007 203.0.113.1:7000 || return 1
	grep -qF "b'banner 203.0.113.1:7000" <<<"$OUT" || { not_ok "banner not first: $OUT"; return 1; }
	ok "the origin's bytes in the answer's record reach the application first"
}

case_refused() {
	refused 9008 r403 destination-refused 'the relay answered 403 destination \\x22denied\\x22 \\x5c \\xc3\\xa9' &&
		refused 9009 r502 destination-refused 'the relay answered 502 Bad Gateway'
}

case_bad() {
	refused 9010 garbage bad-answer 'the status code is not three digits' &&
		refused 9011 long bad-answer 'longer than 4096 bytes' &&
		refused 9012 closemid bad-answer 'the relay closed in the middle of its answer' &&
		refused 9013 silent bad-answer 'no answer to the CONNECT request within 2 s' &&
		refused 9015 closed bad-answer 'the relay closed without answering' &&
		case_tls_garbage
}

# A TLS 1.3 client learns of a refusal by the server only after its own Finished, so a TLS
# failure before any data came is a refusal, on a reject line (conn.c), also while the answer
# is awaited.
case_tls_garbage() {
	app 9016 "x"
	[ "$RC" = 3 ] || { not_ok "tlsgarbage: want a reset (exit 3), got exit $RC: $OUT"; return 1; }
	wait_log "$CLIENT_LOG" '\[tlsgarbage\] reject peer=[^ ]+ reason=tls-error detail="reading the CONNECT answer: ' 5 ||
		{ not_ok "tlsgarbage: no reject line: $(grep '\[tlsgarbage\]' "$CLIENT_LOG")"; return 1; }
	ok "tlsgarbage: a record that does not decrypt: application reset, reject reason=tls-error"
}

# The application resets while the answer is awaited: that is the end of it, as when streaming.
case_app_reset() {
	ip netns exec "$NS_EDGE" python3 "$RELAY" app 127.0.0.1:9017 "x" --reset >/dev/null ||
		{ not_ok "app --reset failed"; return 1; }
	wait_log "$CLIENT_LOG" '\[appreset\] close .* reason=reset detail="plain recv: ' 5 ||
		{ not_ok "no close line reason=reset: $(grep '\[appreset\]' "$CLIENT_LOG")"; return 1; }
	ok "the application's reset during the wait ends the connection (reason=reset)"
}

case_no_destination() {
	local before
	before=$(grep -c 'request port=' "$RLOG" || true)
	refused 9014 orig no-destination 'came to the listener itself' || return 1
	[ "$(grep -c 'request port=' "$RLOG" || true)" = "$before" ] ||
		{ not_ok "the relay got a request for it"; return 1; }
	grep -q '\[orig\] handshake' "$CLIENT_LOG" && { not_ok "a handshake for it"; return 1; }
	ok "refused before any far connection"
}

case_counters() {
	local t r
	for spec in "r403 destination-refused" "r502 destination-refused" "garbage bad-answer" \
		"long bad-answer" "closemid bad-answer" "silent bad-answer" "orig no-destination" "v4a done" \
		"closed bad-answer" "tlsgarbage tls-error" "appreset reset"; do
		read -r t r <<<"$spec"
		[ "$(ctl client status | awk -v k="$t.close.$r" '$1 == k {print $2}')" = 1 ] ||
			{ not_ok "$t.close.$r is not 1: $(ctl client status | grep "^$t.close")"; return 1; }
	done
	ok "each refusal counted under its own reason"
}

case_validation() {
	local out rc=0
	out=$("$KTUND" server --listen 127.0.0.1:1 --target 127.0.0.1:2 --cert "$PKI/server-chain.pem" \
		--key "$PKI/server.key" --cacert "$PKI/ca.pem" --allow-all --destination original --check 2>&1) || rc=$?
	[ "$rc" = 2 ] && grep -q 'destination is a client-mode option' <<<"$out" ||
		{ not_ok "a server with destination: exit $rc: $out"; return 1; }
	for bad in "db.internal" "2001:db8::1:80" "h:0" "h:0443" "-h:80" "0x7f.1:80" "[::1%lo]:80"; do
		rc=0
		out=$("$KTUND" client --listen 127.0.0.1:1 --target 127.0.0.1:2 --server-name x \
			--cert "$PKI/client-chain.pem" --key "$PKI/client.key" --cacert "$PKI/ca.pem" \
			--destination "$bad" --check 2>&1) || rc=$?
		[ "$rc" = 2 ] && grep -qF "destination '$bad'" <<<"$out" ||
			{ not_ok "destination $bad: exit $rc: $out"; return 1; }
	done
	ok "destination checked at start"
}

run_case() {
	local name=$1
	shift
	"$@" || not_ok "$name"
}
run_case fixed case_fixed
run_case early-bytes case_early_bytes
run_case split case_split
run_case answer+origin case_merged
run_case refused case_refused
run_case malformed case_bad
run_case app-reset case_app_reset
run_case no-destination case_no_destination
run_case counters case_counters
run_case ktls case_ktls
run_case validation case_validation
stop_daemon "$CLIENT_PID" client
CLIENT_PID=
finish "client destinations through a CONNECT relay"
