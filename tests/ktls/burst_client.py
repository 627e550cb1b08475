#!/usr/bin/env python3
"""A TLS client that sends bursts of records for the kTLS receive path (one recvmsg takes many
records at once, then a send; what ends the reading waits for the data before it).

burst_client.py HOST PORT CAFILE CERTFILE KEYFILE MODE BYTES GOFILE
burst_client.py digest BYTES      prints "BYTES SHA256" of the pattern the client sends
After the handshake it waits for GOFILE to exist (the test creates it once the server has
handed the connection to the kernel). Through GnuTLS (ctypes, as empty_record.py), records corked so that a burst leaves in as few
TCP writes as possible:
  bye        BYTES of data then close_notify right behind them; reads until the end and
             prints what came back ("BYTES SHA256"); exit 0 once the peer closed cleanly
  keyupdate  BYTES of data then a KeyUpdate right behind them, then waits for the close
  vanish     BYTES of data then the first bytes of a record, and a FIN (EOF in the middle of
             a record)
  tiny       BYTES one-byte records (an empty one every 100), then close_notify; reads
             the echo and exit 0 when it is the bytes sent
"""
import hashlib
import socket
import struct
import sys

from empty_record import GNUTLS_SHUT_WR, check, g, read_to_end, send, session, wait_go

CHUNK = 16384


def pattern(n):
    block = bytes(range(256)) * (CHUNK // 256)
    return (block * (n // len(block) + 1))[:n]


def digest(data):
    return f"{len(data)} {hashlib.sha256(data).hexdigest()}"


def send_burst(s, data):
    g.gnutls_record_cork(s)
    for off in range(0, len(data), CHUNK):
        send(s, data[off:off + CHUNK])
    check(g.gnutls_record_uncork(s, 1), "uncork")  # GNUTLS_RECORD_WAIT: all of it written


def main():
    if sys.argv[1] == "digest":
        print(digest(pattern(int(sys.argv[2]))))
        return 0
    host, port, ca, cert, key, mode, nbytes, go = sys.argv[1:9]
    data = pattern(int(nbytes))
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.settimeout(None)  # GnuTLS reads the fd itself
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 60, 0))
    s = session(sock, ca, cert, key)
    wait_go(go)
    if mode == "bye":
        send_burst(s, data)
        check(g.gnutls_bye(s, GNUTLS_SHUT_WR), "bye")
        got, n = read_to_end(s)
        print(digest(got))
        return 0 if n == 0 else 1
    if mode == "keyupdate":
        send_burst(s, data)
        check(g.gnutls_session_key_update(s, 0), "key update")
        read_to_end(s)
        return 0
    if mode == "vanish":
        send_burst(s, data)
        # An application-data record's header and a few bytes of its 1,000: the peer is gone.
        sock.sendall(b"\x17\x03\x03\x03\xe8" + b"\x00" * 100)
        # A FIN, not a reset: close() with unread bytes (the server's ticket) would reset,
        # and a reset drops what the server has not read yet.
        sock.shutdown(socket.SHUT_WR)
        try:
            while sock.recv(65536):
                pass
        except OSError:
            pass
        sock.close()
        return 0
    if mode == "tiny":
        # Not corked: corking would merge them into one record. Nagle's algorithm packs them
        # into segments, so one recvmsg meets many.
        for i in range(len(data)):
            send(s, data[i:i + 1])
            if i % 100 == 0:
                send(s, b"")
        check(g.gnutls_bye(s, GNUTLS_SHUT_WR), "bye")
        got, n = read_to_end(s)
        print(f"echoed {digest(got)}, sent {digest(data)}")
        return 0 if got == data and n == 0 else 1
    raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    sys.exit(main())
