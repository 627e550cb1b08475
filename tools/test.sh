#!/bin/sh
# Installs dependencies, builds ktun and runs every test suite (unit, integration, pair, vm).
# Run as root: the integration tests make network namespaces and the vm suite boots qemu.
# Extra arguments go to `meson test` (e.g. --suite unit).
set -eu
cd "$(dirname "$0")/.."

./tools/install-deps.sh
[ -d build ] || meson setup build
ninja -C build
meson test -C build --print-errorlogs --num-processes 2 "$@"
