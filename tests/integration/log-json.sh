#!/bin/bash
# log-json: with --log-format json (or log-format = json in [global]) every stderr line of a
# real ktund is one JSON object (python3 json) of ASCII, with the same fields as the text line
# of the same event (and its "time", as the text line starts with it, except for the journal,
# which stamps lines itself): a start-up error, ready, then, serving, an accepted handshake and its
# close from a client whose CN holds a quote, a backslash, a control byte and UTF-8 (cert_text
# writes them \xHH: the JSON id is that same text), and a reject (untrusted CA). The same
# connections against a text-format ktund give the values the JSON fields must equal. With
# stderr the journal, each object comes after its "<N>" priority. Runs in a network namespace
# of its own (loopback only), so needs root.
set -u
# shellcheck source=../lib/ktund.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktund.sh"
[ "$(id -u)" = 0 ] || skip "needs root (a network namespace of its own)"
need_cmd unshare certtool gnutls-cli openssl python3
: "${KTUND:?}" "${KTUN_SRCDIR:?}"

if [ "${1:-}" = inner ]; then
	work=$2 pki=$2/pki
	ip link set lo up

	# serve LOGFILE PORT ARGS...: a server, the hostile and the foreign client, stopped once
	# the close and the reject are logged. The target is a closed port: the close says so.
	serve() {
		local log=$1 port=$2 pid
		shift 2
		"$KTUND" server --listen "127.0.0.1:$port" --target 127.0.0.1:9 \
			--cert "$pki/server-chain.pem" --key "$pki/server.key" --cacert "$pki/ca.pem" \
			--allow-all --control "$work/ctl-$port.sock" "$@" 2>"$log" &
		pid=$!
		wait_log "$log" 'ready' || not_ok "$log: no ready line"
		gnutls_client "$pki" client-odd "$port"
		gnutls_client "$pki" client-foreign "$port"
		if ! wait_log "$log" 'close' || ! wait_log "$log" 'reject'; then
			not_ok "$log: no close or reject line"
		fi
		kill "$pid"; wait "$pid"
	}

	serve "$work/text.log" 8443
	serve "$work/json.log" 8444 --log-format json
	# stderr the journal (JOURNAL_STREAM its DEV:INODE): "<N>" goes before each object.
	: >"$work/journal.log"
	JOURNAL_STREAM=$(stat -c '%d:%i' "$work/journal.log") serve "$work/journal.log" 8445 --log-format json
	printf '[global]\nlog-format = json\ncontrol = %s\n[t]\nmode = server\nlisten = 127.0.0.1:1\n' \
		"$work/ctl-ini.sock" >"$work/ini.conf"
	printf 'target = 127.0.0.1:9\ncacert = %s/no-such-ca.pem\ncert = %s/server-chain.pem\nkey = %s/server.key\nallow-all = yes\n' \
		"$pki" "$pki" "$pki" >>"$work/ini.conf"
	"$KTUND" --config "$work/ini.conf" 2>"$work/ini.log"
	echo "ini: exit $?"
	python3 - "$work" <<'PY' || not_ok "the JSON lines (see above)"
import json, re, sys
work = sys.argv[1]
bad = 0
def check(cond, what):
    global bad
    print(("ok: " if cond else "FAIL: ") + what)
    bad |= not cond

def objects(path):
    out = []
    for raw in open(path, "rb").read().split(b"\n")[:-1]:
        try:
            raw.decode("ascii")
            o = json.loads(raw)
            assert isinstance(o, dict) and "level" in o and "msg" in o
            assert all(isinstance(v, str) for v in o.values())
            out.append(o)
        except Exception as e:
            check(False, f"{path}: not a JSON object of ASCII ({e}): {raw!r}")
    return out

STAMP = r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"

def text_fields(line):
    # The text line's pairs, as ktund writes them: key=bare or key="quoted, no raw quote".
    return dict((m[0], m[1] if m[1] is not None and m[2] == "" else m[2])
                for m in re.findall(r' ([a-z_][a-z0-9_]*)=(?:"([^"]*)"|([^ ]*))', line))

js = objects(f"{work}/json.log")
text = open(f"{work}/text.log", encoding="latin-1").read().splitlines()
check(len(js) == len(text) and len(js) >= 4, f"{len(js)} JSON lines, {len(text)} text lines")
check(any({k: v for k, v in o.items() if k != "time"} == {"level": "notice", "msg": "ready"}
          for o in js), "ready: {time, level: notice, msg: ready}")
