#!/bin/bash
# pki.sh OUTDIR — a throwaway PKI for ktun's tests, made with certtool (gnutls-bin).
# Leaves are signed by an intermediate CA under a root; peers trust only ca.pem and send
# NAME-chain.pem (leaf + intermediate). Files: NAME.pem (leaf), NAME.key, NAME-chain.pem.
#   ca, inter                          root and intermediate CAs
#   server          CN=origin.test  SAN localhost, origin.test, 127.0.0.1, ::1; serverAuth
#   client          CN=edge-client OU=edge  SAN edge.test, spiffe://ktun.test/ns/edge/sa/client; clientAuth
#   client-expired, client-notyet, client-revoked (+ crl.pem), client-foreign (+ foreign-ca.pem),
#   client-wrongou (OU=other), client-serverauth (serverAuth only), client-p384,
#   client-ed25519, client-rsa, server-wrongsan (SAN wrong.test), server-expired,
#   server-p384, server-ed25519, server-rsa, server-clientauth (clientAuth only)
#   client-noeku, server-noeku (no extended key usage), client-anyeku (anyExtendedKeyUsage
#   only), client-ca, server-ca (basicConstraints CA:TRUE, with the right purpose): all refused
# Also client.sha256 (SHA-256 of client.pem's DER, lowercase hex) and client.serial (hex).
set -euo pipefail
out=${1:?usage: pki.sh OUTDIR}
mkdir -p "$out"
cd "$out"

key() { # name [ecdsa-p256|p384|ed25519|rsa]
	local opts
	case ${2:-p256} in
	p256) opts=(--key-type ecdsa --curve secp256r1) ;;
	p384) opts=(--key-type ecdsa --curve secp384r1) ;;
	ed25519) opts=(--key-type ed25519) ;;
	rsa) opts=(--key-type rsa --bits 2048) ;;
	esac
	certtool --generate-privkey "${opts[@]}" --outfile "$1.key" 2>/dev/null
}

# issue NAME ISSUER KEYTYPE TEMPLATE-LINES... : a leaf or CA signed by ISSUER (or self-signed)
issue() {
	local name=$1 issuer=$2 kt=$3
	shift 3
	key "$name" "$kt"
	printf '%s\n' "$@" "serial = $((0x$(od -An -N4 -tx1 /dev/urandom | tr -d ' ') % 2000000000 + 2))" >"$name.tmpl"
	if [ "$issuer" = self ]; then
		certtool --generate-self-signed --load-privkey "$name.key" --template "$name.tmpl" \
			--outfile "$name.pem" 2>/dev/null
	else
		certtool --generate-certificate --load-privkey "$name.key" --load-ca-certificate "$issuer.pem" \
			--load-ca-privkey "$issuer.key" --template "$name.tmpl" --outfile "$name.pem" 2>/dev/null
	fi
	rm -f "$name.tmpl"
	if [ "$issuer" != self ] && [ "$issuer" != ca ] && [ "$issuer" != foreign-ca ]; then
		cat "$name.pem" "$issuer.pem" >"$name-chain.pem"
	else
		cp "$name.pem" "$name-chain.pem"
	fi
}

ca_lines=(ca cert_signing_key crl_signing_key "expiration_days = 3650")
issue ca self p256 'cn = "ktun test root CA"' "${ca_lines[@]}"
issue inter ca p256 'cn = "ktun test intermediate CA"' "${ca_lines[@]}"
issue foreign-ca self p256 'cn = "foreign root CA"' "${ca_lines[@]}"

server_lines=('cn = "origin.test"' 'dns_name = "localhost"' 'dns_name = "origin.test"'
	'ip_address = "127.0.0.1"' 'ip_address = "::1"' tls_www_server signing_key)
client_lines=('cn = "edge-client"' 'unit = "edge"' 'dns_name = "edge.test"'
	'uri = "spiffe://ktun.test/ns/edge/sa/client"' tls_www_client signing_key)
valid="expiration_days = 365"

issue server inter p256 "${server_lines[@]}" "$valid"
issue server-p384 inter p384 "${server_lines[@]}" "$valid"
issue server-ed25519 inter ed25519 "${server_lines[@]}" "$valid"
issue server-rsa inter rsa "${server_lines[@]}" encryption_key "$valid"
issue server-expired inter p256 "${server_lines[@]}" \
	'activation_date = "2020-01-01 00:00:00 UTC"' 'expiration_date = "2021-01-01 00:00:00 UTC"'
issue server-wrongsan inter p256 'cn = "wrong.test"' 'dns_name = "wrong.test"' tls_www_server signing_key "$valid"
issue server-clientauth inter p256 'cn = "origin.test"' 'dns_name = "localhost"' 'dns_name = "origin.test"' \
	'ip_address = "127.0.0.1"' tls_www_client signing_key "$valid"

issue client inter p256 "${client_lines[@]}" "$valid"
issue client-p384 inter p384 "${client_lines[@]}" "$valid"
issue client-ed25519 inter ed25519 "${client_lines[@]}" "$valid"
issue client-rsa inter rsa "${client_lines[@]}" encryption_key "$valid"
issue client-expired inter p256 "${client_lines[@]}" \
	'activation_date = "2020-01-01 00:00:00 UTC"' 'expiration_date = "2021-01-01 00:00:00 UTC"'
issue client-notyet inter p256 "${client_lines[@]}" \
	'activation_date = "2099-01-01 00:00:00 UTC"' 'expiration_date = "2100-01-01 00:00:00 UTC"'
issue client-revoked inter p256 "${client_lines[@]}" "$valid"
issue client-wrongou inter p256 'cn = "edge-client"' 'unit = "other"' 'dns_name = "edge.test"' \
	tls_www_client signing_key "$valid"
issue client-serverauth inter p256 'cn = "edge-client"' 'unit = "edge"' tls_www_server signing_key "$valid"
issue client-foreign foreign-ca p256 "${client_lines[@]}" "$valid"
issue client-noeku inter p256 'cn = "edge-client"' 'unit = "edge"' signing_key "$valid"
issue client-anyeku inter p256 'cn = "edge-client"' 'unit = "edge"' 'key_purpose_oid = 2.5.29.37.0' \
	signing_key "$valid"
issue client-ca inter p256 "${client_lines[@]}" ca "$valid"
issue server-noeku inter p256 'cn = "origin.test"' 'dns_name = "origin.test"' signing_key "$valid"
issue server-ca inter p256 "${server_lines[@]}" ca "$valid"

# The CRL is the intermediate's: it issued the revoked certificate.
printf 'crl_next_update = 30\ncrl_number = 1\n' >crl.tmpl
certtool --generate-crl --load-ca-privkey inter.key --load-ca-certificate inter.pem \
	--load-certificate client-revoked.pem --template crl.tmpl --outfile crl.pem 2>/dev/null
rm -f crl.tmpl

certtool --fingerprint --hash sha256 --infile client.pem 2>/dev/null | tr -d ':\n' | tr 'A-F' 'a-f' >client.sha256
certtool -i --infile client.pem 2>/dev/null | awk '/Serial Number \(hex\):/ { print $4 }' >client.serial
chmod 600 ./*.key
