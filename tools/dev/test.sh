#!/bin/sh
# Installs dependencies, builds ktun and runs every test suite (unit, install, integration,
# pair, robust, valgrind, vm, bpf), then the unit and integration suites again against an
# AddressSanitizer+UBSan build (tools/dev/test-asan.sh) and each libFuzzer harness over its corpus
# and briefly beyond (tools/dev/test-fuzz.sh).
# Run as root: the integration tests make network namespaces and the vm suite boots qemu.
# Extra arguments go to `meson test` (e.g. --suite unit) and run only the main build's tests.
set -eu
cd "$(dirname "$0")/../.."

./tools/dev/install-deps.sh
[ -d build ] || meson setup build
ninja -C build
meson test -C build --print-errorlogs --num-processes 2 "$@"
[ $# -eq 0 ] || exit 0
./tools/dev/test-asan.sh
./tools/dev/test-fuzz.sh
