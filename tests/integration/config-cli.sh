#!/bin/bash
# config-cli: ktund's and ktunctl's command lines. Needs no root and no network: the one daemon
# started here listens on a unix socket in the work dir and its target is a closed port.
# ktund:
#   help, help-short, help-in-mode, version               exit 0, usage / version on stdout
#   help-options          every option of daemon/config.c's table is in --help
#   no-mode, unknown-mode, unknown-option, unknown-option-suggest, unknown-option-last,
#   duplicate-option, duplicate-flag (an option set once given twice: the second would
#   silently win), repeated-target (--target repeats: a list), repeated-target-bad (an entry
#   of it checked as a single target is), repeated-target-names (several far ends, no
#   server-name), missing-value, empty-value,
#   unexpected-argument, missing-required, config-with-mode, verify-all, allow-in-client,
#   server-without-allow, bad-number, bad-log-level, bad-log-format, bad-ktls, bad-ciphers,
#   bad-tls-version,
#   public-listen (0.0.0.0, [::], a LAN address)          exit 2 with a message naming it
#   public-listen-unsafe, check                           --check exits 0, "configuration ok"
#   control-dir-missing, listen-in-use                    runtime failures exit 1
# ktunctl:
#   help, no-command, unknown-command, control-no-path    exit 0 / 2 with usage
#   control-char          an argument holding "\n" (ktund would run the line before it): exit 2
#   missing-socket, not-listening                         exit 1 "cannot reach ktund at PATH"
#   json-error            --json: {"error": ...} on stdout, nothing on stderr, exit 1
#   version, env-socket   --version; KTUNCTL_SOCKET names the socket, --control overrides it
#   status-format, status-counters                        every line "client.COUNTER VALUE";
#                        the contract's counters, every reason's close (and reject) counter
#   status-after-refusal  an app through the unix listener to a closed target: reset,
#                        conns_total 1, close.target-unreachable 1, conns_open 0, the
#                        target down (status and the log's one line), 1 failure
#   conns-idle, reload-ok, reload-failed (a broken key: exit 1, the old key kept serving),
#   reload-again, sigterm (exit 0)
# shellcheck disable=SC2119 # functions of tests/lib/ktund.sh take optional arguments; none needed here
set -euo pipefail
. "$(dirname "$0")/client-common.sh"
plain_init

# run_ktund ARGS...: sets rc, out, err.
run_ktund() {
	rc=0
	out=$("$KTUND" "$@" 2>"$WORK/err") || rc=$?
	err=$(grep -v ': notice: ' "$WORK/err" || true)
}

# expect LABEL RC REGEX ARGS...: ktund ARGS exits RC, and REGEX matches stderr (RC != 0) or
# stdout (RC = 0).
expect() {
	local label=$1 want=$2 re=$3 where
	shift 3
	run_ktund "$@"
	where=$err
	[ "$want" = 0 ] && where=$out
	if [ "$rc" = "$want" ] && grep -qE -- "$re" <<<"$where"; then
		ok "$label: exit $rc: $(grep -m1 -E -- "$re" <<<"$where")"
	else
		not_ok "$label: want exit $want and /$re/, got $rc: stdout: $(head -3 <<<"$out" | tr '\n' ' ') stderr: $(tr '\n' ' ' <<<"$err")"
	fi
}

CLIENT_FILES=(--cert "$PKI/client-chain.pem" --key "$PKI/client.key" --cacert "$PKI/ca.pem")
SERVER_FILES=(--cert "$PKI/server-chain.pem" --key "$PKI/server.key" --cacert "$PKI/ca.pem")
client_ok=(client --listen 127.0.0.1:9000 --target 192.0.2.2:8443 "${CLIENT_FILES[@]}")

expect help 0 '^  ktund client --listen HOST:PORT' --help
if [ "$(grep -c '^  ktund ' <<<"$out")" = 3 ] && [ -z "$err" ]; then
	ok "help: the three forms (server, client, --config) on stdout, nothing on stderr"
else
	not_ok "help: want the server, client and --config forms on stdout and no stderr: $out / $err"
