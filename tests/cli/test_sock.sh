#!/usr/bin/env bash
# Socket-level load balancing, for real (BPF_PROG_TEST_RUN cannot run cgroup
# socket programs): xlbd with --cgroup on a child cgroup of its own and static
# VIPs (TCP and UDP, IPv4 and IPv6), backends in a network namespace "srv",
# clients in a namespace "cli" and inside that cgroup. Checks: a TCP connect to
# a VIP reaches a backend and getpeername() shows the VIP; connected and
# unconnected UDP (one socket to several VIPs) get answers whose source is the
# VIP; dual-stack IPv6 sockets to IPv4 VIPs (::ffff:a.b.c.d) likewise; a
# draining backend gets no new connection; a VIP without backends fails
# connect() and sendto() at once with ECONNREFUSED; lbstat counts the new
# connections per VIP and backend; a client outside the cgroup is not
# translated; a restarted xlbd keeps the same links, translating, with its new
# programs in them (and /metrics counts); --cgroup elsewhere moves them; --no-socket-lb
# attaches nothing and removes our links; --detach-and-unpin removes them. Runs
# as root; addresses 198.18.0.0/15 and 2001:db8::/32 in namespaces it creates;
# the cgroup, namespaces, pins and processes are removed on exit.
set -u
cd "$(dirname "$0")/../.." || exit 1

OUTPUT=${OUTPUT:-.output}
XLBD=$OUTPUT/xlbd
LBSTAT=$OUTPUT/lbstat
PIN=/sys/fs/bpf/xlb-sock-test-$$
NS_SRV=xlbsock-srv-$$
NS_CLI=xlbsock-cli-$$

SUITE=sock
. tests/lib/test.sh
T_START=$(date +%s)
t_tmpdir
track_pin "$PIN"
track_netns "$NS_SRV" "$NS_CLI"

require_root_bins "$XLBD" "$LBSTAT"
need_cmd jq python3 ip bpftool curl

CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
[ -n "$CG2" ] || skip_suite kernel "no cgroup v2 hierarchy in /proc/self/mounts"
CG=$CG2/xlb-sock-test-$$
# Runs after the processes are ended: anything left in the cgroup goes to its parent first.
cg_remove() {
	local p
	[ -d "$CG" ] || return 0
	for p in $(cat "$CG/sub/cgroup.procs" "$CG/cgroup.procs" 2>/dev/null); do
		echo "$p" >"$CG2/cgroup.procs" 2>/dev/null
	done
	[ -d "$CG/sub" ] && rmdir "$CG/sub"
	rmdir "$CG"
}
mkdir "$CG" || skip_suite env "cannot make a cgroup under $CG2"
at_exit cg_remove

# ---- the lab: cli (198.18.1.2, 2001:db8:1::2) <-> srv (198.18.1.1 + backends) ----

lab() {
	ip netns add "$NS_SRV" && ip netns add "$NS_CLI" &&
		ip -n "$NS_CLI" link add c0 type veth peer name s0 netns "$NS_SRV" &&
		ip -n "$NS_CLI" link set lo up && ip -n "$NS_SRV" link set lo up &&
		ip -n "$NS_CLI" link set c0 up && ip -n "$NS_SRV" link set s0 up &&
		ip -n "$NS_CLI" addr add 198.18.1.2/24 dev c0 &&
		ip -n "$NS_SRV" addr add 198.18.1.1/24 dev s0 &&
		ip -n "$NS_CLI" -6 addr add 2001:db8:1::2/64 dev c0 nodad &&
		ip -n "$NS_SRV" -6 addr add 2001:db8:1::1/64 dev s0 nodad &&
		ip -n "$NS_CLI" route add 198.18.0.0/15 via 198.18.1.1 &&
		ip -n "$NS_CLI" -6 route add 2001:db8::/32 via 2001:db8:1::1 &&
		for i in 11 12 13; do
			ip -n "$NS_SRV" addr add 198.18.2.$i/32 dev lo &&
				ip -n "$NS_SRV" -6 addr add 2001:db8:2::$i/128 dev lo nodad || return 1
		done &&
		# The VIP itself answers in srv: what an untranslated client reaches.
		ip -n "$NS_SRV" addr add 198.18.0.10/32 dev lo &&
		ip -n "$NS_SRV" -6 addr add 2001:db8::10/128 dev lo nodad
}
lab || skip_suite env "cannot build the network namespaces (needs root and iproute2)"

