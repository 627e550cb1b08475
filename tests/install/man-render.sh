#!/bin/bash
# man-render: each man page renders with man-db at 80 columns without a groff warning (all
# warnings on, in the C locale, so a stray non-ASCII character or bad request shows too).
#   man-render.sh PAGE...
set -euo pipefail
if ! command -v man >/dev/null; then
	echo "skip: man (man-db) is not installed" >&2
	exit 77
fi
fail=0
for page in "$@"; do
	err=$(LC_ALL=C MANWIDTH=80 man --warnings=w -l "$page" 2>&1 >/dev/null) ||
		{ echo "FAIL: man -l $page exits $?" >&2; fail=1; }
	if [ -n "$err" ]; then
		echo "FAIL: $(basename "$page") renders with warnings:" >&2
		echo "$err" >&2
		fail=1
	fi
	# Sections every page must have.
	for section in NAME SYNOPSIS DESCRIPTION 'SEE ALSO'; do
		grep -q "^\.SH \"*$section\"*\$" "$page" ||
			{ echo "FAIL: $(basename "$page") has no $section section" >&2; fail=1; }
	done
done
[ "$fail" = 0 ] || exit 1
echo "ok: $# page(s) render without warnings"
