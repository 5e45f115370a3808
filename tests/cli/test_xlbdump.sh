#!/usr/bin/env bash
# xlbdump's command line and output: --help, --version (text and JSON),
# usage errors (exit 2, JSON with -j), missing maps and maps of another
# layout (the read side's messages, exit 1 for the dump and 2 for --check),
# and on maps that lbstat-testgen fills through libxlb: the text dump, the
# same data as -j (VIPs in the same order, backends, names, table sizes and
# hashes equal to the text's), --raw and --slots in JSON, --check and
# --check -j on consistent maps and on a broken one, and that a dump
# writes nothing (two dumps --raw --slots around it are equal). Only
# 198.18.0.0/15 addresses.
set -u
cd "$(dirname "$0")/../.." || exit 1

OUTPUT=${OUTPUT:-.output}
DUMP=$(realpath -m "$OUTPUT/xlbdump")
GEN=$(realpath -m "$OUTPUT/lbstat-testgen")
P=/sys/fs/bpf/xlb-xlbdump-test-$$
BAD=/sys/fs/bpf/xlb-xlbdump-bad-$$
NONE=/sys/fs/bpf/xlb-xlbdump-none-$$
VIP10=198.18.0.10:80/tcp
VIP11=198.18.0.11:53/udp
VIP12=198.18.0.12:443/tcp

SUITE=xlbdump
# The ABI this tree builds, as --version must name it.
ABI=$(sed -n 's/^#define XLB_ABI_VERSION \([0-9]*\).*/\1/p' include/xlb/abi.h)
. tests/cli/lib.sh
t_tmpdir

# xlbdump_unpin: the generator's pins, through it (it made them).
xlbdump_unpin() {
	local p
	for p in "$P" "$BAD"; do
		[ -e "$p" ] && { "$GEN" --pin-path "$p" unpin >/dev/null 2>&1 || rm -rf "$p"; }
	done
}
at_exit xlbdump_unpin

jq_ok() {
	jq -e "$2" "$1" >/dev/null 2>&1
}

# dump OUT ARGS...: xlbdump on the test pins, stdout to OUT, stderr to OUT.err, status in $rc.
dump() {
	local out=$1
	shift
	"$DUMP" -p "$P" "$@" >"$out" 2>"$out.err"
	rc=$?
}

require_root_bins "$DUMP" "$GEN"
need_cmd jq

# --- command line -----------------------------------------------------------
"$DUMP" --help >"$TMP/help" 2>&1
r=$?
check "--help exits 0 and lists -j and --version" \
	eval '[ $r = 0 ] && grep -q -- "--json" "$TMP/help" && grep -q -- "--version" "$TMP/help"'
"$DUMP" --version >"$TMP/ver" 2>&1
r=$?
check "--version exits 0 and names the ABI" eval '[ $r = 0 ] && grep -q "^xlbdump .*ABI $ABI)" "$TMP/ver"'
"$DUMP" -j --version >"$TMP/ver.json" 2>&1
check "-j --version is JSON" jq_ok "$TMP/ver.json" ".abi_version == $ABI"' and (.version | type == "string")'
"$DUMP" --bogus >"$TMP/u.out" 2>"$TMP/u.err"
r=$?
check "unknown option: exit 2, says which, nothing on stdout" \
	eval '[ $r = 2 ] && grep -qF "unknown option '"'"'--bogus'"'"'" "$TMP/u.err" && [ ! -s "$TMP/u.out" ]'
"$DUMP" --bogus -j >"$TMP/u.out" 2>"$TMP/u.err"
r=$?
check "unknown option with -j: exit 2, {\"error\": ...} on stdout" \
	eval '[ $r = 2 ] && jq_ok "$TMP/u.out" "(.error | test(\"--bogus\"))"'
"$DUMP" -p "$NONE" extra >"$TMP/u.out" 2>"$TMP/u.err"
r=$?
check "stray argument: exit 2" eval '[ $r = 2 ] && grep -qF "unexpected argument '"'"'extra'"'"'" "$TMP/u.err"'

