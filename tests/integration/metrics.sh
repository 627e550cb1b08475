#!/bin/bash
# metrics: ktund server with metrics-listen. After one accepted and one refused handshake,
# GET /metrics (curl, from the origin namespace's loopback) and `ktunctl metrics` say so in
# Prometheus's text format: handshakes, failures by reason, closes, bytes, the handshake-duration
# histogram, certificate expiry of the own leaf and the CA, no client-only series (pool,
# ticket cache); every sample has a TYPE line and a
# number; a CA subject with a comma and quotes (RFC 4514 escapes them with '\', ktund writes
# '\' and '"' as \xHH) is a well-formed label with the backslashes doubled. Other paths
# answer 404, other methods 405, and the address is bound before "ready". GET /healthz says
# ready (200), draining after SIGTERM with a connection held (503) and an own certificate
# that expired while serving (503, certificates_valid false), as JSON; with ?targets=1 also
# whether the target accepts a connection (503 when not), probed at most once per 5 s.
# Idle or slow clients cannot keep a scrape from being answered (metrics_idle.py).
# Reloads: ktund_reloads_total{result} and ktund_last_reload_timestamp_seconds after a reload
# that changes nothing, one to a new certificate and key, and one that fails (a broken key);
# ktund_certificate_info names the leaf in force by serial (certtool's), before and after;
# the intermediate sent with the leaf has its expiry line (role="own-chain"), by serial; each
# reload logs what it changed. metrics-identities N: per-identity series for the first N
# identities, the others counted. promtool checks the scrape where it is installed.
set -euo pipefail
. "$(dirname "$0")/srvlib.sh"
need_cmd curl
srv_init

METRICS=127.0.0.1:9273
# A second CA beside the test root, whose subject has a comma and quotes.
openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/odd-ca.key"
openssl req -x509 -new -key "$WORK/odd-ca.key" -subj '/CN=ktun, "odd" CA' -days 30 \
	-addext 'basicConstraints = critical, CA:TRUE' -out "$WORK/odd-ca.pem"
cat "$WORK/odd-ca.pem" >>"$PKI/ca.pem"
# A CRL of the odd CA: its issuer is a label too.
make_crl "$WORK/odd-crl.pem" "$WORK/odd-ca.key" "$WORK/odd-ca.pem"
scrape() { ip netns exec "$NS_ORIGIN" curl -sS --max-time 5 "$@"; }

case_counts() {
	local m payload=metrics-check
	use_origin line
	srv_start --metrics-listen "$METRICS" --crl "$WORK/odd-crl.pem"
	ossl client "$payload"$'\n' || fail "the accepted client failed: $(cat "$WORK/peer.err")"
	ossl none x || true
	wait_n 'reject .*reason=no-client-cert' 1
	want_stat conns_open 0
	m=$(scrape "http://$METRICS/metrics") || fail "GET /metrics failed"
	echo "$m" >"$WORK/metrics.txt"
	for want in 'ktund_handshakes_total{tunnel="server"} 1' \
		'ktund_connections_total{tunnel="server"} 2' \
		'ktund_handshake_failures_total{tunnel="server",reason="no-client-cert"} 1' \
		'ktund_handshake_failures_total{tunnel="server",reason="expired"} 0' \
		'ktund_closes_total{tunnel="server",reason="done"} 1' \
		"ktund_bytes_total{tunnel=\"server\",direction=\"up\"} $((${#payload} + 1))" \
		'ktund_handshake_duration_seconds_bucket{tunnel="server",le="+Inf"} 1' \
		'ktund_handshake_duration_seconds_count{tunnel="server"} 1' \
		'ktund_connections_open{tunnel="server"} 0'; do
		grep -qxF "$want" <<<"$m" || fail "no line '$want' in /metrics"
	done
	# A server checks no name: no wrong-name series, nor status lines.
	! grep -q 'reason="wrong-name"' <<<"$m" || fail "a server tunnel lists wrong-name: $(grep wrong-name <<<"$m")"
	! ctl server status | grep -q wrong-name ||
		fail "a server tunnel's status lists wrong-name"
	# Nor pools nor ticket caches: those series are client-only (their HELP and TYPE stay).
	! grep -E '^ktund_(pool|ticket_cache)_[a-z_]*\{tunnel="server"' <<<"$m" >"$WORK/client-only.txt" ||
		fail "a server tunnel lists client-only series: $(cat "$WORK/client-only.txt")"
	# The own leaf is valid for a year from today, the root CA for ten.
	awk '/^ktund_certificate_expiry_seconds\{.*role="own",subject="CN=origin.test",serial="[0-9a-f]+"\}/ {
		exit !($2 > 360 * 86400 && $2 <= 366 * 86400) }' <<<"$m" ||
		fail "own certificate expiry wrong: $(grep role=.own <<<"$m")"
	grep -q '^ktund_certificate_expiry_seconds{tunnel="server",role="ca",subject="CN=ktun test root CA",serial="[0-9a-f]*"} ' <<<"$m" ||
		fail "no expiry line for the CA"
	# GnuTLS: CN=ktun\, \"odd\" CA; dn_text: \ and " as \x5c, \x22; the label: \ doubled.
	grep -qF 'role="ca",subject="CN=ktun\\x5c, \\x5c\\x22odd\\x5c\\x22 CA",serial="' <<<"$m" ||
		fail "the odd CA's label: $(grep -F 'odd' <<<"$m")"
	grep -qF 'ktund_crl_next_update_seconds{tunnel="server",issuer="CN=ktun\\x5c, \\x5c\\x22odd\\x5c\\x22 CA"} ' <<<"$m" ||
		fail "the odd CA's CRL label: $(grep -F 'crl_next' <<<"$m")"
	note "$(grep -c '^ktund_' <<<"$m") samples; own cert: $(grep -o 'role="own".*' <<<"$m")"
}

