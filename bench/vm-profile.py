#!/usr/bin/env python3
"""bench/vm-profile.py OUT MIB [--detail] — break bench/vm-profile.sh's samples down (issue 12).

Reads OUT/script-LABEL-N.txt (perf script -F comm,ip,sym,dso of `perf record -a -g -F 4000 -e
cpu-clock` in a 1-vCPU guest: one sample = 0.25 ms of that vCPU) and prints, per label and stream
count, CPU seconds per GiB in each group of buckets (--detail: each bucket). A sample goes to the first bucket that matches:
  idle         the idle task (swapper) in its idle loop
  handshake    a frame of the TLS libraries in userspace (gnutls, nettle, hogweed, gmp, tasn1,
               p11-kit): the mTLS handshakes, which the floor (static keys) does not make
  crypto       the kernel's AES-GCM: a kernel frame of aes/gcm/ghash code near the leaf
  zero:WHERE   a fresh page zeroed on allocation (clear_page under the page allocator: Debian's
               kernels zero every page they hand out, CONFIG_INIT_ON_ALLOC_DEFAULT_ON), WHERE as for copy
  copy:WHERE   a copy routine (copy_user, memcpy, _copy_to/from_iter...); WHERE = the nearest
               caller that says which copy (tls recvmsg, tls sendmsg, tcp recvmsg, tcp sendmsg,
               splice, other) and whose process (app = benchtool, ktund, io-wq = iou-wrk-*)
  switch       under __schedule / __switch_to / finish_task_switch (the context switch itself)
  io-wq        anything else in an iou-wrk-* thread (io_uring's worker threads: the splices)
  tcp          anything else under tcp_/ip_/net_rx/loopback code
  io_uring     anything else under io_uring code in the kernel
  ktund user   ktund's own userspace (ktund, liburing, libc in ktund's threads)
  other        the rest (syscall entry, memory management, timers, perf...)
"""
import re
import sys

GIB = float(1 << 30)
HZ = 4000.0
CRYPTO = re.compile(r"aes|gcm|ghash|gf128|clmul|crypto_|chacha|poly1305", re.I)
TLSLIBS = re.compile(r"lib(gnutls|nettle|hogweed|gmp|tasn1|p11-kit|idn2|unistring)")
COPY = re.compile(r"copy_user|memcpy|memmove|rep_movs|copy_to_iter|copy_from_iter|copy_page|"
                  r"_copy_to_user|_copy_from_user|copyin|copyout|skb_copy_bits|csum_partial_copy")
SWITCH = re.compile(r"^(__schedule|__switch_to|__switch_to_asm|finish_task_switch|schedule|context_switch)")
TCP = re.compile(r"^(tcp_|__tcp|ip_|__ip|ipv4|net_rx|__netif|netif_|loopback_|__dev_queue|dev_hard|"
                 r"process_backlog|__napi|napi_|sk_|skb_|__skb|lock_sock|release_sock)")
IOURING = re.compile(r"^(io_|__io_)")
WHERE = [("tls recvmsg", re.compile(r"^(tls_sw_recvmsg|tls_rx_rec|tls_decrypt|process_rx_list)")),
         ("tls splice_read", re.compile(r"^tls_sw_splice_read")),
         ("tls sendmsg", re.compile(r"^(tls_sw_sendmsg|tls_sw_splice_eof|tls_push)")),
         ("splice", re.compile(r"^(splice_|do_splice|__splice|iter_file_splice|vmsplice|skb_splice|"
                               r"io_splice|direct_splice|generic_splice|pipe_)")),
         ("tcp recvmsg", re.compile(r"^(tcp_recvmsg|tcp_read)")),
         ("tcp sendmsg", re.compile(r"^(tcp_sendmsg|do_tcp_sendpages)"))]


def samples(path):
    comm, frames = None, []
    for line in open(path, errors="replace"):
        if not line.strip():
            if comm is not None:
                yield comm, frames
            comm, frames = None, []
        elif not line[0].isspace():
            comm, frames = line.split()[0], []
        else:
            p = line.split(None, 2)
            sym = p[1] if len(p) > 1 else "[unknown]"
            dso = p[2].strip().strip("()") if len(p) > 2 else ""
            frames.append((re.sub(r"\+0x[0-9a-f]+$", "", sym), dso))
    if comm is not None:
        yield comm, frames


def who(comm):
    if comm.startswith("iou-wrk") or comm.startswith("iou-sqp"):
        return "io-wq"
    if comm.startswith("ktund"):
        return "ktund"
    if comm.startswith("benchtool"):
        return "app"
    return comm.split("/")[0]


