#!/bin/bash
# bench/wan.sh — the half of `bench/run --wan` that runs inside the 6.12 guest (it has sch_netem;
# the host kernel may not). Not meant to be started by hand: bench/run --wan passes
#
#   KTUND KTUNCTL BENCHTOOL (paths)  WAN_OUT (results directory, shared with the host)
#   WAN_REQUESTS (timed connections per variant)  WAN_ROUNDS  WAN_BULK_SECS (iperf3 -t)
#   KTUN_BENCH_COMMIT, KTUN_BENCH_HOST_LOAD (recorded)
#   WAN_KTUND_B (optional: a second ktund, run as the variant ktund-poolb, a pool pair of its
#     own taking turns with the others: an A/B of two builds in one guest run; it adds poolb
#     to the default WAN_ONLY)
#   WAN_ONLY (optional: the variants to run, of tcp cold resumed pool poolb stunnel; default
#     all of them, poolb only with WAN_KTUND_B. The bulk runs follow it: tcp when tcp is
#     wanted, ktund through the cold pair when cold runs, stunnel when stunnel is wanted)
#   WAN_TRACE (optional, N > 0: after the rounds, N more pooled requests with tcpdump running in
#     the edge and origin namespaces, wan-edge.pcap and wan-origin.pcap in WAN_OUT: the timeline)
#
# Three network namespaces: edge (the app, ktund client, stunnel client), wan (a router) and
# origin (ktund server, stunnel server, benchtool echo, iperf3 -s):
#
#   edge 192.0.2.1 --- 192.0.2.254 wan 203.0.113.254 --- 203.0.113.1 origin
#                      netem 20 ms + 0.1 % loss on each of the router's two egress interfaces
#
# so every packet between edge and origin is delayed 20 ms each way (40 ms round trip) and
# 0.1 % are lost in each direction, while the daemons' own hosts have plain qdiscs.
#
# Time to first byte (benchtool ttfb: connect() -> first byte of the 64-byte echo, sequential
# new connections) for: tcp (the app straight to the origin across the link), ktund-cold
# (resumption off), ktund-resumed (resumption on: the second and later connections resume),
# ktund-pool (a warm pool of 4 on the client), stunnel-cached (stunnel4 with its default
# session cache). Each ktund variant is a daemon pair of its own, all started at once; the
# variants take turns in WAN_ROUNDS rounds (default 5, the order rotating), WAN_REQUESTS/rounds
# timed connections each per round after one that is not counted, GAP_MS apart for every
# variant alike: requests at a rate a warm pool sustains. Under TCG a refill's handshake costs
# the guest's one vCPU about 65 ms (on hardware about 3 ms), so back-to-back requests would
# measure the next request queued behind the last one's refill, not the pool. A variant whose ktund option
# is missing from this ktund (probed in `ktund --help`) is recorded as n/a with the reason.
# Then bulk throughput (iperf3 upload, one stream) through tcp, ktund (the cold pair), stunnel,
# each of them only if its variant runs.
# Records go to WAN_OUT/wan-raw.jsonl; bench/report.py wan turns them into tables and plots.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
: "${KTUND:?}" "${KTUNCTL:?}" "${BENCHTOOL:?}" "${WAN_OUT:?}"
N=${WAN_REQUESTS:-200}
BULK_SECS=${WAN_BULK_SECS:-5}
ONLY=${WAN_ONLY:-tcp cold resumed pool${WAN_KTUND_B:+ poolb} stunnel}
TRACE=${WAN_TRACE:-0}
POOL=4
GAP_MS=${WAN_GAP_MS:-250}
ROUNDS=${WAN_ROUNDS:-5}
DELAY_MS=20 LOSS=0.1%
RAW=$WAN_OUT/wan-raw.jsonl
: >"$RAW"

