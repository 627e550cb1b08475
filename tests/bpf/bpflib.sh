# shellcheck shell=bash
# bpflib.sh — set-up of the eBPF redirector tests (tests/bpf/*.sh), on top of tests/lib/ktund.sh
# (namespaces, PKI, ktund server in the origin namespace).
#
#   app ns (routed tests) --> edge ns: ktund client + the redirector --TLS--> origin ns: ktund
#   server -> 127.0.0.1:80 peer_origin.py, which also listens on 192.0.2.2 / 2001:db8:1::2
#   ports 80 and 81 directly: the test's "origin addresses", in the test's own namespace.
#
# Everything the redirector touches is the test's own: a cgroup made under the cgroup2 mount
# (the connect hooks attach there, never to the root, and only processes the test puts in
# it are steered), a bpf filesystem mounted in the work dir (the pinned maps), and the
# namespaces. All are removed at exit, whatever happens. ktund client runs inside the cgroup,
# as it would under a root attach, so its own connects face the hooks too (no loops).
BPF_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"

PEER_ORIGIN=$BPF_DIR/peer_origin.py
CG=
PIN=
ORIGIN_HTTP_PID=

# bpf_init [--app]: pair_init plus the redirector's prerequisites; skips (77) without them.
bpf_init() {
	netns_need_root
	need_cmd nsenter curl
	local cg2
	cg2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
	[ -n "$cg2" ] || skip "needs a cgroup2 filesystem (the connect hooks attach to a cgroup)"
	pair_init "$@"
	mkdir "$WORK/bpffs"
	mount -t bpf bpf "$WORK/bpffs" 2>/dev/null || skip "cannot mount a bpf filesystem"
	on_exit 'umount -l "$WORK/bpffs"' # lazily: a ktund still running holds it
	PIN=$WORK/bpffs/ktun
	CG=$cg2/ktun-$TEST_NAME-$$
	mkdir "$CG" || skip "cannot make a cgroup under $cg2"
	on_exit '_bpf_cgroup_cleanup'
	_bpf_origin
}

# Processes left in our cgroup (a ktund a failed test left running) are stopped, killed if
# they linger (rmdir needs the cgroup empty); then it goes.
_bpf_cgroup_cleanup() {
	local i pids sig=TERM
	disown -a 2>/dev/null
	for ((i = 0; i < 40; i++)); do
		pids=$(cat "$CG/cgroup.procs" 2>/dev/null)
		[ -z "$pids" ] && break
		[ $i = 20 ] && sig=KILL
		# shellcheck disable=SC2086
		kill -$sig $pids 2>/dev/null
		sleep 0.1
	done
	rmdir "$CG" 2>/dev/null || echo "warning: could not remove cgroup $CG"
}

# The origin: answers with the peer it saw, on 80 and 81, all its addresses.
_bpf_origin() {
	ip netns exec "$NS_ORIGIN" python3 "$PEER_ORIGIN" 80 81 >>"$WORK/origin.log" 2>&1 &
	ORIGIN_HTTP_PID=$!
	wait_port "$NS_ORIGIN" 80 || fail "peer_origin.py did not start"
	wait_port "$NS_ORIGIN" 81 || fail "peer_origin.py did not start on 81"
}

# in_cg CMD...: CMD in the edge namespace and in the test's cgroup (what the hooks steer).
# nsenter, not ip netns exec: that remounts /sys, which would hide the cgroup and its path.
# The shell execs, so in the background $! is CMD's pid.
_IN_CG='echo $$ >"$0/cgroup.procs" && exec nsenter --net="/run/netns/$1" -- "${@:2}"'
in_cg() {
	bash -c "$_IN_CG" "$CG" "$NS_EDGE" "$@"
}

# In the kTLS guest (tests/bpf/guest.sh) both ktunds must carry the steered flows on kTLS.
# KTUN_BPF_KTUND_ARGS adds arguments to both (e.g. --sandbox=no under LeakSanitizer, whose
# exit-time check needs system calls the sandbox refuses).
read -ra KTUND_ARGS <<<"${KTUN_BPF_KTUND_ARGS:-}"
[ -n "${KTUN_BPF_EXPECT_KTLS:-}" ] && KTUND_ARGS+=(--ktls required)

