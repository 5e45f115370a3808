#!/usr/bin/env python3
"""Kernel memory of xlb's maps under one pin path, as the kernel accounts it
(bpftool's bytes_memlock): every pinned map, plus the Maglev tables, which are
inner maps held by xlb_tables and pinned nowhere. Prints one JSON object:
total bytes, the part in Maglev tables, and each pinned map's share."""
import json
import os
import subprocess
import sys


def bpftool(*args):
    out = subprocess.run(["bpftool", "-j", *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout or "null")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: map_memory.py PIN_PATH")
    pin = sys.argv[1]
    maps = {}
    for name in sorted(os.listdir(pin)):
        info = bpftool("map", "show", "pinned", os.path.join(pin, name))
        maps[name] = info.get("bytes_memlock", 0)
    inner_ids = set()
    if "xlb_tables" in maps:
        for entry in bpftool("map", "dump", "pinned", os.path.join(pin, "xlb_tables")) or []:
            value = entry.get("value")
            if isinstance(value, list):  # raw bytes, host order (x86: little endian)
                inner_ids.add(int.from_bytes(bytes(int(b, 16) for b in value), "little"))
            elif isinstance(value, int):
                inner_ids.add(value)
    tables = 0
    if inner_ids:
        for m in bpftool("map", "show") or []:
            if m.get("id") in inner_ids:
                tables += m.get("bytes_memlock", 0)
    total = sum(maps.values()) + tables
    print(json.dumps({"map_memlock_bytes": total, "maglev_tables": len(inner_ids),
                      "maglev_tables_memlock_bytes": tables, "pinned_memlock_bytes": maps}))


if __name__ == "__main__":
    main()
