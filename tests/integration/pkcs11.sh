#!/bin/bash
# pkcs11: `key = pkcs11:...` — the server's private key lives in a SoftHSM2 token made for this
# run (its own SOFTHSM2_CONF and token directory), reached through GnuTLS and p11-kit's module
# list; the key never exists as a file ktund is given.
#   serve          ktund server with --key 'pkcs11:token=...;object=...;pin-value=...' serves
#                  openssl s_client (TLS 1.3 and 1.2): the echo comes back and s_client verified
#                  the chain, so the token signed the handshake; the PIN is nowhere in the log
#   reload         SIGHUP and `ktunctl reload` under the sandbox (seccomp; Landlock is off with
#                  a token key, said in the log) reload the certificate and find the key in
#                  the token again (same pid); the next connection is served
#   token-back     the token's store goes away: a reload fails and ktund keeps its context
#                  (SoftHSM2 cannot sign without its store, so handshakes fail meanwhile);
#                  the store comes back: the next reload re-initializes the module and
#                  succeeds (same pid, under the sandbox), and the connection after it is served
#   pin-source     the PIN read from a file named by pin-source= serves too
#   pin-fifo       a pin-source= naming a FIFO: exit 2 at once, naming it (p11-kit would wait
#                  on it for ever)
#   wrong-pin      a wrong pin-value stops ktund from starting (exit 2) with the URI in the
#                  error, its pin-value shown as (hidden) and the PIN itself nowhere in the log
#   no-object      a URI naming no object in the token: exit 2 with a clear error
#   mismatch       a token key that does not match the certificate: exit 2
# Case functions run indirectly (run_case) and take no arguments from the script:
# shellcheck disable=SC2317,SC2119
set -euo pipefail
. "$(dirname "$0")/srvlib.sh"
need_cmd softhsm2-util
srv_init

[ -r /usr/share/p11-kit/modules/softhsm2.module ] ||
	skip "SoftHSM2 is not registered with p11-kit (/usr/share/p11-kit/modules/softhsm2.module)"

# ---------------------------------------------------------------- the token
PIN=73921
export SOFTHSM2_CONF=$WORK/softhsm2.conf
mkdir -p "$WORK/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
	"$WORK/tokens" >"$SOFTHSM2_CONF"
softhsm2-util --init-token --free --label ktun-test --pin "$PIN" --so-pin 5678 >"$WORK/hsm.log" 2>&1 ||
	fail "softhsm2-util --init-token: $(cat "$WORK/hsm.log")"
# import_key FILE LABEL ID: a PKI key (PKCS#8, as softhsm2-util wants it) into the token.
import_key() {
	openssl pkcs8 -topk8 -nocrypt -in "$1" -out "$WORK/$2.p8"
	softhsm2-util --import "$WORK/$2.p8" --token ktun-test --label "$2" --id "$3" --pin "$PIN" \
		>>"$WORK/hsm.log" 2>&1 || fail "softhsm2-util --import $2: $(cat "$WORK/hsm.log")"
	rm -f "$WORK/$2.p8"
}
import_key "$PKI/server.key" srv 01
import_key "$PKI/client.key" other 02
URI="pkcs11:token=ktun-test;object=srv;type=private"
# The token's files may be read by ktund only: a dropped daemon is another user.
chmod -R go-rwx "$WORK/tokens"

# served PAYLOAD [s_client ARGS...]: one s_client connection through the running server.
served() {
	local payload=$1
	shift
	ossl client "$payload"$'\n' "$@" || fail "s_client: exit status $?: $(tail -n 3 "$WORK/peer.err")"
	[ "$(cat "$WORK/peer.out")" = "$payload" ] ||
		fail "echoed '$(head -c 80 "$WORK/peer.out")', not '$payload'"
}

pin_absent() {
	! grep -q "$PIN" "$SERVER_LOG" || fail "the PIN is in the log: $(grep "$PIN" "$SERVER_LOG")"
}

case_serve() {
	use_origin line
	SERVER_KEY="$URI;pin-value=$PIN" srv_start
	served "tls13 $RANDOM" -tls1_3
	served "tls12 $RANDOM" -tls1_2
	wait_n '\] close ' 2
	want_stat close.done 2
	pin_absent
	note "$(last_line '\] handshake ' | sed 's/.*\] //')"
}

