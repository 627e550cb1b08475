#!/bin/bash
# server-limits: ktund server's timeouts and limits against real peers.
#   --handshake-timeout 1: a client that connects and sends nothing is closed, reason
#     handshake-timeout (reject line, counter), nothing reaches the origin;
#   --idle-timeout 2: an s_client that goes quiet after one echoed line gets close_notify and
#     reason=idle-timeout, and the origin side is closed too; one that keeps talking is not;
#   --connect-timeout 1 against a target whose SYNs vanish (a permanent neighbour entry for a
#     MAC nobody has: no reply, no ICMP): reason=connect-timeout, the client sees a reset;
#   --max-connections 2: a third client waits in the listen backlog, unanswered, and is served
#     once one of the first two closes; conns_open never exceeds 2; and with two workers, two
#     clients are always both served;
#   target down (nothing listening, or a blackhole route): the TLS client sees its connection
#     reset with no data, ktund logs target-unreachable.
# No timing is asserted: every wait is for a log line, a counter or a socket state.
# Case functions run indirectly (run_case) and take no arguments from the script:
# shellcheck disable=SC2317,SC2119
set -euo pipefail
. "$(dirname "$0")/srvlib.sh"
srv_init

# ---------------------------------------------------------------- long-lived s_clients
# live N [s_client ARGS...]: s_client #N in the background, its stdin the fifo $WORK/in-N held
# open by this shell (so it never sees EOF), its output in $WORK/out-N.
declare -a LIVE_FD LIVE_PID
live() {
	local n=$1 fd
	shift
	rm -f "$WORK/in-$n"
	mkfifo "$WORK/in-$n"
	exec {fd}<>"$WORK/in-$n"
	LIVE_FD[n]=$fd
	ossl_cmd client
	"${OSSL[@]}" "$@" <"$WORK/in-$n" >"$WORK/out-$n" 2>"$WORK/err-$n" &
	LIVE_PID[n]=$!
	track "$!"
}

# send N TEXT: a line into s_client #N.
send() { echo "$2" >&"${LIVE_FD[$1]}"; }

# wait_out N TEXT: wait until s_client #N printed the line TEXT (at most 10 s).
wait_out() {
	local i
	for ((i = 0; i < 100; i++)); do
		grep -qx -- "$2" "$WORK/out-$1" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "s_client #$1 did not get '$2' back: $(tail -n 2 "$WORK/err-$1")"
}

# wait_exit N: s_client #N exits (at most 10 s); its status in REPLY.
wait_exit() {
	local i
	for ((i = 0; i < 100; i++)); do
		_alive "${LIVE_PID[$1]}" || break
		sleep 0.1
	done
	_alive "${LIVE_PID[$1]}" && fail "s_client #$1 still running"
	REPLY=0
	wait "${LIVE_PID[$1]}" || REPLY=$?
}

# established PORT: TCP connections established on local PORT in the origin namespace.
established() { ip netns exec "$NS_ORIGIN" ss -Htn state established "( sport = :$1 )" | wc -l; }

# ---------------------------------------------------------------- cases

case_handshake_timeout() {
	local out rc=0 rj
	origin_start line
	srv_start --handshake-timeout 1
	# A TCP connection that never says a word; cat ends when the server closes it.
	out=$(ip netns exec "$NS_EDGE" timeout 20 bash -c \
		"exec 3<>/dev/tcp/$ORIGIN_IP/$TLS_PORT && cat <&3" 2>&1) || rc=$?
	[ "$rc" != 124 ] || fail "the silent client was not closed within 20 s"
	[ -z "$out" ] || fail "the silent client received: $out"
	wait_n '\] reject peer=[^ ]+ reason=handshake-timeout detail="[^"]+"$' 1
	wait_n '\] close .* up=0 down=0 .*reason=handshake-timeout$' 1
	want_stat reject.handshake-timeout 1
	want_stat close.handshake-timeout 1
	want_stat conns_open 0
	[ "$(accepts)" = 0 ] || fail "$(accepts) connection(s) reached the origin"
	rj=$(last_line '\] reject ')
	note "${rj#*\] } (client exit $rc)"
	# The daemon still serves.
	ossl client "after the timeout"$'\n' || fail "a good client after the timeout failed"
	[ "$(cat "$WORK/peer.out")" = "after the timeout" ] || fail "no echo after the timeout"
	srv_stop
}