# metrics-identities 2: per-identity series for the first two identities seen (one accepted,
# "-" refused without a certificate); the third (refused: OU other) is kept by ktunctl peers
# but has no series, and ktund_peer_identities says so. Without the option: no such series.
case_identities() {
	local m id
	use_origin line
	srv_start --metrics-listen "$METRICS" --metrics-identities 2
	ossl client x$'\n' || fail "the accepted client failed: $(cat "$WORK/peer.err")"
	ossl none x || true
	ossl client-wrongou x || true
	wait_n 'reject .*reason=policy-denied' 1
	want_stat conns_open 0
	m=$(scrape "http://$METRICS/metrics") || fail "GET /metrics failed"
	id=$(ctl server peers | awk -F'"' '/connections=1 / { print $2; exit }')
	[ -n "$id" ] || fail "ktunctl peers shows no accepted identity: $(ctl server peers)"
	for want in "ktund_peer_handshakes_total{tunnel=\"server\",id=\"$id\"} 1" \
		'ktund_peer_rejects_total{tunnel="server",id="-"} 1' \
		"ktund_peer_bytes_total{tunnel=\"server\",id=\"$id\",direction=\"up\"} 2" \
		'ktund_peer_identities{exported="yes"} 2' \
		'ktund_peer_identities{exported="no"} 1'; do
		grep -qxF "$want" <<<"$m" || fail "no line '$want' in /metrics: $(grep '^ktund_peer' <<<"$m")"
	done
	grep -q "^ktund_peer_last_seen_timestamp_seconds{tunnel=\"server\",id=\"-\"} [0-9]" <<<"$m" ||
		fail "no last-seen series for id -"
	! grep -q 'OU=other' <<<"$m" || fail "the third identity has series beyond the cap"
	[ "$(ctl server peers | grep -c '^tunnel=')" = 3 ] || fail "ktunctl peers should keep all 3"
	srv_stop
	srv_start --metrics-listen "$METRICS"
	ossl client x$'\n' || fail "the accepted client failed"
	m=$(scrape "http://$METRICS/metrics") || fail "GET /metrics failed"
	! grep -q '^ktund_peer' <<<"$m" || fail "per-identity series without metrics-identities"
	note "$(grep -c '^ktund_peer' <<<"$m") peer lines without the option; id $id"
}

# Every sample: a name that has a TYPE line, optional labels, a number.
case_format() {
	python3 - "$WORK/metrics.txt" <<'PY' || fail "malformed exposition (see above)"
import re, sys
types, bad = set(), 0
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? (-?[0-9.e+]+|\+Inf)$')
for line in open(sys.argv[1]).read().splitlines():
    if line.startswith("# TYPE "):
        types.add(line.split()[2]); continue
    if line.startswith("#") or not line:
        continue
    m = sample.match(line)
    base = m and re.sub(r'_(bucket|sum|count)$', '', m.group(1))
    if not m or (m.group(1) not in types and base not in types):
        print("bad line:", line); bad += 1
sys.exit(1 if bad else 0)
PY
}

case_ktunctl_same() {
	use_origin line
	srv_start --metrics-listen "$METRICS"
	ossl client x$'\n' || true
	diff <(scrape "http://$METRICS/metrics" | grep -v expiry_seconds) \
		<(ctl server metrics | grep -v expiry_seconds) || fail "ktunctl metrics differs from GET /metrics"
}

