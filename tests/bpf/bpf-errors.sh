#!/bin/bash
# bpf-errors: when the redirector cannot work, ktund says why in one error line, shows it as
# unavailable in ktunctl status, and the tunnel keeps serving its own listener. Cases: a
# cgroup path that does not exist, a directory that is not a cgroup2 one, a pin directory
# off any bpf filesystem, one already held by another ktund, an interface that does not
# exist (the connect hooks still work), and no privilege to load BPF (ktund as nobody).
# Rules that cannot work are configuration errors (exit 2).
set -euo pipefail
. "$(dirname "$0")/bpflib.sh"
need_cmd setpriv
bpf_init
start_far

# serves_listener: the tunnel carries a request made to its listener itself.
serves_listener() {
	expect_peer "http://127.0.0.1:$EDGE_PORT/" "$TUNNELLED" "$1: the listener still tunnels" in_edge
}

# one_error REGEX: exactly one error line, matching REGEX.
one_error() {
	local errors
	errors=$(grep 'ktund: error:' "$CLIENT_LOG" || true)
	[ "$(grep -c . <<<"$errors")" = 1 ] || fail "want one error line, got: $errors"
	grep -Eq -- "$1" <<<"$errors" || fail "error line does not match '$1': $errors"
	ok "$errors"
}

stop_gw() {
	stop_daemon "$CLIENT_PID" client
	CLIENT_PID=
}

# 1. No such cgroup.
GW_CGROUP=$WORK/no-such-cgroup start_gw --redirect 192.0.2.0/24:80
one_error "redirect: local connects unavailable: bpf-cgroup $WORK/no-such-cgroup: No such file or directory"
[ "$(stat_of client redirect_local)" = unavailable ] || fail "redirect_local is $(stat_of client redirect_local)"
serves_listener "no such cgroup"
expect_peer "http://$ORIGIN_IP/" "$EDGE_IP" "no such cgroup: not steered"
stop_gw

# 2. Not a cgroup2 directory.
GW_CGROUP=$WORK start_gw --redirect 192.0.2.0/24:80
one_error "bpf-cgroup $WORK is not a cgroup2 directory"
[ "$(stat_of client redirect_local)" = unavailable ] || fail "redirect_local is $(stat_of client redirect_local)"
serves_listener "not a cgroup2 directory"
stop_gw

# 3. Pin directory off any bpf filesystem: no maps, so no rules to list either.
mkdir "$WORK/plain"
GW_PIN=$WORK/plain/ktun start_gw --redirect 192.0.2.0/24:80
one_error "bpf-pin-dir $WORK/plain/ktun is not on a bpf filesystem"
[ ! -e "$WORK/plain/ktun" ] || fail "ktund made $WORK/plain/ktun anyway"
[ "$(stat_of client redirect_local)" = unavailable ] || fail "redirect_local is $(stat_of client redirect_local)"
out=$(ctl client redirect list 2>&1) && fail "redirect list worked without maps: $out"
grep -q "unavailable" <<<"$out" || fail "redirect list: $out"
serves_listener "pin dir not on bpffs"
stop_gw

# 4. Pin directory held by another ktund (the first keeps steering).
start_gw --redirect 192.0.2.0/24:80
first_pid=$CLIENT_PID first_log=$CLIENT_LOG
EDGE_PORT=9001
bash -c "$_IN_CG" "$CG" "$NS_EDGE" "$KTUND" client --listen "127.0.0.1:$EDGE_PORT" \
	--target "$ORIGIN_IP:$TLS_PORT" --server-name origin.test --cert "$PKI/client-chain.pem" \
	--key "$PKI/client.key" --cacert "$PKI/ca.pem" --control "$WORK/second.sock" \
	--bpf-cgroup "$CG" --bpf-pin-dir "$PIN" --redirect 192.0.2.0/24:81 "${KTUND_ARGS[@]}" \
	2>"$WORK/second.log" &
second_pid=$!
_wait_ready "$second_pid" "$WORK/second.log" "second client"
grep -q "bpf-pin-dir $PIN: in use by another ktund" "$WORK/second.log" ||
	fail "second ktund on the same pin dir: $(cat "$WORK/second.log")"