for i, (o, t) in enumerate(zip(js, text)):
    m = re.match(STAMP + r" ktund: ([a-z]+): (?:\[([^]]*)\] )?", t)
    check(m is not None and o["level"] == m[2] and o.get("tunnel") == m[3],
          f"line {i + 1}: level and tunnel as the text line's: {o}")
    check(re.fullmatch(STAMP, o.get("time", "")) is not None,
          f"line {i + 1}: a UTC time as the text line has: {o.get('time')}")
for kind, level in (("handshake", "info"), ("close", "info"), ("reject", "warning")):
    j = [o for o in js if o.get("msg") == kind]
    t = [l for l in text if f"[server] {kind} " in l]
    check(len(j) == len(t) and len(j) >= 1, f"{kind}: as many lines of each format")
    for o, line in zip(j, t):
        want = text_fields(line)
        check(o["level"] == level and o.get("tunnel") == "server", f"{kind}: level {level}, tunnel server")
        # The peer's port and the duration differ between the runs; the rest is the same.
        peer = o.pop("peer", "")
        got = {k: v for k, v in o.items() if k not in ("time", "level", "tunnel", "msg", "dur")}
        want = {k: v for k, v in want.items() if k not in ("peer", "dur")}
        check(got == want and re.fullmatch(r"127\.0\.0\.1:\d+", peer) is not None and
              (kind != "close" or re.fullmatch(r"\d+\.\d{3}", o.get("dur", ""))),
              f"{kind}: fields as the text line's: {got}")
hs = [o for o in js if o.get("msg") == "handshake"]
if hs:
    check(all(x in hs[0]["id"] for x in ("\\x22", "\\x5c", "\\x01", "\\xc3\\xb1")),
          f"handshake: hostile CN as cert_text's \\xHH: {hs[0]['id']}")
rj = [o for o in js if o.get("msg") == "reject"]
check(bool(rj) and rj[0].get("reason") == "untrusted", "reject: reason=untrusted")

levels = {"error": 3, "warning": 4, "notice": 5, "info": 6}
jl = open(f"{work}/journal.log", "rb").read().decode("ascii").splitlines()
pri = [re.fullmatch(r"<([3-7])>(\{.*\})", l) for l in jl]
check(len(jl) >= 4 and all(m and levels.get(json.loads(m[2])["level"]) == int(m[1]) and
                           "time" not in json.loads(m[2]) for m in pri),
      f"journal: each line <N> then the object, N its level, no time (journald's own): {jl[:2]}")

ini = objects(f"{work}/ini.log")
check(any(o["level"] == "error" and "no-such-ca.pem" in o["msg"] and o.get("tunnel") == "t"
          for o in ini), f"log-format = json in [global]: the start-up error as JSON: {ini}")
sys.exit(bad)
PY
	finish "--log-format json: every line one JSON object with the text line's fields"
fi

work=$(mktemp -d /tmp/ktun-log-json.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
pki=$work/pki
bash "$KTUN_SRCDIR/tests/lib/pki.sh" "$pki" >/dev/null 2>&1 || fail "pki.sh"
# A clientAuth leaf from the test intermediate whose CN holds a quote, a backslash (openssl
# -subj takes "\\" for one), a control byte and UTF-8 "ñ".
openssl ecparam -name prime256v1 -genkey -noout -out "$pki/client-odd.key" 2>/dev/null
openssl req -new -utf8 -key "$pki/client-odd.key" -subj $'/CN=edge"q\\\\b\x01\xc3\xb1/OU=edge' \
	-out "$work/odd.csr" 2>/dev/null
printf '%s\n' 'basicConstraints = critical, CA:FALSE' 'keyUsage = critical, digitalSignature' \
	'extendedKeyUsage = clientAuth' >"$work/odd.ext"
openssl x509 -req -in "$work/odd.csr" -CA "$pki/inter.pem" -CAkey "$pki/inter.key" \
	-set_serial 0x4b54 -days 30 -extfile "$work/odd.ext" -out "$pki/client-odd.pem" 2>/dev/null ||
	fail "the odd client certificate"
cat "$pki/client-odd.pem" "$pki/inter.pem" >"$pki/client-odd-chain.pem"
unshare -n bash "$0" inner "$work"
