#!/bin/bash
# bench-vm-profile: bench/vm-profile.py on made-up `perf script -F comm,ip,sym,dso` output: each
# sample lands in the bucket its call chain says (the kernel's AES-GCM, a handshake in the TLS
# libraries, a copy by the call that copies and the process, page zeroing, io-wq, the
# scheduler, idle), per GiB at 4,000 samples a second, and a missing label is left out.
set -euo pipefail
# shellcheck source=../lib/result.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/result.sh"
need_cmd python3
W=$(mktemp -d "${TMPDIR:-/tmp}/bench-vm-profile.XXXXXX")
trap 'rm -rf "$W"' EXIT

# sample COMM FRAME... (leaf first; "sym dso" pairs)
sample() {
	local comm=$1
	shift
	echo "$comm "
	for f in "$@"; do printf '\tffffffff81000000 %s\n' "$f"; done
	echo
}
K='([kernel.kallsyms])'
{
	# 8 samples of each; at 1 MiB (1/1024 GiB), 8 samples = 8 / 4000 * 1024 = 2.05 s per GiB
	for _ in 1 2 3 4 5 6 7 8; do
		sample swapper "default_idle $K" "do_idle $K"
		sample ktund "aes_gcm_dec_update_aesni_avx $K" "tls_decrypt_sg $K" "tls_sw_recvmsg $K"
		sample ktund "__gmpn_mul_basecase (/usr/lib/x86_64-linux-gnu/libgmp.so.10)" "nettle_ecc_mul (/usr/lib/x86_64-linux-gnu/libhogweed.so.6)"
		sample ktund "rep_movs_alternative $K" "_copy_from_iter $K" "tcp_sendmsg_locked $K" "tcp_sendmsg $K"
		sample benchtool "rep_movs_alternative $K" "_copy_to_iter $K" "tcp_recvmsg_locked $K" "tcp_recvmsg $K"
		sample iou-wrk-7 "clear_page_erms $K" "get_page_from_freelist $K" "sk_msg_alloc $K" "tls_sw_sendmsg $K"
		sample iou-wrk-7 "tls_push_record $K" "tls_sw_sendmsg $K" "io_splice $K"
		sample ktund "finish_task_switch $K" "__schedule $K" "schedule $K"
		sample ktund "worker_run (/usr/sbin/ktund)" "main (/usr/sbin/ktund)"
	done
} >"$W/script-pair-1.txt"
OUT=$(python3 "$KTUN_SRCDIR/bench/vm-profile.py" "$W" 1) || fail "vm-profile.py failed"
has() { ok_if_contains "$OUT" "$1" "$2"; } # TEXT WHAT
has '| CPU s per GiB | pair (1) |' "only the label that has samples"
has '| kernel AES-GCM | 2.05 |' "kernel AES-GCM, per GiB at 4,000 samples a second"
has '| handshakes (userspace TLS libraries) | 2.05 |' "handshake: a frame in gmp/hogweed"
has "| copy: the app's send and recv (benchtool) | 2.05 |" "the app's copy"
has "| copy: ktund's send (copy-once receive, passing on) | 2.05 |" "ktund's send copy"
has '| zeroing fresh pages (init_on_alloc), kTLS send | 2.05 |' "page zeroing under tls_sw_sendmsg"
has "| io-wq (the send direction's splices: kTLS framing, TCP) | 2.05 |" "the rest of an io-wq thread"
has '| context switches (scheduler) | 2.05 |' "the scheduler"
has "| ktund's own userspace (ktund, libc, liburing) | 2.05 |" "ktund's own code"
has '| idle | 2.05 |' "idle"
has '| busy (all but idle) | 16.38 |' "busy = all but idle"
has '| samples | 72 |' "every sample counted once"
finish "vm-profile.py: samples into buckets"
