"""Cost of one goroutine-leak detection pass (gort.debug.leaked_goroutines).

    python bench/leakcheck.py [--n 100000] [--repeat 3]

Parks n goroutines: half on channels that main still holds (live), half on
channels nobody holds (leaked), then times leaked_goroutines() and checks
that it found exactly the leaked half.  gort only: no peer runtime has a
leak detector to compare with.  Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import gort
import gort.debug
from gort.sched import proc


def main(n: int, repeat: int) -> dict:
    held = []

    def start() -> None:
        for i in range(n):
            c = gort.chan()
            if i % 2 == 0:
                held.append(c)
            gort.go(c.recv)

    start()
    while sum(1 for g in list(proc.sched.allgs) if g.status == proc._Gwaiting) < n:
        gort.gosched()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        leaks = gort.debug.leaked_goroutines()
        times.append(time.perf_counter() - t)
        assert len(leaks) == n // 2, (len(leaks), n // 2)
    return {"case": "leakcheck", "parked": n, "leaked": n // 2,
            "seconds_median": round(statistics.median(times), 3),
            "seconds_all": [round(x, 3) for x in times],
            "python": sys.version.split()[0]}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    r = {}

    def prog() -> None:
        r.update(main(a.n, a.repeat))

    gort.run(prog)
    print(json.dumps(r))
