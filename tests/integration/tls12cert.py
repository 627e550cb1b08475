#!/usr/bin/env python3
"""tls12cert.py HOST PORT KIND: a TLS 1.2 client written out by hand (no TLS library would
send a malformed Certificate message) that answers the server's CertificateRequest with a
Certificate message of KIND and prints "alert N" for the alert it gets back:
  empty      an empty certificate_list: no certificate
  zero       a list with one entry of length 0
  garbage    a list with one entry that is not an X.509 certificate
TLS 1.2 sends the client's Certificate in the clear, before any key exchange, so nothing
here needs cryptography.
"""
import os
import socket
import struct
import sys

def record(typ, body):
    return bytes([typ, 3, 3]) + struct.pack(">H", len(body)) + body

def hs(typ, body):
    return bytes([typ]) + len(body).to_bytes(3, "big") + body

def ext(typ, body):
    return struct.pack(">HH", typ, len(body)) + body

def client_hello():
    suites = b"\xc0\x2b\xc0\x2c\xc0\x2f\xc0\x30"
    exts = (ext(0x000a, b"\x00\x04\x00\x1d\x00\x17") + ext(0x000b, b"\x01\x00") +
            ext(0x000d, b"\x00\x06\x04\x03\x05\x03\x08\x04") + ext(0x0017, b"") +
            ext(0xff01, b"\x00"))
    body = (b"\x03\x03" + os.urandom(32) + b"\x00" + struct.pack(">H", len(suites)) + suites +
            b"\x01\x00" + struct.pack(">H", len(exts)) + exts)
    return record(22, hs(1, body))

def read_exact(s, n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            raise EOFError("server closed")
        b += d
    return b

def main():
    host, port, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(client_hello())
    buf = b""
    while True:  # handshake messages until ServerHelloDone (14)
        typ, _, length = struct.unpack(">BHH", read_exact(s, 5))
        body = read_exact(s, length)
        if typ == 21:
            print(f"alert {body[1]}")
            return
        buf += body
        done = False
        while len(buf) >= 4 and len(buf) >= 4 + int.from_bytes(buf[1:4], "big"):
            mtype = buf[0]
            buf = buf[4 + int.from_bytes(buf[1:4], "big"):]
            done = done or mtype == 14
        if done:
            break
    entries = {"empty": b"", "zero": b"\x00\x00\x00", "garbage": b"\x00\x00\x05\x30\x03\x02\x01\x00"}[kind]
    s.sendall(record(22, hs(11, len(entries).to_bytes(3, "big") + entries)))
    while True:
        hdr = s.recv(5)
        if len(hdr) < 5:
            print("closed without alert")
            return
        typ, _, length = struct.unpack(">BHH", hdr)
        body = read_exact(s, length)
        if typ == 21:
            print(f"alert {body[1]}")
            return

if __name__ == "__main__":
    main()
