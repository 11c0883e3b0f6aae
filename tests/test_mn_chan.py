"""Channels, select and timers under M:N (GOMAXPROCS > 1): gort/hchan.py,
gort/selectgo.py and gort/time.

Every test runs with 2 and 4 Ps (each P its own M, an OS thread) and
"2-chaos".  main calls gort.gomaxprocs(n) first; the goroutines it starts
are stolen by idle Ms (``spread`` holds main's M until one is), and every
test checks that goroutines ran on more than one OS thread.  The GIL's
switch interval is cut to 10 us for these tests.

On a GIL build a missing lock rarely shows: CPython switches threads only at
calls and backward jumps, so most read-modify-writes are atomic there by
accident.  The chaos mode (as in test_mn_sync.py) traces the modules under
test and sleeps 20 us on one line in ten, releasing the GIL *between
lines*, so the other Ms run in the middle of every channel, select and
timer operation.  On a free-threaded build every mode interleaves at
bytecode level anyway.

Test bookkeeping that several Ms touch is kept under a threading.Lock of
the test (``Book``, never held across a gort call) or in lists (append is
atomic), so that the checks measure the channels, not the test's own races.
"""

from __future__ import annotations

import random
import sys
import threading
from time import monotonic

import pytest
from mnutil import (
    Book,
    Chaos,
    fast_switching,
    hold_until,
    is_chaos,
    spread,
    start_book,
    wait_until,
)

import gort
import gort.selectgo
import gort.time
import gort.time.timers
from gort.hchan import _chanlock, chanrecv, chansend
from gort.time.timers import numtimers

_chanmod = sys.modules["gort.hchan"]

PROCS = [2, 4, pytest.param(2, id="2-chaos")]
pytestmark = pytest.mark.timeout(60)

CHAOS = Chaos(_chanmod, gort.selectgo, gort.time, gort.time.timers, cut=10)


@pytest.fixture(autouse=True)
def _fast_switching(request, no_thread_leak):
    with fast_switching(1e-5, CHAOS if is_chaos(request) else None):
        yield


def _warm(book: Book) -> None:
    """For tests whose goroutines are started where the test cannot steer
    them (by timerproc, on its M): start a few that only record their M,
    and wait until one ran on another M."""
    for _ in range(4):
        gort.go(book.seen)
    spread(book)


def _pool(book: Book, n: int) -> list[tuple[int, gort.Chan]]:
    """At least n started goroutines, some on main's M and some on others:
    each reports (its thread, its command channel) and then runs the one
    function sent on that channel (None: exit).  Batches alternate between
    main parking (its own M starts them) and main holding its M (another M
    must steal them), until both kinds are there."""
    me = threading.get_ident()
    hello = gort.chan(8)

    def worker():
        cmd = gort.chan(1)
        hello.send((book.seen(), cmd))
        f = cmd.recv()
        if f is not None:
            f()

    pool: list[tuple[int, gort.Chan]] = []
    for batch in range(40):
        for _ in range(8):
            gort.go(worker)
        if batch % 2:
            # hold this M: the first to run was stolen
            hold_until(lambda: len(hello), "a goroutine stolen by another M")
        pool += [hello.recv() for _ in range(8)]
        ts = {t for t, _ in pool}
        if len(pool) >= n and me in ts and len(ts) > 1:
            return pool
    raise AssertionError(f"goroutines did not spread over the Ms: {len(ts)} threads")


def _check(book: Book, procs: int) -> None:
    assert not book.errors, book.errors[:5]
    assert 1 < len(book.threads) <= procs, book.threads


def _qlen(c: gort.Chan) -> tuple[int, int]:
    """(receivers, senders) waiting on c, read under its lock."""
    with c.lock or _chanlock(c):
        return len(c.recvq), len(c.sendq)


# --------------------------------------------------------------------------
# Send and receive


