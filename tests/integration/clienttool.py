#!/usr/bin/env python3
"""Applications for ktun's client-mode and configuration tests (tests/integration/client-*.sh,
config-*.sh). Each prints one line saying what happened and exits 0 only when it is what the
test wants. ADDR is HOST:PORT or unix:/path (ktund's plaintext listener).
"""
import argparse
import hashlib
import os
import socket
import sys


def connect(addr, timeout=20):
    if addr.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(addr[5:])
        return s
    host, port = addr.rsplit(":", 1)
    return socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)


def rev_line(a):
    """Send TEXT and a newline; want it back reversed (openssl s_server -rev), then close."""
    c = connect(a.addr)
    c.sendall(a.text.encode() + b"\n")
    want = a.text[::-1].encode() + b"\n"
    got = b""
    try:
        while not got.endswith(b"\n"):
            b = c.recv(4096)
            if not b:
                break
            got += b
    except ConnectionResetError:
        print(f"reset after {got!r}")
        sys.exit(1)
    except socket.timeout:
        print(f"timeout after {got!r}")
        sys.exit(1)
    c.close()
    print(f"sent {a.text!r}, got {got!r}")
    sys.exit(0 if got == want else 1)


def echo(a):
    """Send N random bytes, shut the write side, read to EOF: want exactly them back."""
    data = os.urandom(a.n)
    c = connect(a.addr, timeout=30)
    c.sendall(data)
    c.shutdown(socket.SHUT_WR)
    got = bytearray()
    try:
        while True:
            b = c.recv(1 << 16)
            if not b:
                break
            got += b
    except (ConnectionResetError, socket.timeout) as e:
        print(f"echo: {e!r} after {len(got)} of {a.n} bytes")
        sys.exit(1)
    c.close()
    same = bytes(got) == data
    print(f"echo: {len(got)} of {a.n} bytes back, {'identical' if same else 'DIFFERENT'} "
          f"(sha256 {hashlib.sha256(got).hexdigest()[:16]})")
    sys.exit(0 if same else 1)


def hold(a):
    """Open a connection, echo one message, keep it open until the file RELEASE exists, then
    echo a second message and close: a connection that lives across a reload."""
    import time
    c = connect(a.addr, timeout=30)
    for i, msg in enumerate([b"before\n", b"after\n"]):
        if i == 1:
            open(a.ready, "w").close()
            while not os.path.exists(a.release):
                time.sleep(0.05)
        c.sendall(msg)
        got = b""
        try:
            while len(got) < len(msg):
                b = c.recv(100)
                if not b:
                    break
                got += b
        except (ConnectionResetError, socket.timeout) as e:
            print(f"hold: {e!r} after {got!r}")
            sys.exit(1)
        if got != msg:
            print(f"hold: sent {msg!r}, got {got!r}")
            sys.exit(1)
    c.close()
    print("hold: both messages echoed on one connection")


def expect_reset(a):
    """Connect, send a line, report how the connection ends. Exit 0 only on a reset: a refused
    far side must reach the application as a failure, never as a clean (empty) close."""
    try:
        c = connect(a.addr, timeout=10)
    except ConnectionResetError:
        # With a timeout, connect is non-blocking: a reset that comes before the SO_ERROR
        # check shows here, after the kernel completed the handshake and ktund reset it.
        print("reset (ConnectionResetError) before connect returned, after 0 bytes")
        sys.exit(0)
    except OSError as e:
        print(f"connect failed: {e!r}")
        sys.exit(1)
    n = 0
    try:
        c.sendall(b"hello\n")
        c.settimeout(a.wait)
        while True:
            b = c.recv(4096)
            if not b:
                print(f"clean EOF after {n} bytes")
                sys.exit(1)
            n += len(b)
    except (ConnectionResetError, BrokenPipeError) as e:
        # A refused server never saw the request: nothing may come back before the reset.
        print(f"reset ({type(e).__name__}) after {n} bytes")
        sys.exit(0 if n == 0 else 1)
    except socket.timeout:
        print("timeout: neither data nor an end")
        sys.exit(1)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("rev-line"); s.add_argument("addr"); s.add_argument("text")
    s.set_defaults(f=rev_line)
    s = sub.add_parser("echo"); s.add_argument("addr"); s.add_argument("n", type=int)
    s.set_defaults(f=echo)
    s = sub.add_parser("hold"); s.add_argument("addr"); s.add_argument("ready")
    s.add_argument("release"); s.set_defaults(f=hold)
    s = sub.add_parser("expect-reset"); s.add_argument("addr")
    s.add_argument("--wait", type=float, default=10); s.set_defaults(f=expect_reset)
    a = p.parse_args()
    a.f(a)


if __name__ == "__main__":
    main()
