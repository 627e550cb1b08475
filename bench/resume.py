#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Handshakes per second and ktund CPU per connection, full vs resumed (TLS 1.3 tickets).

  bench/resume.py KTUND PKI [N]

Starts `KTUND server` on 127.0.0.1 (one worker, kTLS off so both runs take the same data path)
in front of an echo origin, then opens N connections one after another from Python's ssl
(OpenSSL) client, each with a certificate: first N full handshakes, then N that resume the
session of one earlier connection (a ticket kept per connection, so each resumed handshake
gets a fresh one). Each connection sends one byte and reads it back, so it is past its
handshake. Prints connections per second and the server's user+system CPU per connection from
/proc/PID/stat (clock ticks), for each kind, and the two apart. The client's cost is in the wall time too: the
rate is an end-to-end figure of one client; CPU per connection is ktund's alone.
"""
import os, signal, socket, ssl, subprocess, sys, threading, time

ktund, pki = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 400
TLS_PORT, ORIGIN_PORT = 18443, 18080


def origin():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", ORIGIN_PORT))
    s.listen(128)
    while True:
        c, _ = s.accept()
        threading.Thread(target=echo, args=(c,), daemon=True).start()


def echo(c):
    # The client ends without close_notify, so ktund resets this side (reason=truncated).
    with c:
        try:
            while (b := c.recv(4096)):
                c.sendall(b)
        except ConnectionResetError:
            pass


def user_sys(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])  # utime, stime


def cpu_ticks(pid):
    return sum(user_sys(pid))


def one(ctx, session=None):
    with socket.create_connection(("127.0.0.1", TLS_PORT)) as raw:
        with ctx.wrap_socket(raw, server_hostname="origin.test", session=session) as t:
            t.sendall(b"x")
            if t.recv(1) != b"x":
                raise RuntimeError("no echo")
            # The ticket comes after the handshake; reading the echo has read it.
            return t.session, t.session_reused


def run(ctx, sessions, pid):
    t0, c0 = time.monotonic(), cpu_ticks(pid)
    out, reused = [], 0
    for i in range(n):
        s, r = one(ctx, sessions[i] if sessions else None)
        out.append(s)
        reused += r
    return time.monotonic() - t0, cpu_ticks(pid) - c0, out, reused


threading.Thread(target=origin, daemon=True).start()
time.sleep(0.2)
srv = subprocess.Popen([ktund, "server", "--listen", f"127.0.0.1:{TLS_PORT}",
                        "--target", f"127.0.0.1:{ORIGIN_PORT}", "--cert", f"{pki}/server-chain.pem",
                        "--key", f"{pki}/server.key", "--cacert", f"{pki}/ca.pem", "--allow-all",
                        "--workers", "1", "--ktls", "off", "--control", "/tmp/ktun-resume-bench.sock",
                        "--log-level", "warning"], stderr=subprocess.PIPE)
for _ in range(100):  # until it listens
    try:
        socket.create_connection(("127.0.0.1", TLS_PORT)).close()
        break
    except ConnectionRefusedError:
        time.sleep(0.1)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.load_verify_locations(f"{pki}/ca.pem")
ctx.load_cert_chain(f"{pki}/client-chain.pem", f"{pki}/client.key")
try:
    one(ctx)  # warm up
    hz = os.sysconf("SC_CLK_TCK")
    t0 = user_sys(srv.pid)
    wall_f, cpu_f, sessions, _ = run(ctx, None, srv.pid)
    t1 = user_sys(srv.pid)
    wall_r, cpu_r, _, reused = run(ctx, sessions, srv.pid)
    t2 = user_sys(srv.pid)
    ms = lambda a, b, i: 1e3 * (b[i] - a[i]) / hz / n
    print(f"connections: {n} full, {n} offering a ticket ({reused} resumed)")
    print(f"user/system ms/conn: full {ms(t0, t1, 0):.3f}/{ms(t0, t1, 1):.3f}, "
          f"resumed {ms(t1, t2, 0):.3f}/{ms(t1, t2, 1):.3f}")
    print(f"full:    {n / wall_f:7.1f} conn/s, ktund CPU {1e3 * cpu_f / hz / n:6.3f} ms/conn")
    print(f"resumed: {n / wall_r:7.1f} conn/s, ktund CPU {1e3 * cpu_r / hz / n:6.3f} ms/conn")
    print(f"ratio:   {wall_f / wall_r:5.2f}x the rate, {cpu_r / max(cpu_f, 1):5.2f}x the CPU")
finally:
    srv.send_signal(signal.SIGTERM)
    srv.wait(timeout=40)
