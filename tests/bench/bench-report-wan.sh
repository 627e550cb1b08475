#!/bin/bash
# bench-report-wan: bench/report.py wan on made-up records of bench/wan.sh: the ratios the issue
# sets goals for come out of the p50s, a variant this ktund cannot run stays in the tables as
# "n/a (why)" (never dropped, never a number), failed connections are reported with the first
# error, the measured loss is shown, both plots are drawn, and rounds pool their samples.
set -euo pipefail
# shellcheck source=../lib/result.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/result.sh"
need_cmd python3 gnuplot
W=$(mktemp -d "${TMPDIR:-/tmp}/bench-report-wan.XXXXXX")
trap 'rm -rf "$W"' EXIT

# raw DIR POOL_RECORD: a run's records with the given ktund-pool line
raw() {
	mkdir -p "$1"
	cat >"$1/wan-raw.jsonl" <<JSON
{"test": "wan", "kernel": "6.12.0-test", "vcpus": 1, "delay_ms_each_way": 20, "loss_each_way": "0.1%", "requests": 4, "pool": 4, "bulk_secs": 3, "ktund_version": "ktund 0.1.0", "stunnel": "stunnel 5.68", "host_load": "1.0 1.0 1.0"}
{"test": "netem_before", "qdisc": {"vw-edge": {"sent_pkts": 10, "dropped": 0}, "vw-origin": {"sent_pkts": 10, "dropped": 0}}}
{"test": "ttfb", "config": "tcp", "exit": 0, "result": {"count": 4, "warm": 1, "size": 64, "ok": 4, "errors": 0, "first_us": 90000.0, "mean_us": 80000.0, "min_us": 79000.0, "p50_us": 80000.0, "p90_us": 81000.0, "p99_us": 82000.0, "max_us": 82000.0, "samples_us": [79000.0, 80000.0, 81000.0, 82000.0]}, "cpu_s_before": null, "cpu_s_after": null}
{"test": "ttfb", "config": "ktund-cold", "exit": 0, "result": {"count": 4, "warm": 1, "size": 64, "ok": 4, "errors": 0, "first_us": 130000.0, "mean_us": 120000.0, "min_us": 119000.0, "p50_us": 120000.0, "p90_us": 121000.0, "p99_us": 123000.0, "max_us": 123000.0, "samples_us": [119000.0, 120000.0, 121000.0, 123000.0]}, "cpu_s_before": [1.0, 1.0], "cpu_s_after": [1.1, 1.1], "handshakes": 5, "resumed": 0, "ktls_tx_sessions": 5, "pool": {}}
{"test": "ttfb", "config": "ktund-resumed", "exit": 1, "result": {"count": 4, "warm": 1, "size": 64, "ok": 3, "errors": 1, "first_error": "connection 2: recv: Connection reset by peer", "first_us": 130000.0, "mean_us": 100000.0, "min_us": 99000.0, "p50_us": 100000.0, "p90_us": 101000.0, "p99_us": 101000.0, "max_us": 101000.0, "samples_us": [99000.0, 100000.0, 101000.0]}, "cpu_s_before": [1.0, 1.0], "cpu_s_after": [1.05, 1.05], "handshakes": 5, "resumed": 4, "ktls_tx_sessions": 5, "pool": {}}
$2
{"test": "ttfb", "config": "stunnel-cached", "exit": 0, "result": {"count": 4, "warm": 1, "size": 64, "ok": 4, "errors": 0, "first_us": 130000.0, "mean_us": 110000.0, "min_us": 109000.0, "p50_us": 110000.0, "p90_us": 111000.0, "p99_us": 112000.0, "max_us": 112000.0, "samples_us": [109000.0, 110000.0, 111000.0, 112000.0]}, "cpu_s_before": [0.5, 0.5], "cpu_s_after": [0.6, 0.6], "handshakes": 5, "resumed": 4}
{"test": "bulk", "config": "tcp", "result": {"bytes": 1000000, "bps": 20000000.0, "secs": 3.0, "retransmits": 5}}
{"test": "bulk", "config": "ktund", "result": {"bytes": 1000000, "bps": 10000000.0, "secs": 3.0, "retransmits": 4}}
{"test": "bulk", "config": "stunnel", "failed": "iperf3 exit 1"}
{"test": "netem_after", "qdisc": {"vw-edge": {"sent_pkts": 1010, "dropped": 1}, "vw-origin": {"sent_pkts": 2010, "dropped": 2}}}
JSON
	python3 "$KTUN_SRCDIR/bench/report.py" wan "$1" || fail "report.py wan $1 failed"
	MD=$(cat "$1/wan-results.md")
}
has() { ok_if_contains "$MD" "$1" "$2"; } # TEXT WHAT

