"""Timers: many sleepers at once, and timer create+stop churn.

Sleepers: n tasks each sleep a duration drawn from U[0, 0.5 s] (the same
seeded durations for every runtime).  Each measures its own lateness with
time.perf_counter (CLOCK_MONOTONIC, the clock every runtime here sleeps on):
``woke - started - duration``.  "wall over" is the time from the first spawn
until the last sleeper has finished, beyond the longest duration: the cost
of creating, scheduling and firing n timers.  A negative lateness (woke
early) is counted in "early".

Churn: create a timer far in the future and stop it at once, n times.
"""

from __future__ import annotations

import random
from time import perf_counter

from harness import Case, Metric, percentile, run_asyncio

MAX_SLEEP = 0.5
FAR = 60.0  # churned timers never fire

sleepers = Case(
    "timers.sleepers", f"{{n:,}} sleepers, durations U[0, {MAX_SLEEP} s]",
    sizes={"full": 100_000, "quick": 10_000},
    metrics=[
        Metric("wall_over_ms", f"ms beyond {MAX_SLEEP} s", higher_is_better=False),
        Metric("p50_ms", "ms", higher_is_better=False, fmt=",.2f"),
        Metric("p99_ms", "ms", higher_is_better=False, fmt=",.2f", compare=True),
        Metric("max_ms", "ms", higher_is_better=False, fmt=",.1f"),
        Metric("early", "sleepers", higher_is_better=False),
    ],
)
churn = Case(
    "timers.churn", "timer create+stop, {n:,} times",
    sizes={"full": 100_000, "quick": 20_000},
    metrics=[Metric("ops_per_s", "create+stop/s", higher_is_better=True)],
)


def durations(n: int) -> list[float]:
    rng = random.Random(1)
    return [rng.uniform(0, MAX_SLEEP) for _ in range(n)]


def lateness_metrics(late: list[float], wall: float, ds: list[float]) -> dict:
    late.sort()
    return {
        "wall_over_ms": (wall - max(ds)) * 1e3,
        "p50_ms": percentile(late, 50) * 1e3,
        "p99_ms": percentile(late, 99) * 1e3,
        "max_ms": late[-1] * 1e3,
        "early": float(sum(1 for x in late if x < 0)),
    }


# --- sleepers --------------------------------------------------------------


def _gc_off(fn):
    """Run fn with CPython's cyclic GC off: what is left is the runtime's own
    lateness.  With GC on, a full collection over the ~500k objects that 100k
    parked sleepers hold stops the thread for ~100 ms, whatever the runtime."""
    def run(n: int) -> dict:
        import gc
        gc.collect()
        gc.disable()
        try:
            return fn(n)
        finally:
            gc.enable()
    return run


@sleepers.variant("gort:sleep", "gort.time.sleep in n goroutines; main polls a counter "
                  "every 1 ms (adds <= 1 ms to wall)", requires=("gort.time.sleep",))
@sleepers.variant("gort:sleep-P2", "as gort:sleep at GOMAXPROCS 2 (sleepers spread over two "
                  "Ms; one timerproc wakes them across Ms)", requires=("gort.time.sleep",),
                  procs=2)
@sleepers.variant("gort:sleep-P4", "as gort:sleep at GOMAXPROCS 4",
                  requires=("gort.time.sleep",), procs=4)
def gort_sleepers(n: int, procs: int | None = None) -> dict:
    import gort
    import gort.time

    ds = durations(n)
    late = [0.0] * n
    done: list[None] = []

    def sleeper(i: int, d: float) -> None:
        t = perf_counter()
        gort.time.sleep(d)
        late[i] = perf_counter() - t - d
        done.append(None)  # atomic on every build (+= lost updates without a GIL)

    def main() -> float:
        if procs is not None:
            gort.gomaxprocs(procs)
        t0 = perf_counter()
        for i, d in enumerate(ds):
            gort.go(sleeper, i, d)
        while len(done) < n:
            gort.time.sleep(0.001)
        return perf_counter() - t0

    return lateness_metrics(late, gort.run(main), ds)


@sleepers.variant("gevent:sleep", "gevent.sleep in n greenlets; joinall")
def gevent_sleepers(n: int) -> dict:
    import gevent

    ds = durations(n)
    late = [0.0] * n

    def sleeper(i: int, d: float) -> None:
        t = perf_counter()
        gevent.sleep(d)
        late[i] = perf_counter() - t - d

    t0 = perf_counter()
    gevent.joinall([gevent.spawn(sleeper, i, d) for i, d in enumerate(ds)])
    return lateness_metrics(late, perf_counter() - t0, ds)


sleepers.variant("gort:sleep-gc-off", "as gort:sleep, cyclic GC disabled for the run",
                 requires=("gort.time.sleep",))(_gc_off(gort_sleepers))
sleepers.variant("gevent:sleep-gc-off", "as gevent:sleep, cyclic GC disabled for the run"
                 )(_gc_off(gevent_sleepers))