fi
# Every option of daemon/config.c's table is in the usage (the rule families by their prefix;
# mode is the first argument).
missing=
mapfile -t table < <(sed -n 's/^[[:space:]]*{ "\([a-z0-9-]*\)", OPT_[A-Z_]*,.*/\1/p' "$KTUN_SRCDIR/daemon/config.c")
for o in "${table[@]}"; do
	[ "$o" = mode ] || grep -qE -- "--${o}([^a-z-]|\$)|--${o}[a-z]" <<<"$out" || missing="$missing --$o"
done
if [ -z "$missing" ]; then
	ok "help-options: every option of daemon/config.c's table is in --help"
else
	not_ok "help-options: missing from --help:$missing"
fi
expect help-short 0 '^Usage:' -h
expect help-in-mode 0 '^Usage:' client --listen 127.0.0.1:9000 --help
version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$KTUN_SRCDIR/meson.build" | head -1)
expect version 0 "^ktund ${version//./\\.}\$" --version

expect no-mode 2 'ktund: missing mode: server, client or --config FILE'
expect unknown-mode 2 "ktund: unknown mode 'proxy'" proxy --listen 127.0.0.1:9000
expect unknown-option 2 "ktund: unknown option '--frobnicate'\$" "${client_ok[@]}" --frobnicate 1
expect unknown-option-suggest 2 "ktund: unknown option '--listne': did you mean '--listen'\\?" \
	client --listne 127.0.0.1:9000
# Last on the line, an unknown option must still be called unknown, not "needs a value".
expect unknown-option-last 2 "ktund: unknown option '--frobnicate'" "${client_ok[@]}" --frobnicate
expect duplicate-option 2 "ktund: option '--listen' is given twice: keep one" "${client_ok[@]}" --listen 127.0.0.1:9001
# --target is the one option set once in a file that repeats on the command line: a list.
expect repeated-target 0 '^configuration ok: 1 tunnel\(s\)$' "${client_ok[@]}" --target 192.0.2.9:8443 \
	--server-name far.test --check
# Far ends must prove one name: two addresses with no server-name are an error.
expect repeated-target-names 2 "\[client\] the targets have different names .*set server-name" \
	"${client_ok[@]}" --target 192.0.2.9:8443 --check
expect repeated-target-bad 2 "\[client\] target '192.0.2.9:0': port must be 1-65535" \
	"${client_ok[@]}" --target 192.0.2.9:0 --check
expect duplicate-flag 2 "ktund: option '--sandbox' is given twice" "${client_ok[@]}" --sandbox=no --sandbox
expect missing-value 2 "ktund: option '--target' needs a value" client --listen 127.0.0.1:9000 --target
expect empty-value 2 "ktund: 'listen' needs a value" client --listen= --target 192.0.2.2:8443
expect unexpected-argument 2 "ktund: unexpected argument 'extra'" "${client_ok[@]}" extra
expect missing-required 2 '\[client\] needs target' client --listen 127.0.0.1:9000 "${CLIENT_FILES[@]}"
expect config-with-mode 2 'cannot be combined with a mode' client --config "$WORK/x.conf"
expect verify-all 2 "'verify-all' does not exist" "${client_ok[@]}" --verify-all yes
expect allow-in-client 2 '\[client\] allow-\* options are for server mode' "${client_ok[@]}" --allow-cn x
expect server-without-allow 2 '\[server\] a server needs at least one allow-\* rule' \
	server --listen 127.0.0.1:8443 --target 127.0.0.1:8080 "${SERVER_FILES[@]}"
