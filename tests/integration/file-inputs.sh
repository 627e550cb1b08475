#!/bin/bash
# file-inputs: every file ktund reads is a regular file of bounded size, read whole, and every
# configuration line (and control command) is taken whole or refused (issue 10 #5, #7).
#   odd-files     cert, key, cacert, crl, ocsp-staple and the --config file itself given as
#                 /dev/zero, a FIFO, a directory or a file over the limit (1 MiB, a CRL 16 MiB):
#                 --check exits 2 at once (never a hang: under `timeout`) naming the file and why
#   start         ktund server --cert /dev/zero, --cacert FIFO: exit 2 at once, nothing serves
#   long-line     an allow-cn line of 221 characters whose tail (past libinih's 199) reads
#                 "allow-cn = edge-client": the rule is the whole text, so openssl s_client as
#                 edge-client is refused (policy-denied); the split let it in
#   too-long      a line over 4096 characters: --check and a start exit 2 with FILE:LINE
#   reload-fifo   the CA file replaced by a FIFO: the reload fails at once naming it,
#                 ktunctl still answers and the tunnel keeps serving with what it had
#   control-line  a control command over 255 characters is refused as such, not cut to its
#                 first 255 and run; one of 255 is read whole; ktunctl status still works
#   control-nul   a command holding a NUL ("reload\0x", "redirect add t 192.0.2.0/24:80\0-8080")
#                 or a CR before its end ("reload\rx") is refused, not cut there and run: no
#                 reload is logged; "\r\n" ends a line as "\n" does (255 characters + CRLF are
#                 read whole, 256 refused); a plain "reload" then works
# Case functions run indirectly (run_case) and take no arguments from the script:
# shellcheck disable=SC2317,SC2119
set -euo pipefail
. "$(dirname "$0")/srvlib.sh"
srv_init
need_cmd truncate mkfifo

CONF=$WORK/ktund.conf
mkfifo "$WORK/fifo"
mkdir "$WORK/dir"
truncate -s $((1024 * 1024 + 1)) "$WORK/big"
truncate -s $((16 * 1024 * 1024 + 1)) "$WORK/big-crl"

# conf [LINES...]: a server tunnel [t] with these extra lines (the defaults before them).
conf() {
	cat <<EOF
[global]
control = $WORK/server.sock
workers = 1
watch-files = no

EOF
	server_ini t "crl = $PKI/crl.pem" "$@"
}

# check_refused LABEL CONF-FILE REGEX: --check exits 2 within 10 s with REGEX on stderr.
check_refused() {
	local rc=0 err
	err=$(timeout 10 "$KTUND" --config "$2" --check 2>&1 >/dev/null) || rc=$?
	[ "$rc" != 124 ] || fail "$1: --check hung (killed after 10 s)"
	[ "$rc" = 2 ] || fail "$1: --check exit $rc, want 2: $err"
	grep -qE -- "$3" <<<"$err" || fail "$1: want /$3/ in: $err"
	note "$1: $(grep -m1 -E -- "$3" <<<"$err")"
}

case_odd_files() {
	local key path why f
	declare -A reason=([/dev/zero]='not a regular file \(a character device\)'
		[$WORK/fifo]='not a regular file \(a FIFO\)' [$WORK/dir]='Is a directory'
		[$WORK/big]='larger than 1048576 bytes')
	for key in cert key cacert crl ocsp-staple; do
		for path in /dev/zero "$WORK/fifo" "$WORK/dir" "$WORK/big"; do
			why=${reason[$path]}
			if [ "$key" = crl ] && [ "$path" = "$WORK/big" ]; then
				path=$WORK/big-crl why='larger than 16777216 bytes'
			fi
			f=$WORK/odd-$key-$(basename "$path").conf
			conf 'allow-ou = edge' | sed "/^$key = /d" >"$f"
			echo "$key = $path" >>"$f"
			check_refused "$key $path" "$f" "error: \[t\] $key $path: $why"
		done
	done
	for path in /dev/zero "$WORK/fifo" "$WORK/dir" "$WORK/big"; do
		check_refused "--config $path" "$path" "cannot open $path: ${reason[$path]}"
	done
}

