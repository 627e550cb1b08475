#!/bin/bash
# client-resumption: ktund client resumes TLS 1.3 sessions with tickets from its cache
# (issue 14 §1, client side), against openssl s_server (-tls1_3 -num_tickets 2; -rev answers
# each line reversed) in the origin namespace; the app is clienttool.py through the tunnel.
#   first-full        first connection: a full handshake (resumed=no, ticket_misses 1) whose
#                     two tickets ktund stores (tickets_stored 2, ticket_cache_entries 2)
#   second-resumes    next connection offers a ticket (ticket_hits 1) and resumes: ktund logs
#                     resumed=yes, s_server reports the session reused, the line comes back;
#                     the ticket is used once: entries 2 - 1 + what the resumed session sent;
#                     the server's chain, verified in the first, is found in the verified-chain
#                     cache (resume_chain_cache_hits 1, misses 0)
#   reload-same       a reload that changes nothing keeps the cache: the next one resumes;
#                     the new context's chain cache starts empty (resume_chain_cache_misses 1)
#   reload-ca         a reload with a changed CA file drops the cache ("session tickets
#                     dropped"): the next connection is a full handshake (s_server: new session)
#   server-new-keys   s_server restarted (new ticket keys) refuses the ticket: full handshake,
#                     resumed=no, the line comes back, no reject line
#   metrics           ktund_ticket_cache_entries / _hits_total / _misses_total in /metrics
#   reload-verify     with --config: a reload that changes the verify-* rules (verify-cn ->
#                     verify-dns, both matching the server) drops the tickets, since a resumed
#                     server is not put through them: the next connection is a full handshake
#   stapled           against s_server stapling a good response, the client resumes but the
#                     chain cache is not used: resume_chain_cache_bypassed 1, hits 0, misses 0
#   require-ocsp      a client tunnel with require-ocsp never resumes (a resumed server
#                     staples nothing): against s_server stapling a good response, the second
#                     connection is a full handshake too (no ticket offered, resumed=no)
#   stapled-inter     against gnutls-serv (TLS 1.3) stapling a good response for the
#                     intermediate only, not the leaf: still bypassed 1, hits 0, misses 0
set -euo pipefail
. "$(dirname "$0")/client-common.sh"
# shellcheck source=../lib/ocsp.sh
. "$KTUN_LIB/ocsp.sh"
need_cmd gnutls-serv
pair_init

start_tls13() { start_sserver "$1" server -tls1_3 -num_tickets 2; }

# through LABEL TEXT WANT-RESUMED: a line through ktund; the newest handshake line says
# resumed=WANT-RESUMED.
through() {
	local label=$1 text=$2 want=$3 out n line
	n=$(grep -cE '\] handshake ' "$CLIENT_LOG" || true)
	if ! out=$(app rev-line "$APP_ADDR" "$text"); then
		not_ok "$label: no data through ktund: $out"
		return 1
	fi
	if ! wait_log "$CLIENT_LOG" "\] close .*reason=done" 5; then :; fi
	for ((i = 0; i < 50; i++)); do
		[ "$(grep -cE '\] handshake ' "$CLIENT_LOG" || true)" -gt "$n" ] && break
		sleep 0.1
	done
	line=$(grep -E '\] handshake ' "$CLIENT_LOG" | tail -n 1)
	if ! grep -qE " resumed=$want\$" <<<"$line"; then
		not_ok "$label: want resumed=$want on the handshake line, got: ${line:-none}"
		return 1
	fi
	if grep -qE '\] reject ' "$CLIENT_LOG"; then
		not_ok "$label: a reject line: $(grep -E '\] reject ' "$CLIENT_LOG")"
		return 1
	fi
	ok "$label: $out; ${line#*\] }"
}

# stat_is LABEL COUNTER VALUE: client.COUNTER reaches VALUE within 5 s.
stat_is() {
	if wait_stat client "$2" "$3" 5; then
		ok "$1: client.$2 $3"
	else
		not_ok "$1: client.$2 is $(stat_of client "$2"), want $3"
	fi
}

