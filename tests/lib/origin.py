#!/usr/bin/env python3
"""Plaintext origins for ktun's tests: the server-mode integration tests (srvlib.sh),
socket-activation and valgrind-cycle; connect_relay.py takes listen() and echo() from here.

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


def listen(addr, backlog=128):
    """A listening socket on ADDR (HOST:PORT, [IPV6]:PORT or unix:/path); connect_relay.py's
    relays and origins listen through it too."""
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
    s.listen(backlog)
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


def read_until(c, marker):
    """What c sends until marker came, or until its end (then without marker)."""
    got = b""
    while marker not in got:
        b = c.recv(65536)
        if not b:
            break
        got += b
    return got


def drain(c):
    while c.recv(65536):
        pass


def line(c):
    try:
        c.sendall(read_until(c, b"\n"))
        c.shutdown(socket.SHUT_WR)
        drain(c)
    except OSError:
        pass
    finally:
        c.close()


PAGE = b"ktun origin page\n" * 64


def http(c):
    try:
        if b"\r\n\r\n" not in read_until(c, b"\r\n\r\n"):
            return
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
