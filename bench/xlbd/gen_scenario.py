#!/usr/bin/env python3
"""Writes a marathon-sim scenario of APPS apps x TASKS tasks for xlbd's benchmarks.

Every app has one port with a named VIP label (/bench/appN:80) and a MESOS_HTTP
health check, so a sync exercises label parsing, named VIP allocation and
health results like a real cluster. Agents live in 198.19.0.0/16, one agent per
10 tasks; every task is running and healthy from the start. Addresses come
from 198.18.0.0/15 only.
"""
import json
import sys


def main():
    apps = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    tasks = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    agents = max(1, apps * tasks // 10)
    if agents > 65000:
        sys.exit("too many agents for 198.19.0.0/16")
    if apps > 10001:
        sys.exit("at most 10001 apps: service ports 10000-20000")

    def agent(i):
        i += 1
        return "198.19.%d.%d" % (i // 250, i % 250 + 1)

    out = {
        "sim": {"staging_ms": 200, "health_delay_ms": 300, "seed": 11},
        "agents": [agent(i) for i in range(agents)],
        "apps": [],
    }
    n = 0
    for a in range(apps):
        app = {
            "id": "/bench/app%d" % a,
            "instances": tasks,
            "networks": [{"mode": "host"}],
            "portDefinitions": [
                # explicit service ports: the simulator's own allocation is
                # quadratic in the number of apps
                {"port": 10000 + a, "protocol": "tcp", "name": "http",
                 "labels": {"VIP_0": "/bench/app%d:80" % a}}
            ],
            "healthChecks": [
                {"protocol": "MESOS_HTTP", "path": "/health", "portIndex": 0,
                 "gracePeriodSeconds": 30, "intervalSeconds": 5, "timeoutSeconds": 2,
                 "maxConsecutiveFailures": 3, "delaySeconds": 1}
            ],
            "taskKillGracePeriodSeconds": 1,
            "tasks": [],
        }
        for t in range(tasks):
            app["tasks"].append({"host": agent(n // 10), "ports": [31000 + n % 10 + 10 * t],
                                 "healthy": True})
            n += 1
        out["apps"].append(app)
    json.dump(out, sys.stdout, separators=(",", ":"))


if __name__ == "__main__":
    main()
