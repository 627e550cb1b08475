#!/bin/bash
# reload-watch: ktund server reloads its certificate by itself when the files change on disk,
# the ways certificate managers change them — an atomic rename (cert-manager, SPIRE), a
# Kubernetes secret volume's ..data symlink swap, certbot's live/ symlink re-pointed into
# archive/ — while a connection opened before the change keeps working. A broken file is
# refused once (the old certificate stays) and not retried until it changes again; with
# watch-files=no nothing is reloaded.
set -euo pipefail
. "$(dirname "$0")/srvlib.sh"
srv_init

# reissue NAME: a new server leaf (new serial) signed by the test intermediate, in $WORK/NAME.*
reissue() {
	local n=$WORK/$1
	certtool --generate-privkey --key-type ecdsa --curve secp256r1 --outfile "$n.key" 2>/dev/null
	printf '%s\n' 'cn = "origin.test"' 'dns_name = "origin.test"' 'dns_name = "localhost"' \
		tls_www_server signing_key 'expiration_days = 30' \
		"serial = $((0x$(od -An -N4 -tx1 /dev/urandom | tr -d ' ') % 2000000000 + 2))" >"$n.tmpl"
	certtool --generate-certificate --load-privkey "$n.key" --load-ca-certificate "$PKI/inter.pem" \
		--load-ca-privkey "$PKI/inter.key" --template "$n.tmpl" --outfile "$n.leaf" 2>/dev/null
	cat "$n.leaf" "$PKI/inter.pem" >"$n.pem"
	openssl x509 -in "$n.leaf" -noout -serial | cut -d= -f2
}

# served_serial: the serial of the certificate ktund presents now.
served_serial() {
	ossl_cmd client
	printf 'x' | ip netns exec "$NS_EDGE" timeout 10 openssl s_client -connect "$(_hostport)" \
		-CAfile "$PKI/ca.pem" -servername origin.test -cert "$PKI/client.pem" \
		-cert_chain "$PKI/inter.pem" -key "$PKI/client.key" 2>/dev/null |
		openssl x509 -noout -serial | cut -d= -f2
}

# want_serial SERIAL: ktund presents SERIAL within 10 s.
want_serial() {
	local i now=
	for ((i = 0; i < 50; i++)); do
		now=$(served_serial || true)
		[ "$now" = "$1" ] && return 0
		sleep 0.2
	done
	fail "ktund presents serial '$now', want $1"
}

# A connection opened before the change, which must still carry data after it.
open_live() {
	ip netns exec "$NS_EDGE" python3 - "$ORIGIN_IP" "$TLS_PORT" "$PKI" "$WORK/live.fifo" <<'PY' &
import os, socket, ssl, sys, time
host, port, pki, fifo = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=f"{pki}/ca.pem")
ctx.load_cert_chain(f"{pki}/client-chain.pem", f"{pki}/client.key")
s = ctx.wrap_socket(socket.create_connection((host, port), timeout=20), server_hostname="origin.test")
s.sendall(b"before\n"); assert s.recv(100) == b"before\n"
os.mkfifo(fifo + ".ready"); open(fifo, "r").read()       # wait for the test to note "go"
s.sendall(b"after\n"); got = s.recv(100)
sys.exit(0 if got == b"after\n" else 1)
PY
	LIVE=$!
	track "$LIVE"
	local i
	for ((i = 0; i < 100; i++)); do [ -p "$WORK/live.fifo.ready" ] && return 0; sleep 0.1; done
	fail "the live connection did not start"
}

live_still_works() {
	echo go >"$WORK/live.fifo"
	wait "$LIVE" || fail "the connection opened before the reload stopped carrying data"
}

case_rename() {
	local old new
	mkdir -p "$WORK/certs"
	cp "$PKI/server-chain.pem" "$WORK/certs/server.pem"
	cp "$PKI/server.key" "$WORK/certs/server.key"
	use_origin echo
	mkfifo "$WORK/live.fifo"
	SERVER_CERT=$WORK/certs/server.pem SERVER_KEY=$WORK/certs/server.key srv_start
	old=$(served_serial)
	open_live
	new=$(reissue renamed)
	# Each file replaced by rename(2) from a temporary name, key first, as writers do.
	cp "$WORK/renamed.key" "$WORK/certs/.server.key.tmp" && mv "$WORK/certs/.server.key.tmp" "$WORK/certs/server.key"
	cp "$WORK/renamed.pem" "$WORK/certs/.server.pem.tmp" && mv "$WORK/certs/.server.pem.tmp" "$WORK/certs/server.pem"
	wait_n 'changed on disk: reloading' 1
	wait_n 'reload ok' 1
	want_serial "$new"
	note "serial $old -> $new after two renames; one reload: $(nlines 'reload ok')"
	[ "$(nlines 'reload ok')" = 1 ] || fail "want one reload for the two renames, got $(nlines 'reload ok')"
	live_still_works
}

