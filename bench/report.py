#!/usr/bin/env python3
"""Turns benchmark results into tables.

  report.py assemble LINES OUT [key=value...]
      wraps the JSON lines every benchmark printed (LINES) into the one results
      file OUT, with the machine, the command and the settings of the run.
  report.py show RESULTS
      prints every table (Markdown) with each ratio beside its target.
  report.py update RESULTS BENCHMARKS.md [NAME...]
      rewrites the generated blocks of BENCHMARKS.md (between
      <!-- bench:NAME --> and <!-- /bench:NAME -->) from RESULTS, leaving the
      prose around them alone: BENCHMARKS.md is regenerated from the JSON.
      With NAMEs (e.g. eastwest), only those blocks: a run of one benchmark
      updates its own section and leaves the others' figures as they were.
  report.py merge RESULTS INTO BENCH...
      replaces the results of BENCH (and BENCH_settings) in the results file
      INTO (BENCHMARKS.json) with those of RESULTS, keeping everything else, so
      that INTO still rebuilds every table of BENCHMARKS.md.

The targets live here, next to the code that judges them; a missed target is
printed as missed, never hidden. Every figure of a repeated measurement is the
median of its trials with the min and max beside it.
"""
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys

# ---- assembling ---------------------------------------------------------------------------------


def machine():
    def first(path, key, sep=":"):
        try:
            for line in open(path):
                if line.startswith(key):
                    return line.split(sep, 1)[1].strip()
        except OSError:
            pass
        return None

    mem_kib = first("/proc/meminfo", "MemTotal") or "0 kB"
    virt = []  # what systemd-detect-virt says, VM and container separately
    for kind in ("--vm", "--container"):
        try:
            v = subprocess.run(["systemd-detect-virt", kind], capture_output=True,
                               text=True).stdout.strip()
        except OSError:
            v = ""
        if v and v != "none":
            virt.append(f"{kind[2:]} {v}")
    return {
        "cpus": os.cpu_count(),
        "cpu_model": first("/proc/cpuinfo", "model name"),
        "mem_gib": round(int(mem_kib.split()[0]) / 2**20, 1),
        "kernel": platform.release(),
        "os": (first("/etc/os-release", "PRETTY_NAME=", "=") or "").strip('"') or None,
        "virt": ", ".join(virt) or None,
    }


def load_lines(path):
    out = []
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as e:
                print(f"report: {path}: skipped a bad line: {e}", file=sys.stderr)
    return out


def assemble(lines, out, kv):
    try:
        git = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                             text=True).stdout.strip() or None
    except OSError:
        git = None
    doc = {
        "format": "xlb-bench/1",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git": git,
        "machine": machine(),
        "settings": {},
        "results": load_lines(lines),
    }
    for item in kv:
        k, _, v = item.partition("=")
        doc["settings"][k] = v
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


def load(path):
    text = open(path).read()
    try:
        doc = json.loads(text)
        if isinstance(doc, dict) and "results" in doc:
            return doc
    except json.JSONDecodeError:
        pass
    return {"results": load_lines(path), "settings": {}, "machine": {}}  # plain JSON lines


# ---- formatting ---------------------------------------------------------------------------------


def num(v, digits=None):
    if v is None:
        return "–"
    if digits is None:
        digits = 0 if abs(v) >= 100 else 1 if abs(v) >= 10 else 2 if abs(v) >= 1 else 3
    return f"{v:,.{digits}f}"


