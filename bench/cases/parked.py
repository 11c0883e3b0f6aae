"""Memory per parked goroutine / task.

Start 100 tasks that block on one shared waitable (so the runtime and its
code paths are warm), take the process's RSS, start n more that block on the
same thing, let them all reach the block, take RSS again: bytes per parked
task = growth / n.  A parked greenlet keeps its slice of the C stack and its
Python frames; a parked coroutine keeps only its frames.
"""

from __future__ import annotations

from harness import Case, Metric, rss, run_asyncio

WARM = 100

case = Case(
    "parked_rss", "RSS per parked task, {n:,} parked",
    sizes={"full": 10_000, "quick": 2_000},
    metrics=[Metric("bytes_per_task", "bytes/task", higher_is_better=False)],
)


@case.variant("gort:chan", "goroutines blocked in recv on one gort.chan(0)",
              requires=("gort.chan()",))
def gort_parked(n: int) -> dict:
    import gort

    started = [0]

    def waiter(c) -> None:
        started[0] += 1
        c.recv()

    def park(c, k: int) -> None:
        goal = started[0] + k
        for _ in range(k):
            gort.go(waiter, c)
        while started[0] < goal:
            gort.gosched()

    def main() -> float:
        c = gort.chan(0)
        park(c, WARM)
        before = rss()
        park(c, n)
        return (rss() - before) / n

    return {"bytes_per_task": gort.run(main)}


@case.variant("gevent:Event", "greenlets blocked in wait() on one gevent.event.Event")
def gevent_parked(n: int) -> dict:
    import gevent
    from gevent.event import Event

    started = [0]
    ev = Event()

    def waiter() -> None:
        started[0] += 1
        ev.wait()

    def park(k: int) -> list:
        goal = started[0] + k
        gs = [gevent.spawn(waiter) for _ in range(k)]
        while started[0] < goal:
            gevent.sleep(0)
        return gs

    keep = park(WARM)
    before = rss()
    keep += park(n)
    per = (rss() - before) / n
    ev.set()
    gevent.joinall(keep)
    return {"bytes_per_task": per}


@case.variant("asyncio:Event", "tasks blocked in wait() on one asyncio.Event", loop="asyncio")
@case.variant("uvloop:Event", "tasks blocked in wait() on one asyncio.Event", loop="uvloop")
def asyncio_parked(n: int, loop: str) -> dict:
    import asyncio

    async def main() -> float:
        started = [0]
        ev = asyncio.Event()

        async def waiter() -> None:
            started[0] += 1
            await ev.wait()

        async def park(k: int) -> list:
            goal = started[0] + k
            ts = [asyncio.create_task(waiter()) for _ in range(k)]
            while started[0] < goal:
                await asyncio.sleep(0)
            return ts

        keep = await park(WARM)
        before = rss()
        keep += await park(n)
        per = (rss() - before) / n
        ev.set()
        await asyncio.gather(*keep)
        return per

    return {"bytes_per_task": run_asyncio(main, loop)}


@case.variant("trio:Event", "tasks blocked in wait() on one trio.Event")
def trio_parked(n: int) -> dict:
    import trio

    async def main() -> float:
        started = [0]
        ev = trio.Event()

        async def waiter() -> None:
            started[0] += 1
            await ev.wait()

        async with trio.open_nursery() as nursery:

            async def park(k: int) -> None:
                goal = started[0] + k
                for _ in range(k):
                    nursery.start_soon(waiter)
                while started[0] < goal:
                    await trio.sleep(0)

            await park(WARM)
            before = rss()
            await park(n)
            per = (rss() - before) / n
            ev.set()
        return per

    return {"bytes_per_task": trio.run(main)}


@case.variant("greenlet:floor", "raw greenlets, each switched into once and parked")
def greenlet_parked(n: int) -> dict:
    from greenlet import getcurrent, greenlet

    main_g = getcurrent()

    def waiter() -> None:
        main_g.switch()

    def park(k: int) -> list:
        gs = [greenlet(waiter) for _ in range(k)]
        for g in gs:
            g.switch()
        return gs

    keep = park(WARM)
    before = rss()
    keep += park(n)
    return {"bytes_per_task": (rss() - before) / n}


CASES = [case]
