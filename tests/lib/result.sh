# shellcheck shell=bash
# result.sh — the one result vocabulary of ktun's shell tests. Every line names the test
# (TEST_NAME, the script's name; a script may set another): "TEST: ok: ...", "TEST: FAIL: ...". Source it
# (bash); tests/lib/ktund.sh does so for the tests that run ktund.
#
#   pass [MSG]        the test passed: "TEST: PASS: MSG", exit 0
#   fail MSG          the test failed: "TEST: FAIL: MSG", the on_fail hooks run, exit 1.
#                     Inside an integration case (run_case, srvlib.sh) it ends that case only.
#   skip REASON       the test cannot run here: "TEST: skip: REASON", exit 77 (meson: SKIP)
#   note MSG          a line of information: "TEST: MSG" (inside a run_case case: a detail
#                     line printed under the case's ok line)
#   ok MSG            one check passed, the test goes on: "TEST: ok: MSG"
#   not_ok MSG        one check failed, the test goes on: "TEST: FAIL: MSG"; finish fails
#   finish [MSG]      after ok/not_ok checks: fail if any check failed, else pass MSG
#   need_cmd CMD...   skip unless every CMD is installed
#   on_fail FUNC      FUNC runs (with fail's message as arguments) before fail exits
#
# Exit status 0 passes, 1 fails, 77 skips: meson's convention (set -e failures exit 1 too).

TEST_NAME=$(basename "$0" .sh) # a script may set its own after sourcing
RESULT_FAILURES=0 # how many not_ok checks so far
RESULT_NOTES=     # a file: note appends there instead of printing (run_case sets it)
_result_fail_hooks=()

_say() { echo "$TEST_NAME: $*"; }

pass() {
	local msg="$*"
	_say "PASS${msg:+: $msg}"
	exit 0
}

fail() {
	local h
	_say "FAIL: $*"
	for h in "${_result_fail_hooks[@]}"; do
		"$h" "$@" || true
	done
	exit 1
}

skip() {
	_say "skip: $*"
	exit 77
}

note() {
	if [ -n "$RESULT_NOTES" ]; then
		echo "$*" >>"$RESULT_NOTES"
	else
		_say "$*"
	fi
}

ok() { _say "ok: $*"; }

not_ok() {
	_say "FAIL: $*"
	RESULT_FAILURES=$((RESULT_FAILURES + 1))
}

finish() {
	[ "$RESULT_FAILURES" = 0 ] || fail "$RESULT_FAILURES check(s) failed"
	pass "$@"
}

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || skip "needs $c"
	done
}

on_fail() { _result_fail_hooks+=("$1"); }

# ok WHAT if TEXT holds NEEDLE (as is, not a pattern), else not_ok with TEXT shown.
ok_if_contains() { # TEXT NEEDLE WHAT
	if grep -qF -- "$2" <<<"$1"; then ok "$3"; else not_ok "$3: no '$2' in $(echo; cat <<<"$1")"; fi
}
