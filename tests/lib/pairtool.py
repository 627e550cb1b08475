#!/usr/bin/env python3
"""Origins and clients for ktun's shell tests (tests/pair, integration, robust).

Servers listen on 127.0.0.1:PORT (the origin namespace's loopback); clients connect to HOST PORT
(the edge ktund's plaintext listener, or the origin ktund directly for garbage). Every client
prints one line saying what happened and exits 0 only when it is what the test wants.
"""
import argparse
import asyncio
import hashlib
import os
import random
import socket
import ssl
import sys
import threading
import time

CHUNK = 1 << 20


def listener(port, backlog=128):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(backlog)
    return s


def connect(host, port, timeout=30):
    return socket.create_connection((host, port), timeout=timeout)


def recv_all(sock, h=None):
    """Read to EOF; return (bytes, sha256 hex) — bytes only counted when h is given."""
    h = h or hashlib.sha256()
    n = 0
    while True:
        b = sock.recv(CHUNK)
        if not b:
            return n, h.hexdigest()
        h.update(b)
        n += len(b)


def read_to_eof(sock):
    """The bytes that arrive until the peer's EOF."""
    data = bytearray()
    while True:
        b = sock.recv(65536)
        if not b:
            return bytes(data)
        data += b


def send_file(sock, path):
    with open(path, "rb") as f:
        sock.sendfile(f)
    sock.shutdown(socket.SHUT_WR)


def pattern(seed, n):
    """n deterministic pseudo-random bytes for SEED."""
    return random.Random(seed).randbytes(n)


# ---------------------------------------------------------------- servers

async def _echo(reader, writer):
    try:
        while True:
            b = await reader.read(65536)
            if not b:
                break
            writer.write(b)
            await writer.drain()
        writer.write_eof()
        await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


def serve_echo(a):
    async def main():
        srv = await asyncio.start_server(_echo, "127.0.0.1", a.port, backlog=4096, reuse_address=True)
        async with srv:
            await srv.serve_forever()
    asyncio.run(main())


def serve_duplex(a):
    """One connection: send SENDFILE (then shut the write side) while hashing what arrives."""
    s = listener(a.port)
    c, _ = s.accept()
    t = threading.Thread(target=send_file, args=(c, a.send))
    t.start()
    n, digest = recv_all(c)
    t.join()
    c.close()
    with open(a.out, "w") as f:
        f.write(f"{digest} {n}\n")


def serve_slow(a):
    """Per connection: read 'CHUNKS INTERVAL_MS SEED\\n', send CHUNKS x 64 KiB of pattern(SEED)
    one chunk per INTERVAL_MS, shut the write side, wait for the peer's EOF, close."""
    s = listener(a.port)

    def handle(c):
        try:
            req = b""
            while not req.endswith(b"\n"):
                b = c.recv(100)
                if not b:
                    return
                req += b
            chunks, interval, seed = req.split()
            data = pattern(seed, int(chunks) * 65536)
            for i in range(int(chunks)):
                c.sendall(data[i * 65536:(i + 1) * 65536])
                time.sleep(int(interval) / 1000)
            c.shutdown(socket.SHUT_WR)
            while c.recv(65536):
                pass
        except OSError as e:
            print(f"serve-slow: {e!r}", file=sys.stderr)
        finally:
            c.close()

    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()


def serve_halfclose(a):
    """mode request: read to EOF, then answer 'got N bytes sha256=H' and close.
    mode greet: send a greeting and shut the write side at once, then read to EOF and
    write what arrived to OUT."""
    s = listener(a.port)
    c, _ = s.accept()
    if a.mode == "request":
        data = read_to_eof(c)
        c.sendall(f"got {len(data)} bytes sha256={hashlib.sha256(data).hexdigest()}\n".encode())
        c.shutdown(socket.SHUT_WR)
        c.close()
    else:
        c.sendall(b"hello from origin\n")
        c.shutdown(socket.SHUT_WR)
        data = read_to_eof(c)
        c.close()
        with open(a.out, "wb") as f:
            f.write(data)


# ---------------------------------------------------------------- clients

def duplex_client(a):
    c = connect(a.host, a.port, timeout=120)
    t0 = time.monotonic()
    t = threading.Thread(target=send_file, args=(c, a.send))
    t.start()
    n, digest = recv_all(c)
    t.join()
    c.close()
    print(f"{digest} {n} {time.monotonic() - t0:.2f}")


