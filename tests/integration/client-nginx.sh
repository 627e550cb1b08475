#!/bin/bash
# client-nginx: curl in the edge namespace -> ktund client -> nginx (ssl_verify_client on,
# ssl_client_certificate ca.pem, ssl_verify_depth 2) serving files in the origin namespace.
#   tls13, tls12     two files over one kept-alive connection arrive intact (sha256); nginx's
#                    access log shows $ssl_client_s_dn CN=edge-client,OU=edge, SUCCESS and the
#                    version; ktund logs the server's identity and one close line with curl's
#                    exact byte counts. Its reason is done or truncated: curl closes first, ktund
#                    sends close_notify, and nginx closes without answering with its own (it
#                    never does, with any client), which the contract calls truncated.
#   foreign          ktund holds client-foreign (foreign CA). nginx lists ca.pem's name in its
#                    CertificateRequest, so GnuTLS sends no certificate at all; nginx completes
#                    the handshake and answers 400 "No required SSL certificate was sent" (nginx
#                    checks client certificates at the HTTP layer, not in the handshake): the app
#                    gets no file, nginx logs the refusal, ktund's handshake line shows the server.
#                    (A leaf without its intermediate is withheld the same way.)
# nginx runs from a config written into the work dir (nginx_origin, tests/lib/ktund.sh).
# shellcheck disable=SC2119 # pair_init takes optional arguments; none needed here
set -euo pipefail
. "$(dirname "$0")/client-common.sh"
need_cmd nginx curl sha256sum
pair_init

TLS12_PORT=$((TLS_PORT + 1))
mkdir -p "$WORK/www"
head -c 3000000 /dev/urandom >"$WORK/www/big.bin"
head -c 70000 /dev/urandom >"$WORK/www/small.bin"

# shellcheck disable=SC2016 # nginx's variables
nginx_origin '$remote_addr "$ssl_client_s_dn" $ssl_client_verify $ssl_protocol $status $body_bytes_sent "$request"' \
	"ssl_certificate $PKI/server-chain.pem;" "ssl_certificate_key $PKI/server.key;" \
	"ssl_client_certificate $PKI/ca.pem;" 'ssl_verify_client on;' 'ssl_verify_depth 2;' \
	"server { listen $ORIGIN_IP:$TLS_PORT ssl; ssl_protocols TLSv1.3; }" \
	"server { listen $ORIGIN_IP:$TLS12_PORT ssl; ssl_protocols TLSv1.2; }"
if ! wait_port "$NS_ORIGIN" "$TLS12_PORT" || ! wait_port "$NS_ORIGIN" "$TLS_PORT"; then
	fail "nginx did not start: $(cat "$WORK/nginx.log" "$WORK/nginx-error.log" 2>/dev/null)"
fi

sha() { sha256sum <"$1" | cut -d' ' -f1; }