say() { printf '[wan %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { say "error: $*"; exit 1; }
json_rec() { printf '%s\n' "$1" >>"$RAW"; }

# shellcheck source=../tests/lib/netns.sh
. "$SRC/tests/lib/netns.sh"
W=$(mktemp -d "${TMPDIR:-/tmp}/ktun-wan.XXXXXX")
P=$W/pki
EDGE=192.0.2.1 ORIGIN=203.0.113.1

# ---------------------------------------------------------------- the link
netns_need_root
_netns_trap
on_exit 'rm -rf "$W"'
id=$$-$((RANDOM % 10000))
NS_EDGE=ktun-edge-$id NS_WAN=ktun-wan-$id NS_ORIGIN=ktun-origin-$id
for ns in "$NS_EDGE" "$NS_WAN" "$NS_ORIGIN"; do _netns_add "$ns"; done
_netns_link "$NS_EDGE" ve-wan "$EDGE" 2001:db8:1::1 "$NS_WAN" vw-edge 192.0.2.254 2001:db8:1::fe
_netns_link "$NS_ORIGIN" vo-wan "$ORIGIN" 2001:db8:3::1 "$NS_WAN" vw-origin 203.0.113.254 2001:db8:3::fe
ip -n "$NS_EDGE" route add default via 192.0.2.254
ip -n "$NS_ORIGIN" route add default via 203.0.113.254
ip netns exec "$NS_WAN" sysctl -qw net.ipv4.ip_forward=1
for ns in "$NS_EDGE" "$NS_ORIGIN"; do
	ip netns exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65000"
done
# One packet per skb on every interface of the path (gso_max_segs 1): netem drops whole skbs,
# and a 64 KiB TSO skb lost at once would make 0.1 % of skbs a far smaller share of packets
# lost in bursts (measured: 7 drops in 70k segments with TSO on).
for l in "$NS_EDGE ve-wan" "$NS_WAN vw-edge" "$NS_WAN vw-origin" "$NS_ORIGIN vo-wan"; do
	read -r ns dev <<<"$l"
	ip -n "$ns" link set dev "$dev" gso_max_segs 1 || die "ip link set $dev gso_max_segs 1 failed"
done
# limit: room for a bandwidth-delay product of queued packets, so that netem itself drops nothing
for dev in vw-edge vw-origin; do
	ip netns exec "$NS_WAN" tc qdisc add dev $dev root netem delay ${DELAY_MS}ms loss $LOSS limit 100000 ||
		die "tc netem on $dev failed (no sch_netem in this kernel?)"
done
in_edge() { ip netns exec "$NS_EDGE" "$@"; }
in_origin() { ip netns exec "$NS_ORIGIN" "$@"; }
netem_json() { # the router's qdisc counters: sent packets and drops per interface
	ip netns exec "$NS_WAN" tc -s qdisc show | awk '
		/^qdisc netem/ { dev = $5 }
		/Sent/ && dev { printf "%s\"%s\": {\"sent_pkts\": %s, \"dropped\": %s}", n++ ? ", " : "", dev, $4, substr($7, 1, length($7) - 1); dev = "" }'
}

wait_port() { # NS PORT
	local i
	for ((i = 0; i < 100; i++)); do
		ip netns exec "$1" ss -Htln "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	die "nothing listens on port $2 in $1"
}

"$SRC/tests/lib/pki.sh" "$P" >/dev/null 2>&1 || die "tests/lib/pki.sh failed"
in_origin "$BENCHTOOL" echo 7000 >"$W/echo.log" 2>&1 &
in_origin iperf3 -s -p 5201 >"$W/iperf3-s.log" 2>&1 &
wait_port "$NS_ORIGIN" 7000
wait_port "$NS_ORIGIN" 5201

# ---------------------------------------------------------------- ktund
# shellcheck source=wan-conf.sh
. "$SRC/bench/wan-conf.sh"

declare -A KC KS # variant -> the client's and the server's pid
SC_PID='' SS_PID=''
start_ktund() { # VARIANT
	local side ns pid i log bin
	for side in server client; do
		ktund_conf $side "$1" >"$W/ktund-$side-$1.conf"
		ns=$NS_ORIGIN
		[ $side = client ] && ns=$NS_EDGE
		log=$W/ktund-$side-$1.log
		bin=$KTUND
		[ "$1" = poolb ] && bin=$WAN_KTUND_B
		ip netns exec "$ns" "$bin" --config "$W/ktund-$side-$1.conf" 2>"$log" &
		pid=$!
		for ((i = 0; i < 300; i++)); do
			grep -qs 'ktund: notice: ready' "$log" && break
			kill -0 $pid 2>/dev/null || { tail "$log" >&2; die "ktund $side ($1) exited"; }
			sleep 0.1
		done
		if [ $side = client ]; then KC[$1]=$pid; else KS[$1]=$pid; fi
	done
	wait_port "$NS_EDGE" "710$(digit "$1")"
}

stunnel_conf() { # SIDE: the ttfb service on 8100 -> 9440, the bulk one on 8101 -> 9441
	local side=$1 d
	# info level: "previous session reused" lines count the resumptions
	printf 'foreground = yes\npid =\nsyslog = no\ndebug = info\noutput = %s\n' "$W/stunnel-$side.log"
	for d in 0 1; do
		printf '\n[s%s]\n' $d
		if [ "$side" = client ]; then
			printf 'client = yes\naccept = 127.0.0.1:810%s\nconnect = %s:944%s\n' $d "$ORIGIN" $d
			printf 'cert = %s\nkey = %s\ncheckHost = origin.test\nsni = origin.test\n' \
				"$P/client-chain.pem" "$P/client.key"
		else
			printf 'accept = %s:944%s\nconnect = 127.0.0.1:%s\n' "$ORIGIN" $d "$([ $d = 1 ] && echo 5201 || echo 7000)"
			printf 'cert = %s\nkey = %s\ncheckHost = edge.test\n' "$P/server-chain.pem" "$P/server.key"
		fi
		# The same protocol as the ktund pair; the session cache and tickets stay at
		# stunnel's defaults (on): this is stunnel as deployed.
		printf 'CAfile = %s\nverifyChain = yes\nsslVersionMin = TLSv1.3\nsslVersionMax = TLSv1.3\n' "$P/ca.pem"
		printf 'ciphersuites = TLS_AES_128_GCM_SHA256\ncurves = X25519\n'
	done
}

start_stunnel() {
	local side
	for side in server client; do
		stunnel_conf $side >"$W/stunnel-$side.conf"
		# ip netns exec execs stunnel4 itself: $! is its pid (CPU figures read it)
		if [ $side = client ]; then
			ip netns exec "$NS_EDGE" stunnel4 "$W/stunnel-$side.conf" >>"$W/stunnel-$side.out" 2>&1 &
			SC_PID=$!
		else
			ip netns exec "$NS_ORIGIN" stunnel4 "$W/stunnel-$side.conf" >>"$W/stunnel-$side.out" 2>&1 &
			SS_PID=$!
		fi
	done
	wait_port "$NS_ORIGIN" 9440
	wait_port "$NS_EDGE" 8100
}

stop_pid() { # PID: TERM, wait up to 10 s, then KILL
	local i
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do
		kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null || true; return 0; }
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
stop_daemons() {
	local v
	for v in "${!KC[@]}"; do stop_pid "${KC[$v]}"; stop_pid "${KS[$v]}"; done
	stop_pid "$SC_PID"
	stop_pid "$SS_PID"
	KC=() KS=() SC_PID='' SS_PID=''
}
on_exit stop_daemons

CLK_TCK=$(getconf CLK_TCK)
cpu_s() { # PID -> utime+stime in seconds
	local s
	s=$(<"/proc/$1/stat")
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	awk -v t=$((${12} + ${13})) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }'
}
pids_of() { # VARIANT -> "CLIENT_PID SERVER_PID" (empty for tcp)
	case $1 in
	ktund-*) echo "${KC[${1#ktund-}]} ${KS[${1#ktund-}]}" ;;
	stunnel-cached) echo "$SC_PID $SS_PID" ;;
	esac
}
cpu_pair() { # VARIANT -> [client s, server s] or null
	local p
	read -r -a p <<<"$(pids_of "$1")"
	[ ${#p[@]} = 2 ] && printf '[%s, %s]' "$(cpu_s "${p[0]}")" "$(cpu_s "${p[1]}")" || echo null
}
entry() { # VARIANT -> "HOST PORT" where the app connects
	case $1 in
	tcp) echo "$ORIGIN 7000" ;;
	stunnel-cached) echo "127.0.0.1 8100" ;;
	ktund-*) echo "127.0.0.1 710$(digit "${1#ktund-}")" ;;
	esac
}

