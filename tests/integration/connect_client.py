#!/usr/bin/env python3
"""connect_client.py HOST PORT PKI CERTNAME [--record TEXT]... [--wait S] [--hold S] [--tls12]

A mutual-TLS client for server-destination.sh that speaks to a `target = from-client` ktund
server byte by byte, as curl cannot: each --record TEXT (Python escapes: \\r\\n, \\x00) is
written with one SSL write, so one TLS record (a record holding a request head and the data
after it, two heads in one record, a head cut over records). With --hold S it then waits S
seconds before reading (a connection ktunctl conns can see); --tls12 caps the version at
TLS 1.2 (the server's last flight follows the client's Finished). It reads until the server ends
the session or --wait S (default 10) pass, and prints one line: the bytes received
(repr, \\r\\n escaped) and how the session ended: "close_notify", "eof" (TCP FIN without
close_notify), "reset",
"timeout" or "tls-error". resolver_flood.py takes parser(), tls_connect() and read_session() from here.
"""
import argparse
import socket
import ssl
import sys
import time


def parser():
    """The arguments both tools start with: HOST PORT PKI CERTNAME."""
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("pki")
    ap.add_argument("cert")
    return ap


def context(pki, cert, tls12=False):
    """A client context with PKI's CERT (CERT-chain.pem, CERT.key), trusting PKI's ca.pem."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki + "/ca.pem")
    if tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(pki + "/" + cert + "-chain.pem", pki + "/" + cert + ".key")
    return ctx


def tls_connect(ctx, host, port, wait):
    """A TLS connection to the server named origin.test; an EOF without close_notify raises."""
    raw = socket.create_connection((host, port), timeout=wait)
    return ctx.wrap_socket(raw, server_hostname="origin.test", suppress_ragged_eofs=False)


def read_session(s, deadline):
    """What arrives on s until the server ends the session or time.monotonic() passes
    deadline, and how it ended: (bytes, "close_notify"|"eof"|"reset"|"timeout"|"tls-error")."""
    got, end = b"", "timeout"
    try:
        while time.monotonic() < deadline:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            b = s.recv(65536)
            if not b:
                end = "close_notify"
                break
            got += b
    except ConnectionResetError:
        end = "reset"
    except ssl.SSLError as e:
        end = "eof" if isinstance(e, ssl.SSLEOFError) else "tls-error"
    except (socket.timeout, TimeoutError):
        end = "timeout"
    return got, end


def main():
    ap = parser()
    ap.add_argument("--record", action="append", default=[])
    ap.add_argument("--wait", type=float, default=10)
    ap.add_argument("--hold", type=float, default=0)
    ap.add_argument("--tls12", action="store_true")
    a = ap.parse_args()
    ctx = context(a.pki, a.cert, a.tls12)
    s = tls_connect(ctx, a.host, a.port, a.wait)
    for text in a.record:
        s.sendall(text.encode("latin-1").decode("unicode_escape").encode("latin-1"))
    time.sleep(a.hold)
    got, end = read_session(s, time.monotonic() + a.wait)
    print(repr(got)[2:-1], end)


if __name__ == "__main__":
    sys.exit(main())
