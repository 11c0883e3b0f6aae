"""Spawn and finish n trivial goroutines / tasks, and wait for all of them.

Each task does one thing: count itself.  The clock runs from the first spawn
to the moment the spawner knows all n have finished.
"""

from __future__ import annotations

from time import perf_counter

from harness import Case, Metric, run_asyncio

case = Case(
    "spawn", "spawn+finish {n:,} trivial tasks",
    sizes={"full": 100_000, "quick": 20_000},
    metrics=[Metric("tasks_per_s", "tasks/s", higher_is_better=True)],
)


@case.variant("gort:run", "gort.go in gort.run(main); main counts completions, gort.gosched")
@case.variant("gort:run-P2", "as gort:run at GOMAXPROCS 2 (two Ms, idle Ms steal "
              "unstarted goroutines)", procs=2)
@case.variant("gort:run-P4", "as gort:run at GOMAXPROCS 4", procs=4)
def gort_run(n: int, procs: int | None = None) -> dict:
    import gort
    done: list[None] = []

    def work() -> None:
        # list.append is atomic on every build; ``done[0] += 1`` lost updates
        # on a free-threaded one (its Ms run at once) and main spun forever.
        done.append(None)

    def main() -> float:
        if procs is not None:
            gort.gomaxprocs(procs)
        t0 = perf_counter()
        for _ in range(n):
            gort.go(work)
        while len(done) < n:
            gort.gosched()
        return perf_counter() - t0

    return {"tasks_per_s": n / gort.run(main)}


@case.variant("gort:lazy", "the same, no gort.run: the runtime starts lazily in the script")
def gort_lazy(n: int) -> dict:
    import gort
    done: list[None] = []

    def work() -> None:
        done.append(None)

    t0 = perf_counter()
    for _ in range(n):
        gort.go(work)
    while len(done) < n:
        gort.gosched()
    return {"tasks_per_s": n / (perf_counter() - t0)}


@case.variant("gort:waitgroup", "gort.go in gort.run(main); sync.WaitGroup add/done/wait",
              requires=("gort.sync.WaitGroup",))
def gort_waitgroup(n: int) -> dict:
    import gort
    import gort.sync

    def main() -> float:
        wg = gort.sync.WaitGroup()
        t0 = perf_counter()
        wg.add(n)
        for _ in range(n):
            gort.go(wg.done)
        wg.wait()
        return perf_counter() - t0

    return {"tasks_per_s": n / gort.run(main)}


@case.variant("gevent:joinall", "gevent.spawn, gevent.joinall")
def gevent_spawn(n: int) -> dict:
    import gevent
    done = [0]

    def work() -> None:
        done[0] += 1

    t0 = perf_counter()
    gs = [gevent.spawn(work) for _ in range(n)]
    gevent.joinall(gs)
    elapsed = perf_counter() - t0
    assert done[0] == n
    return {"tasks_per_s": n / elapsed}


@case.variant("asyncio:gather", "create_task, gather", loop="asyncio")
@case.variant("uvloop:gather", "create_task, gather", loop="uvloop")
def asyncio_spawn(n: int, loop: str) -> dict:
    import asyncio
    done = [0]

    async def work() -> None:
        done[0] += 1

    async def main() -> float:
        t0 = perf_counter()
        tasks = [asyncio.create_task(work()) for _ in range(n)]
        await asyncio.gather(*tasks)
        return perf_counter() - t0

    elapsed = run_asyncio(main, loop)
    assert done[0] == n
    return {"tasks_per_s": n / elapsed}


@case.variant("trio:nursery", "nursery.start_soon; the nursery block waits")
def trio_spawn(n: int) -> dict:
    import trio
    done = [0]

    async def work() -> None:
        done[0] += 1

    async def main() -> float:
        t0 = perf_counter()
        async with trio.open_nursery() as nursery:
            for _ in range(n):
                nursery.start_soon(work)
        return perf_counter() - t0

    elapsed = trio.run(main)
    assert done[0] == n
    return {"tasks_per_s": n / elapsed}


@case.variant("greenlet:floor", "raw greenlet: create, switch into, run to the end")
def greenlet_floor(n: int) -> dict:
    from greenlet import greenlet
    done = [0]

    def work() -> None:
        done[0] += 1

    t0 = perf_counter()
    for _ in range(n):
        greenlet(work).switch()
    elapsed = perf_counter() - t0
    assert done[0] == n
    return {"tasks_per_s": n / elapsed}


case.target("spawn >= 3x gevent", "tasks_per_s", vs="gevent:*", factor=3)
case.target("spawn >= asyncio (default loop)", "tasks_per_s", vs="asyncio:*", factor=1)

CASES = [case]