def slow_client(a):
    want = pattern(a.seed.encode(), a.chunks * 65536)
    got = bytearray()
    try:
        c = connect(a.host, a.port)
        c.sendall(f"{a.chunks} {a.interval} {a.seed}\n".encode())
        while True:
            b = c.recv(65536)
            if not b:
                break
            got += b
        c.close()
    except OSError as e:
        print(f"slow-client: error {e!r} after {len(got)} bytes")
        sys.exit(2)
    if bytes(got) != want:
        print(f"slow-client: got {len(got)} bytes, want {len(want)}; equal prefix: "
              f"{bytes(got) == want[:len(got)]}")
        sys.exit(1)
    print(f"slow-client: ok {len(got)} bytes intact")


def outcome(c, wait=10):
    """Read until something ends the connection: 'reset', 'eof', 'timeout' or 'data:N'."""
    c.settimeout(wait)
    n = 0
    try:
        while True:
            b = c.recv(65536)
            if not b:
                return f"eof after {n} bytes" if n else "eof"
            n += len(b)
    except ConnectionResetError:
        return f"reset after {n} bytes" if n else "reset"
    except socket.timeout:
        return "timeout"


def expect_reset(a):
    """Connect, send a line, and report how the connection ends. Exit 0 on a reset."""
    try:
        c = connect(a.host, a.port, timeout=10)
    except ConnectionRefusedError:
        print("refused")
        sys.exit(0 if a.refused_ok else 1)
    except ConnectionResetError:
        # A timeout makes connect non-blocking: a reset that beats the SO_ERROR check
        # surfaces here, after the kernel completed the handshake and ktund reset it.
        print("reset (before connect returned)")
        sys.exit(0)
    try:
        c.sendall(b"hello\n")
    except (BrokenPipeError, ConnectionResetError):
        print("reset (on send)")
        sys.exit(0)
    r = outcome(c, a.wait)
    print(r)
    sys.exit(0 if r.startswith("reset") else 1)


def expect_refused(a):
    try:
        c = connect(a.host, a.port, timeout=5)
    except ConnectionRefusedError:
        print("refused")
        sys.exit(0)
    c.close()
    print("accepted")
    sys.exit(1)


def halfclose_client(a):
    c = connect(a.host, a.port)
    if a.mode == "request":
        req = os.urandom(100000)
        c.sendall(req)
        c.shutdown(socket.SHUT_WR)
        c.settimeout(20)
        ans = read_to_eof(c)
        want = f"got {len(req)} bytes sha256={hashlib.sha256(req).hexdigest()}\n".encode()
        print(f"answer: {ans.decode(errors='replace').strip()}")
        sys.exit(0 if ans == want else 1)
    else:
        c.settimeout(20)
        greet = read_to_eof(c)
        print(f"greeting: {greet.decode(errors='replace').strip()} (then EOF)")
        time.sleep(0.5)  # the origin's write side is closed; ours must still carry data
        c.sendall(a.message.encode())
        c.shutdown(socket.SHUT_WR)
        r = outcome(c, 20)
        print(f"after our EOF: {r}")
        c.close()
        sys.exit(0 if greet == b"hello from origin\n" and r == "eof" else 1)


async def _one(host, port, i, state):
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection(host, port), 60)
        state["connected"] += 1
    finally:
        state["tried"] += 1
        if state["tried"] == state["n"]:
            state["go"].set()
    await state["go"].wait()
    msg = f"message {i} {os.urandom(16).hex()}\n".encode() * (1 + i % 7)
    w.write(msg)
    await w.drain()
    got = await asyncio.wait_for(r.readexactly(len(msg)), 60)
    if got != msg:
        raise ValueError(f"conn {i}: echo differs")
    state["echoed"] += 1
    await state["release"].wait()
    w.write_eof()
    rest = await asyncio.wait_for(r.read(), 60)
    w.close()
    if rest:
        raise ValueError(f"conn {i}: {len(rest)} extra bytes after the echo")
    return True


