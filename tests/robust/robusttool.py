#!/usr/bin/env python3
"""Load generators and the origin of ktun's robustness tests (tests/robust/*.sh).

The origin (serve) speaks a one-line protocol: the client's first line says what to do with the
rest of the connection.
  echo\\n       echo every byte until the client half-closes, then half-close and close
  abort N\\n    echo until N bytes (after the line) arrived, then close with SO_LINGER 0 (RST)
Every accepted socket has SO_LINGER 0 until its normal end, so an origin killed mid-exchange
resets its connections instead of closing them cleanly: a test can then require that a client
never sees a clean end of stream that the origin did not send.

Clients connect to HOST PORT (the edge ktund's plaintext listener, or a ktund server's TLS port
for the flood), print one summary line, and exit 0 only when every connection did what the
test wants. All payload is checked by SHA-256 of what was sent against what came back.
"""
import argparse
import asyncio
import errno
import hashlib
import os
import random
import socket
import struct
import sys
import time

# The pair tests' helpers: the same deterministic payloads and a real ClientHello.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from pairtool import client_hello, pattern  # noqa: E402

LINGER0 = struct.pack("ii", 1, 0)
LINGER_OFF = struct.pack("ii", 0, 0)
CHUNK = 65536


# ---------------------------------------------------------------- origin

async def _serve_conn(reader, writer):
    sock = writer.get_extra_info("socket")
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
        line = await reader.readline()
        words = line.split()
        limit = int(words[1]) if len(words) == 2 and words[0] == b"abort" else None
        n = 0
        while True:
            b = await reader.read(CHUNK)
            if not b:
                break
            if limit is not None and n + len(b) >= limit:
                writer.write(b[:limit - n])
                await writer.drain()
                writer.transport.abort()  # SO_LINGER 0 is set: RST
                return
            n += len(b)
            writer.write(b)
            await writer.drain()
        writer.write_eof()
        await writer.drain()
        # Wait for the peer to finish too, then a normal close.
        while await reader.read(CHUNK):
            pass
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_OFF)
        writer.close()
    except (ConnectionError, OSError):
        writer.transport.abort()


def serve(a):
    async def main():
        srv = await asyncio.start_server(_serve_conn, "127.0.0.1", a.port, backlog=4096,
                                         reuse_address=True)
        async with srv:
            await srv.serve_forever()
    asyncio.run(main())


# ---------------------------------------------------------------- transfers

async def _hold(path):
    """Waits (at most 120 s) until PATH exists."""
    for _ in range(2400):
        if os.path.exists(path):
            return
        await asyncio.sleep(0.05)


async def _transfer(host, port, i, size, interval, mode, res, hold=None):
    """One echo transfer of SIZE bytes, paced at one 64 KiB chunk per INTERVAL ms.
    mode ok: must come back whole; client-abort: RST from our side half way;
    origin-abort: the origin resets half way, we must see a reset.
    HOLD: a path; half way, the sender waits until it exists (so that whatever the test
    does meanwhile happens mid-transfer, however fast or slow the machine)."""
    data = pattern(f"t{i}", size)
    r, w = await asyncio.wait_for(asyncio.open_connection(host, port), 30)
    half = size // 2
    w.write(b"abort %d\n" % half if mode == "origin-abort" else b"echo\n")
    got = hashlib.sha256()
    n_got = 0

    async def send():
        for off in range(0, size, CHUNK):
            if mode == "client-abort" and off >= half:
                return "abort"
            w.write(data[off:off + CHUNK])
            await w.drain()
            if hold and off < half <= off + CHUNK:
                await _hold(hold)
            if interval:
                await asyncio.sleep(interval / 1000)
        w.write_eof()
        return "sent"

    sender = asyncio.create_task(send())
    if mode == "client-abort":
        # Half the data sent (and echo arriving): reset the connection from our side.
        await sender
        await asyncio.sleep(0.2)
        w.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
        w.transport.abort()
        res[i] = ("ok", "reset by us half way")
        return
    try:
        while True:
            b = await asyncio.wait_for(r.read(CHUNK), 60)
            if not b:
                break
            got.update(b)
            n_got += len(b)
        how = await sender
        w.close()
        ok = how == "sent" and n_got == size and got.hexdigest() == hashlib.sha256(data).hexdigest()
        if mode == "origin-abort":
            res[i] = ("bad", f"origin-abort: clean end after {n_got} bytes, want a reset")
        elif ok:
            res[i] = ("ok", f"{size} bytes sha256 equal")
        else:
            res[i] = ("bad", f"got {n_got}/{size} bytes, sha256 "
                             f"{'equal' if got.hexdigest() == hashlib.sha256(data).hexdigest() else 'DIFFERS'}")
    except (ConnectionResetError, BrokenPipeError) as e:
        sender.cancel()
        w.transport.abort()
        if mode == "origin-abort":
            res[i] = ("ok", f"reset after {n_got} echoed bytes, as wanted")
        else:
            res[i] = ("bad", f"{e!r} after {n_got}/{size} bytes")
    except (OSError, asyncio.TimeoutError) as e:
        sender.cancel()
        w.transport.abort()
        res[i] = ("bad", f"{e!r} after {n_got}/{size} bytes")


