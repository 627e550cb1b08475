#!/usr/bin/env python3
"""Times connect(): N TCP connects to HOST PORT, each closed at once (RST, so no TIME_WAIT
piles up), and prints the median, 90th and 99th percentile and mean in microseconds.

  connect_bench.py HOST PORT [N]
"""
import socket
import statistics
import struct
import sys
import time


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    linger = struct.pack("ii", 1, 0)
    times = []
    errors = 0
    for _ in range(n):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        t0 = time.perf_counter_ns()
        try:
            s.connect((host, port))
            times.append((time.perf_counter_ns() - t0) / 1000)
        except OSError as e:
            errors += 1
            print("connect: %s" % e, file=sys.stderr)
        s.close()
    n = len(times)
    times.sort()
    print("median=%.1f p90=%.1f p99=%.1f mean=%.1f errors=%d" % (
        statistics.median(times), times[int(n * 0.9)], times[int(n * 0.99)], statistics.mean(times),
        errors))


if __name__ == "__main__":
    main()