@sleepers.variant("asyncio:sleep", "asyncio.sleep in n tasks; gather", loop="asyncio")
@sleepers.variant("uvloop:sleep", "asyncio.sleep in n tasks; gather", loop="uvloop")
def asyncio_sleepers(n: int, loop: str) -> dict:
    import asyncio

    ds = durations(n)
    late = [0.0] * n

    async def sleeper(i: int, d: float) -> None:
        t = perf_counter()
        await asyncio.sleep(d)
        late[i] = perf_counter() - t - d

    async def main() -> float:
        t0 = perf_counter()
        await asyncio.gather(*(asyncio.create_task(sleeper(i, d)) for i, d in enumerate(ds)))
        return perf_counter() - t0

    return lateness_metrics(late, run_asyncio(main, loop), ds)


@sleepers.variant("trio:sleep", "trio.sleep in n tasks of one nursery")
def trio_sleepers(n: int) -> dict:
    import trio

    ds = durations(n)
    late = [0.0] * n

    async def sleeper(i: int, d: float) -> None:
        t = perf_counter()
        await trio.sleep(d)
        late[i] = perf_counter() - t - d

    async def main() -> float:
        t0 = perf_counter()
        async with trio.open_nursery() as nursery:
            for i, d in enumerate(ds):
                nursery.start_soon(sleeper, i, d)
        return perf_counter() - t0

    return lateness_metrics(late, trio.run(main), ds)


sleepers.target("sleepers p99 lateness <= gevent's", "p99_ms", vs="gevent:sleep", factor=1,
                gort="gort:sleep")
sleepers.target("sleepers p99 lateness <= 10 ms", "p99_ms", limit=10.0, gort="gort:sleep")
sleepers.target("sleepers p99 lateness <= 10 ms, GC off", "p99_ms", limit=10.0,
                gort="gort:sleep-gc-off")

# --- churn -----------------------------------------------------------------


@churn.variant("gort:new_timer", "t = gort.time.new_timer(60); t.stop()",
               requires=("gort.time.new_timer",))
@churn.variant("gort:new_timer-P2", "as gort:new_timer at GOMAXPROCS 2 (the timer floor "
               "takes its locks; one M does the work)", requires=("gort.time.new_timer",),
               procs=2)
@churn.variant("gort:new_timer-P4", "as gort:new_timer at GOMAXPROCS 4",
               requires=("gort.time.new_timer",), procs=4)
def gort_churn(n: int, procs: int | None = None) -> dict:
    import gort
    import gort.time

    def main() -> float:
        if procs is not None:
            gort.gomaxprocs(procs)
        new_timer = gort.time.new_timer
        t0 = perf_counter()
        for _ in range(n):
            new_timer(FAR).stop()
        return perf_counter() - t0

    return {"ops_per_s": n / gort.run(main)}


@churn.variant("gort:after_func", "gort.time.after_func(60, f).stop() (a callback timer, "
               "like gevent's Timeout and asyncio's call_later)",
               requires=("gort.time.after_func",))
@churn.variant("gort:after_func-P2", "as gort:after_func at GOMAXPROCS 2",
               requires=("gort.time.after_func",), procs=2)
@churn.variant("gort:after_func-P4", "as gort:after_func at GOMAXPROCS 4",
               requires=("gort.time.after_func",), procs=4)
def gort_churn_after_func(n: int, procs: int | None = None) -> dict:
    import gort
    import gort.time

    def never() -> None:
        raise AssertionError("a churned timer fired")

    def main() -> float:
        if procs is not None:
            gort.gomaxprocs(procs)
        after_func = gort.time.after_func
        t0 = perf_counter()
        for _ in range(n):
            after_func(FAR, never).stop()
        return perf_counter() - t0

    return {"ops_per_s": n / gort.run(main)}


@churn.variant("gevent:Timeout", "t = gevent.Timeout(60); t.start(); t.cancel()")
def gevent_churn(n: int) -> dict:
    import gevent

    Timeout = gevent.Timeout
    t0 = perf_counter()
    for _ in range(n):
        t = Timeout(FAR)
        t.start()
        t.cancel()
    return {"ops_per_s": n / (perf_counter() - t0)}


@churn.variant("asyncio:call_later", "loop.call_later(60, f).cancel()", loop="asyncio")
@churn.variant("uvloop:call_later", "loop.call_later(60, f).cancel()", loop="uvloop")
def asyncio_churn(n: int, loop: str) -> dict:
    import asyncio

    def never() -> None:
        raise AssertionError("a cancelled timer fired")

    async def main() -> float:
        call_later = asyncio.get_running_loop().call_later
        t0 = perf_counter()
        for _ in range(n):
            call_later(FAR, never).cancel()
        return perf_counter() - t0

    return {"ops_per_s": n / run_asyncio(main, loop)}


@churn.variant("trio:move_on_after", "with trio.move_on_after(60): pass")
def trio_churn(n: int) -> dict:
    import trio

    async def main() -> float:
        move_on_after = trio.move_on_after
        t0 = perf_counter()
        for _ in range(n):
            with move_on_after(FAR):
                pass
        return perf_counter() - t0

    return {"ops_per_s": n / trio.run(main)}


churn.target("timer create+stop >= 2x gevent (channel timer, new_timer)", "ops_per_s",
             vs="gevent:*", factor=2, gort="gort:new_timer")
churn.target("timer create+stop >= 2x gevent (callback timer, after_func)", "ops_per_s",
             vs="gevent:*", factor=2, gort="gort:after_func")

CASES = [sleepers, churn]