# The pool client's ktunctl status lines about its pool (whatever ktund calls them), as JSON.
pool_status() { # [VARIANT (pool)]
	"$KTUNCTL" --control "$W/ktund-client-${1:-pool}.sock" status 2>/dev/null |
		awk 'tolower($1) ~ /pool/ { printf "%s\"%s\": %s", n++ ? ", " : "", $1, $2 }'
}

# Kernel TLS transmit sessions set up so far in the origin namespace (0 without kTLS).
tls_tx_sw() { in_origin awk '$1 == "TlsTxSw" { n = $2 } END { print n + 0 }' /proc/net/tls_stat 2>/dev/null || echo 0; }

# Waits until the pool client reports POOL connections ready (up to 20 s) when its status has
# such a counter; else gives its refills 3 s. Its handshakes must not run into another
# variant's turn (one vCPU).
wait_pool() { # [VARIANT (pool)]
	local i
	for ((i = 0; i < 200; i++)); do
		pool_status "${1:-pool}" | grep -Eq "\"[^\"]*(size|ready|idle)[^\"]*\": $POOL\b" && return 0
		[ $i = 10 ] && ! pool_status "${1:-pool}" | grep -Eq '(size|ready|idle)' && { sleep 3; return 0; }
		sleep 0.1
	done
	say "note: the pool client has not reported $POOL ready connections after 20 s"
}

