#!/bin/bash
# server-resume: TLS 1.3 session resumption against a ktund server, with openssl s_client
# (-sess_out, then -sess_in: it prints "New" or "Reused") as the peer (srvlib.sh).
#   resumed        a full handshake (resumed=no) then a resumed one (resumed=yes, "Reused"):
#                  the line goes through both; handshakes_resumed 1 in ktunctl status and
#                  ktund_handshakes_resumed_total; the resumed one found the chain the full
#                  one verified in the verified-chain cache (resume_chain_cache_hits 1,
#                  misses 0, and the metrics; one entry held); another full handshake verifies in full and is
#                  no lookup (hits and misses unchanged); a resumed connection held open shows
#                  resumed=yes in ktunctl conns
#   gnutls-resume  gnutls-cli --resume: "This is a resumed session"
#   revoked        client-revoked resumes before its CRL lists it (its chain from the cache);
#                  after a reload with a CRL that does, its ticket is refused (reason=revoked, "on resumption" in the
#                  detail, alert certificate_revoked) and counted like a full handshake's
#   policy         --config with allow-cn = edge-client, resumed from the chain cache; reloaded
#                  with allow-cn = nobody, the ticket issued before is refused (policy-denied);
#                  a full handshake the policy refuses leaves its chain out of the cache
#                  (resume_chain_cache_entries 0)
#   cert-expired   a client certificate, an intermediate the client sends and one the server
#                  holds in --cacert, each ending 20 s after it is made: resumed while valid
#                  (chain cache hits), past their notAfter each resumption misses (past the
#                  entry's dates) and is refused (expired), although its chain is still in
#                  the cache; the same leaf first filed with a long-lived reissue of its
#                  intermediate: that entry does not serve the short one's chain (the key
#                  covers every certificate) and still serves its own
#   lifetime       --resumption-lifetime 2: the ticket is past its lifetime 4 s later and the
#                  handshake is a full one (resumed=no, "New"), served
#   off            --resumption=no: the server sends no NewSessionTicket, nothing resumes
#   key-file       two servers one after the other with the same --ticket-key-file (a host
#                  behind the same load balancer): a session from the first resumes on the
#                  second; one with another key file makes a full handshake; a base64 key file
#                  works like the raw one; the file replaced and reloaded, tickets under the
#                  old key make full handshakes
#   key-file-bad   a key file readable by others, one of 10 bytes: --check and the start exit 2
#                  naming the file and what is wrong
# Case functions run indirectly (run_case) and take no arguments from the script:
# shellcheck disable=SC2317,SC2119
set -euo pipefail
. "$(dirname "$0")/srvlib.sh"
srv_init

K=$WORK/keys
mkdir -p "$K"
(umask 077 && head -c 64 /dev/urandom >"$K/a.key" && head -c 64 /dev/urandom >"$K/b.key" &&
	base64 -w 76 "$K/a.key" >"$K/a.b64" && head -c 10 /dev/urandom >"$K/short.key")
cp "$K/a.key" "$K/open.key"
chmod 644 "$K/open.key"
# A CRL of the intermediate that lists nothing, then the PKI's, which lists client-revoked.
make_crl "$WORK/empty-crl.pem" "$PKI/inter.key" "$PKI/inter.pem"

# sess WHO in|out FILE [s_client ARGS...]: s_client as WHO, TLS 1.3, sends a line and reads
# until the server closes, saving (out) or offering (in) the session in FILE. Not -quiet: it
# prints "New, TLSv1.3" or "Reused, TLSv1.3", and the tickets that arrive.
sess() {
	local who=$1 dir=$2 file=$3 cmd=() a
	shift 3
	ossl_cmd "$who"
	for a in "${OSSL[@]}"; do
		[ "$a" = -quiet ] || cmd+=("$a")
	done
	# -nocommands: a line starting with Q, R or k would be a command, not data.
	printf 'resume %s\n' "$who" | "${cmd[@]}" -nocommands -ign_eof -tls1_3 "-sess_$dir" "$file" \
		"$@" >"$WORK/peer.out" 2>"$WORK/peer.err"
}

