#!/bin/sh
# Builds the libFuzzer harnesses (tests/fuzz) with clang, ASan and UBSan in their own build
# directory and runs the 'fuzz' suite: each harness replays its seed corpus, then fuzzes for
# KTUN_FUZZ_SECONDS (default 20). Called by .ci/run after tools/dev/test.sh; extra arguments go
# to `meson test`. KTUN_FUZZ_BUILD names the build directory (default build-fuzz).
set -eu
cd "$(dirname "$0")/../.."
dir=${KTUN_FUZZ_BUILD:-build-fuzz}

./tools/dev/install-deps.sh
[ -d "$dir" ] || CC=clang meson setup "$dir" -Dfuzz=true -Dbpf=disabled
# Only the harnesses (and the core library they link): ktund itself is built and tested by
# tools/dev/test.sh and tools/dev/test-asan.sh.
# shellcheck disable=SC2046
ninja -C "$dir" $(ninja -C "$dir" -t targets all | sed -n 's|^\(tests/fuzz/fuzz-[a-z0-9-]*\): .*|\1|p')
meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes 2 --suite fuzz "$@"