expect bad-number 2 "'handshake-timeout' must be a whole number from 1" "${client_ok[@]}" --handshake-timeout 0
expect bad-log-level 2 'log-level must be debug, info, notice, warning or error' "${client_ok[@]}" --log-level loud
expect bad-log-format 2 'log-format must be text or json' "${client_ok[@]}" --log-format xml
expect bad-ktls 2 'ktls must be auto, required or off' "${client_ok[@]}" --ktls maybe
expect bad-ciphers 2 'ciphers: a list of AES-128-GCM' "${client_ok[@]}" --ciphers RC4-MD5
expect bad-tls-version 2 "'tls-min' must be 1.2 or 1.3" "${client_ok[@]}" --tls-min 1.1
for listen in 0.0.0.0:9000 '[::]:9000' 192.0.2.1:9000; do
	expect "public-listen $listen" 2 "\[client\] listen '${listen//[[\]]/.}' is the plaintext side and must be loopback" \
		client --listen "$listen" --target 192.0.2.2:8443 "${CLIENT_FILES[@]}"
done
expect public-listen-unsafe 0 '^configuration ok: 1 tunnel\(s\)$' \
	client --listen 0.0.0.0:9000 --unsafe-listen --target 192.0.2.2:8443 "${CLIENT_FILES[@]}" --check
expect check 0 '^configuration ok: 1 tunnel\(s\)$' "${client_ok[@]}" --check
expect control-dir-missing 1 "control socket $WORK/no-such-dir/ctl.sock: No such file or directory" \
	client --listen "unix:$WORK/app0.sock" --target 127.0.0.1:1 --server-name origin.test \
	"${CLIENT_FILES[@]}" --control "$WORK/no-such-dir/ctl.sock"

# ktunctl's own command line.
rc=0
out=$("$KTUNCTL" --help 2>&1) || rc=$?
if [ "$rc" = 0 ] && grep -q '^Usage: ktunctl \[--control PATH\] \[--json\] COMMAND' <<<"$out"; then
	ok "ktunctl help: exit 0, $(head -1 <<<"$out")"
else
	not_ok "ktunctl help: want exit 0 and usage, got $rc: $out"
fi
# ctl_expect LABEL RC REGEX ARGS...: ktunctl ARGS exits RC with REGEX on stderr.
ctl_expect() {
	local label=$1 want=$2 re=$3 rc=0 err
	shift 3
	err=$("$KTUNCTL" "$@" 2>&1 >/dev/null) || rc=$?
	if [ "$rc" = "$want" ] && grep -qE -- "$re" <<<"$err"; then
		ok "ktunctl $label: exit $rc: $(grep -m1 -E -- "$re" <<<"$err")"
	else
		not_ok "ktunctl $label: want exit $want and /$re/ on stderr, got $rc: $err"
	fi
}
ctl_expect no-command 2 '^Usage: ktunctl'
ctl_expect unknown-command 2 "unknown command 'frob'" --control "$WORK/ctl.sock" frob
ctl_expect control-no-path 2 '^Usage: ktunctl' --control
ctl_expect control-char 2 'ktunctl: an argument holds a control character \(0x0a\)' \
	--control "$WORK/ctl.sock" redirect add t $'192.0.2.0/24:80\n-8080'
ctl_expect missing-socket 1 "ktunctl: cannot reach ktund at $WORK/none.sock: No such file or directory" \
	--control "$WORK/none.sock" status
# --json: a failure once the command runs is one JSON document on stdout, nothing on stderr.
rc=0
out=$("$KTUNCTL" --json --control "$WORK/none.sock" status 2>"$WORK/json.err") || rc=$?
if [ "$rc" = 1 ] && [ ! -s "$WORK/json.err" ] && python3 -c '
import json, sys
want = "cannot reach ktund at " + sys.argv[1] + ": No such file or directory"
sys.exit(0 if json.loads(sys.stdin.read()) == {"error": want} else 1)' "$WORK/none.sock" <<<"$out"; then
	ok "ktunctl json-error: exit 1, stdout $(tr -d '\n' <<<"$out"), nothing on stderr"
else
	not_ok "ktunctl json-error: want exit 1, {\"error\": ...} on stdout and nothing on stderr, got $rc: $out / $(cat "$WORK/json.err")"
fi
rc=0
out=$("$KTUNCTL" --version) || rc=$?
if [ "$rc" = 0 ] && [ "$out" = "ktunctl $version" ]; then
	ok "ktunctl version: $out"