# echoed WHO: the last sess got its line back.
echoed() {
	grep -qF "resume $1" "$WORK/peer.out" ||
		fail "$1: no echo: $(tail -n 3 "$WORK/peer.err"; grep -v '^[- ]\|^$' "$WORK/peer.out" | tail -n 8)"
}

# full_then_resumed WHO FILE [s_client ARGS...]: a full handshake saving FILE (with ARGS), then
# one resuming it.
full_then_resumed() {
	local before
	before=$(nlines 'handshake peer=.* resumed=yes$')
	sess "$1" out "$2" "${@:3}" || fail "first connection: $(tail -n 3 "$WORK/peer.err")"
	grep -q '^New, TLSv1.3' "$WORK/peer.out" || fail "first connection was not a full handshake"
	grep -q 'Post-Handshake New Session Ticket arrived' "$WORK/peer.out" || fail "no ticket came"
	echoed "$1"
	[ -s "$2" ] || fail "s_client saved no session"
	sess "$1" in "$2" || fail "resumed connection: $(tail -n 3 "$WORK/peer.err")"
	grep -q '^Reused, TLSv1.3' "$WORK/peer.out" ||
		fail "not resumed: $(grep -E '^(New|Reused)' "$WORK/peer.out")"
	echoed "$1"
	wait_n 'handshake peer=.* resumed=yes$' $((before + 1))
}

# refused_on_resume WHO FILE REASON: WHO offers FILE's session and is refused with REASON.
refused_on_resume() {
	local before
	before=$(nlines "reject peer=[^ ]+ reason=$3 ")
	sess "$1" in "$2" || true
	! grep -qF "resume $1" "$WORK/peer.out" || fail "$1 was served on resumption, want reason=$3"
	wait_n "reject peer=[^ ]+ reason=$3 " $((before + 1))
	last_line "reason=$3 " | grep -qF 'detail="on resumption: ' ||
		fail "detail does not say resumption: $(last_line "reason=$3 ")"
	note "$(last_line "reason=$3 " | sed 's/.*\] //' | cut -c1-200)"
}

# want_chain_cache HITS MISSES: the verified-chain cache's counters of resumed handshakes.
want_chain_cache() {
	want_stat resume_chain_cache_hits "$1"
	want_stat resume_chain_cache_misses "$2"
}

case_resumed() {
	use_origin line
	srv_start
	full_then_resumed client "$WORK/s1.pem"
	grep -q 'handshake peer=.* resumed=no$' "$SERVER_LOG" || fail "no resumed=no line"
	want_stat handshakes_resumed 1
	want_stat handshakes_ok 2
	want_chain_cache 1 0
	local metrics
	metrics=$(ctl server metrics)
	grep -qx 'ktund_handshakes_resumed_total{tunnel="server"} 1' <<<"$metrics" ||
		fail "metric: $(grep resumed <<<"$metrics")"
	grep -qx 'ktund_resume_chain_cache_hits_total{tunnel="server"} 1' <<<"$metrics" &&
		grep -qx 'ktund_resume_chain_cache_misses_total{tunnel="server"} 0' <<<"$metrics" &&
		grep -qx 'ktund_resume_chain_cache_entries{tunnel="server"} 1' <<<"$metrics" ||
		fail "metric: $(grep chain_cache <<<"$metrics")"
	# A full handshake verifies in full, and does not count as a lookup.
	sess client out "$WORK/s1b.pem" || fail "second full handshake: $(tail -n 3 "$WORK/peer.err")"
	grep -q '^New, TLSv1.3' "$WORK/peer.out" || fail "want a full handshake"
	echoed client
	want_stat handshakes_ok 3
	want_chain_cache 1 0
	# A resumed connection that stays open: no line, so the origin waits.
	ossl_cmd client
	local cmd=() a i conns
	for a in "${OSSL[@]}"; do
		[ "$a" = -quiet ] || cmd+=("$a")
	done
	sleep 5 | "${cmd[@]}" -ign_eof -tls1_3 -sess_in "$WORK/s1.pem" >"$WORK/held.out" 2>&1 &
	track $!
	for ((i = 0; i < 100; i++)); do
		conns=$(ctl server conns)
		grep -q 'state=streaming .* resumed=yes' <<<"$conns" && break
		sleep 0.1
	done
	grep -q 'state=streaming .* resumed=yes' <<<"$conns" || fail "ktunctl conns: $conns"
	note "$(grep -m1 'resumed=yes$' "$SERVER_LOG" | sed 's/.*\] //' | cut -c1-60)... resumed=yes"
	srv_stop
}

