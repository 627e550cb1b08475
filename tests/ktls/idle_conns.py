#!/usr/bin/env python3
"""Many idle kTLS connections must not cost kernel threads, nor stall the others.

idle_conns.py PORT N BYTES MAX_THREADS PID...
Opens N connections through a ktund pair (PORT is the client's listener, an echo origin
behind), proves each one works with a one-byte echo, then leaves them idle. Each PID (the
ktund processes) must settle to at most MAX_THREADS threads while they stay open: a splice
that blocked would hold an io-wq thread per direction per connection. Then BYTES go through
a new connection beside them and must come back unchanged. Exit 0 when both hold.
"""
import selectors
import socket
import sys
import time

from echo_through import echo_through


def threads(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return -1


def open_batch(port, n, deadline):
    sel = selectors.DefaultSelector()
    conns = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.setblocking(False)
        s.send(b"i")
        sel.register(s, selectors.EVENT_READ)
        conns.append(s)
    waiting = n
    while waiting and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            if key.fileobj.recv(1) != b"i":
                raise SystemExit("an idle connection ended before its echo")
            sel.unregister(key.fileobj)
            waiting -= 1
    if waiting:
        raise SystemExit(f"{waiting} of {n} connections got no echo in time")
    return conns


def open_idle(port, n, deadline):
    # In batches: hundreds of handshakes at once under qemu's emulation would outlast the
    # handshake timeout.
    conns = []
    while len(conns) < n:
        conns += open_batch(port, min(32, n - len(conns)), deadline)
    return conns


def main():
    port, n, nbytes, max_threads = (int(a) for a in sys.argv[1:5])
    pids = sys.argv[5:]
    start = time.monotonic()
    conns = open_idle(port, n, start + 120)
    print(f"{n} connections open and idle after {time.monotonic() - start:.1f} s; "
          f"threads {[threads(p) for p in pids]}")
    # io-wq lets a worker that found no work go after 5 s; give the count time to settle.
    settle = time.monotonic() + 15
    while time.monotonic() < settle and max(threads(p) for p in pids) > max_threads:
        time.sleep(0.5)
    counts = [threads(p) for p in pids]
    print(f"threads with {n} idle connections: {counts} (at most {max_threads} wanted)")
    t0 = time.monotonic()
    ok = echo_through(port, nbytes, timeout=60)
    print(f"{nbytes} bytes echoed beside them in {time.monotonic() - t0:.1f} s: "
          f"{'checksum equal' if ok else 'CHECKSUM DIFFERS'}")
    for s in conns:
        s.close()
    sys.exit(0 if ok and max(counts) <= max_threads else 1)


if __name__ == "__main__":
    main()
