#!/usr/bin/env python3
"""Differential TLS handshake fuzzer for tests/integration/tls-fuzz.sh.

Sends the same hand-made bytes (a real ClientHello from tests/lib/pairtool.py, fragmented,
truncated, corrupted) to ktund and to a reference gnutls-serv with the same priority string,
and compares how each server answers, case by case. Then sends a bounded round of seeded
random mutations to ktund alone. Exits 0 when no case differs in a way that matters.

Outcome of one connection, read from the server's bytes:
  first   hello (a ServerHello: the handshake progresses), alert:NAME (a plaintext alert),
          close (EOF or RST with nothing sent), open (nothing within the wait), or other:T
  ended   the server ended the connection before we sent our EOF
  eof     seconds from our EOF (SHUT_WR) to the server's close, None if it held on

Comparison rule, ktund (K) against the reference (R):
  1. R progresses further (sends more ServerHellos: a HelloRetryRequest counts) than K: FAIL
     (K refuses or stalls on a valid handshake).
  2. K progresses further than R: FAIL (K accepts what the reference refuses).
  3. R ends the connection (alert or close) and K still holds it: FAIL.
  4. K does not close within EOF_WAIT of our EOF: FAIL (a gone peer must not hold a slot).
  Alert names, and an alert against a bare close, may differ: both mean "refused" and the
  difference is printed, not failed (ktund picks its alert from its own reject reason).
"""
import argparse
import concurrent.futures
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from pairtool import client_hello  # noqa: E402  (the one ClientHello builder of the tests)

HANDSHAKE, ALERT, CCS, APPDATA = 22, 21, 20, 23
SERVER_HELLO = 2
EXT_PADDING = 21
EXT_KEY_SHARE = 51
X25519 = 0x001D
MAX_PLAIN = 1 << 14
ANSWER_WAIT = 3.0  # how long a server gets to answer what we sent
EOF_WAIT = 3.0     # how long it gets to close after our EOF
HELLO_SETTLE = 0.5  # after a ServerHello, how long to wait for more (a close, say)
ALERTS = {0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac",
          22: "record_overflow", 40: "handshake_failure", 42: "bad_certificate",
          47: "illegal_parameter", 50: "decode_error", 51: "decrypt_error",
          70: "protocol_version", 71: "insufficient_security", 80: "internal_error",
          86: "inappropriate_fallback", 90: "user_canceled", 109: "missing_extension",
          110: "unsupported_extension", 112: "unrecognized_name", 116: "certificate_required",
          120: "no_application_protocol"}


# ---------------------------------------------------------------- building records

def record(ctype, payload, version=b"\x03\x01", length=None):
    n = len(payload) if length is None else length
    return bytes([ctype]) + version + struct.pack(">H", n) + payload


def records(msg, size, ctype=HANDSHAKE):
    """msg cut into records of at most size bytes."""
    return [record(ctype, msg[i:i + size]) for i in range(0, len(msg), size)]


def handshake(mtype, body, length=None):
    n = len(body) if length is None else length
    return bytes([mtype]) + n.to_bytes(3, "big") + body


