"""The netpoll backends with thousands of parked fds (issue 12, item 9).

    python bench/netpoll_scale.py [--fds 5000] [--runs 3] [--procs 1]
                                  [--backends poll,epoll] [--rtt 2000]
                                  [--modes deadlines,busy]

Two measurements, each in a fresh interpreter per backend (GORTNETPOLL):

1. deadlines: ``fds`` goroutines each park a read (a UDP socket bound on
   127.0.0.1 that nobody sends to: one fd per read) with a deadline 50 ms
   ahead, all at once; each records how late its read returned
   pollErrTimeout (return time - deadline).  Reported: lateness p50 / p99 /
   max in ms.
2. busy: ``fds`` idle reads parked (no deadline) and one pair ping-ponging
   one byte ``rtt`` times through the poller (both sides park on EAGAIN).
   Reported: round trip p50 / p99 in µs.

Both also report how many times the scheduler polled without waiting
(``polls0``: netpoll(0), from _nextg and park_m) and the mean time of such
a poll (``us_per_poll0``), counted by wrapping ``sched.netpoll`` in the
child: with the poll backend that is poll(2) over every armed fd.

Uses gort.netpoll's poll_runtime_* API directly (Go's internal/poll loop:
pollReset, try the syscall, pollWait on EAGAIN), as bench/cases/sockpairs.py
does.  Raises RLIMIT_NOFILE's soft limit as far as needed (one fd per read).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import json, resource, socket, sys, time
import gort
from gort.netpoll import (poll_runtime_pollClose, poll_runtime_pollOpen, poll_runtime_pollReset,
                          poll_runtime_pollSetDeadline, poll_runtime_pollUnblock,
                          poll_runtime_pollWait)
mode, nfds, rtt = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
need = nfds + 200
if soft < need:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
mono = time.monotonic

def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]

def read1(s, pd):
    poll_runtime_pollReset(pd, "r")
    while True:
        try:
            return s.recv(1)
        except BlockingIOError:
            err = poll_runtime_pollWait(pd, "r")
            if err:
                return err

from gort.sched import proc
npolls = [0, 0.0]

def main():
    real = proc.sched.netpoll
    def counted(delay):  # how often, and how long, the scheduler polls without waiting
        if delay != 0:
            return real(delay)
        t = time.perf_counter()
        try:
            return real(delay)
        finally:
            npolls[0] += 1
            npolls[1] += time.perf_counter() - t
    proc.sched.netpoll = counted
    try:
        out = run()
    finally:
        proc.sched.netpoll = real
    out["polls0"] = npolls[0]
    out["us_per_poll0"] = npolls[1] / max(1, npolls[0]) * 1e6
    return out

def run():
    # One fd per parked read: a UDP socket bound on loopback that nobody
    # sends to (so up to ~RLIMIT_NOFILE of them).
    pairs = []
    for _ in range(nfds):
        a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        a.bind(("127.0.0.1", 0))
        a.setblocking(False)
        pairs.append((a, None))
    pds = [poll_runtime_pollOpen(a.fileno()) for a, _ in pairs]
    out = {}
    try:
        if mode == "deadlines":
            late = []
            done = gort.chan(nfds)
            def reader(s, pd):
                d = mono() + 0.05
                poll_runtime_pollSetDeadline(pd, d, "r")
                r = read1(s, pd)
                late.append(mono() - d)
                assert r == 2, r  # pollErrTimeout
                done.send(None)
            for (a, _), pd in zip(pairs, pds):
                gort.go(reader, a, pd)
            for _ in range(nfds):
                done.recv()
            out = {"p50_ms": pct(late, 0.5) * 1e3, "p99_ms": pct(late, 0.99) * 1e3,
                   "max_ms": max(late) * 1e3}
        else:
            for (a, _), pd in zip(pairs, pds):
                gort.go(read1, a, pd)  # parks for good (until pollUnblock)
            x, y = socket.socketpair()
            x.setblocking(False)
            y.setblocking(False)
            px, py = poll_runtime_pollOpen(x.fileno()), poll_runtime_pollOpen(y.fileno())
            def ponger():
                for _ in range(rtt):
                    read1(y, py)
                    y.send(b"x")
            gort.go(ponger)
            gort.gosched()
            rts = []
            for _ in range(rtt):
                t0 = time.perf_counter()
                x.send(b"x")
                read1(x, px)
                rts.append(time.perf_counter() - t0)
            for pd in (px, py):
                poll_runtime_pollUnblock(pd)
                poll_runtime_pollClose(pd)
            x.close()
            y.close()
            out = {"p50_us": pct(rts, 0.5) * 1e6, "p99_us": pct(rts, 0.99) * 1e6}
    finally:
        for pd in pds:
            poll_runtime_pollUnblock(pd)
            poll_runtime_pollClose(pd)
        for a, _ in pairs:
            a.close()
    return out

print(json.dumps(gort.run(main)))
"""


def child(mode: str, backend: str, procs: int, fds: int, rtt: int) -> dict:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, GORTNETPOLL=backend, GORTMAXPROCS=str(procs), PYTHONPATH=root)
    # cwd: with -c, sys.path starts with the cwd, ahead of PYTHONPATH.
    r = subprocess.run([sys.executable, "-c", CHILD, mode, str(fds), str(rtt)], env=env,
                       cwd=root, capture_output=True, text=True, timeout=600)
    if r.returncode:
        raise SystemExit(f"{mode}/{backend} failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fds", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--procs", type=int, default=1)
    ap.add_argument("--rtt", type=int, default=2000)
    ap.add_argument("--backends", default="poll,epoll")
    ap.add_argument("--modes", default="deadlines,busy")
    a = ap.parse_args()
    print(f"{a.fds:,} parked reads, GOMAXPROCS {a.procs}, {a.runs} runs (medians)")
    for backend in a.backends.split(","):
        for mode, keys in (("deadlines", ("p50_ms", "p99_ms", "max_ms", "polls0",
                                          "us_per_poll0")),
                           ("busy", ("p50_us", "p99_us", "polls0", "us_per_poll0"))):
            if mode not in a.modes.split(","):
                continue
            rs = [child(mode, backend, a.procs, a.fds, a.rtt) for _ in range(a.runs)]
            med = {k: statistics.median(r[k] for r in rs) for k in keys}
            each = "; ".join(" ".join(f"{r[k]:,.1f}" for k in keys) for r in rs)
            what = ("deadline lateness" if mode == "deadlines"
                    else "busy pair round trip")
            print(f"  {backend:5s} {what:21s} " +
                  "  ".join(f"{k} {v:,.1f}" for k, v in med.items()) + f"   (runs: {each})")


if __name__ == "__main__":
    main()
