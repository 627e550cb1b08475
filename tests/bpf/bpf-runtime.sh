#!/bin/bash
# bpf-runtime: rules changed with ktunctl take effect for new connections. ktund client starts
# with the redirector on but no rule: the origin is reached direct. `ktunctl redirect add`
# steers new connects into the tunnel, `redirect list` shows the rule, `redirect del` sends
# them direct again. A rule added at run time lives in the pinned maps: a restarted ktund
# (same bpf-pin-dir, no rule in its configuration) still has it and steers with it. Bad
# requests (overlong words too) are refused with a reason and exit status 1. The first ktund
# runs as nobody (user=): rules change through the map descriptors it kept from before the
# privilege drop.
set -euo pipefail
. "$(dirname "$0")/bpflib.sh"
bpf_init

start_far
for_nobody
start_gw --user nobody
wait_stat client redirect_local attached 1 || fail "connect hooks not attached: $(ctl client status | grep redirect)"
[ -z "$(ctl client redirect list)" ] || fail "rules at start: $(ctl client redirect list)"
expect_peer "http://$ORIGIN_IP/" "$EDGE_IP" "no rule yet: direct"

out=$(ctl client redirect add client 192.0.2.0/24:80-80) || fail "redirect add failed: $out"
[ "$out" = "added client 192.0.2.0/24:80" ] || fail "redirect add said: $out"
out=$(ctl client redirect add client "[2001:db8:1::/64]:79-80") || fail "redirect add (IPv6) failed: $out"
# Listed in the order they are tried: IPv4, then IPv6, most specific first.
list=$(ctl client redirect list)
[ "$list" = "client 192.0.2.0/24:80
client [2001:db8:1::/64]:79-80" ] || fail "redirect list: $list"
expect_peer "http://$ORIGIN_IP/" "$TUNNELLED" "rule added: tunnelled"
expect_peer "http://[$ORIGIN_IP6]/" "$TUNNELLED" "IPv6 rule added: tunnelled"
expect_peer "http://$ORIGIN_IP:81/" "$EDGE_IP" "other port: direct"
[ "$(stat_of client redirect_rules)" = 2 ] || fail "redirect_rules is not 2"

# A more specific rule wins, whatever order rules came in: the /32 is tried first.
ctl client redirect add client "$ORIGIN_IP:81" >/dev/null || fail "redirect add /32 failed"
[ "$(ctl client redirect list | head -1)" = "client $ORIGIN_IP/32:81" ] ||
	fail "the /32 rule is not first: $(ctl client redirect list)"
expect_peer "http://$ORIGIN_IP:81/" "$TUNNELLED" "/32 rule on port 81: tunnelled (the far side's target is port 80)"

ctl client redirect del client "$ORIGIN_IP/32:81" >/dev/null || fail "redirect del /32 failed"
out=$(ctl client redirect del client 192.0.2.0/24:80) || fail "redirect del failed: $out"
[ "$out" = "removed client 192.0.2.0/24:80" ] || fail "redirect del said: $out"
expect_peer "http://$ORIGIN_IP/" "$EDGE_IP" "rule removed: direct"
expect_peer "http://[$ORIGIN_IP6]/" "$TUNNELLED" "the other rule stays"

# Refusals: each says why and exits 1; nothing changes.
refuse() { # why, ktunctl args..., expected text
	local why=$1 want=${*: -1} out rc=0
	out=$(ctl client "${@:2:$#-2}" 2>&1) || rc=$?
	[ "$rc" = 1 ] || fail "$why: exit status $rc (want 1): $out"
	grep -qF -- "$want" <<<"$out" || fail "$why: '$out' does not say '$want'"
	ok "refused ($why): $out"
}
refuse "unknown tunnel" redirect add nosuch 192.0.2.0/24:80 "no tunnel [nosuch]"
refuse "bad rule" redirect add client 192.0.2.0/33:80 "expected A.B.C.D[/N]:PORT"
refuse "bad ports" redirect add client 192.0.2.0/24:90-80 "ports must be"
refuse "duplicate" redirect add client "[2001:db8:1::/64]:79-80" "already goes to [client]"
refuse "not there" redirect del client 192.0.2.0/24:80 "has no rule 192.0.2.0/24:80"
# Words longer than a tunnel name or a rule are refused as such, not cut into two words.
refuse "long tunnel name" redirect add "$(printf 'c%.0s' {1..63})x" 192.0.2.0/24:80 \
	"a tunnel name is at most 63 characters"
refuse "long rule" redirect add client "192.0.2.0/24:$(printf '0%.0s' {1..70})80" \
	"a rule is at most 79 characters"
out=$(ctl client redirect frob 2>&1) && fail "ktunctl accepted 'redirect frob': $out"
[ "$(ctl client redirect list)" = "client [2001:db8:1::/64]:79-80" ] || fail "refusals changed the rules"

# Restart: the rule added at run time survives in the pins.
ctl client redirect add client 192.0.2.0/24:80 >/dev/null
stop_daemon "$CLIENT_PID" client
CLIENT_PID=
no_bpf_left
[ -e "$PIN/ktun_rules" ] || fail "no pinned rule map at $PIN after exit"
expect_peer "http://$ORIGIN_IP/" "$EDGE_IP" "ktund stopped: direct (nothing attached)"
start_gw
wait_log "$CLIENT_LOG" 'redirect: 2 rule\(s\) kept from the pinned maps' 5 ||
	fail "restarted ktund did not take the pinned rules"
[ "$(ctl client redirect list | wc -l)" = 2 ] || fail "after restart: $(ctl client redirect list)"
expect_peer "http://$ORIGIN_IP/" "$TUNNELLED" "after restart, pinned rule: tunnelled"
stop_pair
pass "rules added and removed at run time steer new connections; pinned rules survive a restart"
