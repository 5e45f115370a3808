#!/usr/bin/env python3
"""Keeps BPF run-time statistics on while it runs: the bpf(BPF_ENABLE_STATS)
system call, whose effect lasts as long as its file descriptor is open. Unlike
writing kernel.bpf_stats_enabled, it changes no setting that others can see or
switch off under us (tests running at the same time may toggle the sysctl), and
it ends with the process, however the process ends. Prints "enabled" once the
statistics are on, then waits for SIGTERM, or for its parent to die."""
import ctypes
import os
import signal
import sys

SYS_BPF = {"x86_64": 321, "aarch64": 280}.get(os.uname().machine, 321)
BPF_ENABLE_STATS = 32
BPF_STATS_RUN_TIME = 0
PR_SET_PDEATHSIG = 1


def main():
    libc = ctypes.CDLL(None, use_errno=True)
    attr = ctypes.create_string_buffer(BPF_STATS_RUN_TIME.to_bytes(4, "little"), 4)
    fd = libc.syscall(SYS_BPF, BPF_ENABLE_STATS, attr, 4)
    if fd < 0:
        err = ctypes.get_errno()
        print(f"bpf_stats: BPF_ENABLE_STATS: {os.strerror(err)}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() == 1:  # the parent is already gone
        return 0
    print("enabled", flush=True)
    while True:
        signal.pause()


if __name__ == "__main__":
    sys.exit(main())