@pytest.mark.parametrize("cap", [0, 128])
@pytest.mark.parametrize("procs", PROCS)
def test_producers_consumers_every_item_once(procs, cap):
    # 8 producers x 8 consumers through one channel; every receive form.
    P = C = 8
    N = CHAOS.n(100_000)

    def main():
        book = start_book(procs)
        c = gort.chan(cap)
        done = gort.chan(P + C)
        k = N // P

        def producer(p):
            book.seen()
            vals = range(p * k, N if p == P - 1 else (p + 1) * k)
            if p % 2:
                for v in vals:
                    c.send(v)
            else:
                for v in vals:
                    if gort.select(gort.send(c, v), gort.send(None, v))[0] != 0:
                        book.error("select sent on the nil channel")
            done.send(None)

        def consumer(i):
            book.seen()
            got = []
            form = i % 4
            if form == 0:
                got.extend(c)
            else:
                while True:
                    if form == 1:
                        v, ok = c.recv_ok()
                    elif form == 2:
                        _, v, ok = chanrecv(c, True)
                    else:
                        j, v, ok = gort.select(gort.recv(None), gort.recv(c))
                        if j != 1:
                            book.error("select received from the nil channel")
                    if not ok:
                        break
                    got.append(v)
            done.send(got)

        for i in range(P):
            gort.go(producer, i)
            gort.go(consumer, i)
        spread(book)
        results = []
        producers = 0
        while producers < P:
            r = done.recv()
            if r is None:
                producers += 1
            else:
                results.append(r)
        c.close()
        while len(results) < C:
            results.append(done.recv())
        return [v for r in results for v in r], book

    got, book = gort.run(main)
    _check(book, procs)
    assert len(got) == N
    assert len(set(got)) == N
    assert sum(got) == N * (N - 1) // 2


@pytest.mark.parametrize("procs", PROCS)
def test_close_wakes_parked_senders_and_receivers_on_every_m(procs):
    R = S = 24

    def main():
        book = start_book(procs)
        c, d = gort.chan(), gort.chan(1)
        d.send("full")
        out = gort.chan(R + S)
        pool = _pool(book, R + S)

        def receiver(i):
            if i % 3 == 0:
                out.send(("r", c.recv_ok()))
            elif i % 3 == 1:
                out.send(("r", gort.select(gort.recv(c), gort.recv(None))[1:]))
            else:
                out.send(("r", (list(c), False)))

        def sender(i):
            try:
                if i % 2:
                    d.send(i)
                else:
                    gort.select(gort.send(d, i), gort.send(None, i))
            except gort.ClosedChannelError as e:
                out.send(("s", str(e)))
            else:
                out.send(("s", "sent"))

        # Waiters on main's M and on others (the pool has both): the two
        # kinds interleaved, two receivers then two senders, so that each
        # channel gets both when there are two of each.
        me = threading.get_ident()
        mine = [cmd for t, cmd in pool if t == me]
        far = [cmd for t, cmd in pool if t != me]
        order = [x for pair in zip(mine, far, strict=False) for x in pair]
        k = min(len(mine), len(far))
        order += mine[k:] + far[k:]
        nr = ns = 0
        for j, cmd in enumerate(order):
            if j % 4 < 2 and nr < R or ns == S and nr < R:
                cmd.send(lambda i=nr: receiver(i))
                nr += 1
            elif ns < S:
                cmd.send(lambda i=ns: sender(i))
                ns += 1
            else:
                cmd.send(None)
        wait_until(lambda: _qlen(c)[0] == R and _qlen(d)[1] == S)
        c.close()
        d.close()
        with pytest.raises(gort.ClosedChannelError, match="close of closed channel"):
            c.close()
        res = [out.recv() for _ in range(R + S)]
        assert d.recv() == "full"  # a closed channel still drains its buffer
        assert d.recv_ok() == (None, False)
        return res, book, _qlen(c), _qlen(d)

    res, book, qc, qd = gort.run(main)
    _check(book, procs)
    assert qc == qd == (0, 0)
    recv = [r for k, r in res if k == "r"]
    sent = [r for k, r in res if k == "s"]
    assert recv.count((None, False)) + recv.count(([], False)) == R
    assert sent == ["send on closed channel"] * S


