#!/bin/bash
# demo.sh — a real mutual-TLS tunnel between two network namespaces, in about half a minute.
#
#   edge namespace                                   origin namespace
#   curl, iperf3 -c                                  python3 http.server :8080, iperf3 -s :5201
#     -> 127.0.0.1:8080/:5201  ktund client  ==mTLS==>  192.0.2.2:8443/:5443  ktund server -> 127.0.0.1
#
# Makes a throwaway CA (tests/lib/pki.sh), the two namespaces joined by a veth pair (tests/lib/netns.sh,
# documentation addresses 192.0.2.0/24 only), one ktund per side with two tunnels each (HTTP and
# iperf3) from a config file; fetches a page and runs iperf3 through the tunnel and without it;
# prints what each side verified, the TLS version and cipher, the data path and the throughput.
# Everything (namespaces, processes, files) goes away on exit. Run as root from the checkout:
#   ./examples/demo.sh        (as root)
# Builds ktun in build/ first (installing Debian packages if tools are missing).
# KTUND/KTUNCTL override the binaries; KTUN_DEMO_SECONDS (5) the iperf3 duration.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
cd "$SRC"
SECS=${KTUN_DEMO_SECONDS:-5}

if [ "$(id -u)" != 0 ]; then
	echo "demo.sh makes network namespaces: run it as root (sudo $0)" >&2
	exit 1
fi

step() { printf '\n== %s\n' "$*"; }

missing=
for c in meson ninja certtool openssl curl iperf3 python3 ip ss; do
	command -v "$c" >/dev/null || missing="$missing $c"
done
if [ -n "$missing" ]; then
	step "installing dependencies (missing:$missing)"
	./tools/dev/install-deps.sh
fi
if [ -z "${KTUND:-}" ]; then
	# Always through ninja: a no-op when up to date, and never a stale binary after a pull.
	step "building ktun (build/)"
	[ -d build ] || meson setup build >/dev/null
	ninja -C build >/dev/null
fi
KTUND=${KTUND:-$SRC/build/daemon/ktund}
KTUNCTL=${KTUNCTL:-$SRC/build/tools/ktunctl}

# shellcheck source=../tests/lib/netns.sh
. "$SRC/tests/lib/netns.sh"
D=$(mktemp -d /tmp/ktun-demo.XXXXXX)
on_exit '[ "${KTUN_DEMO_KEEP:-0}" = 1 ] && echo "kept $D" || rm -rf "$D"'
on_exit 'for p in ${SERVER_PID:-} ${CLIENT_PID:-}; do kill -TERM $p 2>/dev/null; done; sleep 0.3'

step "throwaway PKI in $D/pki (tests/lib/pki.sh: root CA -> intermediate -> leaves)"
"$SRC/tests/lib/pki.sh" "$D/pki" >/dev/null
P=$D/pki
echo "   origin: $(openssl x509 -in "$P/server.pem" -noout -subject -ext subjectAltName 2>/dev/null | tr '\n' ' ' | sed 's/  */ /g')"
echo "   edge:   $(openssl x509 -in "$P/client.pem" -noout -subject -ext subjectAltName 2>/dev/null | tr '\n' ' ' | sed 's/  */ /g')"

step "network namespaces edge ($EDGE_IP) and origin ($ORIGIN_IP), joined by a veth pair"
netns_setup
echo "   $NS_EDGE, $NS_ORIGIN"

step "origin: an HTTP server on :8080 and iperf3 -s on :5201"
mkdir -p "$D/www"
echo "<h1>hello from the origin, through ktun</h1>" >"$D/www/index.html"
head -c 20000000 /dev/urandom >"$D/www/blob.bin"
in_origin python3 -m http.server --bind 0.0.0.0 --directory "$D/www" 8080 >"$D/http.log" 2>&1 &
in_origin iperf3 -s -p 5201 >"$D/iperf3-s.log" 2>&1 &

cat >"$D/origin.conf" <<EOF
[global]
control = $D/origin.sock

