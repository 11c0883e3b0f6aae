"""Start 100,000 goroutines, twice, and show what the scheduler did.

    python samples/demo.py [N]

Round 1: each goroutine sends one value on a channel with room for all of
them, so none ever blocks.  A finished goroutine's greenlet runs the next
unstarted G without even switching (Go's gfput/gfget reuse a dead G's stack
the same way), so 100,000 goroutines need only a couple of greenlets.

Round 2: the channel is unbuffered, so every goroutine parks in "chan send"
until main receives.  A parked goroutine keeps its stack, so now each one
needs a greenlet of its own -- and the 256-slot local run queue spills half
of itself to the global queue (runqputslow) as the wake-ups pile up.
"""

import sys
import time

import gort
from gort.sched import sched


def worker(i: int, results: gort.Chan) -> None:
    results.send(i * i)


def one_round(n: int, cap: int) -> dict:
    g0, s0 = sched.ngreenlets, sched.nspill
    tick0 = sched.allp[0].schedtick
    results = gort.chan(cap)
    t0 = time.perf_counter()
    for i in range(n):
        gort.go(worker, i, results)
    peak = gort.num_goroutine()
    total = 0
    for _ in range(n):
        total += results.recv()
    elapsed = time.perf_counter() - t0
    return {
        "cap": cap, "elapsed": elapsed, "peak": peak, "left": gort.num_goroutine(),
        "correct": total == sum(i * i for i in range(n)),
        "greenlets": sched.ngreenlets - g0, "spills": sched.nspill - s0,
        "ticks": sched.allp[0].schedtick - tick0,
    }


def main(n: int) -> list[dict]:
    return [one_round(n, n), one_round(n, 0)]


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rounds = gort.run(main, n)
    for r, what in zip(rounds, ("never block", "all park in 'chan send'"), strict=True):
        print(f"{n:,} goroutines on a chan({r['cap']:,}) -- they {what}:")
        print(f"  done in {r['elapsed'] * 1e3:,.0f} ms ({n / r['elapsed']:,.0f} goroutines/s), "
              f"results correct: {r['correct']}, goroutines alive at the peak: {r['peak']:,}, "
              f"after: {r['left']}")
        print(f"  greenlets created: {r['greenlets']:,}   scheduling rounds: {r['ticks']:,}   "
              f"local run queue spills to the global queue: {r['spills']:,}")