@pytest.mark.parametrize("procs", PROCS)
def test_close_races_active_senders(procs):
    # Senders on several Ms keep sending while another goroutine closes:
    # every send either delivered its value (received exactly once) or
    # raised; none is lost, none delivered twice.
    S, N = 8, CHAOS.n(2_000)

    def main():
        book = start_book(procs)
        c = gort.chan(4)
        delivered = []
        received = []
        ended = gort.chan(S + 1)

        def sender(s):
            book.seen()
            for i in range(N):
                try:
                    c.send((s, i))
                except gort.ClosedChannelError:
                    break
                delivered.append((s, i))
            ended.send(None)

        def receiver():
            book.seen()
            received.extend(c)
            ended.send(None)

        for s in range(S):
            gort.go(sender, s)
        gort.go(receiver)
        spread(book)
        wait_until(lambda: len(received) > N)
        c.close()
        for _ in range(S + 1):
            ended.recv()
        return delivered, received, book

    delivered, received, book = gort.run(main)
    _check(book, procs)
    assert len(received) == len(set(received))
    assert sorted(received) == sorted(delivered)


@pytest.mark.parametrize("procs", PROCS)
def test_nonblock_recv_race(procs):
    # Go: TestNonblockRecvRace.  A non-blocking receive on a 1-buffered
    # channel that holds a value or is closed never takes the default, while
    # main closes and drains it on another M.
    N = CHAOS.n(1_000)

    def main():
        book = start_book(procs)
        done = gort.chan(N)
        for i in range(N):
            c = gort.chan(1)
            c.send(1)

            def f(c=c, sel=i % 2):
                book.seen()
                if sel:
                    if gort.select(gort.recv(c), default=True)[0] == -1:
                        book.error("chan is not ready")
                elif chanrecv(c, False)[0] is False:
                    book.error("chan is not ready (chanrecv, block=False)")
                done.send(None)

            gort.go(f)
            if not book.others():
                spread(book)
            c.close()
            c.recv()
        for _ in range(N):
            done.recv()
        return book

    _check(gort.run(main), procs)


# --------------------------------------------------------------------------
# select


@pytest.mark.parametrize("procs", PROCS)
def test_select_contention_one_winner_each_value_once(procs):
    # K goroutines each send their own values through selects that also
    # receive, on shared channels (two unbuffered, one buffered): every
    # value is received exactly once, by a goroutine other than its sender
    # on the unbuffered channels (a G never pairs with itself).
    K, V = 12, CHAOS.n(400)

    def main():
        book = start_book(procs)
        a, b, cb = gort.chan(), gort.chan(), gort.chan(2)
        quit = gort.chan()
        got = gort.chan(K * V)
        wins = []

        def mixer(k):
            book.seen()
            pending = [(k, i) for i in range(V)]
            mywins = [0] * 6
            while True:
                cases = [gort.recv(a), gort.recv(b), gort.recv(cb), gort.recv(quit)]
                if pending:
                    x = pending[-1]
                    cases += [gort.send(a, x), gort.send(b, x), gort.send(cb, x)]
                i, v, ok = gort.select(*cases)
                if i == 3:
                    break
                if i < 3:
                    mywins[i] += 1
                    if i < 2 and v[0] == k:
                        book.error(f"goroutine {k} received its own value {v}")
                    got.send(v)
                else:
                    mywins[i - 1] += 1
                    pending.pop()
            if pending:
                book.error(f"goroutine {k} quit with {len(pending)} values unsent")
            wins.append(mywins)

        for k in range(K):
            gort.go(mixer, k)
        spread(book)
        vals = [got.recv() for _ in range(K * V)]
        quit.close()
        wait_until(lambda: len(wins) == K)
        return vals, wins, book, [_qlen(x) for x in (a, b, cb)]

    vals, wins, book, qs = gort.run(main)
    _check(book, procs)
    assert len(vals) == K * V and set(vals) == {(k, i) for k in range(K) for i in range(V)}
    assert qs == [(0, 0)] * 3  # every loser's sudog left its queue
    total = [sum(w[j] for w in wins) for j in range(6)]
    assert sum(total[:3]) == K * V  # recv wins
    assert all(total), total  # every case won sometimes