# reused_count: how many connections s_server resumed. In -rev mode it prints no "Reused
# session-id"; it verifies the client's chain (depth=0 ...) on every full handshake only, so
# connections established minus chains verified.
reused_count() {
	local est leaf
	est=$(grep -c '^CONNECTION ESTABLISHED' "$TLS_SERVER_LOG" || true)
	leaf=$(grep -c '^depth=0 ' "$TLS_SERVER_LOG" || true)
	echo $((est - leaf))
}

start_tls13 sserver-1
start_client --metrics-listen 127.0.0.1:9101
through first-full "first connection" no
stat_is first-full ticket_misses 1
stat_is first-full tickets_stored 2
stat_is first-full ticket_cache_entries 2

through second-resumes "second connection" yes
stat_is second-resumes ticket_hits 1
stat_is second-resumes handshakes_resumed 1
stat_is second-resumes resume_chain_cache_hits 1
stat_is second-resumes resume_chain_cache_misses 0
if [ "$(reused_count)" = 1 ]; then
	ok "second-resumes: s_server resumed it (no client chain verified for it)"
else
	not_ok "second-resumes: s_server reported $(reused_count) reused sessions, want 1: $(grep -E '^(CONNECTION|depth=0)' "$TLS_SERVER_LOG" | tr '\n' ' ')"
fi

if ctl client reload | grep -q 'reload ok'; then
	through reload-same "after a reload that changed nothing" yes
	stat_is reload-same resume_chain_cache_misses 1
	stat_is reload-same resume_chain_cache_hits 1
else
	not_ok "reload-same: ktunctl reload failed"
fi

# ktund reads $PKI/ca.pem; s_server has read it already (and trusts the same root).
cat "$PKI/foreign-ca.pem" >>"$PKI/ca.pem"
if ctl client reload | grep -q 'reload ok' &&
	wait_log "$CLIENT_LOG" '\] reload: [0-9]+ session tickets dropped' 5; then
	ok "reload-ca: $(grep -m1 -oE 'reload: [0-9]+ session tickets dropped.*' "$CLIENT_LOG")"
else
	not_ok "reload-ca: no reload ok with tickets dropped: $(grep -E 'reload' "$CLIENT_LOG" | tr '\n' ' ')"
fi
stat_is reload-ca ticket_cache_entries 0
before=$(reused_count)
through reload-ca "after the CA changed" no
[ "$(reused_count)" = "$before" ] && ok "reload-ca: s_server did not resume" ||
	not_ok "reload-ca: s_server resumed a session after the CA changed"

# The cache holds the full handshake's tickets again; a restarted s_server has new keys.
stat_is server-new-keys ticket_cache_entries 2
hits=$(stat_of client ticket_hits)
start_tls13 sserver-2
through server-new-keys "to a server that forgot its keys" no
stat_is server-new-keys ticket_hits $((hits + 1))
[ "$(reused_count)" = 0 ] && ok "server-new-keys: s_server did a full handshake" ||
	not_ok "server-new-keys: s_server says it resumed"