case_gnutls_resume() {
	use_origin echo
	srv_start
	local try
	# gnutls-cli waits only about 100 ms after its first handshake for the TLS 1.3 ticket
	# (gnutls_session_get_data2), then reconnects without one: on a loaded machine or a
	# sanitizer build the ticket can come later. So up to three tries; one must resume.
	for try in 1 2 3; do
		gtls client "x"$'\n' --priority "$GT13" --resume ||
			fail "gnutls-cli --resume: $(tail -n 3 "$WORK/peer.err")"
		! grep -q 'This is a resumed session' "$WORK/peer.out" "$WORK/peer.log" || break
	done
	grep -q 'This is a resumed session' "$WORK/peer.out" "$WORK/peer.log" ||
		fail "gnutls-cli did not resume in 3 tries: $(grep -i -h 'resum' "$WORK/peer.out" "$WORK/peer.log" | head -n 5)"
	[ "$try" = 1 ] || note "resumed at try $try"
	wait_n 'handshake peer=.* resumed=yes$' 1
	srv_stop
}

case_revoked() {
	use_origin line
	mkdir -p "$WORK/live"
	cp "$WORK/empty-crl.pem" "$WORK/live/crl.pem"
	srv_start --crl "$WORK/live/crl.pem" --watch-files=no
	full_then_resumed client-revoked "$WORK/s2.pem"
	want_chain_cache 1 0
	cp "$PKI/crl.pem" "$WORK/live/crl.pem"
	ctl server reload >/dev/null || fail "reload failed"
	refused_on_resume client-revoked "$WORK/s2.pem" revoked
	# The reload's new context has a cache of its own, empty.
	want_chain_cache 1 1
	grep -q 'alert certificate revoked\|certificate revoked' "$WORK/peer.err" ||
		fail "s_client got no certificate_revoked alert: $(tail -n 3 "$WORK/peer.err")"
	# A peer refused on resumption leaves with no fresh ticket to try again with.
	! grep -q 'New Session Ticket arrived' "$WORK/peer.out" ||
		fail "the refused peer was sent a session ticket: $(grep -c 'New Session Ticket arrived' "$WORK/peer.out")"
	want_stat reject.revoked 1
	srv_stop
}

# policy_ini CN: a --config for the server with allow-cn = CN.
policy_ini() {
	{
		printf '[global]\ncontrol = %s\nwatch-files = no\n' "$WORK/server.sock"
		server_ini server "allow-cn = $1"
	} >"$WORK/resume.ini"
}

case_policy() {
	use_origin line
	policy_ini edge-client
	_starts=$((_starts + 1))
	SERVER_LOG=$WORK/server-$_starts.log
	ip netns exec "$NS_ORIGIN" "$KTUND" --config "$WORK/resume.ini" 2>"$SERVER_LOG" &
	SERVER_PID=$!
	track "$SERVER_PID"
	_wait_ready "$SERVER_PID" "$SERVER_LOG" server
	full_then_resumed client "$WORK/s3.pem"
	want_chain_cache 1 0
	want_stat resume_chain_cache_entries 1
	policy_ini nobody
	ctl server reload >/dev/null || fail "reload failed"
	refused_on_resume client "$WORK/s3.pem" policy-denied
	want_chain_cache 1 1
	# A full handshake the policy refuses: its chain passed verify_peers but is not filed.
	local before
	before=$(nlines 'reject peer=[^ ]+ reason=policy-denied ')
	sess client out "$WORK/s3b.pem" || true
	! grep -qF 'resume client' "$WORK/peer.out" || fail "a refused client was served"
	wait_n 'reject peer=[^ ]+ reason=policy-denied ' $((before + 1))
	want_stat resume_chain_cache_entries 0
	srv_stop
}

