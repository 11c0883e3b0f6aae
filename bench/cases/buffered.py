"""Buffered producer/consumer: one producer puts n items into a queue of
capacity 128, one consumer takes them all out."""

from __future__ import annotations

from time import perf_counter

from harness import Case, Metric, run_asyncio

CAP = 128

case = Case(
    "buffered", f"producer/consumer through capacity {CAP}, {{n:,}} items",
    sizes={"full": 1_000_000, "quick": 100_000},
    metrics=[Metric("items_per_s", "items/s", higher_is_better=True)],
)


@case.variant("gort:chan", f"gort.chan({CAP}); producer goroutine, main consumes",
              requires=("gort.chan()",))
def gort_chan(n: int) -> dict:
    import gort

    def producer(c) -> None:
        for i in range(n):
            c.send(i)

    def main() -> float:
        c = gort.chan(CAP)
        t0 = perf_counter()
        gort.go(producer, c)
        for _ in range(n):
            c.recv()
        return perf_counter() - t0

    return {"items_per_s": n / gort.run(main)}


@case.variant("gevent:Queue", f"gevent.queue.Queue({CAP})")
def gevent_queue(n: int) -> dict:
    import gevent
    from gevent.queue import Queue

    q = Queue(CAP)

    def producer() -> None:
        for i in range(n):
            q.put(i)

    t0 = perf_counter()
    g = gevent.spawn(producer)
    for _ in range(n):
        q.get()
    elapsed = perf_counter() - t0
    g.join()
    return {"items_per_s": n / elapsed}


@case.variant("asyncio:Queue", f"asyncio.Queue({CAP})", loop="asyncio")
@case.variant("uvloop:Queue", f"asyncio.Queue({CAP})", loop="uvloop")
def asyncio_queue(n: int, loop: str) -> dict:
    import asyncio

    async def producer(q) -> None:
        for i in range(n):
            await q.put(i)

    async def main() -> float:
        q = asyncio.Queue(CAP)
        t0 = perf_counter()
        task = asyncio.create_task(producer(q))
        for _ in range(n):
            await q.get()
        elapsed = perf_counter() - t0
        await task
        return elapsed

    return {"items_per_s": n / run_asyncio(main, loop)}


@case.variant("trio:channel", f"trio.open_memory_channel({CAP})")
def trio_channel(n: int) -> dict:
    import trio

    async def producer(tx) -> None:
        for i in range(n):
            await tx.send(i)

    async def main() -> float:
        tx, rx = trio.open_memory_channel(CAP)
        async with trio.open_nursery() as nursery:
            t0 = perf_counter()
            nursery.start_soon(producer, tx)
            for _ in range(n):
                await rx.receive()
            elapsed = perf_counter() - t0
        return elapsed

    return {"items_per_s": n / trio.run(main)}


CASES = [case]
