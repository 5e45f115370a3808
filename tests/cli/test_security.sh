#!/usr/bin/env bash
# xlbd's security defaults and its HTTPS/authentication to Marathon, against
# marathon-sim with TLS and required credentials: a throwaway CA and server
# certificate made by openssl at test time; xlbd with the right CA file and
# basic credentials syncs, with another CA it says which URL failed TLS and
# keeps the maps, with a wrong password it says HTTP 401; DC/OS tokens from a
# file and from XLBD_MARATHON_AUTH; no secret ever in the log, on the command
# line or left in the environment. Then /metrics on loopback with a bearer
# token, the pin directory's mode and owner, lbstat with nothing but read
# access to the pins and CAP_BPF, which capabilities xlbd needs on this
# kernel (setpriv bounding sets), and the systemd unit. Runs as root; HTTP(S)
# on 127.0.0.1 only; VIPs in 198.18.0.0/15; private pin paths and a private
# network namespace, removed on exit.
set -u
cd "$(dirname "$0")/../.." || exit 1

OUTPUT=${OUTPUT:-.output}
XLBD=$(realpath -m "$OUTPUT/xlbd")
SIM=$OUTPUT/marathon-sim
DUMP=$OUTPUT/xlbdump
LBSTAT=$OUTPUT/lbstat
BASE=tests/fixtures/xlbd/faults.json
SCENARIO=tests/fixtures/sim/minitwit.json
PIN=/sys/fs/bpf/xlb-sec-$$
PINROOT=/sys/fs/bpf/xlb-sec2-$$
NETNS=xlb-sec-$$
T_START=$(date +%s)
PASSWORD="pw-$$-$RANDOM-secret"
TOKEN="eyJhbGciOiJIUzI1NiJ9.xlb-$$-$RANDOM.sig"

SUITE=security
. tests/cli/lib.sh
t_tmpdir
track_pin "$PIN" "$PINROOT/v1" "$PINROOT"
track_netns "$NETNS"

require_root_bins "$XLBD" "$SIM" "$DUMP" "$LBSTAT"
need_cmd curl jq openssl setpriv
CURL=(curl -s --noproxy '*' --max-time 5)

# ---- a throwaway CA, a server certificate for 127.0.0.1, and an unrelated CA ----

mkcert() {
	local d=$TMP/pki
	mkdir -p "$d" && cd "$d" || return 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
		-out ca.crt -days 1 -subj "/CN=xlb test CA $$" &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key \
			-out srv.csr -subj "/CN=127.0.0.1" &&
		printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >ext &&
		openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt \
			-days 1 -extfile ext &&
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key \
			-out other.crt -days 1 -subj "/CN=another CA $$"
	local rc=$?
	cd - >/dev/null || return 1
	return $rc
}
if ! mkcert >"$TMP/openssl.log" 2>&1; then
	nok "openssl makes a CA and a server certificate" "$(tail -3 "$TMP/openssl.log")"
	finish
fi
PKI=$TMP/pki
umask 077
echo "xlb:$PASSWORD" >"$TMP/basic.auth"
echo "xlb:wrong-$PASSWORD" >"$TMP/wrong.auth"
echo "token=$TOKEN" >"$TMP/token.auth"
echo "token=wrong-$TOKEN" >"$TMP/wrongtoken.auth"
umask 022
B64=$(printf 'xlb:%s' "$PASSWORD" | base64)

# start_sim NAME ARGS...: sets SIMURL (https or http) and CTL (the plain control URL).
start_sim() {
	local name=$1 scheme=http
	shift
	case " $* " in *" --tls-cert "*) scheme=https ;; esac
	"$SIM" --listen 127.0.0.1:0 --control 127.0.0.1:0 --scenario "$SCENARIO" --heartbeat-ms 300 \
		"$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	track_pid $!
	ports() {
		SPORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$TMP/$name.out")
		CPORT=$(sed -n 's/^control on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$TMP/$name.out")
		[ -n "$SPORT" ] && [ -n "$CPORT" ]
	}
	wait_for 5 ports || return 1
	SIMURL=$scheme://127.0.0.1:$SPORT
	CTL=http://127.0.0.1:$CPORT
}

