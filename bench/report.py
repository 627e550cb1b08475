#!/usr/bin/env python3
"""bench/report.py — turns bench/run's raw records into tables, JSON and plots.

    report.py host DIR   raw.jsonl + machine.json -> results.json, results.md, throughput.png, latency.png
    report.py vm DIR     vm-raw.jsonl + strace-*.txt -> vm-results.json, vm-results.md
    report.py profile DIR  raw.jsonl + perf-*.txt -> profile.json, profile.md
    report.py wan DIR    wan-raw.jsonl -> wan-results.json, wan-results.md, wan-ttfb.png, wan-bulk.png

Every figure is the median over rounds (the spread is kept in the JSON). Ratios are value
divided by the reference's value, whatever the direction of "better".
"""
import json
import os
import re
import statistics
import subprocess
import sys

CONFIGS = ["tcp", "ktund", "stunnel"]
# The bulk figures also have the userspace floor's plaintext relay pair (floortool relay).
TPUT_CONFIGS = ["tcp", "relay", "ktund", "stunnel"]
NAMES = {"tcp": "plain TCP", "ktund": "ktund pair (userspace)", "stunnel": "stunnel4 pair",
         "relay": "plaintext relay pair (floortool, no crypto)",
         "ktls": "ktund pair (kTLS)", "hop": "plain TCP hop (loopback)",
         "floor": "bare kernel TLS connection (loopback, zero-copy)",
         "floor-copy": "bare kernel TLS connection (loopback, send/recv)",
         "floor-splice": "bare kernel TLS connection (loopback, splice out to a pipe)"}
GIB = float(1 << 30)


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def median(xs):
    return statistics.median(xs) if xs else None


def ratio(a, b):
    return round(a / b, 3) if a is not None and b not in (None, 0) else None


def fmt(v, unit):
    if v is None:
        return "—"
    if unit in ("Gbit/s",):
        return f"{v:.2f}"
    if unit in ("conn/s", "µs", "%"):
        return f"{v:.0f}"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


class Figures:
    def __init__(self):
        self.rows = []

    def add(self, key, label, unit, better, samples, configs=CONFIGS):
        """samples: config -> list of per-round values."""
        vals = {c: median(samples.get(c, [])) for c in configs}
        spread = {c: [min(samples[c]), max(samples[c])] for c in configs if samples.get(c)}
        self.rows.append({
            "key": key, "label": label, "unit": unit, "better": better,
            "values": {c: (round(v, 4) if v is not None else None) for c, v in vals.items()},
            "spread": spread,
            "ratio_to_tcp": {c: ratio(vals[c], vals.get("tcp")) for c in configs if c != "tcp"},
            "ratio_to_stunnel": {c: ratio(vals[c], vals.get("stunnel")) for c in configs if c != "stunnel"},
        })


