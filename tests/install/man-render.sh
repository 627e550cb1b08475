#!/bin/bash
# man-render: each man page renders with man-db at 80 columns without a groff warning (all
# warnings on, in the C locale, so a stray non-ASCII character or bad request shows too).
#   man-render.sh PAGE...
set -euo pipefail
# shellcheck source=../lib/result.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/result.sh"
if ! command -v man >/dev/null; then
	skip "man (man-db) is not installed"
fi
for page in "$@"; do
	err=$(LC_ALL=C MANWIDTH=80 man --warnings=w -l "$page" 2>&1 >/dev/null) ||
		not_ok "man -l $page exits $?"
	if [ -n "$err" ]; then
		not_ok "$(basename "$page") renders with warnings:"
		echo "$err" >&2
	fi
	# Sections every page must have.
	for section in NAME SYNOPSIS DESCRIPTION 'SEE ALSO'; do
		grep -q "^\.SH \"*$section\"*\$" "$page" ||
			not_ok "$(basename "$page") has no $section section"
	done
done
finish "$# page(s) render without warnings"
