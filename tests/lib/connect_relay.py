#!/usr/bin/env python3
"""An mTLS HTTP CONNECT relay for the client-destination tests (tests/integration/
client-destination.sh, tests/bpf/bpf-destination.sh), with its origins and an application:

  connect_relay.py relay --cert F --key F --ca F --log LOG PORT:MODE ... [--host ADDR]
      TLS server on ADDR:PORT (default 0.0.0.0) for each PORT:MODE, requiring a client
      certificate that chains to the CA. Reads the CONNECT head (at most 4096 bytes), appends
      "request port=P mode=M authority=A host=H forwarded=F" to LOG, then per MODE:
        ok          connects to the authority, answers 200 (502 if it cannot), relays
        wait-data   connects, and answers 200 only once application bytes came after the
                    request (at most 5 s); logs "before-answer bytes=N" with what it had
        status-NNN  answers NNN with a reason phrase holding a quote, a backslash and UTF-8 (obs-text),
                    Connection: close, Content-Length: 0, then close_notify and close
        garbage     answers a head that is no HTTP answer ("HTTP/1.1 2x0 OK")
        long        answers a 200 head longer than 4096 bytes
        split       connects, answers 200 in 1-byte TLS records, relays
        early       connects, waits for the origin's first bytes and sends them in the same
                    TLS record as the 200 head, relays
        close-mid   sends part of a 200 head, then close_notify and close
        close       close_notify and close without a byte of answer
        tls-garbage writes a record that no key opens (bad MAC) into the TCP stream
        silent      never answers; holds the connection until the peer closes
        fixed=H:P   no CONNECT: relays to H:P (a tunnel without destination, for comparison)
  connect_relay.py origin ADDR:PORT ...
      on each connection: "banner ADDR:PORT peer=IP\\n", then echoes until end of stream
  connect_relay.py app HOST:PORT [TEXT [--reset]]
      connects, sends TEXT (with a newline), reads until end of stream or 10 s, prints what
      it got (repr); exit 0 at a clean end, 3 when reset, 4 on time-out, 5 if it cannot connect.
      With --reset it resets the connection right after sending TEXT instead (exit 0); with
      --echo-first it half-closes only once TEXT came back (the tunnel is streaming by then).

Runs the TLS side with MemoryBIOs, so that each write is exactly one TLS record and the two
directions never share an SSL object across threads.
"""
import errno
import select
import socket
import ssl
import struct
import sys
import threading
import time

from origin import echo, listen

HEAD_MAX = 4096


class Tls:
    def __init__(self, sock, ctx):
        self.sock = sock
        self.inc = ssl.MemoryBIO()
        self.out = ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_side=True)
        self.eof = False

    def flush(self):
        data = self.out.read()
        if data:
            self.sock.sendall(data)

    def feed(self):
        data = self.sock.recv(65536)
        if not data:
            self.inc.write_eof()
            return False
        self.inc.write(data)
        return True

    def handshake(self):
        while True:
            try:
                self.obj.do_handshake()
                self.flush()
                return
            except ssl.SSLWantReadError:
                self.flush()
                if not self.feed():
                    raise EOFError("closed in the handshake")

    def read_available(self):
        chunks = []
        while not self.eof:
            try:
                data = self.obj.read(65536)
            except ssl.SSLWantReadError:
                break
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                self.eof = True
                break
            if not data:
                self.eof = True
                break
            chunks.append(data)
        self.flush()
        return b"".join(chunks)

    def receive(self, timeout):
        """Whatever arrives within timeout (b"" at end of stream)."""
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return None
        if not self.feed():
            self.eof = True
        return self.read_available()

    def write(self, data):
        self.obj.write(data)
        self.flush()

    def close_notify(self):
        try:
            self.obj.unwrap()
        except (ssl.SSLWantReadError, ssl.SSLError):
            pass
        self.flush()


def log(path, line):
    with open(path, "a") as f:
        f.write(line + "\n")


def read_head(tls):
    buf = tls.read_available()
    while b"\r\n\r\n" not in buf and len(buf) <= HEAD_MAX:
        more = tls.receive(10)
        if not more:
            raise EOFError("no complete request head")
        buf += more
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, authority, version = lines[0].split(" ")
    if method != "CONNECT" or version != "HTTP/1.1":
        raise ValueError("not a CONNECT request: %r" % lines[0])
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    return authority, fields, rest


def dial(authority):
    host, _, port = authority.rpartition(":")
    s = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def relay(tls, origin, pending=b""):
    origin.settimeout(None)
    if pending:
        origin.sendall(pending)
    tls_open, origin_open = not tls.eof, True
    if not tls_open:
        origin.shutdown(socket.SHUT_WR)
    while tls_open or origin_open:
        want = ([tls.sock] if tls_open else []) + ([origin] if origin_open else [])
        ready, _, _ = select.select(want, [], [], 30)
        if not ready:
            return
        if tls.sock in ready:
            if not tls.feed():
                tls.eof = True
            data = tls.read_available()
            if data:
                origin.sendall(data)
            if tls.eof:
                origin.shutdown(socket.SHUT_WR)
                tls_open = False
        if origin in ready:
            data = origin.recv(65536)
            if data:
                tls.write(data)
            else:
                tls.close_notify()
                origin_open = False


STATUS_REASON = {403: 'destination "denied" \\ \u00e9', 502: "Bad Gateway", 504: "Gateway Timeout"}