def host(d):
    raw = load(os.path.join(d, "raw.jsonl"))
    machine = json.load(open(os.path.join(d, "machine.json")))
    figs = Figures()
    by = lambda test: [r for r in raw if r["test"] == test]

    streams = sorted({r["streams"] for r in by("tput")})
    tput = {}  # streams -> config -> [Gbit/s]
    for n in streams:
        s = {}
        for r in by("tput"):
            if r["streams"] == n:
                s.setdefault(r["config"], []).append(r["bps"] / 1e9)
        tput[n] = s
        figs.add(f"throughput_p{n}", f"bulk throughput, {n} stream{'s' if n > 1 else ''}", "Gbit/s",
                 "higher", s, TPUT_CONFIGS)
    for n in streams:
        s, sides = {}, {}
        for r in by("tput"):
            if r["streams"] == n and r["cpu_s"]:
                gib = r["bytes"] / GIB
                s.setdefault(r["config"], []).append((r["cpu_s"]["client"] + r["cpu_s"]["server"]) / gib)
        figs.add(f"cpu_s_per_gib_p{n}", f"daemon CPU s per GiB, {n} stream{'s' if n > 1 else ''} (both ends)",
                 "s/GiB", "lower", s, ["relay", "ktund", "stunnel"])
    s, busy = {}, {}
    for r in by("tput"):
        if "machine_busy" in r:
            busy.setdefault(r["config"], []).append(100 * r["machine_busy"])
            s.setdefault(r["config"], []).append(
                r["machine_busy"] * machine["cores"] * r["secs"] / (r["bytes"] / GIB))
    figs.add("machine_busy", "machine CPU busy during the bulk runs (all stream counts)", "%", "context", busy,
             TPUT_CONFIGS)
    figs.add("machine_cpu_s_per_gib", "machine CPU s per GiB (all processes and the kernel; all stream counts)",
             "s/GiB", "lower", s, TPUT_CONFIGS)
    for side in ("client", "server"):
        s = {}
        for r in by("tput"):
            if r["cpu_s"]:
                s.setdefault(r["config"], []).append(r["cpu_s"][side] / (r["bytes"] / GIB))
        figs.add(f"cpu_s_per_gib_{side}", f"daemon CPU s per GiB, {side} end (all stream counts)",
                 "s/GiB", "lower", s, ["relay", "ktund", "stunnel"])

    for q, label in (("p50_us", "p50"), ("p99_us", "p99")):
        s = {}
        for r in by("rr"):
            s.setdefault(r["config"], []).append(r["result"][q])
        size = by("rr")[0]["result"]["size"] if by("rr") else 64
        figs.add(f"rr_{label}", f"request/response latency {label}, {size} B", "µs", "lower", s)

    conns = [r for r in by("conns") if "na" not in r]
    s, cpu = {}, {}
    for r in conns:
        s.setdefault(r["config"], []).append(r["result"]["rate"])
        if r["cpu_s"] and r["result"]["completed"]:
            cpu.setdefault(r["config"], []).append(
                (r["cpu_s"]["client"] + r["cpu_s"]["server"]) * 1000 / r["result"]["completed"])
    figs.add("conn_rate", "new mTLS connections/s (ECDSA P-256, 32 at a time)", "conn/s", "higher", s)
    figs.add("cpu_ms_per_conn", "daemon CPU ms per new connection (both ends)", "ms", "lower", cpu,
             ["ktund", "stunnel"])
    errors = {r["config"]: r["result"]["errors"] for r in conns}
    resumption = host_resumption(raw, s, cpu)

    mem_detail = []
    for n in sorted({r["conns"] for r in by("mem")}):
        for kind, idx in (("rss", 0), ("pss", 1)):
            s = {}
            for r in by("mem"):
                if r["conns"] == n and "failed" not in r:
                    delta = sum(r[side]["held_kib"][idx] - r[side]["base_kib"][idx] for side in ("client", "server"))
                    s.setdefault(r["config"], []).append(delta / n)
            label = f"{n // 1000}k" if n % 1000 == 0 else str(n)
            figs.add(f"mem_{kind}_kib_per_conn_{label}",
                     f"{kind.upper()} per idle connection at {label} (both ends)", "KiB", "lower", s,
                     ["ktund", "stunnel"])
        for r in by("mem"):
            if r["conns"] == n and "failed" in r:
                mem_detail.append({"config": r["config"], "conns": n, "failed": r["failed"],
                                   "daemons_alive": r.get("daemons_alive")})
            elif r["conns"] == n:
                mem_detail.append({"config": r["config"], "conns": n, "threads": r.get("threads"), **{
                    side: {"rss_kib_per_conn": round((r[side]["held_kib"][0] - r[side]["base_kib"][0]) / n, 2),
                           "pss_kib_per_conn": round((r[side]["held_kib"][1] - r[side]["base_kib"][1]) / n, 2),
                           "base_rss_kib": r[side]["base_kib"][0]} for side in ("client", "server")}})

    floor = host_floor(raw, streams, machine["cores"])
    res = {"machine": machine, "figures": figs.rows, "floor": floor, "resumption": resumption,
           "memory_per_side": mem_detail, "conn_errors": errors, "configs": {c: NAMES[c] for c in TPUT_CONFIGS}}
    json.dump(res, open(os.path.join(d, "results.json"), "w"), indent=1)

    m = machine
    md = [f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_mib']} MiB, kernel {m['kernel']}"
          f" (kTLS {'present' if m['ktls_in_kernel'] else 'absent'}); ktun {m['ktun_commit']} ({m['buildtype']}),"
          f" GnuTLS {m['gnutls']}, liburing {m['liburing']}; {m['stunnel']}; {m['openssl']}; {m['iperf3']}.",
          f"Date {m['date']}, {m['rounds']} round(s){' (--quick)' if m.get('quick') else ''};"
          f" load average before {m['loadavg_before']}, after {m['loadavg_after']}.", "",
          "| figure | plain TCP | plaintext relay pair | ktund pair | stunnel4 pair | ktund ÷ TCP | ktund ÷ stunnel | stunnel ÷ TCP |",
          "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for f in figs.rows:
        v = f["values"]
        cell = lambda c: fmt(v.get(c), f["unit"]) + (f" {f['unit']}" if v.get(c) is not None else "")
        rt = lambda c: (f"{f['ratio_to_tcp'].get(c):.2f}×" if f["ratio_to_tcp"].get(c) is not None else "—")
        rs = (f"{f['ratio_to_stunnel']['ktund']:.2f}×" if f["ratio_to_stunnel"].get("ktund") is not None else "—")
        better = {"higher": "higher is better", "lower": "lower is better"}.get(f["better"], "context")
        md.append(f"| {f['label']} ({better}) | {cell('tcp')} | {cell('relay')} | "
                  f"{cell('ktund')} | {cell('stunnel')} | {rt('ktund')} | {rs} | {rt('stunnel')} |")
    for x in mem_detail:
        if "failed" in x:
            dead = [side for side, ok in zip(("client", "server"), x.get("daemons_alive") or []) if not ok]
            md.append("")
            md.append(f"{NAMES[x['config']]} could not hold {x['conns']} idle connections: {x['failed']}"
                      + (f" (the {' and '.join(dead)} daemon{'s' if len(dead) > 1 else ''} had died)" if dead else "") + ".")
    md += host_floor_md(floor)
    md += host_resumption_md(resumption)
    loads = [r["loadavg"] for r in by("load")]
    if loads:
        md.append("")
        md.append("Load average at the start of each round: " + "; ".join(loads) + ".")
    if any(errors.values()):
        md.append("")
        md.append("Connection errors during the rate test: " + ", ".join(f"{c} {e}" for c, e in errors.items()))
    open(os.path.join(d, "results.md"), "w").write("\n".join(md) + "\n")

    if streams and by("rr"):
        plots(d, streams, tput, by("rr"), m)


def host_floor(raw, streams, cores):
    """The userspace floor per stream count (bench/run's bulk runs and floortool crypto):
    crypto = CPU s to seal and open one GiB; the userspace floor = the relay pair + crypto, the
    issue's floor = plain TCP + crypto, both as machine CPU s per GiB (and the daemons' own: the
    relays' CPU + crypto); each tunnel's figure ÷ each floor. Medians over rounds, ratios of the
    medians; the per-round ratios (that round's runs and crypto) are kept as a spread."""
    crypto = {}
    for r in raw:
        if r["test"] == "crypto":
            x = r["result"]
            crypto[r["round"]] = (x["seal_cpu_s"] + x["open_cpu_s"]) * GIB / x["bytes"]
    if not crypto:
        return None
    out = {"crypto_s_per_gib": round(median(list(crypto.values())), 4),
           "crypto_s_per_gib_all": [round(v, 4) for v in crypto.values()],
           "cipher": next(r["result"]["cipher"] for r in raw if r["test"] == "crypto"), "streams": {}}
    for n in streams:
        # round -> config -> (machine s/GiB, daemons s/GiB or None)
        per = {}
        for r in raw:
            if r["test"] == "tput" and r["streams"] == n and "machine_busy" in r and r["bytes"]:
                gib = r["bytes"] / GIB
                d = (r["cpu_s"]["client"] + r["cpu_s"]["server"]) / gib if r["cpu_s"] else None
                per.setdefault(r["round"], {})[r["config"]] = (r["machine_busy"] * cores * r["secs"] / gib, d)

        def med(c, i):
            return median([v[c][i] for v in per.values() if c in v and v[c][i] is not None])

        def floors(get, c_get):
            """-> machine floors and daemon floor from get(config, index) and the crypto figure."""
            m_relay, m_tcp, d_relay = get("relay", 0), get("tcp", 0), get("relay", 1)
            return (None if m_relay is None or c_get is None else m_relay + c_get,
                    None if m_tcp is None or c_get is None else m_tcp + c_get,
                    None if d_relay is None or c_get is None else d_relay + c_get)
        uf, isf, df = floors(med, out["crypto_s_per_gib"])
        x = {"machine_s_per_gib": {c: med(c, 0) for c in TPUT_CONFIGS},
             "daemon_s_per_gib": {c: med(c, 1) for c in ("relay", "ktund", "stunnel")},
             "userspace_floor_machine": uf, "issue_floor_machine": isf, "userspace_floor_daemon": df}
        # four decimals: the table's two must not come from a value rounded to three already
        x["ratios"] = {f"{c}_{what}": None if ratio(x[src][c], x[fl]) is None else round(x[src][c] / x[fl], 4)
                       for c in ("ktund", "stunnel")
                       for what, src, fl in (("machine_to_userspace_floor", "machine_s_per_gib", "userspace_floor_machine"),
                                             ("machine_to_issue_floor", "machine_s_per_gib", "issue_floor_machine"),
                                             ("daemon_to_userspace_floor", "daemon_s_per_gib", "userspace_floor_daemon"))}
        spread = {}
        for rnd, v in per.items():
            get = lambda c, i: v[c][i] if c in v else None
            ruf, risf, rdf = floors(get, crypto.get(rnd))
            for c in ("ktund", "stunnel"):
                for what, val, fl in (("machine_to_userspace_floor", get(c, 0), ruf),
                                      ("machine_to_issue_floor", get(c, 0), risf),
                                      ("daemon_to_userspace_floor", get(c, 1), rdf)):
                    q = ratio(val, fl)
                    if q is not None:
                        spread.setdefault(f"{c}_{what}", []).append(q)
        x["ratios_per_round"] = spread
        for k in ("userspace_floor_machine", "issue_floor_machine", "userspace_floor_daemon"):
            x[k] = None if x[k] is None else round(x[k], 4)
        out["streams"][n] = x
    return out


def host_floor_md(fl):
    if not fl:
        return []
    v = lambda x: "—" if x is None else f"{x:.2f} s"
    q = lambda x: "—" if x is None else f"{x:.2f}×"
    ns = sorted(fl["streams"])
    st = lambda n: f"{n} stream{'s' if n > 1 else ''}"
    md = ["", f"The userspace floor (machine CPU s per GiB; crypto = {fl['cipher']} seal + open of one GiB as 16 KiB "
          f"TLS 1.3 records, one thread, floortool crypto: {fl['crypto_s_per_gib']:.2f} s, median of "
          f"{len(fl['crypto_s_per_gib_all'])}). The userspace floor is the plaintext relay pair's machine CPU + crypto "
          "(two more TCP connections and four socket copies per byte, what any userspace tunnel adds to plain TCP); "
          "the issue's floor is plain TCP's + crypto. The daemons' floor is the relays' own CPU + crypto. Issue 12's "
          "goal: within 1.25× of the floor.", "",
          "| figure | " + " | ".join(st(n) for n in ns) + " |", "|---|" + "---:|" * len(ns)]
    rows = [("plain TCP, machine", lambda x: v(x["machine_s_per_gib"]["tcp"])),
            ("plaintext relay pair, machine", lambda x: v(x["machine_s_per_gib"]["relay"])),
            ("plaintext relay pair, the relays' own", lambda x: v(x["daemon_s_per_gib"]["relay"])),
            ("**userspace floor** (relay pair + crypto), machine", lambda x: v(x["userspace_floor_machine"])),
            ("**issue's floor** (plain TCP + crypto), machine", lambda x: v(x["issue_floor_machine"])),
            ("daemons' floor (the relays' own + crypto)", lambda x: v(x["userspace_floor_daemon"])),
            ("ktund pair, machine", lambda x: v(x["machine_s_per_gib"]["ktund"])),
            ("stunnel4 pair, machine", lambda x: v(x["machine_s_per_gib"]["stunnel"])),
            ("ktund ÷ userspace floor, machine", lambda x: q(x["ratios"]["ktund_machine_to_userspace_floor"])),
            ("stunnel4 ÷ userspace floor, machine", lambda x: q(x["ratios"]["stunnel_machine_to_userspace_floor"])),
            ("ktund ÷ issue's floor, machine", lambda x: q(x["ratios"]["ktund_machine_to_issue_floor"])),
            ("stunnel4 ÷ issue's floor, machine", lambda x: q(x["ratios"]["stunnel_machine_to_issue_floor"])),
            ("ktund daemons ÷ daemons' floor", lambda x: q(x["ratios"]["ktund_daemon_to_userspace_floor"])),
            ("stunnel4 daemons ÷ daemons' floor", lambda x: q(x["ratios"]["stunnel_daemon_to_userspace_floor"]))]
    for label, f in rows:
        md.append(f"| {label} | " + " | ".join(f(fl["streams"][n]) for n in ns) + " |")
    return md


def host_resumption(raw, rate, cpu):
    """The connection-rate test with resumption on (ktund-resumed, stunnel-cached) next to the
    full-handshake one: rate: config -> [conn/s], cpu: config -> [ms per connection]."""
    na = next((r["na"] for r in raw if r["test"] == "conns" and r["config"] == "ktund-resumed" and "na" in r), None)
    counted = {}
    for r in raw:
        if r["test"] == "resumed":
            c = counted.setdefault(r["config"], [0, 0])
            c[0] += r["resumed"]
            c[1] += r["handshakes"]
    med = lambda d, c: median(d.get(c, []))
    out = {"ktund_na": na, "resumed_of_handshakes": counted}
    for c in ("ktund-resumed", "stunnel-cached", "ktund", "stunnel"):
        out[c] = {"conn_rate": med(rate, c), "cpu_ms_per_conn": med(cpu, c)}
    out["ratios"] = {
        # issue 14's goals: resumed ktund >= 2x stunnel with its cache; resumed CPU <= 1/3 of full
        "rate_ktund_resumed_to_stunnel_cached": ratio(out["ktund-resumed"]["conn_rate"], out["stunnel-cached"]["conn_rate"]),
        "cpu_ktund_resumed_to_full": ratio(out["ktund-resumed"]["cpu_ms_per_conn"], out["ktund"]["cpu_ms_per_conn"]),
        "cpu_stunnel_cached_to_full": ratio(out["stunnel-cached"]["cpu_ms_per_conn"], out["stunnel"]["cpu_ms_per_conn"]),
        "rate_stunnel_cached_to_full": ratio(out["stunnel-cached"]["conn_rate"], out["stunnel"]["conn_rate"]),
    }
    return out


def host_resumption_md(x):
    if x["stunnel-cached"]["conn_rate"] is None and not x["ktund_na"]:
        return []
    v = lambda c, k, f: "—" if x[c][k] is None else f.format(x[c][k])
    r = lambda k: "—" if x["ratios"][k] is None else f"{x['ratios'][k]:.2f}×"
    kr = f"n/a ({x['ktund_na']})" if x["ktund_na"] else None
    md = ["", "New connections with resumption on (fresh daemons; ktund `resumption = yes`, stunnel4 with its "
          "session cache and tickets), next to the full handshakes above:", "",
          "| figure | ktund resumed | stunnel4 cached | ktund ÷ stunnel | goal |", "|---|---:|---:|---:|---:|",
          f"| new connections/s (higher is better) | {kr or v('ktund-resumed', 'conn_rate', '{:.0f} conn/s')} | "
          f"{v('stunnel-cached', 'conn_rate', '{:.0f} conn/s')} | {kr and 'n/a' or r('rate_ktund_resumed_to_stunnel_cached')} | ≥ 2× |",
          f"| daemon CPU per connection, both ends (lower is better) | {kr or v('ktund-resumed', 'cpu_ms_per_conn', '{:.2f} ms')} | "
          f"{v('stunnel-cached', 'cpu_ms_per_conn', '{:.2f} ms')} | | |",
          f"| CPU per resumed ÷ per full connection | {kr and 'n/a' or r('cpu_ktund_resumed_to_full')} | "
          f"{r('cpu_stunnel_cached_to_full')} | | ktund ≤ 0.33× |"]
    counts = "; ".join(f"{c}: {a} of {b} handshakes resumed" for c, (a, b) in x["resumed_of_handshakes"].items())
    if counts:
        md += ["", f"Counted in the logs: {counts}."]
    return md


def plots(d, streams, tput, rr, m):
    # throughput vs streams, with the min-max over rounds as error bars
    with open(os.path.join(d, "throughput.dat"), "w") as f:
        for i, c in enumerate(TPUT_CONFIGS):
            f.write(f"# {c}\n")
            for n in streams:
                xs = tput[n].get(c, [])
                if xs:
                    f.write(f"{n} {median(xs):.3f} {min(xs):.3f} {max(xs):.3f}\n")
            f.write("\n\n")
    # latency: the CDF of the round whose p50 is the median, per config
    with open(os.path.join(d, "latency.dat"), "w") as f:
        for c in CONFIGS:
            runs = sorted((r["result"] for r in rr if r["config"] == c), key=lambda x: x["p50_us"])
            f.write(f"# {c}\n")
            if runs:
                for pct, us in runs[len(runs) // 2]["cdf"]:
                    f.write(f"{us} {pct}\n")
            f.write("\n\n")
    title = f"{m['cpu']}, {m['cores']} cores, kernel {m['kernel']}"
    gp = f"""
set terminal pngcairo size 900,560 font ",11"
set datafile separator " "
set output "{d}/throughput.png"
set title "Bulk throughput vs parallel streams (iperf3 upload, median of rounds, min-max bars)\\n{title}" noenhanced
set xlabel "parallel streams (iperf3 -P)"
set ylabel "Gbit/s"
set logscale x 2
set xtics ({", ".join(str(n) for n in streams)})
set xrange [0.8:{max(streams) * 1.25}]
set yrange [0:*]
set key top left
set grid
plot "{d}/throughput.dat" index 0 using 1:2:3:4 with yerrorlines lw 2 title "{NAMES['tcp']}", \\
     "" index 1 using 1:2:3:4 with yerrorlines lw 2 dt 2 title "{NAMES['relay']}", \\
     "" index 2 using 1:2:3:4 with yerrorlines lw 2 title "{NAMES['ktund']}", \\
     "" index 3 using 1:2:3:4 with yerrorlines lw 2 title "{NAMES['stunnel']}"
unset logscale
set output "{d}/latency.png"
set title "Request/response latency, 64-byte messages on one connection (CDF)\\n{title}" noenhanced
set xlabel "round-trip time (µs, log scale)"
set ylabel "percentile"
set logscale x 10
set xtics auto
set xrange [*:*]
set yrange [0:100]
set key bottom right
plot "{d}/latency.dat" index 0 using 1:2 with lines lw 2 title "{NAMES['tcp']}", \\
     "" index 1 using 1:2 with lines lw 2 title "{NAMES['ktund']}", \\
     "" index 2 using 1:2 with lines lw 2 title "{NAMES['stunnel']}"
"""
    open(os.path.join(d, "plots.gp"), "w").write(gp)
    subprocess.run(["gnuplot", os.path.join(d, "plots.gp")], check=True)


def strace_counts(path):
    """strace -c output -> {syscall: calls}, plus 'total'."""
    counts = {}
    if not os.path.exists(path):
        return counts
    for line in open(path):
        parts = line.split()
        if len(parts) < 5 or not parts[0][0].isdigit():
            continue
        counts[parts[-1]] = int(parts[3])
    return counts


def busy_s(before, after, tck):
    """Two /proc/stat "cpu" lines -> CPU seconds spent busy (not idle, not iowait) between."""
    a, b = [int(x) for x in before.split()[1:]], [int(x) for x in after.split()[1:]]
    d = [y - x for x, y in zip(a, b)]
    return (sum(d) - d[3] - d[4]) / tck


def vm_timed(raw, enters):
    """Timed runs (no tracer) -> rows per config and stream count, medians over rounds."""
    runs = {}
    for r in raw:
        if r["test"] == "timed":
            runs.setdefault((r["config"], r["streams"]), []).append(r)
    rows = {}
    for (cfg, n), rs in runs.items():
        gib = rs[0]["bytes"] / GIB
        dcpu = [sum(r["cpu_s"].values()) / gib for r in rs if r["cpu_s"]]
        rows[(cfg, n)] = {
            "config": cfg, "name": NAMES[cfg], "streams": n, "bytes": rs[0]["bytes"], "rounds": len(rs),
            "wall_s": median([r["wall_s"] for r in rs]), "wall_s_all": [r["wall_s"] for r in rs],
            "mbyte_per_s": median([r["bytes"] / r["wall_s"] / 1e6 for r in rs]),
            "guest_cpu_s_per_gib": median([busy_s(*r["cpu_stat"], r["clk_tck"]) / gib for r in rs]),
            "daemon_cpu_s_per_gib": median(dcpu) if dcpu else None,
            "ctxt_per_gib": median([r["ctxt"] / gib for r in rs]),
            "io_uring_enter_per_gib": enters.get((cfg, n)),
        }
    for n in sorted({n for _, n in rows}):
        hop = rows.get(("hop", n))
        floors = [rows[(f, n)]["wall_s"] for f in ("floor", "floor-copy", "floor-splice") if (f, n) in rows]
        if not hop or not floors:
            continue
        pair_floor = min(floors) + 2 * hop["wall_s"]
        for cfg in ("ktls", "ktund", "stunnel"):
            if (cfg, n) in rows:
                rows[(cfg, n)]["floor_s"] = round(pair_floor, 3)
                rows[(cfg, n)]["floor_over_time"] = round(pair_floor / rows[(cfg, n)]["wall_s"], 3)
    return [rows[k] for k in sorted(rows, key=lambda k: (k[1], ["hop", "floor", "floor-copy", "floor-splice", "ktls", "ktund", "stunnel"].index(k[0])))]


def vm_timed_md(trows, guest):
    def f(v, d=0):
        return "—" if v is None else f"{v:,.{d}f}"
    md = ["", f"Timed runs (no tracer; medians of {max((r['rounds'] for r in trows), default=0)} rounds, configurations "
          f"rotating each round) in the guest: kernel {guest.get('kernel', '?')}, {guest.get('vcpus', '?')} vCPU under "
          f"qemu TCG{' with -icount ' + guest['icount'] + ' (the guest clock counts instructions while it runs: CPU-bound times hardly depend on the host load)' if guest.get('icount') else ''}; host load average at the start {guest.get('host_load') or '?'}. The floor of a pair is the bare kernel "
          "TLS connection (the fastest of its ways) plus two plain hops, measured in the same run; floor ÷ time is the pair's efficiency "
          "against it. " + ("Emulation caveat: with -icount every guest instruction weighs the same (an AESENC as a MOV, a "
          "rep movsb per byte), so crypto is cheap and copies dear against hardware; compare each pair with the floor, "
          "not with each other." if guest.get('icount') else
          "Emulation caveat: qemu's AES-GCM through the kernel's AVX code runs at about 0.63× "
          "nettle's, so kTLS against the userspace pair in the guest handicaps kTLS; compare each pair with "
          "the floor, not with each other."), "",
          "| path | streams | time | MB/s | floor ÷ time | guest CPU s/GiB | daemons CPU s/GiB | context switches/GiB | "
          "io_uring_enter/GiB (client, server) |", "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in trows:
        e = r["io_uring_enter_per_gib"]
        md.append(f"| {r['name']} | {r['streams']} | {r['wall_s']:.2f} s | {r['mbyte_per_s']:.1f} | "
                  f"{f(r.get('floor_over_time'), 2) if r.get('floor_over_time') else '—'} | "
                  f"{r['guest_cpu_s_per_gib']:.1f} | {f(r['daemon_cpu_s_per_gib'], 1)} | {f(r['ctxt_per_gib'])} | "
                  f"{'—' if e is None else f'{e[0]:,}, {e[1]:,}'} |")
    return md


def vm(d):
    raw = load(os.path.join(d, "vm-raw.jsonl"))
    rows = []
    for r in raw:
        if r["test"] != "count":
            continue
        gib = r["bytes"] / GIB
        row = {"config": r["config"], "name": NAMES[r["config"]], "streams": r.get("streams", 1),
               "payload_bytes": r["bytes"], "wall_s": r["wall_s"]}
        for i, side in enumerate(("client", "server")):
            sc = strace_counts(os.path.join(d, r["strace"][i]))
            total = sc.pop("total", sum(sc.values()))
            per = {k: round(v / gib) for k, v in sorted(sc.items(), key=lambda kv: -kv[1])}
            io = [a - b for a, b in zip(r["io_after"][i], r["io_before"][i])]
            st = r["status"][i]
            row[side] = {
                "syscalls_per_gib": round(total / gib),
                "by_syscall_per_gib": per,
                "rchar_wchar_per_gib": [round(x / gib) for x in io],
                "payload_userspace_per_gib": (round(st["payload_userspace"] / gib) if "payload_userspace" in st
                                              else round(max(io) / gib)),
                "payload_userspace_source": "ktunctl status payload_userspace" if "payload_userspace" in st
                                            else "max(rchar, wchar) delta from /proc/PID/io",
                # copy-once receive (kernel decrypts, ktund copies through its buffer): neither
                # spliced nor through userspace crypto; absent in a ktund from before copy-once
                "payload_copied_per_gib": (round(st["payload_copied"] / gib) if "payload_copied" in st else None),
                "conns_ktls": st.get("conns_ktls"), "conns_userspace": st.get("conns_userspace"),
                "cpu_s_under_tcg_and_strace": r["cpu_s"][i],
            }
        row["tls_stat_delta"] = {}
        for i, side in enumerate(("client", "server")):
            tb, ta = r["tls_stat_before"][i], r["tls_stat_after"][i]
            row["tls_stat_delta"][side] = {k: ta[k] - tb.get(k, 0) for k in ta if ta[k] != tb.get(k, 0)}
        rows.append(row)
    enters = {(r["config"], r["streams"]): [r[s]["by_syscall_per_gib"].get("io_uring_enter", 0)
                                            for s in ("client", "server")] for r in rows}
    guest = next((r for r in raw if r["test"] == "guest"), {})
    trows = vm_timed(raw, enters)
    json.dump({"configs": rows, "timed": trows, "guest": guest}, open(os.path.join(d, "vm-results.json"), "w"),
              indent=1)

    def top(per, n=4):
        return ", ".join(f"{k} {v:,}" for k, v in list(per.items())[:n])

    md = ["Counted runs (strace -c -f attached to each daemon):", "",
          "| path | streams | daemon | syscalls per GiB | of which io_uring_enter | top syscalls per GiB | "
          "payload bytes through userspace crypto per GiB | kernel-decrypted payload copied per GiB |",
          "|---|---:|---|---:|---:|---|---:|---:|"]
    for row in rows:
        for side in ("client", "server"):
            s = row[side]
            md.append(f"| {row['name']} | {row['streams']} | {side} | {s['syscalls_per_gib']:,} | "
                      f"{s['by_syscall_per_gib'].get('io_uring_enter', 0):,} | {top(s['by_syscall_per_gib'])} | "
                      f"{s['payload_userspace_per_gib']:,} | "
                      f"{'—' if s['payload_copied_per_gib'] is None else format(s['payload_copied_per_gib'], ',')} |")
    md.append("")
    md.append("Payload per counted run: " + ", ".join(f"{r['name']} ({r['streams']}) {r['payload_bytes'] >> 20} MiB in {r['wall_s']} s"
                                             for r in rows) + ". /proc/net/tls_stat deltas: " +
              "; ".join(f"{r['name']} {side}: " + (", ".join(f"{k} +{v}" for k, v in r["tls_stat_delta"][side].items())
                                                     or "none")
                        for r in rows for side in ("client", "server")) + ".")
    if trows:
        md += vm_timed_md(trows, guest)
    open(os.path.join(d, "vm-results.md"), "w").write("\n".join(md) + "\n")


# ---------------------------------------------------------------- profile
CATEGORIES = ["crypto", "TLS library (records, handshake logic)", "certificate parsing (libtasn1)",
              "userspace copies (memcpy/memmove)", "libc other (malloc, locks)", "daemon code and liburing",
              "kernel: socket copies", "kernel: TCP/IP, syscalls, io_uring, scheduling", "other"]
CRYPTO_INSN = re.compile(r"^v?(aes(enc|dec)|pclmul)|^sha(1|256)(rnds|msg)|^(mulx|adcx|adox)\b")
CRYPTO_SYM = re.compile(r"aes|gcm|ghash|gf128|sha\d|sha_|ecp_|ec_|ecdsa|ecc|bn_|p256|nistz|x25519|chacha|"
                        r"poly1305|mont|mpn_|mpz_|ossl_ec|_nettle|nettle_", re.I)


class Disasm:
    """Tells whether an address of a stripped library lies in crypto code: AES-NI, carry-less
    multiply, SHA extensions or the mulx/adcx/adox bignum instructions within 32 instructions."""

    def __init__(self):
        self.libs = {}

    def _load(self, dso):
        if dso in self.libs:
            return self.libs[dso]
        path = None
        for d in ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib"):
            if os.path.exists(os.path.join(d, dso)):
                path = os.path.join(d, dso)
                break
        addrs, crypto = [], []
        if path:
            out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", path], capture_output=True,
                                 text=True).stdout
            for line in out.splitlines():
                m = re.match(r"^\s+([0-9a-f]+):\s+(\S+)", line)
                if m:
                    addrs.append(int(m.group(1), 16))
                    crypto.append(bool(CRYPTO_INSN.match(m.group(2))))
        self.libs[dso] = (addrs, crypto)
        return self.libs[dso]

    def is_crypto(self, dso, addr):
        import bisect
        addrs, crypto = self._load(dso)
        if not addrs:
            return False
        i = bisect.bisect_left(addrs, addr)
        return any(crypto[max(0, i - 32):i + 32])


def classify(dso, sym, dis):
    if dso == "[kernel.kallsyms]":
        if re.search(r"copy_(to|from)_iter|copy_user|rep_movs|memcpy|copy_page|csum_partial_copy", sym):
            return "kernel: socket copies"
        return "kernel: TCP/IP, syscalls, io_uring, scheduling"
    if dso.startswith("libc.so"):
        if re.search(r"mem(move|cpy)", sym):
            return "userspace copies (memcpy/memmove)"
        return "libc other (malloc, locks)"
    if re.match(r"lib(nettle|hogweed|gmp)\.", dso):
        return "crypto"
    if dso.startswith("libtasn1"):
        return "certificate parsing (libtasn1)"
    if re.match(r"lib(gnutls|crypto|ssl)\.", dso):
        if sym.startswith("0x"):
            return "crypto" if dis.is_crypto(dso, int(sym, 16)) else "TLS library (records, handshake logic)"
        return "crypto" if CRYPTO_SYM.search(sym) else "TLS library (records, handshake logic)"
    if dso in ("ktund", "stunnel4", "floortool") or dso.startswith("liburing"):
        return "daemon code and liburing"
    return "other"


def profile(d):
    raw = [r for r in load(os.path.join(d, "raw.jsonl")) if r["test"] == "profile"]
    dis = Disasm()
    hz = 1999.0
    res = []
    for r in raw:
        for side in ("client", "server"):
            path = os.path.join(d, f"perf-{r['config']}-{r['what']}-{side}.txt")
            cats = {c: 0 for c in CATEGORIES}
            top = []
            total = 0
            for line in open(path):
                parts = [x.strip() for x in line.split(";")]
                if len(parts) < 4:
                    continue
                n = int(parts[1])
                dso, sym = parts[2], parts[3].split("] ", 1)[-1]
                cat = classify(dso, sym, dis)
                cats[cat] += n
                total += n
                top.append((n, dso, sym, cat))
            top.sort(reverse=True)
            per = (r["amount"] / GIB) if r["what"] == "bulk" else r["amount"]
            res.append({
                "config": r["config"], "what": r["what"], "side": side, "samples": total,
                "cpu_s": round(total / hz, 3),
                "unit": "CPU s per GiB" if r["what"] == "bulk" else "CPU ms per connection",
                "per_unit": round(total / hz / per * (1 if r["what"] == "bulk" else 1000), 4) if per else None,
                "share": {c: round(100.0 * v / total, 1) if total else 0 for c, v in cats.items()},
                "top": [{"samples": n, "dso": dso, "symbol": sym, "category": cat} for n, dso, sym, cat in top[:12]],
            })
    json.dump({"hz": hz, "profiles": res}, open(os.path.join(d, "profile.json"), "w"), indent=1)

    md = []
    for what, title in (("bulk", "Bulk upload, 1 stream (share of each daemon's CPU samples)"),
                        ("conns", "New connections, 32 at a time (share of each daemon's CPU samples)")):
        rows = [x for x in res if x["what"] == what]
        if not rows:
            continue
        md.append(f"**{title}**")
        md.append("")
        md.append("| where | " + " | ".join(f"{NAMES[x['config']].split(' (')[0]} {x['side']}" for x in rows) + " |")
        md.append("|---|" + "---:|" * len(rows))
        md.append(f"| {rows[0]['unit']} (perf samples) | " + " | ".join(f"{x['per_unit']:.3g}" for x in rows) + " |")
        for c in CATEGORIES:
            if any(x["share"][c] >= 0.5 for x in rows):
                md.append(f"| {c} | " + " | ".join(f"{x['share'][c]:.0f} %" for x in rows) + " |")
        md.append("")
    md.append("Top symbols (samples, library, symbol → category):")
    md.append("")
    for x in res:
        md.append(f"* {NAMES[x['config']].split(' (')[0]} {x['side']}, {x['what']}: " + "; ".join(
            f"{t['samples']} {t['dso']} {t['symbol']} → {t['category'].split(' (')[0]}" for t in x["top"][:6]))
    open(os.path.join(d, "profile.md"), "w").write("\n".join(md) + "\n")


WAN_TTFB = ["tcp", "ktund-cold", "ktund-resumed", "ktund-pool", "stunnel-cached"]
WAN_NAMES = {"tcp": "direct TCP", "ktund-cold": "ktund pair, cold (full handshakes)",
             "ktund-resumed": "ktund pair, resumed", "ktund-pool": "ktund pair, warm pool",
             "stunnel-cached": "stunnel4 pair, session cache on", "ktund": "ktund pair", "stunnel": "stunnel4 pair"}
# (numerator, denominator, goal or None): issue 14's goals are pool/direct <= 0.6, resumed/cold <= 0.8
WAN_RATIOS = [("ktund-pool", "tcp", 0.6), ("ktund-resumed", "ktund-cold", 0.8), ("ktund-cold", "tcp", None),
              ("ktund-cold", "stunnel-cached", None), ("ktund-resumed", "stunnel-cached", None),
              ("ktund-pool", "stunnel-cached", None), ("stunnel-cached", "tcp", None)]


def wan_pct(xs, p):
    """benchtool's percentile: the sample at floor((n - 1) * p / 100) of the sorted list."""
    return xs[int((len(xs) - 1) * p / 100.0)] if xs else None


def wan_ttfb(raw):
    """config -> figures over all its rounds (samples pooled), or {"na": why}."""
    out, cpu, conns = {}, {}, {}
    for r in raw:
        if r["test"] != "ttfb":
            continue
        c = r["config"]
        if "na" in r:
            out[c] = {"na": r["na"]}
            continue
        j = r["result"]
        x = out.setdefault(c, {"rounds": 0, "count": 0, "ok": 0, "errors": 0, "first_error": None,
                               "first_us": j.get("first_us"), "samples_us": [], "exit": 0})
        x["rounds"] += 1
        for k in ("count", "ok", "errors"):
            x[k] += j[k]
        x["first_error"] = x["first_error"] or j.get("first_error")
        x["exit"] = max(x["exit"], r.get("exit") or 0)
        x["samples_us"] += j.get("samples_us", [])
        if "ktls_tx_sessions" in r:
            x["ktls_tx_sessions"] = x.get("ktls_tx_sessions", 0) + r["ktls_tx_sessions"]
        # counts written into the ttfb record itself (a run of one round)
        for k in ("handshakes", "resumed", "pool"):
            if k in r:
                x[k] = r[k]
        if r.get("cpu_s_before") and r.get("cpu_s_after"):
            cpu[c] = cpu.get(c, 0) + sum(r["cpu_s_after"]) - sum(r["cpu_s_before"])
            conns[c] = conns.get(c, 0) + j["count"] + j["warm"]
    for r in raw:
        if r["test"] == "ttfb_counts" and r["config"] in out:
            out[r["config"]].update({k: r[k] for k in ("handshakes", "resumed", "pool") if k in r})
    for c, x in out.items():
        if "na" in x:
            continue
        s = x["samples_us"] = sorted(x["samples_us"])
        x.update(mean_us=round(sum(s) / len(s), 1) if s else None, min_us=s[0] if s else None,
                 p50_us=wan_pct(s, 50), p90_us=wan_pct(s, 90), p99_us=wan_pct(s, 99), max_us=s[-1] if s else None)
        if conns.get(c):
            x["cpu_ms_per_conn"] = round(1000 * cpu[c] / conns[c], 2)
    return out


def wan_netem(raw):
    before = next((r["qdisc"] for r in raw if r["test"] == "netem_before"), {})
    after = next((r["qdisc"] for r in raw if r["test"] == "netem_after"), {})
    res = {}
    for dev, a in after.items():
        b = before.get(dev, {"sent_pkts": 0, "dropped": 0})
        sent, drop = a["sent_pkts"] - b["sent_pkts"], a["dropped"] - b["dropped"]
        res[dev] = {"sent_pkts": sent, "dropped": drop,
                    "drop_pct": round(100 * drop / (sent + drop), 3) if sent + drop else None}
    return res


def wan(d):
    raw = load(os.path.join(d, "wan-raw.jsonl"))
    setup = next(r for r in raw if r["test"] == "wan")
    ttfb = wan_ttfb(raw)
    bulk = {r["config"]: ({"failed": r["failed"]} if "failed" in r else
                          {"mbit_s": round(r["result"]["bps"] / 1e6, 2), "retransmits": r["result"]["retransmits"],
                           "bytes": r["result"]["bytes"]}) for r in raw if r["test"] == "bulk"}
    p50 = {c: x.get("p50_us") for c, x in ttfb.items()}
    p99 = {c: x.get("p99_us") for c, x in ttfb.items()}
    ratios = [{"of": a, "to": b, "goal_at_most": g, "p50": ratio(p50.get(a), p50.get(b)),
               "p99": ratio(p99.get(a), p99.get(b)),
               "na": ttfb.get(a, {}).get("na") or ttfb.get(b, {}).get("na")} for a, b, g in WAN_RATIOS]
    mb = {c: x.get("mbit_s") for c, x in bulk.items()}
    bulk_ratios = {"ktund/tcp": ratio(mb.get("ktund"), mb.get("tcp")),
                   "ktund/stunnel": ratio(mb.get("ktund"), mb.get("stunnel"))}
    netem = wan_netem(raw)
    res = {"setup": setup, "ttfb": ttfb, "ttfb_ratios": ratios, "bulk": bulk, "bulk_ratios": bulk_ratios,
           "netem": netem, "names": WAN_NAMES}
    json.dump(res, open(os.path.join(d, "wan-results.json"), "w"), indent=1)

    ms = lambda us: "—" if us is None else f"{us / 1000:.1f} ms"
    md = [f"WAN link in the guest: kernel {setup['kernel']}, {setup['vcpus']} vCPU under qemu TCG; netem "
          f"{setup['delay_ms_each_way']} ms and {setup['loss_each_way']} loss each way (40 ms round trip); "
          f"{setup['requests']} timed connections per variant, in {setup.get('rounds', 1)} round(s) taking turns, each after "
          f"one not counted; {setup['ktund_version']} ({setup.get('ktun_commit') or '?'}); "
          f"{setup['stunnel']}; host load {setup.get('host_load') or '?'}.",
          "Loss measured at the router: " + ", ".join(
              f"{dev} {x['dropped']} of {x['sent_pkts'] + x['dropped']} packets ({x['drop_pct']} %)"
              for dev, x in netem.items()) + ".", "",
          "Time to first byte of a 64-byte request on a new connection (connect() to the first reply byte):", "",
          "| variant | p50 | p90 | p99 | max | connections ok / errors | handshakes (resumed) | daemon CPU per connection |",
          "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for c in WAN_TTFB:
        x = ttfb.get(c)
        if x is None:
            md.append(f"| {WAN_NAMES[c]} | not run | | | | | | |")
            continue
        if "na" in x:
            md.append(f"| {WAN_NAMES[c]} | n/a ({x['na']}) | | | | | | |")
            continue
        hs = f"{x['handshakes']} ({x['resumed']})" if "handshakes" in x else "—"
        cpu = f"{x['cpu_ms_per_conn']:.1f} ms" if "cpu_ms_per_conn" in x else "—"
        md.append(f"| {WAN_NAMES[c]} | {ms(x['p50_us'])} | {ms(x['p90_us'])} | {ms(x['p99_us'])} | "
                  f"{ms(x['max_us'])} | {x['ok']} / {x['errors']} | {hs} | {cpu} |")
    for c in WAN_TTFB:
        x = ttfb.get(c, {})
        if x.get("errors"):
            md.append(f"\n{WAN_NAMES[c]}: {x['errors']} failed connections, the first: {x['first_error']}.")
        if x.get("pool"):
            md.append(f"\n{WAN_NAMES[c]}: the client's pool counters: " +
                      ", ".join(f"{k} {v}" for k, v in x["pool"].items()) + ".")
    md += ["", "| ratio (time to first byte) | p50 | p99 | goal |", "|---|---:|---:|---:|"]
    for r in ratios:
        name = f"{WAN_NAMES[r['of']]} ÷ {WAN_NAMES[r['to']]}"
        goal = f"≤ {r['goal_at_most']}" if r["goal_at_most"] else ""
        if r["na"]:
            md.append(f"| {name} | n/a ({r['na']}) | | {goal} |")
        else:
            f2 = lambda v: "—" if v is None else f"{v:.2f}×"
            md.append(f"| {name} | {f2(r['p50'])} | {f2(r['p99'])} | {goal} |")
    md += ["", "Bulk throughput over the same link (iperf3 upload, one stream, "
           f"{setup['bulk_secs']} s):", "", "| path | Mbit/s | retransmits |", "|---|---:|---:|"]
    for c in ("tcp", "ktund", "stunnel"):
        x = bulk.get(c)
        if x is None or "failed" in x:
            md.append(f"| {WAN_NAMES[c]} | {'not run' if x is None else x['failed']} | |")
        else:
            md.append(f"| {WAN_NAMES[c]} | {x['mbit_s']:.1f} | {x['retransmits']} |")
    md.append("")
    md.append("ktund ÷ TCP " + (f"{bulk_ratios['ktund/tcp']:.2f}×" if bulk_ratios["ktund/tcp"] else "—") +
              ", ktund ÷ stunnel " + (f"{bulk_ratios['ktund/stunnel']:.2f}×" if bulk_ratios["ktund/stunnel"] else "—") +
              ". One stream for a few seconds over a lossy link: when the losses fall decides much of"
              " it, so the spread between runs is wide; the daemons' CPU under TCG bounds the tunnels too.")
    open(os.path.join(d, "wan-results.md"), "w").write("\n".join(md) + "\n")
    wan_plots(d, ttfb, bulk, setup)


def wan_plots(d, ttfb, bulk, setup):
    have = [c for c in WAN_TTFB if ttfb.get(c, {}).get("samples_us")]
    with open(os.path.join(d, "wan-ttfb.dat"), "w") as f:
        for c in have:
            s = ttfb[c]["samples_us"]
            f.write(f"# {c}\n")
            for i, us in enumerate(s):
                f.write(f"{us / 1000:.3f} {100 * (i + 1) / len(s):.2f}\n")
            f.write("\n\n")
    bars = [c for c in ("tcp", "ktund", "stunnel") if "mbit_s" in bulk.get(c, {})]
    with open(os.path.join(d, "wan-bulk.dat"), "w") as f:
        for i, c in enumerate(bars):
            f.write(f'{i} "{WAN_NAMES[c]}" {bulk[c]["mbit_s"]}\n')
    title = (f"{setup['delay_ms_each_way']} ms + {setup['loss_each_way']} loss each way (netem), "
             f"kernel {setup['kernel']} under qemu TCG")
    plot = ", \\\n     ".join(f'"{d}/wan-ttfb.dat" index {i} using 1:2 with steps lw 2 title "{WAN_NAMES[c]}"'
                              for i, c in enumerate(have))
    gp = f"""
set terminal pngcairo size 900,560 font ",11"
set output "{d}/wan-ttfb.png"
set title "Time to first byte of a new connection over a 40 ms link (CDF)\\n{title}" noenhanced
set xlabel "connect() to first reply byte (ms)"
set ylabel "percentile"
set yrange [0:100]
set key bottom right
set grid
{"plot " + plot if plot else "set label 'no samples' at graph 0.4,0.5; plot [0:1] NaN notitle"}
set output "{d}/wan-bulk.png"
set title "Bulk throughput over the same link (iperf3, one stream)\\n{title}" noenhanced
set style fill solid 0.6
set boxwidth 0.6
set xlabel ""
set ylabel "Mbit/s"
set yrange [0:*]
set xrange [-0.6:{max(len(bars), 1) - 0.4}]
unset key
{f'plot "{d}/wan-bulk.dat" using 1:3:xtic(2) with boxes' if bars else "plot [0:1] NaN notitle"}
"""
    open(os.path.join(d, "wan-plots.gp"), "w").write(gp)
    subprocess.run(["gnuplot", os.path.join(d, "wan-plots.gp")], check=True)


if __name__ == "__main__":
    modes = {"host": host, "vm": vm, "profile": profile, "wan": wan}
    if len(sys.argv) != 3 or sys.argv[1] not in modes:
        sys.exit("usage: report.py host|vm|profile|wan DIR")
    modes[sys.argv[1]](sys.argv[2])