# fetch LABEL PORT VERSION: both files over one connection through a fresh ktund client.
fetch() {
	local label=$1 port=$2 version=$3 out code req hdr body lines n_access
	CLIENT_TARGET=$ORIGIN_IP:$port start_client
	n_access=$(wc -l <"$WORK/nginx-access.log" 2>/dev/null || echo 0)
	# curl -w prints once per URL; the sums over both are what crossed ktund.
	if ! out=$(in_edge curl -sS --max-time 20 -w '%{http_code} %{size_request} %{size_header} %{size_download} %{num_connects}\n' \
		-o "$WORK/got-$label-big.bin" "http://127.0.0.1:$EDGE_PORT/big.bin" \
		-o "$WORK/got-$label-small.bin" "http://127.0.0.1:$EDGE_PORT/small.bin" 2>&1); then
		not_ok "$label: curl through ktund failed: $out"
		stop_client
		return
	fi
	stop_client
	if [ "$(awk '{ print $1 }' <<<"$out" | sort -u)" != 200 ] ||
		[ "$(sha "$WORK/got-$label-big.bin")" != "$(sha "$WORK/www/big.bin")" ] ||
		[ "$(sha "$WORK/got-$label-small.bin")" != "$(sha "$WORK/www/small.bin")" ]; then
		not_ok "$label: files not intact (curl: $(tr '\n' ' ' <<<"$out"))"
		return
	fi
	if [ "$(awk '{ n += $5 } END { print n }' <<<"$out")" != 1 ]; then
		not_ok "$label: curl opened more than one connection: $(tr '\n' ' ' <<<"$out")"
		return
	fi
	ok "$label: 3000000 + 70000 bytes intact over one connection (sha256 $(sha "$WORK/www/big.bin" | cut -c1-16)...)"

	# nginx verified ktund's certificate: its subject DN, per request.
	wait_log "$WORK/nginx-access.log" 'small.bin' 5 || true
	lines=$(tail -n +"$((n_access + 1))" "$WORK/nginx-access.log")
	if [ "$(grep -c "\"CN=edge-client,OU=edge\" SUCCESS $version 200 " <<<"$lines")" = 2 ]; then
		ok "$label: nginx access log: $(head -1 <<<"$lines")"
	else
		not_ok "$label: want two access lines with \"CN=edge-client,OU=edge\" SUCCESS $version 200, got: $lines"
	fi

	req=$(awk '{ n += $2 } END { print n }' <<<"$out")
	hdr=$(awk '{ n += $3 } END { print n }' <<<"$out")
	body=$(awk '{ n += $4 } END { print n }' <<<"$out")
	lines=$(close_lines "$CLIENT_LOG")
	if [ "$(wc -l <<<"$lines")" = 1 ] &&
		grep -qE "close peer=[^ ]+ id=\"CN=origin.test\" up=$req down=$((hdr + body)) .*reason=(done|truncated)( |$)" <<<"$lines" &&
		grep -qE "\] handshake peer=[^ ]+ id=\"CN=origin.test\" version=${version/v/} " "$CLIENT_LOG"; then
		ok "$label: ktund: ${lines#*\] }"
	else
		not_ok "$label: want one close line id=\"CN=origin.test\" up=$req down=$((hdr + body)) reason=done|truncated after a ${version/v/} handshake: $(grep -E '\] (handshake|close) ' "$CLIENT_LOG" | tr '\n' ' ')"
	fi
}

fetch tls13 "$TLS_PORT" TLSv1.3
fetch tls12 "$TLS12_PORT" TLSv1.2

# refused LABEL WHY-REGEX ERRORLOG-REGEX: with CLIENT_CERT/KEY from the caller, nginx answers
# 400 for WHY and says so in its error log; the file is not served.
refused() {
	local label=$1 why=$2 errlog=$3 out code
	start_client
	out=$(in_edge curl -sS --max-time 20 -w '\n%{http_code}' "http://127.0.0.1:$EDGE_PORT/small.bin" 2>&1) || true
	code=$(tail -1 <<<"$out")
	stop_client
	if [ "$code" = 400 ] && grep -q "$why" <<<"$out"; then
		ok "$label: curl got 400: $why"
	else
		not_ok "$label: want HTTP 400 \"$why\", got $code: $(head -c 300 <<<"$out" | tr '\n' ' ')"
	fi
	if wait_log "$WORK/nginx-error.log" "$errlog" 5; then
		ok "$label: nginx: $(grep -m1 -oE "${errlog}[^,]*" "$WORK/nginx-error.log")"
	else
		not_ok "$label: nginx's error log does not say \"$errlog\""
	fi
}

CLIENT_CERT=$PKI/client-foreign-chain.pem CLIENT_KEY=$PKI/client-foreign.key refused foreign \
	'No required SSL certificate was sent' 'client sent no required SSL certificate'
if grep -qE '\] handshake peer=[^ ]+ id="CN=origin.test"' "$CLIENT_LOG"; then
	ok "foreign: ktund verified nginx (${CLIENT_LOG##*/}: $(grep -m1 -oE 'handshake .*' "$CLIENT_LOG"))"
else
	not_ok "foreign: no handshake line naming nginx's certificate in ktund's log"
fi

finish "files intact through ktund to nginx; nginx saw ktund's identity and refused the bad ones"
