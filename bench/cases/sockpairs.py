"""Netpoll pairs: 100 socketpairs, each ping-ponging one byte through the runtime.

For each pair, one task writes a byte and reads the reply, the other reads
and writes it back, ``n`` times; all 100 pairs run at once.  Every read
parks on the poller (the byte is never there yet), so this is the cost of
one trip through the runtime's I/O wait path: try, EAGAIN, park, poll,
wake, read.
"""

from __future__ import annotations

import socket
from time import perf_counter

from harness import Case, Metric, run_asyncio

PAIRS = 100

case = Case(
    "netpoll_pairs", f"{PAIRS} socketpairs ping-ponging 1 byte, {{n:,}} round trips each",
    sizes={"full": 1_000, "quick": 300},
    metrics=[Metric("rt_per_s", "round trips/s", higher_is_better=True)],
)


def pairs() -> list[tuple[socket.socket, socket.socket]]:
    out = []
    for _ in range(PAIRS):
        a, b = socket.socketpair()
        a.setblocking(False)
        b.setblocking(False)
        out.append((a, b))
    return out


@case.variant("gort:net", "gort.net Conn.read/write on unix-socket pairs "
              "(listen + dial + accept: gort.net has no socketpair wrapper)",
              requires=("gort.chan()", "gort.net.listen"))
def gort_net(n: int) -> dict:
    import os
    import tempfile

    import gort
    import gort.net

    def pinger(c, done) -> None:
        for _ in range(n):
            c.write(b"x")
            c.read(1)
        done.send(None)

    def ponger(c) -> None:
        for _ in range(n):
            c.write(c.read(1))

    def main() -> float:
        with tempfile.TemporaryDirectory() as tmp:
            ln = gort.net.listen("unix", os.path.join(tmp, "pairs.sock"))
            conns = []
            for _ in range(PAIRS):
                a = gort.net.dial("unix", os.path.join(tmp, "pairs.sock"))
                conns.append((a, ln.accept()))
            ln.close()
        done = gort.chan(PAIRS)
        t0 = perf_counter()
        for a, b in conns:
            gort.go(ponger, b)
            gort.go(pinger, a, done)
        for _ in range(PAIRS):
            done.recv()
        elapsed = perf_counter() - t0
        for a, b in conns:
            a.close()
            b.close()
        return elapsed

    return {"rt_per_s": PAIRS * n / gort.run(main)}


@case.variant("gort:netpoll", "Go's internal/poll.FD read/write loop on gort.netpoll's "
              "poll_runtime_* API (pollReset, try the syscall, pollWait on EAGAIN)",
              requires=("gort.chan()", "gort.netpoll.poll_runtime_pollOpen"))
def gort_netpoll(n: int) -> dict:
    import gort
    from gort.netpoll import (
        poll_runtime_pollClose,
        poll_runtime_pollOpen,
        poll_runtime_pollReset,
        poll_runtime_pollUnblock,
        poll_runtime_pollWait,
    )

    def check(err: int) -> None:
        if err:
            raise OSError(f"netpoll error code {err}")

    def read1(s, pd) -> bytes:
        check(poll_runtime_pollReset(pd, "r"))
        while True:
            try:
                return s.recv(1)
            except BlockingIOError:
                check(poll_runtime_pollWait(pd, "r"))

    def write1(s, pd) -> None:
        check(poll_runtime_pollReset(pd, "w"))
        while True:
            try:
                s.send(b"x")
                return
            except BlockingIOError:
                check(poll_runtime_pollWait(pd, "w"))

    def pinger(s, pd, done) -> None:
        for _ in range(n):
            write1(s, pd)
            read1(s, pd)
        done.send(None)

    def ponger(s, pd) -> None:
        for _ in range(n):
            read1(s, pd)
            write1(s, pd)

    def main() -> float:
        ps = pairs()
        pds = [(poll_runtime_pollOpen(a.fileno()), poll_runtime_pollOpen(b.fileno()))
               for a, b in ps]
        done = gort.chan(PAIRS)
        t0 = perf_counter()
        for (a, b), (pa, pb) in zip(ps, pds, strict=True):
            gort.go(ponger, b, pb)
            gort.go(pinger, a, pa, done)
        for _ in range(PAIRS):
            done.recv()
        elapsed = perf_counter() - t0
        for (a, b), (pa, pb) in zip(ps, pds, strict=True):
            for pd in (pa, pb):  # Go's FD.Close: evict (unblock), then close
                poll_runtime_pollUnblock(pd)
                poll_runtime_pollClose(pd)
            a.close()
            b.close()
        return elapsed

    return {"rt_per_s": PAIRS * n / gort.run(main)}


@case.variant("gevent:socket", "gevent.socket sockets, recv/send in greenlets")
def gevent_pairs(n: int) -> dict:
    import gevent
    from gevent.socket import socket as gsocket

    def pinger(s) -> None:
        for _ in range(n):
            s.send(b"x")
            s.recv(1)

    def ponger(s) -> None:
        for _ in range(n):
            s.send(s.recv(1))

    ps = [(gsocket(fileno=a.detach()), gsocket(fileno=b.detach())) for a, b in pairs()]
    t0 = perf_counter()
    gs = []
    for a, b in ps:
        gs.append(gevent.spawn(ponger, b))
        gs.append(gevent.spawn(pinger, a))
    gevent.joinall(gs, raise_error=True)
    elapsed = perf_counter() - t0
    for a, b in ps:
        a.close()
        b.close()
    return {"rt_per_s": PAIRS * n / elapsed}


@case.variant("asyncio:sock_recv", "loop.sock_recv / loop.sock_sendall", loop="asyncio")
@case.variant("uvloop:sock_recv", "loop.sock_recv / loop.sock_sendall", loop="uvloop")
def asyncio_pairs(n: int, loop: str) -> dict:
    import asyncio

    async def main() -> float:
        lp = asyncio.get_running_loop()

        async def pinger(s) -> None:
            for _ in range(n):
                await lp.sock_sendall(s, b"x")
                await lp.sock_recv(s, 1)

        async def ponger(s) -> None:
            for _ in range(n):
                await lp.sock_sendall(s, await lp.sock_recv(s, 1))

        ps = pairs()
        t0 = perf_counter()
        await asyncio.gather(*(f(s) for a, b in ps for f, s in ((ponger, b), (pinger, a))))
        elapsed = perf_counter() - t0
        for a, b in ps:
            a.close()
            b.close()
        return elapsed

    return {"rt_per_s": PAIRS * n / run_asyncio(main, loop)}


@case.variant("trio:socket", "trio.socket sockets, recv/send in tasks")
def trio_pairs(n: int) -> dict:
    import trio

    async def pinger(s) -> None:
        for _ in range(n):
            await s.send(b"x")
            await s.recv(1)

    async def ponger(s) -> None:
        for _ in range(n):
            await s.send(await s.recv(1))

    async def main() -> float:
        ps = [(trio.socket.from_stdlib_socket(a), trio.socket.from_stdlib_socket(b))
              for a, b in pairs()]
        t0 = perf_counter()
        async with trio.open_nursery() as nursery:
            for a, b in ps:
                nursery.start_soon(ponger, b)
                nursery.start_soon(pinger, a)
        elapsed = perf_counter() - t0
        for a, b in ps:
            a.close()
            b.close()
        return elapsed

    return {"rt_per_s": PAIRS * n / trio.run(main)}


CASES = [case]