@pytest.mark.parametrize("procs", PROCS)
def test_select_two_wakers_on_two_ms_one_winner(procs):
    # A select parked on two channels; two senders, one on main's M and one
    # on another, send on them at once, each holding only its own channel's
    # lock: Go's CAS on g.selectDone lets exactly one of them wake it, the
    # other stays parked until main takes its value.
    R = 200 if CHAOS.on else 600  # chaos: enough rounds to hit the race

    def main():
        book = start_book(procs)
        pool = _pool(book, 3)
        me = threading.get_ident()
        near = next(cmd for t, cmd in pool if t == me)
        far = next(cmd for t, cmd in pool if t != me)
        starts = [gort.chan() for _ in range(R)]
        chans = [(gort.chan(), gort.chan()) for _ in range(R)]
        out = gort.chan(R)
        sel = gort.chan(R)

        def sender(k):
            for r in range(R):
                starts[r].recv()
                chans[r][k].send((k, r))
            out.send(None)

        def selector():
            for r in range(R):
                i, v, ok = gort.select(gort.recv(chans[r][0]), gort.recv(chans[r][1]))
                sel.send((i, v, ok))

        near.send(lambda: sender(0))
        far.send(lambda: sender(1))
        for _t, cmd in pool:
            if cmd is not near and cmd is not far:
                cmd.send(None)
        gort.go(selector)
        for r in range(R):
            a, b = chans[r]
            wait_until(lambda a=a, b=b: _qlen(a)[0] == 1 and _qlen(b)[0] == 1)
            starts[r].close()
            i, v, ok = sel.recv()  # parks: main's M runs the near sender
            if not (ok and v == (i, r)):
                book.error(f"round {r}: select got {(i, v, ok)}")
            other = chans[r][1 - i].recv()
            if other != (1 - i, r):
                book.error(f"round {r}: the other sender sent {other}")
            if _qlen(a) != (0, 0) or _qlen(b) != (0, 0):
                book.error(f"round {r}: sudogs left: {_qlen(a)}, {_qlen(b)}")
        out.recv()
        out.recv()
        return book

    _check(gort.run(main), procs)


@pytest.mark.parametrize("procs", PROCS)
def test_self_select(procs):
    # Go: TestSelfSelect.  Two goroutines select on sending to and receiving
    # from the same channel (one lock, taken once); unbuffered, neither ever
    # receives its own value.
    N = CHAOS.n(1_000)

    def main():
        book = start_book(procs)
        for cap in (0, 10):
            c = gort.chan(cap)
            done = gort.chan(2)

            def f(p, c=c, done=done, cap=cap):
                book.seen()
                for i in range(N):
                    if p == 0 or i % 2 == 0:
                        j, v, _ = gort.select(gort.send(c, p), gort.recv(c))
                        recvd = j == 1
                    else:
                        j, v, _ = gort.select(gort.recv(c), gort.send(c, p))
                        recvd = j == 0
                    if recvd and cap == 0 and v == p:
                        book.error("self receive")
                done.send(None)

            gort.go(f, 0)
            gort.go(f, 1)
            if cap == 0:
                spread(book)
            done.recv()
            done.recv()
        return book

    _check(gort.run(main), procs)


@pytest.mark.parametrize("procs", PROCS)
def test_pingpong_between_goroutines_on_different_ms(procs):
    rounds = CHAOS.n(3_000)

    def main():
        book = start_book(procs)
        me = threading.get_ident()
        hello = gort.chan(8)
        cmds = [gort.chan() for _ in range(8)]

        def candidate(i):
            hello.send((i, book.seen()))
            ping = cmds[i].recv()
            if ping is None:
                return
            pong = cmds[i]
            for n in range(rounds):
                v = ping.recv()
                if threading.get_ident() != book_ident[i]:
                    book.error("a started goroutine changed threads")
                pong.send(v + 1)
                if v != 2 * n:
                    book.error(f"round {n}: got {v}")

        book_ident = {}
        for i in range(8):
            gort.go(candidate, i)
        spread(book)
        for _ in range(8):
            i, ident = hello.recv()
            book_ident[i] = ident
        far = [i for i, t in book_ident.items() if t != me]
        assert far, "no candidate runs on another M"
        i = far[0]
        ping = gort.chan()
        cmds[i].send(ping)
        for j in range(8):
            if j != i:
                cmds[j].send(None)
        pong = cmds[i]
        t0 = monotonic()
        v = 0
        for _ in range(rounds):
            ping.send(v)
            v = pong.recv() + 1
            if threading.get_ident() != me:
                book.error("main changed threads")
        return v, book, monotonic() - t0

    v, book, _dt = gort.run(main)
    _check(book, procs)
    assert v == 2 * rounds


