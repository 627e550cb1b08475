#!/usr/bin/env python3
"""kTLS connections that received bulk data give their buffers' pages back once idle.

idle_release.py PORT N BYTES PID...
Opens N connections through a ktund pair (PORT is the client's listener, an echo origin
behind) and echoes BYTES through each, so that both daemons receive BYTES per connection
from their TLS peer into their receive buffers (copy-once, pump_ktls.c). The connections
then stay open and idle. Each PID (the ktund processes) must give at least FLOOR bytes per
connection of anonymous resident memory back within 20 s (the idle hook runs after 2 s). Then BYTES
go through every one of the idle connections again and must come back unchanged: a
connection that gave its pages back reads on into fresh ones. Exit 0 when both hold.
"""
import os
import sys
import time

from idle_conns import open_idle

# Per connection. Under emulation a recvmsg often finds a few records only, so a connection
# touches 30-110 KiB of its buffers (given back: 716-2,656 KiB for 24 in five runs); without
# the release the daemons give back nothing at all (0 and 0: RssAnon, and the buffer block
# opts out of huge pages, which kept it moving).
FLOOR = 8 * 1024


def anon_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    raise SystemExit(f"no RssAnon for {pid}")


def echo_all(conns, nbytes):
    """Echoes nbytes through each connection in turn; True if every echo came back exact."""
    for s in conns:
        data = os.urandom(nbytes)
        s.setblocking(True)
        s.settimeout(60)
        s.sendall(data)
        got = bytearray()
        while len(got) < nbytes:
            d = s.recv(nbytes - len(got))
            if not d:
                return False
            got.extend(d)
        if bytes(got) != data:
            return False
    return True


def main():
    port, n, nbytes = (int(a) for a in sys.argv[1:4])
    pids = sys.argv[4:]
    conns = open_idle(port, n, time.monotonic() + 120)
    if not echo_all(conns, nbytes):
        raise SystemExit("the first echo through the connections differs")
    busy = [anon_kib(p) for p in pids]
    want = n * FLOOR // 1024
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        now = [anon_kib(p) for p in pids]
        if all(b - a >= want for b, a in zip(busy, now)):
            break
        time.sleep(0.5)
    now = [anon_kib(p) for p in pids]
    freed = [b - a for b, a in zip(busy, now)]
    print(f"RssAnon after {n} x {nbytes} bytes: {busy} KiB; idle: {now} KiB; given back {freed} KiB "
          f"(at least {want} wanted from each)")
    released = all(f >= want for f in freed)
    again = echo_all(conns, nbytes)
    print(f"{nbytes} bytes echoed again through each idle connection: "
          f"{'equal' if again else 'DIFFER'}")
    for s in conns:
        s.shutdown(1)
        while s.recv(65536):
            pass
        s.close()
    sys.exit(0 if released and again else 1)


if __name__ == "__main__":
    main()