raw "$W/all" '{"test": "ttfb", "config": "ktund-pool", "exit": 0, "result": {"count": 4, "warm": 1, "size": 64, "ok": 4, "errors": 0, "first_us": 60000.0, "mean_us": 45000.0, "min_us": 44000.0, "p50_us": 45000.0, "p90_us": 46000.0, "p99_us": 47000.0, "max_us": 47000.0, "samples_us": [44000.0, 45000.0, 46000.0, 47000.0]}, "cpu_s_before": [1.0, 1.0], "cpu_s_after": [1.0, 1.0], "handshakes": 9, "resumed": 0, "ktls_tx_sessions": 9, "pool": {"ttfb.pool_hits": 5, "ttfb.pool_misses": 0}}'
has '| ktund pair, warm pool ÷ direct TCP | 0.56× | 0.57× | ≤ 0.6 |' "pool ÷ direct from the p50s and p99s (45/80, 47/82 ms)"
has '| ktund pair, resumed ÷ ktund pair, cold (full handshakes) | 0.83× | 0.83× | ≤ 0.8 |' "resumed ÷ cold (100/120, 100/121 ms: percentiles of the samples)"
has '| ktund pair, resumed | 100.0 ms |' "the resumed p50 in ms"
has '| 3 / 1 | 5 (4) |' "resumed: 3 ok, 1 error, 4 of 5 handshakes resumed"
has 'ktund pair, resumed: 1 failed connections, the first: connection 2: recv: Connection reset by peer' "failed connections and the first error"
has 'the client'"'"'s pool counters: ttfb.pool_hits 5, ttfb.pool_misses 0' "the pool's counters"
has '| 4 / 0 | 5 (0) | 40.0 ms |' "daemon CPU per connection: 0.2 s over 5 connections (the warm-up one counts)"
has 'vw-origin 2 of 2002 packets (0.1 %)' "the loss measured at the router"
has '| stunnel4 pair | iperf3 exit 1 | |' "a failed bulk run says so"
has 'ktund ÷ TCP 0.50×' "bulk ratio"
for png in wan-ttfb.png wan-bulk.png; do
	[ -s "$W/all/$png" ] && ok "$png drawn" || not_ok "no $png"
done

raw "$W/na" '{"test": "ttfb", "config": "ktund-pool", "na": "ktund has no --pool"}'
has '| ktund pair, warm pool | n/a (ktund has no --pool) |' "a variant ktund cannot run: n/a with the reason"
has '| ktund pair, warm pool ÷ direct TCP | n/a (ktund has no --pool) |' "its ratios: n/a, not a number"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["ttfb"]["ktund-pool"] == {"na": "ktund has no --pool"}, j["ttfb"]["ktund-pool"]' \
	"$W/na/wan-results.json" && ok "wan-results.json keeps the n/a reason" || not_ok "wan-results.json lost the n/a reason"
# Rounds: the same four direct-TCP samples in two records of two make the same figures.
mkdir -p "$W/rounds"
python3 - "$W/na/wan-raw.jsonl" "$W/rounds/wan-raw.jsonl" <<'PY'
import json, sys
out = open(sys.argv[2], "w")
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("test") == "ttfb" and r["config"] == "tcp":
        for i, half in enumerate((r["result"]["samples_us"][:2], r["result"]["samples_us"][2:])):
            x = dict(r, round=i + 1, result=dict(r["result"], count=2, ok=2, samples_us=half, p50_us=0, p99_us=0))
            out.write(json.dumps(x) + "\n")
    else:
        out.write(line)
PY
python3 "$KTUN_SRCDIR/bench/report.py" wan "$W/rounds" || fail "report.py wan on two rounds failed"
MD=$(cat "$W/rounds/wan-results.md")
has '| direct TCP | 80.0 ms | 81.0 ms | 81.0 ms | 82.0 ms | 4 / 0 |' "two rounds: samples pooled, percentiles over all of them"
finish "report.py wan: ratios, n/a variants, errors, loss, plots"
