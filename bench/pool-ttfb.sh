#!/bin/bash
# pool-ttfb: time to first byte through a ktund pair on this host, with and without the
# client's warm pool (issue 14 §2). Network namespaces (tests/lib/netns.sh), no added delay:
# what it shows is the handshake taken off the critical path, not a WAN's round trips (that is
# bench/run --wan). For each mode, N sequential connections (each: connect to the client's
# listener, send one line, read the origin's echo of it; the time from connect() to the first
# byte back), a pause between them so that the pool refills; medians and p90 printed.
#   bench/pool-ttfb.sh [N (200)] [POOL (4)]   root; KTUND, KTUNCTL default to build/.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
export KTUN_SRCDIR=$here KTUND=${KTUND:-$here/build/daemon/ktund} KTUNCTL=${KTUNCTL:-$here/build/tools/ktunctl}
# shellcheck source=../tests/lib/ktund.sh
. "$here/tests/lib/ktund.sh"
N=${1:-200}
POOL=${2:-4}
pair_init
bg_origin python3 "$KTUN_LIB/origin.py" echo "127.0.0.1:$ORIGIN_PORT" "$WORK/accepts.log"
wait_port "$NS_ORIGIN" "$ORIGIN_PORT" || fail "origin did not start"
SERVER_TARGET=from-client start_server --allow-destination "127.0.0.1/32:$ORIGIN_PORT"

measure() { # label, client args...
	local label=$1
	shift
	start_client --destination "127.0.0.1:$ORIGIN_PORT" --workers 2 "$@"
	sleep 1
	ip netns exec "$NS_EDGE" python3 - "$EDGE_PORT" "$N" "$label" <<'PY'
import socket, statistics, sys, time
port, n, label = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ts = []
for i in range(n):
    t0 = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(b"x\n")
    if not s.recv(1):
        sys.exit("no echo")
    ts.append((time.perf_counter() - t0) * 1000)
    s.close()
    time.sleep(0.05)
ts.sort()
print("%-10s n=%d median %.2f ms  p90 %.2f ms  min %.2f ms" %
      (label, n, statistics.median(ts), ts[int(0.9 * n)], ts[0]))
PY
	ctl client status | grep -E 'pool_(hits|misses) ' | tr '\n' ' '
	echo
	stop_daemon "$CLIENT_PID" client
	CLIENT_PID=
}
measure cold
measure "pool=$POOL" --pool "$POOL"
measure cold
measure "pool=$POOL" --pool "$POOL"
stop_pair
