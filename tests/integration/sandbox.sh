#!/bin/bash
# sandbox: once serving, every ktund thread runs under a seccomp filter and Landlock confines
# files to reading the certificate and configuration directories. A daemon dropped to nobody
# (user = nobody) still serves, reloads a re-issued certificate on SIGHUP and by itself, and
# exits cleanly, removing its control socket. A reload that names a certificate outside the
# directories it started with is refused under the sandbox (Landlock: permission denied, even
# as root) and accepted with sandbox = no, which proves the confinement is real. ktunctl's
# commands and GET /metrics answer under the filter; reloads resolve a new target name through
# a real DNS server (dnsmasq, UDP and TCP) and through an NSS module loaded only then
# (myhostname), and load a new CRL. Files may be removed only in the control socket's own
# directory (the default /run/ktund/), and ktund refuses to start with a /run/ktund that is a
# symbolic link, not a directory, writable by others or owned by neither root nor its user.
set -euo pipefail
. "$(dirname "$0")/srvlib.sh"
need_cmd setpriv dnsmasq
srv_init
# dns_start writes the origin namespace's resolver files; a case that fails removes them too.
on_exit 'rm -rf "/etc/netns/$NS_ORIGIN"'

# A copy of the server's files that nobody can read (the test PKI is private to root).
nobody_files() {
	mkdir -p "$WORK/nb"
	cp "$PKI/server-chain.pem" "$PKI/server.key" "$PKI/ca.pem" "$WORK/nb/"
	chmod 755 "$WORK" "$WORK/nb"
	chmod 644 "$WORK/nb/"*
}

# reissue DIR: a new server leaf in DIR/server-chain.pem + server.key; prints its serial.
reissue() {
	local d=$1
	certtool --generate-privkey --key-type ecdsa --curve secp256r1 --outfile "$d/new.key" 2>/dev/null
	printf '%s\n' 'cn = "origin.test"' 'dns_name = "origin.test"' tls_www_server signing_key \
		'expiration_days = 30' "serial = $((RANDOM * 32768 + RANDOM + 2))" >"$d/new.tmpl"
	certtool --generate-certificate --load-privkey "$d/new.key" --load-ca-certificate "$PKI/inter.pem" \
		--load-ca-privkey "$PKI/inter.key" --template "$d/new.tmpl" --outfile "$d/new.leaf" 2>/dev/null
	cat "$d/new.leaf" "$PKI/inter.pem" >"$d/new.pem"
	chmod 644 "$d/new.key" "$d/new.pem"
	openssl x509 -in "$d/new.leaf" -noout -serial | cut -d= -f2
}

served_serial() {
	printf 'x' | ip netns exec "$NS_EDGE" timeout 10 openssl s_client -connect "$(_hostport)" \
		-CAfile "$PKI/ca.pem" -cert "$PKI/client.pem" -cert_chain "$PKI/inter.pem" \
		-key "$PKI/client.key" 2>/dev/null | openssl x509 -noout -serial | cut -d= -f2
}

