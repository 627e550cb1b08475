# shellcheck shell=bash
# bench/wan-conf.sh — the ktund side of bench/wan.sh: which variants this ktund can run and
# their configurations. Sourced; needs KTUND, W (a scratch directory), P (tests/lib/pki.sh's
# output), ORIGIN (the server's address) and POOL. tests/bench/bench-wan-conf checks it against
# the built ktund and against stand-ins for one with --resumption and --pool.
#
#   plan_variants         fills NA ("variant:why" for each of resumed, pool that cannot run)
#                         and EXTRA[VARIANT-SIDE-tunnel|global] (the option line it adds)
#   ktund_conf SIDE VARIANT   prints the configuration of that end of the variant's pair

# What this ktund offers: the options of issue 14 may not exist yet (other branches).
HELP=
has_opt() { grep -q -- "--$1\b" <<<"$HELP"; }

# where SIDE KEY VALUE VARIANT -> "tunnel" or "global": which section of the VARIANT's ktund
# config takes KEY (ktund --check decides); empty when neither does.
where() {
	local side=$1 kv="$2 = $3" v=$4 f=$W/probe.conf sec
	for sec in tunnel global; do
		{
			printf '[global]\ncontrol = %s/probe.sock\n' "$W"
			if [ $sec = global ]; then printf '%s\n' "$kv"; fi
			tunnel_conf "$side" probe 0 "$v"
			if [ $sec = tunnel ]; then printf '%s\n' "$kv"; fi
		} >"$f"
		"$KTUND" --config "$f" --check >/dev/null 2>&1 && { echo $sec; return 0; }
	done
	echo ""
}

# Each ktund variant is a pair of its own, all running at once, so that the variants can take
# turns round by round. Ports: client 127.0.0.1:710D -> server 203.0.113.1:844D, D the
# variant's digit for its ttfb tunnel, 9 for the bulk tunnel (cold pair only).
digit() { case $1 in cold) echo 0 ;; resumed) echo 1 ;; pool) echo 2 ;; poolb) echo 3 ;; esac; }

# tunnel_conf SIDE NAME DIGIT VARIANT: one tunnel section.
tunnel_conf() {
	local side=$1 name=$2 d=$3 variant=$4
	if [ "$side" = client ]; then
		printf '\n[%s]\nmode = client\nlisten = 127.0.0.1:710%s\ntarget = %s:844%s\n' "$name" "$d" "$ORIGIN" "$d"
		printf 'server-name = origin.test\ncert = %s\nkey = %s\n' "$P/client-chain.pem" "$P/client.key"
		if [[ $variant == pool* ]] && [ "$d" != 9 ]; then
			printf 'destination = 127.0.0.1:7000\n'
		fi
	else
		printf '\n[%s]\nmode = server\nlisten = %s:844%s\nallow-ou = edge\n' "$name" "$ORIGIN" "$d"
		printf 'cert = %s\nkey = %s\n' "$P/server-chain.pem" "$P/server.key"
		if [[ $variant == pool* ]] && [ "$d" != 9 ]; then
			printf 'target = from-client\nallow-destination = 127.0.0.1:7000\n'
		else
			printf 'target = 127.0.0.1:%s\n' "$([ "$d" = 9 ] && echo 5201 || echo 7000)"
		fi
	fi
	printf 'cacert = %s\n' "$P/ca.pem"
}

# The option lines a variant adds, per side and section (filled in by plan_variants).
declare -A EXTRA
NA=() # variant -> why it cannot run, as "variant:why" entries
plan_variants() {
	local side w
	HELP=$("$KTUND" --help 2>&1 || true)
	NA=()
	for side in client server; do
		for w in tunnel global; do
			EXTRA[cold-$side-$w]= EXTRA[resumed-$side-$w]= EXTRA[pool-$side-$w]= EXTRA[poolb-$side-$w]=
		done
	done
	if has_opt resumption; then
		for side in client server; do
			w=$(where $side resumption no cold)
			[ -n "$w" ] && EXTRA[cold-$side-$w]="resumption = no" EXTRA[resumed-$side-$w]="resumption = yes"
		done
		[ -n "${EXTRA[cold-server-tunnel]}${EXTRA[cold-server-global]}" ] ||
			NA+=("resumed:ktund --help lists --resumption but no config section takes resumption = no")
	else
		NA+=("resumed:ktund has no --resumption")
	fi
	if has_opt pool; then
		w=$(where client pool $POOL pool)
		if [ -n "$w" ]; then
			EXTRA[pool-client-$w]="pool = $POOL" EXTRA[poolb-client-$w]="pool = $POOL"
		else
			NA+=("pool:ktund --help lists --pool but no config section takes pool = $POOL")
		fi
	else
		NA+=("pool:ktund has no --pool")
	fi
}

ktund_conf() { # SIDE VARIANT
	local side=$1 v=$2
	printf '[global]\ncontrol = %s/ktund-%s-%s.sock\ndrain-timeout = 2\n' "$W" "$side" "$v"
	[ -n "${EXTRA[$v-$side-global]}" ] && printf '%s\n' "${EXTRA[$v-$side-global]}"
	tunnel_conf "$side" ttfb "$(digit "$v")" "$v"
	[ -n "${EXTRA[$v-$side-tunnel]}" ] && printf '%s\n' "${EXTRA[$v-$side-tunnel]}"
	if [ "$v" = cold ]; then
		tunnel_conf "$side" bulk 9 "$v"
		[ -n "${EXTRA[$v-$side-tunnel]}" ] && printf '%s\n' "${EXTRA[$v-$side-tunnel]}"
	fi
	return 0
}
