#!/usr/bin/env python3
"""A TLS client that makes the kTLS hand-over's hard cases happen on purpose.

It runs the handshake over memory BIOs, then puts the client's last handshake flight and the
first application record into the socket in one write (the server receives data coalesced with
its handshake), or cuts that record in two with a pause (the server has read part of a record
when the handshake ends). Then it streams more data and checks the echo byte for byte.

usage: handover_client.py HOST PORT CA CERT KEY SERVER_NAME coalesce|split
"""
import hashlib
import os
import socket
import ssl
import sys
import time


def pump_out(sock, out_bio):
    data = out_bio.read()
    if data:
        sock.sendall(data)


def handshake(sock, obj, in_bio, out_bio):
    while True:
        try:
            obj.do_handshake()
            return
        except ssl.SSLWantReadError:
            pump_out(sock, out_bio)
            data = sock.recv(65536)
            if not data:
                raise SystemExit("FAIL: server closed during the handshake")
            in_bio.write(data)


def read_plain(sock, obj, in_bio, n):
    got = bytearray()
    while len(got) < n:
        try:
            got += obj.read(n - len(got))
            continue
        except ssl.SSLWantReadError:
            pass
        data = sock.recv(65536)
        if not data:
            break
        in_bio.write(data)
    return bytes(got)


def main():
    host, port, ca, cert, key, name, mode = sys.argv[1:8]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(ca)
    ctx.load_cert_chain(cert, key)
    in_bio, out_bio = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(in_bio, out_bio, server_hostname=name)
    sock = socket.create_connection((host, int(port)), timeout=120)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    handshake(sock, obj, in_bio, out_bio)

    first = b"first-record:" + os.urandom(3000)
    obj.write(first)  # queued behind the Finished flight in out_bio
    wire = out_bio.read()
    if mode == "coalesce":
        sock.sendall(wire)
    else:
        cut = len(wire) - 1000  # inside the application record
        sock.sendall(wire[:cut])
        time.sleep(0.5)
        sock.sendall(wire[cut:])

    rest = os.urandom(1 << 20)
    expected = first + rest
    for i in range(0, len(rest), 16384):
        obj.write(rest[i:i + 16384])
        pump_out(sock, out_bio)
    got = read_plain(sock, obj, in_bio, len(expected))
    if got != expected:
        raise SystemExit("FAIL: echo differs (%d bytes back, %d sent; sha256 %s vs %s)" % (
            len(got), len(expected), hashlib.sha256(got).hexdigest()[:16],
            hashlib.sha256(expected).hexdigest()[:16]))
    try:
        obj.unwrap()  # close_notify, so the server sees a clean end
    except ssl.SSLWantReadError:
        pass
    pump_out(sock, out_bio)
    sock.shutdown(socket.SHUT_WR)
    while sock.recv(65536):
        pass
    sock.close()
    print("ok: %s hand-over, %d bytes echoed intact" % (mode, len(expected)))


if __name__ == "__main__":
    main()
