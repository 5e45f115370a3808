#!/usr/bin/env bash
# lbstat against maps it did not make: lbstat-testgen fills private pins
# through libxlb and runs known packets through the XDP program with
# BPF_PROG_TEST_RUN (nothing leaves the process), then every view is checked
# in text and JSON: totals, per-backend sums, rates over a measured interval
# (packets pushed at a moment the test chooses, between two samples), filters,
# sorting, the exit codes and messages for missing maps, maps of another
# layout and an empty VIP table, watch mode through a pipe and on a terminal
# (tmux: redraw, keys, q, terminal restored). Only 198.18.0.0/15 addresses.
set -u
cd "$(dirname "$0")/../.." || exit 1

OUTPUT=${OUTPUT:-.output}
LB=$(realpath -m "$OUTPUT/lbstat")
GEN=$(realpath -m "$OUTPUT/lbstat-testgen")
P=/sys/fs/bpf/xlb-lbstat-test-$$
BAD=/sys/fs/bpf/xlb-lbstat-bad-$$
EMPTY=/sys/fs/bpf/xlb-lbstat-empty-$$
NONE=/sys/fs/bpf/xlb-lbstat-none-$$
VIP10=198.18.0.10:80/tcp
VIP11=198.18.0.11:53/udp
VIP12=198.18.0.12:443/tcp
TCP_LEN=54 # Ethernet + IPv4 + TCP without options
UDP_LEN=74 # Ethernet + IPv4 + UDP + 32 bytes
GEN_PID=

SUITE=lbstat
. tests/cli/lib.sh
t_tmpdir
TMUX_SOCK=$TMP/tmux.sock # a private server, gone with $TMP

# lbstat_unpin: the generator's pins (through it: it made them), the tmux server.
lbstat_unpin() {
	local p
	command -v tmux >/dev/null 2>&1 && tmux -S "$TMUX_SOCK" kill-server 2>/dev/null
	for p in "$P" "$BAD" "$EMPTY"; do
		[ -e "$p" ] && { "$GEN" --pin-path "$p" unpin >/dev/null 2>&1 || rm -rf "$p"; }
	done
}
at_exit lbstat_unpin

# jq_ok FILE EXPR: the JSON in FILE satisfies EXPR.
jq_ok() {
	jq -e "$2" "$1" >/dev/null 2>&1
}

# lb OUT ARGS...: runs lbstat on the test pins, stdout to OUT, exit status to $rc.
lb() {
	local out=$1
	shift
	"$LB" --pin-path "$P" "$@" >"$out" 2>"$out.err"
	rc=$?
}

# gen CMD...: one command to the serving generator; its answer must start with "ok".
gen() {
	local reply
	echo "$*" >&"${GENP[1]}"
	if ! read -r -t 10 reply <&"${GENP[0]}"; then
		echo "# generator did not answer '$*'"
		return 1
	fi
	case $reply in
	ok*) return 0 ;;
	*)
		echo "# generator: $reply"
		return 1
		;;
	esac
}

# field FILE VIP COLUMN: a column of VIP's row in a text table, by header name.
field() {
	awk -v vip="$2" -v col="$3" '
		/^VIP/ && !h { for (i = 1; i <= NF; i++) if ($i == col) c = i; h = 1; next }
		h && $1 == vip { print $c; exit }' "$1"
}

# The ABI this tree builds, as --version must name it.
ABI=$(sed -n 's/^#define XLB_ABI_VERSION \([0-9]*\).*/\1/p' include/xlb/abi.h)
need_root # BPF maps and BPF_PROG_TEST_RUN
need_cmd jq bpftool
need_bins "$LB" "$GEN"

# --- command line -----------------------------------------------------------
"$LB" --help >"$TMP/help" 2>&1
r=$?
check "--help exits 0 and lists the options" \
	eval '[ $r = 0 ] && grep -q -- "--pin-path" "$TMP/help" && grep -q -- "--interval" "$TMP/help"'
"$LB" --version >"$TMP/ver" 2>&1
r=$?
check "--version exits 0 and names the ABI" eval '[ $r = 0 ] && grep -q "^lbstat .*ABI $ABI)" "$TMP/ver"'
"$LB" -j --version >"$TMP/ver.json" 2>&1
check "-j --version is JSON" jq_ok "$TMP/ver.json" ".abi_version == $ABI"' and (.version | type == "string")'

