#!/usr/bin/env bash
# Who may call whom, as docs/architecture.md draws it, checked against every
# #include "..." of the tree: each part may include the headers of the parts
# its rule lists and no others, so a new dependency that breaks the layering
# (a tool reaching into the write side, the planner into the Marathon model,
# libxlb into the daemon) fails here and has to be argued for in that page.
# A check per source file; a file that belongs to no part fails too, so a new
# folder or library file is placed on the page before it lands. Then the page
# itself: it names every file of libxlb, the daemon and the tools, and every
# path it names exists.
set -u
cd "$(dirname "$0")/../.."
SUITE=layers
. tests/lib/test.sh

# Parts of libxlb, by file name (user/lib/NAME.c and NAME.h).
LIB_BASE="addr log names maglev"
LIB_MODEL="mara_labels mara_model mara_build mara_apps mara_tasks mara_pods mara_claims mara_builder
	mara_util"
LIB_HELPERS="sse mara_stream mara_events config"
LIB_PLAN="planner"
LIB_BRIDGE="planner_mara"
LIB_WRITE="dp dp_internal dp_clock dp_attach dp_write netdev_xdp"
LIB_READ="dp_read dp_read_internal"

hdrs() { # NAMES...: the header file names of libxlb parts
	local n
	for n in "$@"; do echo "$n.h"; done
}

# part_of FILE: the part a file belongs to, or nothing.
part_of() {
	local f=$1 b
	b=$(basename "$f")
	b=${b%.*}
	case $f in
	include/xlb/*) echo abi ;;
	bpf/*) echo bpf ;;
	user/lib/*)
		for p in BASE MODEL HELPERS PLAN BRIDGE WRITE READ; do
			local v="LIB_$p"
			for n in ${!v}; do
				[ "$n" = "$b" ] && { echo "lib_$p" | tr 'A-Z' 'a-z'; return; }
			done
		done ;;
	user/xlbd/*) echo daemon ;;
	tools/lbstat/* | tools/xlbdump/*) echo tool ;;
	tests/doubles/*) echo double ;;
	esac
}

# allowed PART: the project headers (by file name) a part may include; "*" is any.
allowed() {
	case $1 in
	abi) echo "" ;;
	bpf) echo "BPF" ;; # bpf/*.h and vmlinux.h, checked by folder below
	lib_base) hdrs $LIB_BASE ;;
	lib_model) hdrs $LIB_BASE $LIB_MODEL ;;
	lib_helpers) hdrs $LIB_BASE $LIB_HELPERS mara_labels planner ;;
	lib_plan) hdrs $LIB_BASE $LIB_PLAN dp dp_read ;;
	lib_bridge) hdrs $LIB_BASE $LIB_PLAN $LIB_BRIDGE mara_labels mara_model ;;
	lib_write) hdrs $LIB_BASE $LIB_WRITE $LIB_READ; echo xlb.skel.h ;;
	lib_read) hdrs $LIB_BASE $LIB_READ ;;
	daemon) echo "LIB DAEMON" ;;
	tool) echo "TOOL"; hdrs $LIB_BASE dp_read ;;
	double) echo "LIB DOUBLE"; echo cases.h pkt.h harness.h check.h ;;
	esac
}

files=$(git ls-files 'include/xlb/*.h' 'bpf/*.c' 'bpf/*.h' 'user/*.c' 'user/*.h' \
	'tools/*.c' 'tools/*.h' 'tests/doubles/*.c' 'tests/doubles/*.h')
[ -n "$files" ] || skip_suite env "not a git checkout: no file list"
for f in $files; do
	part=$(part_of "$f")
	if [ -z "$part" ]; then
		nok "$f: in a part of docs/architecture.md" "no rule places it: add it to this script and the page"
		continue
	fi
	allow=" $(allowed "$part" | tr '\n' ' ') "
	bad=
	for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
		name=$(basename "$inc")
		case $allow in *" $name "*) continue ;; esac
		case $part in
		bpf) [ -f "bpf/$name" ] || [ "$name" = vmlinux.h ] && continue ;;
		daemon) [ -f "user/lib/$name" ] || [ -f "user/xlbd/$name" ] && continue ;;
		tool) [ "$(dirname "$inc")" = . ] && [ -f "$(dirname "$f")/$name" ] && continue ;;
		double) { [ -f "user/lib/$name" ] || [ -f "$(dirname "$f")/$name" ]; } && continue ;;
		esac
		bad="$bad $inc"
	done
	if [ -z "$bad" ]; then
		ok "$f ($part) includes only what its part may"
	else
		nok "$f ($part) includes only what its part may" "not allowed:$bad"
	fi
done
# The page names every file of libxlb, the daemon and the shipped tools, and
# every source path it names exists: a file added, moved or removed is
# reflected there.
page=docs/architecture.md
for f in $(git ls-files 'user/lib/*.c' 'user/lib/*.h' 'user/xlbd/*.c' 'tools/*/*.c'); do
	b=$(basename "$f")
	case $b in *.h) [ -f "${f%.h}.c" ] && continue ;; esac # a .c's header goes with it
	check "$page names $f" grep -q "$b" "$page"
done
for p in $(grep -oE '`(user|tools|tests|bpf|include|bench|fuzz|docs)/[A-Za-z0-9_./-]*`' "$page" | tr -d '`' | sort -u); do
	check "$page: $p exists" test -e "$p"
done
finish