# cfg NAME KEY=VALUE...: a configuration from faults.json with marathon keys set (null: unset).
cfg() {
	local name=$1
	shift
	jq '($ARGS.positional | map(capture("^(?<k>[^=]*)=(?<v>.*)$"))) as $kv |
		reduce $kv[] as $p (.; .marathon[$p.k] = (if $p.v == "null" then null else $p.v end)) |
		.vips = []' "$BASE" --args "$@" >"$TMP/$name.json"
}
dump() { "$DUMP" -p "$PIN" --raw --slots 2>/dev/null; }
# served PATH_PREFIX: requests for it the TLS simulator answered (its log: one line a request).
served() { grep -c "GET $1" "$TMP/tls.err"; }
secret_free() {
	! grep -qF -e "$PASSWORD" -e "$TOKEN" -e "$B64" "$@"
}

# ---- HTTPS with a CA file, HTTP basic credentials ----

if ! start_sim tls --tls-cert "$PKI/srv.crt" --tls-key "$PKI/srv.key" --auth-file "$TMP/basic.auth"; then
	nok "marathon-sim serves HTTPS" "$(cat "$TMP/tls.err")"
	finish
fi
code=$("${CURL[@]}" --cacert "$PKI/ca.crt" -o /dev/null -w '%{http_code}' "$SIMURL/v2/apps")
check "the simulator wants credentials over HTTPS (401 without)" [ "$code" = 401 ]

cfg good "ca_file=$PKI/ca.crt" "auth_file=$TMP/basic.auth"
"$XLBD" -c "$TMP/good.json" -p "$PIN" -m "$SIMURL" --once >"$TMP/good.log" 2>&1
check "right CA and credentials: xlbd --once syncs over HTTPS (exit 0)" [ $? = 0 ]
check "the log says basic credentials come from the auth file" \
	grep -q "authenticating with HTTP basic credentials from $TMP/basic.auth" "$TMP/good.log"
check "Marathon's VIP reached the maps" bash -c "'$DUMP' -p '$PIN' | grep -q 'minitwit.marathon'"
dump >"$TMP/before.txt"

# An untrusted server is refused during the TLS handshake: xlbd fails, says which URL, sends
# no HTTP request (the simulator serves none) and keeps the maps. How the TLS library words
# the error (no issuer; no CA bundle at all on a host without ca-certificates) is its own.
n0=$(served /v2/apps)
cfg wrongca "ca_file=$PKI/other.crt" "auth_file=$TMP/basic.auth"
"$XLBD" -c "$TMP/wrongca.json" -p "$PIN" -m "$SIMURL" --once >"$TMP/wrongca.log" 2>&1
check "another CA: xlbd --once fails (exit 1)" [ $? = 1 ]
check "another CA: one line names the URL, and no request reached the server" \
	eval 'grep -q "sync failed: GET $SIMURL/v2/apps?embed=apps.tasks: " "$TMP/wrongca.log" &&
		[ "$(served /v2/apps)" = "$n0" ]'
check "another CA: the maps are kept byte for byte" bash -c "'$DUMP' -p '$PIN' --raw --slots | cmp -s - '$TMP/before.txt'"

cfg sysca "ca_file=null" "auth_file=$TMP/basic.auth"
"$XLBD" -c "$TMP/sysca.json" -p "$PIN" -m "$SIMURL" --once >"$TMP/sysca.log" 2>&1
rc=$?
check "no CA file: the system's CAs do not trust a private CA (exit 1, no request served, maps kept)" \
	eval '[ $rc = 1 ] && grep -q "sync failed: GET $SIMURL/v2/apps?embed=apps.tasks: " "$TMP/sysca.log" &&
		[ "$(served /v2/apps)" = "$n0" ] &&
		"$DUMP" -p "$PIN" --raw --slots 2>/dev/null | cmp -s - "$TMP/before.txt"'