def transfers(a):
    """COUNT concurrent echo transfers; --client-abort K and --origin-abort K of them abort."""
    async def main():
        modes = (["client-abort"] * a.client_abort + ["origin-abort"] * a.origin_abort
                 + ["ok"] * (a.count - a.client_abort - a.origin_abort))
        res = {}
        t0 = time.monotonic()
        tasks = [asyncio.create_task(_transfer(a.host, a.port, i, a.size, a.interval, m, res, a.hold))
                 for i, m in enumerate(modes)]
        await asyncio.gather(*tasks, return_exceptions=True)
        bad = [f"#{i} {modes[i]}: {res.get(i, ('bad', 'no result'))[1]}" for i in range(a.count)
               if res.get(i, ("bad",))[0] != "ok"]
        print(f"transfers: {a.count - len(bad)}/{a.count} as wanted ({a.count - a.client_abort - a.origin_abort}"
              f" x {a.size} bytes checked by SHA-256, {a.client_abort} aborted by the client, "
              f"{a.origin_abort} by the origin) in {time.monotonic() - t0:.1f}s")
        for b in bad[:10]:
            print(f"  {b}")
        return not bad
    sys.exit(0 if asyncio.run(main()) else 1)


# ---------------------------------------------------------------- short connections

async def _short(host, port, i):
    """One short exchange: connect, a line echoed, half-close, EOF. Returns ok, reset or bad:..."""
    msg = f"short {i} {os.urandom(8).hex()}\n".encode()
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection(host, port), 20)
    except (ConnectionResetError, ConnectionRefusedError) as e:
        return "reset" if isinstance(e, ConnectionResetError) else "refused"
    try:
        w.write(b"echo\n" + msg)
        w.write_eof()
        got = await asyncio.wait_for(r.read(), 20)
        w.close()
        return "ok" if got == msg else f"bad: clean end after {len(got)}/{len(msg)} bytes"
    except (ConnectionResetError, BrokenPipeError):
        w.transport.abort()
        return "reset"
    except OSError as e:
        w.transport.abort()
        # A reset that came before our half-close leaves the socket closed: ENOTCONN.
        return "reset" if e.errno == errno.ENOTCONN else f"bad: {e!r}"
    except asyncio.TimeoutError as e:
        w.transport.abort()
        return f"bad: {e!r}"


def churn(a):
    """N short exchanges, CONCURRENCY at a time (1 = sequential); every one must echo exactly."""
    async def main():
        sem = asyncio.Semaphore(a.concurrency)
        out = {}

        async def one(i):
            async with sem:
                out[i] = await _short(a.host, a.port, i)
        t0 = time.monotonic()
        if a.concurrency == 1:
            for i in range(a.n):
                out[i] = await _short(a.host, a.port, i)
        else:
            await asyncio.gather(*(one(i) for i in range(a.n)))
        bad = [f"#{i}: {v}" for i, v in out.items() if v != "ok"]
        print(f"churn: {a.n - len(bad)}/{a.n} short connections echoed exactly, "
              f"{a.concurrency} at a time, in {time.monotonic() - t0:.1f}s")
        for b in bad[:10]:
            print(f"  {b}")
        return not bad
    sys.exit(0 if asyncio.run(main()) else 1)