def bucket(comm, frames):
    syms = [s for s, _ in frames]
    leaf = syms[0] if syms else ""
    if comm == "swapper" and any(s in ("default_idle", "do_idle", "cpu_idle_poll", "default_idle_call")
                                 for s in syms):
        return "idle"
    if any(TLSLIBS.search(d) for _, d in frames):
        return "handshake"
    if any(CRYPTO.search(s) and d.startswith("[kernel") for s, d in frames[:6]):
        return "crypto"
    if leaf.startswith("clear_page") and any(s == "get_page_from_freelist" for s in syms):
        for name, rx in WHERE:
            if any(rx.search(s) for s in syms):
                return f"zero: {name} ({who(comm)})"
        return f"zero: other ({who(comm)})"
    if COPY.search(leaf) or (len(syms) > 1 and COPY.search(syms[1]) and leaf.startswith("rep_")):
        for name, rx in WHERE:
            if any(rx.search(s) for s in syms):
                return f"copy: {name} ({who(comm)})"
        return f"copy: other ({who(comm)})"
    if any(SWITCH.search(s) for s in syms):
        return "switch"
    if who(comm) == "io-wq":
        return "io-wq"
    if any(TCP.search(s) for s in syms):
        return "tcp"
    if any(IOURING.search(s) for s in syms):
        return "io_uring"
    if who(comm) == "ktund" and frames and not frames[0][1].startswith("[kernel"):
        return "ktund user"
    return "other"


GROUPS = [("kernel AES-GCM", lambda b: b == "crypto"),
          ("handshakes (userspace TLS libraries)", lambda b: b == "handshake"),
          ("copy: the app's send and recv (benchtool)", lambda b: b.startswith("copy") and "(app)" in b
           and "tls" not in b),
          ("copy: kTLS recvmsg into the receiver's buffer", lambda b: b.startswith("copy: tls recvmsg")),
          ("copy: ktund's send (copy-once receive, passing on)", lambda b: b.startswith("copy: tcp sendmsg (ktund")),
          ("copy: other", lambda b: b.startswith("copy")),
          ("zeroing fresh pages (init_on_alloc), kTLS send", lambda b: b.startswith("zero: tls sendmsg")),
          ("zeroing fresh pages (init_on_alloc), TCP send", lambda b: b.startswith("zero: tcp sendmsg")),
          ("zeroing fresh pages, other", lambda b: b.startswith("zero")),
          ("io-wq (the send direction's splices: kTLS framing, TCP)", lambda b: b == "io-wq"),
          ("io_uring (kernel, in ktund's threads)", lambda b: b == "io_uring"),
          ("context switches (scheduler)", lambda b: b == "switch"),
          ("TCP/IP (rest)", lambda b: b == "tcp"),
          ("ktund's own userspace (ktund, libc, liburing)", lambda b: b == "ktund user"),
          ("other (syscall entry, mm, perf, bash)", lambda b: b == "other")]


def main():
    out, mib = sys.argv[1], float(sys.argv[2])
    gib = mib * (1 << 20) / GIB
    labels = [(l, n) for n in (1, 8) for l in ("pair", "copy+copy", "vmsplice+zc", "hop")]
    table, names = {}, set()
    for l, n in labels:
        try:
            got = {}
            for comm, frames in samples(f"{out}/script-{l}-{n}.txt"):
                b = bucket(comm, frames)
                got[b] = got.get(b, 0) + 1
        except FileNotFoundError:
            continue
        table[(l, n)] = got
        names |= set(got)
    if "--detail" not in sys.argv:
        grouped = {}
        for k, got in table.items():
            g = grouped[k] = {}
            for b, v in got.items():
                name = "idle" if b == "idle" else next(n for n, f in GROUPS if f(b))
                g[name] = g.get(name, 0) + v
        table, names = grouped, {n for g in grouped.values() for n in g}
    rank = [n for n, _ in GROUPS] + ["idle"]
    order = sorted(names, key=lambda b: rank.index(b) if b in rank else -1)
    cols = [k for k in labels if k in table]
    print("| CPU s per GiB | " + " | ".join(f"{l} ({n})" for l, n in cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for b in order + ["busy (all but idle)"]:
        vals = []
        for k in cols:
            c = (sum(v for x, v in table[k].items() if x != "idle") if b.startswith("busy")
                 else table[k].get(b, 0))
            vals.append(f"{c / HZ / gib:.2f}")
        print(f"| {b} | " + " | ".join(vals) + " |")
    print("| samples | " + " | ".join(str(sum(table[k].values())) for k in cols) + " |")


if __name__ == "__main__":
    main()
