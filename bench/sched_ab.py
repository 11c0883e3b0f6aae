"""A/B measurements of two scheduler design choices (docs/sched.md).

    python bench/sched_ab.py [--runs 3]

1. Hand-off: a parking goroutine switches straight to the next runnable G
   (gort), or always through the scheduler greenlet g0 (Go's
   mcall(park_m) + schedule()).  Measured with a bare gopark/goready
   ping-pong, 200,000 round trips, against two raw greenlet switches.
2. Greenlet reuse: a finished goroutine's greenlet runs the next goroutine
   (Go's gfput/gfget), or every goroutine gets a fresh greenlet.  Measured
   as go + run + exit of 100,000 trivial goroutines.

Each variant runs in a fresh interpreter; the "B" variants patch
gort.sched.proc in that interpreter only.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

HOP = r"""
import sys, time
import gort
from gort.sched import proc
from greenlet import greenlet, getcurrent
N = 200_000
mode = sys.argv[1]
if mode == "g0":
    def park_m(gp):
        gp.m.g0.switch(None)
        gp.status = proc._Grunning
        gp.m.curg = gp
    def gopark(unlockf, lock, reason, gp=None):  # gopark without the inlined hand-off
        gp = proc.getg()
        gp.status = proc._Gwaiting
        gp.waitreason = reason
        park_m(gp)
    proc.gopark = gopark
def main():
    me = proc.getg(); other = []
    def pong():
        other.append(proc.getg())
        for _ in range(N):
            proc.gopark(None, None, "x")
            proc.goready(me)
    gort.go(pong)
    gort.gosched()
    t = time.perf_counter()
    for _ in range(N):
        proc.goready(other[0])
        proc.gopark(None, None, "x")
    return (time.perf_counter() - t) / N * 1e9
def floor():
    a = getcurrent()
    def b():
        while True:
            a.switch()
    g = greenlet(b)
    t = time.perf_counter()
    for _ in range(N):
        g.switch()
    return (time.perf_counter() - t) / N * 1e9
print(floor() if mode == "floor" else gort.run(main))
"""

REUSE = r"""
import sys, time
import gort
from gort.sched import proc
N = 100_000
if sys.argv[1] == "fresh":
    def goexit0(gp, gr):
        proc._gdestroy(gp)
        gp.fn = gp.ctx = gp.kwargs = gp.gr = gp.m = None
        return None  # the greenlet ends; the next G gets a new one
    proc.goexit0 = goexit0
def main():
    done = [0]
    def f():
        done[0] += 1
    t = time.perf_counter()
    for _ in range(N):
        gort.go(f)
    while done[0] < N:
        gort.gosched()
    return (time.perf_counter() - t) / N * 1e6
print(gort.run(main))
"""


def run(code: str, mode: str) -> float:
    r = subprocess.run([sys.executable, "-c", code, mode], capture_output=True, text=True,
                       check=True)
    return float(r.stdout.strip())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    res: dict[str, list[float]] = {}
    for _ in range(args.runs):
        for name, code, mode in (("hand-off: direct (gort)", HOP, "direct"),
                                 ("hand-off: through g0 (Go's shape)", HOP, "g0"),
                                 ("hand-off: two raw greenlet switches", HOP, "floor"),
                                 ("go+run+exit: greenlet reused (gort)", REUSE, "reuse"),
                                 ("go+run+exit: fresh greenlet each", REUSE, "fresh")):
            res.setdefault(name, []).append(run(code, mode))
    print(f"median of {args.runs} runs, each in a fresh interpreter")
    for name, v in res.items():
        unit = "us per goroutine" if name.startswith("go+") else "ns per round trip"
        print(f"  {name:40s} {statistics.median(v):9,.1f} {unit}   "
              f"(min {min(v):,.1f}, max {max(v):,.1f})")


if __name__ == "__main__":
    main()