def flap_clients(a):
    """LOOPS client loops for SECONDS, each doing short exchanges back to back while the origin
    comes and goes. Each must echo exactly or be reset; a clean end with the wrong data, a
    refusal or a timeout is a failure. Prints 'ok=N reset=N bad=N'."""
    async def main():
        count = {"ok": 0, "reset": 0, "bad": 0}
        bads = []
        end = time.monotonic() + a.seconds

        async def loop(j):
            i = 0
            while time.monotonic() < end:
                r = await _short(a.host, a.port, f"{j}.{i}")
                i += 1
                k = r if r in ("ok", "reset") else "bad"
                count[k] += 1
                if k == "bad":
                    bads.append(r)
                await asyncio.sleep(0.01)
        await asyncio.gather(*(loop(j) for j in range(a.loops)))
        print(f"ok={count['ok']} reset={count['reset']} bad={count['bad']}")
        for b in bads[:10]:
            print(f"  {b}")
        return count["bad"] == 0
    sys.exit(0 if asyncio.run(main()) else 1)


# ---------------------------------------------------------------- idle connections

def idle(a):
    """N connections opened CONCURRENCY at a time, each echoing one line, then all held open
    idle: DIR/held is created, and once DIR/release exists every connection must still echo a
    second line, then half-closes and must see a clean end."""
    async def main():
        sem = asyncio.Semaphore(a.concurrency)
        conns = {}
        errs = []

        async def open_one(i):
            async with sem:
                try:
                    r, w = await asyncio.wait_for(asyncio.open_connection(a.host, a.port), 60)
                    msg = f"hello {i}\n".encode()
                    w.write(b"echo\n" + msg)
                    got = await asyncio.wait_for(r.readexactly(len(msg)), 60)
                    if got != msg:
                        raise ValueError("echo differs")
                    conns[i] = (r, w)
                except Exception as e:  # noqa: BLE001 - reported
                    errs.append(f"open #{i}: {e!r}")

        async def close_one(i):
            r, w = conns[i]
            try:
                msg = f"still here {i}\n".encode()
                w.write(msg)
                got = await asyncio.wait_for(r.readexactly(len(msg)), 60)
                if got != msg:
                    raise ValueError("second echo differs")
                w.write_eof()
                rest = await asyncio.wait_for(r.read(), 60)
                if rest:
                    raise ValueError(f"{len(rest)} bytes after EOF")
                w.close()
                return True
            except Exception as e:  # noqa: BLE001 - reported
                errs.append(f"close #{i}: {e!r}")
                w.transport.abort()
                return False

        t0 = time.monotonic()
        await asyncio.gather(*(open_one(i) for i in range(a.n)))
        print(f"idle: {len(conns)}/{a.n} connections open and echoed in {time.monotonic() - t0:.1f}s",
              flush=True)
        if errs:
            for e in errs[:10]:
                print(f"  {e}")
            return False
        open(os.path.join(a.dir, "held"), "w").close()
        while not os.path.exists(os.path.join(a.dir, "release")):
            await asyncio.sleep(0.1)
        t0 = time.monotonic()
        sem2 = asyncio.Semaphore(a.concurrency)

        async def close_limited(i):
            async with sem2:
                return await close_one(i)
        res = await asyncio.gather(*(close_limited(i) for i in list(conns)))
        print(f"idle: {sum(res)}/{a.n} still live after the hold (second line echoed), "
              f"closed cleanly in {time.monotonic() - t0:.1f}s")
        for e in errs[:10]:
            print(f"  {e}")
        return all(res) and len(res) == a.n
    sys.exit(0 if asyncio.run(main()) else 1)


# ---------------------------------------------------------------- handshake flood

async def _ends(r, limit):
    """Read until the server ends the connection: ('eof'|'reset'|'open', bytes read)."""
    n = 0
    try:
        while True:
            b = await asyncio.wait_for(r.read(CHUNK), limit)
            if not b:
                return "eof", n
            n += len(b)
    except ConnectionResetError:
        return "reset", n
    except asyncio.TimeoutError:
        return "open", n


