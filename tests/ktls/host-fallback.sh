#!/bin/bash
# On a kernel without kernel TLS: `ktls = required` refuses to start with a clear error, and
# `ktls = auto` says once that it falls back and carries connections on the userspace path.
set -euo pipefail
: "${KTUND:?} ${KTUNCTL:?} ${KTUN_SRCDIR:?}"
# shellcheck source=../lib/result.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/result.sh"

if grep -q TlsCurrTxSw /proc/net/tls_stat 2>/dev/null; then
	skip "this kernel has kernel TLS; the fallback is tested where it has none"
fi
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
"$KTUN_SRCDIR/tests/lib/pki.sh" "$work/pki" >/dev/null
P=$work/pki
port=$((20000 + RANDOM % 20000))
args=(server --listen "127.0.0.1:$port" --target "127.0.0.1:$((port + 1))" --cert "$P/server-chain.pem"
	--key "$P/server.key" --cacert "$P/ca.pem" --allow-cn edge-client --control "$work/ctl.sock")

set +e
"$KTUND" "${args[@]}" --ktls required >"$work/req.log" 2>&1
rc=$?
set -e
if [ $rc != 2 ] || ! grep -q 'ktls = required, but this kernel has no kernel TLS' "$work/req.log"; then
	cat "$work/req.log"
	fail "ktls = required on a kernel without kTLS: exit $rc"
fi
ok "ktls = required refused to start: $(grep -o 'ktls = required.*' "$work/req.log")"

python3 -c "
import socket
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); s.bind(('127.0.0.1',$((port + 1)))); s.listen(1)
c,_=s.accept(); c.sendall(c.recv(100)); c.close()" &
# The origin must listen before ktund connects to it: python may take a while to start.
for _ in $(seq 100); do ss -Htln "sport = :$((port + 1))" | grep -q . && break; sleep 0.1; done
"$KTUND" "${args[@]}" >"$work/auto.log" 2>&1 &
for _ in $(seq 50); do grep -q 'notice: ready' "$work/auto.log" && break; sleep 0.1; done
out=$( (echo fallback-works; sleep 1) | timeout 10 openssl s_client -connect "127.0.0.1:$port" -CAfile "$P/ca.pem" \
	-cert "$P/client.pem" -cert_chain "$P/inter.pem" -key "$P/client.key" -quiet 2>/dev/null || true)
status=$("$KTUNCTL" --control "$work/ctl.sock" status)
if [ "$out" != fallback-works ] || ! grep -qx 'server.datapath userspace' <<<"$status" ||
   ! grep -qx 'server.conns_userspace 1' <<<"$status" ||
   [ "$(grep -c 'kernel TLS unavailable' "$work/auto.log")" != 1 ]; then
	cat "$work/auto.log"
	echo "$status"
	fail "ktls = auto fallback: got '$out'"
fi
pass "ktls = auto fell back to userspace, said so once, and carried the connection"
