#!/bin/sh
# Installs ktun's build and test dependencies from Debian 12 packages.
# Idempotent: packages already present are left as they are.
set -eu

BUILD_PKGS="meson ninja-build pkg-config gcc clang llvm libgnutls28-dev libp11-kit-dev liburing-dev
  libnl-3-dev libnl-genl-3-dev libnl-route-3-dev libbpf-dev bpftool libinih-dev libmicrohttpd-dev
  libsystemd-dev libjson-c-dev libseccomp-dev scdoc libp11-kit-dev libcurl4-gnutls-dev"
TEST_PKGS="gnutls-bin openssl curl iperf3 nginx-light stunnel4 iproute2 procps
  python3 socat ncat valgrind man-db"
# tests/integration/ocsp.sh dates a stale OCSP response in the past (faketime around
# openssl ocsp); tests/integration/pkcs11.sh keeps the server key in a SoftHSM2 token;
# tests/integration/server-proxy.sh has HAProxy (accept-proxy) as a PROXY v2 origin.
TEST_PKGS="$TEST_PKGS faketime softhsm2 p11-kit haproxy"
# tests/integration/socket-activation.sh: systemd-socket-activate passes ktund its listeners.
TEST_PKGS="$TEST_PKGS systemd"
# tests/integration/sandbox.sh: a DNS server that reloads resolve a target name through, and
# an NSS hosts module (its postinst adds myhostname to /etc/nsswitch.conf: after files).
TEST_PKGS="$TEST_PKGS dnsmasq-base libnss-myhostname"
# tools/dev/test-fuzz.sh: clang's libFuzzer and sanitizer runtimes (gcc's ASan/UBSan, for
# tools/dev/test-asan.sh, come with gcc).
TEST_PKGS="$TEST_PKGS libclang-rt-14-dev"
# bench/run: plots, syscall counts in the guest, profiles.
BENCH_PKGS="gnuplot-nox strace linux-perf"

missing=""
for p in $BUILD_PKGS $TEST_PKGS $BENCH_PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: need root to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