async def _flood_one(kind, host, port, hello, limit):
    t0 = time.monotonic()
    r, w = await asyncio.wait_for(asyncio.open_connection(host, port), 30)
    if kind == "garbage":
        w.write(b"GET / HTTP/1.1\r\nHost: origin.test\r\n\r\n" + os.urandom(1500))
        end = await _ends(r, limit)
    elif kind == "hello-stall":
        w.write(hello)  # a whole ClientHello, then never another byte
        end = await _ends(r, limit)
    elif kind == "dribble":
        # The ClientHello one byte at a time, 100 ms apart, for as long as the server listens.
        reader = asyncio.create_task(_ends(r, limit))
        for i in range(len(hello)):
            if reader.done():
                break
            try:
                w.write(hello[i:i + 1])
                await w.drain()
            except (ConnectionResetError, BrokenPipeError):
                break
            await asyncio.sleep(0.1)
        end = await reader
    else:  # silent
        end = await _ends(r, limit)
    w.transport.abort()
    return kind, end[0], end[1], time.monotonic() - t0


def flood(a):
    """Hostile peers at a TLS port, all at once: GARBAGE send junk, DRIBBLE send a ClientHello a
    byte every 100 ms, STALL send a whole ClientHello and nothing more, SILENT send nothing.
    Each must be ended by the server (EOF or reset), junk within --limit s, the slow ones no
    sooner than --min-slow s (the handshake timeout) and within --limit s."""
    async def main():
        hello = client_hello()
        kinds = (["garbage"] * a.garbage + ["dribble"] * a.dribble + ["hello-stall"] * a.stall
                 + ["silent"] * a.silent)
        random.shuffle(kinds)
        t0 = time.monotonic()
        res = await asyncio.gather(*(_flood_one(k, a.host, a.port, hello, a.limit) for k in kinds),
                                   return_exceptions=True)
        bad = []
        summary = {}
        for r in res:
            if isinstance(r, BaseException):
                bad.append(f"connect: {r!r}")
                continue
            kind, end, n, dt = r
            s = summary.setdefault(kind, [0, 0.0, 0.0])
            s[0] += 1
            s[1] = max(s[1], dt)
            s[2] = dt if s[0] == 1 else min(s[2], dt)
            if end == "open":
                bad.append(f"{kind}: still open after {a.limit} s")
            elif kind != "garbage" and dt < a.min_slow:
                bad.append(f"{kind}: ended after {dt:.2f}s, before the handshake timeout")
        print(f"flood: {len(kinds)} hostile connections in {time.monotonic() - t0:.1f}s: " +
              ", ".join(f"{k} {v[0]} ended in {v[2]:.2f}-{v[1]:.2f}s" for k, v in sorted(summary.items())))
        for b in bad[:10]:
            print(f"  {b}")
        return not bad
    sys.exit(0 if asyncio.run(main()) else 1)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("port", type=int)
    s.set_defaults(f=serve)
    for name, f in [("transfers", transfers), ("churn", churn), ("flap-clients", flap_clients),
                    ("idle", idle), ("flood", flood)]:
        s = sub.add_parser(name)
        s.add_argument("host")
        s.add_argument("port", type=int)
        s.set_defaults(f=f)
        if name == "transfers":
            s.add_argument("--count", type=int, default=4)
            s.add_argument("--size", type=int, default=4 << 20)
            s.add_argument("--interval", type=int, default=0, help="ms between 64 KiB chunks")
            s.add_argument("--client-abort", type=int, default=0)
            s.add_argument("--origin-abort", type=int, default=0)
            s.add_argument("--hold", help="half way, wait until this path exists")
        if name == "churn":
            s.add_argument("n", type=int)
            s.add_argument("--concurrency", type=int, default=1)
        if name == "flap-clients":
            s.add_argument("--loops", type=int, default=4)
            s.add_argument("--seconds", type=float, default=20)
        if name == "idle":
            s.add_argument("n", type=int)
            s.add_argument("dir")
            s.add_argument("--concurrency", type=int, default=200)
        if name == "flood":
            for k in ("garbage", "dribble", "stall", "silent"):
                s.add_argument(f"--{k}", type=int, default=0)
            s.add_argument("--limit", type=float, default=20)
            s.add_argument("--min-slow", type=float, default=0)
    a = p.parse_args()
    a.f(a)


if __name__ == "__main__":
    main()