# start_gw [EXTRA ARGS...]: ktund client in the edge namespace and the test's cgroup, with
# the redirector on that cgroup and pin dir; listens on 127.0.0.1:$EDGE_PORT; waits for ready.
# CLIENT_CERT, CLIENT_KEY override the client's certificate and key (as for start_client),
# GW_CGROUP the cgroup the connect hooks attach to (default the test's; "none": no local hooks),
# GW_PIN the pin directory (default $PIN).
start_gw() {
	local sn=(--server-name origin.test "${KTUND_ARGS[@]}")
	_starts=$((_starts + 1))
	CLIENT_LOG=$WORK/client-$_starts.log
	: >"$CLIENT_LOG"
	bash -c "$_IN_CG" "$CG" "$NS_EDGE" "$KTUND" client --listen "127.0.0.1:$EDGE_PORT" --target "$ORIGIN_IP:$TLS_PORT" "${sn[@]}" \
		--cert "${CLIENT_CERT:-$PKI/client-chain.pem}" --key "${CLIENT_KEY:-$PKI/client.key}" \
		--cacert "$PKI/ca.pem" --control "$WORK/client.sock" --bpf-cgroup "${GW_CGROUP:-$CG}" --bpf-pin-dir "${GW_PIN:-$PIN}" "$@" \
		2>"$CLIENT_LOG" &
	CLIENT_PID=$!
	_wait_ready "$CLIENT_PID" "$CLIENT_LOG" client
}

# for_nobody: what an operator does for `user = nobody`: the user may read the certificate and
# key files (reloads, and the sandbox's view of their directories) and reach the control socket's
# directory. The PKI is a throwaway one.
for_nobody() {
	chmod 755 "$WORK" "$PKI"
	chmod a+r "$PKI"/*
}

# start_far: ktund server in the origin namespace in front of peer_origin.py's port 80.
start_far() {
	SERVER_TARGET=127.0.0.1:80 start_server "${KTUND_ARGS[@]}" "$@"
}

# fetch URL [CMD PREFIX...]: the body curl gets, from the cgroup (or with the given prefix).
fetch() {
	local url=$1
	shift
	if [ $# = 0 ]; then
		in_cg curl -sS --max-time 10 "$url"
	else
		"$@" curl -sS --max-time 10 "$url"
	fi
}

# expect_peer URL PEER WHY [CMD PREFIX...]: the origin saw PEER for a request to URL.
expect_peer() {
	local url=$1 want=$2 why=$3 got
	shift 3
	got=$(fetch "$url" "$@" 2>&1) || fail "$url ($why): curl failed: $got"
	[ "$got" = "peer=$want" ] || fail "$url ($why): origin saw '$got', want 'peer=$want'"
	ok "$url $why (origin saw $want)"
}

# The far ktund's address as the origin sees it, and the edge's own addresses.
TUNNELLED=127.0.0.1

# live_conn PATTERN: the ktunctl conns line of the gateway's live connection matching PATTERN,
# once it streams (empty if none within 3 s). ktunctl runs in the edge namespace, where
# sock_diag can find the TLS socket and report its kernel TLS state.
live_conn() {
	local line i
	for ((i = 0; i < 30; i++)); do
		line=$(ip netns exec "$NS_EDGE" "$KTUNCTL" --control "$WORK/client.sock" conns | grep -- "$1" || true)
		grep -q 'state=streaming' <<<"$line" && break
		sleep 0.1
	done
	echo "$line"
}

# expect_ktls LINE: in the kTLS guest, the live connection of LINE is on kernel TLS in ktund's
# view and in the kernel's (its socket, and the edge namespace's count of kTLS sockets now open:
# ktund's start-up probe has closed its own by then).
expect_ktls() {
	[ -n "${KTUN_BPF_EXPECT_KTLS:-}" ] || return 0
	grep -q 'datapath=ktls' <<<"$1" || fail "steered connection is not on kTLS: $1"
	grep -q 'ulp=tls ktls_tx=sw ktls_rx=sw' <<<"$1" || fail "the kernel does not report kTLS on it: $1"
	local tx
	tx=$(ip netns exec "$NS_EDGE" awk '$1 == "TlsCurrTxSw" { print $2 }' /proc/net/tls_stat)
	[ "${tx:-0}" -gt 0 ] || fail "TlsCurrTxSw is ${tx:-absent} in the edge namespace"
	ok "kernel TLS: $(grep -o 'datapath=[a-z]*' <<<"$1"), $(grep -o 'ulp=.*rx=sw' <<<"$1"), TlsCurrTxSw $tx"
}

# no_bpf_left: nothing of ours stays attached to the cgroup.
no_bpf_left() {
	local progs
	progs=$(bpftool cgroup show "$CG" 2>/dev/null | grep -c ktun || true)
	[ "$progs" = 0 ] || fail "programs still attached to $CG after ktund exited: $(bpftool cgroup show "$CG")"
}
