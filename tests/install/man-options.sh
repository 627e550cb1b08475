#!/bin/bash
# man-options: every option of daemon/config.c's table is documented, so the pages cannot go
# stale silently. ktun.conf(5) must have each key as an entry ("\fBkey\fR =") and ktund(8) each
# "--key" in bold. The allow-/verify- families are expanded with policy.c's kinds (allow-all,
# allow-cn, ...; no verify-all, which does not exist). ktund(8) must also name every close
# and reject reason of daemon/reason.c (they are log fields and counter names).
#   man-options.sh KTUN.CONF.5 KTUND.8        (sources from $KTUN_SRCDIR)
set -euo pipefail
# shellcheck source=../lib/result.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/result.sh"
conf_page=${1:?usage: man-options.sh KTUN.CONF.5 KTUND.8}
ktund_page=${2:?usage: man-options.sh KTUN.CONF.5 KTUND.8}
src=${KTUN_SRCDIR:?KTUN_SRCDIR not set}

# { "workers", OPT_UINT, ... }: the names, in table order.
mapfile -t table < <(sed -n 's/^[[:space:]]*{ "\([a-z0-9-]*\)", OPT_[A-Z_]*,.*/\1/p' "$src/daemon/config.c")
# [POLICY_CN] = "cn", ...: the kinds an allow-/verify- prefix takes.
mapfile -t kinds < <(grep -o '\[POLICY_[A-Z]*\] = "[a-z]*"' "$src/daemon/policy.c" | sed 's/.*"\(.*\)"/\1/')
if [ "${#table[@]}" -lt 20 ] || [ "${#kinds[@]}" -lt 5 ]; then
	fail "found only ${#table[@]} options in daemon/config.c and ${#kinds[@]} policy kinds" \
		"in daemon/policy.c: has the table's layout changed? Update this script."
fi

options=()
for name in "${table[@]}"; do
	case $name in
	allow- | verify-)
		for kind in "${kinds[@]}"; do
			[ "$name$kind" = verify-all ] || options+=("$name$kind")
		done ;;
	*-) fail "option prefix '$name' in daemon/config.c: teach this script its names" ;;
	*) options+=("$name") ;;
	esac
done

# The roff text with groff's escaped hyphens made plain.
conf=$(sed 's/\\-/-/g' "$conf_page")
ktund=$(sed 's/\\-/-/g' "$ktund_page")
for o in "${options[@]}"; do
	if ! grep -qF "\\fB$o\\fR =" <<<"$conf"; then
		not_ok "ktun.conf(5) has no entry for '$o' (daemon/config.c)"
	fi
	if ! grep -qF "\\fB--$o\\fR" <<<"$ktund"; then
		not_ok "ktund(8) does not document '--$o' (daemon/config.c)"
	fi
done

# [REASON_DONE] = { "done", ... }: every reason but "none".
mapfile -t reasons < <(sed -n 's/^[[:space:]]*\[REASON_[A-Z_]*\] = { "\([a-z-]*\)",.*/\1/p' \
	"$src/daemon/reason.c" | grep -vx none)
if [ "${#reasons[@]}" -lt 10 ]; then
	fail "found only ${#reasons[@]} reasons in daemon/reason.c: update this script"
fi
for r in "${reasons[@]}"; do
	if ! grep -qF "\fB$r\fR" <<<"$ktund"; then
		not_ok "ktund(8) does not list the reason '$r' (daemon/reason.c)"
	fi
done
finish "${#options[@]} options of daemon/config.c documented in ktun.conf(5) and ktund(8)," \
	"${#reasons[@]} reasons of daemon/reason.c in ktund(8)"
