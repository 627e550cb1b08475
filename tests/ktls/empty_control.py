#!/usr/bin/env python3
"""A TLS 1.3 client that sends BYTES of burst_client.py's pattern, then an empty alert or
handshake record (no content, which RFC 8446 forbids for both), and waits for the peer to close.
As burst_client.py, it sends only once GOFILE exists.

empty_control.py HOST PORT CAFILE CERTFILE KEYFILE alert|handshake BYTES GOFILE
GnuTLS cannot send such a record, so this one is encrypted here: the handshake through GnuTLS
(ctypes, as empty_record.py), AES-128-GCM asked for, then the write key, IV and sequence number
from gnutls_record_get_state and one record built by hand (RFC 8446 5.2: inner plaintext is the
content, here none, and the type byte). A kTLS receiver's recvmsg returns 0 for it with the
record type in the cmsg. Exit 0 once the peer closed.
"""
import ctypes
import socket
import struct
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from burst_client import pattern
from empty_record import check, g, read_to_end, send, session, wait_go

TYPES = {"alert": 21, "handshake": 22}


class Datum(ctypes.Structure):
    _fields_ = [("data", ctypes.POINTER(ctypes.c_ubyte)), ("size", ctypes.c_uint)]


def write_state(s):
    mac, iv, key, seq = Datum(), Datum(), Datum(), (ctypes.c_ubyte * 8)()
    check(g.gnutls_record_get_state(s, 0, ctypes.byref(mac), ctypes.byref(iv),
                                    ctypes.byref(key), seq), "record_get_state")
    return (bytes(key.data[:key.size]), bytes(iv.data[:iv.size]), bytes(seq))


def empty_record(s, inner_type):
    key, iv, seq = write_state(s)
    if len(key) != 16 or len(iv) != 12:
        raise SystemExit(f"not AES-128-GCM under TLS 1.3: key {len(key)}, iv {len(iv)} bytes")
    nonce = bytes(a ^ b for a, b in zip(iv, bytes(4) + seq))
    inner = bytes([inner_type])  # no content, then the real type
    header = struct.pack("!BHH", 23, 0x0303, len(inner) + 16)
    return header + AESGCM(key).encrypt(nonce, inner, header)


def main():
    host, port, ca, cert, key, kind, nbytes, go = sys.argv[1:9]
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.settimeout(None)  # GnuTLS reads the fd itself
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 30, 0))
    s = session(sock, ca, cert, key,
                "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM")
    wait_go(go)
    send(s, pattern(int(nbytes)))
    sock.sendall(empty_record(s, TYPES[kind]))
    _, n = read_to_end(s)  # GnuTLS's own reading is done with: the peer must close
    print(f"peer closed (last recv {n})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
