#!/bin/bash
# bench-report-vm: bench/report.py vm on made-up records of bench/run --vm (one counted kTLS run
# whose server copied every byte once, as the copy-once receive does, one from a ktund from
# before payload_copied, one stunnel run): payload through userspace crypto and payload copied
# get their own columns per GiB, and a ktund that does not report payload_copied shows "—",
# never 0 (0 would claim "spliced, nothing copied").
set -euo pipefail
# shellcheck source=../lib/result.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/result.sh"
need_cmd python3
W=$(mktemp -d "${TMPDIR:-/tmp}/bench-report-vm.XXXXXX")
trap 'rm -rf "$W"' EXIT

# 32 MiB per run: per GiB = 32 x the run's figure. strace -c tables: 100 io_uring_enter each.
M=$((32 << 20))
for f in ktls1-client ktls1-server old1-client old1-server stunnel1-client stunnel1-server; do
	cat >"$W/strace-$f.txt" <<'TXT'
% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
100.00    0.001000          10       100           io_uring_enter
------ ----------- ----------- --------- --------- ----------------
100.00    0.001000          10       100           total
TXT
done
rec() { # CONFIG STRACE_PREFIX STATUS_CLIENT STATUS_SERVER IO_AFTER
	printf '{"test": "count", "config": "%s", "streams": 1, "bytes": %d, "wall_s": 1, "cpu_s": [0.1, 0.1], "io_before": [[0, 0], [0, 0]], "io_after": [%s, %s], "status": [%s, %s], "tls_stat_before": [{}, {}], "tls_stat_after": [{}, {}], "strace": ["strace-%s-client.txt", "strace-%s-server.txt"]}\n' \
		"$1" "$M" "$5" "$5" "$3" "$4" "$2" "$2"
}
{
	echo '{"test": "guest", "kernel": "6.12.0-test", "vcpus": 1, "host_load": "0 0 0", "icount": ""}'
	rec ktls ktls1 '{"payload_userspace": 0, "payload_copied": 0}' "{\"payload_userspace\": 0, \"payload_copied\": $M}" '[100, 100]'
	rec ktls old1 '{"payload_userspace": 0}' '{"payload_userspace": 0}' '[100, 100]'
	rec stunnel stunnel1 '{}' '{}' "[$M, $M]"
} >"$W/vm-raw.jsonl"
python3 "$KTUN_SRCDIR/bench/report.py" vm "$W" || fail "report.py vm failed"
MD=$(cat "$W/vm-results.md")
has() { ok_if_contains "$MD" "$1" "$2"; } # TEXT WHAT
has '| payload bytes through userspace crypto per GiB | kernel-decrypted payload copied per GiB |' "both payload columns"
has '| ktund pair (kTLS) | 1 | server | 3,200 | 3,200 | io_uring_enter 3,200 | 0 | 1,073,741,824 |' \
	"copy-once server: nothing through userspace crypto, every byte copied once"
has '| ktund pair (kTLS) | 1 | client | 3,200 | 3,200 | io_uring_enter 3,200 | 0 | 0 |' "sending client: nothing copied"
has '| ktund pair (kTLS) | 1 | server | 3,200 | 3,200 | io_uring_enter 3,200 | 0 | — |' \
	"a ktund without payload_copied: unknown, not 0"
has '| stunnel4 pair | 1 | server | 3,200 | 3,200 | io_uring_enter 3,200 | 1,073,741,824 | — |' \
	"stunnel: rchar/wchar through userspace, no copied figure"
finish "report.py vm: payload through userspace and payload copied"