# --------------------------------------------------------------------------
# Timers


@pytest.mark.parametrize("procs", PROCS)
def test_sleepers_all_wake_none_early(procs):
    n = CHAOS.n(3_000)

    def main():
        book = start_book(procs)
        done = gort.chan(n)
        rnd = random.Random(7)
        ds = [rnd.uniform(0, 0.2) for _ in range(n)]

        def sleeper(d):
            book.seen()
            t0 = monotonic()
            gort.time.sleep(d)
            late = monotonic() - t0 - d
            if late < 0:
                book.error(f"woke {-late * 1e6:.0f} us early")
            done.send(late)

        t0 = monotonic()
        for d in ds:
            gort.go(sleeper, d)
        spread(book)
        lates = [done.recv() for _ in range(n)]
        return lates, book, monotonic() - t0, numtimers()

    lates, book, wall, ntimers = gort.run(main)
    _check(book, procs)
    assert len(lates) == n and min(lates) >= 0
    assert wall < 30, wall  # generous: a noisy 2-core machine
    assert ntimers == 0


@pytest.mark.parametrize("procs", PROCS)
def test_timer_stop_reset_no_stale_value(procs):
    # A goroutine (on some M) waits on t.c while main stops or resets the
    # timer around the moment it fires (on timerproc's M).  Go 1.23: stop/
    # reset return True iff the value was still owed, and then it is never
    # received; False iff the waiter got it.
    R = CHAOS.n(400)

    def main():
        book = start_book(procs)
        rnd = random.Random(3)
        out = gort.chan(R)
        quit = gort.chan()
        owed = []

        def waiter(t, quit, started):
            book.seen()
            started.close()
            i, v, _ = gort.select(gort.recv(t.c), gort.recv(quit))
            out.send((i, v))

        for r in range(R):
            d = rnd.uniform(0, 0.002)
            t = gort.time.new_timer(d)
            started = gort.chan()
            quit = gort.chan()
            gort.go(waiter, t, quit, started)
            if r == 0:
                spread(book)
            started.recv()
            end = monotonic() + rnd.uniform(0, 0.003)
            while monotonic() < end:  # hold this M: the timer may fire on another
                pass
            res = t.stop() if r % 2 else t.reset(3600)
            when = monotonic()
            quit.close()
            i, v = out.recv()
            if res != (i == 1):
                book.error(f"round {r}: {'stop' if r % 2 else 'reset'} returned {res}, "
                           f"the waiter got case {i}")
            if i == 0 and not v <= when:
                book.error(f"round {r}: received a value due after the stop")
            if gort.select(gort.recv(t.c), default=True)[0] != -1:
                book.error(f"round {r}: a stale value after stop/reset")
            owed.append(res)
            t.stop()
        wait_until(lambda: numtimers() == 0)
        return owed, book

    owed, book = gort.run(main)
    _check(book, procs)
    assert len(owed) == R


