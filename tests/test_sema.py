"""Runtime semaphores (gort/sched/sema.py, Go's sema.go)."""


import pytest
from testutil import wait_until

import gort
from gort.sched import Sema, semacquire, semrelease
from gort.sched.traceback import goroutine_dump


def _spawn_waiters(s, order, n, lifo=False):
    def w(i):
        semacquire(s, lifo=lifo)
        order.append(i)

    for i in range(n):
        gort.go(w, i)
        wait_until(lambda i=i: s.nwait == i + 1)  # each one queues before the next


def _release_each(s, order, n):
    """Release n counts, one at a time: each woken waiter runs (and records
    itself) before the next release, on whichever M it is pinned to."""
    for k in range(n):
        semrelease(s)
        wait_until(lambda k=k: len(order) == k + 1)


def test_fast_path_and_fifo_wakeups():
    def main():
        s = Sema(2)
        semacquire(s)
        semacquire(s)
        assert s.count == 0
        order = []
        _spawn_waiters(s, order, 5)
        assert s.nwait == 5 and order == []
        _release_each(s, order, 5)
        return order

    assert gort.run(main) == [0, 1, 2, 3, 4]


def test_lifo_queues_at_front():
    def main():
        s = Sema(0)
        order = []
        _spawn_waiters(s, order, 3, lifo=True)
        _release_each(s, order, 3)
        return order

    assert gort.run(main) == [2, 1, 0]


@pytest.mark.one_m
def test_handoff_gives_count_to_waiter_not_newcomer():
    # One M: "yields to it at once" means the waiter runs on this thread
    # (at GOMAXPROCS > 1 it may be pinned to another M; test_mn_sync covers
    # hand-off there).

    def main():
        s = Sema(0)
        got = []

        def waiter():
            semacquire(s)
            got.append("waiter")

        gort.go(waiter)
        gort.gosched()
        # With handoff, the release transfers the count to the waiter and
        # yields to it at once: a newcomer cannot take it first.
        semrelease(s, handoff=True)
        got.append("releaser")
        assert s.count == 0
        return got

    assert gort.run(main) == ["waiter", "releaser"]


def test_wait_reason_and_deadlock():
    def main():
        s = Sema(0)

        def w():
            semacquire(s, reason="sync.Mutex.Lock")

        gort.go(w)
        wait_until(lambda: s.nwait == 1)
        assert "[sync.Mutex.Lock]" in goroutine_dump()
        semacquire(s)

    with pytest.raises(gort.Deadlock) as ei:
        gort.run(main)
    assert "[semacquire]" in ei.value.dump and "[sync.Mutex.Lock]" in ei.value.dump


def test_killed_waiter_leaves_no_sudog_behind():
    s = Sema(0)

    def main():
        def w():
            semacquire(s)

        for _ in range(3):
            gort.go(w)
        wait_until(lambda: s.nwait == 3)
        return "main returns with 3 waiters parked"

    gort.run(main)  # run() kills the waiters
    assert s.nwait == 0 and not s.waiters
    # The semaphore is usable again by a new program.
    gort.run(lambda: (semrelease(s), semacquire(s)))
    assert s.count == 0