# --- no maps, maps of another layout ------------------------------------------------
"$DUMP" -p "$NONE" >"$TMP/m.out" 2>"$TMP/m.err"
r=$?
check "no maps: exit 1 with the read side's message" \
	eval '[ $r = 1 ] && grep -qF "xlbdump: no xlb maps at $NONE (is xlbd running?" "$TMP/m.err"'
"$DUMP" -p "$NONE" -j >"$TMP/m.out" 2>"$TMP/m.err"
r=$?
check "no maps, -j: exit 1, the message as {\"error\": ...}" \
	eval '[ $r = 1 ] && jq_ok "$TMP/m.out" ".error | startswith(\"no xlb maps at $NONE\")"'
"$DUMP" -p "$NONE" --check >"$TMP/m.out" 2>"$TMP/m.err"
r=$?
check "no maps, --check: exit 2 (cannot read)" eval '[ $r = 2 ] && grep -qF "no xlb maps at" "$TMP/m.err"'

if ! "$GEN" --pin-path "$BAD" empty >"$TMP/gen.log" 2>&1; then
	nok "lbstat-testgen empty" "$(cat "$TMP/gen.log")"
	finish
fi
rm -f "$BAD/xlb_backends"
bpftool map create "$BAD/xlb_backends" type array key 4 value 16 entries 4 name xlb_backends
"$DUMP" -p "$BAD" >"$TMP/bad.out" 2>"$TMP/bad.err"
r=$?
check "value size differs: exit 1 naming the map and both sizes" eval \
	'[ $r = 1 ] && grep -qF "xlbdump: map $BAD/xlb_backends: value size 16 bytes, expected 32 (an xlb of another version pinned these maps?)" "$TMP/bad.err"'
"$DUMP" -p "$BAD" --check -j >"$TMP/bad.out" 2>"$TMP/bad.err"
r=$?
check "value size differs, --check -j: exit 2, {\"error\": ...}" \
	eval '[ $r = 2 ] && jq_ok "$TMP/bad.out" ".error | contains(\"value size 16 bytes\")"'
rm -f "$BAD/xlb_backends"
"$DUMP" -p "$BAD" >"$TMP/bad.out" 2>"$TMP/bad.err"
r=$?
check "one map missing: exit 1 naming it" eval \
	'[ $r = 1 ] && grep -qF "map $BAD/xlb_backends: missing, expected a array map" "$TMP/bad.err"'

# --- a known state ----------------------------------------------------------------
if ! "$GEN" --pin-path "$P" setup >"$TMP/gen.log" 2>&1; then
	nok "lbstat-testgen setup" "$(cat "$TMP/gen.log")"
	finish
fi
dump "$TMP/d.txt"
check "dump: exit 0, the three VIPs in key order" eval \
	'[ $rc = 0 ] && [ "$(awk "/^vip / { print \$2 }" "$TMP/d.txt" | tr "\n" " ")" = "$VIP10 $VIP11 $VIP12 " ]'
check "dump: names, backends and tables" eval \
	'grep -qx "vip $VIP10 flags 0 mode 0 name \"web.marathon.l4lb.thisdcos.directory\" app \"/prod/web\"" "$TMP/d.txt" &&
	 grep -qx "  backend 198.18.2.22:5353 state draining weight 0" "$TMP/d.txt" &&
	 grep -A1 "^vip $VIP12 " "$TMP/d.txt" | grep -qx "  table none"'