else
	not_ok "ktunctl version: want 'ktunctl $version', got $rc: $out"
fi
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$WORK/dead.sock"
ctl_expect not-listening 1 "ktunctl: cannot reach ktund at $WORK/dead.sock: Connection refused" \
	--control "$WORK/dead.sock" status

# A running daemon. Its target is a port nothing listens on, so every connection is refused.
dead_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cp "$PKI/client.key" "$WORK/client.key"
: >"$WORK/daemon.log" # exists before _wait_ready looks at it
"$KTUND" client --listen "unix:$WORK/app.sock" --target "127.0.0.1:$dead_port" --server-name origin.test \
	--cert "$PKI/client-chain.pem" --key "$WORK/client.key" --cacert "$PKI/ca.pem" \
	--control "$WORK/client.sock" --workers 2 2>"$WORK/daemon.log" &
CLIENT_PID=$!
CLIENT_LOG=$WORK/daemon.log
_wait_ready "$CLIENT_PID" "$CLIENT_LOG" client

status=$(ctl client status)
bad_lines=$(grep -vE '^client\.([a-z_]+(\.[a-z-]+)?|target(_failures)?\.[0-9.:]+) [a-z0-9]+$' <<<"$status" || true)
if [ -z "$bad_lines" ] && [ "$(wc -l <<<"$status")" -gt 20 ]; then
	ok "status-format: $(wc -l <<<"$status") lines, each 'client.COUNTER VALUE'"
else
	not_ok "status-format: lines not 'client.COUNTER VALUE': ${bad_lines:-only $(wc -l <<<"$status") lines}"
fi
missing=
for c in 'mode client' 'datapath (userspace|ktls)' 'conns_open 0' 'conns_total 0' 'handshakes_ok 0' \
	'bytes_up 0' 'bytes_down 0' 'conns_ktls 0' 'conns_userspace 0' 'payload_userspace 0' 'payload_copied 0'; do
	grep -qE "^client\.$c\$" <<<"$status" || missing="$missing $c;"
done
# Every reason of the README has a close counter; the refusals also a reject counter.
for r in 'done' no-client-cert bad-certificate expired not-yet-valid revoked untrusted wrong-name bad-purpose \
	policy-denied tls-error handshake-timeout peer-closed target-unreachable connect-timeout \
	idle-timeout reset truncated drain-timeout shutdown io-error; do
	grep -qE "^client\.close\.$r 0\$" <<<"$status" || missing="$missing close.$r;"
done
for r in no-client-cert bad-certificate expired not-yet-valid revoked untrusted wrong-name \
	bad-purpose policy-denied tls-error handshake-timeout peer-closed; do
	grep -qE "^client\.reject\.$r 0\$" <<<"$status" || missing="$missing reject.$r;"
done
if [ -z "$missing" ]; then
	ok "status-counters: the contract's counters and every reason's close/reject counter, all 0"
else
	not_ok "status-counters: missing or not 0:$missing"
fi

# KTUNCTL_SOCKET names the control socket; --control still wins over it.
if KTUNCTL_SOCKET=$WORK/client.sock "$KTUNCTL" status | grep -q '^client\.mode client$' &&
	KTUNCTL_SOCKET=$WORK/none.sock "$KTUNCTL" --control "$WORK/client.sock" status >/dev/null &&
	! KTUNCTL_SOCKET=$WORK/none.sock "$KTUNCTL" status 2>"$WORK/env.err" >/dev/null &&
	grep -q "cannot reach ktund at $WORK/none.sock" "$WORK/env.err"; then
	ok "ktunctl env-socket: KTUNCTL_SOCKET used, --control overrides it"
else
	not_ok "ktunctl env-socket: KTUNCTL_SOCKET not used, or not overridden by --control: $(cat "$WORK/env.err" 2>/dev/null)"
fi