cfg wrongpw "ca_file=$PKI/ca.crt" "auth_file=$TMP/wrong.auth"
"$XLBD" -c "$TMP/wrongpw.json" -p "$PIN" -m "$SIMURL" --once >"$TMP/wrongpw.log" 2>&1
check "wrong password: exit 1" [ $? = 1 ]
check "wrong password: the line says HTTP 401" \
	grep -q "sync failed: GET $SIMURL/v2/apps?embed=apps.tasks: HTTP 401" "$TMP/wrongpw.log"
check "wrong password: the maps are kept byte for byte" bash -c "'$DUMP' -p '$PIN' --raw --slots | cmp -s - '$TMP/before.txt'"

# the daemon: stream and snapshots over HTTPS with credentials, and a 401 said once
"$XLBD" -c "$TMP/good.json" -p "$PIN" -m "$SIMURL" -M 127.0.0.1:0 >"$TMP/daemon.log" 2>&1 &
XPID=$!
track_pid $XPID
check "daemon: the event stream connects over HTTPS" \
	wait_for 5 grep -q "event stream connected to $SIMURL/v2/events" "$TMP/daemon.log"
check "xlbd's own environment carries no secret" bash -c "! tr '\0' '\n' </proc/$XPID/environ | grep -qF '$PASSWORD'"
check "xlbd's command line carries no secret" bash -c "! tr '\0' ' ' </proc/$XPID/cmdline | grep -qF '$PASSWORD'"
kill "$XPID"
wait "$XPID"

# ---- DC/OS token: from a file, from the environment ----

if start_sim token --auth-file "$TMP/token.auth"; then
	cfg token "auth_file=$TMP/token.auth"
	"$XLBD" -c "$TMP/token.json" -p "$PIN" -m "$SIMURL" --once >"$TMP/token.log" 2>&1
	check "DC/OS token from a file: sync (exit 0)" [ $? = 0 ]
	check "the log names the token file" grep -q "authenticating with the DC/OS token from $TMP/token.auth" "$TMP/token.log"
	cfg wrongtoken "auth_file=$TMP/wrongtoken.auth"
	"$XLBD" -c "$TMP/wrongtoken.json" -p "$PIN" -m "$SIMURL" --once >"$TMP/wrongtoken.log" 2>&1
	check "a wrong DC/OS token: exit 1, HTTP 401 said" \
		bash -c "[ $? = 1 ] && grep -q 'HTTP 401' '$TMP/wrongtoken.log'"
	cfg envtoken "auth_file=null"
	XLBD_MARATHON_AUTH="token=$TOKEN" "$XLBD" -c "$TMP/envtoken.json" -p "$PIN" -m "$SIMURL" \
		-M 127.0.0.1:0 >"$TMP/envtoken.log" 2>&1 &
	XPID=$!
	track_pid $XPID
	check "DC/OS token from XLBD_MARATHON_AUTH: the stream connects" \
		wait_for 5 grep -q "event stream connected to $SIMURL/v2/events" "$TMP/envtoken.log"
	check "the log says the token came from the environment" \
		grep -q "authenticating with the DC/OS token from the environment (XLBD_MARATHON_AUTH)" "$TMP/envtoken.log"
	check "XLBD_MARATHON_AUTH is gone from xlbd's environment once read" \
		bash -c "! tr '\0' '\n' </proc/$XPID/environ | grep -q '^XLBD_MARATHON_AUTH=token'"
	kill "$XPID"
	wait "$XPID"
else
	nok "a simulator with a DC/OS token starts" "$(cat "$TMP/token.err")"
