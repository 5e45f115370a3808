#!/usr/bin/env python3
"""Plays the Mesos agents of the end-to-end lab: every task marathon-sim reports
(staging, running or killing) gets a `labnet serve` on its host and port, in
that host's backend namespace, named "host:port"; when the task is gone (after
its kill grace period) the server is stopped, as a real agent would. Polls
/sim/state on the simulator's control listener, which answers also while
Marathon itself is down. Logs "WALL_MS start|stop TASK_ID HOST:PORT" lines.

usage: tasks.py CONTROL_URL LAB_ID LABNET LOG
"""
import json
import signal
import subprocess
import sys
import time
import urllib.request

LIVE = ("TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING")


def main():
    ctl, lab_id, labnet, log_path = sys.argv[1:5]
    servers = {}  # task id -> (Popen, "host:port")
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    log = open(log_path, "a", buffering=1)

    def say(what, tid, ep):
        log.write("%.3f %s %s %s\n" % (time.time() * 1000, what, tid, ep))

    while not stop:
        try:
            with urllib.request.urlopen(ctl + "/sim/state", timeout=2) as r:
                state = json.load(r)
        except Exception:
            time.sleep(0.05)
            continue
        live = {}
        for app in state.get("apps", []):
            for t in app.get("tasks", []):
                if t.get("state") in LIVE and t.get("ports"):
                    live[t["id"]] = (t["host"], t["ports"][0])
        for tid, (host, port) in live.items():
            if tid in servers:
                continue
            # backend N is 198.18.2.1N in namespace xlab-bN-LAB_ID (tests/e2e/lab.sh)
            ns = "xlab-b%s-%s" % (host.rsplit(".", 1)[1][1:], lab_id)
            ep = "%s:%d" % (host, port)
            p = subprocess.Popen(["ip", "netns", "exec", ns, labnet, "serve", "--name", ep,
                                  "--listen", ep], stdout=subprocess.DEVNULL)
            servers[tid] = (p, ep)
            say("start", tid, ep)
        for tid in [t for t in servers if t not in live]:
            p, ep = servers.pop(tid)
            p.terminate()
            p.wait()
            say("stop", tid, ep)
        time.sleep(0.05)
    for p, _ in servers.values():
        p.terminate()
    for p, _ in servers.values():
        p.wait()


if __name__ == "__main__":
    main()
