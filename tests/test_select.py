"""select (gort/selectgo.py): Go's runtime/chan_test.go select cases ported
(TestSelfSelect, TestSelectFairness, TestPseudoRandomSend, TestSelectStress,
TestSelectDuplicateChannel, TestNonblockSelectRace[2], TestChanSendInterface),
default, nil channels, closed channels, bad input, wait reasons, deadlocks."""

import math
import time
from collections import Counter

import pytest

import gort
from gort.sched import goroutine_dump
from gort.sched.proc import getg, sched
from gort.sched.runtime2 import _Gwaiting


def _yield(n: int = 3) -> None:
    """Let the goroutines that were readied run until they block.

    With one M, n goscheds do it (these tests check single-M order exactly).
    With several Ms (GORTMAXPROCS > 1) goroutines pinned to other Ms run in
    parallel: wait, bounded, until every other goroutine is parked or gone,
    which is what the goscheds achieve with one M."""
    for _ in range(n):
        gort.gosched()
    if gort.gomaxprocs() > 1:
        me = getg()
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            if all(g is me or g.system or g.status == _Gwaiting for g in list(sched.allgs)):
                return
            gort.gosched()


def _settle() -> int:
    """num_goroutine once readied goroutines have had their turn (several
    Ms: bounded by time instead of by goscheds)."""
    mn = gort.gomaxprocs() > 1
    deadline = time.monotonic() + 5.0
    n = 0
    while gort.num_goroutine() != 1:
        n += 1
        if (time.monotonic() > deadline) if mn else n > 100:
            break
        gort.gosched()
    return gort.num_goroutine()


# --------------------------------------------------------------------------
# Basics


def test_select_recv_ready_and_default():
    def main():
        a, b = gort.chan(1), gort.chan(1)
        assert gort.select(gort.recv(a), gort.recv(b), default=True) == (-1, None, False)
        b.send("x")
        assert gort.select(gort.recv(a), gort.recv(b), default=True) == (1, "x", True)
        a.send("y")
        assert gort.select(gort.recv(a), gort.recv(b)) == (0, "y", True)

    gort.run(main)


def test_select_send_ready_and_default():
    def main():
        a, b = gort.chan(1), gort.chan()
        assert gort.select(gort.send(a, 1), gort.send(b, 2)) == (0, None, False)
        assert gort.select(gort.send(a, 1), gort.send(b, 2), default=True) == (-1, None, False)
        got = []
        gort.go(lambda: got.append(b.recv()))
        gort.gosched()
        assert gort.select(gort.send(a, 1), gort.send(b, 2)) == (1, None, False)
        gort.gosched()
        assert got == [2] and a.recv() == 1

    gort.run(main)


def test_select_blocks_until_a_case_is_ready():
    def main():
        a, b = gort.chan(), gort.chan()
        res = []
        gort.go(lambda: res.append(gort.select(gort.recv(a), gort.recv(b))))
        _yield()
        assert res == []
        assert "[select]:" in goroutine_dump()
        b.send(42)
        _yield()
        assert res == [(1, 42, True)]
        # The losing case's sudog left a's queue.
        assert len(a.recvq) == 0 and len(b.recvq) == 0
        gort.go(lambda: res.append(gort.select(gort.send(a, "s"), gort.recv(b))))
        _yield()
        assert a.recv() == "s"
        _yield()
        assert res[-1] == (0, None, False)
        assert len(b.recvq) == 0 and len(a.sendq) == 0

    gort.run(main)


def test_select_no_cases_with_default():
    assert gort.run(lambda: gort.select(default=True)) == (-1, None, False)


def test_select_no_cases_deadlocks():
    with pytest.raises(gort.Deadlock, match="all goroutines are asleep") as ei:
        gort.run(lambda: gort.select())
    assert "goroutine 1 [select (no cases)]:" in ei.value.dump


def test_select_only_nil_channels_deadlocks():
    with pytest.raises(gort.Deadlock) as ei:
        gort.run(lambda: gort.select(gort.recv(None), gort.send(None, 1)))
    assert "goroutine 1 [select]:" in ei.value.dump


