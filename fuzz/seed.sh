#!/usr/bin/env bash
# Rebuilds the committed seed corpora under fuzz/corpus/ from the project's
# fixtures: tests/fixtures/ and the upstream copies under fuzz/fixtures/ (taken
# from Marathon, marathon-lb and go-marathon; see fuzz/fixtures/SOURCES.md).
# Each seed carries the target's leading option byte. Crash reproducers live in
# fuzz/corpus/NAME/regress-* and are kept. Run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
C=fuzz/corpus
F=fuzz/fixtures

for t in labels model stream sse config; do
	mkdir -p "$C/$t"
	find "$C/$t" -type f ! -name 'regress-*' -delete
done

# One seed per file: option byte (printf escape) + the file.
seed() {
	local dir=$1 byte=$2 file=$3 name
	name=$(basename "$(dirname "$file")")-$(basename "$file")
	{ printf "$byte"; cat "$file"; } >"$C/$dir/$name"
}

apps=(tests/fixtures/marathon/{bad,bridge,container,haproxy,health,host,merge,weights}.json
	tests/fixtures/sim/*.json $F/marathon/*app*.json $F/marathon/group.json
	$F/marathon-lb/*.json $F/go-marathon/*.json)
pods=(tests/fixtures/marathon/pods.json $F/marathon/pod*.json)
for f in "${apps[@]}"; do
	seed model '\x08' "$f"      # apps, IPv4 node address
	seed stream '\x07' "$f"     # chunks of 8 bytes, pruned
done
for f in "${pods[@]}"; do
	seed model '\x09' "$f"      # pods, IPv4 node address
	seed stream '\x0f' "$f"
done
# Both documents at once: apps, NUL, pods.
{ printf '\x0a'; cat tests/fixtures/marathon/host.json; printf '\0'; cat tests/fixtures/marathon/pods.json; } \
	>"$C/model/both-host-pods.json"

# Every VIP label of the fixtures, as "KEY\nVALUE\nFRAMEWORK".
n=0
for f in "${apps[@]}" "${pods[@]}"; do
	jq -r '.. | objects | select(has("labels")) | .labels | objects | to_entries[]
		| select(.key | test("^(VIP|vip)")) | "\(.key)\t\(.value)"' "$f" 2>/dev/null || true
done | sort -u | while IFS=$'\t' read -r k v; do
	n=$((n + 1))
	printf '%s\n%s\nmarathon' "$k" "$v" >"$C/labels/label-$n"
done

# Event streams as Marathon's Jetty sends them (CRLF) and as documented (LF), chunk byte first.
seed sse '\x00' $F/marathon/events.txt
{ printf '\x02'; sed 's/$/\r/' $F/marathon/events.txt; } >"$C/sse/events-crlf.txt"
for f in tests/fixtures/marathon/{host,pods}.json; do
	{ printf '\x04event: status_update_event\r\ndata: '; jq -c '{eventType: "status_update_event", app: .}' "$f"; printf '\r\n\r\n'; } \
		>"$C/sse/event-$(basename "$f" .json)"
done

# Configuration documents.
for f in tests/fixtures/xlbd/*.json etc/xlbd.json docs/xlbd.example.json; do
	cp "$f" "$C/config/$(basename "$(dirname "$f")")-$(basename "$f")"
done