ok "$(grep 'ktund: error:' "$WORK/second.log")"
serves_listener "pin dir in use (second ktund)"
expect_peer "http://$ORIGIN_IP/" "$TUNNELLED" "the first ktund still steers"
expect_peer "http://$ORIGIN_IP:81/" "$EDGE_IP" "the second one's rule was not applied"
stop_daemon "$second_pid" "second client"
EDGE_PORT=9000
CLIENT_PID=$first_pid CLIENT_LOG=$first_log
stop_gw

# 5. No such interface: routed flows unavailable, local ones still steered.
start_gw --redirect 192.0.2.0/24:80 --redirect-interface nosuch0
one_error "redirect: routed flows unavailable: redirect-interface nosuch0: No such device"
[ "$(stat_of client redirect_routed)" = unavailable ] || fail "redirect_routed is $(stat_of client redirect_routed)"
[ "$(stat_of client redirect_local)" = attached ] || fail "redirect_local is $(stat_of client redirect_local)"
expect_peer "http://$ORIGIN_IP/" "$TUNNELLED" "no such interface: local connects still steered"
stop_gw

# 6. No privilege: ktund as nobody cannot load BPF. It needs to read its files and write its
# control socket, so it gets its own world-readable copies.
mkdir "$WORK/nobody"
cp "$PKI/client-chain.pem" "$PKI/client.key" "$PKI/ca.pem" "$WORK/nobody/"
chmod 755 "$WORK" && chmod 644 "$WORK"/nobody/* && chown 65534 "$WORK/nobody"
CLIENT_LOG=$WORK/nobody.log
bash -c "$_IN_CG" "$CG" "$NS_EDGE" setpriv --reuid=65534 --regid=65534 --clear-groups -- \
	"$KTUND" client --listen "127.0.0.1:$EDGE_PORT" --target "$ORIGIN_IP:$TLS_PORT" \
	--server-name origin.test --cert "$WORK/nobody/client-chain.pem" --key "$WORK/nobody/client.key" \
	--cacert "$WORK/nobody/ca.pem" --control "$WORK/nobody/client.sock" --bpf-cgroup "$CG" \
	--bpf-pin-dir "$PIN" --redirect 192.0.2.0/24:80 "${KTUND_ARGS[@]}" 2>"$CLIENT_LOG" &
CLIENT_PID=$!
_wait_ready "$CLIENT_PID" "$CLIENT_LOG" "client as nobody"
one_error "redirect unavailable: loading BPF programs needs root \(CAP_BPF and CAP_NET_ADMIN\)"
out=$("$KTUNCTL" --control "$WORK/nobody/client.sock" status | grep redirect_local)
[ "$out" = "client.redirect_local unavailable" ] || fail "as nobody: $out"
serves_listener "no privilege"
stop_gw
no_bpf_left

# 7. Rules that cannot work do not start.
refused() { # why, expected text, ktund args...
	local out rc=0
	out=$("$KTUND" "${@:3}" --check 2>&1) || rc=$?
	[ "$rc" = 2 ] || fail "$1: exit status $rc (want 2): $out"
	grep -qF -- "$2" <<<"$out" || fail "$1: '$out' does not say '$2'"
	ok "refused ($1): $(head -1 <<<"$out")"
}
common=(--target "$ORIGIN_IP:$TLS_PORT" --cert "$PKI/client-chain.pem" --key "$PKI/client.key" --cacert "$PKI/ca.pem")
refused "server mode" "redirect is a client-mode option" server --listen 127.0.0.1:1 "${common[@]}" --unsafe-target --allow-all --redirect 192.0.2.0/24:80
refused "IPv4 rule, IPv6 listener" "an IPv4 rule needs an IPv4 listen address" client --listen "[::1]:1" "${common[@]}" --server-name x --redirect 192.0.2.0/24:80
refused "unix listener" "redirect needs a TCP listen address" client --listen unix:/tmp/x "${common[@]}" --server-name x --redirect 192.0.2.0/24:80
refused "host bits" "bits set past the /24" client --listen 127.0.0.1:1 "${common[@]}" --server-name x --redirect 192.0.2.1/24:80
pass "each failure logged once, shown as unavailable, the tunnel serving its listener"