case_every_thread_filtered() {
	local t n=0 on=0 out
	use_origin line
	srv_start --workers 2 --metrics-listen 127.0.0.1:9273
	if grep -q 'no seccomp filter in this AddressSanitizer build' "$SERVER_LOG"; then
		note "an AddressSanitizer build: no seccomp filter to check (LeakSanitizer needs ptrace)"
		return 0
	fi
	grep -q 'sandbox: files read-only in the certificate and configuration directories; [0-9]* system calls allowed' \
		"$SERVER_LOG" || fail "no sandbox line: $(grep sandbox "$SERVER_LOG")"
	# `ip netns exec` execs ktund: SERVER_PID is ktund's (other tests' daemons have the same
	# command line in their own namespaces, so no pgrep).
	for t in /proc/"$SERVER_PID"/task/*; do
		n=$((n + 1))
		grep -q '^Seccomp:[[:space:]]*2' "$t/status" && on=$((on + 1))
	done
	# main, two workers, libmicrohttpd's thread
	[ "$n" -ge 4 ] && [ "$on" = "$n" ] || fail "$on of $n threads have a seccomp filter"
	ossl client x$'\n' || fail "no service under the sandbox: $(cat "$WORK/peer.err")"
	# What the control socket and the metrics thread do once filtered (whole answers first:
	# grep -q on a pipe would end the writer early, and pipefail would count that).
	out=$(ctl server status) && grep -qx 'server.conns_total 1' <<<"$out" || fail "ktunctl status: $out"
	out=$(ctl server --json status) && grep -q '"conns_total":1' <<<"$out" || fail "ktunctl --json status: $out"
	ctl server conns >/dev/null || fail "ktunctl conns failed"
	out=$(ctl server metrics) && grep -q '^ktund_handshakes_total{tunnel="server"} 1$' <<<"$out" ||
		fail "ktunctl metrics failed"
	out=$(ip netns exec "$NS_ORIGIN" curl -sS --max-time 5 http://127.0.0.1:9273/metrics) &&
		grep -q '^ktund_handshakes_total{tunnel="server"} 1$' <<<"$out" || fail "GET /metrics failed under the filter"
	note "$on of $n threads filtered (Seccomp: 2); $(grep -o 'sandbox: .*' "$SERVER_LOG")"
}

case_dropped_daemon_reloads() {
	local old new
	nobody_files
	use_origin line
	# Its control socket in a directory of its own, as systemd's RuntimeDirectory= gives it:
	# removing the socket at exit needs write access there.
	mkdir -p "$WORK/run" && chown nobody "$WORK/run"
	SERVER_CERT=$WORK/nb/server-chain.pem SERVER_KEY=$WORK/nb/server.key \
		SERVER_CONTROL=$WORK/run/server.sock srv_start --user nobody
	grep -q 'running as user nobody' "$SERVER_LOG" || fail "did not drop to nobody"
	old=$(served_serial)
	new=$(reissue "$WORK/nb")
	cp "$WORK/nb/new.pem" "$WORK/nb/.tmp" && mv "$WORK/nb/.tmp" "$WORK/nb/server-chain.pem"
	cp "$WORK/nb/new.key" "$WORK/nb/.tmp" && mv "$WORK/nb/.tmp" "$WORK/nb/server.key"
	wait_n 'reload ok' 1
	[ "$(served_serial)" = "$new" ] || fail "after the file change it serves $(served_serial), want $new"
	new=$(reissue "$WORK/nb")
	cp "$WORK/nb/new.pem" "$WORK/nb/server-chain.pem"
	cp "$WORK/nb/new.key" "$WORK/nb/server.key"
	sleep 0.7 # the watcher's settling delay, so this reload is SIGHUP's and not the watcher's
	kill -HUP "$SERVER_PID"
	wait_n 'reload ok' 2
	[ "$(served_serial)" = "$new" ] || fail "after SIGHUP it serves $(served_serial), want $new"
	ossl client x$'\n' || fail "no service after the reloads"
	srv_stop
	[ ! -e "$WORK/run/server.sock" ] || fail "the control socket was left behind"
	note "as nobody: serial $old -> (files) -> (SIGHUP) $new, still serving, socket removed"
}

# A configuration file whose reload points the certificate at a new directory.
moved_cert_conf() {
	mkdir -p "$WORK/first" "$WORK/elsewhere" "$WORK/conf"
	cp "$PKI/server-chain.pem" "$PKI/server.key" "$WORK/first/"
	cp "$PKI/server-chain.pem" "$PKI/server.key" "$WORK/elsewhere/"
	cat >"$WORK/conf/moved.conf" <<EOF
[global]
control = $WORK/server.sock
sandbox = $1
[server]
mode = server
listen = $ORIGIN_IP:$TLS_PORT
target = 127.0.0.1:$ORIGIN_PORT
cert = $WORK/first/server-chain.pem
key = $WORK/first/server.key
cacert = $PKI/ca.pem
allow-ou = edge
EOF
}

start_conf() {
	SERVER_LOG=$WORK/conf-$1.log
	ip netns exec "$NS_ORIGIN" "$KTUND" --config "$WORK/conf/moved.conf" 2>"$SERVER_LOG" &
	SERVER_PID=$!
	track "$SERVER_PID"
	_wait_ready "$SERVER_PID" "$SERVER_LOG" server
}

case_confinement_is_real() {
	use_origin line
	moved_cert_conf yes
	start_conf on
	sed -i "s|$WORK/first/|$WORK/elsewhere/|" "$WORK/conf/moved.conf"
	wait_n 'reload failed' 1
	grep -q "elsewhere/server-chain.pem: Permission denied" "$SERVER_LOG" ||
		fail "want Permission denied for the new directory: $(grep error "$SERVER_LOG")"
	ossl client x$'\n' || fail "the refused reload stopped the service"
	srv_stop
	moved_cert_conf no
	start_conf off
	sed -i "s|$WORK/first/|$WORK/elsewhere/|" "$WORK/conf/moved.conf"
	wait_n 'reload ok' 1
	srv_stop
	note "sandbox = yes: $(grep -o 'error: .*Permission denied' "$WORK/conf-on.log" | head -1); sandbox = no: reload ok"
}

# A reload resolves the file's addresses again: a name from /etc/hosts must still resolve
# under Landlock (it did not, and every reload of such a file failed).
case_reload_resolves_names() {
	use_origin line
	moved_cert_conf yes
	sed -i "s|^target = .*|target = localhost:$ORIGIN_PORT|" "$WORK/conf/moved.conf"
	start_conf names
	grep -q 'sandbox: files read-only' "$SERVER_LOG" || fail "not confined: $(grep sandbox "$SERVER_LOG")"
	kill -HUP "$SERVER_PID"
	wait_n 'reload (ok|failed)' 1
	grep -q 'reload ok' "$SERVER_LOG" || fail "the reload failed: $(grep error "$SERVER_LOG")"
	ossl client x$'\n' || fail "no service after the reload"
	srv_stop
	note "target = localhost:$ORIGIN_PORT: $(grep -o 'reload ok.*' "$SERVER_LOG")"
}

# dns_start: dnsmasq in the origin namespace answers origin.ktun.test (one address) and
# many.ktun.test (40: an answer too big for the 512 bytes of a plain UDP reply, so the resolver
# must ask again over TCP), logging every query. `ip netns exec` bind-mounts /etc/netns/NS/*
# over /etc/*: resolv.conf points at dnsmasq, hosts knows neither name, nsswitch asks files
# then DNS, so the names resolve through DNS and nothing else.
dns_start() {
	local i etc=/etc/netns/$NS_ORIGIN
	mkdir -p "$etc"
	echo 'nameserver 127.0.0.1' >"$etc/resolv.conf"
	echo '127.0.0.1 localhost' >"$etc/hosts"
	echo 'hosts: files dns' >"$etc/nsswitch.conf"
	for i in $(seq 40); do echo "127.0.1.$i many.ktun.test"; done >"$WORK/many.hosts"
	ip netns exec "$NS_ORIGIN" dnsmasq --keep-in-foreground --no-resolv --no-hosts --user=root \
		--listen-address=127.0.0.1 --bind-interfaces --pid-file= --log-queries \
		--log-facility="$WORK/dns.log" --host-record=origin.ktun.test,127.0.0.1 \
		--addn-hosts="$WORK/many.hosts" &
	track $!
	for i in $(seq 50); do
		ip netns exec "$NS_ORIGIN" getent hosts origin.ktun.test >/dev/null && break
		sleep 0.1
	done
	[ "$(ip netns exec "$NS_ORIGIN" python3 -c 'import socket; print(len(socket.getaddrinfo(
		"many.ktun.test", 80, type=socket.SOCK_STREAM)))')" = 40 ] ||
		fail "many.ktun.test does not resolve to its 40 addresses: $(tail -3 "$WORK/dns.log")"
	! getent hosts origin.ktun.test >/dev/null || fail "origin.ktun.test resolves outside the namespace"
}

dns_conf() {
	mkdir -p "$WORK/conf"
	cat >"$WORK/conf/moved.conf" <<EOF
[global]
control = $WORK/server.sock
[server]
mode = server
listen = $ORIGIN_IP:$TLS_PORT
target = 127.0.0.1:9
cert = $PKI/server-chain.pem
key = $PKI/server.key
cacert = $PKI/ca.pem
allow-ou = edge
EOF
}

# conf_reload N SED: edit the configuration file; its watcher reloads it: the Nth reload is ok.
conf_reload() {
	sed -i "$2" "$WORK/conf/moved.conf"
	wait_n 'reload (ok|failed)' "$1"
	[ "$(nlines 'reload ok')" = "$1" ] || fail "reload $1 failed: $(grep error "$SERVER_LOG")"
}

# The resolver under the default sandbox: UDP (glibc asks for A and AAAA at once with
# sendmmsg, which the filter refused: every reload to a name failed), TCP when the answer is
# truncated, then a CRL added by a reload.
case_reload_resolves_dns() {
	use_origin line 0.0.0.0:$ORIGIN_PORT
	dns_start
	dns_conf
	start_conf dns
	grep -q 'sandbox: files read-only' "$SERVER_LOG" || fail "not confined: $(grep sandbox "$SERVER_LOG")"
	ossl client x$'\n' || true
	! grep -q x "$WORK/peer.out" || fail "served before the reload (target 127.0.0.1:9)"
	conf_reload 1 "s|^target = .*|target = origin.ktun.test:$ORIGIN_PORT|"
	grep -q 'query\[A\] origin.ktun.test from 127.0.0.1' "$WORK/dns.log" || fail "ktund did not ask dnsmasq"
	ossl client x$'\n' && grep -q x "$WORK/peer.out" || fail "no service to origin.ktun.test"
	conf_reload 2 "s|^target = .*|target = many.ktun.test:$ORIGIN_PORT|"
	ossl client x$'\n' && grep -q x "$WORK/peer.out" || fail "no service to many.ktun.test"
	conf_reload 3 "\$a crl = $PKI/crl.pem"
	ossl client-revoked x || true
	wait_n 'reject .*reason=revoked' 1
	[ "$(ctl server reload)" = 'reload ok' ] || fail "ktunctl reload failed"
	srv_stop
	rm -rf "/etc/netns/$NS_ORIGIN"
	note "$(grep -c 'query\[' "$WORK/dns.log") DNS queries; 3 reloads by file change and one by ktunctl, all ok"
}

# NSS modules that nothing loaded before the sandbox: with "hosts: files myhostname" a reload's
# lookup of ktun.localhost (myhostname answers *.localhost with loopback) makes glibc dlopen
# libnss_myhostname, which Landlock refused to read, so the name did not resolve.
case_reload_loads_nss_module() {
	local etc=/etc/netns/$NS_ORIGIN
	use_origin line
	mkdir -p "$etc"
	echo '127.0.0.1 localhost' >"$etc/hosts"
	echo 'hosts: files myhostname' >"$etc/nsswitch.conf"
	[ "$(ip netns exec "$NS_ORIGIN" getent ahostsv4 ktun.localhost | cut -d' ' -f1 | sort -u)" = 127.0.0.1 ] ||
		fail "ktun.localhost does not resolve through myhostname (Debian libnss-myhostname)"
	dns_conf
	start_conf nss
	grep -q 'sandbox: files read-only' "$SERVER_LOG" || fail "not confined: $(grep sandbox "$SERVER_LOG")"
	conf_reload 1 "s|^target = .*|target = ktun.localhost:$ORIGIN_PORT|"
	srv_stop
	rm -rf "$etc"
	note "target = ktun.localhost:$ORIGIN_PORT through libnss_myhostname: $(grep -o 'reload ok.*' "$SERVER_LOG")"
}

# own_run DIR [ARGS...]: into OWN_RUN, ktund server's command with the default control path,
# /run being DIR (bind-mounted in the mount namespace ip netns exec makes, so the host's /run
# is untouched).
own_run() {
	local run=$1
	shift
	OWN_RUN=(ip netns exec "$NS_ORIGIN" sh -c 'mount --bind "$0" /run && exec "$@"' "$run"
		"$KTUND" server --listen "$ORIGIN_IP:$TLS_PORT" --target "127.0.0.1:$ORIGIN_PORT"
		--cert "$PKI/server-chain.pem" --key "$PKI/server.key" --cacert "$PKI/ca.pem"
		--allow-ou edge "$@")
}

# start_own_run DIR [ARGS...]: that ktund, started and ready.
start_own_run() {
	own_run "$@"
	_starts=$((_starts + 1))
	SERVER_LOG=$WORK/server-$_starts.log
	"${OWN_RUN[@]}" 2>"$SERVER_LOG" &
	SERVER_PID=$!
	track "$SERVER_PID"
	_wait_ready "$SERVER_PID" "$SERVER_LOG" server
}

# The default control socket is /run/ktund/ktund.sock, in a directory ktund makes, and the
# sandbox lets ktund remove files there and nowhere else (with /run/ktund.sock it could remove
# anything under /run). ktunctl's default reaches it and a clean exit removes it, as user=
# too (the directory is given to it, made by ktund or already there). Then
# /run/ktund is swapped for a new directory while ktund runs, so its exit removes
# "/run/ktund/ktund.sock" by name beside the directory it started with: refused, the file stays.
case_socket_removal_confined() {
	local run=$WORK/run-default out
	use_origin line
	# First as under the redirector drop-in: systemd made /run/ktund for root, ktund drops.
	mkdir -p "$run/ktund"
	start_own_run "$run" --user nobody
	[ -S "$run/ktund/ktund.sock" ] || fail "no socket at /run/ktund/ktund.sock: $(ls -R "$run")"
	[ "$(stat -c %U "$run/ktund")" = nobody ] || fail "/run/ktund is not the user's: $(ls -ld "$run/ktund")"
	out=$(nsenter -t "$SERVER_PID" -m "$KTUNCTL" status) && grep -qx 'server.conns_open 0' <<<"$out" ||
		fail "ktunctl's default control path does not reach ktund's"
	srv_stop
	[ ! -e "$run/ktund/ktund.sock" ] || fail "the control socket was left behind"
	rmdir "$run/ktund"
	start_own_run "$run"
	[ -S "$run/ktund/ktund.sock" ] || fail "no /run/ktund made for the socket: $(ls -R "$run")"
	mv "$run/ktund" "$run/ktund.old"
	mkdir "$run/ktund"
	echo keep >"$run/ktund/ktund.sock"
	srv_stop
	[ "$(cat "$run/ktund/ktund.sock")" = keep ] || fail "ktund removed a file outside its directory"
	grep -q 'control socket /run/ktund/ktund.sock not removed: Permission denied' "$SERVER_LOG" ||
		fail "no warning for the refused removal: $(grep control "$SERVER_LOG")"
	note "$(grep -o 'control socket .*' "$SERVER_LOG")"
}

# refused_own_run DIR REGEX [ARGS...]: ktund as start_own_run's exits 1 at once, before
# serving, with REGEX in its log; leaves nothing in DIR/ktund.
refused_own_run() {
	local run=$1 want=$2 rc=0 log
	shift 2
	own_run "$run" "$@"
	_starts=$((_starts + 1))
	log=$WORK/server-$_starts.log
	timeout 10 "${OWN_RUN[@]}" 2>"$log" || rc=$?
	[ "$rc" = 1 ] || fail "/run/ktund $(ls -ld "$run/ktund"): exit $rc, want 1: $(cat "$log")"
	grep -qE -- "$want" "$log" || fail "want /$want/ in: $(cat "$log")"
	[ ! -d "$run/ktund/" ] || [ -z "$(ls -A "$run/ktund/")" ] ||
		fail "ktund left files in /run/ktund: $(ls -lA "$run/ktund/")"
	note "$(grep -m1 -oE -- "$want" "$log")"
}

# /run/ktund made beforehand by someone else: chown() used to follow a symbolic link there (the
# directory it named went to --user, the socket in it) and took any directory as it was. Now a
# symbolic link, a directory writable by others or one owned by neither root nor the user is
# refused at start-up, the path and the reason named, and left as it was.
case_unsafe_run_dir() {
	local run=$WORK/run-unsafe pre='control socket directory /run/ktund: '
	local post=': refused \(remove it, or give --control PATH\)'
	use_origin line
	mkdir -p "$run" "$WORK/victim"
	chmod 755 "$WORK/victim"
	ln -s "$WORK/victim" "$run/ktund"
	refused_own_run "$run" "${pre}a symbolic link$post" --user nobody
	[ "$(stat -c %U:%a "$WORK/victim")" = root:755 ] || fail "the link's target changed: $(ls -ld "$WORK/victim")"
	rm "$run/ktund"
	mkdir -m 0777 "$run/ktund"
	refused_own_run "$run" "${pre}writable by its group or others \(mode 0777\)$post" --user nobody
	chmod 1777 "$run/ktund"
	refused_own_run "$run" "${pre}writable by its group or others \(mode 1777\)$post"
	[ "$(stat -c %U:%a "$run/ktund")" = root:1777 ] || fail "/run/ktund changed: $(ls -ld "$run/ktund")"
	chmod 755 "$run/ktund"
	chown 4242 "$run/ktund"
	refused_own_run "$run" "${pre}owned by uid 4242, neither root nor uid $(id -u nobody)$post" --user nobody
	[ "$(stat -c %u:%a "$run/ktund")" = 4242:755 ] || fail "/run/ktund changed: $(ls -ld "$run/ktund")"
	rmdir "$run/ktund"
	touch "$run/ktund"
	refused_own_run "$run" "${pre}not a directory$post"
	rm "$run/ktund"
	mkdir -m 0750 "$run/ktund"
	start_own_run "$run" --user nobody
	[ "$(stat -c %U:%a "$run/ktund")" = nobody:750 ] || fail "a root-owned 0750 /run/ktund: $(ls -ld "$run/ktund")"
	srv_stop
}

run_case "every thread runs under seccomp; still serving" case_every_thread_filtered
run_case "dropped to nobody: serves, reloads by file change and SIGHUP, removes its socket" case_dropped_daemon_reloads
run_case "Landlock: a reload from a new directory is refused, allowed with sandbox = no" case_confinement_is_real
run_case "Landlock: a reload still resolves names from /etc/hosts" case_reload_resolves_names
run_case "sandbox: reloads resolve names through DNS (UDP, TCP) and load a new CRL" case_reload_resolves_dns
run_case "sandbox: a reload loads an NSS module (myhostname) to resolve a name" case_reload_loads_nss_module
run_case "Landlock: files may be removed only in the control socket's own directory" case_socket_removal_confined
run_case "an unsafe /run/ktund (symbolic link, world-writable, someone else's) is refused" case_unsafe_run_dir
srv_finish
