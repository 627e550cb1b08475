# shellcheck shell=bash
# ktund.sh — ktund daemons for the tests: a ktund client in an "edge" namespace and a ktund
# server in an "origin" namespace, joined by a veth link (netns.sh), with a throwaway PKI
# (pki.sh), a work directory, ktunctl, counters and log waits. Sources result.sh (pass, fail,
# skip, ...) and netns.sh.
#
#   app (edge ns) -> 127.0.0.1:$EDGE_PORT  ktund client  --TLS-->  $ORIGIN_IP:$TLS_PORT  ktund server
#        -> 127.0.0.1:$ORIGIN_PORT  origin (origin ns)
#
# Source it from a test after `set -euo pipefail`, then call pair_init.
KTUN_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${KTUN_SRCDIR:=$(cd "$KTUN_LIB/../.." && pwd)}"
: "${KTUND:=$KTUN_SRCDIR/build/daemon/ktund}"
: "${KTUNCTL:=$KTUN_SRCDIR/build/tools/ktunctl}"
# shellcheck source=result.sh
. "$KTUN_LIB/result.sh"
# shellcheck source=netns.sh
. "$KTUN_LIB/netns.sh"

# shellcheck disable=SC2034 # for the scripts that source this
PAIRTOOL=$KTUN_LIB/pairtool.py
# shellcheck disable=SC2034
ORIGIN_TOOL=$KTUN_LIB/origin.py
TLS_PORT=8443
ORIGIN_PORT=8080
EDGE_PORT=9000
SERVER_PID=
CLIENT_PID=
SERVER_LOG=
CLIENT_LOG=
_starts=0

