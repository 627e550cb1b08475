#!/bin/bash
# ktunctl-json: --json on every command gives a JSON document a program can use: status as
# {tunnel: {counter: number}}, conns as objects with the peer's identity while a connection is
# open, metrics as {name, labels, value} samples, reload and redirect as line arrays or
# {"error": ...} with exit 1. A client whose subject forges conns fields gets them shown as
# text. No root: a ktund server on loopback.
set -euo pipefail
: "${KTUND:?} ${KTUNCTL:?} ${KTUN_SRCDIR:?}"
# shellcheck source=../lib/result.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/result.sh"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
"$KTUN_SRCDIR/tests/lib/pki.sh" "$work/pki" >/dev/null
P=$work/pki
port=$((20000 + RANDOM % 20000))

python3 - "$((port + 1))" <<'PY' &
import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
def echo(c):
    while (d := c.recv(65536)):
        c.sendall(d)
    c.close()
while True:
    c, _ = s.accept(); threading.Thread(target=echo, args=(c,), daemon=True).start()
PY
for _ in $(seq 100); do ss -Htln "sport = :$((port + 1))" | grep -q . && break; sleep 0.1; done
"$KTUND" server --listen "127.0.0.1:$port" --target "127.0.0.1:$((port + 1))" \
	--cert "$P/server-chain.pem" --key "$P/server.key" --cacert "$P/ca.pem" --allow-ou edge \
	--control "$work/ctl.sock" >"$work/ktund.log" 2>&1 &
for _ in $(seq 100); do grep -q 'notice: ready' "$work/ktund.log" && break; sleep 0.1; done

# A connection held open while conns is asked.
(echo held; sleep 3) | timeout 10 openssl s_client -connect "127.0.0.1:$port" -CAfile "$P/ca.pem" \
	-cert "$P/client.pem" -cert_chain "$P/inter.pem" -key "$P/client.key" -quiet >/dev/null 2>&1 &
for _ in $(seq 50); do grep -q 'handshake peer' "$work/ktund.log" && break; sleep 0.1; done
sleep 0.3

ctl() { "$KTUNCTL" --control "$work/ctl.sock" --json "$@"; }
ctl status >"$work/status.json"
ctl conns >"$work/conns.json"
ctl metrics >"$work/metrics.json"
ctl reload >"$work/reload.json"
rc=0
ctl redirect list >"$work/redirect.json" || rc=$?

# A certificate holder writes fields of its own into its subject: a quote, a backslash and
# " tls_local=... tls_remote=..." naming another socket. The daemon writes the quote and the
# backslash (and RFC 4514's escaping backslashes) as \x22 and \x5c, so the value cannot end
# early, and ktunctl looks the kernel's facts up by the real socket: its line gets ulp=.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/evil.key" \
	-subj '/OU=edge/CN=evil" tls_local=10.9.9.9:1 tls_remote=10.9.9.9:2 \\' -out "$work/evil.csr" 2>/dev/null
printf 'extendedKeyUsage = clientAuth\n' >"$work/evil.ext"
openssl x509 -req -in "$work/evil.csr" -CA "$P/inter.pem" -CAkey "$P/inter.key" -CAcreateserial \
	-days 2 -extfile "$work/evil.ext" -out "$work/evil.pem" 2>/dev/null
(echo held; sleep 3) | timeout 10 openssl s_client -connect "127.0.0.1:$port" -CAfile "$P/ca.pem" \
	-cert "$work/evil.pem" -cert_chain "$P/inter.pem" -key "$work/evil.key" -quiet >/dev/null 2>&1 &
for _ in $(seq 50); do [ "$(grep -c 'handshake peer' "$work/ktund.log")" -ge 2 ] && break; sleep 0.1; done
"$KTUNCTL" --control "$work/ctl.sock" conns >"$work/conns.txt"
evil=$(grep 'CN=evil' "$work/conns.txt") || fail "no evil connection: $(cat "$work/conns.txt")"
case $evil in
*'CN=evil\x5c\x22 tls_local=10.9.9.9:1 tls_remote=10.9.9.9:2 \x5c\x5c,OU=edge"'*) ;; # RFC 4514: \" and \\
*) fail "the subject's quote and backslash are not escaped as \xHH: $evil" ;;
esac
case $evil in
*' age='*' tls_local=127.0.0.1:'*' ulp='*) ;;
*) fail "ktunctl did not look the real socket up (no ulp= after the daemon's tls_local): $evil" ;;
esac

python3 - "$work" "$rc" <<'PY'
import json, sys
w, rc = sys.argv[1], int(sys.argv[2])
bad = []
st = json.load(open(f"{w}/status.json"))
if st["server"]["conns_total"] != 1 or st["server"]["conns_open"] != 1 or st["server"]["mode"] != "server":
    bad.append(f"status: {st['server']}")
if st["server"]["reject.expired"] != 0:
    bad.append("status: reject.expired is not the number 0")
conns = json.load(open(f"{w}/conns.json"))
if len(conns) != 1 or conns[0]["id"] != "CN=edge-client,OU=edge" or conns[0]["version"] != "TLS1.3" \
        or not isinstance(conns[0]["conn"], int):
    bad.append(f"conns: {conns}")
m = json.load(open(f"{w}/metrics.json"))
hs = [x for x in m if x["name"] == "ktund_handshakes_total"]
if not hs or hs[0]["value"] != 1 or hs[0]["labels"] != {"tunnel": "server"}:
    bad.append(f"metrics: {hs}")
own = [x for x in m if x["name"] == "ktund_certificate_expiry_seconds" and x["labels"]["role"] == "own"]
if not own or own[0]["labels"]["subject"] != "CN=origin.test" or own[0]["value"] <= 0:
    bad.append(f"metrics expiry: {own}")
if json.load(open(f"{w}/reload.json")) != ["reload ok"]:
    bad.append("reload: " + open(f"{w}/reload.json").read())
red = json.load(open(f"{w}/redirect.json"))
if rc != 1 or "redirector" not in red.get("error", ""):
    bad.append(f"redirect list without a redirector: exit {rc}, {red}")
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY
pass "status, conns, metrics, reload, an error"
