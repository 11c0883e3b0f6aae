"""Mutex: uncontended lock/unlock, and 4 workers contending.

Uncontended: one task locks and unlocks n times; nobody else is there.

Contended: 4 workers each lock, yield inside the critical section, and
unlock, n/4 times.  In a cooperative runtime a lock is only contended when
its holder yields while holding it, so the yield is what makes the other
three find it locked, park, and be handed it on unlock: the number is the
cost of lock + yield + unlock with 3 waiters, per operation.  The yields
are each runtime's own: gort.gosched, gevent.sleep(0), asyncio.sleep(0),
trio.lowlevel.checkpoint.
"""

from __future__ import annotations

from time import perf_counter

from harness import Case, Metric, run_asyncio

WORKERS = 4

uncontended = Case(
    "mutex.uncontended", "uncontended lock+unlock, {n:,} times",
    sizes={"full": 500_000, "quick": 100_000},
    metrics=[Metric("ns_per_op", "ns/lock+unlock", higher_is_better=False)],
)
contended = Case(
    "mutex.contended", f"{WORKERS} workers: lock, yield, unlock; {{n:,}} ops in all",
    sizes={"full": 200_000, "quick": 20_000},
    metrics=[Metric("ns_per_op", "ns/op", higher_is_better=False)],
)

# --- uncontended -----------------------------------------------------------


@uncontended.variant("gort:Mutex", "gort.sync.Mutex lock(), unlock()",
                     requires=("gort.sync.Mutex",))
def gort_uncontended(n: int) -> dict:
    import gort
    import gort.sync

    def main() -> float:
        mu = gort.sync.Mutex()
        lock, unlock = mu.lock, mu.unlock
        t0 = perf_counter()
        for _ in range(n):
            lock()
            unlock()
        return perf_counter() - t0

    return {"ns_per_op": gort.run(main) / n * 1e9}


@uncontended.variant("gevent:Semaphore", "gevent.lock.Semaphore acquire(), release()")
def gevent_uncontended(n: int) -> dict:
    from gevent.lock import Semaphore

    sem = Semaphore()
    acquire, release = sem.acquire, sem.release
    t0 = perf_counter()
    for _ in range(n):
        acquire()
        release()
    return {"ns_per_op": (perf_counter() - t0) / n * 1e9}


@uncontended.variant("asyncio:Lock", "asyncio.Lock: await acquire(), release()",
                     loop="asyncio")
@uncontended.variant("uvloop:Lock", "asyncio.Lock: await acquire(), release()", loop="uvloop")
def asyncio_uncontended(n: int, loop: str) -> dict:
    import asyncio

    async def main() -> float:
        lock = asyncio.Lock()
        acquire, release = lock.acquire, lock.release
        t0 = perf_counter()
        for _ in range(n):
            await acquire()
            release()
        return perf_counter() - t0

    return {"ns_per_op": run_asyncio(main, loop) / n * 1e9}


@uncontended.variant("trio:Lock", "trio.Lock: await acquire(), release() "
                     "(acquire is a checkpoint: it always goes through the scheduler)")
def trio_uncontended(n: int) -> dict:
    import trio

    async def main() -> float:
        lock = trio.Lock()
        acquire, release = lock.acquire, lock.release
        t0 = perf_counter()
        for _ in range(n):
            await acquire()
            release()
        return perf_counter() - t0

    return {"ns_per_op": trio.run(main) / n * 1e9}


# --- contended -------------------------------------------------------------


@contended.variant("gort:Mutex", "gort.sync.Mutex, gort.gosched inside; WaitGroup joins",
                   requires=("gort.sync.Mutex", "gort.sync.WaitGroup"))
def gort_contended(n: int) -> dict:
    import gort
    import gort.sync

    def worker(mu, k: int, wg) -> None:
        for _ in range(k):
            mu.lock()
            gort.gosched()
            mu.unlock()
        wg.done()

    def main() -> float:
        mu, wg = gort.sync.Mutex(), gort.sync.WaitGroup()
        wg.add(WORKERS)
        t0 = perf_counter()
        for _ in range(WORKERS):
            gort.go(worker, mu, n // WORKERS, wg)
        wg.wait()
        return perf_counter() - t0

    return {"ns_per_op": gort.run(main) / (n // WORKERS * WORKERS) * 1e9}


@contended.variant("gevent:Semaphore", "gevent.lock.Semaphore, gevent.sleep(0) inside")
def gevent_contended(n: int) -> dict:
    import gevent
    from gevent.lock import Semaphore

    def worker(sem, k: int) -> None:
        for _ in range(k):
            sem.acquire()
            gevent.sleep(0)
            sem.release()

    sem = Semaphore()
    t0 = perf_counter()
    gevent.joinall([gevent.spawn(worker, sem, n // WORKERS) for _ in range(WORKERS)])
    return {"ns_per_op": (perf_counter() - t0) / (n // WORKERS * WORKERS) * 1e9}


@contended.variant("asyncio:Lock", "asyncio.Lock, asyncio.sleep(0) inside", loop="asyncio")
@contended.variant("uvloop:Lock", "asyncio.Lock, asyncio.sleep(0) inside", loop="uvloop")
def asyncio_contended(n: int, loop: str) -> dict:
    import asyncio

    async def worker(lock, k: int) -> None:
        for _ in range(k):
            await lock.acquire()
            await asyncio.sleep(0)
            lock.release()

    async def main() -> float:
        lock = asyncio.Lock()
        t0 = perf_counter()
        await asyncio.gather(*(worker(lock, n // WORKERS) for _ in range(WORKERS)))
        return perf_counter() - t0

    return {"ns_per_op": run_asyncio(main, loop) / (n // WORKERS * WORKERS) * 1e9}


@contended.variant("trio:Lock", "trio.Lock, trio.lowlevel.checkpoint() inside")
def trio_contended(n: int) -> dict:
    import trio

    async def worker(lock, k: int) -> None:
        for _ in range(k):
            await lock.acquire()
            await trio.lowlevel.checkpoint()
            lock.release()

    async def main() -> float:
        lock = trio.Lock()
        t0 = perf_counter()
        async with trio.open_nursery() as nursery:
            for _ in range(WORKERS):
                nursery.start_soon(worker, lock, n // WORKERS)
        return perf_counter() - t0

    return {"ns_per_op": trio.run(main) / (n // WORKERS * WORKERS) * 1e9}


CASES = [uncontended, contended]
