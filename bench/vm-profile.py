#!/usr/bin/env python3
"""bench/vm-profile.py OUT MIB — break bench/vm-profile.sh's samples down (issue 12).

Reads OUT/script-LABEL-N.txt (perf script -F comm,ip,sym,dso of `perf record -a -g -F 4000 -e
cpu-clock` in a 1-vCPU guest: one sample = 0.25 ms of that vCPU) and prints, per label and stream
count, CPU seconds per GiB in each bucket. A sample goes to the first bucket that matches:
  idle         the idle task (swapper) in its idle loop
  crypto       AES-GCM: a frame of the kernel's aes/gcm/ghash code, or of nettle/gnutls/hogweed
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
CRYPTO = re.compile(r"aes|gcm|ghash|gf128|clmul|crypto_|chacha|poly1305|nettle|gnutls|hogweed|_gcm_", re.I)
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
    if any(CRYPTO.search(s) or CRYPTO.search(d) for s, d in frames[:6]):
        return "crypto"
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
    order = sorted(names, key=lambda b: (b == "idle", b == "other", b))
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
