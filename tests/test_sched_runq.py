"""The run queues' policy: started Gs never queue behind unstarted ones that
spilled to the global queue, and the greenlet pool grows with a burst and
shrinks when the M goes idle (gort/sched/proc.py, runtime2.P).

These look at one P's queues, so they run with GOMAXPROCS=1 whatever
GORTMAXPROCS says (tests/test_mn_sched.py covers several Ps).
"""

from __future__ import annotations

from time import perf_counter

import pytest

import gort
import gort.time
from gort.sched import proc
from gort.sched.runtime2 import GRFREE_IDLE, RUNQ_SIZE

pytestmark = pytest.mark.one_m


def test_timer_woken_gs_run_before_spilled_unstarted_gs():
    # 5,000 slow unstarted goroutines are queued (most spill to the global
    # queue); while they run, 600 sleepers fall due at once.  Go's single
    # local queue would overflow and spill the woken sleepers behind the
    # thousands of unstarted ones; gort's readyq never spills, so every
    # sleeper runs after at most a local queue's worth of starts.
    nsleep, nwork = 600, 5000
    started = [0]
    seen: list[int] = []

    def sleeper(when: float) -> None:
        gort.time.sleep(when - gort.time.now())
        seen.append(started[0])

    def worker() -> None:
        started[0] += 1
        t = perf_counter() + 50e-6
        while perf_counter() < t:
            pass

    def main() -> None:
        when = gort.time.now() + 0.03
        for _ in range(nsleep):
            gort.go(sleeper, when)
        gort.gosched()  # all sleepers parked on their timers
        for _ in range(nwork):
            gort.go(worker)
        while len(seen) < nsleep or started[0] < nwork:
            gort.time.sleep(0.001)

    gort.run(main)
    assert len(seen) == nsleep
    assert started[0] == nwork
    # Woken well before the last worker started...
    assert max(seen) <= 2 * RUNQ_SIZE + 64, max(seen)


def test_unstarted_gs_still_spill_to_the_global_queue():
    def main() -> int:
        for _ in range(RUNQ_SIZE * 4):
            gort.go(lambda: None)
        n = proc.sched.nspill
        gort.gosched()
        return n

    assert gort.run(main) > 0


def test_gosched_lets_every_queued_goroutine_run_first():
    # Go: Gosched puts the G on the global queue, behind everything queued.
    n = RUNQ_SIZE * 3
    ran = [0]

    def f() -> None:
        ran[0] += 1

    def main() -> int:
        for _ in range(n):
            gort.go(f)
        gort.gosched()
        return ran[0]

    assert gort.run(main) == n


def test_greenlet_pool_grows_in_a_burst_and_is_trimmed_when_idle():
    n = GRFREE_IDLE * 4
    sizes = []

    def main() -> None:
        ch = gort.chan()
        done = gort.chan(n)

        def f() -> None:
            ch.recv()
            done.send(None)

        for _ in range(n):
            gort.go(f)
        gort.gosched()  # all n parked, each on its own greenlet
        for _ in range(n):
            ch.send(None)
        for _ in range(n):
            done.recv()
        # They have all exited into the pool (the M never went idle).
        sizes.append(len(proc.sched.allp[0].grfree))
        gort.time.sleep(0.05)  # idle: the M trims the pool
        sizes.append(len(proc.sched.allp[0].grfree))
        # Reuse after the trim still works.
        for _ in range(n):
            gort.go(f)
        gort.gosched()
        for _ in range(n):
            ch.send(None)
        for _ in range(n):
            done.recv()

    gort.run(main)
    assert sizes[0] > GRFREE_IDLE
    assert sizes[1] <= GRFREE_IDLE