# One python3 file: "serve NAME=ADDR:PORT/PROTO..." and the client modes (below).
cat >"$TMP/sk.py" <<'PY'
import errno, json, socket, sys, threading, time

def fam(a):
    return socket.AF_INET6 if ":" in a else socket.AF_INET

def ep(s):
    a, p = s.rsplit(":", 1)
    return a.strip("[]"), int(p)

def serve(specs):
    for spec in specs:
        name, rest = spec.split("=", 1)
        e, proto = rest.rsplit("/", 1)
        a, p = ep(e)
        if proto == "tcp":
            s = socket.socket(fam(a), socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((a, p)); s.listen(128)
            def tcp(s=s, name=name):
                while True:
                    c, _ = s.accept(); c.sendall(name.encode() + b"\n"); c.close()
            threading.Thread(target=tcp, daemon=True).start()
        else:
            s = socket.socket(fam(a), socket.SOCK_DGRAM); s.bind((a, p))
            def udp(s=s, name=name):
                while True:
                    _, src = s.recvfrom(64); s.sendto(name.encode(), src)
            threading.Thread(target=udp, daemon=True).start()
    print("ready", flush=True)
    while True:
        time.sleep(60)

def res(ok, **kw):
    kw["ok"] = ok
    print(json.dumps(kw), flush=True)

def err(e, t0):
    res(False, errno=errno.errorcode.get(e.errno, str(e.errno)) if getattr(e, "errno", None) else
        type(e).__name__, ms=int((time.time() - t0) * 1000))

def tcp(target, n=1):
    a, p = ep(target)
    for _ in range(int(n)):
        t0 = time.time()
        s = socket.socket(fam(a), socket.SOCK_STREAM); s.settimeout(3)
        try:
            s.connect((a, p)); peer = s.getpeername()
            res(True, reply=s.recv(64).decode().strip(), peer="%s:%d" % peer[:2])
        except OSError as e:
            err(e, t0)
        s.close()

def udpc(target):
    a, p = ep(target); t0 = time.time()
    s = socket.socket(fam(a), socket.SOCK_DGRAM); s.settimeout(3)
    try:
        s.connect((a, p)); peer = s.getpeername(); s.send(b"x")
        d, src = s.recvfrom(64)
        res(True, reply=d.decode(), peer="%s:%d" % peer[:2], src="%s:%d" % src[:2])
    except OSError as e:
        err(e, t0)

def udpu(*targets):
    # One unconnected socket to every target, then the answers (by source).
    a0, _ = ep(targets[0]); t0 = time.time()
    s = socket.socket(fam(a0), socket.SOCK_DGRAM); s.settimeout(3)
    try:
        for t in targets:
            s.sendto(b"x", ep(t))
        got = {}
        for _ in targets:
            d, src = s.recvfrom(64); got["%s:%d" % src[:2]] = d.decode()
        res(True, answers=got)
    except OSError as e:
        err(e, t0)

globals()[sys.argv[1]](*sys.argv[2:]) if sys.argv[1] != "serve" else serve(sys.argv[2:])
PY

SPECS=()
for i in 11 12 13; do
	SPECS+=("b$i=198.18.2.$i:8080/tcp" "b$i=198.18.2.$i:5353/udp")
	SPECS+=("b$i=[2001:db8:2::$i]:8080/tcp" "b$i=[2001:db8:2::$i]:5353/udp")
done
SPECS+=("untranslated=198.18.0.10:80/tcp" "untranslated=[2001:db8::10]:80/tcp"
	"untranslated=198.18.0.10:53/udp")
ip netns exec "$NS_SRV" python3 "$TMP/sk.py" serve "${SPECS[@]}" >"$TMP/srv.log" 2>&1 &
track_pid $!
srv_ready() { grep -q ready "$TMP/srv.log"; }
wait_until 5 "the backends listen in srv" srv_ready || finish

# in_cg CMD...: CMD in the cli namespace, inside the test's cgroup.
in_cg() { bash -c 'echo $$ >"$0/cgroup.procs" && exec ip netns exec "$1" python3 "$2" "${@:3}"' \
	"$CG" "$NS_CLI" "$TMP/sk.py" "$@"; }
# out_cg CMD...: the same client, in the cli namespace but outside the cgroup.
out_cg() { ip netns exec "$NS_CLI" python3 "$TMP/sk.py" "$@"; }

cat >"$TMP/xlbd.json" <<JSON
{ "pin_path": "$PIN", "log_level": "debug", "metrics": { "listen": null },
  "marathon": { "urls": [] }, "cgroup": "$CG",
  "maps": { "max_vips": 64, "max_backends": 256, "ct_size": 4096 },
  "vips": [
    { "vip": "198.18.0.10:80", "backends": ["198.18.2.11:8080", "198.18.2.12:8080",
      { "address": "198.18.2.13:8080", "state": "draining" }] },
    { "vip": "198.18.0.10:53/udp", "backends": ["198.18.2.11:5353", "198.18.2.12:5353"] },
    { "vip": "198.18.0.11:53/udp", "backends": ["198.18.2.13:5353"] },
    { "vip": "[2001:db8::10]:80", "backends": ["[2001:db8:2::11]:8080", "[2001:db8:2::12]:8080"] },
    { "vip": "[2001:db8::10]:53/udp", "backends": ["[2001:db8:2::13]:5353"] },
    { "vip": "[2001:db8::11]:53/udp", "backends": ["[2001:db8:2::12]:5353"] },
    { "vip": "198.18.0.20:80", "backends": [] },
    { "vip": "198.18.0.20:53/udp", "backends": [] },
    { "vip": "[2001:db8::20]:80", "backends": [] } ] }
JSON

# xlbd_run LOG ARGS...: xlbd in the background; sets XPID; waits for its first reconcile.
xlbd_run() {
	local log=$1
	shift
	"$XLBD" -c "$TMP/xlbd.json" "$@" >"$TMP/$log.log" 2>&1 &
	XPID=$!
	track_pid $XPID
	wait_for 10 grep -q "reconciled" "$TMP/$log.log"
}
xlbd_stop() { stop_pid "$XPID"; }
# links: "ID PROG" of every cgroup link on our cgroup, sorted.
links() {
	bpftool -j cgroup show "$CG" 2>/dev/null | jq -r '.[] | "\(.id) \(.name)"' | sort
}
link_ids() { for f in "$PIN"/link_*; do bpftool -j link show pinned "$f" | jq -r .id; done | sort; }
lb() { "$LBSTAT" --pin-path "$PIN" --no-rates -j "$@" 2>/dev/null; }
jqe() { jq -e "$@" >/dev/null; }

if ! xlbd_run x1; then
	nok "xlbd starts with --cgroup" "$(tail -5 "$TMP/x1.log")"
	finish
fi
check "xlbd attaches the socket programs to the cgroup" \
	grep -q "socket balancing: attached to cgroup $CG" "$TMP/x1.log"
check "eight programs on the cgroup (connect, sendmsg, recvmsg, getpeername; v4 and v6)" \
	eval '[ "$(links | wc -l)" = 8 ]'
check "eight links pinned under the pin path" eval '[ "$(ls "$PIN" | grep -c "^link_xlb_")" = 8 ]'
LINKS1=$(link_ids)

# ---- TCP ----

in_cg tcp 198.18.0.10:80 >"$TMP/t4.json"
check "TCP v4: connect to the VIP reaches a backend" \
	jqe '.ok and (.reply | test("^b1[12]$"))' "$TMP/t4.json"
check "TCP v4: getpeername shows the VIP" jqe '.peer == "198.18.0.10:80"' "$TMP/t4.json"
in_cg tcp "[2001:db8::10]:80" >"$TMP/t6.json"
check "TCP v6: connect to the VIP reaches a backend" \
	jqe '.ok and (.reply | test("^b1[12]$"))' "$TMP/t6.json"
check "TCP v6: getpeername shows the VIP" jqe '.peer == "2001:db8::10:80"' "$TMP/t6.json"

# 60 connections: the two active backends share them, the draining one gets none.
in_cg tcp 198.18.0.10:80 60 >"$TMP/t60.json"
check "60 TCP connections, all answered" eval '[ "$(jq -s "map(select(.ok)) | length" "$TMP/t60.json")" = 60 ]'
check "both active backends take connections" \
	eval '[ "$(jq -rs "map(.reply) | unique | join(\",\")" "$TMP/t60.json")" = "b11,b12" ]'
check "the draining backend gets no new connection" bash -c "! grep -q b13 '$TMP/t60.json'"

# ---- UDP ----

in_cg udpc 198.18.0.10:53 >"$TMP/u4.json"
check "connected UDP v4: answered by a backend, source shown as the VIP" \
	jqe '.ok and (.reply | test("^b1[12]$")) and .src == "198.18.0.10:53" and .peer == "198.18.0.10:53"' \
	"$TMP/u4.json"
in_cg udpc "[2001:db8::10]:53" >"$TMP/u6.json"
check "connected UDP v6: answered by a backend, source shown as the VIP" \
	jqe '.ok and .reply == "b13" and .src == "2001:db8::10:53" and .peer == "2001:db8::10:53"' \
	"$TMP/u6.json"
in_cg udpu 198.18.0.10:53 198.18.0.11:53 >"$TMP/uu4.json"
check "unconnected UDP v4, one socket to two VIPs: both answer with their VIP as source" \
	jqe '.ok and (.answers["198.18.0.10:53"] | test("^b1[12]$")) and .answers["198.18.0.11:53"] == "b13"' \
	"$TMP/uu4.json"
in_cg udpu "[2001:db8::10]:53" "[2001:db8::11]:53" >"$TMP/uu6.json"
check "unconnected UDP v6, one socket to two VIPs: both answer with their VIP as source" \
	jqe '.ok and .answers["2001:db8::10:53"] == "b13" and .answers["2001:db8::11:53"] == "b12"' \
	"$TMP/uu6.json"

# ---- no backend ----

in_cg tcp 198.18.0.20:80 >"$TMP/n4.json"
check "TCP v4 to a VIP without backends: ECONNREFUSED at once" \
	jqe '(.ok | not) and .errno == "ECONNREFUSED" and .ms < 500' "$TMP/n4.json"
in_cg tcp "[2001:db8::20]:80" >"$TMP/n6.json"
check "TCP v6 to a VIP without backends: ECONNREFUSED at once" \
	jqe '(.ok | not) and .errno == "ECONNREFUSED" and .ms < 500' "$TMP/n6.json"
in_cg udpu 198.18.0.20:53 >"$TMP/nu.json"
check "sendto a UDP VIP without backends: ECONNREFUSED at once" \
	jqe '(.ok | not) and .errno == "ECONNREFUSED" and .ms < 500' "$TMP/nu.json"

# ---- outside the cgroup ----

out_cg tcp 198.18.0.10:80 >"$TMP/o4.json"
check "a TCP client outside the cgroup is not translated (reaches the VIP address itself)" \
	jqe '.ok and .reply == "untranslated"' "$TMP/o4.json"
out_cg udpc 198.18.0.10:53 >"$TMP/ou4.json"
check "a UDP client outside the cgroup is not translated" \
	jqe '.ok and .reply == "untranslated"' "$TMP/ou4.json"

# ---- counters ----

lb -b >"$TMP/lb.json"
vipf() { jq -r --arg v "$1" ".vips[] | select(.vip == \$v) | .$2" "$TMP/lb.json"; }
# bef BACKEND: new flows of a backend of 198.18.0.10:80/tcp.
bef() {
	jq -r --arg b "$1" '.vips[] | select(.vip == "198.18.0.10:80/tcp") | .backends[] |
		select(.backend == $b) | .new_flows' "$TMP/lb.json"
}
check "lbstat: 61 new connections on 198.18.0.10:80/tcp" \
	eval '[ "$(vipf 198.18.0.10:80/tcp new_flows)" = 61 ]'
check "lbstat: per backend, they add up and the draining one has none" \
	eval '[ $(($(bef 198.18.2.11:8080) + $(bef 198.18.2.12:8080))) = 61 ] &&
		[ "$(bef 198.18.2.13:8080)" = 0 ]'
check "lbstat: the refused connection counted as rejected on its VIP" \
	eval '[ "$(vipf 198.18.0.20:80/tcp rejected)" = 1 ]'
check "lbstat: one new flow for the unconnected socket on 198.18.0.11:53/udp" \
	eval '[ "$(vipf 198.18.0.11:53/udp new_flows)" = 1 ]'
lb -g >"$TMP/g.json"
gc() { jq -r ".counters.$1" "$TMP/g.json"; }
check "global counters: sock_connect 64, sock_sendmsg 4, sock_no_backend 3" \
	eval '[ "$(gc sock_connect)" = 64 ] && [ "$(gc sock_sendmsg)" = 4 ] && [ "$(gc sock_no_backend)" = 3 ]'
check "global counters: getpeername and recvmsg restored the VIP" \
	eval '[ "$(gc sock_peername)" -ge 64 ] && [ "$(gc sock_recvmsg)" -ge 6 ]'
check "global counters: no packet went through the packet path (nothing attached)" \
	eval '[ "$(gc nat_orig)" = 0 ]'

# ---- dual-stack sockets: IPv6 sockets talking to IPv4 VIPs (::ffff:a.b.c.d) ----

in_cg tcp "[::ffff:198.18.0.10]:80" >"$TMP/m4.json"
check "IPv4-mapped TCP: a backend answers, getpeername shows the mapped VIP" \
	jqe '.ok and (.reply | test("^b1[12]$")) and .peer == "::ffff:198.18.0.10:80"' "$TMP/m4.json"
in_cg udpc "[::ffff:198.18.0.10]:53" >"$TMP/mu4.json"
check "IPv4-mapped connected UDP: answered, source shown as the mapped VIP" \
	jqe '.ok and (.reply | test("^b1[12]$")) and .src == "::ffff:198.18.0.10:53"' "$TMP/mu4.json"
in_cg udpu "[::ffff:198.18.0.10]:53" "[::ffff:198.18.0.11]:53" >"$TMP/muu4.json"
check "IPv4-mapped unconnected UDP to two VIPs: each answer from its mapped VIP" \
	jqe '.ok and .answers["::ffff:198.18.0.11:53"] == "b13" and (.answers["::ffff:198.18.0.10:53"] | test("^b1[12]$"))' \
	"$TMP/muu4.json"

# ---- restart ----

PROGS1=$(links | awk '{print $1}')
xlbd_stop
in_cg tcp 198.18.0.10:80 >"$TMP/r0.json"
check "xlbd stopped: sockets still translated (the links stay)" \
	jqe '.ok and (.reply | test("^b1[12]$")) and .peer == "198.18.0.10:80"' "$TMP/r0.json"
if xlbd_run x2 -M 127.0.0.1:0; then
	check "restarted xlbd adopts the pinned links" grep -q "adopted the pinned links on cgroup $CG" "$TMP/x2.log"
	check "the same link ids, still eight programs on the cgroup, none twice" \
		eval '[ "$(link_ids)" = "$LINKS1" ] && [ "$(links | wc -l)" = 8 ]'
	check "the links carry the restarted xlbd's programs (new program ids)" \
		eval '[ -z "$(comm -12 <(echo "$PROGS1") <(links | awk "{print \$1}"))" ]'
	in_cg tcp 198.18.0.10:80 >"$TMP/r1.json"
	check "after the restart a new connection is translated" \
		jqe '.ok and (.reply | test("^b1[12]$")) and .peer == "198.18.0.10:80"' "$TMP/r1.json"
	MADDR=$(sed -n 's/.*metrics: listening on \([0-9.:]*\).*/\1/p' "$TMP/x2.log" | head -1)
	curl -s --noproxy '*' --max-time 5 "http://$MADDR/metrics" >"$TMP/metrics.txt"
	check "/metrics: the socket events and the VIP's new connections" \
		bash -c "grep -q '^xlb_datapath_events_total{event=\"sock_connect\"} 68$' '$TMP/metrics.txt' &&
			grep -q '^xlb_vip_new_flows_total{vip=\"198.18.0.10:80/tcp\".*} 64$' '$TMP/metrics.txt'"
	xlbd_stop
else
	nok "xlbd restarts" "$(tail -5 "$TMP/x2.log")"
fi

# ---- another cgroup ----

mkdir "$CG/sub"
if xlbd_run x5 --cgroup "$CG/sub"; then
	check "--cgroup elsewhere: the links move (eight programs there, none left here)" \
		eval '[ "$(bpftool cgroup show "$CG/sub" | grep -c xlb_)" = 8 ] && [ -z "$(links)" ]'
	bash -c 'echo $$ >"$0/cgroup.procs" && exec ip netns exec "$1" python3 "$2" tcp 198.18.0.10:80' \
		"$CG/sub" "$NS_CLI" "$TMP/sk.py" >"$TMP/m1.json"
	check "--cgroup elsewhere: a client there is translated" \
		jqe '.ok and (.reply | test("^b1[12]$"))' "$TMP/m1.json"
	in_cg tcp 198.18.0.10:80 >"$TMP/m2.json"
	check "--cgroup elsewhere: a client in the old cgroup no longer is" \
		jqe '.ok and .reply == "untranslated"' "$TMP/m2.json"
	xlbd_stop
else
	nok "xlbd --cgroup on another cgroup starts" "$(tail -5 "$TMP/x5.log")"
fi
rmdir "$CG/sub" 2>/dev/null

# ---- --no-socket-lb ----

if xlbd_run x3 --no-socket-lb; then
	check "--no-socket-lb: our pinned links removed" eval '[ -z "$(ls "$PIN" | grep "^link_")" ]'
	check "--no-socket-lb: nothing on the cgroup" eval '[ -z "$(links)" ]'
	in_cg tcp 198.18.0.10:80 >"$TMP/s1.json"
	check "--no-socket-lb: a client in the cgroup is not translated" \
		jqe '.ok and .reply == "untranslated"' "$TMP/s1.json"
	xlbd_stop
else
	nok "xlbd --no-socket-lb starts" "$(tail -5 "$TMP/x3.log")"
fi

# ---- --detach-and-unpin ----

xlbd_run x4 && xlbd_stop
check "socket balancing back on: eight programs on the cgroup" eval '[ "$(links | wc -l)" = 8 ]'
"$XLBD" -c "$TMP/xlbd.json" --detach-and-unpin >"$TMP/d.log" 2>&1
check "--detach-and-unpin exits 0" [ $? = 0 ]
check "--detach-and-unpin: nothing left on the cgroup" eval '[ -z "$(links)" ]'
check "--detach-and-unpin: the pin path is gone" [ ! -e "$PIN" ]
in_cg tcp 198.18.0.10:80 >"$TMP/d1.json"
check "after --detach-and-unpin a client in the cgroup is not translated" \
	jqe '.ok and .reply == "untranslated"' "$TMP/d1.json"

# ---- configuration ----

"$XLBD" --check -c "$TMP/xlbd.json" --cgroup relative >"$TMP/c1.err" 2>&1
check "--cgroup with a relative path: exit 2 naming --cgroup" \
	bash -c "[ $? = 2 ] && grep -q -- '--cgroup: expected an absolute path' '$TMP/c1.err'"
"$XLBD" --check -c "$TMP/xlbd.json" --cgroup "$CG" --no-socket-lb >"$TMP/c0.err" 2>&1
check "--cgroup with --no-socket-lb: exit 2, they exclude each other" \
	bash -c "[ $? = 2 ] && grep -q 'exclude each other' '$TMP/c0.err'"
jq '.cgroup = "/proc"' "$TMP/xlbd.json" >"$TMP/bad.json"
"$XLBD" --check -c "$TMP/bad.json" >"$TMP/c2.err" 2>&1
check "\"cgroup\" not on cgroup2: exit 2 naming \$.cgroup" \
	bash -c "[ $? = 2 ] && grep -q '\\\$.cgroup: /proc: not a cgroup v2 directory' '$TMP/c2.err'"
jq '.socket_lb = "yes"' "$TMP/xlbd.json" >"$TMP/bad2.json"
"$XLBD" --check -c "$TMP/bad2.json" >"$TMP/c3.err" 2>&1
check "\"socket_lb\" not a boolean: exit 2 naming \$.socket_lb" \
	bash -c "[ $? = 2 ] && grep -q '\\\$.socket_lb: expected true or false' '$TMP/c3.err'"
finish