# dump_logs: the tail of every log in the work dir (fail does it, on_fail below).
dump_logs() {
	local f
	[ -n "${WORK:-}" ] || return 0
	for f in "$WORK"/*.log; do
		[ -s "$f" ] || continue
		echo "----- $(basename "$f") (last 40 lines)"
		tail -n 40 "$f"
	done
	echo "-----"
}
on_fail dump_logs

# pair_init: skip unless root, make the work dir, namespaces and PKI.
pair_init() {
	netns_need_root
	need_cmd python3 openssl certtool
	[ -x "$KTUND" ] || fail "no ktund at $KTUND (build first: meson setup build && ninja -C build)"
	[ -x "$KTUNCTL" ] || fail "no ktunctl at $KTUNCTL"
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/ktun-$TEST_NAME.XXXXXX")
	on_exit '_pair_cleanup'
	netns_setup "$@"
	make_pki "$WORK/pki"
	PKI=$WORK/pki
}

_pair_cleanup() {
	local p i
	for p in $SERVER_PID $CLIENT_PID; do
		kill -TERM "$p" 2>/dev/null
	done
	for ((i = 0; i < 20; i++)); do
		kill -0 $SERVER_PID $CLIENT_PID 2>/dev/null || break
		sleep 0.1
	done
	if [ "${KTUN_KEEP:-0}" = 1 ]; then
		echo "kept $WORK"
	else
		rm -rf "$WORK"
	fi
}

# make_pki DIR: the test PKI (tests/lib/pki.sh): ca.pem, server*, client*.
make_pki() {
	"$KTUN_LIB/pki.sh" "$1" >/dev/null 2>&1 || fail "tests/lib/pki.sh $1 failed"
	[ -s "$1/server-chain.pem" ] && [ -s "$1/client-chain.pem" ] || fail "tests/lib/pki.sh left no server/client chains"
}

# make_crl OUT CA-KEY CA-CERT [REVOKED-PEM]: a CRL by certtool signed with CA-KEY in the name
# of CA-CERT (a forged one when they do not belong together), listing the certificates of
# REVOKED-PEM (none without it); nextUpdate in 30 days.
make_crl() {
	local out=$1 key=$2 ca=$3 revoked=()
	[ $# -gt 3 ] && revoked=(--load-certificate "$4")
	printf 'crl_next_update = 30\ncrl_number = 1\n' >"$WORK/make-crl.tmpl"
	certtool --generate-crl --load-ca-privkey "$key" --load-ca-certificate "$ca" "${revoked[@]}" \
		--template "$WORK/make-crl.tmpl" --outfile "$out" >"$WORK/make-crl.log" 2>&1 ||
		fail "certtool --generate-crl ($out): $(cat "$WORK/make-crl.log")"
}

# wait_log FILE REGEX [TIMEOUT_S]: wait until an (extended) regex appears in FILE.
wait_log() {
	local f=$1 re=$2 t=${3:-10} i
	for ((i = 0; i < t * 10; i++)); do
		grep -Eq -- "$re" "$f" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# gnutls_client PKI NAME PORT: one mTLS connection to 127.0.0.1:PORT (server name localhost)
# with certificate NAME of PKI that sends nothing and leaves; its outcome is in the server's log.
gnutls_client() {
	timeout 10 gnutls-cli --x509cafile "$1/ca.pem" --x509certfile "$1/$2-chain.pem" \
		--x509keyfile "$1/$2.key" -p "$3" localhost </dev/null >/dev/null 2>&1
}

# wait_lines FILE ERE N [TIMEOUT_S]: wait until N lines of FILE match ERE (default 10 s).
wait_lines() {
	local i n
	for ((i = 0; i < ${4:-10} * 10; i++)); do
		n=$(grep -Ec -- "$2" "$1" 2>/dev/null || true)
		[ "${n:-0}" -ge "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

# wait_port NS PORT [TIMEOUT_S]: wait until something listens on PORT (any address) in NS.
wait_port() {
	local ns=$1 port=$2 t=${3:-10} i
	for ((i = 0; i < t * 10; i++)); do
		ip netns exec "$ns" ss -Htln "sport = :$port" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# start_server [EXTRA ARGS...]: ktund server in the origin namespace; waits for "ready".
# SERVER_TARGET (default 127.0.0.1:$ORIGIN_PORT), SERVER_CERT, SERVER_KEY, SERVER_CACERT,
# SERVER_CONTROL, SERVER_LISTEN
# (default $ORIGIN_IP:$TLS_PORT) override; SERVER_ALLOW_DEFAULT=0 leaves out the default
# --allow-ou edge, so the allow-* rules among the EXTRA ARGS are the whole policy.
start_server() {
	local allow=(--allow-ou edge)
	[ "${SERVER_ALLOW_DEFAULT:-1}" = 0 ] && allow=()
	_starts=$((_starts + 1))
	SERVER_LOG=$WORK/server-$_starts.log
	ip netns exec "$NS_ORIGIN" "$KTUND" server --listen "${SERVER_LISTEN:-$ORIGIN_IP:$TLS_PORT}" \
		--target "${SERVER_TARGET:-127.0.0.1:$ORIGIN_PORT}" \
		--cert "${SERVER_CERT:-$PKI/server-chain.pem}" --key "${SERVER_KEY:-$PKI/server.key}" \
		--cacert "${SERVER_CACERT:-$PKI/ca.pem}" "${allow[@]}" \
		--control "${SERVER_CONTROL:-$WORK/server.sock}" "$@" \
		2>"$SERVER_LOG" &
	SERVER_PID=$!
	_wait_ready "$SERVER_PID" "$SERVER_LOG" server
}

# start_client [EXTRA ARGS...]: ktund client in the edge namespace; waits for "ready".
# CLIENT_TARGET (default $ORIGIN_IP:$TLS_PORT), CLIENT_CERT, CLIENT_KEY override;
# CLIENT_SERVER_NAME (default origin.test) set to "" gives no --server-name at all.
start_client() {
	local sn=()
	[ -n "${CLIENT_SERVER_NAME-origin.test}" ] && sn=(--server-name "${CLIENT_SERVER_NAME-origin.test}")
	_starts=$((_starts + 1))
	CLIENT_LOG=$WORK/client-$_starts.log
	ip netns exec "$NS_EDGE" "$KTUND" client --listen "127.0.0.1:$EDGE_PORT" \
		--target "${CLIENT_TARGET:-$ORIGIN_IP:$TLS_PORT}" "${sn[@]}" \
		--cert "${CLIENT_CERT:-$PKI/client-chain.pem}" --key "${CLIENT_KEY:-$PKI/client.key}" \
		--cacert "$PKI/ca.pem" --control "$WORK/client.sock" "$@" 2>"$CLIENT_LOG" &
	CLIENT_PID=$!
	_wait_ready "$CLIENT_PID" "$CLIENT_LOG" client
}

_wait_ready() {
	local pid=$1 log=$2 what=$3 i
	for ((i = 0; i < 100; i++)); do
		grep -q 'ktund: notice: ready' "$log" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || fail "ktund $what exited before it was ready"
		sleep 0.1
	done
	fail "ktund $what not ready after 10 s"
}

# start_pair: both daemons with the default arguments.
start_pair() {
	start_server
	start_client
}

# ctl server|client ARGS...: ktunctl against that daemon.
ctl() {
	local who=$1
	shift
	"$KTUNCTL" --control "$WORK/$who.sock" "$@"
}

# stat_of server|client COUNTER: one counter's value from ktunctl status ("" if absent).
stat_of() {
	ctl "$1" status | awk -v k="$1.$2" '$1 == k { print $2 }'
}
# wait_ge server|client COUNTER MIN [TIMEOUT_S]: until the counter is at least MIN.
wait_ge() {
	local i v
	for ((i = 0; i < ${4:-10} * 10; i++)); do
		v=$(stat_of "$1" "$2")
		[ -n "$v" ] && [ "$v" -ge "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

# wait_stat server|client COUNTER VALUE [TIMEOUT_S]
wait_stat() {
	local i
	for ((i = 0; i < ${4:-10} * 10; i++)); do
		[ "$(stat_of "$1" "$2")" = "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

# stop_daemon PID NAME: SIGTERM, wait (at most 40 s), require exit status 0.
stop_daemon() {
	kill -TERM "$1" 2>/dev/null || fail "ktund $2 (pid $1) was not running"
	wait_daemon_exit "$1" "$2" 40
}

# wait_daemon_exit PID NAME TIMEOUT_S: a ktund already sent SIGTERM exits within TIMEOUT_S, status 0.
wait_daemon_exit() {
	local pid=$1 name=$2 i rc
	for ((i = 0; i < $3 * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && fail "ktund $name did not exit within $3 s of SIGTERM"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" = 0 ] || fail "ktund $name exited with status $rc after SIGTERM (want 0)"
}

# stop_server: the running ktund server (if any) must exit 0 on SIGTERM.
stop_server() {
	[ -n "$SERVER_PID" ] && stop_daemon "$SERVER_PID" server
	SERVER_PID=
}

# stop_pair: stop both daemons, each must exit 0.
stop_pair() {
	[ -n "$CLIENT_PID" ] && stop_daemon "$CLIENT_PID" client
	CLIENT_PID=
	stop_server
}

# bg_origin CMD...: run CMD in the origin namespace in the background, logged to origin.log.
bg_origin() {
	ip netns exec "$NS_ORIGIN" "$@" >>"$WORK/origin.log" 2>&1 &
	ORIGIN_PID=$!
}

# origin_addrs ADDR/PREFIX...: more addresses on the origin namespace's loopback (IPv6 ones
# usable at once: nodad).
origin_addrs() {
	local a
	for a; do
		case $a in
		*:*) ip -n "$NS_ORIGIN" addr add "$a" dev lo nodad ;;
		*) ip -n "$NS_ORIGIN" addr add "$a" dev lo ;;
		esac
	done
}

# nginx_origin LOG-FORMAT [HTTP-LINES...]: nginx in the origin namespace, from a config written
# into the work dir (daemon off; pid, logs and temporary files there), serving $WORK/www, its
# access log ($WORK/nginx-access.log) in LOG-FORMAT, with HTTP-LINES in its http block (the
# servers). Its output goes to $WORK/nginx.log; the caller waits for its ports; netns_teardown
# ends it with everything else in the namespace.
nginx_origin() {
	local format=$1
	shift
	mkdir -p "$WORK/www" "$WORK/nginx-tmp"
	{
		# user root: the work dir is private to root (mktemp -d), and nginx's workers serve from it.
		cat <<EOF
daemon off;
user root;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log info;
events { worker_connections 64; }
http {
    log_format test '$format';
    access_log $WORK/nginx-access.log test;
    client_body_temp_path $WORK/nginx-tmp/body;
    proxy_temp_path $WORK/nginx-tmp/proxy;
    fastcgi_temp_path $WORK/nginx-tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx-tmp/uwsgi;
    scgi_temp_path $WORK/nginx-tmp/scgi;
    root $WORK/www;
EOF
		printf '    %s\n' "$@"
		echo '}'
	} >"$WORK/nginx.conf"
	ip netns exec "$NS_ORIGIN" nginx -e "$WORK/nginx-error.log" -p "$WORK" -c "$WORK/nginx.conf" \
		>"$WORK/nginx.log" 2>&1 &
}

# relay_origins HOST:PORT...: tests/lib/connect_relay.py origins (a banner naming the address,
# then an echo) in the origin namespace, each address added to its loopback (127.0.0.1 is
# there); waits until the first one's port listens. For the destination tests.
relay_origins() {
	local a host
	for a; do
		host=${a%:*}
		host=${host#[}
		host=${host%]}
		case $host in
		127.0.0.1) ;;
		*:*) origin_addrs "$host/128" ;;
		*) origin_addrs "$host/32" ;;
		esac
	done
	bg_origin python3 "$KTUN_LIB/connect_relay.py" origin "$@"
	wait_port "$NS_ORIGIN" "${1##*:}" || fail "origins did not start"
}

# relay_start LOG PORT:MODE...: tests/lib/connect_relay.py's mTLS CONNECT relay on $ORIGIN_IP
# in the origin namespace (server-chain.pem, clients chaining to ca.pem), its requests logged
# to LOG (emptied first); waits until the last PORT listens.
relay_start() {
	local log=$1 last=${*: -1}
	shift
	: >"$log"
	bg_origin python3 "$KTUN_LIB/connect_relay.py" relay --cert "$PKI/server-chain.pem" \
		--key "$PKI/server.key" --ca "$PKI/ca.pem" --log "$log" --host "$ORIGIN_IP" "$@"
	wait_port "$NS_ORIGIN" "${last%%:*}" || fail "connect_relay.py did not start"
}

# client_ini NAME LISTEN TARGET [LINE...]: an INI client tunnel section NAME with the test PKI's
# client certificate, checking the server name origin.test, then each LINE.
client_ini() {
	local name=$1 listen=$2 target=$3
	shift 3
	printf '[%s]\nmode = client\nlisten = %s\ntarget = %s\nserver-name = origin.test\n' \
		"$name" "$listen" "$target"
	printf 'cert = %s\nkey = %s\ncacert = %s\n' "$PKI/client-chain.pem" "$PKI/client.key" "$PKI/ca.pem"
	[ $# = 0 ] || printf '%s\n' "$@"
}

# server_ini NAME [LINE...]: an INI server tunnel section NAME on the addresses and with the
# certificate start_server uses (cacert: SERVER_CACERT, default the test CA), then each LINE.
server_ini() {
	local name=$1
	shift
	printf '[%s]\nmode = server\nlisten = %s\ntarget = %s\n' "$name" "$ORIGIN_IP:$TLS_PORT" \
		"127.0.0.1:$ORIGIN_PORT"
	printf 'cert = %s\nkey = %s\ncacert = %s\n' "$PKI/server-chain.pem" "$PKI/server.key" \
		"${SERVER_CACERT:-$PKI/ca.pem}"
	[ $# = 0 ] || printf '%s\n' "$@"
}

# refused_server WANT ARGS...: a ktund server on start_server's addresses and certificate
# with --allow-all and ARGS refuses to start: `--check` and the start itself (in the origin
# namespace) exit 2 without getting ready, the check saying WANT; its error is noted.
refused_server() {
	local want=$1 rc=0 args
	shift
	args=(server --listen "$ORIGIN_IP:$TLS_PORT" --target "127.0.0.1:$ORIGIN_PORT"
		--cert "$PKI/server-chain.pem" --key "$PKI/server.key" --cacert "$PKI/ca.pem"
		--allow-all --control "$WORK/refused.sock" "$@")
	"$KTUND" "${args[@]}" --check >"$WORK/check.log" 2>&1 || rc=$?
	[ "$rc" = 2 ] || fail "--check: exit $rc, want 2: $(cat "$WORK/check.log")"
	grep -qF -- "$want" "$WORK/check.log" || fail "--check: want '$want': $(cat "$WORK/check.log")"
	rc=0
	ip netns exec "$NS_ORIGIN" timeout 20 "$KTUND" "${args[@]}" >"$WORK/start.log" 2>&1 || rc=$?
	[ "$rc" = 2 ] || fail "start: exit $rc, want 2: $(tail -n 3 "$WORK/start.log")"
	! grep -q 'notice: ready' "$WORK/start.log" || fail "ktund got ready"
	note "$(grep -m1 -o 'error: .*' "$WORK/check.log")"
}

# close_lines LOG: the close lines of a daemon log.
close_lines() { grep -E '\] close ' "$1" || true; }
