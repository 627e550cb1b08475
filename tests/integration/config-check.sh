#!/bin/bash
# config-check: `ktund --config FILE --check` on a good file (exit 0, "configuration ok: 2
# tunnel(s)", nothing bound) and on bad ones: each exits 2 with a message naming the problem.
# Needs no root and no network: --check loads every certificate and key but binds nothing.
#   good, good+cli-global     a client and a server tunnel; command-line globals may follow
#   own-cert-expired, own-cert-notyet, own-cert-serverauth (client tunnel), own-cert-clientauth
#   (server tunnel), own-cert-noeku, own-cert-ca, own-cert-nosign, cacert-leaf-only
#                             what every peer would refuse at run time: FILE:LINE of the option
#   cacert-self-signed-leaf   a pinned self-signed peer can issue itself: ok
#   duplicate-key, duplicate-global-key    FILE:LINE of both; repeated allow-ou is ok
#   unknown-key-suggest       "did you mean 'cacert'?"; frobnicate gets no suggestion
#   missing-cert, key-is-dir, key-unreadable (mode 0600, another user), key-garbage,
#   key-mismatch, cacert-empty, crl-garbage              the file is named, with the reason
#   unknown-key, syntax-error                            FILE:LINE and the key
#   server-without-allow, allow-in-client, verify-in-server, no-mode, tunnel-key-in-global,
#   global-key-in-tunnel, bad-listen, bad-port, ipv6-without-brackets, duplicate-listen,
#   duplicate-section, bad-section-name, no-tunnel, public-client-listen (+ unsafe-listen ok),
#   tls-min-above-max, missing-file, cli-tunnel-option-with-config
#   target-list (two targets, failover, target-backoff: ok), target-list-bad-entry,
#   target-list-public, target-list-too-long (17 addresses): FILE:LINE of target and the
#   entry; bad-failover
set -euo pipefail
. "$(dirname "$0")/client-common.sh"
plain_init

conf_good() {
	cat <<EOF
# a client tunnel and a server tunnel in one process
[global]
control = $WORK/ctl.sock
log-level = info
workers = 1

EOF
	client_ini to-origin 127.0.0.1:9000 192.0.2.2:8443 'verify-uri = spiffe://ktun.test/ns/*/sa/web' \
		'verify-cn = origin.test' ''
	cat <<EOF
[from-edge]
mode = server
listen = 127.0.0.1:8443
target = 127.0.0.1:8080
cert = $PKI/server-chain.pem
key = $PKI/server.key
cacert = $PKI/ca.pem
crl = $PKI/crl.pem
allow-ou = edge
allow-uri = spiffe://ktun.test/ns/edge/*
EOF
}

# variant NAME SED-SCRIPT: the good file edited; prints its path.
variant() {
	conf_good | sed -e "$2" >"$WORK/$1.conf"
	echo "$WORK/$1.conf"
}

# check_ok LABEL FILE [ARGS...]: exit 0, prints "configuration ok: 2 tunnel(s)".
check_ok() {
	local label=$1 file=$2 rc=0 out
	shift 2
	out=$("$KTUND" --config "$file" "$@" --check 2>"$WORK/$label.err") || rc=$?
	if [ "$rc" = 0 ] && [ "$out" = "configuration ok: 2 tunnel(s)" ]; then
		ok "$label: exit 0, \"$out\""
	else
		not_ok "$label: want exit 0 and 'configuration ok: 2 tunnel(s)', got $rc: $out $(tr '\n' ' ' <"$WORK/$label.err")"
	fi
}

# check_bad LABEL FILE REGEX [ARGS...]: exit 2, an error matching REGEX on stderr, no "ok".
check_bad() {
	local label=$1 file=$2 re=$3 rc=0 out err
	shift 3
	out=$("$KTUND" --config "$file" "$@" --check 2>"$WORK/$label.err") || rc=$?
	err=$(grep -v ': notice: ' "$WORK/$label.err" || true)
	if [ "$rc" = 2 ] && grep -qE -- "$re" <<<"$err" && ! grep -q 'configuration ok' <<<"$out"; then
		ok "$label: exit 2: $(grep -m1 -E -- "$re" <<<"$err")"
	else
		not_ok "$label: want exit 2 and /$re/, got $rc: ${out:+stdout: $out; }$(tr '\n' ' ' <<<"$err")"
	fi
}

good=$(variant good '')
check_ok good "$good"
if [ -e "$WORK/ctl.sock" ]; then
	not_ok "good: --check created the control socket $WORK/ctl.sock"
