#!/bin/bash
# client-reject: ktund client refuses TLS servers whose certificate it must not trust, against
# openssl s_server in the origin namespace. For each refusal: the application's connection is
# reset (never a clean empty close), ktund logs one reject line with the exact reason and counts
# client.reject.REASON = 1, and the server receives the specific TLS alert.
#   baseline           server cert, --server-name origin.test: data through (the server works)
#   wrong-san          server-wrongsan (SAN wrong.test only)          -> wrong-name  (alert 42)
#   name-mismatch      good cert, --server-name other.test            -> wrong-name  (alert 42)
#   expired            server-expired                                 -> expired     (alert 45)
#   untrusted          origin.test cert issued by foreign-ca          -> untrusted   (alert 48)
#   bad-purpose        server-clientauth (clientAuth EKU only)        -> bad-purpose (alert 43)
#   no-eku             server-noeku (no extended key usage at all)    -> bad-purpose (alert 43)
#   ca-leaf            server-ca (serverAuth, but CA:TRUE)            -> bad-purpose (alert 43)
#   tls12-wrong-san    wrong-san again over TLS 1.2 (other handshake order)
#   ip-no-ipsan        target 192.0.2.2, no --server-name; the cert has IP SANs 127.0.0.1 and ::1
#                      only, so the IP is the name to check and it is absent -> wrong-name
#   ip-server-name     same server, --server-name origin.test: data through
#   ip-ipsan           a cert with IP SAN 192.0.2.2, no --server-name: data through
#   ip-as-dns          a cert naming 192.0.2.2 only as CN and dNSName (no iPAddress SAN): an IP
#                      must match an iPAddress SAN (RFC 6125) -> wrong-name
# shellcheck disable=SC2119 # tests/lib/ktund.sh functions take optional arguments; none needed here
set -euo pipefail
. "$(dirname "$0")/client-common.sh"
pair_init

issue_server server-foreign foreign-ca 'cn = "origin.test"' 'dns_name = "origin.test"' \
	'ip_address = "127.0.0.1"'
issue_server server-ip192 inter 'cn = "origin.test"' "ip_address = \"$ORIGIN_IP\""
issue_server server-ipdns inter "cn = \"$ORIGIN_IP\"" "dns_name = \"$ORIGIN_IP\""

# refused LABEL CERT REASON ALERT-NUMBER ALERT-NAME [S_SERVER ARGS...]: one refusal case with a
# fresh s_server and a fresh ktund client (CLIENT_* from the caller's environment).
refused() {
	local label=$1 cert=$2 reason=$3 num=$4 name=$5
	shift 5
	start_sserver "sserver-$label" "$cert" "$@"
	start_client
	check_refused "$label" "$reason"
	check_alert "$label" "$num" "$name"
	stop_client
}

# through LABEL CERT [S_SERVER ARGS...]: data must pass.
through() {
	local label=$1 cert=$2
	shift 2
	start_sserver "sserver-$label" "$cert" "$@"
	start_client
	check_through "$label" "through ktund to $cert"
	stop_client
}

through baseline server
refused wrong-san server-wrongsan wrong-name 42 bad_certificate
CLIENT_SERVER_NAME=other.test refused name-mismatch server wrong-name 42 bad_certificate
refused expired server-expired expired 45 certificate_expired
refused untrusted server-foreign untrusted 48 unknown_ca
refused bad-purpose server-clientauth bad-purpose 43 unsupported_certificate
refused no-eku server-noeku bad-purpose 43 unsupported_certificate
refused ca-leaf server-ca bad-purpose 43 unsupported_certificate
refused tls12-wrong-san server-wrongsan wrong-name 42 bad_certificate -tls1_2

CLIENT_SERVER_NAME='' refused ip-no-ipsan server wrong-name 42 bad_certificate
CLIENT_SERVER_NAME=origin.test through ip-server-name server
CLIENT_SERVER_NAME='' through ip-ipsan server-ip192
CLIENT_SERVER_NAME='' refused ip-as-dns server-ipdns wrong-name 42 bad_certificate
stop_sserver

finish "every untrustworthy server refused with its reason; the app reset each time"
