# shellcheck shell=bash
# srvlib.sh — shared by tests/integration/server-*.sh: ktund server in the origin namespace
# (start_server from tests/lib/ktund.sh), real TLS peers (openssl s_client, gnutls-cli, curl)
# in the edge namespace connecting over the veth, origins that count what reaches them
# (tests/lib/origin.py), and one ok/FAIL line per case (tests/lib/result.sh).
#
# Source it after `set -euo pipefail`, call srv_init, then `run_case NAME FUNCTION [ARGS...]`
# for each case and `srv_finish` at the end. A case runs in a subshell with errexit, so any
# failed step ends that case only; `fail MESSAGE` ends it with a reason, and `note TEXT` adds
# a detail line under its ok line. Whatever a case starts with srv_start/origin_start/track is
# killed when the case ends, pass or fail, so a broken case cannot leave a port taken for the
# next one.
# shellcheck disable=SC2034 # for the scripts that source this
INTEG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"

ACCEPTS=    # accept log of the current origin: one line per connection that reached it
_case_no=0
_failed=()

srv_init() {
	need_cmd openssl gnutls-cli timeout ss
	# shellcheck disable=SC2119 # no --app: two namespaces are enough
	pair_init
}

# _case_why MESSAGE: fail's hook inside a case: MESSAGE is why the case failed.
_case_why() { echo "$*" >"$WORK/case.why"; }

# track PID: kill PID when the current case ends.
track() { echo "$1" >>"$WORK/case.pids"; }

# _alive PID: running, not a zombie (a case's children are reparented when its subshell ends,
# and nothing may reap them before teardown).
_alive() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

_reap_case() {
	local p i left
	[ -s "$WORK/case.pids" ] || return 0
	while read -r p; do
		kill -TERM "$p" 2>/dev/null || true
	done <"$WORK/case.pids"
	for ((i = 0; i < 30; i++)); do
		left=0
		while read -r p; do
			_alive "$p" && left=1
		done <"$WORK/case.pids"
		[ $left = 0 ] && break
		sleep 0.1
	done
	while read -r p; do
		kill -KILL "$p" 2>/dev/null || true
	done <"$WORK/case.pids"
	: >"$WORK/case.pids"
	# ktund listens with SO_REUSEPORT, so the next case's server could bind beside a listener
	# that is still going away (io_uring releases a killed process's sockets asynchronously)
	# and have clients handed to it. Start the next case only once the ports are free.
	for ((i = 0; i < 50; i++)); do
		ip netns exec "$NS_ORIGIN" ss -Hltn "( sport = :$TLS_PORT or sport = :$ORIGIN_PORT )" |
			grep -q . || return 0
		sleep 0.1
	done
	echo "warning: ports $TLS_PORT/$ORIGIN_PORT still listened on after the case's processes ended"
}

# run_case NAME FUNCTION [ARGS...]: run one case, print its ok/not_ok line.
run_case() {
	local name=$1 rc=0 why
	shift
	_case_no=$((_case_no + 1))
	: >"$WORK/case.notes"
	: >"$WORK/case.pids"
	: >"$WORK/case.why"
	touch "$WORK/case.start"
	# Subshell: errexit applies inside it (it is not a condition), and a failure ends only this
	# case. Log names count from the case number, so each case's server logs stay apart.
	# Inside, fail records why (and the case's logs are dumped below, not all of them) and
	# note collects detail lines.
	set +e
	(
		set -e
		_starts=$((_case_no * 100))
		# shellcheck disable=SC2034 # read by note (result.sh)
		RESULT_NOTES=$WORK/case.notes
		_result_fail_hooks=(_case_why)
		"$@"
	) >"$WORK/case.out" 2>&1
	rc=$?
	set -e
	_reap_case
	if [ "$rc" = 0 ]; then
		ok "$name"
		sed 's/^/    /' "$WORK/case.notes"
	else
		_failed+=("$name")
		# Why: fail's message, else a FAIL line in the output, else the exit status.
		why=$(cat "$WORK/case.why")
		[ -n "$why" ] || why=$(grep -m1 -o 'FAIL: .*' "$WORK/case.out" | cut -c7-) || true
		[ -n "$why" ] || why="exit status $rc"
		not_ok "$name: $why"
		sed 's/^/    | /' "$WORK/case.out"
		_dump_case_logs
	fi
}

