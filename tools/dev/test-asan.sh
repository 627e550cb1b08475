#!/bin/sh
# Builds ktund, ktunctl and the unit tests with AddressSanitizer and UndefinedBehaviorSanitizer
# (gcc) in their own build directory and runs the 'unit' and 'integration' suites against
# them. Any sanitizer report fails the test that ran the process: it aborts (abort_on_error,
# exit status 134), and leaks count — LeakSanitizer runs when ktund exits after SIGTERM, and
# the tests require exit status 0. Reports go to the process's stderr, i.e. the daemon log
# that a failing test prints (not to files: the sandbox lets ktund create none once serving).
# Called by .ci/run after tools/dev/test.sh; extra arguments go to `meson test`.
# KTUN_ASAN_BUILD names the build directory (default build-asan).
set -eu
cd "$(dirname "$0")/../.."
dir=${KTUN_ASAN_BUILD:-build-asan}

./tools/dev/install-deps.sh
[ -d "$dir" ] || meson setup "$dir" -Db_sanitize=address,undefined
ninja -C "$dir"

export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:print_stacktrace=1
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
meson test -C "$dir" --print-errorlogs --num-processes 2 --suite unit --suite integration "$@"
