"""Work that releases the GIL, at GOMAXPROCS 1, 2 and 4.

On a GIL build of CPython more Ms only contend for the GIL while goroutines
run Python code, but a C call that drops the GIL lets another M run at the
same time.  Two cases:

* hash: n goroutines / tasks each take sha256 of one shared 8 MB buffer
  (hashlib releases the GIL for buffers over 2 KB).  Directly on the M
  (``gort:P*``), where GOMAXPROCS decides how many hash at once; through
  ``gort.blocking`` (``gort:blocking-P*``), where the pool threads hash and
  GOMAXPROCS should not matter.  Reported: wall time, the speed-up over the
  same n hashes in a plain loop measured just before in the same process
  (``x_serial``), and the process's CPU time over wall time (``cpu_pct``:
  100 = one core busy).  Each child does the batch (and the plain loop)
  ROUNDS times and keeps the fastest: the machine is shared, and a parallel
  gain needs a second core that nobody else is using at that moment.
* sleep: n goroutines / tasks each make a blocking call that waits without
  the GIL, ``time.sleep(0.01)``, through each runtime's worker threads.
  Every runtime gets 32 worker threads (gort.blocking's pool size), so the
  floor is ceil(n / 32) * 10 ms; the rest is each runtime's hand-off cost.

The references: gevent's hub threadpool, asyncio's ``to_thread`` (a
``ThreadPoolExecutor``: plain threads under the loop), trio's
``to_thread.run_sync``; and hashing directly in gevent greenlets, which is
what any one-thread event loop does (serial: one hash at a time).
"""

from __future__ import annotations

import hashlib
import time
from time import perf_counter, process_time

from harness import Case, Metric, run_asyncio

BUF_MB = 8
WORKERS = 32  # gort.blocking's pool (gort/sched/syscall.py MAX_WORKERS)
SLEEP = 0.01
ROUNDS = 3  # hash: best of ROUNDS batches per child (module docstring)

hashing = Case(
    "gilfree.hash", f"{{n:,}} x sha256 of one {BUF_MB} MB buffer (hashlib drops the GIL), "
    f"best of {ROUNDS} batches",
    sizes={"full": 32, "quick": 16},
    metrics=[
        Metric("wall_ms", "ms", higher_is_better=False, fmt=",.1f"),
        Metric("x_serial", "x a plain loop", higher_is_better=True, fmt=".2f"),
        Metric("cpu_pct", "% of one core", higher_is_better=True),
    ],
    timeout=120.0,
)
sleeping = Case(
    "gilfree.sleep", f"{{n:,}} x time.sleep({SLEEP}) on {WORKERS} worker threads",
    sizes={"full": 512, "quick": 128},
    metrics=[
        Metric("wall_ms", "ms", higher_is_better=False, fmt=",.1f"),
        Metric("over_ms", "ms beyond ceil(n/32) x 10 ms", higher_is_better=False,
               fmt=",.1f"),
        Metric("cpu_us_per_call", "CPU us/call", higher_is_better=False, fmt=",.1f",
               compare=True),
    ],
    timeout=120.0,
)


def _buf() -> bytes:
    return bytes(range(256)) * (BUF_MB * 4096)


def _serial(buf: bytes, n: int) -> tuple[float, bytes]:
    """The same n hashes in a plain loop, best of ROUNDS: the speed-up's reference."""
    best = float("inf")
    for _ in range(ROUNDS):
        t0 = perf_counter()
        for _ in range(n):
            d = hashlib.sha256(buf).digest()
        best = min(best, perf_counter() - t0)
    return best, d


def _hash_metrics(serial: float, rounds: list[tuple[float, float]]) -> dict:
    """rounds: (wall, cpu) of each batch; the fastest batch counts."""
    wall, cpu = min(rounds)
    return {"wall_ms": wall * 1e3, "x_serial": serial / wall, "cpu_pct": cpu / wall * 100}


def _check(digests: list[bytes], want: bytes, n: int) -> None:
    if len(digests) != n or any(d != want for d in digests):
        raise AssertionError(f"bench: {len(digests)} digests, wanted {n} equal to the serial one")


# --- hash --------------------------------------------------------------------