def stat(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return statistics.median(values), min(values), max(values)


def cell(s, digits=None):
    """median (min–max)"""
    if s is None:
        return "–"
    med, lo, hi = s
    return f"{num(med, digits)} ({num(lo, digits)}–{num(hi, digits)})"


def table(head, rows, align=None):
    align = align or ["l"] + ["r"] * (len(head) - 1)
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join(":--" if a == "l" else "--:" for a in align) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


class Target:
    """One judged figure: a value against a bound."""

    def __init__(self, what, value, op, bound, unit="", fmt=None, note=""):
        self.what, self.value, self.op, self.bound = what, value, op, bound
        self.unit, self.fmt, self.note = unit, fmt or (lambda v: num(v)), note

    def met(self):
        if self.value is None or self.bound is None:
            return None
        return self.value >= self.bound if self.op == ">=" else self.value <= self.bound

    def row(self):
        m = self.met()
        if self.bound is None:
            verdict, bound = "no target", "–"
        else:
            verdict = "not run" if m is None else "met" if m else "**missed**"
            bound = f"{'≥' if self.op == '>=' else '≤'} {self.fmt(self.bound)}{self.unit}"
        value = "–" if self.value is None else self.fmt(self.value) + self.unit
        return [self.what, value, bound, verdict, self.note]


def target_table(targets):
    return table(["figure", "value", "target", "", "note"], [t.row() for t in targets],
                 ["l", "r", "r", "l", "l"])


# ---- sections -----------------------------------------------------------------------------------


def by_bench(results, name):
    return [r for r in results if r.get("bench") == name]


# Katran measured with the method of issue 2 (one CPU, wrapper, × floor); no full-table figure.
KATRAN = {"tcp_established_1flow": 5.8, "non_vip": 3.2}
DP_TARGETS = {"tcp_established_1flow": 4.5, "tcp_new_flow_full": 10, "non_vip": 1.6}
DP_NAMES = {
    "floor": "floor (wrapper + XDP_TX)",
    "tcp_established_1flow": "established TCP, one flow",
    "tcp_established_1m": "established TCP (ACK), 1M flows",
    "tcp_syn_1flow": "SYN on one flow, again and again (recorded tuple)",
    "tcp_new_flow_full": "new TCP flow into a full table (every packet a new flow)",
    "tcp_new_flow_stateless": "new TCP flow over the flood budget (forwarded statelessly)",
    "tcp_new_flow_full_shared": "new TCP flow into a full table, shared LRU",
    "udp_1flow": "UDP, one flow",
    "udp_1m": "UDP, 1M flows",
    "reply_1flow": "reply translation, one flow",
    "reply_1m": "reply translation, 1M flows",
    "non_vip": "non-VIP TCP packet",
    "floor_2cpu": "floor, two CPUs at once",
    "tcp_new_flow_full_2cpu_percpu": "new flows into a full table, per-CPU LRU",
    "tcp_new_flow_full_2cpu_shared": "new flows into a full table, shared LRU",
}
# Issue 14's goals, in ns above the floor (the floor differs several-fold between machines).
DP_GOALS = [("tcp_new_flow_full", 5, "new flow into a full table / established one flow"),
            ("tcp_established_1m", 3, "ACK across 1M flows / established one flow")]
# The data plane before issue 14, measured on this machine kind by this benchmark
# (bench/dp/before.json). It had one LRU kind, shared, and no stateless forwarding.
DP_BEFORE_ALIAS = {"tcp_new_flow_full": "tcp_new_flow_full_shared",
                   "tcp_new_flow_full_2cpu_percpu": "tcp_new_flow_full_2cpu_shared"}
DP_BEFORE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dp", "before.json")


def dp_before():
    try:
        doc = load(DP_BEFORE)
    except OSError:
        return {}, None
    return {r["case"]: r for r in by_bench(doc["results"], "dp")}, doc


def above(r):
    if r is None:
        return None
    if "above_floor_ns" in r:
        return r["above_floor_ns"]
    return r["ns_per_pkt"] - r["floor_ns"] if "floor_ns" in r else None


def sec_dp(doc, targets):
    res = {r.get("case"): r for r in by_bench(doc["results"], "dp")}
    if not res:
        return "_not run_"
    before, bdoc = dp_before()
    rows, rows2, slower = [], [], []

    def was(c):
        return before.get(c) or before.get(DP_BEFORE_ALIAS.get(c, ""))

    for c, r in res.items():
        b = was(c)
        ab, bb = above(r), above(b)
        vs = num(ab / bb, 2) + "×" if ab is not None and bb and c not in ("floor", "floor_2cpu") \
            else ""
        if vs and c != "floor_2cpu":
            slower.append((ab / bb, c))
        if r.get("cpus") == 2:
            nc = r.get("ns_cpu") or []
            rows2.append([DP_NAMES.get(c, c), " / ".join(num(v, 0) for v in nc),
                          num(ab, 0) if c != "floor_2cpu" else "",
                          num(r.get("pps_total", 0) / 1e6, 2), num(b and b.get("ns_per_pkt"), 0),
                          num(b and b.get("pps_total", 0) / 1e6, 2) if b else "–"])
            continue
        ratio = r.get("ratio", 1.0 if c == "floor" else None)
        rows.append([DP_NAMES.get(c, c), num(r.get("ns_per_pkt"), 0),
                     num(ab, 0) if c != "floor" else "", num(r.get("min"), 0),
                     num(r.get("max"), 0), num(ratio, 1),
                     num(bb, 0) if b and c != "floor" else (num(b["ns_per_pkt"], 0) if b else "–"),
                     vs, f"≤ {DP_TARGETS[c]}" if c in DP_TARGETS else "", KATRAN.get(c, "")])
        if c in DP_TARGETS:
            targets.append(Target(f"data plane: {DP_NAMES[c]} (× floor)", ratio, "<=",
                                  DP_TARGETS[c], fmt=lambda v: num(v, 1)))
    out = [table(["case", "ns/pkt", "above floor", "min", "max", "× floor",
                  "before, above floor", "now / before", "target (× floor)",
                  "Katran, same method (× floor)"], rows)]
    if rows2:
        out.append("\nTwo CPUs at once, each on its own flows (ns/packet on each CPU; the floor "
                   "measured the same way):\n")
        out.append(table(["two CPUs at once", "ns/pkt, CPU 0 / CPU 1", "above floor",
                          "both CPUs, Mpps", "before: ns/pkt", "before: Mpps"], rows2))
    goals = []
    est = above(res.get("tcp_established_1flow"))
    for c, bound, what in DP_GOALS:
        v = above(res.get(c) or res.get(DP_BEFORE_ALIAS.get(c, "")))
        goals.append(Target(f"data plane: {what} (ns above floor)",
                            v / est if v is not None and est else None, "<=", bound, "×",
                            lambda v: num(v, 1)))
    if slower:
        worst, wc = max(slower)
        goals.append(Target("data plane: slowest case against the data plane before issue 14 "
                            "(ns above floor)", worst, "<=", 1.0, "×", lambda v: num(v, 2),
                            f"{DP_NAMES.get(wc, wc)}; before: {DP_BEFORE_NAME(bdoc)}"))
    targets += goals
    out.append("\nIssue 14's goals, from the figures above:\n")
    out.append(target_table(goals))
    return "\n".join(out)


def DP_BEFORE_NAME(bdoc):  # noqa: N802
    if not bdoc:
        return "–"
    return f"{bdoc.get('git') or '?'}, run of {(bdoc.get('date') or '?')[:10]}"


def sec_maglev(doc, targets):
    rows = []
    for r in by_bench(doc["results"], "maglev"):
        c = r.get("case", "")
        what = "weights 1–4" if c.endswith("weighted") else "equal weights"
        tgt = "< 2 ms" if c == "maglev_build_1000" else ""
        rows.append([what, r.get("m"), r.get("backends"), num(r.get("ms_median"), 2),
                     num(r.get("ms_min"), 2), num(r.get("ms_max"), 2), tgt])
        if c == "maglev_build_1000":
            targets.append(Target("Maglev build, M = 65537, 1,000 backends", r.get("ms_median"),
                                  "<=", 2, " ms", fmt=lambda v: num(v, 2)))
    if not rows:
        return "_not run_"
    return table(["case", "M", "backends", "median ms", "min", "max", "target"], rows)


SETUPS = [
    ("router", "plain router, client → backend 1 directly (the ceiling)"),
    ("router_default_offload", "plain router, default veth offloads (TX csum, TSO, GSO on)"),
    ("xlb_xdp", "xlb, native XDP, NAT to 3 backends"),
    ("xlb_tc", "xlb, TC ingress, NAT to 3 backends"),
    ("xlb_fnat", "xlb, native XDP, full-NAT to 3 backends (they see the LB's address)"),
    ("haproxy", "HAProxy, mode tcp, balance roundrobin"),
    ("nft_dnat", "nftables DNAT, numgen random mod 3"),
]
LOADS = [("short", "short connections"), ("keepalive", "keep-alive"), ("bulk", "1 MiB")]


def e2e_trials(doc, setup, load):
    return [r for r in by_bench(doc["results"], "e2e")
            if r.get("setup") == setup and r.get("load") == load and "rps" in r]


def e2e_stat(doc, setup, load, f):
    return stat([f(r) for r in e2e_trials(doc, setup, load)])


def per100k(key):
    """a per-trial figure per 100k requests"""
    def f(r):
        return r[key] / r["requests"] * 1e5 if r.get(key) is not None and r["requests"] else None
    return f


def sec_e2e(doc, targets):
    res = doc["results"]
    if not by_bench(res, "e2e"):
        return "_not run_"
    errs = [r for r in by_bench(res, "e2e") if "error" in r]
    present = [(s, d) for s, d in SETUPS
               if any(r.get("setup") == s for r in by_bench(res, "e2e"))]
    out = []
    rows = []
    for s, d in present:
        rows.append([f"`{s}`: {d}",
                     cell(e2e_stat(doc, s, "short", lambda r: r["rps"]), 0),
                     cell(e2e_stat(doc, s, "keepalive", lambda r: r["rps"]), 0),
                     cell(e2e_stat(doc, s, "bulk", lambda r: r["mbytes_per_s"]), 0),
                     sum(r.get("errors", 0) for r in by_bench(res, "e2e") if r.get("setup") == s)])
    out.append("Throughput, median (min–max) of the trials:\n")
    out.append(table(["setup", "short req/s", "keep-alive req/s", "1 MiB MB/s", "errors"], rows))

    rows = []
    for s, d in present:
        row = [f"`{s}`"]
        for load in ("short", "keepalive", "bulk"):
            for p in ("lat_p50_us", "lat_p99_us"):
                ms = lambda r, p=p: r.get(p, 0) / 1e3 if r["requests"] else None  # noqa: E731
                row.append(cell(e2e_stat(doc, s, load, ms), 2))
        rows.append(row)
    out.append("\nLatency in ms (wrk, from the client host), median (min–max):\n")
    out.append(table(["setup", "short p50", "short p99", "keep-alive p50", "keep-alive p99",
                      "1 MiB p50", "1 MiB p99"], rows))

    rows = []
    kinds = {"bpf_run_time": "BPF program run time (bpf_stats)",
             "process_cpu": "haproxy utime+stime"}
    for s, d in present:
        for load, ldesc in LOADS:
            tr = e2e_trials(doc, s, load)
            if not tr:
                continue
            kind = next((r.get("lb_cpu_kind") for r in tr if r.get("lb_cpu_kind")), None)
            lb = e2e_stat(doc, s, load, per100k("lb_cpu_s"))
            rows.append([f"`{s}`", ldesc,
                         cell(e2e_stat(doc, s, load, per100k("cpu_busy_s")), 2),
                         cell(e2e_stat(doc, s, load, per100k("cpu_softirq_s")), 2),
                         cell(lb, 3) if lb else "n/a",
                         cell(tuple(v * 10 for v in lb), 2) if lb else "n/a",
                         kinds.get(kind, "softirq only, system-wide: see the softirq column")])
    out.append("\nCPU seconds per 100k requests. Whole VM: busy and softirq time from /proc/stat "
               "over the run (client, backends and balancer share the CPUs). Balancer: the "
               "balancer's own CPU time only.\n")
    out.append(table(["setup", "load", "whole VM s", "of which softirq s", "balancer s",
                      "balancer µs/request", "balancer CPU measured as"], rows,
                     ["l", "l", "r", "r", "r", "r", "l"]))
    if errs:
        out.append("\nSetups that did not run: " +
                   ", ".join(f"`{r['setup']}` ({r['error']})" for r in errs))

    def med(s, load, f=lambda r: r["rps"]):
        st = e2e_stat(doc, s, load, f)
        return st[0] if st else None

    def ratio(a, b):
        return a / b if a is not None and b else None

    mbps = lambda r: r["mbytes_per_s"]  # noqa: E731
    lbreq = per100k("lb_cpu_s")
    f2 = lambda v: num(v, 2)  # noqa: E731
    if e2e_trials(doc, "xlb_fnat", "short"):
        # Issue 15: full-NAT against marathon-lb's way (HAProxy), on the same LB host.
        targets += [
            Target("xlb full-NAT (XDP) / HAProxy, short req/s",
                   ratio(med("xlb_fnat", "short"), med("haproxy", "short")), ">=", 1.25, "×", f2),
            Target("xlb full-NAT (XDP) / HAProxy, keep-alive req/s",
                   ratio(med("xlb_fnat", "keepalive"), med("haproxy", "keepalive")), ">=", None,
                   "×", f2),
            Target("xlb full-NAT (XDP) / HAProxy, 1 MiB MB/s",
                   ratio(med("xlb_fnat", "bulk", mbps), med("haproxy", "bulk", mbps)), ">=", None,
                   "×", f2),
            Target("xlb full-NAT (XDP) balancer CPU per request / HAProxy's, short",
                   ratio(med("xlb_fnat", "short", lbreq), med("haproxy", "short", lbreq)), "<=",
                   None, "×", lambda v: num(v, 3)),
        ]
    for x, xd in (("xlb_xdp", "xlb XDP"), ("xlb_tc", "xlb TC")):
        if not e2e_trials(doc, x, "short"):
            continue
        f2 = lambda v: num(v, 2)  # noqa: E731
        targets += [
            Target(f"{xd} / plain router, short req/s",
                   ratio(med(x, "short"), med("router", "short")), ">=", 0.97, "×", f2),
            Target(f"{xd} / plain router, keep-alive req/s",
                   ratio(med(x, "keepalive"), med("router", "keepalive")), ">=", 0.97, "×", f2),
            Target(f"{xd} / plain router, 1 MiB MB/s (same offloads: TX csum off)",
                   ratio(med(x, "bulk", mbps), med("router", "bulk", mbps)), ">=", None, "×", f2,
                   "the target is for requests/s"),
            Target(f"{xd} / plain router with default offloads, 1 MiB MB/s",
                   ratio(med(x, "bulk", mbps), med("router_default_offload", "bulk", mbps)), ">=",
                   None, "×", f2, "what the lab's offload settings cost bulk transfers"),
            Target(f"{xd} / HAProxy, short req/s", ratio(med(x, "short"), med("haproxy", "short")),
                   ">=", 1.25, "×", f2),
            Target(f"{xd} / HAProxy, keep-alive req/s",
                   ratio(med(x, "keepalive"), med("haproxy", "keepalive")), ">=", 1.5, "×", f2),
            Target(f"{xd} / nftables DNAT, short req/s",
                   ratio(med(x, "short"), med("nft_dnat", "short")), ">=", 1.0, "×", f2),
            Target(f"{xd} / nftables DNAT, keep-alive req/s",
                   ratio(med(x, "keepalive"), med("nft_dnat", "keepalive")), ">=", 1.0, "×", f2),
            Target(f"{xd} / nftables DNAT, 1 MiB MB/s",
                   ratio(med(x, "bulk", mbps), med("nft_dnat", "bulk", mbps)), ">=", 1.0, "×", f2),
            Target(f"{xd} balancer CPU per request / HAProxy's, short",
                   ratio(med(x, "short", lbreq), med("haproxy", "short", lbreq)), "<=", 0.1, "×",
                   lambda v: num(v, 3)),
            Target(f"{xd} balancer CPU per request / HAProxy's, keep-alive",
                   ratio(med(x, "keepalive", lbreq), med("haproxy", "keepalive", lbreq)), "<=",
                   0.1, "×", lambda v: num(v, 3)),
        ]
    return "\n".join(out)


EW_SETUPS = [
    ("direct", "no xlb: agent 1 → agent 2's backend directly (the ceiling)"),
    ("sock_lb", "socket balancing: the VIP, 2 backends (agents 2 and 3)"),
    ("sock_lb_one", "socket balancing: the VIP, 1 backend (direct's)"),
    ("pkt_tc", "per-packet NAT: TC egress + TC ingress on agent 1's eth0"),
    ("pkt_xdp", "per-packet NAT: TC egress + native XDP on agent 1's eth0"),
]
EW_LOADS = [("short", "short connections"), ("keepalive", "keep-alive")]


def ew_trials(doc, setup, load):
    return [r for r in by_bench(doc["results"], "eastwest")
            if r.get("setup") == setup and r.get("load") == load and "rps" in r]


def ew_stat(doc, setup, load, f):
    return stat([f(r) for r in ew_trials(doc, setup, load)])


def per_req_us(key):
    """a per-trial CPU figure in µs per request"""
    def f(r):
        return r[key] / r["requests"] * 1e6 if r.get(key) is not None and r["requests"] else None
    return f


def ew_targets(doc):
    """The east-west goals: socket balancing against direct, and the rest for reference."""
    def med(s, load, f=lambda r: r["rps"]):
        st = ew_stat(doc, s, load, f)
        return st[0] if st else None

    def ratio(a, b):
        return a / b if a is not None and b else None

    f2 = lambda v: num(v, 2)  # noqa: E731
    cpu = per_req_us("cpu_busy_s")
    out = []
    for load, ldesc in EW_LOADS:
        out.append(Target(f"east-west: socket balancing / direct, {ldesc} req/s",
                          ratio(med("sock_lb", load), med("direct", load)), ">=", 0.98, "×", f2))
    for load, ldesc in EW_LOADS:
        out.append(Target(f"east-west: socket balancing, one backend / direct, {ldesc} req/s",
                          ratio(med("sock_lb_one", load), med("direct", load)), ">=", None, "×",
                          f2, "same backend as direct: the translation alone"))
    for s, sd in (("pkt_tc", "per-packet NAT (TC)"), ("pkt_xdp", "per-packet NAT (XDP)")):
        for load, ldesc in EW_LOADS:
            out.append(Target(f"east-west: {sd} / direct, {ldesc} req/s",
                              ratio(med(s, load), med("direct", load)), ">=", None, "×", f2))
    for load, ldesc in EW_LOADS:
        out.append(Target(f"east-west: whole-machine CPU per request, socket balancing / direct, "
                          f"{ldesc}", ratio(med("sock_lb", load, cpu), med("direct", load, cpu)),
                          "<=", None, "×", f2))
    return out


def sec_eastwest(doc, targets):
    res = by_bench(doc["results"], "eastwest")
    if not res:
        return "_not run_"
    e = next((r for r in doc["results"] if r.get("bench") == "eastwest_settings"), {})
    present = [(s, d) for s, d in EW_SETUPS if any(r.get("setup") == s for r in res)]
    out = []
    if e:
        cmd = e.get("command") or doc.get("settings", {}).get("command", "?")
        out.append(f"Run: {e.get('date', '?')}, `{cmd}` "
                   f"at {e.get('git') or '?'}{' (QUICK)' if e.get('quick') else ''}; "
                   f"{e.get('trials')} rounds, each setup once per round, {e.get('duration_s')} s "
                   f"per load; wrk {e.get('wrk')} as a {e.get('client')}, 2 threads with "
                   f"{e.get('conns_short')} connections (short: `Connection: close`) or "
                   f"{e.get('conns_keepalive')} (keep-alive); nginx {e.get('nginx')} (2 workers) "
                   f"on {', '.join(e.get('backends', []))}; VIP {e.get('vip')}.\n")
    rows = []
    for s, d in present:
        rows.append([f"`{s}`: {d}",
                     cell(ew_stat(doc, s, "short", lambda r: r["rps"]), 0),
                     cell(ew_stat(doc, s, "keepalive", lambda r: r["rps"]), 0),
                     sum(r.get("errors", 0) for r in res if r.get("setup") == s)])
    out.append("Requests/s, median (min–max) of the rounds:\n")
    out.append(table(["setup", "short req/s", "keep-alive req/s", "errors"], rows))

    rows = []
    for s, d in present:
        row = [f"`{s}`"]
        for load, _ in EW_LOADS:
            for p in ("lat_p50_us", "lat_p99_us"):
                ms = lambda r, p=p: r.get(p, 0) / 1e3 if r["requests"] else None  # noqa: E731
                row.append(cell(ew_stat(doc, s, load, ms), 2))
        rows.append(row)
    out.append("\nLatency in ms (wrk), median (min–max):\n")
    out.append(table(["setup", "short p50", "short p99", "keep-alive p50", "keep-alive p99"],
                     rows))

    rows = []
    for s, d in present:
        for load, ldesc in EW_LOADS:
            if not ew_trials(doc, s, load):
                continue
            lb = ew_stat(doc, s, load, per_req_us("lb_cpu_s"))
            rows.append([f"`{s}`", ldesc, cell(ew_stat(doc, s, load, per_req_us("cpu_busy_s")), 1),
                         cell(ew_stat(doc, s, load, per_req_us("cpu_softirq_s")), 1),
                         cell(lb, 2) if lb else "–"])
    out.append("\nCPU µs per request. Whole machine: busy and softirq time from /proc/stat over "
               "the run (client, backends, and anything else on the machine). xlb: the run "
               "time of its BPF programs (bpf_stats).\n")
    out.append(table(["setup", "load", "whole machine µs", "of which softirq µs",
                      "xlb programs µs"], rows, ["l", "l", "r", "r", "r"]))
    errs = [r for r in res if "error" in r and "rps" not in r]
    if errs:
        out.append("\nSetups left out: " +
                   ", ".join(f"`{r['setup']}` ({r['error']})" for r in errs))
    t = ew_targets(doc)
    when = e.get("date", "?")[:10]
    targets += [Target(x.what, x.value, x.op, x.bound, x.unit, x.fmt,
                       f"east-west run of {when} (its section)") for x in t if x.bound is not None]
    out.append("\nRatios of the medians (the goal: socket balancing ≥ 0.98× direct):\n")
    out.append(target_table([x for x in t if x.value is not None or x.bound is not None]))
    return "\n".join(out)


NS_SETUPS = [
    ("haproxy", "HAProxy, mode tcp, roundrobin, on the public agent (marathon-lb's way)"),
    ("xlb_fnat", "xlb, native XDP on the public agent, full-NAT"),
    ("xlb_dsr", "xlb, native XDP on the public agent, DSR (xlb on the backends' agents)"),
]
NS_LOADS = [("short", "short connections"), ("keepalive", "keep-alive"), ("bulk", "1 MiB")]


def ns_trials(doc, setup, load):
    return [r for r in by_bench(doc["results"], "northsouth")
            if r.get("setup") == setup and r.get("load") == load and "rps" in r]


def ns_stat(doc, setup, load, f):
    return stat([f(r) for r in ns_trials(doc, setup, load)])


def ns_targets(doc):
    """Issue 15's goals: DSR and full-NAT against HAProxy on the same public agent."""
    def med(s, load, f=lambda r: r["rps"]):
        st = ns_stat(doc, s, load, f)
        return st[0] if st else None

    def ratio(a, b):
        return a / b if a is not None and b else None

    f2 = lambda v: num(v, 2)  # noqa: E731
    f3 = lambda v: num(v, 3)  # noqa: E731
    mbps = lambda r: r["mbytes_per_s"]  # noqa: E731
    lb = per_req_us("lb_cpu_s")
    out = []
    for s, sd, goal in (("xlb_dsr", "DSR", 1.5), ("xlb_fnat", "full-NAT", 1.25)):
        out += [
            Target(f"north-south: xlb {sd} / HAProxy, short req/s",
                   ratio(med(s, "short"), med("haproxy", "short")), ">=", goal, "×", f2),
            Target(f"north-south: xlb {sd} / HAProxy, keep-alive req/s",
                   ratio(med(s, "keepalive"), med("haproxy", "keepalive")), ">=", None, "×", f2),
            Target(f"north-south: xlb {sd} / HAProxy, 1 MiB MB/s",
                   ratio(med(s, "bulk", mbps), med("haproxy", "bulk", mbps)), ">=", None, "×",
                   f2),
            Target(f"north-south: xlb {sd} balancer CPU per request / HAProxy's, short",
                   ratio(med(s, "short", lb), med("haproxy", "short", lb)), "<=",
                   0.05 if s == "xlb_dsr" else None, "×", f3),
        ]
    return out


def sec_northsouth(doc, targets):
    res = by_bench(doc["results"], "northsouth")
    if not res:
        return "_not run_"
    e = next((r for r in doc["results"] if r.get("bench") == "northsouth_settings"), {})
    present = [(s, d) for s, d in NS_SETUPS if any(r.get("setup") == s for r in res)]
    out = []
    if e:
        cmd = e.get("command") or doc.get("settings", {}).get("command", "?")
        out.append(f"Run: {e.get('date', '?')}, `{cmd}` "
                   f"at {e.get('git') or '?'}{' (QUICK)' if e.get('quick') else ''}; "
                   f"{e.get('trials')} rounds, each setup once per round, {e.get('duration_s')} s "
                   f"per load; wrk {e.get('wrk')} on the outside client, 2 threads with "
                   f"{e.get('conns_short')} connections (short: `Connection: close`, a 10-byte "
                   f"page) or {e.get('conns_keepalive')} (keep-alive), 1 thread with "
                   f"{e.get('conns_bulk')} (keep-alive, a 1 MiB file); nginx {e.get('nginx')} "
                   f"(2 workers) as host tasks of the 3 private agents; HAProxy "
                   f"{e.get('haproxy')}; VIP {e.get('vip')}, routed by the ToR to the public "
                   f"agent.\n")
    rows = []
    for s, d in present:
        rows.append([f"`{s}`: {d}",
                     cell(ns_stat(doc, s, "short", lambda r: r["rps"]), 0),
                     cell(ns_stat(doc, s, "keepalive", lambda r: r["rps"]), 0),
                     cell(ns_stat(doc, s, "bulk", lambda r: r["mbytes_per_s"]), 0),
                     sum(r.get("errors", 0) for r in res if r.get("setup") == s)])
    out.append("Throughput, median (min–max) of the rounds:\n")
    out.append(table(["setup", "short req/s", "keep-alive req/s", "1 MiB MB/s", "errors"], rows))
    rows = []
    for s, d in present:
        row = [f"`{s}`"]
        for load, _ in NS_LOADS:
            for p in ("lat_p50_us", "lat_p99_us"):
                ms = lambda r, p=p: r.get(p, 0) / 1e3 if r["requests"] else None  # noqa: E731
                row.append(cell(ns_stat(doc, s, load, ms), 2))
        rows.append(row)
    out.append("\nLatency in ms (wrk, from the outside client), median (min–max):\n")
    out.append(table(["setup", "short p50", "short p99", "keep-alive p50", "keep-alive p99",
                      "1 MiB p50", "1 MiB p99"], rows))
    rows = []
    kinds = {"bpf_run_time": "BPF program run time (bpf_stats)",
             "process_cpu": "haproxy utime+stime"}
    for s, d in present:
        for load, ldesc in NS_LOADS:
            tr = ns_trials(doc, s, load)
            if not tr:
                continue
            kind = next((r.get("lb_cpu_kind") for r in tr if r.get("lb_cpu_kind")), None)
            lb = ns_stat(doc, s, load, per_req_us("lb_cpu_s"))
            ag = ns_stat(doc, s, load, per_req_us("agent_cpu_s"))
            rows.append([f"`{s}`", ldesc, cell(ns_stat(doc, s, load, per_req_us("cpu_busy_s")), 1),
                         cell(lb, 2) if lb else "–", cell(ag, 2) if ag else "–",
                         kinds.get(kind, "–")])
    out.append("\nCPU µs per request. Whole machine: busy time from /proc/stat over the run "
               "(client, balancer, agents and backends share the CPUs). Balancer: the public "
               "agent's own CPU only. Agents: xlb's programs on the backends' agents (DSR "
               "only).\n")
    out.append(table(["setup", "load", "whole machine µs", "balancer µs", "agents' xlb µs",
                      "balancer CPU measured as"], rows, ["l", "l", "r", "r", "r", "l"]))
    errs = [r for r in res if "error" in r and "rps" not in r]
    if errs:
        out.append("\nSetups left out: " +
                   ", ".join(f"`{r['setup']}` ({r['error']})" for r in errs))
    t = ns_targets(doc)
    when = e.get("date", "?")[:10]
    targets += [Target(x.what, x.value, x.op, x.bound, x.unit, x.fmt,
                       f"north-south run of {when} (its section)") for x in t
                if x.bound is not None]
    out.append("\nRatios of the medians (the goals: DSR ≥ 1.5× HAProxy's short requests/s at "
               "≤ 1/20 of its CPU per request; full-NAT ≥ 1.25×):\n")
    out.append(target_table([x for x in t if x.value is not None or x.bound is not None]))
    return "\n".join(out)


def sec_xlbd(doc, targets):
    res = doc["results"]
    out = []
    rows = []
    for r in res:
        b = r.get("bench", "")
        if b.startswith("xlbd_flips_"):
            scen = b[len("xlbd_flips_"):]
            what = ("/minitwit (3 tasks)" if scen == "minitwit"
                    else scen.replace("x", " apps × ") + " tasks")
            rows.append([what, r.get("flips"), num(r.get("p50_ms"), 1), num(r.get("p90_ms"), 1),
                         num(r.get("p99_ms"), 1), num(r.get("max_ms"), 1), r.get("timeouts"),
                         "p99 ≤ 50 ms" if scen == "minitwit" else ""])
            if scen == "minitwit":
                targets.append(Target(f"event-to-map p99, {r.get('flips')} health flips of /minitwit",
                                      r.get("p99_ms"), "<=", 50, " ms", lambda v: num(v, 1)))
    if rows:
        out.append("Event-to-map latency: a health flip posted to the Marathon stand-in until "
                   "the backend's state changes in the pinned map (ms):\n")
        out.append(table(["scenario", "flips", "p50", "p90", "p99", "max", "timeouts", "target"],
                         rows, ["l"] + ["r"] * 6 + ["l"]))
    rows = []
    for r in res:
        b = r.get("bench", "")
        if not b.startswith("xlbd_full_sync_"):
            continue
        rnd = b[len("xlbd_full_sync_"):]
        mem = r.get("map_memlock_bytes")
        rows.append([f"{r.get('apps'):,} × {r.get('tasks')}",
                     "empty maps" if rnd == "empty" else "restart (adopt, nothing to write)",
                     num(r.get("wall_ms") / 1e3, 2), num(r.get("startup_ms"), 0),
                     num(r.get("fetch_parse_ms"), 0), num(r.get("model_ms"), 0),
                     num(r.get("apply_ms"), 0), r.get("peak_rss_mib"),
                     num(mem / 2**20, 1) if mem else "–",
                     num(r.get("maglev_tables_memlock_bytes", 0) / 2**20, 1) if mem else "–"])
        if r.get("apps") == 10000 and rnd == "empty":
            targets.append(Target("full sync, 10,000 apps × 10 tasks, wall (BPF load included)",
                                  r.get("wall_ms") / 1e3, "<=", 2, " s", lambda v: num(v, 2)))
            targets.append(Target("full sync, 10,000 apps × 10 tasks, peak RSS",
                                  r.get("peak_rss_mib") * 2**20 / 1e6, "<=", 200, " MB",
                                  lambda v: num(v, 0)))
            if mem:
                targets.append(Target("kernel map memory, 10,000 VIPs × 10 backends", mem / 1e6,
                                      "<=", 256, " MB", lambda v: num(v, 0),
                                      "maps at their default sizes, 2 CPUs for per-CPU maps"))
    if rows:
        out.append("\nFull sync with `xlbd --once` against the Marathon stand-in (one VIP per "
                   "app); peak RSS of xlbd; kernel memory of all xlb maps (bpftool's memlock, "
                   "Maglev tables included):\n")
        out.append(table(["apps × tasks", "into", "wall s", "start-up ms", "fetch+parse ms",
                          "model ms", "map writes ms", "peak RSS MiB", "map memory MiB",
                          "of which Maglev MiB"], rows))
    if not any(r.get("apps") == 10000 for r in res if r.get("bench", "").startswith("xlbd_full")):
        for what, unit in (("full sync, 10,000 apps × 10 tasks, wall (BPF load included)", " s"),
                           ("full sync, 10,000 apps × 10 tasks, peak RSS", " MB"),
                           ("kernel map memory, 10,000 VIPs × 10 backends", " MB")):
            bound = {" s": 2, " MB": 200}[unit] if "memory" not in what else 256
            targets.append(Target(what, None, "<=", bound, unit, note="not run (QUICK=1)"))
    return "\n".join(out) if out else "_not run_"


def sec_run(doc):
    m = doc.get("machine", {})
    st = doc.get("settings", {})
    parts = [f"{m.get('cpus')} vCPUs" if m.get("cpus") else None, m.get("cpu_model"),
             f"{m.get('mem_gib')} GiB" if m.get("mem_gib") else None,
             f"kernel {m.get('kernel')}" if m.get("kernel") else None, m.get("os"),
             f"systemd-detect-virt: {m.get('virt')}" if m.get("virt") else None]
    lines = [f"Run: {doc.get('date', '?')}, `{st.get('command', 'make bench')}` at "
             f"{doc.get('git') or '?'}.",
             "Machine: " + ", ".join(p for p in parts if p) + "."]
    if st.get("wall_s"):
        parts = [f"{k[len('seconds_'):]} {v} s" for k, v in st.items() if k.startswith("seconds_")]
        lines[0] = (lines[0][:-1] + f", {int(st['wall_s']) // 60} min {int(st['wall_s']) % 60} s"
                    + (f" ({', '.join(parts)})." if parts else "."))
    e = next((r for r in doc["results"] if r.get("bench") == "e2e_settings"), None)
    if e:
        lines.append(
            f"End to end: {e['trials']} trials of {e['duration_s']} s per load and setup; wrk "
            f"{e.get('wrk')} from the client host, 2 threads with {e['conns_short']} connections "
            f"(short: `Connection: close`, a 10-byte page), 2 threads with "
            f"{e['conns_keepalive']} connections (keep-alive, same page), 1 thread with "
            f"{e['conns_bulk']} connections (keep-alive, a 1 MiB file); nginx {e.get('nginx')} "
            f"on each backend (2 workers), HAProxy {e.get('haproxy')}, nftables {e.get('nft')}.")
    return "\n".join(lines)


def sections(doc):
    targets = []
    out = {"run": sec_run(doc)}
    out["dp"] = sec_dp(doc, targets)
    out["maglev"] = sec_maglev(doc, targets)
    out["e2e"] = sec_e2e(doc, targets)
    out["xlbd"] = sec_xlbd(doc, targets)
    out["eastwest"] = sec_eastwest(doc, targets)
    out["northsouth"] = sec_northsouth(doc, targets)
    out["targets"] = target_table(targets)
    return out


ORDER = [("run", "Run"), ("targets", "Targets"), ("e2e", "End to end, side by side"),
         ("dp", "Data plane (BPF_PROG_TEST_RUN)"), ("maglev", "Maglev table build"),
         ("xlbd", "Control plane (xlbd)"), ("eastwest", "East-west, in the cluster lab"),
         ("northsouth", "North-south, in the cluster lab")]


def show(path):
    s = sections(load(path))
    for key, title in ORDER:
        print(f"## {title}\n\n{s[key]}\n")


def update(path, md, only=()):
    s = sections(load(path))
    text = open(md).read()
    missing = []
    for key, _ in ORDER:
        if only and key not in only:
            continue
        pat = re.compile(rf"(<!-- bench:{key} -->\n).*?(<!-- /bench:{key} -->)", re.S)
        if not pat.search(text):
            missing.append(key)
            continue
        text = pat.sub(lambda mo: mo.group(1) + s[key] + "\n" + mo.group(2), text)
    open(md, "w").write(text)
    if missing:
        print(f"report: {md} has no block for: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


def merge(src, into, names):
    """Replaces INTO's results of benchmarks NAMES (and NAME_settings) with SRC's."""
    a, b = load(src), load(into)
    mine = set(names) | {n + "_settings" for n in names}
    for r in a["results"]:  # the run's command goes with its settings
        if r.get("bench") in mine and r["bench"].endswith("_settings"):
            r.setdefault("command", a.get("settings", {}).get("command"))
    b["results"] = ([r for r in b["results"] if r.get("bench") not in mine] +
                    [r for r in a["results"] if r.get("bench") in mine])
    for n in names:
        b.setdefault("settings", {})[f"merged_{n}"] = (
            f"{a.get('date')} {a.get('git')} {a.get('settings', {}).get('command', '')}")
    with open(into, "w") as f:
        json.dump(b, f, indent=1)
        f.write("\n")
    return 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "assemble":
        assemble(argv[2], argv[3], argv[4:])
        return 0
    if len(argv) == 3 and argv[1] == "show":
        show(argv[2])
        return 0
    if len(argv) >= 4 and argv[1] == "update":
        return update(argv[2], argv[3], argv[4:])
    if len(argv) >= 5 and argv[1] == "merge":
        return merge(argv[2], argv[3], argv[4:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
