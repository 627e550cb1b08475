#!/bin/bash
# systemd-notify: ktund speaks systemd's notification protocol (Type=notify-reload): READY=1
# once it serves, RELOADING=1 with MONOTONIC_USEC then READY=1 around each reload (SIGHUP or a
# file changing), a STATUS that says when a reload failed, STOPPING=1 when it drains, and
# WATCHDOG=1 about twice per WATCHDOG_USEC. A python socket stands in for systemd's. No root.
set -euo pipefail
: "${KTUND:?} ${KTUN_SRCDIR:?}"
# shellcheck source=../lib/result.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/result.sh"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
"$KTUN_SRCDIR/tests/lib/pki.sh" "$work/pki" >/dev/null
P=$work/pki
cp "$P/server-chain.pem" "$P/server.key" "$work/"

python3 - "$work/notify.sock" "$work/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        log.write(s.recv(4096).decode().replace("\n", " ") + "\n")
PY
for _ in $(seq 50); do [ -S "$work/notify.sock" ] && break; sleep 0.1; done

port=$((20000 + RANDOM % 20000))
NOTIFY_SOCKET=$work/notify.sock WATCHDOG_USEC=400000 "$KTUND" server --listen "127.0.0.1:$port" \
	--target "127.0.0.1:$((port + 1))" --cert "$work/server-chain.pem" --key "$work/server.key" \
	--cacert "$P/ca.pem" --allow-all --control "$work/ctl.sock" >"$work/ktund.log" 2>&1 &
pid=$!
# wait_msg REGEX [N]: N (default 1) notification lines match within 5 s.
wait_msg() {
	for _ in $(seq 50); do
		[ "$(grep -cE -- "$1" "$work/notify.log" 2>/dev/null || true)" -ge "${2:-1}" ] && return 0
		sleep 0.1
	done
	return 1
}

wait_msg '^READY=1 STATUS=1 tunnel\(s\) serving' && grep -q 'notice: ready' "$work/ktund.log" &&
	ok "READY=1 once serving" || not_ok "no READY=1: $(cat "$work/notify.log")"
wait_msg '^WATCHDOG=1' 4 && ok "WATCHDOG=1 about every 200 ms ($(grep -c WATCHDOG "$work/notify.log") so far)" ||
	not_ok "watchdog kicks: $(grep -c WATCHDOG "$work/notify.log"), want 4 within 5 s"

kill -HUP $pid
wait_msg '^RELOADING=1 MONOTONIC_USEC=[0-9]+ ' && wait_msg '^READY=1 STATUS=1 tunnel\(s\) serving' 2 &&
	ok "SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1" || not_ok "SIGHUP: $(grep -v WATCHDOG "$work/notify.log")"

echo garbage >"$work/server-chain.pem"
wait_msg '^RELOADING=1' 2 && wait_msg 'last reload failed' &&
	ok "a file changing reloads too; the failed reload shows in STATUS" ||
	not_ok "file reload: $(grep -v WATCHDOG "$work/notify.log")"

kill -TERM $pid
wait_msg '^STOPPING=1' && ok "SIGTERM: STOPPING=1" || not_ok "no STOPPING=1: $(grep -v WATCHDOG "$work/notify.log")"
wait $pid || not_ok "ktund exited with $?"

unset NOTIFY_SOCKET
[ "$RESULT_FAILURES" = 0 ] || cat "$work/ktund.log"
finish "READY, RELOADING, STOPPING, STATUS and WATCHDOG notifications"
