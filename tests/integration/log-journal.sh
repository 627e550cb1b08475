#!/bin/bash
# ktund whose stderr is the journal (JOURNAL_STREAM = DEV:INODE of its fd 2, as systemd sets
# it) starts every line with "<N>", its syslog priority (error <3>, warning <4>, notice <5>,
# info <6>), so journald files each line at its level (sd-daemon(3)), and no timestamp (journald
# adds its own); with JOURNAL_STREAM naming another file each line starts with its UTC time instead. Real lines of a real ktund: a start-up error,
# then, serving, a refused handshake (warning) and an accepted one (info). Runs in a network
# namespace of its own (loopback only), so needs root.
set -u
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"
[ "$(id -u)" = 0 ] || skip "needs root (a network namespace of its own)"
need_cmd unshare certtool gnutls-cli stat
: "${KTUND:?}" "${KTUN_SRCDIR:?}"

# Inside the namespace: the steps, each saying ok or not_ok.
if [ "${1:-}" = inner ]; then
	work=$2 pki=$2/pki
	ip link set lo up

	# The file stays the same inode (appended to), so its DEV:INODE names ktund's stderr.
	journal_of() { : >"$1"; stat -c '%d:%i' "$1"; }
	server() { # LOGFILE JOURNAL_STREAM PORT CACERT
		JOURNAL_STREAM=$2 "$KTUND" server --listen "127.0.0.1:$3" --target 127.0.0.1:9 \
			--cert "$pki/server-chain.pem" --key "$pki/server.key" --cacert "$4" \
			--allow-all --control "$work/ctl-$3.sock" 2>>"$1" &
	}

	log=$work/error.log
	server "$log" "$(journal_of "$log")" 8443 "$work/no-such-ca.pem"
	wait $! # exits at once: the CA file is missing
	if grep -q '^<3>ktund: error: .*no-such-ca.pem' "$log"; then ok "error line: <3>"
	else not_ok "no '<3>ktund: error:' line:"; cat "$log"; fi

	log=$work/serve.log
	server "$log" "$(journal_of "$log")" 8443 "$pki/ca.pem"
	pid=$!
	if wait_log "$log" '^<5>ktund: notice: ready$'; then ok "notice line: <5>"
	else not_ok "no '<5>ktund: notice: ready' line"; fi
	gnutls_client "$pki" client-foreign 8443
	gnutls_client "$pki" client 8443
	wait_log "$log" '^<6>ktund: info: \[server\] close .*id="CN=edge-client' &&
		wait_log "$log" '^<4>ktund: warning: \[server\] reject '
	if grep -q '^<4>ktund: warning: \[server\] reject ' "$log"; then ok "warning line: <4>"
	else not_ok "no '<4>ktund: warning: [server] reject' line"; fi
	if grep -q '^<6>ktund: info: \[server\] handshake ' "$log"; then ok "info line: <6>"
	else not_ok "no '<6>ktund: info: [server] handshake' line"; fi
	kill "$pid"; wait "$pid"
	if grep -qv '^<[3-6]>ktund: ' "$log"; then not_ok "a line without its prefix:"
		grep -v '^<[3-6]>ktund: ' "$log"
	else ok "every line prefixed"; fi

	# Another file's DEV:INODE (an inherited JOURNAL_STREAM): stderr is not the journal.
	log=$work/plain.log
	: >"$log"
	server "$log" "$(journal_of "$work/other")" 8444 "$pki/ca.pem"
	pid=$!
	# Not the journal, which stamps lines itself: each line starts with its UTC time.
	stamp='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z '
	if wait_log "$log" "^${stamp}ktund: notice: ready\$" && ! grep -Evq "^${stamp}ktund: " "$log"; then
		ok "JOURNAL_STREAM naming another file: no priority, each line timestamped"
	else not_ok "JOURNAL_STREAM naming another file:"; cat "$log"; fi
	kill "$pid"; wait "$pid"
	finish "with stderr the journal, each line starts with its syslog priority"
fi

work=$(mktemp -d /tmp/ktun-log-journal.XXXXXX)
trap 'rm -rf "$work"' EXIT
bash "$KTUN_SRCDIR/tests/lib/pki.sh" "$work/pki" >/dev/null 2>&1 || fail "pki.sh"
unshare -n bash "$0" inner "$work"