@hashing.variant("gort:P1", "n goroutines each hash on their M; GOMAXPROCS 1; results "
                 "through a gort.chan(n)", requires=("gort.chan()",), procs=1)
@hashing.variant("gort:P2", "the same at GOMAXPROCS 2", requires=("gort.chan()",), procs=2)
@hashing.variant("gort:P4", "the same at GOMAXPROCS 4", requires=("gort.chan()",), procs=4)
@hashing.variant("gort:blocking-P1", "n goroutines each gort.blocking(sha256, buf): the hash "
                 "runs on a pool thread; GOMAXPROCS 1", requires=("gort.chan()",), procs=1,
                 blocking=True)
@hashing.variant("gort:blocking-P2", "the same at GOMAXPROCS 2", requires=("gort.chan()",),
                 procs=2, blocking=True)
@hashing.variant("gort:blocking-P4", "the same at GOMAXPROCS 4", requires=("gort.chan()",),
                 procs=4, blocking=True)
def gort_hash(n: int, procs: int, blocking: bool = False) -> dict:
    import gort

    buf = _buf()
    serial, want = _serial(buf, n)
    sha256 = hashlib.sha256

    def direct(out) -> None:
        out.send(sha256(buf).digest())

    def viapool(out) -> None:
        out.send(gort.blocking(sha256, buf).digest())

    def main() -> list[tuple[float, float]]:
        gort.gomaxprocs(procs)
        out = gort.chan(n)
        work = viapool if blocking else direct
        rounds = []
        for _ in range(ROUNDS):
            c0, t0 = process_time(), perf_counter()
            for _ in range(n):
                gort.go(work, out)
            got = [out.recv() for _ in range(n)]
            rounds.append((perf_counter() - t0, process_time() - c0))
            _check(got, want, n)
        return rounds

    return _hash_metrics(serial, gort.run(main))


@hashing.variant("gevent:greenlets", "n greenlets each hash directly (one thread: serial)")
@hashing.variant("gevent:threadpool", "n greenlets each hub.threadpool.apply(sha256, buf), "
                 f"pool of {WORKERS}", pool=True)
def gevent_hash(n: int, pool: bool = False) -> dict:
    import gevent

    buf = _buf()
    serial, want = _serial(buf, n)
    sha256 = hashlib.sha256
    tp = gevent.get_hub().threadpool
    tp.maxsize = WORKERS

    def direct() -> bytes:
        return sha256(buf).digest()

    def viapool() -> bytes:
        return tp.apply(sha256, (buf,)).digest()

    work = viapool if pool else direct
    rounds = []
    for _ in range(ROUNDS):
        c0, t0 = process_time(), perf_counter()
        gs = [gevent.spawn(work) for _ in range(n)]
        gevent.joinall(gs, raise_error=True)
        rounds.append((perf_counter() - t0, process_time() - c0))
        _check([g.value for g in gs], want, n)
    return _hash_metrics(serial, rounds)


@hashing.variant("asyncio:to_thread", f"gather of n asyncio.to_thread(sha256, buf); "
                 f"ThreadPoolExecutor({WORKERS}) as the default executor", loop="asyncio")
@hashing.variant("uvloop:to_thread", "the same on uvloop", loop="uvloop")
def asyncio_hash(n: int, loop: str) -> dict:
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    buf = _buf()
    serial, want = _serial(buf, n)
    sha256 = hashlib.sha256

    async def one() -> bytes:
        return (await asyncio.to_thread(sha256, buf)).digest()

    async def main() -> list[tuple[float, float]]:
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(WORKERS))
        rounds = []
        for _ in range(ROUNDS):
            c0, t0 = process_time(), perf_counter()
            got = await asyncio.gather(*(one() for _ in range(n)))
            rounds.append((perf_counter() - t0, process_time() - c0))
            _check(got, want, n)
        return rounds

    return _hash_metrics(serial, run_asyncio(main, loop))


@hashing.variant("trio:to_thread", f"n tasks each trio.to_thread.run_sync(sha256, buf), "
                 f"CapacityLimiter({WORKERS})")
