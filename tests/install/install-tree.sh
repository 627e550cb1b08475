#!/bin/bash
# install-tree: `meson install` of the build under test into a temporary DESTDIR puts
# everything where the README's Install section says: ktund and ktunctl, the man pages, the
# unit (running the installed ktund) and its socket unit, modules-load.d and sysusers.d entries, and the
# documentation (every docs/*.md) with the example configuration and the redirector drop-in;
# ktund(8) names the unit directory; ktunctl's default control socket is the installed unit's.
# The paths come from meson (tests/install/meson.build), absolute, as installed.
set -euo pipefail
# shellcheck source=../lib/result.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/result.sh"
: "${MESON:?}" "${KTUN_BUILDDIR:?}" "${KTUN_SRCDIR:?}"
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

# --no-rebuild: meson test has built everything, and must not race a ninja of its own.
"$MESON" install -C "$KTUN_BUILDDIR" --destdir "$dest" --no-rebuild --quiet

expect() { # expect PATH [SOURCE]: installed, and a copy of SOURCE if given
	if [ ! -f "$dest$1" ]; then
		not_ok "not installed: $1"
	elif [ $# -gt 1 ] && ! cmp -s "$dest$1" "$2"; then
		not_ok "$1 differs from $2"
	fi
}
expect "$SBINDIR/ktund"
expect "$SBINDIR/ktunctl"
expect "$UNITDIR/ktund.service"
expect "$UNITDIR/ktund.socket" "$KTUN_SRCDIR/systemd/ktund.socket"
expect "$MODULESLOADDIR/ktun.conf" "$KTUN_SRCDIR/systemd/ktun-modules.conf"
expect "$SYSUSERSDIR/ktun.conf" "$KTUN_SRCDIR/systemd/sysusers.conf"
expect "$DOCDIR/ktund-redirect.conf" "$KTUN_SRCDIR/systemd/ktund-redirect.conf"
expect "$DOCDIR/ktun.conf" "$KTUN_SRCDIR/examples/ktun.conf"
# The README says docs/*.md are installed: every one of them.
for doc in "$KTUN_SRCDIR"/docs/*.md; do
	expect "$DOCDIR/${doc##*/}" "$doc"
done
# ktund(8) FILES names the unit directory this installation uses.
if ! grep -qF "*$UNITDIR*" "$KTUN_SRCDIR/docs/man/ktund.8.scd"; then
	not_ok "ktund(8) FILES does not name the unit directory $UNITDIR"
fi
if [ "$HAVE_MAN" = yes ]; then
	expect "$MANDIR/man8/ktund.8"
	expect "$MANDIR/man8/ktunctl.8"
	expect "$MANDIR/man5/ktun.conf.5"
else
	note "man pages not built (scdoc not found); not expecting them"
fi

# The unit runs the ktund installed next to it, and that one runs.
if [ -f "$dest$UNITDIR/ktund.service" ]; then
	bad=$(grep -E '^Exec(Start|StartPre)=' "$dest$UNITDIR/ktund.service" |
		grep -v "=$SBINDIR/ktund " || true)
	if [ -n "$bad" ]; then
		not_ok "the installed unit does not run $SBINDIR/ktund: $bad"
	fi
fi
if [ -x "$dest$SBINDIR/ktund" ] && ! "$dest$SBINDIR/ktund" --version | grep -q '^ktund '; then
	not_ok "the installed ktund does not run"
fi
# ktunctl with no --control reaches the ktund of the installed unit: both binaries default to
# one socket, in the unit's RuntimeDirectory= (the one directory under /run the unit lets the
# ktun user create it in), and neither the unit nor the example configuration moves it.
unit=$dest$UNITDIR/ktund.service
if [ -x "$dest$SBINDIR/ktund" ] && [ -x "$dest$SBINDIR/ktunctl" ] && [ -f "$unit" ]; then
	ktund_sock=$("$dest$SBINDIR/ktund" --help | sed -n 's/.*--control PATH (\([^)]*\)).*/\1/p')
	ktunctl_sock=$("$dest$SBINDIR/ktunctl" --help 2>&1 | sed -n 's/.*, else \(\/[^ ]*\)\.$/\1/p')
	rundir=$(sed -n 's/^RuntimeDirectory=\([^ ]*\)$/\1/p' "$unit")
	conf_sock=$(sed -n 's/^control *= *//p' "$dest$DOCDIR/ktun.conf")
	if [ -z "$ktund_sock" ] || [ "$ktund_sock" != "$ktunctl_sock" ]; then
		not_ok "ktund's default control socket '$ktund_sock' is not ktunctl's '$ktunctl_sock'"
	elif [ "${ktund_sock%/*}" != "/run/$rundir" ]; then
		not_ok "the default control socket $ktund_sock is not in the unit's RuntimeDirectory=$rundir"
	elif grep -E '^ExecStart=' "$unit" | grep -q -- '--control'; then
		not_ok "the unit gives ktund a --control of its own, which ktunctl does not know: $(grep '^ExecStart=' "$unit")"
	elif [ -n "$conf_sock" ] && [ "$conf_sock" != "$ktund_sock" ]; then
		not_ok "the example configuration's control = $conf_sock is not ktunctl's default $ktund_sock"
	fi
fi
[ "$RESULT_FAILURES" = 0 ] || { echo "installed:" >&2; (cd "$dest" && find . -type f | sort) >&2; }
finish "meson install put $(cd "$dest" && find . -type f | wc -l) files in place"