case_http_errors() {
	local code
	use_origin line
	srv_start --metrics-listen "$METRICS"
	code=$(scrape -o /dev/null -w '%{http_code}' "http://$METRICS/other")
	[ "$code" = 404 ] || fail "GET /other: $code, want 404"
	code=$(scrape -o /dev/null -w '%{http_code}' -X POST "http://$METRICS/metrics")
	[ "$code" = 405 ] || fail "POST /metrics: $code, want 405"
}

# health_want CODE STATUS VALID: GET /healthz answers CODE with that body for one tunnel.
health_want() {
	local out code body
	out=$(scrape -w '\n%{http_code} %{content_type}' "http://$METRICS/healthz") || fail "GET /healthz failed"
	code=$(tail -n 1 <<<"$out")
	body=$(head -n -1 <<<"$out")
	[ "$code" = "$1 application/json" ] || fail "GET /healthz: '$code', want '$1 application/json' ($body)"
	python3 -c 'import json, sys; assert json.loads(sys.argv[1]) == {"status": sys.argv[2],
		"tunnels": 1, "certificates_valid": sys.argv[3] == "true"}' "$body" "$2" "$3" ||
		fail "GET /healthz: $body, want status $2, tunnels 1, certificates_valid $3"
	note "$1 $body"
}

# /healthz: 200 ready while serving; 503 draining once SIGTERM has come while a connection
# holds the drain; 503 with certificates_valid false once the own certificate has expired.
case_healthz() {
	local held end
	use_origin line
	srv_start --metrics-listen "$METRICS"
	health_want 200 ready true
	ossl_cmd client
	"${OSSL[@]}" < <(sleep 15) >/dev/null 2>&1 &
	held=$!
	track $held
	want_stat conns_open 1
	kill -TERM "$SERVER_PID"
	wait_n 'draining' 1
	health_want 503 draining true
	kill "$held"
	wait_daemon_exit "$SERVER_PID" server 10
	# The next server binds the same ports: once the exited one's sockets are gone.
	for _ in $(seq 50); do
		ip netns exec "$NS_ORIGIN" ss -Hltn "( sport = :$TLS_PORT or sport = :${METRICS#*:} )" |
			grep -q . || break
		sleep 0.1
	done
	# ktund refuses an own certificate already expired, so this one ends while it serves.
	end=$(($(date +%s) + 10))
	printf '%s\n' 'cn = "origin.test"' 'dns_name = "origin.test"' tls_www_server signing_key \
		"expiration_date = \"$(date -u -d "@$end" '+%Y-%m-%d %H:%M:%S') UTC\"" >"$WORK/short.tmpl"
	certtool --generate-privkey --key-type ecdsa --curve secp256r1 --outfile "$PKI/short.key" 2>/dev/null
	certtool --generate-certificate --load-privkey "$PKI/short.key" --load-ca-certificate "$PKI/inter.pem" \
		--load-ca-privkey "$PKI/inter.key" --template "$WORK/short.tmpl" --outfile "$PKI/short.pem" 2>/dev/null
	cat "$PKI/short.pem" "$PKI/inter.pem" >"$PKI/short-chain.pem"
	SERVER_CERT=$PKI/short-chain.pem SERVER_KEY=$PKI/short.key srv_start --metrics-listen "$METRICS"
	health_want 200 ready true
	while [ "$(date +%s)" -le "$end" ]; do sleep 0.5; done
	health_want 503 ready false
}

# healthz_targets CODE REACHABLE ERROR: GET /healthz?targets=1 answers CODE, the one tunnel's
# target 127.0.0.1:$ORIGIN_PORT reachable or not (ERROR: the error it must give, or ""), also
# as the one entry of "each".
healthz_targets() {
	local out code body
	out=$(scrape -w '\n%{http_code}' "http://$METRICS/healthz?targets=1") || fail "GET /healthz?targets=1 failed"
	code=$(tail -n 1 <<<"$out")
	body=$(head -n -1 <<<"$out")
	[ "$code" = "$1" ] || fail "GET /healthz?targets=1: $code, want $1 ($body)"
	python3 -c 'import json, sys
h = json.loads(sys.argv[1]); up = sys.argv[3] == "true"
t = {"tunnel": "server", "target": "127.0.0.1:" + sys.argv[2], "reachable": up}
if not up: t["error"] = sys.argv[4]
t["each"] = [{k: v for k, v in t.items() if k != "tunnel"}]
assert h == {"status": "ready", "tunnels": 1, "certificates_valid": True, "targets": [t],
             "targets_reachable": up}, h' "$body" "$ORIGIN_PORT" "$2" "${3:-}" ||
		fail "GET /healthz?targets=1: $body, want target reachable $2 ${3:+($3)}"
	note "$1 $body"
}