def test_select_blocked_forever_deadlocks():
    with pytest.raises(gort.Deadlock) as ei:
        gort.run(lambda: gort.select(gort.recv(gort.chan()), gort.send(gort.chan(), 1)))
    assert "goroutine 1 [select]:" in ei.value.dump


def test_single_case_select_is_the_plain_operation():
    # Go's compiler turns a one-case select into the channel operation
    # (and one case plus default into its non-blocking form).
    def main():
        c = gort.chan()
        gort.go(lambda: gort.select(gort.recv(c)))
        gort.go(lambda: gort.select(gort.send(gort.chan(), 1)))
        gort.go(lambda: gort.select(gort.recv(None)))
        _yield()
        dump = goroutine_dump()
        assert "[chan receive]:" in dump and "[chan send]:" in dump
        assert "[chan receive (nil chan)]:" in dump
        assert gort.select(gort.recv(None), default=True) == (-1, None, False)
        assert gort.select(gort.send(None, 1), default=True) == (-1, None, False)
        assert gort.select(gort.send(c, 5)) == (0, None, False)

    gort.run(main)


def test_nil_channel_cases_are_never_chosen():
    def main():
        c = gort.chan(1)
        for _ in range(200):
            c.send(1)
            assert gort.select(gort.recv(None), gort.send(None, 0), gort.recv(c)) == (2, 1, True)

    gort.run(main)


# --------------------------------------------------------------------------
# Closed channels


def test_select_recv_on_closed_channel():
    def main():
        c = gort.chan(1)
        c.send("last")
        c.close()
        assert gort.select(gort.recv(c), gort.recv(None)) == (0, "last", True)
        assert gort.select(gort.recv(c), gort.recv(None)) == (0, None, False)
        assert gort.select(gort.recv(c), default=True) == (0, None, False)

    gort.run(main)


def test_select_send_on_closed_channel_raises():
    def main():
        c = gort.chan(5)
        c.close()
        with pytest.raises(gort.ClosedChannelError, match="^send on closed channel$"):
            gort.select(gort.send(c, 1), gort.recv(gort.chan()))
        with pytest.raises(gort.ClosedChannelError, match="^send on closed channel$"):
            gort.select(gort.send(c, 1), default=True)

    gort.run(main)


def test_close_wakes_blocked_select():
    def main():
        a, b, s = gort.chan(), gort.chan(), gort.chan()
        res = []

        def sel_recv():
            res.append(gort.select(gort.recv(a), gort.recv(b)))

        def sel_send():
            try:
                gort.select(gort.send(s, 1), gort.recv(a))
            except gort.ClosedChannelError as e:
                res.append(str(e))

        gort.go(sel_recv)
        gort.go(sel_send)
        _yield()
        b.close()
        s.close()
        _yield()
        assert sorted(res, key=repr) == sorted([(1, None, False), "send on closed channel"],
                                               key=repr)
        assert len(a.recvq) == 0
        return _settle()

    assert gort.run(main) == 1


# --------------------------------------------------------------------------
# Bad input


def test_bad_cases_raise_type_error():
    def main():
        c = gort.chan(1)
        c.send(1)
        with pytest.raises(TypeError, match="case 0 is"):
            gort.select(c, gort.recv(c))  # a channel is not a case (and is not drained)
        assert len(c) == 1
        with pytest.raises(TypeError, match="case 1 is"):
            gort.select(gort.recv(c), 3)
        with pytest.raises(TypeError, match="case 0 is"):
            gort.select(("recv", c, None), gort.recv(c))
        with pytest.raises(TypeError, match="case 0 is"):
            gort.select(c)
        with pytest.raises(TypeError, match="not gort.recv"):
            gort.select([gort.recv(c)], default=True)
        with pytest.raises(TypeError, match="gort.recv: expected a Chan or None, not int"):
            gort.recv(5)
        with pytest.raises(TypeError, match="gort.send: expected a Chan or None, not str"):
            gort.send("ch", 1)
        assert len(c) == 1

    gort.run(main)


