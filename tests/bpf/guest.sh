#!/bin/bash
# The bpf suite INSIDE the kTLS guest (tests/vm/run starts it; tests/bpf/meson.build registers
# it as bpf-guest in suite vm): every tests/bpf/bpf-*.sh, on a 6.12 kernel, with
# KTUN_BPF_EXPECT_KTLS=1 so that both ktunds insist on kernel TLS (--ktls required) and the
# steered flows (local and routed) must show datapath=ktls and the kernel's TLS ULP.
set -uo pipefail
: "${KTUND:?} ${KTUNCTL:?} ${KTUN_SRCDIR:?}"
# shellcheck source=../lib/result.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/result.sh"

if ! grep -q TlsCurrTxSw /proc/net/tls_stat 2>/dev/null; then
	skip "this kernel has no kernel TLS (run me through tests/vm/run)"
fi
export KTUN_BPF_EXPECT_KTLS=1
failed=()
for t in "$KTUN_SRCDIR"/tests/bpf/bpf-*.sh; do
	name=$(basename "$t" .sh)
	start=$SECONDS
	bash "$t" >"/tmp/$name.out" 2>&1
	rc=$?
	note "$name: exit $rc in $((SECONDS - start)) s"
	if [ $rc != 0 ]; then
		failed+=("$name")
		tail -n 60 "/tmp/$name.out"
	else
		grep -E "^$name: (ok: (kernel TLS|ktunctl)|PASS)" "/tmp/$name.out"
	fi
done
[ ${#failed[@]} = 0 ] || fail "${failed[*]}"
pass "the bpf suite on $(uname -r), steered flows on kernel TLS"