fi
"$XLBD" --marathon "http://xlb:$PASSWORD@127.0.0.1:1" --check >"$TMP/cli.log" 2>&1
check "credentials in --marathon are refused (exit 2)" [ $? = 2 ]
check "and the refusal does not repeat them" secret_free "$TMP/cli.log"
check "no secret in any xlbd log of this test" secret_free "$TMP"/*.log

# ---- /metrics: loopback by default, bearer token ----

check "the built-in configuration serves /metrics on 127.0.0.1 only" \
	eval '"$XLBD" --print-default-config | jq -e ".metrics.listen == \"127.0.0.1:9100\"" >/dev/null' 
echo "bearer-$$-$RANDOM" >"$TMP/metrics.token"
jq --arg t "$TMP/metrics.token" '.metrics = {listen: "127.0.0.1:0", token_file: $t}' \
	"$TMP/good.json" >"$TMP/metrics.json"
"$XLBD" -c "$TMP/metrics.json" -p "$PIN" -m "$SIMURL" >"$TMP/metrics.log" 2>&1 &
XPID=$!
track_pid $XPID
mport() { MPORT=$(sed -n 's/.*metrics: listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/metrics.log"); [ -n "$MPORT" ]; }
if wait_for 5 mport; then
	check "/metrics says it wants a bearer token" grep -q 'bearer token required' "$TMP/metrics.log"
	check "/metrics listens on 127.0.0.1 only" bash -c "ss -Hltn 'sport = :$MPORT' | awk '{print \$4}' | grep -qx '127.0.0.1:$MPORT'"
	code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/metrics")
	check "/metrics without the token: 401" [ "$code" = 401 ]
	code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$TMP/metrics.token")" \
		"http://127.0.0.1:$MPORT/metrics")
	check "/metrics with the token: 200" [ "$code" = 200 ]
	check "the metrics token is not logged" bash -c "! grep -qF '$(cat "$TMP/metrics.token")' '$TMP/metrics.log'"
else
	nok "xlbd serves /metrics" "$(tail -3 "$TMP/metrics.log")"
fi
kill "$XPID"
wait "$XPID"

# ---- the pin directory ----

"$XLBD" -c "$TMP/good.json" -p "$PINROOT/v1" --no-marathon --once >"$TMP/pin.log" 2>&1
check "a new pin path: every directory xlbd made is 0700 and root's" \
	bash -c "[ \"\$(stat -c '%a %U' '$PINROOT' '$PINROOT/v1' | sort -u)\" = '700 root' ]"
chmod 0755 "$PINROOT/v1"
"$XLBD" -c "$TMP/good.json" -p "$PINROOT/v1" --no-marathon --once >"$TMP/pin2.log" 2>&1
check "a pin path found 0755 is narrowed to 0700, with a warning" \
	bash -c "[ \"\$(stat -c %a '$PINROOT/v1')\" = 700 ] && grep -q 'was mode 0755: now 0700' '$TMP/pin2.log'"

# ---- lbstat: read-only access is enough ----

"$LBSTAT" --pin-path "$PIN" -j --no-rates >"$TMP/lbstat.json" 2>&1
check "lbstat -j as root" grep -q '"vips"' "$TMP/lbstat.json"
setpriv --bounding-set=-all,+bpf --inh-caps=-all "$LBSTAT" --pin-path "$PIN" -j --no-rates >"$TMP/lbstat-bpf.json" 2>&1
check "lbstat -j with CAP_BPF alone (maps opened read-only)" grep -q '"vips"' "$TMP/lbstat-bpf.json"
setpriv --reuid=65534 --regid=65534 --clear-groups "$LBSTAT" --pin-path "$PIN" -j --no-rates >"$TMP/lbstat-nobody.json" 2>&1
rc=$?
check "lbstat as an unprivileged user: refused (exit 1), saying it needs root or CAP_BPF" \
	bash -c "[ $rc = 1 ] && grep -q '\"error\":.*Permission denied (lbstat needs root' '$TMP/lbstat-nobody.json'"

# ---- capabilities ----

# xlbd_caps CAPS ARGS...: xlbd with only CAPS in its bounding set (as root, so also its permitted set).
xlbd_caps() {
	local caps=$1
	shift
	setpriv --bounding-set="-all,$caps" --inh-caps=-all "$XLBD" "$@"
}
jq '.vips = [{vip: "198.18.0.70:80", backends: ["198.18.1.1:8080", "198.18.1.2:8080"]}]' \
	"$TMP/good.json" >"$TMP/static.json"
jq '.vips[0].backends += ["198.18.1.3:8080"]' "$TMP/static.json" >"$TMP/static2.json"
CAPS=+bpf,+net_admin,+perfmon
"$XLBD" -p "$PIN" --no-marathon --detach-and-unpin >/dev/null 2>&1
xlbd_caps "$CAPS" -c "$TMP/static.json" -p "$PIN" --no-marathon --once >"$TMP/caps1.log" 2>&1
check "CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON: load the programs and create the maps" [ $? = 0 ]
xlbd_caps +bpf,+perfmon -c "$TMP/static.json" -p "$PIN" --no-marathon --once >"$TMP/caps2.log" 2>&1
check "without CAP_NET_ADMIN the XDP/TC programs do not load (exit 1)" \
	bash -c "[ $? = 1 ] && grep -q 'load BPF programs' '$TMP/caps2.log'"
xlbd_caps +bpf,+net_admin -c "$TMP/static.json" -p "$PIN" --no-marathon --once >"$TMP/caps3.log" 2>&1
check "without CAP_PERFMON the verifier refuses them (exit 1)" \
	bash -c "[ $? = 1 ] && grep -q 'load BPF programs' '$TMP/caps3.log'"
xlbd_caps "$CAPS" -c "$TMP/static2.json" -p "$PIN" --no-marathon --once >"$TMP/caps4.log" 2>&1
check "without CAP_SYS_ADMIN a restarted xlbd cannot change an adopted VIP (BPF_MAP_GET_FD_BY_ID)" \
	bash -c "[ $? = 1 ] && grep -q 'set backends: Operation not permitted' '$TMP/caps4.log'"
xlbd_caps "$CAPS,+sys_admin" -c "$TMP/static2.json" -p "$PIN" --no-marathon --once >"$TMP/caps5.log" 2>&1
check "with CAP_SYS_ADMIN it can (exit 0)" [ $? = 0 ]
if command -v nsenter >/dev/null 2>&1 && ip netns add "$NETNS" 2>/dev/null &&
	ip -n "$NETNS" link add sec0 type veth peer name sec1 2>/dev/null &&
	ip -n "$NETNS" link set sec0 up && ip -n "$NETNS" link set sec1 up; then
	nsenter --net="/run/netns/$NETNS" setpriv --bounding-set="-all,$CAPS,+sys_admin" --inh-caps=-all \
		"$XLBD" -c "$TMP/static2.json" -p "$PIN" --no-marathon --once -i sec0 -e sec0 >"$TMP/caps6.log" 2>&1
	check "the four capabilities attach XDP and TC in a namespace" \
		bash -c "[ $? = 0 ] && grep -q 'sec0: .*attached with' '$TMP/caps6.log' && grep -q 'sec0: attached TC egress' '$TMP/caps6.log'"
	nsenter --net="/run/netns/$NETNS" "$XLBD" -p "$PIN" --no-marathon -i sec0 -e sec0 \
		--detach-and-unpin >/dev/null 2>&1
else
	skip env "no network namespace with a veth pair (needs root, iproute2 and nsenter)"
fi

# ---- the systemd unit ----

unit_has() { grep -q "^$1" etc/xlbd.service; }
for k in 'CapabilityBoundingSet=CAP_BPF CAP_NET_ADMIN CAP_PERFMON CAP_SYS_ADMIN$' \
	'AmbientCapabilities=CAP_BPF CAP_NET_ADMIN CAP_PERFMON CAP_SYS_ADMIN$' 'NoNewPrivileges=yes' \
	'ProtectSystem=strict' 'ReadWritePaths=/sys/fs/bpf$' 'ProtectHome=yes' 'PrivateTmp=yes' \
	'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK$' 'LockPersonality=yes' \
	'MemoryDenyWriteExecute=yes' 'SystemCallArchitectures=native'; do
	check "xlbd.service: $k" unit_has "$k"
done
if command -v systemd-analyze >/dev/null 2>&1; then
	sed "s|/usr/local/sbin/xlbd|$XLBD|g" etc/xlbd.service >"$TMP/xlbd.service"
	systemd-analyze verify "$TMP/xlbd.service" >"$TMP/verify.log" 2>&1
	check "systemd-analyze verify xlbd.service: no complaints" \
		bash -c "! grep -v -e '^$' -e 'Failed to.*bus' -e 'kernel' '$TMP/verify.log' | grep -q 'xlbd.service'"
fi
finish
