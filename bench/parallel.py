"""Parallel speed-up of CPU-bound goroutines (issue 17), for a free-threaded CPython.

    VENV-FT/bin/python bench/parallel.py [--n 8] [--iters 2000000] [--repeat 3]

Each run starts n goroutines that each run a pure-Python loop of ``iters``
iterations, in two shapes: ``plain`` (no yields) and ``gosched`` (a
``gort.gosched()`` every 1,000 iterations), at GOMAXPROCS 1, 2 and 4, each
in a fresh child process, the settings interleaved round by round.
Reported: the median wall time of ``repeat`` runs, the speed-up over
GOMAXPROCS 1, and how many of the goroutines each M started (a started
goroutine is pinned to its M: a lopsided split caps the speed-up).  On a
GIL build the Ms take turns; the numbers then show the cost of M:N, not a
gain.  Prints one JSON line per shape.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import json, sys, time, threading
import gort
from gort.sched import proc

n, iters, yields = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "gosched"
ms = []

def work():
    ms.append(threading.get_ident())
    x = 0
    if yields:
        for i in range(iters):
            x += i
            if i % 1000 == 999:
                gort.gosched()
    else:
        for i in range(iters):
            x += i
    return x

def main():
    wg = gort.sync.WaitGroup()
    t = time.perf_counter()
    for _ in range(n):
        wg.go(work)
    wg.wait()
    return time.perf_counter() - t

import gort.sync
wall = gort.run(main)
split = sorted((ms.count(m) for m in set(ms)), reverse=True)
gil = getattr(sys, "_is_gil_enabled", lambda: True)()
print(json.dumps({"wall": wall, "split": split, "gil": gil}))
"""


def child(procs: int, n: int, iters: int, shape: str) -> dict:
    env = dict(os.environ, GORTMAXPROCS=str(procs))
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH", "")) if p)
    out = subprocess.run([sys.executable, "-c", CHILD, str(n), str(iters), shape],
                         capture_output=True, text=True, env=env, timeout=600)
    if out.returncode:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--iters", type=int, default=2_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--procs", default="1,2,4")
    a = ap.parse_args()
    procs = [int(p) for p in a.procs.split(",")]
    for shape in ("plain", "gosched"):
        row: dict = {"case": f"parallel.{shape}", "n": a.n, "iters": a.iters,
                     "python": sys.version.split()[0],
                     "gil": getattr(sys, "_is_gil_enabled", lambda: True)()}
        runs: dict[int, list[dict]] = {p: [] for p in procs}
        for _ in range(a.repeat):  # interleaved: a burst of load hits every setting
            for p in procs:
                runs[p].append(child(p, a.n, a.iters, shape))
        base = statistics.median(r["wall"] for r in runs[procs[0]])
        for p in procs:
            wall = statistics.median(r["wall"] for r in runs[p])
            row[f"P{p}"] = {"wall_s": round(wall, 3), "speedup": round(base / wall, 2),
                            "split": runs[p][-1]["split"]}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
