"""Atomic counter.

atomic.add: one goroutine adds 1 to a shared int64 n times, at GOMAXPROCS 1
(nobody else is there: the cost of the operation itself).

* ``gort:atomic.Int64`` -- ``gort.sync.atomic.Int64.add(1)``: lock-free with
  a GIL (one line between read and store; see gort/sync/atomic.py).
* ``gort:Mutex+int`` -- ``mu.lock(); c += 1; mu.unlock()`` with a gort Mutex
  (what one would write without atomics; correct across Ms, not across
  plain OS threads).
* ``gort:threading.Lock+int`` -- ``with lk: c += 1`` with a threading.Lock
  (correct across Ms and plain threads: what atomic.Int64 replaces).
* ``gort:plain int`` -- ``c += 1`` with no lock at all: the floor, and *not*
  correct across threads (it loses updates on a free-threaded build, and
  under the GIL when the loop is split across statements).

atomic.threads: THREADS plain OS threads (no gort runtime) add 1 to one
shared counter, n increments in all: atomic.Int64 against a
threading.Lock-guarded int, under the GIL (the threads take turns).

Each variant keeps its counter in an object attribute, as a shared counter
would be.  gevent and the asyncio loops have no atomics and run one thread:
they are not in this case.
"""

from __future__ import annotations

import threading
from time import perf_counter

from harness import Case, Metric

case = Case(
    "atomic.add", "shared int64 counter: {n:,} increments at GOMAXPROCS 1",
    sizes={"full": 1_000_000, "quick": 200_000},
    metrics=[Metric("ns_per_op", "ns/increment", higher_is_better=False)],
)
case.target("atomic.Int64.add beats a Mutex-guarded int", "ns_per_op", vs="gort:Mutex*",
            factor=1)
case.target("atomic.Int64.add beats a threading.Lock-guarded int", "ns_per_op",
            vs="gort:threading.Lock*", factor=1)


class _Box:
    __slots__ = ("c",)

    def __init__(self) -> None:
        self.c = 0


def _run(body) -> float:
    import gort

    gort.gomaxprocs(1)  # before the runtime starts: the run's setting
    return gort.run(body)


@case.variant("gort:atomic.Int64", "gort.sync.atomic.Int64: add(1)",
              requires=("gort.sync.atomic.Int64",))
def gort_atomic(n: int) -> dict:
    from gort.sync.atomic import Int64

    def main() -> float:
        x = Int64()
        add = x.add
        t0 = perf_counter()
        for _ in range(n):
            add(1)
        dt = perf_counter() - t0
        assert x.load() == n
        return dt

    return {"ns_per_op": _run(main) / n * 1e9}


@case.variant("gort:Mutex+int", "gort.sync.Mutex: lock(); box.c += 1; unlock()",
              requires=("gort.sync.Mutex",))
def gort_mutex(n: int) -> dict:
    from gort.sync import Mutex

    def main() -> float:
        mu, box = Mutex(), _Box()
        lock, unlock = mu.lock, mu.unlock
        t0 = perf_counter()
        for _ in range(n):
            lock()
            box.c += 1
            unlock()
        dt = perf_counter() - t0
        assert box.c == n
        return dt

    return {"ns_per_op": _run(main) / n * 1e9}


@case.variant("gort:threading.Lock+int", "threading.Lock: with lk: box.c += 1 (in a goroutine)")
def gort_tlock(n: int) -> dict:
    import threading

    def main() -> float:
        lk, box = threading.Lock(), _Box()
        t0 = perf_counter()
        for _ in range(n):
            with lk:
                box.c += 1
        dt = perf_counter() - t0
        assert box.c == n
        return dt

    return {"ns_per_op": _run(main) / n * 1e9}


@case.variant("gort:plain int", "box.c += 1, no lock (the floor; not atomic)")
def gort_plain(n: int) -> dict:
    def main() -> float:
        box = _Box()
        t0 = perf_counter()
        for _ in range(n):
            box.c += 1
        dt = perf_counter() - t0
        assert box.c == n
        return dt

    return {"ns_per_op": _run(main) / n * 1e9}


# --- plain threads ---------------------------------------------------------

THREADS = 4

threads = Case(
    "atomic.threads", f"{THREADS} plain threads, one shared counter: {{n:,}} increments in all",
    sizes={"full": 1_000_000, "quick": 200_000},
    metrics=[Metric("ns_per_op", "ns/increment", higher_is_better=False)],
)
threads.target("atomic.Int64.add beats a threading.Lock-guarded int across threads",
               "ns_per_op", vs="gort:threading.Lock*", factor=1)


def _in_threads(n: int, body) -> float:
    k = n // THREADS
    ts = [threading.Thread(target=body, args=(k,)) for _ in range(THREADS)]
    t0 = perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return (perf_counter() - t0) / (k * THREADS) * 1e9


@threads.variant("gort:atomic.Int64", "gort.sync.atomic.Int64: add(1), no runtime",
                 requires=("gort.sync.atomic.Int64",))
def threads_atomic(n: int) -> dict:
    from gort.sync.atomic import Int64

    x = Int64()

    def body(k: int) -> None:
        add = x.add
        for _ in range(k):
            add(1)

    ns = _in_threads(n, body)
    assert x.load() == n // THREADS * THREADS
    return {"ns_per_op": ns}


@threads.variant("gort:threading.Lock+int", "threading.Lock: with lk: box.c += 1")
def threads_tlock(n: int) -> dict:
    lk, box = threading.Lock(), _Box()

    def body(k: int) -> None:
        for _ in range(k):
            with lk:
                box.c += 1

    ns = _in_threads(n, body)
    assert box.c == n // THREADS * THREADS
    return {"ns_per_op": ns}


CASES = [case, threads]