case_reload() {
	use_origin line
	SERVER_KEY="$URI;pin-value=$PIN" srv_start
	kill -HUP "$SERVER_PID"
	wait_n 'reload' 1
	ctl server reload >"$WORK/ctl.out" 2>&1 || fail "ktunctl reload: $(cat "$WORK/ctl.out")"
	! grep -q 'error' "$SERVER_LOG" || fail "a reload failed: $(grep error "$SERVER_LOG")"
	# With a token key Landlock is off (the module's store is unknown), the filter is not.
	grep -q 'sandbox: files are not confined: \[server\] signs with a PKCS#11 key' "$SERVER_LOG" ||
		fail "no PKCS#11 sandbox line: $(grep sandbox "$SERVER_LOG")"
	grep -Eq 'sandbox: files not confined; ([0-9]* system calls allowed|no seccomp filter in this AddressSanitizer build)' "$SERVER_LOG" ||
		fail "no seccomp line: $(grep sandbox "$SERVER_LOG")"
	kill -0 "$SERVER_PID" || fail "ktund is gone"
	served "after reloads $RANDOM"
	pin_absent
	note "$(grep -c 'reload' "$SERVER_LOG") reload lines, pid $SERVER_PID served after them"
}

# reload_says WANT: ktunctl reload's output matches WANT (ok or failed).
reload_says() {
	ctl server reload >"$WORK/ctl.out" 2>&1 || true
	grep -Eq "$1" "$WORK/ctl.out" || fail "ktunctl reload said '$(cat "$WORK/ctl.out")', want /$1/"
}

case_token_back() {
	use_origin line
	SERVER_KEY="$URI;pin-value=$PIN" srv_start --watch-files=no
	served "before $RANDOM"
	mv "$WORK/tokens" "$WORK/tokens.away"
	reload_says 'could not load its certificates'
	kill -0 "$SERVER_PID" || fail "ktund is gone"
	# SoftHSM2 cannot sign without its store: the old context stays, its handshakes fail.
	! ossl client "away"$'\n' || fail "served with the token's store gone"
	ctl server status >/dev/null || fail "ktunctl status failed with the token away"
	note "token away: $(grep -m1 -o 'error: \[server\] cert .*' "$SERVER_LOG" | cut -c1-160)"
	mv "$WORK/tokens.away" "$WORK/tokens"
	reload_says '^reload ok'
	served "token back $RANDOM"
	srv_stop
	pin_absent
	note "token back: reload ok, pid $SERVER_PID served"
}

case_pin_source() {
	use_origin line
	printf '%s' "$PIN" >"$WORK/pin"
	chmod 600 "$WORK/pin"
	SERVER_KEY="$URI;pin-source=$WORK/pin" srv_start
	served "pin-source $RANDOM"
	pin_absent
}

# refused KEY PATTERN: ktund server with KEY exits 2 (a key that cannot be loaded) before it is ready, logging PATTERN.
refused() {
	local log=$WORK/refused.log rc=0
	ip netns exec "$NS_ORIGIN" timeout 20 "$KTUND" server --listen "$ORIGIN_IP:$TLS_PORT" \
		--target "127.0.0.1:$ORIGIN_PORT" --cert "$PKI/server-chain.pem" --key "$1" \
		--cacert "$PKI/ca.pem" --allow-ou edge --control "$WORK/refused.sock" 2>"$log" || rc=$?
	[ "$rc" = 2 ] || fail "exit status $rc, want 2: $(tail -n 3 "$log")"
	grep -Eq "$2" "$log" || fail "want /$2/ in the log: $(cat "$log")"
	! grep -q "$PIN" "$log" || fail "the PIN is in the log: $(grep "$PIN" "$log")"
	! grep -q 'notice: ready' "$log" || fail "ktund got ready"
	note "$(grep -m1 error "$log" | sed 's/.*error: //')"
}

case_pin_fifo() {
	mkfifo "$WORK/pin-fifo"
	refused "$URI;pin-source=$WORK/pin-fifo" "key pin-source $WORK/pin-fifo: not a regular file \(a FIFO\)"
}

case_wrong_pin() {
	refused "$URI;pin-value=1${PIN}9" 'key pkcs11:token=ktun-test;object=srv;type=private;pin-value=\(hidden\): '
}

case_no_object() {
	refused "pkcs11:token=ktun-test;object=nothing-here;type=private;pin-value=$PIN" 'key pkcs11:.*object=nothing-here'
}

case_mismatch() {
	refused "pkcs11:token=ktun-test;object=other;type=private;pin-value=$PIN" 'key pkcs11:.*object=other.*: '
}

run_case "a key in a SoftHSM2 token serves TLS 1.3 and 1.2, PIN not logged" case_serve
run_case "SIGHUP and ktunctl reload find the token key again, under the sandbox" case_reload
run_case "pin-source= reads the PIN from a file" case_pin_source
run_case "pin-source= naming a FIFO: exit 2 at once" case_pin_fifo
run_case "a wrong PIN: exit 2, the URI logged with its PIN hidden" case_wrong_pin
run_case "a URI naming no object: exit 2" case_no_object
run_case "a token key that does not match the certificate: exit 2" case_mismatch
# Last: it moves the token's store away.
run_case "the token goes away and comes back: a reload recovers it" case_token_back
srv_finish