# --------------------------------------------------------------------------
# Go's chan_test.go


@pytest.mark.parametrize("cap", [0, 10])
def test_self_select(cap):
    # Go: TestSelfSelect.  Two goroutines each select to send p on c and
    # receive from c; for an unbuffered c, one select can never match its
    # own send with its own receive.
    def main():
        c = gort.chan(cap)
        done = gort.chan(2)
        errs = []

        def worker(p):
            for i in range(1000):
                if (p == 0 or i % 2 == 0):
                    idx, v, ok = gort.select(gort.send(c, p), gort.recv(c))
                    received = idx == 1
                else:
                    idx, v, ok = gort.select(gort.recv(c), gort.send(c, p))
                    received = idx == 0
                if received and cap == 0 and v == p:
                    errs.append(f"self receive: goroutine {p}, iteration {i}")
            done.send(None)

        gort.go(worker, 0)
        gort.go(worker, 1)
        done.recv()
        done.recv()
        return errs

    assert gort.run(main) == []


def test_select_fairness():
    # Go: TestSelectFairness: 10,000 selects over c3, c4 (empty) and c1, c2
    # (always ready); count(1) within 10 sigma of 5,000 (sigma = 50).
    trials = 10_000

    def main():
        c1 = gort.chan(trials + 1)
        c2 = gort.chan(trials + 1)
        for _ in range(trials + 1):
            c1.send(1)
            c2.send(2)
        c3, c4 = gort.chan(), gort.chan()
        cnt1 = cnt2 = 0
        for _ in range(trials):
            i, v, _ok = gort.select(gort.recv(c3), gort.recv(c4), gort.recv(c1), gort.recv(c2))
            assert i in (2, 3)
            if v == 1:
                cnt1 += 1
            elif v == 2:
                cnt2 += 1
        return cnt1, cnt2

    cnt1, cnt2 = gort.run(main)
    assert cnt1 + cnt2 == trials
    sigma = math.sqrt(trials * 0.25)
    assert abs(cnt1 - trials / 2) <= 10 * sigma, (cnt1, cnt2)


def test_select_uniform_among_three_ready_cases():
    n = 9_000

    def main():
        cs = [gort.chan(1) for _ in range(4)]
        counts = Counter()
        for _ in range(n):
            for ch in cs[:3]:
                if len(ch) == 0:
                    ch.send(0)
            i, _v, _ok = gort.select(*(gort.recv(ch) for ch in cs))
            counts[i] += 1
        return counts

    counts = gort.run(main)
    assert set(counts) == {0, 1, 2}
    sigma = math.sqrt(n * (1 / 3) * (2 / 3))
    for i in range(3):
        assert abs(counts[i] - n / 3) <= 8 * sigma, counts


def test_select_uniform_among_seven_ready_cases():
    # More cases than the precomputed permutations cover: Fisher-Yates.
    n, k = 14_000, 7

    def main():
        cs = [gort.chan(1) for _ in range(k + 1)]
        counts = Counter()
        for _ in range(n):
            for ch in cs[1:]:
                if len(ch) == 0:
                    ch.send(0)
            i, _v, _ok = gort.select(*(gort.recv(ch) for ch in cs))
            counts[i] += 1
        return counts

    counts = gort.run(main)
    assert set(counts) == set(range(1, k + 1))
    sigma = math.sqrt(n * (1 / k) * (1 - 1 / k))
    for i in range(1, k + 1):
        assert abs(counts[i] - n / k) <= 8 * sigma, counts


@pytest.mark.parametrize("cap", [0, 100])
def test_pseudo_random_send(cap):
    # Go: TestPseudoRandomSend: a select over two sends to the same channel
    # picks both, more than n/10 times each.
    n = 100

    def main():
        c = gort.chan(cap)
        got = []
        done = gort.chan()

        def receiver():
            for _ in range(n):
                gort.gosched()
                got.append(c.recv())
            done.send(None)

        gort.go(receiver)
        for _ in range(n):
            gort.select(gort.send(c, 1), gort.send(c, 0))
        done.recv()
        return got

    got = gort.run(main)
    assert len(got) == n
    assert got.count(0) > n // 10 and got.count(1) > n // 10, got


