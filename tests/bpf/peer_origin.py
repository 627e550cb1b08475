#!/usr/bin/env python3
"""The origin of ktun's redirect tests (tests/bpf/): an HTTP server that answers every request
with the address it saw the connection come from, so a test can tell a tunnelled request (the
far ktund's address) from one that went direct (the client's own address).

  peer_origin.py PORT...    listen on [::]:PORT for each, dual stack; GET /sleep/N waits N s
                            first (to hold a connection open while a test looks at it)
"""
import http.server
import socket
import sys
import threading
import time


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/sleep/"):
            time.sleep(float(self.path[7:]))
        peer = self.client_address[0]
        if peer.startswith("::ffff:"):
            peer = peer[7:]
        body = ("peer=%s\n" % peer).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.client_address[0], fmt % args))


class Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def main():
    servers = [Server(("::", int(p)), Handler) for p in sys.argv[1:]]
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    servers[0].serve_forever()


if __name__ == "__main__":
    main()
