#!/bin/bash
# run-fuzz.sh HARNESS SEEDS ARTIFACTS [LIBFUZZER FLAGS...] — one fuzz test (tests/fuzz/meson.build):
# replays every seed in SEEDS, then fuzzes for KTUN_FUZZ_SECONDS (default 20). New inputs go to
# a scratch directory; a crashing input goes to ARTIFACTS and is printed. Exit 0 only if
# nothing crashed, leaked, tripped a sanitizer or ran over 10 s.
set -eu
# shellcheck source=../lib/result.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/result.sh"
exe=$1 seeds=$2 artifacts=$3
shift 3
TEST_NAME=$(basename "$exe")
work=$(mktemp -d "${TMPDIR:-/tmp}/ktun-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
rm -rf "$artifacts" # only this run's findings
mkdir -p "$artifacts"
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

rc=0
"$exe" -max_total_time="${KTUN_FUZZ_SECONDS:-20}" -timeout=10 -print_final_stats=1 \
	-artifact_prefix="$artifacts/" "$@" "$work" "$seeds" || rc=$?
if [ "$rc" != 0 ]; then
	for f in "$artifacts"/*; do
		[ -f "$f" ] || continue
		echo "----- $f (add it to $seeds once fixed)"
		od -A d -c "$f" | head -n 64
	done
	fail "$(basename "$exe") exited with status $rc"
fi
pass "$(ls "$seeds" | wc -l) seeds replayed, $(ls "$work" | wc -l) new inputs"