# issue_until NAME ISSUER CN END [certtool template lines...]: an ECDSA certificate in $PKI from
# 2020 to END (seconds since the epoch), NAME.key made unless it exists (a reissue keeps it).
issue_until() {
	local name=$1 issuer=$2 cn=$3 end=$4
	shift 4
	(cd "$PKI" && { [ -e "$name.key" ] || certtool --generate-privkey --key-type ecdsa \
			--curve secp256r1 --outfile "$name.key"; } &&
		printf '%s\n' "cn = \"$cn\"" "$@" 'activation_date = "2020-01-01 00:00:00 UTC"' \
			"expiration_date = \"$(date -u -d "@$end" '+%Y-%m-%d %H:%M:%S') UTC\"" >"$name.tmpl" &&
		certtool --generate-certificate --load-privkey "$name.key" --load-ca-certificate \
			"$issuer.pem" --load-ca-privkey "$issuer.key" --template "$name.tmpl" \
			--outfile "$name.pem") >>"$WORK/brief.log" 2>&1 || fail "certtool: $(cat "$WORK/brief.log")"
}

# Certificates that end 20 s after they are made, each the only short-lived one of its
# chain: brief, a client leaf; binter, an intermediate the client sends; hinter, one the
# server holds in its --cacert. All resumed while valid (chain cache hits), refused once past
# their notAfter, although the chains are still in the cache (misses: past the entries'
# dates). bleaf, under binter, was first filed with binter-long
# (the same intermediate's key and name, valid for years): the entry of that chain must not
# serve the one with binter (the key covers every certificate), and still serves its own.
case_cert_expired() {
	local end far left need=15
	use_origin line
	# The brief certificates end at END: the set-up and four full-then-resumed pairs must
	# fit before it, the refusals come after it (so the test waits out what is left).
	end=$(($(date +%s) + 30))
	far=$(date -d '2040-01-01 UTC' +%s)
	local leaf=('unit = "edge"' tls_www_client signing_key) ca=(ca cert_signing_key crl_signing_key)
	issue_until brief inter edge-client "$end" "${leaf[@]}"
	issue_until binter ca "brief intermediate" "$end" "${ca[@]}"
	cp "$PKI/binter.key" "$PKI/binter-long.key"
	issue_until binter-long ca "brief intermediate" "$far" "${ca[@]}"
	issue_until bleaf binter edge-client "$far" "${leaf[@]}"
	issue_until hinter ca "held intermediate" "$end" "${ca[@]}"
	issue_until hleaf hinter edge-client "$far" "${leaf[@]}"
	(cd "$PKI" && cat brief.pem inter.pem >brief-chain.pem && cp bleaf.pem bleaf-chain.pem &&
		cp hleaf.pem hleaf-chain.pem && cat ca.pem hinter.pem >held-ca.pem)
	SERVER_CACERT=$PKI/held-ca.pem srv_start
	# Not a skip: a machine this slow would make the "resumed while valid" steps meaningless.
	left=$((end - $(date +%s)))
	[ "$left" -ge "$need" ] || fail "set-up too slow: ${left} s left of the brief certificates' life, want $need for four full-then-resumed pairs"
	full_then_resumed brief "$WORK/s8.pem"
	full_then_resumed bleaf "$WORK/s9l.pem" -cert_chain "$PKI/binter-long.pem"
	full_then_resumed bleaf "$WORK/s9.pem" -cert_chain "$PKI/binter.pem"
	full_then_resumed hleaf "$WORK/s10.pem"
	want_chain_cache 4 0
	while [ "$(date +%s)" -le $((end + 1)) ]; do
		sleep 1
	done
	refused_on_resume brief "$WORK/s8.pem" expired
	want_chain_cache 4 1
	refused_on_resume bleaf "$WORK/s9.pem" expired
	want_chain_cache 4 2
	refused_on_resume hleaf "$WORK/s10.pem" expired
	want_chain_cache 4 3
	sess bleaf in "$WORK/s9l.pem" || fail "resumed with binter-long: $(tail -n 3 "$WORK/peer.err")"
	echoed bleaf
	want_chain_cache 5 3
	srv_stop
}