# ---------------------------------------------------------------- measurements
# ttfb ROUND VARIANT COUNT: COUNT timed connections (one more first, not counted).
ttfb() {
	local r=$1 v=$2 n=$3 res rc=0 c0 c1 tls0
	c0=$(cpu_pair "$v")
	tls0=$(tls_tx_sw)
	# shellcheck disable=SC2046
	res=$(in_edge "$BENCHTOOL" ttfb $(entry "$v") "$n" 1 64 "$GAP_MS") || rc=$?
	c1=$(cpu_pair "$v")
	[ -n "$res" ] || die "benchtool ttfb through $v printed nothing (exit $rc)"
	[ $rc = 0 ] || say "warning: $v: $(python3 -c 'import json,sys; print(json.load(sys.stdin).get("first_error"))' <<<"$res")"
	json_rec "$(printf '{"test": "ttfb", "round": %d, "config": "%s", "exit": %d, "result": %s, "cpu_s_before": %s, "cpu_s_after": %s, "ktls_tx_sessions": %d}' \
		"$r" "$v" "$rc" "$res" "$c0" "$c1" $(($(tls_tx_sw) - tls0)))"
	say "round $r $v: $(python3 -c 'import json,sys; j=json.load(sys.stdin); print("p50 %s us, p99 %s us, %d errors" % (j.get("p50_us"), j.get("p99_us"), j["errors"]))' <<<"$res")"
	# the last close, the pool's refills: done before the next variant's turn
	if [[ $v == ktund-pool* ]]; then wait_pool "${v#ktund-}"; else sleep 0.5; fi
}

# counts VARIANT: handshakes and resumptions over the whole run, from the daemons' logs.
counts() {
	local v=$1 log
	case $v in
	ktund-*)
		log=$W/ktund-server-${v#ktund-}.log
		json_rec "$(printf '{"test": "ttfb_counts", "config": "%s", "handshakes": %d, "resumed": %d, "pool": {%s}}' "$v" \
			"$(grep -c '\] handshake ' "$log" || true)" "$(grep -c '\] handshake .*resumed=yes' "$log" || true)" \
			"$([[ $v == ktund-pool* ]] && pool_status "${v#ktund-}")")"
		;;
	stunnel-cached)
		json_rec "$(printf '{"test": "ttfb_counts", "config": "%s", "handshakes": %d, "resumed": %d}' "$v" \
			"$(grep -c 'TLS connected: ' "$W/stunnel-client.log" || true)" \
			"$(grep -c 'previous session reused' "$W/stunnel-client.log" || true)")"
		;;
	esac
}

bulk() { # CONFIG
	local v=$1 port res rc=0
	case $v in
	tcp) port="$ORIGIN -p 5201" ;;
	stunnel) port="127.0.0.1 -p 8101" ;;
	ktund) port="127.0.0.1 -p 7109" ;;
	esac
	# shellcheck disable=SC2086
	res=$(in_edge iperf3 -c $port -t "$BULK_SECS" -P 1 -J) || rc=$?
	if [ $rc = 0 ]; then
		res=$(python3 -c 'import json,sys; e=json.load(sys.stdin)["end"]; s=e["sum_received"]; print(json.dumps({"bytes": s["bytes"], "bps": s["bits_per_second"], "secs": s["seconds"], "retransmits": e["sum_sent"].get("retransmits")}))' <<<"$res")
		json_rec "{\"test\": \"bulk\", \"config\": \"$v\", \"result\": $res}"
		say "bulk $v: $(python3 -c 'import json,sys; j=json.load(sys.stdin); print("%.1f Mbit/s, %s retransmits" % (j["bps"] / 1e6, j["retransmits"]))' <<<"$res")"
	else
		json_rec "{\"test\": \"bulk\", \"config\": \"$v\", \"failed\": \"iperf3 exit $rc\"}"
		say "warning: iperf3 through $v failed (exit $rc)"
	fi
	sleep 0.5
}