out=$(python3 "$CLIENTTOOL" expect-reset "unix:$WORK/app.sock" 2>&1) || true
# (On a unix socket the app's send may already find ktund's end closed: EPIPE.)
if grep -qE '^reset \((ConnectionResetError|BrokenPipeError)\) after 0 bytes$' <<<"$out" &&
	wait_log "$CLIENT_LOG" 'close peer=unix:[^ ]* id="-" .*reason=target-unreachable detail="connect: Connection refused"' 5 &&
	wait_stat client close.target-unreachable 1 5 && [ "$(stat_of client conns_total)" = 1 ] &&
	[ "$(stat_of client conns_open)" = 0 ] &&
	[ "$(stat_of client "target.127.0.0.1:$dead_port")" = down ] &&
	[ "$(stat_of client "target_failures.127.0.0.1:$dead_port")" = 1 ] &&
	[ "$(grep -c "target 127.0.0.1:$dead_port down (Connection refused): tried last for 10 s" "$CLIENT_LOG")" = 1 ]; then
	ok "status-after-refusal: app $out; conns_total 1, close.target-unreachable 1, conns_open 0, target down, 1 failure"
else
	not_ok "status-after-refusal: app: $out; log: $(close_lines "$CLIENT_LOG"); status: $(ctl client status | grep -E 'conns_|target-unreachable' | tr '\n' ' ')"
fi

rc=0
out=$(ctl client conns 2>&1) || rc=$?
if [ "$rc" = 0 ] && [ -z "$out" ]; then
	ok "conns-idle: exit 0, no lines"
else
	not_ok "conns-idle: want exit 0 and nothing, got $rc: $out"
fi

# reload_expect LABEL RC REGEX: ktunctl reload's exit status and answer (stdout and stderr).
reload_expect() {
	local label=$1 want=$2 re=$3 rc=0 out
	out=$(ctl client reload 2>&1) || rc=$?
	if [ "$rc" = "$want" ] && grep -qE -- "$re" <<<"$out"; then
		ok "$label: ktunctl reload exit $rc: $out"
	else
		not_ok "$label: want ktunctl reload exit $want and /$re/, got $rc: $out"
	fi
}
reload_expect reload-ok 0 '^reload ok$'
wait_log "$CLIENT_LOG" 'notice: reload ok' 5 || not_ok "reload-ok: no 'reload ok' line in the log"
echo 'not a key' >"$WORK/client.key"
reload_expect reload-failed 1 "^error: reload failed: \[client\] could not load its certificates"
if wait_log "$CLIENT_LOG" "error: \[client\] cert .* key $WORK/client.key: " 5 &&
	wait_log "$CLIENT_LOG" 'error: reload failed: ' 5; then
	ok "reload-failed: the log names the key: $(grep -m1 "key $WORK/client.key" "$CLIENT_LOG")"
else
	not_ok "reload-failed: the log does not name the broken key and the failed reload"
fi
# Still serving with what it had.
out=$(python3 "$CLIENTTOOL" expect-reset "unix:$WORK/app.sock" 2>&1) || true
if wait_stat client close.target-unreachable 2 5; then
	ok "reload-failed: still serving after the failed reload (app: $out)"
else
	not_ok "reload-failed: no second connection handled after the failed reload (app: $out)"
fi
cp "$PKI/client.key" "$WORK/client.key"
reload_expect reload-again 0 '^reload ok$'

# A second daemon on the same unix listener: a runtime failure. (Last: its probe of the socket
# is a connection to the running daemon, which would show in the counters above.)
expect listen-in-use 1 "\[client\] cannot listen on unix:$WORK/app.sock: Address already in use" \
	client --listen "unix:$WORK/app.sock" --target 127.0.0.1:1 --server-name origin.test \
	"${CLIENT_FILES[@]}" --control "$WORK/other.sock"

rc=0
kill -TERM "$CLIENT_PID"
wait "$CLIENT_PID" || rc=$?
CLIENT_PID=
if [ "$rc" = 0 ] && [ ! -e "$WORK/client.sock" ]; then
	ok "sigterm: exit 0, control socket removed"
else
	not_ok "sigterm: want exit 0 and no $WORK/client.sock left, got exit $rc"
fi

finish "ktund and ktunctl command lines behave as documented"