dump "$TMP/d.json" -j
check "-j: exit 0, one object, the same VIPs in the same order" eval \
	'[ $rc = 0 ] && [ "$(wc -l <"$TMP/d.json")" = 1 ] &&
	 [ "$(jq -r "[.vips[].vip] | join(\" \")" "$TMP/d.json")" = "$VIP10 $VIP11 $VIP12" ] &&
	 jq_ok "$TMP/d.json" ".vips_total == 3 and .pin_path == \"$P\""'
check "-j: a VIP's fields, snake_case" jq_ok "$TMP/d.json" "
	.vips[] | select(.vip == \"$VIP10\") |
	.address == \"198.18.0.10\" and .port == 80 and .protocol == \"tcp\" and .family == \"ipv4\" and
	.flags == 0 and .mode == 0 and .name == \"web.marathon.l4lb.thisdcos.directory\" and
	.app == \"/prod/web\" and ([.backends[].backend] == [\"198.18.2.11:8080\", \"198.18.2.12:8080\", \"198.18.2.13:8080\"]) and
	([.backends[].state] | unique) == [\"active\"] and .table.readable == true and
	(has(\"vip_id\") | not)"
check "-j: draining backend, the VIP without a table, its policy flag" jq_ok "$TMP/d.json" "
	(.vips[] | select(.vip == \"$VIP11\") | [.backends[] | [.backend, .state, .weight]]) ==
		[[\"198.18.2.21:5353\", \"active\", 1], [\"198.18.2.22:5353\", \"draining\", 0]] and
	(.vips[] | select(.vip == \"$VIP12\") | .table == null and .flags == 1 and .backends == [])"
text_tables=$(awk '/^  table size/ { print $3 ":" $5 }' "$TMP/d.txt" | tr '\n' ' ')
json_tables=$(jq -r '[.vips[] | select(.table != null) | "\(.table.size):\(.table.hash)"] | join(" ")' "$TMP/d.json")
check "-j: table sizes and hashes equal the text's ($text_tables)" \
	[ "$text_tables" = "$json_tables " ]

dump "$TMP/raw.txt" --raw --slots
dump "$TMP/raw.json" --raw --slots -j
check "--raw --slots -j: ids and every slot, as in the text" eval \
	'[ $rc = 0 ] && jq_ok "$TMP/raw.json" ".vips[0] | (.vip_id > 0) and (.table.map_id > 0) and
		(.slots | length) == .table.size and (.backends[0].gen > 0)" &&
	 [ "$(jq -r ".vips[0].slots[]" "$TMP/raw.json" | sort | uniq -c | wc -l)" = 3 ] &&
	 [ "$(grep -c "^  slot " "$TMP/raw.txt")" = "$(jq "[.vips[].slots // [] | length] | add" "$TMP/raw.json")" ]'
dump "$TMP/p.json" --pretty
check "--pretty: indented, the same data as -j" eval \
	'[ $rc = 0 ] && [ "$(wc -l <"$TMP/p.json")" -gt 20 ] &&
	 [ "$(jq -S . "$TMP/p.json")" = "$(jq -S . "$TMP/d.json")" ]'

dump "$TMP/c.txt" --check --strict
check "--check --strict: consistent maps, exit 0" eval \
	'[ $rc = 0 ] && grep -q "^check $P: 3 VIPs, 5 backends, [0-9]* table slots: 0 errors, 0 leftovers, 0 unused tables$" "$TMP/c.txt"'
dump "$TMP/c.json" --check -j
check "--check -j: the same counts as JSON" jq_ok "$TMP/c.json" \
	'.vips == 3 and .backends == 5 and .errors == 0 and .leftovers == 0 and .unused_tables == 0 and
	 .consistent == true and .problems == [] and .table_slots > 0'

dump "$TMP/raw2.txt" --raw --slots
check "dumps write nothing: --raw --slots before and after are equal" \
	cmp -s "$TMP/raw.txt" "$TMP/raw2.txt"

# One VIP address no longer counted in xlb_vip_addrs: an error a packet could trip over.
bpftool map delete pinned "$P/xlb_vip_addrs" key hex c6 12 00 0a 00 00 00 00 00 00 00 00 00 00 00 00 02 00 00 00
dump "$TMP/e.txt" --check
check "--check on a broken map: exit 1, the error named" eval \
	'[ $rc = 1 ] && grep -qx "error: vip $VIP10: address counted 0 times in xlb_vip_addrs, 1 VIPs have it" "$TMP/e.txt"'
dump "$TMP/e.json" --check -j
check "--check -j on a broken map: exit 1, the error in problems" eval \
	'[ $rc = 1 ] && jq_ok "$TMP/e.json" ".errors == 1 and .consistent == false and
		.problems == [{\"kind\": \"error\", \"message\": \"vip $VIP10: address counted 0 times in xlb_vip_addrs, 1 VIPs have it\"}]"'

finish