def serve(conn, ctx, port, mode, logpath):
    tls = Tls(conn, ctx)
    origin = None
    try:
        tls.handshake()
        if mode.startswith("fixed="):
            origin = dial(mode[6:])
            relay(tls, origin, tls.read_available())
            return
        authority, fields, rest = read_head(tls)
        log(logpath, "request port=%d mode=%s authority=%s host=%s forwarded=%s" %
            (port, mode, authority, fields.get("host", "-"), fields.get("forwarded", "-")))
        if mode.startswith("status-"):
            code = int(mode[7:])
            tls.write(b"HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Length: 0\r\n\r\n" %
                      (code, STATUS_REASON.get(code, "Refused").encode("utf-8")))
            tls.close_notify()
            return
        if mode == "garbage":
            tls.write(b"HTTP/1.1 2x0 OK\r\n\r\n")
            tls.close_notify()
            return
        if mode == "long":
            tls.write(b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * 5000 + b"\r\n\r\n")
            time.sleep(1)
            return
        if mode == "close-mid":
            tls.write(b"HTTP/1.1 200 Conn")
            tls.close_notify()
            return
        if mode == "close":
            tls.close_notify()
            return
        if mode == "tls-garbage":
            tls.sock.sendall(b"\x17\x03\x03\x00\x20" + b"\x55" * 32)
            time.sleep(1)
            return
        if mode == "silent":
            while tls.receive(30):
                pass
            return
        try:
            origin = dial(authority)
        except OSError as e:
            log(logpath, "dial %s failed: %s" % (authority, e))
            tls.write(b"HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
            tls.close_notify()
            return
        head = b"HTTP/1.1 200 Connection established\r\n\r\n"
        if mode == "wait-data":
            deadline = time.monotonic() + 5
            while not rest and not tls.eof and time.monotonic() < deadline:
                rest += tls.receive(deadline - time.monotonic()) or b""
            log(logpath, "before-answer bytes=%d" % len(rest))
            origin.sendall(rest)
            rest = b""
        if mode == "split":
            for i in range(len(head)):
                tls.write(head[i:i + 1])
        elif mode == "early":
            origin.sendall(rest)
            rest = b""
            tls.write(head + origin.recv(65536))
        else:
            tls.write(head)
        relay(tls, origin, rest)
    except (OSError, EOFError, ValueError, ssl.SSLError) as e:
        log(logpath, "connection on %d ended: %s" % (port, e))
    finally:
        if origin:
            origin.close()
        conn.close()


def relay_main(args):
    opts = {"--host": "0.0.0.0"}
    listens = []
    i = 0
    while i < len(args):
        if args[i].startswith("--"):
            opts[args[i]] = args[i + 1]
            i += 2
        else:
            port, _, mode = args[i].partition(":")
            listens.append((int(port), mode))
            i += 1
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(opts["--cert"], opts["--key"])
    ctx.load_verify_locations(opts["--ca"])
    ctx.verify_mode = ssl.CERT_REQUIRED
    socks = {}
    for port, mode in listens:
        socks[listen("%s:%d" % (opts["--host"], port), 64)] = (port, mode)
    while True:
        ready, _, _ = select.select(list(socks), [], [])
        for s in ready:
            conn, _ = s.accept()
            # Each write is one TLS record, sent now: Nagle would hold a record behind the
            # previous one's ACK (a delayed ACK, 40 ms).
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            port, mode = socks[s]
            threading.Thread(target=serve, args=(conn, ctx, port, mode, opts["--log"]),
                             daemon=True).start()


def origin_conn(conn, name, peer):
    try:
        conn.sendall(b"banner %s peer=%s\n" % (name.encode(), peer.encode()))
    except OSError:
        conn.close()
        return
    echo(conn)


def origin_main(args):
    socks = {listen(addr, 64): addr for addr in args}
    while True:
        ready, _, _ = select.select(list(socks), [], [])
        for s in ready:
            conn, peer = s.accept()
            threading.Thread(target=origin_conn, args=(conn, socks[s], peer[0]), daemon=True).start()


def app_main(args):
    host, _, port = args[0].rpartition(":")
    try:
        s = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
    except ConnectionResetError:
        print("reset")  # a listener that resets at once can beat the connect's return
        return 3
    except OSError as e:
        print("connect failed: %s" % e)
        return 5
    got = b""
    if len(args) > 2 and args[2] == "--reset":
        s.sendall(args[1].encode() + b"\n")
        time.sleep(0.5)  # not a timing assert: only so the bytes go before the reset
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        return 0
    try:
        if len(args) > 1:
            s.sendall(args[1].encode() + b"\n")
            if len(args) > 2 and args[2] == "--echo-first":
                while not got.endswith(args[1].encode() + b"\n"):
                    data = s.recv(65536)
                    if not data:
                        break
                    got += data
            s.shutdown(socket.SHUT_WR)
        while True:
            data = s.recv(65536)
            if not data:
                break
            got += data
    except ConnectionResetError:
        print(repr(got))
        print("reset")
        return 3
    except socket.timeout:
        print(repr(got))
        print("timeout")
        return 4
    except OSError as e:
        # A reset that beats our shutdown(): the socket is no longer connected.
        if e.errno != errno.ENOTCONN:
            raise
        print(repr(got))
        print("reset")
        return 3
    print(repr(got))
    return 0


def main():
    roles = {"relay": relay_main, "origin": origin_main, "app": app_main}
    if len(sys.argv) < 3 or sys.argv[1] not in roles:
        sys.stderr.write(__doc__)
        return 2
    return roles[sys.argv[1]](sys.argv[2:]) or 0


if __name__ == "__main__":
    sys.exit(main())
