"""Unbuffered ping-pong: two tasks hand a token back and forth n times.

One round trip = ping hands to pong, pong hands back.  This is the cost of
two park/wake hand-offs through each runtime's primitive; the raw greenlet
pair (two bare switches) is the floor no greenlet runtime can beat.
"""

from __future__ import annotations

import time
from time import perf_counter

from harness import Case, Metric, run_asyncio

case = Case(
    "pingpong", "unbuffered ping-pong, {n:,} round trips",
    sizes={"full": 200_000, "quick": 20_000},
    metrics=[Metric("ns_per_rt", "ns/round trip", higher_is_better=False),
             Metric("cross_m", "1 = ping and pong on different Ms", higher_is_better=False,
                    fmt=".1f")],
)


@case.variant("gort:chan", "gort.chan(0) each way, main and one goroutine",
              requires=("gort.chan()",))
@case.variant("gort:chan-P2", "as gort:chan at GOMAXPROCS 2; pong runs where the scheduler "
              "puts it (cross_m says where it ran)", requires=("gort.chan()",), procs=2)
@case.variant("gort:chan-P4", "as gort:chan at GOMAXPROCS 4", requires=("gort.chan()",),
              procs=4)
def gort_chan(n: int, procs: int | None = None) -> dict:
    import threading

    import gort

    where: list[int] = []

    def pong(ping_c, pong_c) -> None:
        where.append(threading.get_ident())
        for _ in range(n):
            pong_c.send(ping_c.recv())

    def main() -> float:
        if procs is not None:
            gort.gomaxprocs(procs)
        ping_c, pong_c = gort.chan(0), gort.chan(0)
        gort.go(pong, ping_c, pong_c)
        t0 = perf_counter()
        for i in range(n):
            ping_c.send(i)
            pong_c.recv()
        return perf_counter() - t0

    out = {"ns_per_rt": gort.run(main) / n * 1e9}
    if procs is not None:
        out["cross_m"] = float(where[0] != threading.get_ident())
    return out


@case.variant("gort:chan-crossM", "gort.chan(0) each way at GOMAXPROCS 2, main and pong on "
              "different Ms (threads; checked with threading.get_ident): every hand-off "
              "is a cross-thread wake-up. n/10 round trips", requires=("gort.chan()",))
