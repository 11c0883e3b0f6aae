"""select over 4 channels (gort only).

Four producer goroutines each send n/4 values on their own channel; main
runs ``gort.select`` over the four receive cases n times.  With unbuffered
channels every select finds at most a sender or two waiting and often parks
on all four (the full selectgo: lock order, enqueue on every channel,
dequeue on wake); with buffered ones most selects find data ready.

There is no natural peer: gevent, asyncio and trio have no select over
channels (asyncio.wait(FIRST_COMPLETED) over 4 gets, or a trio nursery per
choice, are different programs), so none is measured.
"""

from __future__ import annotations

from time import perf_counter

from harness import Case, Metric

case = Case(
    "select", "select over 4 channels, {n:,} selects",
    sizes={"full": 200_000, "quick": 20_000},
    metrics=[Metric("ops_per_s", "selects/s", higher_is_better=True)],
)


@case.variant("gort:unbuffered", "4 x gort.chan(0), 4 sender goroutines",
              requires=("gort.chan()", "gort.select()", "gort.recv()"), cap=0)
@case.variant("gort:buffered", "4 x gort.chan(128), 4 sender goroutines",
              requires=("gort.chan()", "gort.select()", "gort.recv()"), cap=128)
def gort_select(n: int, cap: int) -> dict:
    import gort

    def producer(c, k: int) -> None:
        for i in range(k):
            c.send(i)

    def main() -> float:
        a, b, c, d = chans = [gort.chan(cap) for _ in range(4)]
        select, recv = gort.select, gort.recv
        counts = [0, 0, 0, 0]
        t0 = perf_counter()
        for ch in chans:
            gort.go(producer, ch, n // 4)
        for _ in range(n // 4 * 4):
            # As a user writes it: the cases are built for each select.
            i, _v, _ok = select(recv(a), recv(b), recv(c), recv(d))
            counts[i] += 1
        elapsed = perf_counter() - t0
        assert counts == [n // 4] * 4, counts
        return elapsed

    return {"ops_per_s": n // 4 * 4 / gort.run(main)}


CASES = [case]