[http]
mode = server
listen = $ORIGIN_IP:8443
target = 127.0.0.1:8080
cert = $P/server-chain.pem
key = $P/server.key
cacert = $P/ca.pem
allow-uri = spiffe://ktun.test/ns/edge/sa/*

[iperf3]
mode = server
listen = $ORIGIN_IP:5443
target = 127.0.0.1:5201
cert = $P/server-chain.pem
key = $P/server.key
cacert = $P/ca.pem
allow-ou = edge
EOF
cat >"$D/edge.conf" <<EOF
[global]
control = $D/edge.sock

[http]
mode = client
listen = 127.0.0.1:8080
target = $ORIGIN_IP:8443
server-name = origin.test
cert = $P/client-chain.pem
key = $P/client.key
cacert = $P/ca.pem

[iperf3]
mode = client
listen = 127.0.0.1:5201
target = $ORIGIN_IP:5443
server-name = origin.test
cert = $P/client-chain.pem
key = $P/client.key
cacert = $P/ca.pem
EOF

wait_ready() { # LOG PID NAME
	local i
	for ((i = 0; i < 100; i++)); do
		grep -q 'notice: ready' "$1" && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	echo "ktund $3 did not start:" >&2
	cat "$1" >&2
	exit 1
}
step "ktund server in origin (:8443 -> :8080, :5443 -> :5201), ktund client in edge (127.0.0.1:8080, :5201)"
ip netns exec "$NS_ORIGIN" "$KTUND" --config "$D/origin.conf" 2>"$D/origin-ktund.log" &
SERVER_PID=$!
ip netns exec "$NS_EDGE" "$KTUND" --config "$D/edge.conf" 2>"$D/edge-ktund.log" &
CLIENT_PID=$!
wait_ready "$D/origin-ktund.log" $SERVER_PID server
wait_ready "$D/edge-ktund.log" $CLIENT_PID client
for i in $(seq 50); do
	in_origin ss -Htln 'sport = :8080' | grep -q . && in_origin ss -Htln 'sport = :5201' | grep -q . && break
	sleep 0.1
done

