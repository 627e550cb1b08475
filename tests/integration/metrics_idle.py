#!/usr/bin/env python3
"""Idle and slow clients against ktund's GET /metrics (tests/integration/metrics.sh).

  metrics_idle.py HOST:PORT PER_ADDR ADDRS TIMEOUT_S

From ADDRS source addresses (127.0.0.2, 127.0.0.3, ...) opens PER_ADDR connections each and
leaves them idle, every other one with a partial request (a request line and one header, no
end). Then: a scrape from 127.0.0.1 must answer 200 with ktund's metrics within 5 s; two
more connections from 127.0.0.2 must be closed by the server at once (its per-address limit);
every held connection must be closed by the server within TIMEOUT_S + 5 s. Prints one line per
check; exit 1 on the first that fails.
"""
import socket
import sys
import time


def connect(src, addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.connect(addr)
    return s


def closed_by_server(s, within):
    """True if the server ends s (EOF or reset) within `within` seconds."""
    s.settimeout(within)
    try:
        while s.recv(4096):
            pass
        return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def scrape(addr):
    s = connect("127.0.0.1", addr)
    s.settimeout(5)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: ktund\r\nConnection: close\r\n\r\n")
    body = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return body
        body += chunk


def main():
    host, _, port = sys.argv[1].rpartition(":")
    addr = (host, int(port))
    per_addr, n_addrs, timeout = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    held = []
    for a in range(2, 2 + n_addrs):
        for i in range(per_addr):
            s = connect(f"127.0.0.{a}", addr)
            if i % 2:
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: ktund\r\n")
            held.append(s)
    opened = time.monotonic()
    try:
        body = scrape(addr)
    except OSError as e:
        sys.exit(f"FAIL: scrape with {len(held)} idle connections open: {e!r}")
    if not body.startswith(b"HTTP/1.1 200") or b"\nktund_connections_total{" not in body:
        sys.exit(f"FAIL: scrape answered {body[:80]!r}")
    print(f"scrape with {len(held)} idle connections open: 200 in {time.monotonic() - opened:.2f} s")
    for n in (per_addr + 1, per_addr + 2):
        if not closed_by_server(connect("127.0.0.2", addr), 3):
            sys.exit(f"FAIL: connection {n} from 127.0.0.2 is held, not closed at once")
    print(f"connections {per_addr + 1} and {per_addr + 2} from one address: closed at once")
    for s in held:
        left = opened + timeout + 5 - time.monotonic()
        if not closed_by_server(s, max(left, 0.1)):
            sys.exit(f"FAIL: an idle connection is still open {timeout + 5:.0f} s later")
    print(f"all {len(held)} idle connections closed by the server after "
          f"{time.monotonic() - opened:.1f} s (timeout {timeout:.0f} s)")


if __name__ == "__main__":
    main()