fi
check_ok good+cli-global "$good" --log-level debug --workers 2

# line_of FILE REGEX [N]: the line number of the Nth (1st) line matching REGEX.
line_of() {
	grep -nE -- "$2" "$1" | sed -n "${3:-1}p" | cut -d: -f1
}

# Own certificates and CAs that load but that every peer would refuse: an error at the line of
# the option, saying what to do.
# own_cert LABEL TUNNEL LEAF REGEX: TUNNEL's cert/key replaced by $PKI/LEAF-chain.pem/LEAF.key.
own_cert() {
	local label=$1 tunnel=$2 leaf=$3 re=$4 from f
	from=$([ "$tunnel" = to-origin ] && echo client || echo server)
	f=$(variant "$label" "s|$PKI/$from-chain.pem|$PKI/$leaf-chain.pem|; s|$PKI/$from.key|$PKI/$leaf.key|")
	check_bad "$label" "$f" "$f:$(line_of "$f" "^cert = "'.*'"$leaf-chain.pem"): \[$tunnel\] cert $PKI/$leaf-chain.pem \(\"[^\"]*\"\) $re"
}
own_cert own-cert-expired to-origin client-expired \
	"expired at 2021-01-01 00:00:00 UTC and peers refuse it: install a renewed one"
own_cert own-cert-notyet to-origin client-notyet \
	"is not valid before 2099-01-01 00:00:00 UTC and peers refuse it until then"
own_cert own-cert-serverauth to-origin client-serverauth \
	"has no clientAuth extended key usage, which a client tunnel's peers require"
own_cert own-cert-clientauth from-edge server-clientauth \
	"has no serverAuth extended key usage, which a server tunnel's peers require"
own_cert own-cert-noeku to-origin client-noeku "has no clientAuth extended key usage"
own_cert own-cert-ca to-origin client-ca "is a CA certificate \(basicConstraints CA:TRUE\)"
# certtool gives an ECDSA key digitalSignature whatever the template says: RSA can go without.
(
	cd "$PKI"
	certtool --generate-privkey --key-type rsa --bits 2048 --outfile client-nosign.key
	printf '%s\n' 'cn = "edge-client"' tls_www_client encryption_key 'expiration_days = 30' >nosign.tmpl
	certtool --generate-certificate --load-privkey client-nosign.key --load-ca-certificate inter.pem \
		--load-ca-privkey inter.key --template nosign.tmpl --outfile client-nosign.pem
	cat client-nosign.pem inter.pem >client-nosign-chain.pem
	certtool --generate-privkey --key-type ecdsa --curve secp256r1 --outfile pinned.key
	printf '%s\n' 'cn = "pinned peer"' tls_www_client signing_key 'expiration_days = 30' >pinned.tmpl
	certtool --generate-self-signed --load-privkey pinned.key --template pinned.tmpl --outfile pinned.pem
) >"$WORK/certtool.log" 2>&1 || fail "certtool: $(cat "$WORK/certtool.log")"
own_cert own-cert-nosign to-origin client-nosign "has a key usage without digitalSignature"
f=$(variant cacert-leaf-only "/^\[from-edge\]/,\$ s|^cacert = .*|cacert = $PKI/client.pem|")
check_bad cacert-leaf-only "$f" "$f:$(line_of "$f" "^cacert = $PKI/client.pem"): \[from-edge\] cacert $PKI/client.pem holds no CA certificate, only 1 end-entity one \(\"CN=edge-client,OU=edge\"\): every client \(as no-client-cert\) would be refused; point cacert at the CA"
f=$(variant cacert-self-signed-leaf "/^\[from-edge\]/,\$ { s|^cacert = .*|cacert = $PKI/pinned.pem|; /^crl = /d; }")
check_ok cacert-self-signed-leaf "$f"