def test_chan_send_interface():
    # Go: TestChanSendInterface: a full channel; select sends with a default
    # take the default.
    def main():
        c = gort.chan(1)
        c.send(object())
        assert gort.select(gort.send(c, object()), default=True) == (-1, None, False)
        assert gort.select(gort.send(c, object()), gort.send(c, object()),
                           default=True) == (-1, None, False)

    gort.run(main)


def test_nonblock_select_race():
    # Go: TestNonblockSelectRace: one of c1, c2 is always ready, so the
    # non-blocking select never takes the default.
    def main():
        errs = []

        def f(c1, c2, done):
            if gort.select(gort.recv(c1), gort.recv(c2), default=True)[0] == -1:
                errs.append("default")
            done.send(None)

        for i in range(1000):
            c1, c2, done = gort.chan(1), gort.chan(1), gort.chan(1)
            c1.send(1)
            gort.go(f, c1, c2, done)
            if i % 3 == 0:
                gort.gosched()
            c2.send(1)
            if i % 3 == 1:
                gort.gosched()
            gort.select(gort.recv(c1), default=True)
            done.recv()
        return errs

    assert gort.run(main) == []


def test_nonblock_select_race2():
    # Go: TestNonblockSelectRace2: as above, with close(c2) for the send.
    def main():
        errs = []

        def f(c1, c2, done):
            if gort.select(gort.recv(c1), gort.recv(c2), default=True)[0] == -1:
                errs.append("default")
            done.send(None)

        for i in range(1000):
            c1, c2, done = gort.chan(1), gort.chan(), gort.chan(1)
            c1.send(1)
            gort.go(f, c1, c2, done)
            if i % 3 == 0:
                gort.gosched()
            c2.close()
            if i % 3 == 1:
                gort.gosched()
            gort.select(gort.recv(c1), default=True)
            done.recv()
        return errs

    assert gort.run(main) == []


def test_select_duplicate_channel():
    # Go: TestSelectDuplicateChannel: A selects on <-c, <-c, <-d; B blocks on
    # <-c; d <- 7 wakes A, which must take both its sudogs off c; then c <- 8
    # must wake B, not a stale entry of A.
    def main():
        c, d = gort.chan(), gort.chan()
        res = []
        gort.go(lambda: res.append(("A", gort.select(gort.recv(c), gort.recv(c), gort.recv(d)))))
        _yield()
        gort.go(lambda: res.append(("B", c.recv())))
        _yield()
        assert len(c.recvq) == 3
        d.send(7)
        _yield()
        assert res == [("A", (2, 7, True))]
        assert len(c.recvq) == 1
        c.send(8)
        _yield()
        assert res[1] == ("B", 8)
        return _settle()

    assert gort.run(main) == 1


def test_select_stress():
    # Go: TestSelectStress, N scaled down from 100,000: four channels (two
    # unbuffered, caps 2 and 3); a sender and a receiver per channel, plus
    # one goroutine sending N on each through a 4-case select and one
    # receiving likewise, each dropping a channel (None) when done with it.
    N = 3_000

    def main():
        c = [gort.chan(), gort.chan(), gort.chan(2), gort.chan(3)]
        done = gort.chan()
        received = Counter()  # each receiver counts its own, merged by main (M:N)

        def sender(k):
            for _ in range(N):
                c[k].send(k)
            done.send(None)

        def receiver(k):
            mine = Counter()
            for _ in range(N):
                mine[c[k].recv()] += 1
            done.send(mine)

        for k in range(4):
            gort.go(sender, k)
            gort.go(receiver, k)

        def sel_sender():
            n = [0, 0, 0, 0]
            cs = list(c)
            while any(ch is not None for ch in cs):
                i, _v, _ok = gort.select(*(gort.send(cs[k], k) for k in range(4)))
                n[i] += 1
                if n[i] == N:
                    cs[i] = None
            done.send(None)

        def sel_receiver():
            n = [0, 0, 0, 0]
            cs = list(c)
            mine = Counter()
            while any(ch is not None for ch in cs):
                i, v, ok = gort.select(*(gort.recv(cs[k]) for k in range(4)))
                assert ok and v == i
                mine[v] += 1
                n[i] += 1
                if n[i] == N:
                    cs[i] = None
            done.send(mine)

        gort.go(sel_sender)
        gort.go(sel_receiver)
        for _ in range(10):
            counts = done.recv()
            if counts is not None:
                received.update(counts)
        for ch in c:
            assert len(ch.recvq) == 0 and len(ch.sendq) == 0 and len(ch) == 0
        return received, _settle()

    received, ng = gort.run(main)
    assert received == Counter({k: 2 * N for k in range(4)})
    assert ng == 1