case_lifetime() {
	use_origin line
	srv_start --resumption-lifetime 2
	full_then_resumed client "$WORK/s4.pem"
	sleep 4
	sess client in "$WORK/s4.pem" || fail "after the lifetime: $(tail -n 3 "$WORK/peer.err")"
	grep -q '^New, TLSv1.3' "$WORK/peer.out" ||
		fail "want a full handshake: $(grep -E '^(New|Reused)' "$WORK/peer.out")"
	echoed client
	grep -q 'handshake peer=.* resumed=no$' <(tail -n 3 "$SERVER_LOG") ||
		fail "last handshake: $(last_line 'handshake peer=')"
	srv_stop
}

case_off() {
	use_origin line
	srv_start --resumption=no
	sess client out "$WORK/s5.pem" || fail "first connection: $(tail -n 3 "$WORK/peer.err")"
	echoed client
	! grep -q 'New Session Ticket arrived' "$WORK/peer.out" || fail "a ticket came"
	# s_client saves a TLS 1.3 session only when a ticket comes.
	[ ! -e "$WORK/s5.pem" ] || fail "s_client saved a session"
	[ "$(nlines 'resumed=yes')" = 0 ] || fail "the server resumed"
	srv_stop
}

case_key_file() {
	use_origin line
	srv_start --ticket-key-file "$K/a.key"
	sess client out "$WORK/s6.pem" || fail "first connection: $(tail -n 3 "$WORK/peer.err")"
	echoed client
	srv_stop
	# Another process, so nothing of the first is left but the key file.
	srv_start --ticket-key-file "$K/a.b64"
	sess client in "$WORK/s6.pem" || fail "on the second server: $(tail -n 3 "$WORK/peer.err")"
	grep -q '^Reused, TLSv1.3' "$WORK/peer.out" || fail "the second server did not resume it"
	echoed client
	wait_n 'resumed=yes$' 1
	srv_stop
	srv_start --ticket-key-file "$K/b.key"
	sess client in "$WORK/s6.pem" || fail "with another key: $(tail -n 3 "$WORK/peer.err")"
	grep -q '^New, TLSv1.3' "$WORK/peer.out" || fail "resumed under another key"
	echoed client
	srv_stop
	# The file is read again on reload (through the sandbox): a new key ends the old tickets.
	cp "$K/a.key" "$K/live.key"
	srv_start --ticket-key-file "$K/live.key" --watch-files=no
	full_then_resumed client "$WORK/s7.pem"
	cp "$K/b.key" "$K/live.key"
	ctl server reload >/dev/null || fail "reload failed: $(tail -n 3 "$SERVER_LOG")"
	grep -q 'reload: ticket-key changed' "$SERVER_LOG" || fail "reload line: $(grep 'reload:' "$SERVER_LOG")"
	sess client in "$WORK/s7.pem" || fail "after the reload: $(tail -n 3 "$WORK/peer.err")"
	grep -q '^New, TLSv1.3' "$WORK/peer.out" || fail "resumed under the replaced key"
	echoed client
	srv_stop
}

# bad_key_file FILE WANT: --check and the start exit 2, saying WANT.
bad_key_file() { refused_server "ticket-key-file $1: $2" --ticket-key-file "$1"; }

case_key_file_bad() {
	bad_key_file "$K/open.key" "mode 0644: readable or writable by others (chmod 600, or 640 with the group of the user ktund runs as)"
	bad_key_file "$K/short.key" "10 bytes that are neither 64 raw bytes nor base64"
}

run_case resumed case_resumed
run_case gnutls-resume case_gnutls_resume
run_case revoked case_revoked
run_case policy case_policy
run_case cert-expired case_cert_expired
run_case lifetime case_lifetime
run_case off case_off
run_case key-file case_key_file
run_case key-file-bad case_key_file_bad
srv_finish
