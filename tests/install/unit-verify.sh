#!/bin/bash
# unit-verify: systemd-analyze verify accepts the generated ktund.service, with the redirector
# drop-in, and ktund.socket, the service's ExecStart pointed at the built ktund and their
# Documentation= man pages found in the built ones (when there are; else --man=no).
#   unit-verify.sh UNIT DROP-IN SOCKET-UNIT INSTALLED-KTUND [MAN-PAGE...]
# INSTALLED-KTUND is the path the unit runs (prefix/sbindir/ktund); $KTUND is the built one.
set -euo pipefail
# shellcheck source=../lib/result.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/result.sh"
unit=${1:?usage: unit-verify.sh UNIT DROP-IN SOCKET-UNIT INSTALLED-KTUND [MAN-PAGE...]}
dropin=$2 socket=$3 installed=$4
shift 4
if ! command -v systemd-analyze >/dev/null; then
	skip "systemd-analyze is not installed (Debian package systemd)"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! grep -q "^ExecStart=$installed " "$unit"; then
	grep '^Exec' "$unit" >&2
	fail "the generated unit does not run $installed (its Exec lines above)"
fi
mkdir -p "$work/ktund.service.d" "$work/man/man5" "$work/man/man8"
sed "s|$installed|$KTUND|g" "$unit" >"$work/ktund.service"
cp "$dropin" "$work/ktund.service.d/redirect.conf"
cp "$socket" "$work/ktund.socket"
man=no
for page in "$@"; do
	cp "$page" "$work/man/man${page##*.}/"
	man=yes
done
[ "$man" = yes ] || note "no man pages built; not checking Documentation="

rc=0
out=$(cd "$work" && MANPATH="$work/man" systemd-analyze verify --man="$man" ./ktund.service ./ktund.socket 2>&1) ||
	rc=$?
echo "$out"
# Other units it loads (network-online.target...) may draw warnings of their own on some hosts;
# anything about ours fails.
if [ "$rc" != 0 ] || grep -qE 'ktund\.(service|socket)|redirect\.conf' <<<"$out"; then
	fail "systemd-analyze verify (exit $rc) complains about ktund.service or ktund.socket"
fi
pass "ktund.service with the redirector drop-in, and ktund.socket, verify"