# /healthz?targets=1: each tunnel's target probed with a TCP connect: 200 while the origin
# listens, 503 with its error once it is gone. One round of probes answers for 5 s: four
# GETs, three of them at once right after the first, make one connection to the origin. Plain /healthz probes nothing.
case_healthz_targets() {
	local n
	use_origin line
	srv_start --metrics-listen "$METRICS"
	health_want 200 ready true
	[ "$(wc -l <"$ACCEPTS")" = 0 ] || fail "plain /healthz connected to the origin"
	healthz_targets 200 true
	# Three more at once: the round above answers them all.
	local pids=()
	for _ in 1 2 3; do scrape -o /dev/null "http://$METRICS/healthz?targets=1" & pids+=($!); done
	wait "${pids[@]}"
	n=$(wc -l <"$ACCEPTS")
	[ "$n" = 1 ] || fail "four GET /healthz?targets=1 made $n connections to the origin, want 1"
	kill "$ORIGIN_PID"
	_origin_now=
	sleep 5.5 # past the round's 5 s
	healthz_targets 503 false "Connection refused"
	health_want 200 ready true
}

# Idle and slowloris clients cannot starve a scrape: 64 held connections from 8 addresses (half
# of them with a partial request) while a scrape from another address answers; a 9th and 10th
# from one address are closed at once, counted, and logged once; all of them are closed after
# the 5 s idle timeout.
case_idle_clients() {
	local m line
	use_origin line
	srv_start --metrics-listen "$METRICS"
	ip netns exec "$NS_ORIGIN" python3 "$INTEG_DIR/metrics_idle.py" "$METRICS" 8 8 5 >"$WORK/idle.out" 2>&1 ||
		fail "$(cat "$WORK/idle.out")"
	while read -r line; do note "$line"; done <"$WORK/idle.out"
	m=$(scrape "http://$METRICS/metrics") || fail "GET /metrics failed afterwards"
	grep -qx 'ktund_metrics_refused_total 2' <<<"$m" ||
		fail "want ktund_metrics_refused_total 2: $(grep refused <<<"$m")"
	[ "$(nlines 'metrics: a connection was closed at once')" = 1 ] ||
		fail "want one log line for the refused connections: $(grep metrics: "$SERVER_LOG")"
	note "$(grep -o 'metrics: a connection was closed at once.*' "$SERVER_LOG")"
}

case_bad_address() {
	local rc=0
	"$KTUND" server --listen 127.0.0.1:1 --target 127.0.0.1:2 --cert "$PKI/server-chain.pem" \
		--key "$PKI/server.key" --cacert "$PKI/ca.pem" --allow-all --metrics-listen nowhere --check \
		>/dev/null 2>"$WORK/bad.err" || rc=$?
	[ $rc = 2 ] && grep -q "metrics-listen 'nowhere'" "$WORK/bad.err" ||
		fail "a bad metrics-listen: exit $rc, $(cat "$WORK/bad.err")"
}

serial_of() { certtool -i --infile "$1" 2>/dev/null | awk '/Serial Number \(hex\):/ { print $4 }'; }
# metric NAME{LABELS}: its value in the last scrape M ("" if absent).
metric() { awk -v k="$1" 'index($0, k " ") == 1 { print $2 }' <<<"$M"; }

# promtool_check: promtool's own lint of the last scrape, where promtool is installed.
promtool_check() {
	command -v promtool >/dev/null || return 0
	promtool check metrics <<<"$M" >"$WORK/promtool.out" 2>&1 || fail "promtool: $(cat "$WORK/promtool.out")"
}

