"""Start 100,000 goroutines, then 10,000 that all block, and show what the
scheduler did.

    python samples/demo.py [N]

Round 1: N goroutines each send one value on a channel with room for all of
them, so none ever blocks.  A finished goroutine's greenlet runs the next
unstarted G without even switching (Go's gfput/gfget reuse a dead G's stack
the same way), so N goroutines need a single greenlet.  main spawns them all
before it first blocks, so the 256-slot local run queue keeps overflowing and
spills half of itself to the global queue each time (runqputslow).

Round 2: N/10 goroutines first check in on a WaitGroup, then send on an
unbuffered channel that nobody receives from yet, so every one of them parks
in "chan send" at the same time.  A parked goroutine keeps its stack: now
each needs a greenlet of its own.  Then main receives them all.
"""

import sys
import time

import gort
from gort.sched import sched
from gort.sync import WaitGroup


def worker(i: int, results: gort.Chan, started: WaitGroup | None) -> None:
    if started is not None:
        started.done()
    results.send(i * i)


def one_round(n: int, cap: int, block: bool) -> dict:
    g0, s0 = sched.ngreenlets, sched.nspill
    tick0 = sched.allp[0].schedtick
    results = gort.chan(cap)
    started = WaitGroup() if block else None
    if started is not None:
        started.add(n)
    t0 = time.perf_counter()
    for i in range(n):
        gort.go(worker, i, results, started)
    peak = gort.num_goroutine()
    if started is not None:
        started.wait()  # every worker has run and is about to park in its send
    total = 0
    for _ in range(n):
        total += results.recv()
    elapsed = time.perf_counter() - t0
    return {
        "n": n, "cap": cap, "elapsed": elapsed, "peak": peak,
        "correct": total == sum(i * i for i in range(n)),
        "greenlets": sched.ngreenlets - g0, "spills": sched.nspill - s0,
        "ticks": sched.allp[0].schedtick - tick0,
    }


def main(n: int) -> list[dict]:
    return [one_round(n, n, False), one_round(n // 10, 0, True)]


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    # The counters below describe one P's queues and greenlet reuse.
    gort.gomaxprocs(1)
    rounds = gort.run(main, n)
    for r, what in zip(rounds, ("never block", "all park in 'chan send' at once"), strict=True):
        print(f"{r['n']:,} goroutines on a chan({r['cap']:,}) -- they {what}:")
        print(f"  done in {r['elapsed'] * 1e3:,.0f} ms ({r['n'] / r['elapsed']:,.0f} goroutines/s),"
              f" results correct: {r['correct']}, goroutines alive at the peak: {r['peak']:,}")
        print(f"  greenlets created: {r['greenlets']:,}   scheduling rounds: {r['ticks']:,}   "
              f"local run queue spills to the global queue: {r['spills']:,}")
