#!/usr/bin/env python3
"""resolver_flood.py HOST PORT PKI CERTNAME N [--wait S]

For server-destination.sh: N mutual-TLS connections to a `target = from-client` ktund server,
each sending CONNECT slowI.example:80 at once (names a DNS server that never answers keeps
in the resolver), then reads every answer until the server ends the session or --wait S
pass. Prints one line per distinct outcome: COUNT, the status line (or "-") and how the
session ended ("close_notify", "eof", "reset", "timeout", "tls-error").
"""
import collections
import time

from connect_client import context, parser, read_session, tls_connect


def main():
    ap = parser()
    ap.add_argument("n", type=int)
    ap.add_argument("--wait", type=float, default=20)
    a = ap.parse_args()
    ctx = context(a.pki, a.cert)
    conns = []
    for i in range(a.n):
        s = tls_connect(ctx, a.host, a.port, a.wait)
        host = "slow%d.example:80" % i
        s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (host, host)).encode())
        conns.append(s)
    end = time.monotonic() + a.wait
    seen = collections.Counter()
    for s in conns:
        got, how = read_session(s, end)
        line = got.split(b"\r\n", 1)[0].decode("latin-1") if got else "-"
        seen[(line, how)] += 1
        s.close()
    for (line, how), n in sorted(seen.items()):
        print("%d %s %s" % (n, line.replace(" ", "_"), how))


if __name__ == "__main__":
    main()