case_start() {
	local rc args opt
	local cert cacert
	for args in "--cert /dev/zero" "--cacert $WORK/fifo"; do
		rc=0 cert=$PKI/server-chain.pem cacert=$PKI/ca.pem
		case $args in
		--cert*) cert=${args#* } ;;
		--cacert*) cacert=${args#* } ;;
		esac
		ip netns exec "$NS_ORIGIN" timeout 10 "$KTUND" server --listen "$ORIGIN_IP:$TLS_PORT" \
			--target "127.0.0.1:$ORIGIN_PORT" --cert "$cert" \
			--key "$PKI/server.key" --cacert "$cacert" --allow-ou edge \
			--control "$WORK/server.sock" 2>"$WORK/start.log" || rc=$?
		[ "$rc" = 2 ] || fail "ktund server $args: exit $rc, want 2 within 10 s: $(cat "$WORK/start.log")"
		opt=${args%% *}
		grep -qE "error: \[server\] ${opt#--} ${args#* }: not a regular file" "$WORK/start.log" ||
			fail "ktund server $args: no error naming the file: $(cat "$WORK/start.log")"
		note "$args: exit 2: $(grep -m1 'not a regular' "$WORK/start.log")"
	done
}

# start_conf: ktund --config $CONF in the origin namespace, tracked, ready (once per case).
start_conf() {
	SERVER_LOG=$WORK/server-conf-$_case_no.log
	ip netns exec "$NS_ORIGIN" "$KTUND" --config "$CONF" 2>"$SERVER_LOG" &
	SERVER_PID=$!
	track "$SERVER_PID"
	_wait_ready "$SERVER_PID" "$SERVER_LOG" "--config"
}

case_long_line() {
	local long out
	long="allow-cn = $(printf 'a%.0s' {1..188})allow-cn = edge-client"
	conf "$long" >"$CONF"
	out=$(timeout 10 "$KTUND" --config "$CONF" --check 2>/dev/null) ||
		fail "--check refused a 221-character line: $("$KTUND" --config "$CONF" --check 2>&1)"
	[ "$out" = "configuration ok: 1 tunnel(s)" ] || fail "--check: $out"
	use_origin line
	start_conf
	! ossl client "long line $RANDOM"$'\n' -tls1_3 || fail "edge-client was let in by the tail of a long line"
	wait_n '\] reject .*reason=policy-denied ' 1
	[ "$(accepts)" = 0 ] || fail "the origin saw a connection"
	note "221-character allow-cn line is one rule: $(last_line '\] reject ')"
}

case_too_long() {
	local long n rc=0
	long="allow-uri = spiffe://ktun.test/$(printf 'b%.0s' {1..4080})"
	conf 'allow-ou = edge' "$long" 'allow-cn = edge-client' >"$CONF"
	n=$(grep -n '^allow-uri' "$CONF" | cut -d: -f1)
	check_refused "4103-character line" "$CONF" "$CONF:$n: line longer than 4096 characters"
	ip netns exec "$NS_ORIGIN" timeout 10 "$KTUND" --config "$CONF" 2>"$WORK/start.log" || rc=$?
	if [ "$rc" != 2 ] || ! grep -q "$CONF:$n: line longer than 4096 characters" "$WORK/start.log"; then
		fail "start with a 4103-character line: exit $rc: $(cat "$WORK/start.log")"
	fi
	note "start: exit 2: $(grep -m1 'line longer' "$WORK/start.log")"
}

case_reload_fifo() {
	local payload
	cp "$PKI/ca.pem" "$WORK/ca-copy.pem"
	SERVER_CACERT=$WORK/ca-copy.pem conf 'allow-ou = edge' >"$CONF"
	use_origin line
	start_conf
	ossl client "before $RANDOM"$'\n' -tls1_3 || fail "refused before the reload: $(cat "$WORK/peer.err")"
	rm "$WORK/ca-copy.pem"
	mkfifo "$WORK/ca-copy.pem"
	kill -HUP "$SERVER_PID"
	wait_log "$SERVER_LOG" 'reload (ok|failed)' 5 || fail "no reload line 5 s after SIGHUP: the reload hangs"
	grep -qE "error: \[t\] cacert $WORK/ca-copy.pem: not a regular file \(a FIFO\)" "$SERVER_LOG" ||
		fail "the reload did not name the FIFO: $(grep -E 'error|reload' "$SERVER_LOG")"
	grep -q 'reload failed' "$SERVER_LOG" || fail "reload did not fail: $(grep reload "$SERVER_LOG")"
	timeout 5 "$KTUNCTL" --control "$WORK/server.sock" status >/dev/null || fail "ktunctl status got no answer"
	payload="after $RANDOM"
	ossl client "$payload"$'\n' -tls1_3 || fail "refused after the failed reload: $(cat "$WORK/peer.err")"
	[ "$(cat "$WORK/peer.out")" = "$payload" ] || fail "payload not echoed after the failed reload"
	note "$(grep -m1 -oE 'cacert .*FIFO\)' "$SERVER_LOG"); still serving"
}