@pytest.mark.parametrize("procs", PROCS)
def test_ticker_stop_and_reset_under_mn(procs):
    # Tickers whose receivers run on several Ms: after stop() returns no
    # tick is received, and each tick's value is a due time, increasing.
    K = 6

    def main():
        book = start_book(procs)
        quit = gort.chan()
        ticks = [[] for _ in range(K)]
        done = gort.chan(K)

        def receiver(k, tk):
            book.seen()
            while True:
                i, v, _ = gort.select(gort.recv(tk.c), gort.recv(quit))
                if i == 1:
                    break
                ticks[k].append((v, monotonic()))
            done.send(None)

        tks = [gort.time.new_ticker(0.001) for _ in range(K)]
        for k, tk in enumerate(tks):
            gort.go(receiver, k, tk)
        spread(book)
        wait_until(lambda: all(len(t) >= 3 for t in ticks))
        for tk in tks[: K // 2]:
            tk.reset(0.002)
        wait_until(lambda: all(len(t) >= 6 for t in ticks))
        stopped = []
        for tk in tks:
            tk.stop()
            stopped.append(monotonic())
        sizes = [len(t) for t in ticks]
        end = monotonic() + 0.02
        while monotonic() < end:
            gort.gosched()
        quit.close()
        for _ in range(K):
            done.recv()
        return ticks, stopped, sizes, book, numtimers()

    ticks, stopped, sizes, book, ntimers = gort.run(main)
    _check(book, procs)
    assert ntimers == 0
    for k in range(K):
        vals = [v for v, _ in ticks[k]]
        assert vals == sorted(vals) and len(set(vals)) == len(vals)
        assert all(v <= got for v, got in ticks[k])  # a due time, never ahead
        assert all(v <= stopped[k] for v in vals), "a tick due after stop()"
        # At most one tick was on its way (handed over, not yet recorded).
        assert len(ticks[k]) <= sizes[k] + 1


@pytest.mark.parametrize("procs", PROCS)
def test_after_func_runs_once(procs):
    # after_func timers fire on timerproc's M while main stops half of them
    # around their due time: f runs exactly once iff stop() returned False.
    N = CHAOS.n(600)

    def main():
        book = start_book(procs)
        _warm(book)
        rnd = random.Random(5)
        ran = []

        def f(i):
            book.seen()
            ran.append(i)

        timers = [gort.time.after_func(rnd.uniform(0, 0.01), lambda i=i: f(i))
                  for i in range(N)]
        stopped = {}
        end = monotonic() + 0.005
        while monotonic() < end:  # let some fire (on other Ms), then stop
            pass
        for i in range(0, N, 2):
            stopped[i] = timers[i].stop()
        expect = {i for i in range(N) if not stopped.get(i, False)}
        wait_until(lambda: len(ran) >= len(expect))
        wait_until(lambda: numtimers() == 0)
        # The goroutines f runs in were started before their timers left
        # the heap: once they are all gone, nothing else can run.
        wait_until(lambda: gort.num_goroutine() == 1)
        return ran, expect, book

    ran, expect, book = gort.run(main)
    _check(book, procs)
    assert len(ran) == len(set(ran))
    assert set(ran) == expect


@pytest.mark.parametrize("procs", PROCS)
def test_timer_c_first_read_from_several_ms_is_one_channel(procs):
    # Timer.c is made on its first read; goroutines on several Ms reading it
    # at once all get the same channel, and it fires once.
    R, G = 200, 6

    def main():
        book = start_book(procs)
        seen = []
        for r in range(R):
            t = gort.time.new_timer(0.0005)
            go = gort.chan()
            out = gort.chan(G)

            def reader(t=t, go=go, out=out):
                book.seen()
                go.recv()
                out.send(t.c)

            for _ in range(G):
                gort.go(reader)
            if r == 0:
                spread(book)
            go.close()
            cs = {id(out.recv()) for _ in range(G)}
            seen.append(len(cs))
            v = t.c.recv()
            if not isinstance(v, float):
                book.error(f"timer value {v!r}")
            if gort.select(gort.recv(t.c), default=True)[0] != -1:
                book.error("a second value from a one-shot timer")
        return seen, book

    seen, book = gort.run(main)
    _check(book, procs)
    assert seen == [1] * len(seen)


@pytest.mark.parametrize("procs", PROCS)
def test_chansend_nonblocking_from_many_ms(procs):
    # chansend/chanrecv with block=False (Go's lock-free fast paths, then
    # the lock) from goroutines on several Ms: every value that was
    # reported sent is received exactly once.
    G, N = 6, CHAOS.n(3_000)

    def main():
        book = start_book(procs)
        c = gort.chan(3)
        sent = []
        recvd = []
        done = gort.chan(2 * G)

        def sender(g):
            book.seen()
            for i in range(N):
                while not chansend(c, (g, i), False):
                    gort.gosched()
                sent.append((g, i))
            done.send(None)

        def receiver():
            book.seen()
            while True:
                ok, v, more = chanrecv(c, False)
                if not ok:
                    gort.gosched()
                    continue
                if not more:
                    break
                recvd.append(v)
            done.send(None)

        for g in range(G):
            gort.go(sender, g)
            gort.go(receiver)
        spread(book)
        for _ in range(G):
            done.recv()
        c.close()
        for _ in range(G):
            done.recv()
        return sent, recvd, book

    sent, recvd, book = gort.run(main)
    _check(book, procs)
    assert len(recvd) == len(set(recvd)) == G * N
    assert set(recvd) == set(sent)