class Hello:
    """The fields of a ClientHello message, to rebuild it with changes."""

    def __init__(self, msg):
        assert msg[0] == 1, "not a ClientHello"
        b = msg[4:]
        p = 2 + 32
        sid = b[p] + 1
        self.head = b[:p + sid]  # legacy_version, random, session id
        p += sid
        n = struct.unpack(">H", b[p:p + 2])[0]
        self.suites = b[p + 2:p + 2 + n]
        p += 2 + n
        self.comp = b[p:p + 1 + b[p]]
        p += 1 + b[p]
        n = struct.unpack(">H", b[p:p + 2])[0]
        p += 2
        end = p + n
        self.exts = []
        while p < end:
            t, n = struct.unpack(">HH", b[p:p + 4])
            self.exts.append((t, b[p + 4:p + 4 + n]))
            p += 4 + n

    def message(self):
        exts = b"".join(struct.pack(">HH", t, len(d)) + d for t, d in self.exts)
        body = (self.head + struct.pack(">H", len(self.suites)) + self.suites + self.comp +
                struct.pack(">H", len(exts)) + exts)
        return handshake(1, body)

    def with_padding(self, n):
        h = Hello(self.message())
        h.exts = [e for e in h.exts if e[0] != EXT_PADDING] + [(EXT_PADDING, bytes(n))]
        return h.message()

    def with_suites(self, n):
        """n more cipher suites, after the real ones, from unassigned code points."""
        h = Hello(self.message())
        h.suites += b"".join(struct.pack(">H", 0x2000 + i) for i in range(n))
        return h.message()

    def with_key_share(self, shares):
        """key_share replaced: b"" asks the server for a HelloRetryRequest."""
        h = Hello(self.message())
        data = struct.pack(">H", len(shares)) + shares
        h.exts = [(t, data if t == EXT_KEY_SHARE else d) for t, d in h.exts]
        return h.message()

    def with_extension(self, etype, n):
        """An unknown extension of n bytes, first (a pre_shared_key must stay last)."""
        h = Hello(self.message())
        h.exts = [(etype, bytes(range(256)) * (n // 256) + bytes(n % 256))] + h.exts
        return h.message()


def length_fields(msg):
    """(offset, size) of every length field in record(HANDSHAKE, msg), for the mutations."""
    f = [(3, 2), (6, 3)]
    b = 9 + 34
    f.append((b, 1))
    b += 1 + msg[4 + 34]
    f.append((b, 2))
    b += 2 + struct.unpack(">H", msg[b - 5:b - 3])[0]
    f.append((b, 1))
    b += 1 + msg[b - 5]
    f.append((b, 2))
    end = b + 2 + struct.unpack(">H", msg[b - 5:b - 3])[0]
    b += 2
    while b < end:
        f.append((b + 2, 2))
        b += 4 + struct.unpack(">H", msg[b - 3:b - 1])[0]
    return f


# ---------------------------------------------------------------- cases

class Case:
    """What to send: a list of (delay before, bytes) steps; eof: send EOF right after."""

    def __init__(self, name, steps, eof=False):
        self.name, self.eof = name, eof
        self.steps = [s if isinstance(s, tuple) else (0, s) for s in steps]


def cases(msg, rng):
    whole = record(HANDSHAKE, msg)
    h = Hello(msg)
    pad = h.with_padding(20000)
    suites = h.with_suites(9000)
    bigext = h.with_extension(0xFDE8, 20000)
    frag = records(msg, 64)
    alert = record(ALERT, bytes([1, 90]))  # warning user_canceled
    ccs = record(CCS, b"\x01")
    empty = record(HANDSHAKE, b"")
    delayed = [(0.05, whole[i:i + 100]) for i in range(0, len(whole), 100)]
    return [
        Case("whole ClientHello", [whole]),
        Case("1-byte records", [b"".join(records(msg, 1))]),
        Case("7-byte records", [b"".join(records(msg, 7))]),
        Case("512-byte records", [b"".join(records(msg, 512))]),
        Case("TCP segments of 100 bytes, 50 ms apart", delayed),
        Case("record header split over two segments", [whole[:3], (0.1, whole[3:])]),
        Case("7-byte records, one TCP segment each, 5 ms apart",
             [(0.005, r) for r in records(msg, 7)]),
        Case(f"{len(pad)}-byte ClientHello (padding) in 16 KiB records",
             [b"".join(records(pad, MAX_PLAIN))]),
        Case(f"{len(suites)}-byte ClientHello (9000 cipher suites) in 16 KiB records",
             [b"".join(records(suites, MAX_PLAIN))]),
        Case(f"{len(bigext)}-byte ClientHello (unknown extension) in 1000-byte records",
             [b"".join(records(bigext, 1000))]),
        Case("first 50 bytes, then EOF", [whole[:50]], eof=True),
        Case("first of several records, then EOF", [frag[0]], eof=True),
        Case("all records but the last, then EOF", [b"".join(frag[:-1])], eof=True),
        Case("record version 9.9", [record(HANDSHAKE, msg, version=b"\x09\x09")]),
        Case("record length 10 short", [record(HANDSHAKE, msg, length=len(msg) - 10)]),
        Case("record length 10 long (waits for more)",
             [record(HANDSHAKE, msg, length=len(msg) + 10)]),
        Case("record length 2^14+1", [record(HANDSHAKE, msg, length=MAX_PLAIN + 1)]),
        Case("record length 2^14+256+1", [record(HANDSHAKE, msg, length=MAX_PLAIN + 257)]),
        Case("record length 0xffff", [record(HANDSHAKE, msg, length=0xFFFF)]),
        Case("handshake length 10 short", [record(HANDSHAKE, handshake(1, msg[4:], len(msg) - 14))]),
        Case("handshake length 100 long (waits for more)",
             [record(HANDSHAKE, handshake(1, msg[4:], len(msg) + 96))]),
        Case("handshake length 100 long, in 7-byte records",
             [b"".join(records(handshake(1, msg[4:], len(msg) + 96), 7))]),
        Case("handshake length 2^24-1", [record(HANDSHAKE, handshake(1, msg[4:], 0xFFFFFF))]),
        Case("HTTP request", [b"GET / HTTP/1.1\r\nHost: origin.test\r\n\r\n"]),
        Case("2000 random bytes", [rng.randbytes(2000)]),
        Case("16 zero bytes", [bytes(16)]),
        Case("unknown record type 0x99", [record(0x99, msg)]),
        Case("application data record first", [record(APPDATA, b"hello"), whole]),
        Case("warning alert between fragments", [frag[0], alert] + frag[1:]),
        Case("ChangeCipherSpec between fragments", [frag[0], ccs] + frag[1:]),
        Case("empty handshake records between fragments",
             [b"".join(r + empty for r in frag)]),
        Case("empty handshake record first", [empty, whole]),
        Case("zero-length handshake message header only", [record(HANDSHAKE, handshake(1, b""))]),
        Case("ChangeCipherSpec before ClientHello", [ccs, whole]),
        Case("two ClientHellos", [whole + whole]),
        Case("second ClientHello after the first's answer", [whole, (0.3, whole)]),
    ] + retry_cases(h, rng)


def retry_cases(h, rng):
    """TLS 1.3 HelloRetryRequest: a ClientHello without key shares gets one (no cookie from
    GnuTLS), and the second ClientHello, with an X25519 share (any 32 bytes are a public
    key), gets the ServerHello: two ServerHellos in all."""
    first = record(HANDSHAKE, h.with_key_share(b""))
    second = h.with_key_share(struct.pack(">HH", X25519, 32) + rng.randbytes(32))
    return [
        Case("HelloRetryRequest, second ClientHello whole", [first, (0.3, record(HANDSHAKE, second))]),
        Case("HelloRetryRequest, second ClientHello in 1-byte records",
             [first, (0.3, b"".join(records(second, 1)))]),
        Case("HelloRetryRequest, second ClientHello without key share again", [first, (0.3, first)]),
        Case("HelloRetryRequest, half the second ClientHello, then EOF",
             [first, (0.3, b"".join(records(second, 64)[:4]))], eof=True),
    ]


def cases12(msg):
    """A TLS 1.2-only ClientHello: GnuTLS reads it on another path (no key share)."""
    frag = records(msg, 64)
    pad = Hello(msg).with_padding(20000)
    return [
        Case("TLS 1.2: whole ClientHello", [record(HANDSHAKE, msg)]),
        Case("TLS 1.2: 1-byte records", [b"".join(records(msg, 1))]),
        Case(f"TLS 1.2: {len(pad)}-byte ClientHello in 16 KiB records",
             [b"".join(records(pad, MAX_PLAIN))]),
        Case("TLS 1.2: all records but the last, then EOF", [b"".join(frag[:-1])], eof=True),
    ]


# ---------------------------------------------------------------- running a case

class Outcome:
    def __init__(self):
        self.first, self.ended, self.eof, self.error = "open", False, None, None
        self.hellos = 0  # ServerHellos (a HelloRetryRequest is one too)

    def __str__(self):
        if self.error:
            return f"error ({self.error})"
        s = self.first + (f" x{self.hellos}" if self.hellos > 1 else "")
        s += ", then closed" if self.ended and self.first != "close" else ""
        if not self.ended:
            s += f", closed {self.eof:.2f}s after EOF" if self.eof is not None else ", HELD after EOF"
        return s

    @property
    def progressed(self):
        return self.first == "hello"


def classify(data):
    if len(data) < 6:
        return None
    if data[0] == HANDSHAKE and data[5] == SERVER_HELLO:
        return "hello"
    if data[0] == ALERT and len(data) >= 7:
        return "alert:" + ALERTS.get(data[6], str(data[6]))
    if data[0] == ALERT:
        return None
    return f"other:{data[0]}"


def server_hellos(data):
    """How many records in data start a ServerHello."""
    n, p = 0, 0
    while len(data) - p >= 6:
        n += data[p] == HANDSHAKE and data[p + 5] == SERVER_HELLO
        p += 5 + struct.unpack(">H", data[p + 3:p + 5])[0]
    return n


def read_until(s, data, deadline):
    """Read into data until the server ends the connection (True) or the deadline (False)."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        s.settimeout(left)
        try:
            b = s.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        if not b:
            return True
        data += b
        if classify(bytes(data)) == "hello":  # the rest waits for our certificate
            deadline = min(deadline, time.monotonic() + HELLO_SETTLE)


def run(addr, case):
    o = Outcome()
    try:
        s = socket.create_connection(addr, timeout=5)
    except OSError as e:
        o.error = f"connect: {e}"
        return o
    data = bytearray()
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for delay, b in case.steps:
            time.sleep(delay)
            s.sendall(b)
    except (BrokenPipeError, ConnectionResetError):
        o.ended = True  # the server ended it early; what it sent is still read below
    if case.eof and not o.ended:
        s.shutdown(socket.SHUT_WR)
    t0 = time.monotonic()
    o.ended = read_until(s, data, t0 + ANSWER_WAIT) or o.ended
    o.first = classify(bytes(data)) or ("close" if o.ended else "open")
    if case.eof:  # the EOF went with the bytes: ending at all is ending after it
        if o.ended:
            o.ended, o.eof = False, time.monotonic() - t0
    elif not o.ended:
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        t0 = time.monotonic()
        if read_until(s, data, t0 + EOF_WAIT):
            o.eof = time.monotonic() - t0
        if o.first == "open":  # a slow answer still says what the server made of our bytes
            o.first = classify(bytes(data)) or "open"
    s.close()
    o.hellos = server_hellos(bytes(data))
    return o


def verdict(k, r):
    """Why ktund's outcome k differs from the reference's r in a way that matters, or None."""
    if k.error:
        return k.error
    if r.hellos > k.hellos:
        return "the reference progresses further than ktund"
    if k.hellos > r.hellos:
        return "ktund progresses further on input the reference refuses"
    if r.ended and not k.ended and not r.progressed:
        return "the reference ends the connection, ktund holds it"
    if not k.ended and k.eof is None:
        return f"ktund holds the connection more than {EOF_WAIT:.0f}s after the peer's EOF"
    return None


def lane(a, ref, todo, pool):
    """Cases one after another against one reference (gnutls-serv serves one connection at a
    time), each sent to ktund at the same moment."""
    out = []
    for c in todo:
        kf = pool.submit(run, a.ktund, c)
        r = run(ref, c)
        out.append((c, kf.result(), r))
    return out


def differential(a, rng, msg, msg12):
    todo = cases(msg, rng) + cases12(msg12)
    n = len(a.reference)
    with concurrent.futures.ThreadPoolExecutor(n) as kpool, \
            concurrent.futures.ThreadPoolExecutor(n) as rpool:
        lanes = [rpool.submit(lane, a, ref, todo[i::n], kpool) for i, ref in enumerate(a.reference)]
        done = {c.name: (k, r) for f in lanes for c, k, r in f.result()}
    failed, alerts = 0, 0
    for c in todo:
        k, r = done[c.name]
        why = verdict(k, r)
        alerts += k.first.startswith("alert:")
        detail = f" -> {why}" if why else " (differs in detail only)" if k.first != r.first else ""
        print(f"{'FAIL' if why else 'ok'}: {c.name}: ktund {k} | reference {r}{detail}")
        failed += why is not None
    print(f"differential: {len(todo) - failed}/{len(todo)} cases as the reference "
          f"(ktund sent {alerts} alerts)")
    return len(todo), failed


# ---------------------------------------------------------------- mutations

def mutate(rng, whole, fields):
    b = bytearray(whole)
    op = rng.randrange(5)
    if op == 0:
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(b) * 8)
            b[i // 8] ^= 1 << (i % 8)
        what = "bit flips"
    elif op == 1:
        off, size = rng.choice(fields)
        v = int.from_bytes(b[off:off + size], "big")
        v = rng.choice([0, v - 1, v + 1, v + rng.randint(2, 300), (1 << (8 * size)) - 1,
                        rng.randrange(1 << (8 * size))]) % (1 << (8 * size))
        b[off:off + size] = v.to_bytes(size, "big")
        what = f"length at {off} = {v}"
    elif op == 2:
        n = rng.randrange(1, len(b))
        del b[n:]
        what = f"truncated to {n}"
    elif op == 3:
        i = rng.randrange(len(b))
        b[i:i] = rng.randbytes(rng.randint(1, 64))
        what = f"bytes inserted at {i}"
    else:
        i = rng.randrange(len(b))
        n = rng.randint(1, 64)
        b[i:i + n] = b""
        what = f"{n} bytes cut at {i}"
    return bytes(b), what


def refragment(rec, size):
    body = rec[5:]
    return b"".join(record(rec[0], body[i:i + size], version=rec[1:3]) for i in range(0, len(body), size))


def mutations(a, rng, msg):
    whole = record(HANDSHAKE, msg)
    fields = length_fields(msg)
    todo = [mutate(rng, whole, fields) for _ in range(a.mutations)]
    # Every third goes in 7-byte records (of the mutated record's type and version), so that
    # corrupted messages also go through the reassembly of fragments.
    todo = [(refragment(b, 7), w + ", in 7-byte records") if i % 3 == 1 else (b, w)
            for i, (b, w) in enumerate(todo)]
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        futs = [pool.submit(run, a.ktund, Case(w, [b], eof=True)) for b, w in todo]
    held, kinds = [], {}
    for (b, what), f in zip(todo, futs):
        k = f.result()
        kinds[k.first] = kinds.get(k.first, 0) + 1
        if k.error or (not k.ended and k.eof is None):
            held.append(f"{what}: {k}")
    for h in held[:10]:
        print(f"FAIL: mutation {h}")
    summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    print(f"mutations (seed {a.seed}): {a.mutations - len(held)}/{a.mutations} closed "
          f"promptly after EOF; first answers: {summary}")
    return len(todo), len(held)


def hostport(s):
    h, _, p = s.rpartition(":")
    return h, int(p)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("ktund", type=hostport, help="HOST:PORT of ktund server")
    p.add_argument("reference", type=hostport, nargs="+",
                   help="HOST:PORT of reference servers, each used for one connection at a time")
    p.add_argument("--seed", type=int, default=0x6B74756E)
    p.add_argument("--mutations", type=int, default=200)
    p.add_argument("--count", help="write the number of connections made to ktund here")
    a = p.parse_args()
    rng = random.Random(a.seed)
    msg, msg12 = client_hello()[5:], client_hello(tls12=True)[5:]
    for m in msg, msg12:
        assert m[0] == 1 and len(m) == 4 + int.from_bytes(m[1:4], "big"), "one-record ClientHello"
    n1, f1 = differential(a, rng, msg, msg12)
    n2, f2 = mutations(a, rng, msg)
    if a.count:
        with open(a.count, "w") as f:
            f.write(f"{n1 + n2}\n")
    sys.exit(1 if f1 or f2 else 0)


if __name__ == "__main__":
    main()
