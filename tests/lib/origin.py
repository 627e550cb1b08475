#!/usr/bin/env python3
"""Plaintext origins for ktun's tests: the server-mode integration tests (srvlib.sh),
socket-activation and valgrind-cycle.

  origin.py echo ADDR LOG    echo each connection's bytes back until it half-closes, then close
  origin.py line ADDR LOG    echo up to the first newline, then half-close and read to EOF: the
                             origin ends the exchange, so peers that never half-close (openssl
                             s_client -quiet) still see a clean end: close_notify, then theirs
  origin.py http ADDR LOG    answer one HTTP request with a small page, then as "line"

ADDR is HOST:PORT (IPv4 or [IPv6]) or unix:/path. Every accepted connection appends one line
"accept" to LOG at once, so a test can count how many connections reached the origin: a
refused TLS peer must add none.
"""
import os
import socket
import sys
import threading


def listen(addr):
    if addr.startswith("unix:"):
        path = addr[5:]
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
    else:
        host, _, port = addr.rpartition(":")
        host = host.strip("[]")
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, int(port)))
    s.listen(128)
    return s


def echo(c):
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            c.sendall(b)
        c.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    finally:
        c.close()


def drain(c):
    while c.recv(65536):
        pass


def line(c):
    try:
        got = b""
        while b"\n" not in got:
            b = c.recv(65536)
            if not b:
                break
            got += b
        c.sendall(got)
        c.shutdown(socket.SHUT_WR)
        drain(c)
    except OSError:
        pass
    finally:
        c.close()


PAGE = b"ktun origin page\n" * 64


def http(c):
    try:
        got = b""
        while b"\r\n\r\n" not in got:
            b = c.recv(65536)
            if not b:
                return
            got += b
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                  b"Connection: close\r\n\r\n" % len(PAGE) + PAGE)
        c.shutdown(socket.SHUT_WR)
        drain(c)
    except OSError:
        pass
    finally:
        c.close()


def main():
    mode, addr, log = sys.argv[1:4]
    handler = {"echo": echo, "line": line, "http": http}[mode]
    s = listen(addr)
    with open(log, "a", buffering=1) as f:
        while True:
            c, _ = s.accept()
            f.write("accept\n")
            threading.Thread(target=handler, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
