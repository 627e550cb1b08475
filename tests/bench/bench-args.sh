#!/bin/bash
# bench-args: the benchmark's command lines refuse what they would otherwise ignore or take
# for something else, before measuring anything.
#   icount-without-vm  bench/run --icount without --vm: exit 2, "--icount needs --vm" (the
#                      setting is the guest's clock; without a guest it was silently ignored)
#   relay-mode         KTUN_BENCH_RELAY (the userspace floor's relays) other than epoll or
#                      threads: exit 2 with the reason, before the root check
#   floor-mode-exact   benchtool ktls-floor MODE: a send mode that only starts with vmsplice or
#                      copy (vmsplicex+zc, copyx), or an unknown receive mode, is "unknown";
#                      the documented modes get past the parsing (they may then fail for want
#                      of kernel TLS on this host, but never as an unknown mode)
set -euo pipefail
# shellcheck source=../lib/result.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/result.sh"
[ -x "${BENCHTOOL:-}" ] || fail "BENCHTOOL is not set to the built benchtool"
[ "$(id -u)" = 0 ] || skip "needs root (to run bench/run as nobody)"
need_cmd setpriv
W=$(mktemp -d "${TMPDIR:-/tmp}/bench-args.XXXXXX")
trap 'rm -rf "$W"' EXIT

# As nobody: bench/run stops at its root check if it ever took --icount alone again, rather
# than starting a benchmark (namespaces, builds) on the test machine.
rc=0
setpriv --reuid=nobody --regid=nogroup --clear-groups \
	bash "$KTUN_SRCDIR/bench/run" --icount --quick >"$W/out" 2>"$W/err" || rc=$?
if [ $rc = 2 ] && grep -q -- '--icount needs --vm' "$W/err"; then
	ok "icount-without-vm: exit 2, $(head -n 1 "$W/err")"
else
	not_ok "icount-without-vm: exit $rc, want 2 with '--icount needs --vm': $(head -n 3 "$W/err")"
fi

rc=0
KTUN_BENCH_RELAY=fork setpriv --reuid=nobody --regid=nogroup --clear-groups \
	bash "$KTUN_SRCDIR/bench/run" --quick --only tput >"$W/out" 2>"$W/err" || rc=$?
if [ $rc = 2 ] && grep -q 'KTUN_BENCH_RELAY is epoll or threads, not fork' "$W/err"; then
	ok "relay-mode: an unknown KTUN_BENCH_RELAY: exit 2, $(head -n 1 "$W/err")"
else
	not_ok "relay-mode: KTUN_BENCH_RELAY=fork: exit $rc, want 2 with the reason: $(head -n 3 "$W/err")"
fi

for m in vmsplicex+zc copyx vmsplice+zcx copy+ vmsplic; do
	rc=0
	timeout 20 "$BENCHTOOL" ktls-floor 4096 1 "$m" >/dev/null 2>"$W/err" || rc=$?
	if [ $rc != 0 ] && grep -q 'unknown \(receive \)\{0,1\}mode' "$W/err"; then
		ok "floor-mode-exact: $m refused: $(head -n 1 "$W/err")"
	else
		not_ok "floor-mode-exact: $m not refused as unknown (exit $rc): $(head -n 3 "$W/err")"
	fi
done
for m in vmsplice copy vmsplice+zc vmsplice+copy vmsplice+splice copy+zc copy+splice; do
	rc=0
	timeout 20 "$BENCHTOOL" ktls-floor 4096 1 "$m" >/dev/null 2>"$W/err" || rc=$?
	if grep -q 'unknown' "$W/err"; then
		not_ok "floor-mode-exact: $m refused: $(head -n 1 "$W/err")"
	else
		ok "floor-mode-exact: $m parsed (exit $rc${rc:+: $(head -c 80 "$W/err" | tr '\n' ' ')})"
	fi
done
finish