def trio_hash(n: int) -> dict:
    import trio

    buf = _buf()
    serial, want = _serial(buf, n)
    sha256 = hashlib.sha256
    got: list[bytes] = []

    async def one(limiter) -> None:
        got.append((await trio.to_thread.run_sync(sha256, buf, limiter=limiter)).digest())

    async def main() -> list[tuple[float, float]]:
        limiter = trio.CapacityLimiter(WORKERS)
        rounds = []
        for _ in range(ROUNDS):
            got.clear()
            c0, t0 = process_time(), perf_counter()
            async with trio.open_nursery() as nursery:
                for _ in range(n):
                    nursery.start_soon(one, limiter)
            rounds.append((perf_counter() - t0, process_time() - c0))
            _check(got, want, n)
        return rounds

    return _hash_metrics(serial, trio.run(main))


# --- sleep -------------------------------------------------------------------


def _sleep_metrics(n: int, wall: float, cpu: float) -> dict:
    floor = -(-n // WORKERS) * SLEEP
    return {"wall_ms": wall * 1e3, "over_ms": (wall - floor) * 1e3,
            "cpu_us_per_call": cpu / n * 1e6}


@sleeping.variant("gort:P1", "n goroutines each gort.blocking(time.sleep, 0.01); "
                  "GOMAXPROCS 1; WaitGroup joins", requires=("gort.sync.WaitGroup",), procs=1)
@sleeping.variant("gort:P2", "the same at GOMAXPROCS 2", requires=("gort.sync.WaitGroup",),
                  procs=2)
@sleeping.variant("gort:P4", "the same at GOMAXPROCS 4", requires=("gort.sync.WaitGroup",),
                  procs=4)
def gort_sleep(n: int, procs: int) -> dict:
    import gort
    import gort.sync

    sleep = time.sleep

    def main() -> tuple[float, float]:
        gort.gomaxprocs(procs)
        wg = gort.sync.WaitGroup()
        c0, t0 = process_time(), perf_counter()
        wg.add(n)
        for _ in range(n):
            gort.go(_blocking_sleep, gort.blocking, sleep, wg)
        wg.wait()
        return perf_counter() - t0, process_time() - c0

    return _sleep_metrics(n, *gort.run(main))


def _blocking_sleep(blocking, sleep, wg) -> None:
    try:
        blocking(sleep, SLEEP)
    finally:
        wg.done()


@sleeping.variant("gevent:threadpool", f"n greenlets each hub.threadpool.apply(time.sleep, "
                  f"0.01), pool of {WORKERS}")
def gevent_sleep(n: int) -> dict:
    import gevent

    tp = gevent.get_hub().threadpool
    tp.maxsize = WORKERS
    sleep = time.sleep

    def one() -> None:
        tp.apply(sleep, (SLEEP,))

    c0, t0 = process_time(), perf_counter()
    gevent.joinall([gevent.spawn(one) for _ in range(n)], raise_error=True)
    return _sleep_metrics(n, perf_counter() - t0, process_time() - c0)


@sleeping.variant("asyncio:to_thread", f"gather of n asyncio.to_thread(time.sleep, 0.01); "
                  f"ThreadPoolExecutor({WORKERS})", loop="asyncio")
@sleeping.variant("uvloop:to_thread", "the same on uvloop", loop="uvloop")
def asyncio_sleep(n: int, loop: str) -> dict:
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    async def main() -> tuple[float, float]:
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(WORKERS))
        c0, t0 = process_time(), perf_counter()
        await asyncio.gather(*(asyncio.to_thread(time.sleep, SLEEP) for _ in range(n)))
        return perf_counter() - t0, process_time() - c0

    return _sleep_metrics(n, *run_asyncio(main, loop))


@sleeping.variant("trio:to_thread", f"n tasks each trio.to_thread.run_sync(time.sleep, 0.01), "
                  f"CapacityLimiter({WORKERS})")
def trio_sleep(n: int) -> dict:
    from functools import partial

    import trio

    async def main() -> tuple[float, float]:
        limiter = trio.CapacityLimiter(WORKERS)
        c0, t0 = process_time(), perf_counter()
        async with trio.open_nursery() as nursery:
            for _ in range(n):
                nursery.start_soon(partial(trio.to_thread.run_sync, time.sleep, SLEEP,
                                           limiter=limiter))
        return perf_counter() - t0, process_time() - c0

    return _sleep_metrics(n, *trio.run(main))


CASES = [hashing, sleeping]