case_idle_timeout() {
	local rc=0 cl
	origin_start echo
	srv_start --idle-timeout 2
	# s_client -quiet ignores its stdin's EOF: after the echo it sits idle until ktund ends it.
	ossl client "ping"$'\n' -tls1_3 || rc=$?
	[ "$rc" = 0 ] || fail "s_client exit $rc, want 0 (a clean close_notify): $(tail -n 2 "$WORK/peer.err")"
	[ "$(cat "$WORK/peer.out")" = ping ] || fail "no echo before the idle close"
	wait_n '\] close ' 1
	cl=$(last_line '\] close ')
	grep -Eq ' up=5 down=5 .*reason=idle-timeout$' <<<"$cl" || fail "want up=5 down=5 reason=idle-timeout: $cl"
	want_stat close.idle-timeout 1
	want_stat conns_open 0
	[ "$(established "$ORIGIN_PORT")" = 0 ] || fail "the origin side is still open"
	note "${cl#*\] }"
	srv_stop
}

case_not_idle() {
	local i cl
	origin_start echo
	srv_start --idle-timeout 2
	live 1 -tls1_3
	# A line every 0.3 s for 2.4 s: longer than the idle timeout in all, never idle that long.
	for i in $(seq 8); do
		send 1 "line $i"
		wait_out 1 "line $i"
		[ "$(nlines '\] close ')" = 0 ] || fail "closed while active, after $i lines: $(last_line '\] close ')"
		sleep 0.3
	done
	# Now it goes quiet, and is closed for that.
	wait_exit 1
	wait_n '\] close ' 1
	cl=$(last_line '\] close ')
	grep -Eq ' up=56 down=56 .*reason=idle-timeout$' <<<"$cl" || fail "want up=56 down=56 reason=idle-timeout: $cl"
	note "8 lines over 2.4 s, then idle: ${cl#*\] }"
	srv_stop
}

case_connect_timeout() {
	local rc=0 cl blackhole=192.0.2.77
	# Frames for this address go out on the veth to a MAC nobody has: the edge drops them,
	# no RST and no ICMP come back, so connect() waits — as behind a firewall that drops SYNs.
	ip -n "$NS_ORIGIN" neigh replace "$blackhole" lladdr 02:00:00:00:00:77 dev vo-edge nud permanent
	SERVER_TARGET=$blackhole:$ORIGIN_PORT srv_start --unsafe-target --connect-timeout 1
	ossl client "into the void"$'\n' -tls1_3 || rc=$?
	[ "$rc" != 0 ] || fail "s_client exit 0: the failure was hidden"
	[ ! -s "$WORK/peer.out" ] || fail "the client received data"
	grep -q 'errno=104' "$WORK/peer.err" || fail "the client saw no reset: $(tail -n 2 "$WORK/peer.err")"
	wait_n '\] close ' 1
	cl=$(last_line '\] close ')
	grep -Eq 'id="CN=edge-client,OU=edge" up=0 down=0 .*reason=connect-timeout( |$)' <<<"$cl" ||
		fail "want reason=connect-timeout: $cl"
	[ "$(nlines '\] handshake ')" = 1 ] || fail "the handshake did not complete before the connect"
	[ "$(nlines '\] reject ')" = 0 ] || fail "a connect timeout is no rejection: $(last_line '\] reject ')"
	want_stat close.connect-timeout 1
	want_stat conns_open 0
	note "${cl#*\] }"
	note "s_client: $(grep -m1 errno "$WORK/peer.err")"
	srv_stop
}

# _sample_open: print the highest conns_open seen until $WORK/sampling goes away.
_sample_open() {
	local max=0 v
	while [ -e "$WORK/sampling" ]; do
		v=$(stat_of server conns_open 2>/dev/null || true)
		[ -n "$v" ] && [ "$v" -gt "$max" ] && max=$v
		echo "$max" >"$WORK/max-open"
		sleep 0.05
	done
}