_dump_case_logs() {
	local f
	for f in "$WORK"/*.log; do
		if [ ! "$f" -nt "$WORK/case.start" ] || [ ! -s "$f" ]; then
			continue
		fi
		echo "    ----- $(basename "$f") (last 30 lines)"
		tail -n 30 "$f" | sed 's/^/    | /'
	done
	return 0
}

# srv_finish: exit 1 if any case failed (their logs are dumped already: no on_fail hooks).
srv_finish() {
	if [ ${#_failed[@]} -gt 0 ]; then
		_result_fail_hooks=()
		fail "${#_failed[@]} case(s): ${_failed[*]}"
	fi
	pass "$_case_no cases"
}

# srv_start [ARGS...]: start_server, killed at the end of the case.
srv_start() {
	start_server "$@"
	track "$SERVER_PID"
}

# srv_stop: SIGTERM the server, which must exit 0 (stop_daemon).
srv_stop() {
	stop_daemon "$SERVER_PID" server
	SERVER_PID=
}

# origin_start MODE [ADDR]: origin.py MODE (echo, line, http) in the origin namespace on
# ADDR (default 127.0.0.1:$ORIGIN_PORT); ACCEPTS is its accept log. Waits until it listens.
origin_start() {
	local mode=$1 addr=${2:-127.0.0.1:$ORIGIN_PORT} i
	ACCEPTS=$(mktemp "$WORK/accepts.XXXXXX")
	ip netns exec "$NS_ORIGIN" python3 "$ORIGIN_TOOL" "$mode" "$addr" "$ACCEPTS" \
		>>"$WORK/origin.log" 2>&1 &
	ORIGIN_PID=$!
	track "$ORIGIN_PID"
	if [[ $addr == unix:* ]]; then
		for ((i = 0; i < 100; i++)); do
			[ -S "${addr#unix:}" ] && return 0
			sleep 0.1
		done
		fail "origin did not create ${addr#unix:}"
	fi
	wait_port "$NS_ORIGIN" "${addr##*:}" || fail "origin did not listen on $addr"
}

# use_origin MODE [ADDR]: make sure the running origin is origin.py MODE on ADDR, replacing
# one of another mode. Echoing peers need different ones: s_client -quiet never half-closes, so
# the origin must end the exchange ("line"); gnutls-cli sends its close_notify when its stdin
# ends, but not if the server's comes first — then it just closes, and ktund rightly logs
# "truncated" — so for it the origin echoes until the client's end ("echo").
use_origin() {
	local want="$1 ${2:-}" i
	[ "${_origin_now:-}" = "$want" ] && return 0
	if [ -n "${_origin_now:-}" ]; then
		kill "$ORIGIN_PID" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			_alive "$ORIGIN_PID" || break
			sleep 0.1
		done
	fi
	# A unix socket file outlives its origin; origin_start must wait for the new one's.
	[[ ${2:-} != unix:* ]] || rm -f "${2#unix:}"
	origin_start "$@"
	_origin_now=$want
}

# origin_for TOOL: the origin mode that peer TOOL (ossl, gtls) needs to end cleanly.
origin_for() {
	if [ "$1" = ossl ]; then echo line; else echo echo; fi
}

# accepts: how many connections reached the origin.
accepts() { wc -l <"$ACCEPTS"; }

# ---------------------------------------------------------------- TLS peers (edge namespace)
# Each writes the bytes it received to $WORK/peer.out and what it said to $WORK/peer.err,
# and returns the peer's exit status. NAME is a PKI leaf (client, client-p384, ...) or
# "none" for no certificate. PEER_HOST (default $ORIGIN_IP) is where they connect.

# ossl NAME PAYLOAD [s_client ARGS...]: openssl s_client sends PAYLOAD and prints what comes
# back. -quiet implies -ign_eof: it reads until the server closes, so the origin ends the
# exchange ("line" mode) and the server's close_notify makes s_client send its own.
ossl() {
	local payload=$2
	ossl_cmd "$1"
	shift 2
	printf '%s' "$payload" | "${OSSL[@]}" "$@" >"$WORK/peer.out" 2>"$WORK/peer.err"
}

# ossl_cmd NAME: OSSL is the s_client command line (in the edge namespace, -quiet) for NAME.
ossl_cmd() {
	local who=$1 cert=()
	if [ "$who" != none ]; then
		cert=(-cert "$PKI/$who.pem" -key "$PKI/$who.key")
		# s_client sends only the leaf of -cert; the intermediate must go with -cert_chain.
		cmp -s "$PKI/$who.pem" "$PKI/$who-chain.pem" || cert+=(-cert_chain "$PKI/inter.pem")
	fi
	OSSL=(ip netns exec "$NS_EDGE" timeout 20 openssl s_client -connect "$(_hostport)"
		-CAfile "$PKI/ca.pem" -verify_return_error -verify_hostname origin.test
		-servername origin.test "${cert[@]}" -quiet)
}

# gtls NAME PAYLOAD [gnutls-cli ARGS...]: gnutls-cli, likewise (it checks the server's chain
# and the name origin.test); its informational messages go to $WORK/peer.log, errors to peer.err.
# PAYLOAD "-" means no payload: gnutls-cli reads the caller's stdin instead.
gtls() {
	local who=$1 payload=$2 cert=() cmd
	shift 2
	[ "$who" = none ] || cert=(--x509certfile "$PKI/$who-chain.pem" --x509keyfile "$PKI/$who.key")
	cmd=(ip netns exec "$NS_EDGE" timeout 20 gnutls-cli --x509cafile "$PKI/ca.pem"
		--verify-hostname origin.test "${cert[@]}" --logfile "$WORK/peer.log" -p "$TLS_PORT"
		"$@" "${PEER_HOST:-$ORIGIN_IP}")
	if [ "$payload" = - ]; then
		"${cmd[@]}" >"$WORK/peer.out" 2>"$WORK/peer.err"
	else
		printf '%s' "$payload" | "${cmd[@]}" >"$WORK/peer.out" 2>"$WORK/peer.err"
	fi
}

_hostport() {
	local h=${PEER_HOST:-$ORIGIN_IP}
	[[ $h == *:* ]] && h="[$h]"
	echo "$h:$TLS_PORT"
}

# gnutls-cli priority strings for one protocol version (used by the scripts that source this).
# shellcheck disable=SC2034
GT13=NORMAL:-VERS-ALL:+VERS-TLS1.3
# shellcheck disable=SC2034
GT12=NORMAL:-VERS-ALL:+VERS-TLS1.2

# ---------------------------------------------------------------- server log and counters

# nlines REGEX: how many lines of the server log match.
nlines() { grep -Ec -- "$1" "$SERVER_LOG" || true; }

# wait_n REGEX N: wait until N lines of the server log match (at most 10 s).
wait_n() {
	wait_lines "$SERVER_LOG" "$1" "$2" ||
		fail "want $2 server log line(s) matching '$1', have $(nlines "$1")"
}

# last_line REGEX: the last server log line that matches.
last_line() { grep -E -- "$1" "$SERVER_LOG" | tail -n 1; }

# want_stat COUNTER VALUE: the server's ktunctl status counter is VALUE (waits up to 5 s, for
# counters that move just after the log line).
want_stat() {
	wait_stat server "$1" "$2" 5 || fail "ktunctl status: server.$1 is $(stat_of server "$1"), want $2"
}
