# pp_origin.py PORT OUT: an origin that parses a PROXY v2 header itself (tests/integration
# server-proxy.sh, server-identity.sh). Per connection it appends one JSON line to OUT: version,
# family, addresses, PP2_TYPE_SSL's client flags, verify result and sub-TLVs (ssl_21 version,
# ssl_22 CN, ssl_23 cipher), ktund's TLVs (fingerprint 0xE0, uri 0xE1; text as UTF-8, other
# bytes as \\xHH) and the first payload line; it answers "ok\n" and closes.
import json, socket, struct, sys
port, out = int(sys.argv[1]), sys.argv[2]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(8)
while True:
    c, _ = s.accept()
    f = c.makefile("rb")
    head = f.read(16)
    r, tlvs = {}, b""
    if head[:12] != b"\r\n\r\n\x00\r\nQUIT\n":
        r["error"] = "no PROXY v2 signature: %r" % head
    else:
        ver, fam, n = head[12], head[13], struct.unpack("!H", head[14:16])[0]
        body = f.read(n)
        r.update(ver=ver, fam=fam)
        if fam == 0x11:
            r["src"] = socket.inet_ntoa(body[0:4]) + ":%d" % struct.unpack("!H", body[8:10])
            r["dst"] = socket.inet_ntoa(body[4:8]) + ":%d" % struct.unpack("!H", body[10:12])
            tlvs = body[12:]
        elif fam == 0x21:
            r["src"] = "[%s]:%d" % (socket.inet_ntop(socket.AF_INET6, body[0:16]),
                                    struct.unpack("!H", body[32:34])[0])
            r["dst"] = "[%s]:%d" % (socket.inet_ntop(socket.AF_INET6, body[16:32]),
                                    struct.unpack("!H", body[34:36])[0])
            tlvs = body[36:]
        while len(tlvs) >= 3:
            t, l = tlvs[0], struct.unpack("!H", tlvs[1:3])[0]
            v, tlvs = tlvs[3:3 + l], tlvs[3 + l:]
            if t == 0x20:
                r["ssl_client"], r["ssl_verify"] = v[0], struct.unpack("!I", v[1:5])[0]
                sub = v[5:]
                while len(sub) >= 3:
                    st, sl = sub[0], struct.unpack("!H", sub[1:3])[0]
                    r["ssl_%02x" % st] = sub[3:3 + sl].decode(errors="backslashreplace")
                    sub = sub[3 + sl:]
            elif t == 0xE0:
                r["fingerprint"] = v.hex()
            elif t == 0xE1:
                r["uri"] = v.decode(errors="backslashreplace")
    r["payload"] = f.readline().decode(errors="backslashreplace")
    c.sendall(b"ok\n")
    f.close()  # the file object holds the socket open too
    c.close()
    with open(out, "a") as o:
        o.write(json.dumps(r) + "\n")