step "curl from edge: through the tunnel (http://127.0.0.1:8080) and plain (http://$ORIGIN_IP:8080)"
page=$(in_edge curl -sS --max-time 10 http://127.0.0.1:8080/)
echo "   page through the tunnel: $page"
fetch() { # URL -> "sha256 seconds"
	local t
	t=$(in_edge curl -sS --max-time 60 -o "$D/fetched" -w '%{time_total}' "$1")
	echo "$(sha256sum <"$D/fetched" | cut -c1-16) $t"
}
read -r h_tun t_tun <<<"$(fetch http://127.0.0.1:8080/blob.bin)"
read -r h_plain t_plain <<<"$(fetch "http://$ORIGIN_IP:8080/blob.bin")"
h_orig=$(sha256sum <"$D/www/blob.bin" | cut -c1-16)
echo "   20 MB file: tunnel sha256 $h_tun... in ${t_tun}s, plain sha256 $h_plain... in ${t_plain}s, original $h_orig..."
[ "$h_tun" = "$h_orig" ] || { echo "   the file fetched through the tunnel differs!" >&2; exit 1; }

step "an edge without a client certificate is refused (openssl s_client straight at $ORIGIN_IP:8443)"
in_edge timeout 10 openssl s_client -connect "$ORIGIN_IP:8443" -servername origin.test -CAfile "$P/ca.pem" \
	</dev/null >/dev/null 2>&1 || true
for i in $(seq 30); do grep -q 'reject ' "$D/origin-ktund.log" && break; sleep 0.1; done
echo "   origin's ktund: $(grep -m1 'reject ' "$D/origin-ktund.log" | sed 's/^.*ktund: //')"

iperf() { # label HOST PORT [-R] -> Mbit/s received
	in_edge timeout $((SECS + 20)) iperf3 -c "$2" -p "$3" -t "$SECS" -J "${@:4}" >"$D/iperf-$1.json" 2>&1 ||
		{ echo "iperf3 $1 failed:" >&2; cat "$D/iperf-$1.json" >&2; exit 1; }
	python3 -c "import json,sys; print(round(json.load(open(sys.argv[1]))['end']['sum_received']['bits_per_second'] / 1e6))" \
		"$D/iperf-$1.json"
}
step "iperf3 from edge, ${SECS}s each: through the tunnel and plain"
tun_up=$(iperf tun 127.0.0.1 5201)
echo "   tunnel edge->origin: $tun_up Mbit/s"
plain_up=$(iperf plain "$ORIGIN_IP" 5201)
echo "   plain  edge->origin: $plain_up Mbit/s"

# ---------------------------------------------------------------- summary
field() { grep -m1 -o "$1=[^ ]*" <<<"$2" | cut -d= -f2- | tr -d '"' || true; }
s_hs=$(grep -m1 '\[http\] handshake ' "$D/origin-ktund.log" || true)
c_hs=$(grep -m1 '\[http\] handshake ' "$D/edge-ktund.log" || true)
s_id=$(grep -m1 -o 'id="[^"]*"' <<<"$s_hs" | sed 's/^id=//' || true)
c_id=$(grep -m1 -o 'id="[^"]*"' <<<"$c_hs" | sed 's/^id=//' || true)
version=$(field version "$s_hs")
cipher=$(field cipher "$s_hs")
if [ -z "$version" ]; then
	# No handshake line in the log: ask the server directly.
	sc=$(in_edge timeout 10 openssl s_client -connect "$ORIGIN_IP:8443" -servername origin.test -CAfile "$P/ca.pem" \
		-cert "$P/client.pem" -cert_chain "$P/inter.pem" -key "$P/client.key" </dev/null 2>/dev/null || true)
	version=$(awk '/^New, /{ print $2 }' <<<"$sc" | tr -d ,)
	cipher=$(awk '/Cipher is/{ print $NF; exit }' <<<"$sc")
fi
s_status=$("$KTUNCTL" --control "$D/origin.sock" status)
c_status=$("$KTUNCTL" --control "$D/edge.sock" status)
s_dp=$(awk '$1 == "http.datapath" { print $2 }' <<<"$s_status")
c_dp=$(awk '$1 == "http.datapath" { print $2 }' <<<"$c_status")
why=$(grep -m1 -o 'kernel TLS [^:]*: [^)]*)' "$D/origin-ktund.log" || true)
s_close=$(grep -m1 '\[http\] close .*reason=done' "$D/origin-ktund.log" | sed 's/^.*ktund: info: //' || true)
pct=$(python3 -c "print(round(100 * $tun_up / $plain_up) if $plain_up else '-')")

cat <<EOF

==================================================================== ktun demo summary
 identities verified
   origin's ktund accepted the edge as   $s_id
        (chain to the test root CA via the intermediate, clientAuth,
         allow-uri spiffe://ktun.test/ns/edge/sa/* on the http tunnel)
   edge's ktund accepted the origin as   $c_id
        (chain, serverAuth, name "origin.test" checked against the certificate)
   a client without a certificate        $(grep -m1 -o 'reason=[^ ]*' <<<"$(grep -m1 'reject ' "$D/origin-ktund.log")" || echo "?")
 TLS          $version, $cipher
 data path    origin $s_dp, edge $c_dp${why:+  ($why)}
 HTTP         page and 20 MB file intact through the tunnel (sha256 $h_tun...)
 throughput   iperf3 ${SECS}s edge->origin: tunnel $tun_up Mbit/s, plain $plain_up Mbit/s ($pct% of plain)
 audit line   $s_close
 counters     origin: $(awk '$1 ~ /^(http|iperf3)\.(conns_total|close\.|reject\.)/ && $2 != 0' <<<"$s_status" | tr '\n' ' ')
=====================================================================================
EOF
