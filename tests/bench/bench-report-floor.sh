#!/bin/bash
# bench-report-floor: bench/report.py host on made-up bulk records of bench/run (plain TCP, the
# plaintext relay pair, ktund and stunnel4, 1 and 8 streams, floortool crypto each round): the
# floors and ratios come out of the figures as defined (userspace floor = relay pair's machine
# CPU per GiB + crypto, issue's floor = plain TCP's + crypto, daemons' floor = the relays' own +
# crypto); per-round ratios pair each round with its own crypto; a run without crypto records
# (an older raw.jsonl) has no floor table rather than a made-up one.
set -euo pipefail
# shellcheck source=../lib/result.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/result.sh"
need_cmd python3 gnuplot
W=$(mktemp -d "${TMPDIR:-/tmp}/bench-report-floor.XXXXXX")
trap 'rm -rf "$W"' EXIT

# 2 cores, 2 s per run, 1 GiB per run: machine CPU s per GiB = 4 * busy. Round 1 (round 2
# doubles ktund's figures and the crypto, so the medians are the two rounds' means):
#   machine  tcp 1.0, relay 2.0, ktund 3.0, stunnel 4.0; crypto 0.25 + 0.25 = 0.5
#   daemons  relay 0.5 + 0.5, ktund 1.2 + 0.6, stunnel 2.0 + 1.0
mkdir -p "$W/run"
cat >"$W/run/machine.json" <<'JSON'
{"cpu": "Test CPU", "cores": 2, "kernel": "6.0-test", "ktls_in_kernel": false, "memory_mib": 1024, "ktun_commit": "abc", "ktun_uncommitted": [], "gnutls": "3.7.9", "liburing": "2.3", "stunnel": "stunnel 5.68", "openssl": "OpenSSL 3", "iperf3": "iperf 3.12", "compiler": "cc", "buildtype": "debugoptimized", "date": "2026-12-03T00:00:00Z", "loadavg_before": "0 0 0", "loadavg_after": "0 0 0", "quick": true, "rounds": 2, "stunnel_server_tickets": 0}
JSON
python3 - "$W/run/raw.jsonl" <<'PY'
import json, sys
G = 1 << 30
recs = []
for rnd, k in ((1, 1.0), (2, 2.0)):
    recs.append({"test": "load", "round": rnd, "loadavg": "0 0 0"})
    recs.append({"test": "crypto", "round": rnd, "result": {"cipher": "AES-128-GCM", "bytes": 2 * G, "records": 131072,
                 "record_bytes": 16384, "seal_cpu_s": 0.5 * k, "open_cpu_s": 0.5 * k}})
    for n in (1, 8):
        for cfg, busy, cpu in (("tcp", 0.25, {}), ("relay", 0.5, {"client": 0.5, "server": 0.5}),
                               ("ktund", 0.75 * (1 if rnd == 1 else 4 / 3), {"client": 1.2 * k, "server": 0.6 * k}),
                               ("stunnel", 1.0, {"client": 2.0, "server": 1.0})):
            recs.append({"test": "tput", "round": rnd, "config": cfg, "streams": n, "bytes": G, "bps": 8e9,
                         "secs": 2.0, "cpu_s": cpu, "machine_busy": busy})
open(sys.argv[1], "w").write("".join(json.dumps(r) + "\n" for r in recs))
PY
python3 "$KTUN_SRCDIR/bench/report.py" host "$W/run" || fail "report.py host failed"
MD=$(cat "$W/run/results.md")
has() { ok_if_contains "$MD" "$1" "$2"; } # TEXT WHAT
# Medians over the two rounds: crypto (0.5 + 1.0) / 2 per GiB... of 2 GiB: 0.5 and 1.0 s per GiB
# -> 0.75; ktund machine (3.0 + 4.0) / 2 = 3.5, daemons (1.8 + 3.6) / 2 = 2.7.
has 'floortool crypto: 0.75 s, median of 2' "crypto per GiB from 2 GiB records, median of the rounds"
has '| plaintext relay pair, machine | 2.00 s | 2.00 s |' "the relay pair's machine CPU per GiB"
has '| **userspace floor** (relay pair + crypto), machine | 2.75 s | 2.75 s |' "userspace floor = relay + crypto"
has "| **issue's floor** (plain TCP + crypto), machine | 1.75 s | 1.75 s |" "issue's floor = plain TCP + crypto"
has "| daemons' floor (the relays' own + crypto) | 1.75 s | 1.75 s |" "daemons' floor = the relays' own + crypto"
has '| ktund ÷ userspace floor, machine | 1.27× | 1.27× |' "ktund ÷ userspace floor (3.5 / 2.75)"
has '| stunnel4 ÷ userspace floor, machine | 1.45× | 1.45× |' "stunnel ÷ userspace floor (4 / 2.75)"
has "| ktund ÷ issue's floor, machine | 2.00× | 2.00× |" "ktund ÷ issue's floor (3.5 / 1.75)"
has "| ktund daemons ÷ daemons' floor | 1.54× | 1.54× |" "ktund daemons ÷ daemons' floor (2.7 / 1.75)"
has "| stunnel4 daemons ÷ daemons' floor | 1.71× | 1.71× |" "stunnel daemons ÷ daemons' floor (3 / 1.75)"
has '| bulk throughput, 1 stream (higher is better) | 8.00 Gbit/s | 8.00 Gbit/s |' "the relay pair has a column in the main table"
python3 - "$W/run/results.json" <<'PY' && ok "per-round ratios pair each round with its own crypto (3/2.5, 4/3)" ||
import json, sys
f = json.load(open(sys.argv[1]))["floor"]["streams"]["1"]
got = f["ratios_per_round"]["ktund_machine_to_userspace_floor"]
assert got == [1.2, 1.333], got
PY
	not_ok "per-round ratios: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["floor"]["streams"]["1"]["ratios_per_round"])' "$W/run/results.json")"

grep -v '"crypto"' "$W/run/raw.jsonl" >"$W/run/raw2" && mv "$W/run/raw2" "$W/run/raw.jsonl"
python3 "$KTUN_SRCDIR/bench/report.py" host "$W/run" || fail "report.py host without crypto records failed"
MD=$(cat "$W/run/results.md")
if grep -q 'userspace floor' <<<"$MD"; then not_ok "no crypto records, yet a floor table"; else ok "no crypto records: no floor table"; fi
finish "report.py host: the userspace floor and its ratios"
