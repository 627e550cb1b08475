# shellcheck shell=bash
# netns.sh — network namespace helpers for ktun's tests, the benchmark and the demo. Source it (bash).
#
#   netns_setup [--app]    makes NS_EDGE and NS_ORIGIN (and NS_APP with --app), names unique to
#                          this run, each with lo up, joined by veth links:
#                            edge 192.0.2.1/24 2001:db8:1::1/64 <-> origin 192.0.2.2/24 2001:db8:1::2/64
#                            app 198.51.100.1/24 2001:db8:2::1/64 <-> edge 198.51.100.2/24 2001:db8:2::2/64
#                          Only documentation ranges, and only inside these namespaces.
#   in_edge CMD... / in_origin CMD... / in_app CMD...   run CMD in that namespace
#   on_exit CMD            run CMD (a string, eval'd) at exit, last registered first
#   netns_teardown         kill what runs in our namespaces and delete them (on_exit does it)
#
# netns_setup installs an EXIT trap (and INT/TERM/HUP traps that exit through it), so the
# namespaces go away however the script ends. Scripts that source this file should register
# their own clean-ups with on_exit rather than replace the trap.

EDGE_IP=192.0.2.1
ORIGIN_IP=192.0.2.2
EDGE_IP6=2001:db8:1::1
ORIGIN_IP6=2001:db8:1::2
APP_IP=198.51.100.1
EDGE_APP_IP=198.51.100.2
APP_IP6=2001:db8:2::1
EDGE_APP_IP6=2001:db8:2::2

NS_EDGE=
NS_ORIGIN=
NS_APP=
_netns_list=()
_on_exit_cmds=()

on_exit() {
	_on_exit_cmds+=("$1")
	_netns_trap
}

_netns_run_exit() {
	local rc=$? i
	trap - EXIT
	set +e
	for ((i = ${#_on_exit_cmds[@]} - 1; i >= 0; i--)); do
		eval "${_on_exit_cmds[i]}"
	done
	netns_teardown
	exit "$rc"
}

_netns_trap() {
	trap _netns_run_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}

# netns_need_root: exit 77 (skip) unless root with iproute2; through result.sh's skip when the
# script sourced it (tests), else a plain "skip:" line (bench/run, examples/demo.sh).
netns_need_root() {
	if [ "$(id -u)" != 0 ]; then
		_netns_skip "needs root for network namespaces"
	fi
	if ! command -v ip >/dev/null; then
		_netns_skip "needs iproute2 (ip)"
	fi
}

_netns_skip() {
	if declare -F skip >/dev/null; then
		skip "$1"
	fi
	echo "skip: $1"
	exit 77
}

# _netns_add NAME: a namespace with lo up, remembered for teardown.
_netns_add() {
	ip netns add "$1"
	_netns_list+=("$1")
	ip -n "$1" link set lo up
	# No router solicitations or DAD delays on our links: addresses are usable at once.
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 2>/dev/null || true
}

# _netns_link NS_A IF_A ADDR4_A ADDR6_A NS_B IF_B ADDR4_B ADDR6_B
_netns_link() {
	ip link add "$2" netns "$1" type veth peer name "$6" netns "$5"
	ip -n "$1" addr add "$3/24" dev "$2"
	ip -n "$1" addr add "$4/64" dev "$2" nodad
	ip -n "$5" addr add "$7/24" dev "$6"
	ip -n "$5" addr add "$8/64" dev "$6" nodad
	ip -n "$1" link set "$2" up
	ip -n "$5" link set "$6" up
}

netns_setup() {
	local app=0 id
	[ "${1:-}" = --app ] && app=1
	netns_need_root
	_netns_trap
	# Unique per run: pid plus a random part (pids recycle across runs; ip netns names persist).
	id=$$-$((RANDOM % 10000))
	NS_EDGE=ktun-edge-$id
	NS_ORIGIN=ktun-origin-$id
	_netns_add "$NS_EDGE"
	_netns_add "$NS_ORIGIN"
	# veth names live inside the namespaces, so short fixed names cannot clash between runs.
	_netns_link "$NS_EDGE" ve-origin "$EDGE_IP" "$EDGE_IP6" "$NS_ORIGIN" vo-edge "$ORIGIN_IP" "$ORIGIN_IP6"
	if [ $app = 1 ]; then
		NS_APP=ktun-app-$id
		_netns_add "$NS_APP"
		_netns_link "$NS_APP" va-edge "$APP_IP" "$APP_IP6" "$NS_EDGE" ve-app "$EDGE_APP_IP" "$EDGE_APP_IP6"
		ip -n "$NS_APP" route add default via "$EDGE_APP_IP"
		ip -n "$NS_APP" -6 route add default via "$EDGE_APP_IP6"
	fi
	# Wait until the links are up at both ends (veth carrier comes at once, but be sure).
	local i
	for i in $(seq 50); do
		ip -n "$NS_EDGE" link show ve-origin | grep -q LOWER_UP &&
			ip -n "$NS_ORIGIN" link show vo-edge | grep -q LOWER_UP && break
		sleep 0.1
	done
}

in_edge() { ip netns exec "$NS_EDGE" "$@"; }
in_origin() { ip netns exec "$NS_ORIGIN" "$@"; }
in_app() { ip netns exec "$NS_APP" "$@"; }

netns_teardown() {
	local ns pids
	disown -a 2>/dev/null # no "Killed" notices for background jobs that end here
	for ns in "${_netns_list[@]}"; do
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		# shellcheck disable=SC2086
		[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
		ip netns del "$ns" 2>/dev/null || true
	done
	_netns_list=()
}