# Files: every failure names the file and why.
f=$(variant missing-cert "s|$PKI/client-chain.pem|$WORK/no-such-cert.pem|")
check_bad missing-cert "$f" "error: \[to-origin\] cert $WORK/no-such-cert.pem: No such file or directory"
f=$(variant key-is-dir "s|$PKI/server.key|$WORK|")
check_bad key-is-dir "$f" "error: \[from-edge\] key $WORK: Is a directory"
echo 'this is no key' >"$WORK/garbage.key"
f=$(variant key-garbage "s|$PKI/client.key|$WORK/garbage.key|")
check_bad key-garbage "$f" "error: \[to-origin\] .*key $WORK/garbage.key: "
f=$(variant key-mismatch "s|$PKI/client.key|$PKI/server.key|")
check_bad key-mismatch "$f" "error: \[to-origin\] cert .* key $PKI/server.key: .*do not match"
: >"$WORK/empty.pem"
f=$(variant cacert-empty "0,/^cacert = .*/s||cacert = $WORK/empty.pem|")
check_bad cacert-empty "$f" "error: \[to-origin\] cacert $WORK/empty.pem: no certificate found"
echo 'no CRL here' >"$WORK/garbage-crl.pem"
f=$(variant crl-garbage "s|$PKI/crl.pem|$WORK/garbage-crl.pem|")
check_bad crl-garbage "$f" "error: \[from-edge\] crl $WORK/garbage-crl.pem: "

