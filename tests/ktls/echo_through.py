#!/usr/bin/env python3
"""Random bytes through a ktund pair to an echo origin and back, read beside the writes.

echo_through.py PORT BYTES CHECK
Sends BYTES random bytes to 127.0.0.1:PORT (the client's listener, an echo origin behind).
Once half of them have come back, with the connection streaming, runs the shell command
CHECK; then sends the rest and half-closes. Exit 0 if the echo was exact and CHECK passed.
idle_conns.py uses echo_through() without a CHECK.
"""
import os
import socket
import subprocess
import sys
import threading


def echo_through(port, nbytes, midway=None, timeout=120):
    """True if nbytes sent to port came back unchanged (and midway(), run once half of them
    had come back, returned true)."""
    data = os.urandom(nbytes)
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    got = bytearray()

    def reader():
        while True:
            d = s.recv(65536)
            if not d:
                break
            got.extend(d)

    t = threading.Thread(target=reader)
    t.start()
    ok, sent = True, 0
    if midway:
        sent = nbytes // 2
        s.sendall(data[:sent])
        while len(got) < sent and t.is_alive():
            threading.Event().wait(0.05)
        ok = midway()
    s.sendall(data[sent:])
    s.shutdown(socket.SHUT_WR)
    t.join()
    s.close()
    return ok and bytes(got) == data


if __name__ == "__main__":
    port, n, check = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    sys.exit(0 if echo_through(port, n, lambda: subprocess.call(check, shell=True) == 0) else 1)