def concurrent(a):
    """N connections all open at once (each waits until all N are connected before it
    sends); each sends a distinct message and must get exactly it back. With --hold DIR:
    once every echo is in, create DIR/held and wait for DIR/release before closing, so the
    caller can look at the daemons with all N open."""
    async def main():
        state = {"n": a.n, "tried": 0, "connected": 0, "echoed": 0,
                 "go": asyncio.Event(), "release": asyncio.Event()}
        t0 = time.monotonic()
        tasks = [asyncio.create_task(_one(a.host, a.port, i, state)) for i in range(a.n)]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            failed = sum(1 for t in tasks if t.done())
            if state["echoed"] + failed >= a.n:
                break
            await asyncio.sleep(0.05)
        t_echo = time.monotonic() - t0
        if a.hold:
            open(os.path.join(a.hold, "held"), "w").close()
            while not os.path.exists(os.path.join(a.hold, "release")) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        state["release"].set()
        res = await asyncio.gather(*tasks, return_exceptions=True)
        errs = [r for r in res if r is not True]
        print(f"concurrent: {a.n - len(errs)}/{a.n} connections echoed exactly "
              f"(all connected and echoed in {t_echo:.2f}s, peak {state['connected']} open)")
        for e in errs[:5]:
            print(f"  error: {e!r}")
        return not errs
    sys.exit(0 if asyncio.run(main()) else 1)


def client_hello(tls12=False):
    """The bytes of a real TLS ClientHello, made by Python's ssl module (TLS 1.2 only with tls12)."""
    ctx = ssl.create_default_context()
    if tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    o = ctx.wrap_bio(inc, out, server_hostname="origin.test")
    try:
        o.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def garbage(a):
    """Send bytes that are no ClientHello and report how the server ends the connection."""
    c = connect(a.host, a.port)
    t0 = time.monotonic()
    c.sendall(b"GET / HTTP/1.1\r\nHost: origin.test\r\n\r\n" + os.urandom(2000))
    r = outcome(c, 15)
    print(f"garbage: {r} after {time.monotonic() - t0:.2f}s")
    sys.exit(0 if r != "timeout" else 1)


def stall(a):
    """Send the first 50 bytes of a ClientHello (its record header promises more) and wait."""
    ch = client_hello()
    c = connect(a.host, a.port)
    t0 = time.monotonic()
    c.sendall(ch[:50])
    r = outcome(c, a.max)
    dt = time.monotonic() - t0
    print(f"stall: {r} after {dt:.2f}s (ClientHello of {len(ch)} bytes, sent 50)")
    sys.exit(0 if r != "timeout" and dt >= a.min else 1)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve-echo"); s.add_argument("port", type=int); s.set_defaults(f=serve_echo)
    s = sub.add_parser("serve-duplex"); s.add_argument("port", type=int); s.add_argument("send")
    s.add_argument("out"); s.set_defaults(f=serve_duplex)
    s = sub.add_parser("serve-slow"); s.add_argument("port", type=int); s.set_defaults(f=serve_slow)
    s = sub.add_parser("serve-halfclose"); s.add_argument("port", type=int)
    s.add_argument("mode", choices=["request", "greet"]); s.add_argument("out", nargs="?")
    s.set_defaults(f=serve_halfclose)
    for name, f in [("duplex-client", duplex_client), ("slow-client", slow_client),
                    ("expect-reset", expect_reset), ("expect-refused", expect_refused),
                    ("halfclose-client", halfclose_client), ("concurrent", concurrent),
                    ("garbage", garbage), ("stall", stall)]:
        s = sub.add_parser(name); s.add_argument("host"); s.add_argument("port", type=int)
        s.set_defaults(f=f)
        if name == "duplex-client":
            s.add_argument("send")
        if name == "slow-client":
            s.add_argument("chunks", type=int); s.add_argument("interval", type=int)
            s.add_argument("seed")
        if name == "expect-reset":
            s.add_argument("--refused-ok", action="store_true")
            s.add_argument("--wait", type=float, default=15)
        if name == "halfclose-client":
            s.add_argument("mode", choices=["request", "greet"])
            s.add_argument("--message", default="late data from the client\n")
        if name == "concurrent":
            s.add_argument("n", type=int); s.add_argument("--hold")
        if name == "stall":
            s.add_argument("--min", type=float, default=0); s.add_argument("--max", type=float, default=30)
    a = p.parse_args()
    a.f(a)


if __name__ == "__main__":
    main()