m=$(in_edge curl -s --max-time 5 http://127.0.0.1:9101/metrics || true)
if grep -qE '^ktund_ticket_cache_entries\{tunnel="client"\} [0-9]+$' <<<"$m" &&
	grep -qE '^ktund_ticket_cache_hits_total\{tunnel="client"\} [1-9]' <<<"$m" &&
	grep -qE '^ktund_ticket_cache_misses_total\{tunnel="client"\} [1-9]' <<<"$m" &&
	grep -qE '^ktund_handshakes_resumed_total\{tunnel="client"\} [1-9]' <<<"$m"; then
	ok "metrics: $(grep -E '^ktund_(ticket_cache|handshakes_resumed)' <<<"$m" | tr '\n' ' ')"
else
	not_ok "metrics: ticket cache series missing: $(grep -E 'ticket|resumed' <<<"$m" | tr '\n' ' ')"
fi
stop_client

# verify-* rules changed by a reload of the configuration file.
conf=$WORK/client.conf
write_conf() {
	{
		printf '[global]\ncontrol = %s\n' "$WORK/client.sock"
		client_ini client "$APP_ADDR" "$ORIGIN_IP:$TLS_PORT" "$1"
	} >"$conf"
}
write_conf 'verify-cn = origin.test'
_starts=$((_starts + 1))
CLIENT_LOG=$WORK/client-$_starts.log
ip netns exec "$NS_EDGE" "$KTUND" --config "$conf" 2>"$CLIENT_LOG" &
CLIENT_PID=$!
_wait_ready "$CLIENT_PID" "$CLIENT_LOG" client
through reload-verify "before" no
through reload-verify "resumed before the change" yes
write_conf 'verify-dns = origin.test'
if ctl client reload | grep -q 'reload ok' &&
	wait_log "$CLIENT_LOG" '\] reload: [0-9]+ session tickets dropped' 5; then
	ok "reload-verify: $(grep -m1 -oE 'reload: [0-9]+ session tickets dropped.*' "$CLIENT_LOG")"
else
	not_ok "reload-verify: no tickets dropped: $(grep -E 'reload' "$CLIENT_LOG" | tr '\n' ' ')"
fi
through reload-verify "after the verify rules changed" no
stop_client

# An OCSP response about the server's certificate, good for a week, signed by the intermediate.
ocsp_index_line V server >"$PKI/index.txt"
ocsp_respond index.txt inter server "$WORK/server-good.der" -ndays 7
start_sserver sserver-ocsp server -tls1_3 -num_tickets 2 -status_file "$WORK/server-good.der"
# Without require-ocsp it resumes, but a stapled session never uses the chain cache (the
# staple's dates are checked in verify_peers only): counted as bypassed, not as a hit.
start_client
through stapled "stapled" no
through stapled "resumed, stapled before" yes
stat_is stapled resume_chain_cache_bypassed 1
stat_is stapled resume_chain_cache_hits 0
stat_is stapled resume_chain_cache_misses 0
stat_is stapled handshakes_resumed 1
stop_client
start_client --require-ocsp
through require-ocsp "stapled" no
through require-ocsp "stapled again" no
stat_is require-ocsp ticket_hits 0
stop_client
stop_sserver

# A response about the intermediate only, signed by the root: TLS 1.3 staples per certificate
# and verify_peers checks every one, so this session counts as stapled too (not only a leaf's
# staple). gnutls-serv matches the response to the chain's intermediate; --echo sends a line
# back as it is, so the text is a palindrome (the same reversed, as through's app expects).
ocsp_index_line V inter >"$PKI/index.txt"
ISSUER=ca ocsp_respond index.txt ca inter "$WORK/inter-good.der" -ndays 7
TLS_SERVER_LOG=$WORK/gnutls-serv-inter-ocsp.log
ip netns exec "$NS_ORIGIN" gnutls-serv --echo -p "$TLS_PORT" --priority NORMAL:-VERS-ALL:+VERS-TLS1.3 \
	--x509certfile "$PKI/server-chain.pem" --x509keyfile "$PKI/server.key" \
	--x509cafile "$PKI/ca.pem" --require-client-cert --verify-client-cert \
	--ocsp-response "$WORK/inter-good.der" >"$TLS_SERVER_LOG" 2>&1 &
TLS_SERVER_PID=$!
wait_port "$NS_ORIGIN" "$TLS_PORT" || fail "gnutls-serv did not start: $(cat "$TLS_SERVER_LOG")"
start_client
through stapled-inter "level" no
through stapled-inter "racecar" yes
stat_is stapled-inter resume_chain_cache_bypassed 1
stat_is stapled-inter resume_chain_cache_hits 0
stat_is stapled-inter resume_chain_cache_misses 0
stat_is stapled-inter handshakes_resumed 1
stop_client
stop_sserver
finish
