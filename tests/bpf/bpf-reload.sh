#!/bin/bash
# bpf-reload: with --config, a reload applies the file's redirect lines. ktund client starts
# from a file that steers 192.0.2.0/24:80; an IPv6 rule is added with ktunctl. The file is
# rewritten to steer port 81 instead, and reloaded (SIGHUP): port 80 goes direct, port 81 is
# tunnelled, and the ktunctl rule stays. A line the file drops that ktunctl had already
# deleted is no error; a line of the file that ktunctl deleted comes back, as at a start. A
# file with a bad redirect line is refused (ktunctl reload fails) and the rules stay;
# `ktunctl reload` with a good one applies it.
set -euo pipefail
. "$(dirname "$0")/bpflib.sh"
bpf_init
start_far
read -ra EXTRA <<<"${KTUN_BPF_KTUND_ARGS:-}"

# write_conf RULE...: the gateway's file, replaced atomically, with these redirect lines.
write_conf() {
	{
		printf '[global]\ncontrol = %s\nbpf-cgroup = %s\nbpf-pin-dir = %s\n\n' \
			"$WORK/client.sock" "$CG" "$PIN"
		printf '[client]\nmode = client\nlisten = 127.0.0.1:%s\ntarget = %s:%s\n' \
			"$EDGE_PORT" "$ORIGIN_IP" "$TLS_PORT"
		printf 'server-name = origin.test\ncert = %s\nkey = %s\ncacert = %s\n' \
			"$PKI/client-chain.pem" "$PKI/client.key" "$PKI/ca.pem"
		[ -n "${KTUN_BPF_EXPECT_KTLS:-}" ] && echo "ktls = required"
		local r
		for r; do echo "redirect = $r"; done
	} >"$WORK/client.conf.new"
	mv "$WORK/client.conf.new" "$WORK/client.conf"
}

# want_rules LIST WHY: `ktunctl redirect list` is exactly LIST.
want_rules() {
	local got
	got=$(ctl client redirect list)
	[ "$got" = "$1" ] || fail "$2: redirect list is '$got', want '$1'"
}

# hup_and_wait N: SIGHUP, then wait for the Nth "reload ok" line.
hup_and_wait() {
	kill -HUP "$CLIENT_PID"
	for ((i = 0; i < 50; i++)); do
		[ "$(grep -c 'reload ok' "$CLIENT_LOG")" -ge "$1" ] && return 0
		sleep 0.1
	done
	fail "no reload ok line after SIGHUP: $(tail -n 5 "$CLIENT_LOG")"
}

write_conf 192.0.2.0/24:80
CLIENT_LOG=$WORK/client-conf.log
bash -c "$_IN_CG" "$CG" "$NS_EDGE" "$KTUND" --config "$WORK/client.conf" "${EXTRA[@]}" 2>"$CLIENT_LOG" &
CLIENT_PID=$!
_wait_ready "$CLIENT_PID" "$CLIENT_LOG" client
want_rules "client 192.0.2.0/24:80" "at start"
expect_peer "http://$ORIGIN_IP/" "$TUNNELLED" "rule from the file: tunnelled"
expect_peer "http://$ORIGIN_IP:81/" "$EDGE_IP" "port 81, no rule yet: direct"
ctl client redirect add client "[2001:db8:1::/64]:80" >/dev/null || fail "redirect add (IPv6) failed"

write_conf 192.0.2.0/24:81
hup_and_wait 1
grep -q 'redirect: reload added 1 rule(s) and removed 1; 2 in force' "$CLIENT_LOG" ||
	fail "no reload line for the rules: $(grep redirect "$CLIENT_LOG")"
want_rules "client 192.0.2.0/24:81
client [2001:db8:1::/64]:80" "after the reload"
expect_peer "http://$ORIGIN_IP/" "$EDGE_IP" "port 80, its line gone: direct"
expect_peer "http://$ORIGIN_IP:81/" "$TUNNELLED" "port 81, its line added: tunnelled"
expect_peer "http://[$ORIGIN_IP6]/" "$TUNNELLED" "the ktunctl rule stays: tunnelled"

# The file drops 81 after ktunctl deleted it, and adds 80 again.
ctl client redirect del client 192.0.2.0/24:81 >/dev/null || fail "redirect del failed"
write_conf 192.0.2.0/24:80
hup_and_wait 2
want_rules "client 192.0.2.0/24:80
client [2001:db8:1::/64]:80" "after a reload that drops a rule ktunctl deleted"

# After a reload the file's lines are in force, as after a start: one ktunctl deleted is back,
# though the file did not change.
ctl client redirect del client 192.0.2.0/24:80 >/dev/null || fail "redirect del failed"
hup_and_wait 3
want_rules "client 192.0.2.0/24:80
client [2001:db8:1::/64]:80" "after a reload of the same file"

# A bad line: the whole reload is refused and the rules stay.
write_conf 192.0.2.1/24:81
out=$(ctl client reload 2>&1) && fail "ktunctl reload accepted a bad redirect line: $out"
grep -q 'bits set past' <<<"$out$(tail -n 3 "$CLIENT_LOG")" || fail "the refusal does not say why: $out"
ok "bad redirect line refused: $out"
want_rules "client 192.0.2.0/24:80
client [2001:db8:1::/64]:80" "after a refused reload"
expect_peer "http://$ORIGIN_IP/" "$TUNNELLED" "refused reload: port 80 still tunnelled"

# ktunctl reload with a good file applies it like SIGHUP; no lines left: only ktunctl's rule.
write_conf
out=$(ctl client reload 2>&1) || fail "ktunctl reload failed: $out"
want_rules "client [2001:db8:1::/64]:80" "after ktunctl reload of a file without lines"
expect_peer "http://$ORIGIN_IP/" "$EDGE_IP" "all lines gone: direct"
stop_daemon "$CLIENT_PID" client
CLIENT_PID=
stop_pair
pass "a reload applies the file's redirect lines for new connections; ktunctl's rules stay; a bad file changes nothing"