grep -q TlsCurrTxSw /proc/net/tls_stat 2>/dev/null || say "note: this kernel has no kernel TLS: ktund runs on userspace TLS"
plan_variants
json_rec "$(printf '{"test": "wan", "kernel": "%s", "vcpus": %d, "delay_ms_each_way": %d, "loss_each_way": "%s", "requests": %d, "rounds": %d, "pool": %d, "bulk_secs": %d, "ktund_version": "%s", "ktun_commit": "%s", "stunnel": "%s", "host_load": "%s"}' \
	"$(uname -r)" "$(nproc)" $DELAY_MS "$LOSS" "$N" "$ROUNDS" $POOL "$BULK_SECS" "$("$KTUND" --version 2>&1 | head -1)" \
	"${KTUN_BENCH_COMMIT:-}" "$(stunnel4 -version 2>&1 | grep -m1 '^stunnel' || true)" "${KTUN_BENCH_HOST_LOAD:-}")"

# Every variant's daemons up at once; those ktund cannot run recorded as n/a with the reason.
wanted() { [[ " $ONLY " == *" $1 "* ]]; }
VARIANTS=()
wanted tcp && VARIANTS+=(tcp)
for k in cold resumed pool poolb; do
	wanted $k || continue
	[ $k = poolb ] && [ -z "${WAN_KTUND_B:-}" ] && continue
	why=
	for x in "${NA[@]}"; do [ "${x%%:*}" = $k ] && why=${x#*:}; done
	if [ -n "$why" ]; then
		json_rec "{\"test\": \"ttfb\", \"config\": \"ktund-$k\", \"na\": \"$why\"}"
		say "ktund-$k: n/a ($why)"
		continue
	fi
	start_ktund $k
	VARIANTS+=("ktund-$k")
done
if wanted stunnel; then
	start_stunnel
	VARIANTS+=(stunnel-cached)
fi
[ -n "${KC[pool]:-}" ] && wait_pool
[ -n "${KC[poolb]:-}" ] && wait_pool poolb

# The variants take turns, the order rotating each round, so that a change in the host's load
# (the guest's vCPU is a host thread) falls on all of them alike.
json_rec "{\"test\": \"netem_before\", \"qdisc\": {$(netem_json)}}"
per=$(((N + ROUNDS - 1) / ROUNDS))
nv=${#VARIANTS[@]}
for ((r = 1; r <= ROUNDS; r++)); do
	k=$(((r - 1) % nv))
	for v in "${VARIANTS[@]:$k}" "${VARIANTS[@]:0:$k}"; do ttfb "$r" "$v" "$per"; done
done
for v in "${VARIANTS[@]}"; do counts "$v"; done
wanted tcp && bulk tcp
[ -n "${KC[cold]:-}" ] && bulk ktund
wanted stunnel && bulk stunnel
# The timeline of a few pooled requests: packets on both ends, every interface (lo too).
if [ "$TRACE" -gt 0 ] && [ -n "${KC[pool]:-}" ]; then
	command -v tcpdump >/dev/null || die "WAN_TRACE needs tcpdump"
	in_edge tcpdump -i any -n -s 200 -w "$WAN_OUT/wan-edge.pcap" 2>/dev/null &
	td1=$!
	in_origin tcpdump -i any -n -s 200 -w "$WAN_OUT/wan-origin.pcap" 2>/dev/null &
	td2=$!
	sleep 2
	# shellcheck disable=SC2046
	in_edge "$BENCHTOOL" ttfb $(entry ktund-pool) "$TRACE" 1 64 "$GAP_MS" >"$WAN_OUT/wan-trace.json" || true
	sleep 1
	kill -TERM $td1 $td2 # background jobs ignore SIGINT
	wait $td1 $td2 || true
	cp "$W"/ktund-*-pool.log "$WAN_OUT/" 2>/dev/null || true
fi
json_rec "{\"test\": \"netem_after\", \"qdisc\": {$(netem_json)}}"
cp "$W"/ktund-*.conf "$W"/stunnel-*.conf "$WAN_OUT/" 2>/dev/null || true
say "done"
