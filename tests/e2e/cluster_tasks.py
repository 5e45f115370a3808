#!/usr/bin/env python3
"""Plays the Mesos agents of the cluster lab (tests/e2e/cluster.sh): every task
marathon-sim reports (staging, running or killing) on agent 198.18.4.1N gets a
server in agent N's cgroup, made for its app's network mode by cluster.sh's
task helpers (`cluster.sh task ...`): host networking in the agent itself on
its host port; bridge in bridge container K (address 198.18.(16+N).(1+K), from
the task's ipAddresses) with the host port DNAT-ed to the container port;
container networking in overlay container K (198.18.(32+N).(1+K)) on the
container port. Each server is named as Marathon's backend for the task. When
the task is gone the server stops and a bridge task's port mapping goes, as a
real agent would; containers stay for the next task at their address. Only a
task's first port is served. Polls /sim/state on the simulator's control
listener. Logs "WALL_MS start|stop|fail TASK_ID ENDPOINT" lines.

usage: cluster_tasks.py CONTROL_URL CL_ID LABNET LOG   (CL_LOGDIR: servers' logs)
"""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

LIVE = ("TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING")
CLUSTER_SH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cluster.sh")


def plan(app, task):
    """The `cluster.sh task` arguments for a task, and Marathon's backend for it, or None."""
    host = task.get("host", "")
    if not host.startswith("198.18.4.1"):
        return None
    agent = host.rsplit(".", 1)[1][1:]
    nets = app.get("networks") or [{"mode": "host"}]
    mode = nets[-1].get("mode", "host")
    maps = (app.get("container") or {}).get("portMappings") or []
    ips = [a["ipAddress"] if isinstance(a, dict) else a for a in task.get("ipAddresses") or []]
    ports = task.get("ports") or []
    cport = maps[0].get("containerPort") if maps else 0
    k = int(ips[0].rsplit(".", 1)[1]) - 1 if ips else 0
    if mode == "host" and ports:
        return ["host", agent, ports[0]], "%s:%d" % (host, ports[0])
    if mode == "container/bridge" and ports and cport and ips:
        return ["bridge", agent, ports[0], cport, k], "%s:%d" % (host, ports[0])
    if mode == "container" and cport and ips:
        return ["overlay", agent, cport, k], "%s:%d" % (ips[0], cport)
    return None


def main():
    ctl, cl_id, labnet, log_path = sys.argv[1:5]
    env = dict(os.environ, CL_ID=cl_id, CL_LABNET=labnet, CL_QUIET="1")
    servers = {}  # task id -> (Popen, `cluster.sh task` arguments, endpoint)
    failed = set()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    log = open(log_path, "a", buffering=1)

    def say(what, tid, ep):
        log.write("%.3f %s %s %s\n" % (time.time() * 1000, what, tid, ep))

    def sh(*args):
        return subprocess.run(["bash", CLUSTER_SH] + [str(a) for a in args], env=env,
                              stdout=subprocess.PIPE).stdout.decode()

    def start(plan, ep):
        """The server `cluster.sh task` planned, once it is listening; None if it failed."""
        if len(plan) != 5 or plan[4] != ep:
            return None
        cg, ns, l4, l6, _ = plan
        proc = subprocess.Popen(["bash", CLUSTER_SH, "exec", cg, ns, labnet, "serve", "--name", ep,
                                 "--listen", l4, "--listen", l6],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        if b"ready" in proc.stdout.readline():
            return proc
        end(proc)
        return None

    def end(proc):
        proc.terminate()
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

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
                p = plan(app, t) if t.get("state") in LIVE else None
                if p:
                    live[t["id"]] = p
        # Gone tasks first: Marathon may give a new task the address (and container)
        # of one that just ended, whose server must have let go of it.
        for tid in [t for t in servers if t not in live]:
            proc, args, ep = servers.pop(tid)
            end(proc)
            if args[0] == "bridge":
                sh("unmap", args[1], args[2])
            say("stop", tid, ep)
        for tid, (args, ep) in live.items():
            if tid in servers or tid in failed:
                continue
            proc = start(sh("task", *args).split(), ep)
            if not proc:
                failed.add(tid)
                say("fail", tid, ep)
                continue
            servers[tid] = (proc, args, ep)
            say("start", tid, ep)
        failed &= set(live)
        time.sleep(0.05)
    for proc, _, _ in servers.values():
        end(proc)


if __name__ == "__main__":
    main()