def test_select_many_waiters_on_shared_done_channel():
    # The pattern `select { case <-done: case v := <-work: }` in many
    # goroutines: each wake takes the goroutine's other sudog off the shared
    # channel in O(1), and nothing piles up there.
    nworkers, nitems = 300, 3000

    def main():
        done = gort.chan()
        work = [gort.chan() for _ in range(nworkers)]
        got = []  # list.append: atomic, workers may run on several Ms

        def worker(w):
            while True:
                i, v, _ok = gort.select(gort.recv(done), gort.recv(w))
                if i == 0:
                    return
                got.append(v)

        for w in work:
            gort.go(worker, w)
        _yield()
        assert len(done.recvq) == nworkers
        for k in range(nitems):
            work[k % nworkers].send(1)
        _yield()
        assert len(done.recvq) == nworkers  # exactly one sudog per waiting worker
        done.close()
        _yield()
        assert sum(got) == nitems
        return _settle()

    assert gort.run(main) == 1


def test_select_recv_from_full_buffer_with_waiting_sender_keeps_fifo():
    def main():
        c = gort.chan(2)
        c.send(1)
        c.send(2)
        gort.go(c.send, 3)
        _yield()
        out = [gort.select(gort.recv(c), gort.recv(None))[1] for _ in range(3)]
        assert out == [1, 2, 3]

    gort.run(main)


def test_lazy_deadlock_in_select_leaves_no_sudogs():
    a, b = gort.chan(), gort.chan(1)
    b.send(0)
    with pytest.raises(gort.Deadlock):
        gort.select(gort.recv(a), gort.send(b, 1))
    assert len(a.recvq) == 0 and len(b.sendq) == 0
    gort.go(a.send, "ok")
    assert gort.select(gort.recv(a), gort.send(b, 1)) == (0, "ok", True)


def test_parked_select_sudogs_in_lock_order():
    # Pass 2 chains the sudogs from g.waiting in lock order (by channel
    # identity), each queued on its channel with its case index.
    from gort.sched.proc import sched

    def main():
        cs = [gort.chan() for _ in range(5)]
        gort.go(lambda: gort.select(gort.recv(cs[0]), gort.send(cs[1], "x"), gort.recv(None),
                                    gort.recv(cs[2]), gort.recv(cs[3]), gort.send(cs[4], "y")))
        _yield()
        (gp,) = [g for g in list(sched.allgs) if g.waitreason == "select"]
        chain = []
        sg = gp.waiting
        while sg is not None:
            assert sg.isSelect and sg.g is gp
            chain.append((id(sg.c), sg.caseidx))
            sg = sg.waitlink
        assert [i for _, i in chain] != [] and sorted(chain) == chain
        assert sorted(i for _, i in chain) == [0, 1, 3, 4, 5]
        for k, ch in enumerate(cs):
            q = ch.sendq if k in (1, 4) else ch.recvq
            assert len(q) == 1
        assert cs[4].recv() == "y"
        _yield()
        for ch in cs:
            assert len(ch.sendq) == len(ch.recvq) == 0
        assert gp.waiting is None or not gp.waiting.isSelect

    gort.run(main)