# wait_handshakes N: N handshake lines, or fail saying where the missing connection sits.
wait_handshakes() {
	local i
	# 5 s: far beyond a handshake here, and a stuck accept is retried every second (the tick).
	for ((i = 0; i < 50; i++)); do
		[ "$(nlines '\] handshake ')" -ge "$1" ] && return 0
		sleep 0.1
	done
	fail "want $1 handshakes, have $(nlines '\] handshake '); conns_open $(stat_of server conns_open);" \
		"listeners' accept queues: $(ip netns exec "$NS_ORIGIN" ss -Hltn "sport = :$TLS_PORT" | awk '{ printf "%s ", $2 }')"
}

# established: server-side TCP connections on the TLS port (accepted or in the accept queue).
established() {
	ip netns exec "$NS_ORIGIN" ss -Htn state established "sport = :$TLS_PORT" | wc -l
}

# backlog_len: connections waiting in the TLS port's accept queues (one listener per worker).
backlog_len() {
	ip netns exec "$NS_ORIGIN" ss -Hltn "sport = :$TLS_PORT" | awk '{ n += $2 } END { print n + 0 }'
}

# The limit itself, with one worker: a third client waits, unanswered — held by the listener
# that accepted it (one per worker) or in the kernel's backlog — and is served once one of the
# first two closes; conns_open never exceeds 2.
case_max_connections() {
	local q sampler i
	origin_start line
	srv_start --max-connections 2 --workers 1
	touch "$WORK/sampling"
	_sample_open &
	sampler=$!
	track "$sampler"
	live 1 -tls1_3
	live 2 -tls1_2
	wait_handshakes 2
	want_stat conns_open 2
	# The third one's TCP handshake completes in the kernel; ktund must not answer it.
	live 3 -tls1_3
	for ((i = 0; i < 100; i++)); do
		[ "$(established)" = 3 ] && break
		sleep 0.1
	done
	[ "$(established)" = 3 ] || fail "the third client did not connect (established: $(established))"
	sleep 1 # time enough for a wrongly served third handshake to show
	q=$(backlog_len)
	[ "$(nlines '\] handshake ')" = 2 ] || fail "a third handshake while 2 are open: $(last_line '\] handshake ')"
	[ "$(stat_of server conns_total)" = 2 ] || fail "conns_total $(stat_of server conns_total), want 2"
	[ ! -s "$WORK/out-3" ] || fail "the third client was served: $(cat "$WORK/out-3")"
	note "2 open, the third waiting ($([ "$q" = 1 ] && echo "in the accept queue" || echo "held by the listener")), no third handshake"
	# The first one ends; the third is accepted and served.
	send 1 one
	wait_out 1 one
	wait_exit 1
	wait_handshakes 3
	send 3 three
	wait_out 3 three
	wait_exit 3
	send 2 two
	wait_out 2 two
	wait_exit 2
	wait_n '\] close .*reason=done$' 3
	want_stat conns_open 0
	want_stat conns_total 3
	want_stat close.done 3
	rm -f "$WORK/sampling"
	wait "$sampler" || true
	[ "$(cat "$WORK/max-open")" = 2 ] || fail "conns_open peaked at $(cat "$WORK/max-open"), want 2"
	note "third served after the first closed; conns_open peaked at $(cat "$WORK/max-open")"
	srv_stop
}

# With two workers (two SO_REUSEPORT listeners), two clients must both be served, whichever
# listener the kernel hands each to. That choice is a hash of the client's port, so one round
# shows little: eight rounds of two clients each.
case_max_connections_workers() {
	local r
	origin_start line
	srv_start --max-connections 2 --workers 2
	for r in $(seq 8); do
		live 1 -tls1_3
		live 2 -tls1_3
		wait_handshakes $((2 * r))
		send 1 "one $r"
		send 2 "two $r"
		wait_out 1 "one $r"
		wait_out 2 "two $r"
		wait_exit 1
		wait_exit 2
		wait_n '\] close .*reason=done$' $((2 * r))
	done
	want_stat conns_open 0
	want_stat close.done 16
	note "8 rounds: both connections served each time"
	srv_stop
}