# A key the daemon's user cannot read. Root reads anything, so as root the check runs as nobody
# (with the work dir, config and certificates readable to it, the key not).
cp "$PKI/client.key" "$WORK/private.key"
chmod 600 "$WORK/private.key"
f=$(variant key-unreadable "s|$PKI/client.key|$WORK/private.key|")
if [ "$(id -u)" = 0 ]; then
	if command -v setpriv >/dev/null; then
		chmod 711 "$WORK" "$PKI"
		chmod 644 "$f" "$PKI"/*.pem
		rc=0
		err=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$KTUND" --config "$f" --check 2>&1 >/dev/null) || rc=$?
		chmod 700 "$WORK"
		if [ "$rc" = 2 ] && grep -qE "error: \[to-origin\] .*key $WORK/private.key: Permission denied" <<<"$err"; then
			ok "key-unreadable: exit 2 as nobody: $(grep -m1 private.key <<<"$err")"
		else
			not_ok "key-unreadable: as nobody want exit 2 naming $WORK/private.key, got $rc: $err"
		fi
	else
		note "skip key-unreadable: needs setpriv to drop root"
	fi
else
	chmod 000 "$WORK/private.key"
	check_bad key-unreadable "$f" "error: \[to-origin\] .*key $WORK/private.key: Permission denied"
fi

# Keys and structure.
f=$(variant unknown-key '/^\[from-edge\]/a frobnicate = 1')
check_bad unknown-key "$f" "$f:[0-9]+: \[from-edge\] unknown option 'frobnicate'\$"
f=$(variant unknown-key-suggest '/^\[from-edge\]/a cacrt = x')
check_bad unknown-key-suggest "$f" "$f:[0-9]+: \[from-edge\] unknown option 'cacrt': did you mean 'cacert'\?"
f=$(variant unknown-rule-suggest '/^\[from-edge\]/a allow-cname = x')
check_bad unknown-rule-suggest "$f" "$f:[0-9]+: \[from-edge\] unknown option 'allow-cname': did you mean 'allow-cn'\?"
f=$(variant duplicate-key '/^\[from-edge\]/a target = 127.0.0.1:8081')
check_bad duplicate-key "$f" "$f:$(line_of "$f" '^target = 127.0.0.1:8080'): \[from-edge\] 'target' is set twice in this section, first at $f:$(line_of "$f" '^target = 127.0.0.1:8081'): keep one"
f=$(variant duplicate-global-key '/^\[global\]/a workers = 2')
check_bad duplicate-global-key "$f" "$f:$(line_of "$f" '^workers = 1'): \[global\] 'workers' is set twice in this section, first at $f:$(line_of "$f" '^workers = 2'): keep one"
# Several targets: a list is fine; a bad entry, or more than 16 addresses, is an error at the
# target's FILE:LINE naming the entry.
f=$(variant target-list 's/^target = 127.0.0.1:8080$/target = 127.0.0.1:8080, 127.0.0.2:8080\nfailover = round-robin\ntarget-backoff = 30/')
check_ok target-list "$f"
f=$(variant target-list-bad-entry 's/^target = 127.0.0.1:8080$/target = 127.0.0.1:8080, 127.0.0.2:80800/')
check_bad target-list-bad-entry "$f" "$f:$(line_of "$f" '^target = 127.0.0.1:8080, '): \[from-edge\] target '127.0.0.2:80800': port must be 1-65535"
f=$(variant target-list-public 's/^target = 127.0.0.1:8080$/target = 127.0.0.1:8080, 192.0.2.7:80/')
check_bad target-list-public "$f" "$f:$(line_of "$f" '^target = 127.0.0.1:8080, '): \[from-edge\] target '192.0.2.7:80' is the plaintext side and must be loopback"
list=$(for i in $(seq 1 17); do printf '127.0.0.%d:8080, ' "$i"; done)
f=$(variant target-list-too-long "s/^target = 127.0.0.1:8080\$/target = ${list%, }/")
check_bad target-list-too-long "$f" "$f:$(line_of "$f" '^target = 127.0.0.1:8080, '): \[from-edge\] target: more than 16 addresses"
f=$(variant bad-failover '/^\[from-edge\]/a failover = random')
check_bad bad-failover "$f" "$f:[0-9]+: \[from-edge\] 'failover' must be ordered or round-robin"
f=$(variant repeated-rule '/^allow-ou = edge/a allow-ou = other')
check_ok repeated-rule "$f"
f=$(variant syntax-error '/^\[to-origin\]/a this line has no equals sign')
check_bad syntax-error "$f" "$f:[0-9]+: syntax error"
f=$(variant server-without-allow '/^allow-/d')
check_bad server-without-allow "$f" "\[from-edge\] a server needs at least one allow-\* rule"
f=$(variant allow-in-client '/^verify-cn/a allow-cn = origin.test')
check_bad allow-in-client "$f" "\[to-origin\] allow-\* options are for server mode"
f=$(variant verify-in-server '/^allow-ou/a verify-cn = edge-client')
check_bad verify-in-server "$f" "\[from-edge\] verify-\* options are for client mode"
f=$(variant no-mode '/^mode = server/d')
check_bad no-mode "$f" "\[from-edge\] needs mode = server or client"
f=$(variant tunnel-key-in-global '/^\[global\]/a listen = 127.0.0.1:1')
check_bad tunnel-key-in-global "$f" "\[global\] 'listen' is a tunnel option"
f=$(variant global-key-in-tunnel '/^\[to-origin\]/a workers = 2')
check_bad global-key-in-tunnel "$f" "\[to-origin\] 'workers' is a global option"
f=$(variant bad-listen 's|^listen = 127.0.0.1:9000|listen = 127.0.0.1|')
check_bad bad-listen "$f" "\[to-origin\] listen '127.0.0.1': expected HOST:PORT"
f=$(variant bad-port 's|^target = 127.0.0.1:8080|target = 127.0.0.1:80800|')
check_bad bad-port "$f" "\[from-edge\] target '127.0.0.1:80800': port must be 1-65535"
f=$(variant ipv6-without-brackets 's|^target = 127.0.0.1:8080|target = ::1:8080|')
check_bad ipv6-without-brackets "$f" "\[from-edge\] target '::1:8080': IPv6 addresses need brackets"
f=$(variant duplicate-listen 's|^listen = 127.0.0.1:8443|listen = 127.0.0.1:9000|')
check_bad duplicate-listen "$f" "\[to-origin\] and \[from-edge\] listen on the same address"
f=$(variant duplicate-section 's|^\[from-edge\]|[to-origin]|')
check_bad duplicate-section "$f" "section \[to-origin\] appears twice"
f=$(variant bad-section-name 's|^\[from-edge\]|[from edge!]|')
check_bad bad-section-name "$f" "section \[from edge!\]: names use letters, digits"
f=$(variant dotted-section-name 's|^\[from-edge\]|[from.edge]|')
check_bad dotted-section-name "$f" "section \[from.edge\]: names use letters, digits, - and _"
printf '[global]\ncontrol = %s\n' "$WORK/ctl.sock" >"$WORK/no-tunnel.conf"
check_bad no-tunnel "$WORK/no-tunnel.conf" "no tunnel configured"
f=$(variant public-client-listen 's|^listen = 127.0.0.1:9000|listen = 0.0.0.0:9000|')
check_bad public-client-listen "$f" "\[to-origin\] listen '0.0.0.0:9000' is the plaintext side and must be loopback or unix:PATH \(use unsafe-listen"
f=$(variant public-client-listen-unsafe 's|^listen = 127.0.0.1:9000|listen = 0.0.0.0:9000\nunsafe-listen = yes|')
check_ok public-client-listen-unsafe "$f"
f=$(variant tls-min-above-max '/^\[to-origin\]/a tls-min = 1.3\ntls-max = 1.2')
check_bad tls-min-above-max "$f" "\[to-origin\] tls-min is above tls-max"
check_bad missing-file "$WORK/no-such.conf" "cannot open $WORK/no-such.conf: No such file or directory"
check_bad cli-tunnel-option-with-config "$good" "'listen' is a tunnel option" --listen 127.0.0.1:1

finish "--check accepts the good file and names the problem in every bad one"