case_reload() {
	local old new inter t0 t1 line
	old=$(serial_of "$PKI/server.pem")
	new=$(serial_of "$PKI/server-p384.pem")
	inter=$(serial_of "$PKI/inter.pem")
	mkdir -p "$WORK/rl"
	cp "$PKI/server-chain.pem" "$WORK/rl/chain.pem"
	cp "$PKI/server.key" "$WORK/rl/key.pem"
	use_origin line
	SERVER_CERT=$WORK/rl/chain.pem SERVER_KEY=$WORK/rl/key.pem \
		srv_start --metrics-listen "$METRICS" --watch-files=no
	M=$(scrape "http://$METRICS/metrics") || fail "GET /metrics failed"
	promtool_check
	[ "$(metric 'ktund_reloads_total{result="ok"}')" = 0 ] && [ "$(metric 'ktund_reloads_total{result="failed"}')" = 0 ] ||
		fail "before any reload: $(grep reloads_total <<<"$M")"
	[ "$(grep -c '^ktund_certificate_info{tunnel="server",serial="'"$old"'",not_after="[0-9T:-]*Z"} 1$' <<<"$M")" = 1 ] ||
		fail "want the leaf $old in ktund_certificate_info: $(grep certificate_info <<<"$M")"
	grep -q '^ktund_certificate_expiry_seconds{tunnel="server",role="own-chain",subject="CN=ktun test intermediate CA",serial="'"$inter"'"} [0-9]' <<<"$M" ||
		fail "no expiry line for the intermediate $inter: $(grep expiry_seconds <<<"$M")"
	t0=$(metric ktund_last_reload_timestamp_seconds)
	[ -n "$t0" ] || fail "no ktund_last_reload_timestamp_seconds"
	sleep 1.1
	ctl server reload >/dev/null || fail "ktunctl reload (nothing changed) failed"
	wait_n '\[server\] reload: nothing changed$' 1
	cp "$PKI/server-p384-chain.pem" "$WORK/rl/chain.pem"
	cp "$PKI/server-p384.key" "$WORK/rl/key.pem"
	ctl server reload >/dev/null || fail "ktunctl reload (new certificate) failed"
	wait_n '\[server\] reload: cert serial=' 1
	line=$(last_line '\[server\] reload: cert')
	grep -qE "reload: cert serial=$old->$new not_after=[0-9T:-]+Z, key changed\$" <<<"$line" ||
		fail "reload line: $line"
	M=$(scrape "http://$METRICS/metrics") || fail "GET /metrics failed"
	promtool_check
	t1=$(metric ktund_last_reload_timestamp_seconds)
	[ "$(metric 'ktund_reloads_total{result="ok"}')" = 2 ] && [ "$(metric 'ktund_reloads_total{result="failed"}')" = 0 ] ||
		fail "after two good reloads: $(grep reloads_total <<<"$M")"
	[ "$t1" -gt "$t0" ] || fail "last reload timestamp $t0 -> $t1 after a good reload"
	grep -q '^ktund_certificate_info{tunnel="server",serial="'"$new"'",' <<<"$M" ||
		fail "want the new leaf $new in ktund_certificate_info: $(grep certificate_info <<<"$M")"
	# A key that does not load: the reload fails and the new leaf stays in force.
	echo broken >"$WORK/rl/key.pem"
	! ctl server reload >/dev/null 2>&1 || fail "a reload with a broken key succeeded"
	wait_n 'reload failed' 1
	M=$(scrape "http://$METRICS/metrics") || fail "GET /metrics failed"
	promtool_check
	[ "$(metric 'ktund_reloads_total{result="ok"}')" = 2 ] && [ "$(metric 'ktund_reloads_total{result="failed"}')" = 1 ] ||
		fail "after a failed reload: $(grep reloads_total <<<"$M")"
	[ "$(metric ktund_last_reload_timestamp_seconds)" = "$t1" ] || fail "a failed reload moved the timestamp"
	grep -q '^ktund_certificate_info{tunnel="server",serial="'"$new"'",' <<<"$M" ||
		fail "after a failed reload: $(grep certificate_info <<<"$M")"
	note "$line"
	note "$(grep -E '^ktund_(reloads_total|last_reload|certificate_info)' <<<"$M" | tr '\n' ' ')"
	command -v promtool >/dev/null && note "promtool check metrics: ok" || note "promtool not installed: not run"
}

run_case "counters, histogram and expiry after one accepted and one refused handshake" case_counts
run_case "the exposition is well formed" case_format
run_case "ktunctl metrics says what GET /metrics says" case_ktunctl_same
run_case "404 for other paths, 405 for other methods" case_http_errors
run_case "/healthz: ready 200, draining 503, own certificate expired while serving 503" case_healthz
run_case "/healthz?targets=1: the target probed, 200 up, 503 down, one round per 5 s" case_healthz_targets
run_case "metrics-identities: series for the first N identities, the rest counted" case_identities
run_case "reloads counted by result, the leaf in force and the intermediate's expiry by serial" case_reload
run_case "idle and slow clients: scrapes still answer, idle connections are closed" case_idle_clients
run_case "a bad metrics-listen address is a configuration error" case_bad_address
srv_finish