usage_cases=(
	"--bogus|unknown option '--bogus'"
	"-Z|unknown option '-Z'"
	"--vip nonsense|'nonsense' is not an IPv4 or IPv6 address"
	"--vip 198.18.0.10:99999|port must be 1-65535"
	"--vip 198.18.0.10:80/sctp|protocol must be tcp or udp"
	"--vip 2001:db8::1:80/tcp|IPv6 with a port goes in brackets"
	"-s bogus|sort by vip, name"
	"-i 0|interval must be"
	"-i abc|interval must be"
	"-c 0|count must be a positive integer"
	"-b -g|choose one view"
	"frobnicate|unknown view 'frobnicate'"
	"vips extra|unexpected argument 'extra'"
	"--app=|empty app id"
	"-i|needs a value"
)
for c in "${usage_cases[@]}"; do
	args=${c%%|*}
	want=${c#*|}
	# shellcheck disable=SC2086
	"$LB" --pin-path "$NONE" $args >"$TMP/u.out" 2>"$TMP/u.err"
	r=$?
	check "usage error '$args': exit 2, says \"$want\"" \
		eval '[ $r = 2 ] && grep -qF -- "$want" "$TMP/u.err" && [ ! -s "$TMP/u.out" ]'
done
"$LB" --pin-path "$NONE" -j -s bogus >"$TMP/u.out" 2>"$TMP/u.err"
r=$?
check "usage error in JSON mode: exit 2, {\"error\": ...} on stdout" \
	eval '[ $r = 2 ] && jq_ok "$TMP/u.out" "(.error | test(\"sort by\"))"'
"$LB" --pin-path "$NONE" --bogus -xp >"$TMP/u.out" 2>"$TMP/u.err"
r=$?
check "usage error before -xp: still JSON" \
	eval '[ $r = 2 ] && jq_ok "$TMP/u.out" "(.error | test(\"--bogus\"))"'

# --- missing maps --------------------------------------------------------------
"$LB" --pin-path "$NONE" --no-rates >"$TMP/m.out" 2>"$TMP/m.err"
r=$?
check "no maps: exit 4 with a clear message" \
	eval '[ $r = 4 ] && grep -qF "lbstat: no xlb maps at $NONE (is xlbd running? --pin-path to look elsewhere)" "$TMP/m.err"'
"$LB" --pin-path "$NONE" -j >"$TMP/m.out" 2>"$TMP/m.err"
r=$?
check "no maps, JSON: exit 4, the message as {\"error\": ...}" \
	eval '[ $r = 4 ] && jq_ok "$TMP/m.out" ".error | startswith(\"no xlb maps at $NONE\")"'

# --- known traffic -----------------------------------------------------------
if ! "$GEN" --pin-path "$P" setup >"$TMP/gen.log" 2>&1; then
	nok "lbstat-testgen setup" "$(cat "$TMP/gen.log")"
	finish
fi
coproc GENP { "$GEN" --pin-path "$P" serve 2>"$TMP/gen.err"; }
GEN_PID=$!
track_pid "$GEN_PID"
if ! read -r -t 20 line <&"${GENP[0]}" || [ "$line" != ready ]; then
	nok "lbstat-testgen serve starts" "$(cat "$TMP/gen.err")"
	finish
fi
# Flows 0-29 open on VIP10, 10 of them send one more packet and get one reply;
# 7 UDP flows on VIP11; 4 SYNs on VIP12, which has no backend and drops.
check "traffic pushed through BPF_PROG_TEST_RUN" eval \
	'gen syn $VIP10 0 30 && gen data $VIP10 0 10 && gen reply $VIP10 0 10 &&
	 gen syn $VIP11 0 7 && gen syn $VIP12 0 4'

lb "$TMP/v.json" --no-rates -j
check "vips JSON: exit 0, no rates without a baseline" \
	eval '[ $rc = 0 ] && jq_ok "$TMP/v.json" ".interval_ns == 0 and .vips_total == 3 and
		(.vips[0] | has(\"rate_packets_in_per_s\") | not)"'
check "vips JSON: VIP 198.18.0.10 totals" jq_ok "$TMP/v.json" "
	.vips[] | select(.vip == \"$VIP10\") |
	.packets_in == 40 and .new_flows == 30 and .bytes_in == 40 * $TCP_LEN and
	.packets_out == 10 and .bytes_out == 10 * $TCP_LEN and .drops_total == 0 and
	.address == \"198.18.0.10\" and .port == 80 and .protocol == \"tcp\" and .mode == \"nat\" and
	.name == \"web.marathon.l4lb.thisdcos.directory\" and .app == \"/prod/web\" and
	.backends_active == 3 and .backends_draining == 0"
check "vips JSON: UDP VIP with one active and one draining backend" jq_ok "$TMP/v.json" "
	.vips[] | select(.vip == \"$VIP11\") |
	.packets_in == 7 and .new_flows == 7 and .bytes_in == 7 * $UDP_LEN and
	.backends_active == 1 and .backends_draining == 1 and .app == \"/prod/dns\""
check "vips JSON: drops by reason on the VIP without backends" jq_ok "$TMP/v.json" "
	.vips[] | select(.vip == \"$VIP12\") |
	.drops.no_backend == 4 and .drops_total == 4 and .packets_in == 0 and
	.no_backend_policy == \"drop\" and .backends_active == 0 and .name == \"\""

lb "$TMP/b.json" --no-rates -j -b
check "backends JSON: per-backend sums equal the VIP's totals" jq_ok "$TMP/b.json" "
	.vips[] | select(.vip == \"$VIP10\") | (.backends | length) == 3 and
	([.backends[].new_flows] | add) == .new_flows and
	([.backends[].packets_in] | add) == .packets_in and
	([.backends[].bytes_in] | add) == .bytes_in and
	([.backends[].packets_out] | add) == .packets_out and
	(([.backends[].share_new_flows_percent] | add) - 100 | fabs) < 0.01 and
	([.backends[].address] == [\"198.18.2.11\", \"198.18.2.12\", \"198.18.2.13\"])"
check "backends JSON: states and weights" jq_ok "$TMP/b.json" "
	.vips[] | select(.vip == \"$VIP11\") |
	[.backends[] | [.backend, .state, .weight]] ==
	[[\"198.18.2.21:5353\", \"active\", 1], [\"198.18.2.22:5353\", \"draining\", 0]]"

lb "$TMP/v.txt" --no-rates
check "vips text: header and columns" \
	eval '[ $rc = 0 ] && head -1 "$TMP/v.txt" | grep -q "3 VIPs, 5 backends  totals only" &&
		sed -n 2p "$TMP/v.txt" | grep -q "^VIP .*CPS .*InPPS .*Conns .*InPkts .*OutBytes .*Name .*App"'
check "vips text: VIP 198.18.0.10 totals" eval \
	'[ "$(field "$TMP/v.txt" $VIP10 Conns)" = 30 ] && [ "$(field "$TMP/v.txt" $VIP10 InPkts)" = 40 ] &&
	 [ "$(field "$TMP/v.txt" $VIP10 OutPkts)" = 10 ] &&
	 [ "$(field "$TMP/v.txt" $VIP10 InBytes)" = $((40 * TCP_LEN)) ] &&
	 [ "$(field "$TMP/v.txt" $VIP10 Act)" = 3 ] && [ "$(field "$TMP/v.txt" $VIP10 CPS)" = - ] &&
	 grep -q "^$VIP10 .* web.marathon.l4lb.thisdcos.directory  /prod/web$" "$TMP/v.txt"'
check "vips text: drops by reason under the VIP" \
	eval 'grep -A1 "^$VIP12 " "$TMP/v.txt" | grep -q "^    dropped no_backend 4$"'

lb "$TMP/b.txt" --no-rates -b
# The Conns column of the "->" rows under VIP10, added up: backend rows end with
# Conns InPkts OutPkts InBytes OutBytes (they have no name), so it is $(NF - 4).
be_sum=$(awk -v vip="$VIP10" '
	$1 == vip { in_vip = 1; next }
	$1 != "->" { in_vip = 0 }
	in_vip { s += $(NF - 4); n++ } END { print n "x" s }' "$TMP/b.txt")
check "backends text: the 3 backends' Conns add up to the VIP's 30" [ "$be_sum" = 3x30 ]
check "backends text: draining backend and the VIP without backends" eval \
	'grep -q "^  -> 198.18.2.22:5353  draining " "$TMP/b.txt" &&
	 grep -A1 "^$VIP12 " "$TMP/b.txt" | grep -q "(no backends: new flows dropped)"'

lb "$TMP/g.json" --no-rates -j -g
check "global JSON: verdicts, reasons, events and conntrack" jq_ok "$TMP/g.json" '
	.counters.nat_orig == 47 and .counters.nat_reply == 10 and .counters.ct_new == 37 and
	.counters.ct_hit == 10 and .counters.drop_no_backend == 4 and .counters.verdict_drop == 4 and
	(.counters | [.verdict_pass, .verdict_drop, .verdict_tx, .verdict_redirect] | add) == 61 and
	.conntrack.entries == 37 and .conntrack.flows == 37 and .conntrack.complete == true and
	.conntrack.ipv4.entries == 37 and .conntrack.ipv6.entries == 0 and
	(.conntrack.ipv4.max_entries - 65536) >= 0 and (.conntrack.ipv4.max_entries - 65536) < 4096 and
	.conntrack.bytes_per_flow > 32 and .conntrack.bytes_per_flow < 200 and
	.conntrack.ipv4.memory_bytes > 65536 * 32 and .flood.new_per_cpu == 0'
lb "$TMP/g.txt" --no-rates global
check "global: text and JSON list the same counters, every kind" eval \
	'[ "$(grep -cE "^  [a-z_]+ +[0-9]+ +- " "$TMP/g.txt")" = "$(jq ".counters | length" "$TMP/g.json")" ] &&
	 jq_ok "$TMP/g.json" ".counters | has(\"verdict_pass\") and has(\"pass_not_ip\") and
		has(\"drop_internal\") and has(\"vlan\")"'
check "global text: counters with their meaning, conntrack occupancy" eval \
	'[ $rc = 0 ] && grep -Eq "^  nat_orig +47 +- +client -> VIP translated to a backend$" "$TMP/g.txt" &&
	 grep -Eq "^conntrack: 37 entries of [0-9]+, 37 flows, [0-9]+ bytes per flow; counted" "$TMP/g.txt" &&
	 grep -Eq "^  ipv4: 37 entries of 655[0-9][0-9] \(0\.1%\), 37 flows, [0-9.]+ MiB of kernel memory$" "$TMP/g.txt" &&
	 grep -q "^flood budgets: new flows recorded per second: no limit per CPU, no limit per VIP per CPU$" "$TMP/g.txt"'

LBSTAT_NO_BATCH=1 "$LB" --pin-path "$P" --no-rates -j -b >"$TMP/nb.json" 2>/dev/null
LBSTAT_NO_BATCH=1 "$LB" --pin-path "$P" --no-rates -j -g >"$TMP/nbg.json" 2>/dev/null
check "one-by-one reads (no batch ops) give the same sample" eval \
	'[ "$(jq -S .vips "$TMP/nb.json")" = "$(jq -S .vips "$TMP/b.json")" ] &&
	 jq_ok "$TMP/nbg.json" ".conntrack.entries == 37 and .conntrack.flows == 37"'

lb "$TMP/one.txt"
check "one-shot run: waits one interval and shows rates" eval \
	'[ $rc = 0 ] && head -1 "$TMP/one.txt" | grep -q "rates over 1\.[0-9][0-9] s" &&
	 [ "$(field "$TMP/one.txt" $VIP10 CPS)" = 0.0 ]'

lb "$TMP/p.json" --no-rates -p -b
check "-p: indented, the same data as -j" eval \
	'[ "$(wc -l <"$TMP/p.json")" -gt 50 ] && grep -q "^  \"vips\": \[" "$TMP/p.json" &&
	 [ "$(jq -S "del(.timestamp_ns)" "$TMP/p.json")" = "$(jq -S "del(.timestamp_ns)" "$TMP/b.json")" ]'

# --- filters and sorting ----------------------------------------------------------
filter_cases=(
	"--vip 198.18.0.10|$VIP10"
	"--vip 198.18.0.10:80|$VIP10"
	"--vip 198.18.0.10:80/tcp|$VIP10"
	"--vip 198.18.0.10:80/udp|"
	"--vip 198.18.0.11 --vip 198.18.0.12|$VIP11 $VIP12"
	"--vip [2001:db8::1]:80|"
	"--app /prod|$VIP10 $VIP11"
	"--app /prod/web|$VIP10"
	"--app prod/dns|$VIP11"
	"--app /pro|"
	"--app /prod --vip 198.18.0.11|$VIP11"
)
for c in "${filter_cases[@]}"; do
	args=${c%%|*}
	want=${c#*|}
	# shellcheck disable=SC2086
	lb "$TMP/f.json" --no-rates -j $args
	got=$(jq -r '[.vips[].vip] | join(" ")' "$TMP/f.json" 2>/dev/null)
	check "filter $args: ${want:-no VIP}" eval '[ $rc = 0 ] && [ "$got" = "$want" ]'
done
lb "$TMP/f.txt" --no-rates --vip 198.18.0.10:80/udp
check "filter that keeps nothing says so" \
	eval '[ $rc = 0 ] && grep -q "^no VIPs match the filters (3 VIPs in all)$" "$TMP/f.txt"'

sort_cases=(
	"-s conns|$VIP10 $VIP11 $VIP12"
	"-s conns -r|$VIP12 $VIP11 $VIP10"
	"-s name|$VIP11 $VIP10 $VIP12"
	"-s app|$VIP11 $VIP10 $VIP12"
	"-s drops|$VIP12 $VIP10 $VIP11"
	"-s bps_out|$VIP10 $VIP11 $VIP12"
	"-s vip -r|$VIP12 $VIP11 $VIP10"
)
for c in "${sort_cases[@]}"; do
	args=${c%%|*}
	want=${c#*|}
	# shellcheck disable=SC2086
	lb "$TMP/s.txt" --no-rates $args
	got=$(awk 'NR > 2 && $1 ~ /^198\./ { printf "%s%s", sep, $1; sep = " " }' "$TMP/s.txt")
	check "sort $args" [ "$got" = "$want" ]
done

# --- rates over a known interval ----------------------------------------------------
# lbstat prints a sample every 2 s; the 50 new flows go in right after the first
# one is out, so the second sample's rates cover exactly them.
exec {LBFD}< <(exec "$LB" --pin-path "$P" -j -b -i 2 -c 2 2>"$TMP/r.err")
track_pid $!
s1= s2=
read -r -t 10 s1 <&"$LBFD" && gen syn $VIP10 1000 50 && read -r -t 10 s2 <&"$LBFD"
exec {LBFD}<&-
echo "$s1" >"$TMP/r1.json"
echo "$s2" >"$TMP/r2.json"
check "rates JSON: -i 2 -c 2 gives two samples 2 s apart" eval \
	'jq_ok "$TMP/r1.json" ".interval_ns > 0" &&
	 jq_ok "$TMP/r2.json" ".interval_ns >= 1900000000 and .interval_ns <= 2500000000"'
d=$(jq -n --slurpfile a "$TMP/r1.json" --slurpfile b "$TMP/r2.json" \
	"[\$a[0], \$b[0]] | map(.vips[] | select(.vip == \"$VIP10\") | .new_flows) | .[1] - .[0]")
check "rates JSON: the 50 flows fall between the two samples" [ "$d" = 50 ]
check "rates JSON: VIP rates are the pushed counts over interval_ns" jq_ok "$TMP/r2.json" "
	(.interval_ns / 1e9) as \$t | .vips[] | select(.vip == \"$VIP10\") |
	((.rate_new_flows_per_s * \$t - 50) | fabs) < 0.01 and
	((.rate_packets_in_per_s * \$t - 50) | fabs) < 0.01 and
	((.rate_bytes_in_per_s * \$t - 50 * $TCP_LEN) | fabs) < 0.1 and
	.rate_packets_out_per_s == 0 and .rate_drops_total_per_s == 0"
check "rates JSON: backend rates add up to the VIP's" jq_ok "$TMP/r2.json" "
	(.interval_ns / 1e9) as \$t | .vips[] | select(.vip == \"$VIP10\") |
	(([.backends[].rate_new_flows_per_s] | add) * \$t - 50 | fabs) < 0.02"
check "rates JSON: idle VIPs have rate 0" jq_ok "$TMP/r2.json" "
	[.vips[] | select(.vip != \"$VIP10\") | .rate_new_flows_per_s, .rate_packets_in_per_s] |
	all(. == 0)"

exec {LBFD}< <(exec "$LB" --pin-path "$P" -j -g -i 2 -c 2 2>"$TMP/rg.err")
track_pid $!
s1= s2=
read -r -t 10 s1 <&"$LBFD" && gen syn $VIP10 1100 20 && gen data $VIP10 1100 20 &&
	gen reply $VIP10 1100 20 && read -r -t 10 s2 <&"$LBFD"
exec {LBFD}<&-
echo "$s2" >"$TMP/rg.json"
check "rates JSON, global: counters over interval_ns" jq_ok "$TMP/rg.json" '
	(.interval_ns / 1e9) as $t | .rate_counters_per_s as $r |
	(($r.nat_orig * $t - 40) | fabs) < 0.01 and (($r.nat_reply * $t - 20) | fabs) < 0.01 and
	(($r.ct_new * $t - 20) | fabs) < 0.01 and (($r.ct_hit * $t - 20) | fabs) < 0.01 and
	$r.drop_no_backend == 0'

exec {LBFD}< <(exec "$LB" --pin-path "$P" -i 2 -c 2 --vip 198.18.0.10 2>"$TMP/rt.err")
track_pid $!
: >"$TMP/rt1.txt"
while read -r -t 10 l <&"$LBFD" && [ -n "$l" ]; do echo "$l" >>"$TMP/rt1.txt"; done
gen syn $VIP10 2000 50
timeout 10 cat <&"$LBFD" >"$TMP/rt2.txt"
exec {LBFD}<&-
t=$(sed -n 's/.*rates over \([0-9.]*\) s.*/\1/p' "$TMP/rt2.txt")
cps=$(field "$TMP/rt2.txt" $VIP10 CPS)
c1=$(field "$TMP/rt1.txt" $VIP10 Conns)
c2=$(field "$TMP/rt2.txt" $VIP10 Conns)
check "rates text: blocks separated by a blank line, Conns grew by 50" \
	eval '[ -n "$c1" ] && [ -n "$c2" ] && [ $((c2 - c1)) = 50 ]'
check "rates text: CPS is 50 over the interval shown ($cps/s over $t s)" \
	awk -v c="$cps" -v t="$t" 'BEGIN { d = c - 50 / t; exit !(t >= 1.9 && t <= 2.5 && d < 0.11 && d > -0.11) }'

# --- watch mode through a pipe -------------------------------------------------------
"$LB" --pin-path "$P" -i 0.2 -c 3 >"$TMP/w.txt" 2>&1
r=$?
check "watch, text, not a terminal: three blocks, two blank lines, no escape codes" eval \
	'[ $r = 0 ] && [ "$(grep -c "^lbstat " "$TMP/w.txt")" = 3 ] &&
	 [ "$(grep -c "^$" "$TMP/w.txt")" = 2 ] && ! grep -q $'"'"'\033'"'"' "$TMP/w.txt"'
"$LB" --pin-path "$P" -j -i 0.2 -c 3 >"$TMP/w.json" 2>&1
r=$?
check "watch, JSON: one object per line, each with rates" eval \
	'[ $r = 0 ] && [ "$(wc -l <"$TMP/w.json")" = 3 ] &&
	 [ "$(jq -s "map(select(.interval_ns > 0 and (.vips | length) == 3)) | length" "$TMP/w.json")" = 3 ]'

# --- read-only ----------------------------------------------------------------------
dump_all() {
	local m
	for m in "$P"/*; do
		echo "== $m"
		bpftool map dump pinned "$m" 2>&1
	done
}
dump_all >"$TMP/before"
"$LB" --pin-path "$P" --no-rates >/dev/null 2>&1
"$LB" --pin-path "$P" --no-rates -b -j >/dev/null 2>&1
"$LB" --pin-path "$P" -g -i 0.2 -c 2 >/dev/null 2>&1
dump_all >"$TMP/after"
check "lbstat changes no map" cmp -s "$TMP/before" "$TMP/after"

# --- exact numbers ------------------------------------------------------------------
gen syn $VIP10 3000 2000
lb "$TMP/x.txt" --no-rates --vip $VIP10
lb "$TMP/xx.txt" --no-rates --vip $VIP10 -x
bytes=$(((40 + 50 + 40 + 50 + 2000) * TCP_LEN))
check "text shortens big numbers (InBytes $bytes), -x shows every digit" eval \
	'[ "$(field "$TMP/x.txt" $VIP10 InBytes)" = "$(awk -v b=$bytes "BEGIN { printf \"%.1fK\", b / 1000 }")" ] &&
	 [ "$(field "$TMP/xx.txt" $VIP10 InBytes)" = "$bytes" ]'

# --- maps of another layout ----------------------------------------------------------
"$GEN" --pin-path "$BAD" empty >/dev/null 2>&1
want_vs=$(bpftool -j map show pinned "$P/xlb_vip_stats" | jq .bytes_value)
rm -f "$BAD/xlb_vip_stats"
bpftool map create "$BAD/xlb_vip_stats" type percpu_array key 4 value $((want_vs - 8)) \
	entries 4 name xlb_vip_stats
"$LB" --pin-path "$BAD" --no-rates >"$TMP/bad.out" 2>"$TMP/bad.err"
r=$?
check "value size differs: exit 4 naming the map and both sizes" eval \
	'[ $r = 4 ] && grep -qF "lbstat: map $BAD/xlb_vip_stats: value size $((want_vs - 8)) bytes, expected $want_vs (an xlb of another version pinned these maps?)" "$TMP/bad.err"'
"$LB" --pin-path "$BAD" -j >"$TMP/bad.out" 2>"$TMP/bad.err"
r=$?
check "value size differs, JSON: exit 4, {\"error\": ...}" \
	eval '[ $r = 4 ] && jq_ok "$TMP/bad.out" ".error | contains(\"value size\")"'
rm -f "$BAD/xlb_vip_stats"
bpftool map create "$BAD/xlb_vip_stats" type array key 4 value "$want_vs" entries 4 \
	name xlb_vip_stats
"$LB" --pin-path "$BAD" --no-rates >"$TMP/bad.out" 2>"$TMP/bad.err"
r=$?
check "map type differs: exit 4 naming the map and both types" eval \
	'[ $r = 4 ] && grep -qF "map $BAD/xlb_vip_stats: type array, expected percpu_array" "$TMP/bad.err"'
rm -f "$BAD/xlb_vip_stats"
"$LB" --pin-path "$BAD" --no-rates >"$TMP/bad.out" 2>"$TMP/bad.err"
r=$?
check "one map missing: exit 4 naming it" eval \
	'[ $r = 4 ] && grep -qF "map $BAD/xlb_vip_stats: missing, expected a percpu_array map" "$TMP/bad.err"'

# --- empty VIP table -------------------------------------------------------------
"$GEN" --pin-path "$EMPTY" empty >/dev/null 2>&1
"$LB" --pin-path "$EMPTY" --no-rates >"$TMP/e.txt" 2>&1
r=$?
check "empty VIP table: exit 0, \"no VIPs\"" \
	eval '[ $r = 0 ] && grep -qx "no VIPs in $EMPTY" "$TMP/e.txt"'
"$LB" --pin-path "$EMPTY" --no-rates -j -b >"$TMP/e.json" 2>&1
r=$?
check "empty VIP table, JSON: exit 0, an empty list" \
	eval '[ $r = 0 ] && jq_ok "$TMP/e.json" ".vips == [] and .vips_total == 0"'
"$LB" --pin-path "$EMPTY" --no-rates -j -g >"$TMP/e.json" 2>&1
r=$?
check "empty VIP table, global: zero counters, empty conntrack" \
	eval '[ $r = 0 ] && jq_ok "$TMP/e.json" "(.counters | add) == 0 and .conntrack.entries == 0"'

# --- watch mode on a terminal ----------------------------------------------------------
# wait_pane SECONDS CMD...: polls until CMD succeeds on a fresh capture of the pane.
wait_pane() {
	local tries=$(($1 * 10))
	shift
	while [ $tries -gt 0 ]; do
		tmux -S "$TMUX_SOCK" capture-pane -p -t lbs >"$TMP/pane" 2>/dev/null
		"$@" && return 0
		sleep 0.1
		tries=$((tries - 1))
	done
	return 1
}
session_gone() {
	! tmux -S "$TMUX_SOCK" has-session -t lbs 2>/dev/null
}
wait_gone() {
	local tries=50
	while [ $tries -gt 0 ]; do
		session_gone && return 0
		sleep 0.1
		tries=$((tries - 1))
	done
	return 1
}
pane_conns() {
	field "$TMP/pane" $VIP10 Conns
}

need_cmd tmux # watch mode on a terminal
tmux -S "$TMUX_SOCK" -f /dev/null new-session -d -s lbs -x 160 -y 40 \
	"'$LB' --pin-path '$P' -i 1 -s conns; echo \$? >'$TMP/tty.rc'; stty -a >'$TMP/tty.stty'"
check "terminal: header and VIP rows drawn" wait_pane 5 eval \
	'grep -q "^lbstat  $P  3 VIPs" "$TMP/pane" && grep -q "^VIP .*CPS" "$TMP/pane" &&
	 grep -q "^$VIP10 " "$TMP/pane" && grep -q "q quit" "$TMP/pane"'
check "terminal: rates after the first interval" wait_pane 5 \
	grep -q "rates over 1\.[0-9][0-9] s  sort: conns" "$TMP/pane"
before=$(pane_conns)
gen syn $VIP10 6000 25
check "terminal: the new flows show as a rate" wait_pane 5 eval \
	'cps=$(field "$TMP/pane" $VIP10 CPS); [ -n "$cps" ] && [ "$cps" != 0.0 ] && [ "$cps" != - ]'
check "terminal: redraws in place with the new total ($before + 25), rate back to 0.0" \
	wait_pane 5 eval '[ "$(pane_conns)" = $((before + 25)) ] &&
		[ "$(field "$TMP/pane" $VIP10 CPS)" = 0.0 ] && [ "$(grep -c "^lbstat " "$TMP/pane")" = 1 ]'
tmux -S "$TMUX_SOCK" send-keys -t lbs s
check "terminal: 's' moves to the next sort column" wait_pane 3 grep -q "sort: pps " "$TMP/pane"
tmux -S "$TMUX_SOCK" send-keys -t lbs v
check "terminal: 'v' shows the backends view" wait_pane 3 \
	grep -q "^  -> 198.18.2.11:8080 " "$TMP/pane"
tmux -S "$TMUX_SOCK" send-keys -t lbs v
check "terminal: 'v' again shows the global view" wait_pane 3 grep -q "^conntrack: " "$TMP/pane"
tmux -S "$TMUX_SOCK" send-keys -t lbs q
check "terminal: 'q' quits with exit 0" eval 'wait_gone && [ "$(cat "$TMP/tty.rc" 2>/dev/null)" = 0 ]'
check "terminal: echo and line mode restored after q" \
	eval 'grep -qw icanon "$TMP/tty.stty" && grep -qw echo "$TMP/tty.stty"'

rm -f "$TMP/tty.rc" "$TMP/tty.stty"
tmux -S "$TMUX_SOCK" -f /dev/null new-session -d -s lbs -x 160 -y 40 \
	"'$LB' --pin-path '$P' -i 1; echo \$? >'$TMP/tty.rc'; stty -a >'$TMP/tty.stty'"
wait_pane 5 grep -q "^$VIP10 " "$TMP/pane"
lbpid=$(pgrep -P "$(tmux -S "$TMUX_SOCK" display -p -t lbs '#{pane_pid}')" -x lbstat)
[ -n "$lbpid" ] && kill -TERM "$lbpid"
check "terminal: SIGTERM ends lbstat and restores the terminal" eval \
	'[ -n "$lbpid" ] && wait_gone && grep -qw icanon "$TMP/tty.stty" && grep -qw echo "$TMP/tty.stty"'

finish