# ask LINE: the control socket's first answer line to LINE and "\n"; LINE's Python escapes
# (\x00, \r) are sent as the bytes they stand for.
ask() {
	python3 - "$WORK/server.sock" "$1" <<'EOF'
import codecs, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(codecs.escape_decode(sys.argv[2].encode())[0] + b"\n")
answer = b""
while chunk := s.recv(65536):
    answer += chunk
print(answer.decode().splitlines()[0] if answer else "(no answer)")
EOF
}

case_control_line() {
	local out
	conf 'allow-ou = edge' >"$CONF"
	start_conf
	out=$(ask "status$(printf ' %.0s' {1..300})")
	[ "$out" = "error: command longer than 255 characters" ] || fail "a 306-character command: $out"
	note "306 characters: $out"
	out=$(ask "status$(printf 'x%.0s' {1..249})")
	grep -q "^error: unknown command 'statusxxx" <<<"$out" || fail "a 255-character command: $out"
	note "255 characters: read whole: ${out:0:40}..."
	timeout 5 "$KTUNCTL" --control "$WORK/server.sock" status | grep -qx 't.conns_open 0' ||
		fail "ktunctl status after the long commands"
}

# refused LINE HEX: LINE is answered as holding the control character 0xHEX.
refused() {
	local out
	out=$(ask "$1")
	[ "$out" = "error: command holds a NUL or control character (0x$2)" ] || fail "command '$1': $out"
	note "'$1': $out"
}

# A NUL (or a CR but the line end's) in a control command: refused whole, nothing run. The old
# reader stopped at the first NUL (strlen) or CR (strcspn) and ran what came before.
case_control_nul() {
	local out x255
	conf 'allow-ou = edge' >"$CONF"
	start_conf
	refused 'reload\x00x' 00
	refused 'redirect add t 192.0.2.0/24:80\x00-8080' 00
	refused 'status\x00' 00
	refused 'reload\rx' 0d
	[ "$(nlines 'reload')" = 0 ] || fail "a command cut at its NUL or CR ran: $(grep reload "$SERVER_LOG")"
	out=$(ask 'status\r')
	[ "$out" = "t.mode server" ] || fail "status + CRLF: $out"
	x255="status$(printf 'x%.0s' {1..249})"
	out=$(ask "$x255\r")
	grep -q "^error: unknown command 'statusxxx" <<<"$out" || fail "255 characters + CRLF: $out"
	out=$(ask "${x255}x\r")
	[ "$out" = "error: command longer than 255 characters" ] || fail "256 characters + CRLF: $out"
	note "CRLF: 'status' answered, 255 characters read whole, 256 refused"
	[ "$(ask reload)" = "reload ok" ] || fail "a plain reload after the refused ones failed"
	[ "$(nlines 'reload ok')" = 1 ] || fail "want one reload: $(grep reload "$SERVER_LOG")"
}

run_case "odd files: --check exits 2 at once, naming the file and why" case_odd_files
run_case "start with /dev/zero or a FIFO: exit 2 at once" case_start
run_case "a 221-character allow-cn line is one rule, its tail no second one" case_long_line
run_case "a line over 4096 characters: --check and start fail with FILE:LINE" case_too_long
run_case "a reload meeting a FIFO fails at once and the tunnel keeps serving" case_reload_fifo
run_case "a control command over 255 characters is refused, not cut" case_control_line
run_case "a control command with a NUL or a stray CR is refused, not cut; CRLF ends a line" case_control_nul
srv_finish
