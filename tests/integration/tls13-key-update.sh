#!/bin/bash
# tls13-key-update: on the userspace path a ktund server opens TLS 1.3 application-data records
# itself and leaves every other record to GnuTLS (docs/architecture.md). openssl s_client sends
# a line, then a KeyUpdate that asks for ktund's ("K" on s_client's stdin), then more lines,
# through ktund server to an echo origin: the lines after the KeyUpdate must arrive (ktund took
# GnuTLS's new read key) and come back, and s_client must receive ktund's own KeyUpdate (GnuTLS
# owed it and sent it before its next record, under the old key) before their echo. Then the same
# with a KeyUpdate that asks for nothing ("k"), and once more with the connection idle for 3 s
# before the KeyUpdate, so that ktund has parked its cipher contexts (after 2 s) and must take
# them up again, at the sequence numbers GnuTLS held meanwhile. The close line must say
# up=N down=N reason=done.
# Before those, two clients that limit the records they take to 512 bytes (record_limit).
# The stdin lines are paced (sleep) only so that s_client reads each command on its own.
# Case functions run indirectly (run_case) and take no arguments from the script:
# shellcheck disable=SC2317,SC2119
set -euo pipefail
. "$(dirname "$0")/srvlib.sh"
srv_init
ID='id="CN=edge-client,OU=edge"'

# key_update LETTER WANT_REPLY [IDLE]: one s_client session with the KeyUpdate command LETTER,
# idle for IDLE seconds (default 1) after the first line.
key_update() {
	local letter=$1 want_reply=$2 idle=${3:-1} cl replies
	use_origin echo
	srv_start
	ossl_cmd client
	# Without -quiet (which implies -ign_eof), s_client takes K/k on a line of its own as a
	# command; -msg prints every handshake message both ways.
	unset 'OSSL[${#OSSL[@]}-1]'
	{
		printf 'before the update\n'
		sleep "$idle"
		printf '%s\n' "$letter"
		sleep 1
		printf 'after the update, one\n'
		sleep 0.5
		printf 'after the update, two\n'
		sleep 1
	} | "${OSSL[@]}" -tls1_3 -msg >"$WORK/peer.out" 2>"$WORK/peer.err" || true
	grep -q 'KEYUPDATE' "$WORK/peer.err" || grep -q 'KEYUPDATE' "$WORK/peer.out" ||
		fail "s_client did not send a KeyUpdate: $(tail -n 3 "$WORK/peer.err")"
	for line in 'before the update' 'after the update, one' 'after the update, two'; do
		grep -qx "$line" "$WORK/peer.out" || fail "no echo of '$line': $(tail -n 5 "$WORK/peer.err")"
	done
	replies=$(grep -c '^<<< TLS 1.3, Handshake \[length 0005\], KeyUpdate' "$WORK/peer.out" || true)
	[ "$replies" = "$want_reply" ] || fail "ktund sent $replies KeyUpdate(s), want $want_reply"
	wait_n '\] close ' 1
	cl=$(last_line '\] close ')
	grep -Fq " $ID up=62 down=62 " <<<"$cl" || fail "want up=62 down=62: $cl"
	grep -Eq 'reason=done$' <<<"$cl" || fail "close reason is not done: $cl"
	note "${cl#*\] }"
	srv_stop
}

# record_limit TOOL: 20000 bytes (200 lines of 99 Z) echoed through a ktund server to a client
# that takes records of at most 512 bytes (openssl -maxfraglen 512: max_fragment_length;
# gnutls-cli --recordsize=512: record_size_limit). ktund's records must keep to the limit
# (records of its own are up to 2^14 bytes: the peer fails them, "data length too long").
record_limit() {
	local tool=$1 echoed
	use_origin echo
	# No session tickets: s_client prints their dump through a buffer of its own, which can
	# land inside an echoed line (openssl's output, not ktund's bytes).
	srv_start --resumption=no
	printf "$(printf 'Z%.0s' {1..99})"'\n%.0s' {1..200} >"$WORK/z.in"
	if [ "$tool" = openssl ]; then
		ossl_cmd client
		unset 'OSSL[${#OSSL[@]}-1]' # no -quiet: s_client ends at the end of stdin
		{ cat "$WORK/z.in"; sleep 2; } | "${OSSL[@]}" -tls1_3 -maxfraglen 512 \
			>"$WORK/peer.out" 2>"$WORK/peer.err" || true
	else
		{ cat "$WORK/z.in"; sleep 2; } | gtls client - --recordsize=512 || true
	fi
	echoed=$(grep -Ecx 'Z{99}' "$WORK/peer.out" || true)
	wait_n '\] close ' 1
	cl=$(last_line '\] close ')
	if [ "$tool" = openssl ]; then
		[ "$echoed" = 200 ] || fail "$tool: $echoed of 200 lines echoed: $(tail -n 3 "$WORK/peer.err")"
		grep -Fq " up=20000 down=20000 " <<<"$cl" || fail "want up=20000 down=20000: $cl"
	else
		# gnutls-cli sends only what one gnutls_record_send takes of each stdin read (511
		# bytes here), so not all 20000 bytes leave it: whatever did must all come back.
		local up zs
		up=$(grep -Eo ' up=[0-9]+' <<<"$cl" | cut -d= -f2)
		zs=$(tr -cd 'Z\n' <"$WORK/peer.out" | wc -c)
		[ "$up" -ge 1024 ] || fail "$tool: only $up bytes left gnutls-cli: $(tail -n 3 "$WORK/peer.log")"
		grep -Fq " up=$up down=$up " <<<"$cl" || fail "want down=up: $cl"
		[ "$zs" = "$up" ] ||
			fail "$tool: $zs bytes of the $up sent came back: $(tail -n 3 "$WORK/peer.log")"
	fi
	grep -Eq 'reason=done$' <<<"$cl" || fail "close reason is not done: $cl"
	note "${cl#*\] }"
	srv_stop
}

run_case "openssl s_client -maxfraglen 512: ktund's records keep to it" record_limit openssl
run_case "gnutls-cli --recordsize=512: ktund's records keep to it" record_limit gnutls
run_case "openssl s_client KeyUpdate asking for ktund's (K)" key_update K 1
run_case "openssl s_client KeyUpdate asking for nothing (k)" key_update k 0
run_case "openssl s_client KeyUpdate (K) after 3 s idle (parked)" key_update K 1 3
srv_finish
