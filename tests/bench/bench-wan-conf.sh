#!/bin/bash
# bench-wan-conf: bench/wan-conf.sh, which decides what bench/run --wan can measure with the
# ktund at hand. With the built ktund: every configuration it writes passes `ktund --check`, and
# a variant whose option ktund lacks is n/a with the reason (never run without it). With
# stand-ins for a ktund that has --resumption and --pool (the built one behind a wrapper that
# takes the new keys where the stand-in says): the keys land in the section that takes them,
# both ends; an option in --help that no section takes is n/a too.
set -euo pipefail
# shellcheck source=../lib/result.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/result.sh"
[ -x "${KTUND:-}" ] || fail "KTUND is not set to the built ktund"
W=$(mktemp -d "${TMPDIR:-/tmp}/bench-wan-conf.XXXXXX")
trap 'rm -rf "$W"' EXIT
"$KTUN_SRCDIR/tests/lib/pki.sh" "$W/pki" >/dev/null 2>&1 || fail "tests/lib/pki.sh failed"
REAL=$KTUND P=$W/pki ORIGIN=203.0.113.1 POOL=4
# shellcheck source=../../bench/wan-conf.sh
. "$KTUN_SRCDIR/bench/wan-conf.sh"

# stand_in NAME WHERE_RESUMPTION WHERE_POOL: a ktund whose --help adds --resumption and
# --pool, and whose --check takes "resumption" only in WHERE_RESUMPTION (tunnel, global or
# none) and "pool" only in WHERE_POOL (tunnel: a client tunnel with destination; none), then
# checks the rest with the real ktund.
stand_in() {
	cat >"$W/$1" <<SH
#!/bin/bash
if [ "\$1" = --help ]; then "$REAL" --help; echo "  --resumption=yes|no  --pool N"; exit 0; fi
[ "\$1" = --config ] && [ "\$3" = --check ] || exit 99
awk -v r=$2 -v p=$3 '
	/^\[/ { g = (\$0 == "[global]") }
	/^resumption = / && (r == "none" || (g && r != "global") || (!g && r != "tunnel")) { bad = 1 }
	/^pool = / && (p == "none" || g) { bad = 1 }
	END { exit bad }' "\$2" || exit 2
if grep -q '^pool = ' "\$2" && ! grep -q '^destination = ' "\$2"; then exit 2; fi
grep -v '^resumption = \|^pool = ' "\$2" >"\$2.rest"
exec "$REAL" --config "\$2.rest" --check
SH
	chmod +x "$W/$1"
}

# conf SIDE VARIANT -> the file of that end's configuration
conf() { ktund_conf "$1" "$2" >"$W/$1-$2.conf"; echo "$W/$1-$2.conf"; }
checks() { # SIDE VARIANT: the configuration passes KTUND --check
	"$KTUND" --config "$(conf "$1" "$2")" --check >"$W/check.out" 2>&1 &&
		ok "$(basename "$KTUND"): $2 $1 configuration passes --check" ||
		not_ok "$2 $1 configuration fails --check: $(cat "$W/check.out")"
}
has_line() { # SIDE VARIANT SECTION LINE: LINE is in SECTION (global or tunnel) of the config
	local f
	f=$(conf "$1" "$2")
	awk -v sec="$3" -v line="$4" '/^\[/ { g = ($0 == "[global]") } $0 == line && (sec == "global") == g { found = 1 } END { exit !found }' "$f" &&
		ok "$2 $1: '$4' in the $3 section" || not_ok "$2 $1: no '$4' in the $3 section: $(cat "$f")"
}
na_is() { # VARIANT WHY
	printf '%s\n' "${NA[@]}" | grep -qxF "$1:$2" && ok "$1: n/a ($2)" || not_ok "$1: want n/a ($2), NA is: ${NA[*]:-empty}"
}
runs() { # VARIANT
	printf '%s\n' "${NA[@]}" | grep -q "^$1:" && not_ok "$1 is n/a: ${NA[*]}" || ok "$1 runs"
}

# The built ktund, as it is on this branch or after a merge.
plan_variants
for v in cold resumed pool poolb; do
	for side in client server; do checks $side $v; done
done
# poolb (WAN_KTUND_B, an A/B of two builds) is the pool variant on a port of its own.
if "$KTUND" --help 2>&1 | grep -q -- '--pool\b'; then
	f=$(conf client poolb)
	grep -qx 'listen = 127.0.0.1:7103' "$f" && grep -qx 'pool = 4' "$f" && grep -qx 'destination = 127.0.0.1:7000' "$f" &&
		ok "poolb client: its own port, pool and destination" || not_ok "poolb client configuration: $(cat "$f")"
	grep -qx 'target = from-client' "$(conf server poolb)" && ok "poolb server: target = from-client" ||
		not_ok "poolb server configuration: $(cat "$(conf server poolb)")"
fi
if "$KTUND" --help 2>&1 | grep -q -- '--resumption\b'; then runs resumed; else na_is resumed "ktund has no --resumption"; fi
if "$KTUND" --help 2>&1 | grep -q -- '--pool\b'; then runs pool; else na_is pool "ktund has no --pool"; fi

stand_in tunnel-keys tunnel tunnel
KTUND=$W/tunnel-keys
plan_variants
runs resumed
runs pool
for side in client server; do
	has_line $side cold tunnel "resumption = no"
	has_line $side resumed tunnel "resumption = yes"
	checks $side cold
	checks $side resumed
	checks $side pool
done
has_line client pool tunnel "pool = 4"
has_line client pool tunnel "destination = 127.0.0.1:7000"
has_line server pool tunnel "target = from-client"

stand_in global-keys global tunnel
KTUND=$W/global-keys
plan_variants
for side in client server; do
	has_line $side resumed global "resumption = yes"
	checks $side resumed
done

stand_in no-keys none none
KTUND=$W/no-keys
plan_variants
na_is resumed "ktund --help lists --resumption but no config section takes resumption = no"
na_is pool "ktund --help lists --pool but no config section takes pool = 4"
finish "bench/run --wan runs what this ktund has and says n/a for the rest"
