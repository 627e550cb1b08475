#!/usr/bin/env python3
"""A TLS client that sends zero-length application-data records between its data.

empty_record.py HOST PORT CAFILE CERTFILE KEYFILE
Through GnuTLS itself (ctypes): gnutls_record_send2 with no data and some padding sends an
application-data record with no content (TLS 1.3 padding only), which RFC 8446 allows and
which a recvmsg from a kTLS socket that meets only those returns as 0, like the end of the
stream (but with a record type). Sends "abc", an empty record, then "def" and two empty
records at once, and after a pause close_notify (so that a recvmsg that took the empty records
and found nothing more is retried by io_uring and meets the alert first), and expects "abcdef"
back from an echo origin behind the server. Exit 0 when it comes back.
"""
import ctypes
import os
import socket
import struct
import sys
import time

g = ctypes.CDLL("libgnutls.so.30")
g.gnutls_strerror.restype = ctypes.c_char_p
g.gnutls_record_send2.restype = ctypes.c_ssize_t
g.gnutls_record_send2.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                                  ctypes.c_size_t, ctypes.c_uint]
g.gnutls_record_recv.restype = ctypes.c_ssize_t
g.gnutls_record_recv.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
GNUTLS_CLIENT, GNUTLS_X509_FMT_PEM, GNUTLS_CRD_CERTIFICATE, GNUTLS_SHUT_WR = 2, 1, 1, 1
GNUTLS_E_AGAIN, GNUTLS_E_INTERRUPTED = -28, -52


def check(rc, what):
    if rc < 0:
        raise SystemExit(f"{what}: {g.gnutls_strerror(rc).decode()}")
    return rc


def session(sock, ca, cert, key, priority=None):
    cred, s = ctypes.c_void_p(), ctypes.c_void_p()
    check(g.gnutls_certificate_allocate_credentials(ctypes.byref(cred)), "credentials")
    check(g.gnutls_certificate_set_x509_trust_file(cred, ca.encode(), GNUTLS_X509_FMT_PEM), "CA")
    check(g.gnutls_certificate_set_x509_key_file(cred, cert.encode(), key.encode(),
                                                 GNUTLS_X509_FMT_PEM), "key")
    check(g.gnutls_init(ctypes.byref(s), GNUTLS_CLIENT), "init")
    if priority:
        check(g.gnutls_priority_set_direct(s, priority.encode(), None), "priority")
    else:
        check(g.gnutls_set_default_priority(s), "priority")
    check(g.gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred), "credentials_set")
    g.gnutls_transport_set_int2(s, sock.fileno(), sock.fileno())
    check(g.gnutls_handshake(s), "handshake")
    return s


def wait_go(path, limit=60):
    """Waits (at most LIMIT seconds) for PATH to exist: the test creates it once the server has
    handed the connection to the kernel, so what follows meets the kernel's receive."""
    for _ in range(limit * 20):
        if os.path.exists(path):
            return
        time.sleep(0.05)
    raise SystemExit(f"{path} did not appear in {limit} s")


def send(s, data):
    # GnuTLS refuses to send nothing (GNUTLS_E_INVALID_REQUEST) unless padding is asked for:
    # then it sends a record with no content, padded (TLS 1.3).
    n = g.gnutls_record_send2(s, data, len(data), 0 if data else 16, 0)
    if n != len(data):
        raise SystemExit(f"send of {len(data)} bytes returned {n}")


def read_to_end(s):
    """What the peer sends until its close_notify or the end: (bytes, the last recv's result)."""
    got, buf, again = [], ctypes.create_string_buffer(65536), 0
    while True:
        n = g.gnutls_record_recv(s, buf, len(buf))
        # A NewSessionTicket (ktund servers send one) is handled inside the call, which then
        # says AGAIN even on a blocking socket: read on, a few times (SO_RCVTIMEO's expiry
        # is an AGAIN too).
        if n in (GNUTLS_E_AGAIN, GNUTLS_E_INTERRUPTED) and again < 4:
            again += 1
            continue
        if n <= 0:
            return b"".join(got), n
        got.append(buf.raw[:n])


def main():
    host, port, ca, cert, key = sys.argv[1:6]
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.settimeout(None)  # GnuTLS reads the fd itself: blocking, not Python's timeout mode
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 30, 0))
    s = session(sock, ca, cert, key)
    time.sleep(0.5)  # past the hand-over: the kernel reads what follows
    # An empty record alone; then data and two empty records in one burst; then close_notify.
    send(s, b"abc")
    time.sleep(0.2)
    send(s, b"")
    time.sleep(0.2)
    for part in (b"def", b"", b""):
        send(s, part)
    time.sleep(0.2)
    check(g.gnutls_bye(s, GNUTLS_SHUT_WR), "bye")
    got, n = read_to_end(s)
    print(f"echoed {got!r} (last recv {n})")
    sys.exit(0 if got == b"abcdef" and n == 0 else 1)


if __name__ == "__main__":
    main()
