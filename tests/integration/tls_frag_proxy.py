#!/usr/bin/env python3
"""TCP proxy that rewrites a TLS server's handshake records, for tests/integration/tls-fuzz-client.sh.

  tls_frag_proxy.py serve BASE_PORT UPSTREAM_HOST:PORT
      listens on BASE_PORT+i for each mode i (MODES, in order), relays each connection to
      UPSTREAM and rewrites what the server sends as mode i says; the client's bytes pass as
      they are. Only the server's plaintext handshake records (TLS 1.2: its whole first flight;
      TLS 1.3: the ServerHello) are rewritten: the handshake transcript stays the same, so a
      client that reads records correctly still completes the handshake.
  tls_frag_proxy.py modes
      prints "INDEX EXPECT NAME" per mode (EXPECT: ok, fail, or any: the handshake must then
      succeed, fail, or may do either; the client must match the reference either way).
"""
import socket
import struct
import sys
import threading
import time

HANDSHAKE, ALERT = 22, 21


def rec(ctype, payload, version=b"\x03\x03", length=None):
    n = len(payload) if length is None else length
    return bytes([ctype]) + version + struct.pack(">H", n) + payload


def split(size, delay=0.0):
    def f(payloads):
        b = b"".join(payloads)
        return [(delay, rec(HANDSHAKE, b[i:i + size])) for i in range(0, len(b), size)]
    return f


def as_sent(payloads):
    return [(0, rec(HANDSHAKE, p)) for p in payloads]


def one_record(payloads):
    return split(1 << 14)(payloads)


def empty_first(payloads):
    return [(0, rec(HANDSHAKE, b""))] + as_sent(payloads)


def flip(payloads):
    b = bytearray(b"".join(payloads))
    b[10] ^= 0x01  # in ServerHello.random: the transcript no longer matches
    return one_record([bytes(b)])


def overflow(payloads):
    b = b"".join(payloads)
    return [(0, rec(HANDSHAKE, b, length=(1 << 14) + 1))]


def garbage(payloads):
    return [(0, b"HTTP/1.1 400 Bad Request\r\n\r\n" + bytes(range(256)))]


# name, rewrite of the plaintext handshake records' payloads, whether the handshake must
# still succeed (ok, fail, any), bytes after which the proxy cuts both sides (None: no cut)
MODES = [
    ("as sent", as_sent, "ok", None),
    ("1-byte records", split(1), "ok", None),
    ("7-byte records", split(7), "ok", None),
    ("100-byte records, 5 ms apart", split(100, 0.005), "ok", None),
    ("one record for the whole flight", one_record, "ok", None),
    ("empty handshake record first", empty_first, "any", None),
    ("a ServerHello.random bit flipped", flip, "fail", None),
    ("record length 2^14+1", overflow, "fail", None),
    ("first 100 bytes, then EOF", as_sent, "fail", 100),
    ("garbage instead of the flight", garbage, "fail", None),
]


def read_records(sock, buf):
    """Complete records from sock (buf carries a partial one); [] at EOF."""
    while True:
        recs, p = [], 0
        while len(buf) - p >= 5:
            n = struct.unpack(">H", buf[p + 3:p + 5])[0]
            if len(buf) - p < 5 + n:
                break
            recs.append(bytes(buf[p:p + 5 + n]))
            p += 5 + n
        del buf[:p]
        if recs:
            return recs
        b = sock.recv(65536)
        if not b:
            return []
        buf += b


def relay_down(server, client, mode):
    """Server to client: collect the leading plaintext handshake records up to the end of the
    server's first flight, rewrite them, then pass everything else as it comes."""
    _, rewrite, _, cut = mode
    buf = bytearray()
    payloads, rest = [], []
    while not rest:
        recs = read_records(server, buf)
        if not recs:
            break
        for i, r in enumerate(recs):
            if r[0] != HANDSHAKE:
                rest = recs[i:]
                break
            payloads.append(r[5:])
        if not rest and _ends_flight(b"".join(payloads)):
            break
    out = rewrite(payloads)
    if cut is not None:
        client.sendall(b"".join(b for _, b in out)[:cut])
        return
    # Records without a delay leave in one write, so they reach the client in one segment:
    # a client must then find several records in one read.
    if all(delay == 0 for delay, _ in out):
        out = [(0, b"".join(b for _, b in out))]
    for delay, b in out:
        time.sleep(delay)
        client.sendall(b)
    client.sendall(b"".join(rest) + bytes(buf))
    while True:
        b = server.recv(65536)
        if not b:
            return
        client.sendall(b)


def _ends_flight(payload):
    """True when payload holds whole handshake messages and the last is ServerHelloDone, or
    it is a TLS 1.3 ServerHello (what follows is encrypted)."""
    p, last = 0, None
    while len(payload) - p >= 4:
        n = int.from_bytes(payload[p + 1:p + 4], "big")
        if len(payload) - p < 4 + n:
            return False
        last = payload[p]
        p += 4 + n
    if p != len(payload) or last is None:
        return False
    return last == 14 or (last == 2 and b"\x00\x2b\x00\x02\x03\x04" in payload)


def relay_up(client, server):
    try:
        while True:
            b = client.recv(65536)
            if not b:
                server.shutdown(socket.SHUT_WR)
                return
            server.sendall(b)
    except OSError:
        pass


def handle(client, upstream, mode):
    try:
        server = socket.create_connection(upstream, timeout=10)
        server.settimeout(None)
    except OSError:
        client.close()
        return
    threading.Thread(target=relay_up, args=(client, server), daemon=True).start()
    try:
        relay_down(server, client, mode)
    except OSError:
        pass
    finally:
        for s in client, server:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def listen(port, upstream, mode):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(16)
    while True:
        c, _ = ls.accept()
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=handle, args=(c, upstream, mode), daemon=True).start()


def main():
    if sys.argv[1:2] == ["modes"]:
        for i, (name, _, expect, _) in enumerate(MODES):
            print(f"{i} {expect} {name}")
        return
    base = int(sys.argv[2])
    host, _, port = sys.argv[3].rpartition(":")
    for i, mode in enumerate(MODES):
        threading.Thread(target=listen, args=(base + i, (host, int(port)), mode),
                         daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