def gort_chan_cross(n: int) -> dict:
    import threading

    import gort

    n = max(1, n // 10)
    where: list[int] = []

    def pong(ping_c, pong_c) -> None:
        where.append(threading.get_ident())
        for _ in range(n):
            pong_c.send(ping_c.recv())

    def main() -> float:
        gort.gomaxprocs(2)
        me = threading.get_ident()
        ping_c, pong_c = gort.chan(0), gort.chan(0)
        gort.go(pong, ping_c, pong_c)
        # Hold this M without yielding to gort: pong cannot start here, so
        # the idle M that newproc woke steals it.  time.sleep drops the GIL.
        end = perf_counter() + 10.0
        while not where:
            if perf_counter() > end:
                raise RuntimeError("pong was not stolen by the other M within 10 s")
            time.sleep(0.0002)
        if where[0] == me:
            raise RuntimeError("pong runs on main's M; the variant needs two Ms")
        t0 = perf_counter()
        for i in range(n):
            ping_c.send(i)
            pong_c.recv()
        return perf_counter() - t0

    elapsed = gort.run(main)
    return {"ns_per_rt": elapsed / n * 1e9, "cross_m": float(where[0] != threading.get_ident())}


@case.variant("gort:gopark", "no channel: bare gort.sched gopark/goready, main and one goroutine",
              requires=("gort.sched.gopark", "gort.sched.goready"))
def gort_gopark(n: int) -> dict:
    import gort
    from gort.sched import getg, gopark, goready

    def pong(main_g, me: list) -> None:
        me.append(getg())
        while True:  # killed when main returns
            goready(main_g)
            gopark(None, None, "bench pong")

    def main() -> float:
        main_g, pong_g = getg(), []
        gort.go(pong, main_g, pong_g)
        gopark(None, None, "bench ping")  # until pong has started
        pong_g = pong_g[0]
        t0 = perf_counter()
        for _ in range(n):
            goready(pong_g)
            gopark(None, None, "bench ping")
        return perf_counter() - t0

    return {"ns_per_rt": gort.run(main) / n * 1e9}


@case.variant("gevent:Channel", "gevent.queue.Channel each way", kind="Channel")
@case.variant("gevent:Queue(1)", "gevent.queue.Queue(1) each way", kind="Queue")
def gevent_queue(n: int, kind: str) -> dict:
    import gevent
    from gevent.queue import Channel, Queue

    make = Channel if kind == "Channel" else (lambda: Queue(1))
    ping_q, pong_q = make(), make()

    def pong() -> None:
        for _ in range(n):
            pong_q.put(ping_q.get())

    g = gevent.spawn(pong)
    t0 = perf_counter()
    for i in range(n):
        ping_q.put(i)
        pong_q.get()
    elapsed = perf_counter() - t0
    g.join()
    return {"ns_per_rt": elapsed / n * 1e9}


@case.variant("gevent:Event", "gevent.event.Event each way: set, wait, clear")
def gevent_event(n: int) -> dict:
    import gevent
    from gevent.event import Event

    ping_e, pong_e = Event(), Event()

    def pong() -> None:
        for _ in range(n):
            ping_e.wait()
            ping_e.clear()
            pong_e.set()

    g = gevent.spawn(pong)
    t0 = perf_counter()
    for _ in range(n):
        ping_e.set()
        pong_e.wait()
        pong_e.clear()
    elapsed = perf_counter() - t0
    g.join()
    return {"ns_per_rt": elapsed / n * 1e9}


@case.variant("asyncio:Queue(1)", "asyncio.Queue(1) each way", loop="asyncio")
@case.variant("uvloop:Queue(1)", "asyncio.Queue(1) each way", loop="uvloop")
def asyncio_queue(n: int, loop: str) -> dict:
    import asyncio

    async def pong(ping_q, pong_q) -> None:
        for _ in range(n):
            await pong_q.put(await ping_q.get())

    async def main() -> float:
        ping_q, pong_q = asyncio.Queue(1), asyncio.Queue(1)
        task = asyncio.create_task(pong(ping_q, pong_q))
        t0 = perf_counter()
        for i in range(n):
            await ping_q.put(i)
            await pong_q.get()
        elapsed = perf_counter() - t0
        await task
        return elapsed

    return {"ns_per_rt": run_asyncio(main, loop) / n * 1e9}


@case.variant("asyncio:Event", "asyncio.Event each way: set, wait, clear", loop="asyncio")
@case.variant("uvloop:Event", "asyncio.Event each way: set, wait, clear", loop="uvloop")
def asyncio_event(n: int, loop: str) -> dict:
    import asyncio

    async def pong(ping_e, pong_e) -> None:
        for _ in range(n):
            await ping_e.wait()
            ping_e.clear()
            pong_e.set()

    async def main() -> float:
        ping_e, pong_e = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(pong(ping_e, pong_e))
        t0 = perf_counter()
        for _ in range(n):
            ping_e.set()
            await pong_e.wait()
            pong_e.clear()
        elapsed = perf_counter() - t0
        await task
        return elapsed

    return {"ns_per_rt": run_asyncio(main, loop) / n * 1e9}


@case.variant("trio:channel(0)", "trio.open_memory_channel(0) each way")
def trio_channel(n: int) -> dict:
    import trio

    async def pong(ping_rx, pong_tx) -> None:
        for _ in range(n):
            await pong_tx.send(await ping_rx.receive())

    async def main() -> float:
        ping_tx, ping_rx = trio.open_memory_channel(0)
        pong_tx, pong_rx = trio.open_memory_channel(0)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(pong, ping_rx, pong_tx)
            t0 = perf_counter()
            for i in range(n):
                await ping_tx.send(i)
                await pong_rx.receive()
            elapsed = perf_counter() - t0
        return elapsed

    return {"ns_per_rt": trio.run(main) / n * 1e9}


@case.variant("greenlet:floor", "raw greenlet: two switches per round trip")
def greenlet_floor(n: int) -> dict:
    from greenlet import getcurrent, greenlet

    main_g = getcurrent()

    def pong(v):
        while True:
            v = main_g.switch(v)

    g = greenlet(pong)
    t0 = perf_counter()
    for i in range(n):
        g.switch(i)
    elapsed = perf_counter() - t0
    return {"ns_per_rt": elapsed / n * 1e9}


case.target("ping-pong >= 2x gevent's fastest", "ns_per_rt", vs="gevent:*", factor=2)
case.target("ping-pong >= asyncio (default loop, fastest)", "ns_per_rt", vs="asyncio:*",
            factor=1)
case.target("ping-pong <= 6x the greenlet floor", "ns_per_rt", vs="greenlet:floor",
            factor=1 / 6)

CASES = [case]