case_k8s_symlinks() {
	local new d=$WORK/secret
	mkdir -p "$d/..2026_01"
	cp "$PKI/server-chain.pem" "$d/..2026_01/tls.crt"
	cp "$PKI/server.key" "$d/..2026_01/tls.key"
	ln -s ..2026_01 "$d/..data"
	ln -s ..data/tls.crt "$d/tls.crt"
	ln -s ..data/tls.key "$d/tls.key"
	use_origin echo
	SERVER_CERT=$d/tls.crt SERVER_KEY=$d/tls.key srv_start
	served_serial >/dev/null
	new=$(reissue k8s)
	# The kubelet's swap: a new timestamped dir, then ..data re-pointed by one rename.
	mkdir "$d/..2026_02"
	cp "$WORK/k8s.pem" "$d/..2026_02/tls.crt"
	cp "$WORK/k8s.key" "$d/..2026_02/tls.key"
	ln -s ..2026_02 "$d/..data_tmp"
	mv -T "$d/..data_tmp" "$d/..data"
	wait_n 'reload ok' 1
	want_serial "$new"
	note "..data swapped: now serving $new"
}

case_certbot_symlinks() {
	local new d=$WORK/le
	mkdir -p "$d/archive" "$d/live"
	cp "$PKI/server-chain.pem" "$d/archive/fullchain1.pem"
	cp "$PKI/server.key" "$d/archive/privkey1.pem"
	ln -s ../archive/fullchain1.pem "$d/live/fullchain.pem"
	ln -s ../archive/privkey1.pem "$d/live/privkey.pem"
	use_origin echo
	SERVER_CERT=$d/live/fullchain.pem SERVER_KEY=$d/live/privkey.pem srv_start
	served_serial >/dev/null
	new=$(reissue certbot)
	cp "$WORK/certbot.pem" "$d/archive/fullchain2.pem"
	cp "$WORK/certbot.key" "$d/archive/privkey2.pem"
	ln -sfn ../archive/privkey2.pem "$d/live/privkey.pem"
	ln -sfn ../archive/fullchain2.pem "$d/live/fullchain.pem"
	wait_n 'reload ok' 1
	want_serial "$new"
	note "live/ symlinks re-pointed into archive/: now serving $new"
}

case_broken_file() {
	local old
	mkdir -p "$WORK/broken"
	cp "$PKI/server-chain.pem" "$WORK/broken/server.pem"
	cp "$PKI/server.key" "$WORK/broken/server.key"
	use_origin echo
	SERVER_CERT=$WORK/broken/server.pem SERVER_KEY=$WORK/broken/server.key srv_start
	old=$(served_serial)
	echo 'not a certificate' >"$WORK/broken/server.pem"
	wait_n 'reload failed' 1
	want_serial "$old"
	# Nothing changes on disk: no second attempt (and no log flood).
	sleep 1.5
	[ "$(nlines 'reload failed')" = 1 ] || fail "the broken file was reloaded $(nlines 'reload failed') times"
	cp "$PKI/server-chain.pem" "$WORK/broken/server.pem"
	wait_n 'reload ok' 1
	note "garbage refused once, old serial $old kept; the fixed file reloaded"
}

case_watch_off() {
	mkdir -p "$WORK/off"
	cp "$PKI/server-chain.pem" "$WORK/off/server.pem"
	cp "$PKI/server.key" "$WORK/off/server.key"
	use_origin echo
	SERVER_CERT=$WORK/off/server.pem SERVER_KEY=$WORK/off/server.key srv_start --watch-files=no
	reissue off >/dev/null
	cp "$WORK/off.key" "$WORK/off/server.key"
	cp "$WORK/off.pem" "$WORK/off/server.pem"
	sleep 1.5
	[ "$(nlines 'reload')" = 0 ] || fail "watch-files=no still reloaded: $(last_line reload)"
	note "no reload in 1.5 s after the files changed"
}

run_case "atomic renames reload once; a live connection keeps working" case_rename
run_case "Kubernetes secret volume: ..data symlink swap" case_k8s_symlinks
run_case "certbot: live/ symlinks re-pointed into archive/" case_certbot_symlinks
run_case "a broken file is refused once and the old certificate stays" case_broken_file
run_case "watch-files=no: changes on disk are not picked up" case_watch_off
srv_finish