# --max-connections 1 with two workers: clients one after another are each served, whichever
# listener takes them (six, so that both listeners are all but sure to get some).
case_max_one_workers() {
	local r
	origin_start line
	srv_start --max-connections 1 --workers 2
	for r in $(seq 6); do
		live 1 -tls1_3
		wait_handshakes "$r"
		send 1 "one $r"
		wait_out 1 "one $r"
		wait_exit 1
		wait_n '\] close .*reason=done$' "$r"
	done
	want_stat close.done 6
	note "6 clients in turn, each served"
	srv_stop
}

# target_reset TOOL VERSION-ARGS...: through a server whose target refuses, the peer completes
# the handshake and then sees its connection reset, with no data. s_client sends a line (it
# says errno=104 whether its write or its read meets the reset); gnutls-cli sends nothing, its
# stdin an open, silent fifo: had it written after the reset arrived, the write would take
# the ECONNRESET and its read would then see a bare end of stream, hiding the reset.
target_reset() {
	local tool=$1 rc=0 fd
	shift
	if [ "$tool" = ossl ]; then
		ossl client "nobody home $RANDOM"$'\n' "$@" || rc=$?
	else
		[ -p "$WORK/silent" ] || mkfifo "$WORK/silent"
		exec {fd}<>"$WORK/silent"
		gtls client - "$@" <"$WORK/silent" || rc=$?
		exec {fd}>&-
	fi
	[ "$rc" != 0 ] || fail "$tool $*: exit 0, the failure was hidden"
	[ ! -s "$WORK/peer.out" ] || fail "$tool $*: received data: $(head -c 100 "$WORK/peer.out")"
	if [ "$tool" = ossl ]; then
		grep -q 'errno=104' "$WORK/peer.err" || fail "$tool $*: no reset: $(tail -n 2 "$WORK/peer.err")"
	else
		grep -q 'Error in the pull function' "$WORK/peer.err" ||
			fail "$tool $*: no reset: $(tail -n 2 "$WORK/peer.err")"
	fi
	n=$((n + 1))
	wait_n '\] close .*reason=target-unreachable detail="connect: ' "$n"
}

case_target_down() {
	local n=0
	srv_start # nothing listens on the target port
	target_reset ossl -tls1_3
	target_reset ossl -tls1_2
	target_reset gtls --priority "$GT13"
	target_reset gtls --priority "$GT12"
	[ "$(nlines '\] handshake ')" = 4 ] || fail "want 4 handshakes before the connects"
	[ "$(nlines '\] reject ')" = 0 ] || fail "target-unreachable is no rejection: $(last_line '\] reject ')"
	want_stat close.target-unreachable 4
	want_stat conns_open 0
	note "$(last_line '\] close ' | sed 's/.*\] //')"
	srv_stop
}

case_target_blackhole() {
	local n=0
	# A blackhole route fails the connect at once (EINVAL): unreachable, not a timeout.
	ip -n "$NS_ORIGIN" route replace blackhole 203.0.113.0/24
	SERVER_TARGET=203.0.113.1:$ORIGIN_PORT srv_start --unsafe-target
	target_reset ossl -tls1_3
	want_stat close.target-unreachable 1
	note "$(last_line '\] close ' | sed 's/.*\] //')"
	srv_stop
}

run_case "--handshake-timeout 1: a silent TCP client is closed, handshake-timeout" case_handshake_timeout
run_case "--idle-timeout 2: an idle s_client gets close_notify, idle-timeout" case_idle_timeout
run_case "--idle-timeout 2: a client talking every 0.3 s is not idle" case_not_idle
run_case "--connect-timeout 1: a target that drops SYNs, connect-timeout and a reset" case_connect_timeout
run_case "--max-connections 2: the third waits in the backlog, served after one closes" case_max_connections
run_case "--max-connections 2 --workers 2: two clients are both served, 8 rounds" case_max_connections_workers
run_case "--max-connections 1 --workers 2: six clients in turn are each served" case_max_one_workers
run_case "target down: TLS clients see a reset and no data, target-unreachable" case_target_down
run_case "target behind a blackhole route: reset, target-unreachable" case_target_blackhole
srv_finish
