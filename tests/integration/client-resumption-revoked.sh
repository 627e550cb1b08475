#!/bin/bash
# client-resumption-revoked: a server certificate revoked between two sessions must not be
# accepted again through a resumed session (issue 14 §1, "Security on resume"; the re-check
# is daemon/resume_check.c, called from handshake_done). ktund client with --crl against
# openssl s_server (-tls1_3 -num_tickets 2):
#   first        a full handshake; ktund files the server's tickets
#   revoked      the intermediate's CRL now lists the server's certificate; after a reload
#                (which keeps the ticket cache: the CRL is not a reason to drop it) the next
#                connection offers a ticket (ticket_hits 1) and must still be refused:
#                the app's connection reset, ktund logs reject reason=revoked, no data
#   control      a fresh ktund (no tickets) with that CRL refuses the server: reason=revoked
set -euo pipefail
. "$(dirname "$0")/client-common.sh"
pair_init

cp "$PKI/crl.pem" "$WORK/crl.pem"
start_sserver sserver server -tls1_3 -num_tickets 2
start_client --crl "$WORK/crl.pem"
if out=$(app rev-line "$APP_ADDR" "first") && wait_stat client tickets_stored 2 5; then
	ok "first: $out; tickets_stored 2"
else
	not_ok "first: no data or no tickets filed: ${out:-} tickets_stored=$(stat_of client tickets_stored)"
fi

(
	cd "$PKI"
	printf 'crl_next_update = 30\ncrl_number = 2\n' >crl2.tmpl
	cat client-revoked.pem server.pem >revoked.pem
	certtool --generate-crl --load-ca-privkey inter.key --load-ca-certificate inter.pem \
		--load-certificate revoked.pem --template crl2.tmpl --outfile "$WORK/crl-new.pem" 2>/dev/null
) || fail "certtool could not issue the new CRL"
mv "$WORK/crl-new.pem" "$WORK/crl.pem"
if ! ctl client reload | grep -q 'reload ok'; then
	not_ok "revoked: ktunctl reload failed"
fi
if [ "$(stat_of client ticket_cache_entries)" = 0 ]; then
	not_ok "revoked: the reload dropped the tickets, so this would not test a resumed session"
fi
out=$(app expect-reset "$APP_ADDR" || true)
if [ "$(stat_of client ticket_hits)" != 1 ]; then
	not_ok "revoked: no ticket was offered (ticket_hits $(stat_of client ticket_hits))"
elif wait_log "$CLIENT_LOG" '\] reject .*reason=revoked' 5 && grep -q '^app saw reset\|reset' <<<"$out"; then
	ok "revoked: $out; $(grep -m1 -oE 'reject .*' "$CLIENT_LOG")"
else
	not_ok "revoked: a revoked server was accepted on resume: app: $out; $(grep -E '\] (handshake|reject) ' "$CLIENT_LOG" | tail -n 1 | sed 's/^.*\] //')"
fi
# The tickets left carry the same chain: refused once, they all go, so the next connection
# makes a full handshake rather than failing on each cached ticket in turn.
if [ "$(stat_of client ticket_cache_entries)" = 0 ] && grep -q 'session tickets dropped: a resumed session was refused' "$CLIENT_LOG"; then
	ok "revoked: the refusal dropped the tunnel's other tickets"
else
	not_ok "revoked: tickets left after a refused resumption: $(stat_of client ticket_cache_entries)"
fi
stop_client

# The control: a fresh ktund (empty cache) with the same CRL refuses the server in a full
# handshake, so the CRL above is right and only resumption can let the server in.
start_client --crl "$WORK/crl.pem"
out=$(app expect-reset "$APP_ADDR" || true)
if wait_log "$CLIENT_LOG" '\] reject .*reason=revoked' 5; then
	ok "control: full handshake refused: $(grep -m1 -oE 'reject .*reason=revoked' "$CLIENT_LOG")"
else
	not_ok "control: the new CRL does not refuse the server in a full handshake: $out"
fi
stop_client
stop_sserver
finish
