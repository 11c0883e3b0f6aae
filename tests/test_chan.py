"""Channels (gort/hchan.py): Go's runtime/chan_test.go cases ported, close
semantics and panics, len/cap, iteration, the nil channel, the non-blocking
internal forms, wait reasons, deadlocks, and cleanup after a killed waiter."""

import gc
import re
import time
import weakref
from collections import Counter

import pytest

import gort
from gort.hchan import Chan, chanrecv, chansend, closechan
from gort.sched import goroutine_dump
from gort.sched.proc import getg, sched
from gort.sched.runtime2 import _Gwaiting

# TestChan runs every cap in 0..199 (0..19 in short mode), as here.
CAPS = range(200)


def _yield(n: int = 3) -> None:
    """Let the goroutines that were readied run until they block.

    With one M, n goscheds do it (these tests check single-M order exactly).
    With several Ms (GORTMAXPROCS > 1) goroutines pinned to other Ms run in
    parallel: wait, bounded, until every other goroutine is parked or gone,
    which is what the goscheds achieve with one M."""
    for _ in range(n):
        gort.gosched()
    if gort.gomaxprocs() > 1:
        _quiesce()


def _quiesce(timeout: float = 5.0) -> None:
    me = getg()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(g is me or g.system or g.status == _Gwaiting for g in list(sched.allgs)):
            return
        gort.gosched()


def _ngoroutines_after_exit() -> int:
    """num_goroutine once the goroutines that were readied have run: a
    sender readied by the last receive may not have run yet.  (Several Ms:
    bounded by time instead of by goscheds.)"""
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
# Construction, len, cap, repr


def test_chan_constructor_and_cap():
    assert gort.chan().cap == 0
    assert gort.chan(0).cap == 0
    assert gort.chan(5).cap == 5
    assert Chan(3).cap == 3
    assert isinstance(gort.chan(), gort.Chan)


@pytest.mark.parametrize("bad", [-1, -100])
def test_chan_negative_cap(bad):
    with pytest.raises(ValueError, match="negative buffer size"):
        gort.chan(bad)


@pytest.mark.parametrize("bad", ["3", 1.5, None, True, False, [1]])
def test_chan_cap_type(bad):
    with pytest.raises(TypeError, match="cap must be an int"):
        gort.chan(bad)


def test_chan_cap_int_subclass_accepted():
    import enum

    class N(enum.IntEnum):
        THREE = 3

    c = gort.chan(N.THREE)
    assert c.cap == 3 and type(c.cap) is int


def test_len_cap_like_go():
    def main():
        for cap in (0, 1, 7):
            c = gort.chan(cap)
            assert (len(c), c.cap) == (0, cap)
            for i in range(cap):
                c.send(i)
            assert (len(c), c.cap) == (cap, cap)
            c.close()
            assert (len(c), c.cap) == (cap, cap)  # close keeps buffered values

    gort.run(main)


def test_chan_is_always_true():
    c = gort.chan(4)
    assert len(c) == 0
    assert bool(c) is True


def test_chan_generic_alias():
    assert Chan[int] is not None
    assert Chan[int].__origin__ is Chan


def test_repr():
    def main():
        c = gort.chan(2)
        c.send("a")
        assert "cap=2" in repr(c) and "len=1" in repr(c)
        u = gort.chan()
        for _ in range(2):
            gort.go(u.recv)
        _yield()
        assert "2 receivers waiting" in repr(u)
        gort.go(u.send, 1)
        gort.go(u.send, 2)
        _yield()  # both receivers got a value; nothing waits
        assert "waiting" not in repr(u)
        gort.go(u.send, 3)
        _yield()
        assert "1 sender waiting" in repr(u)
        u.recv()
        c.close()
        assert "closed" in repr(c)

    gort.run(main)


# --------------------------------------------------------------------------
# TestChan, for every cap


@pytest.mark.parametrize("cap", CAPS)
def test_chan_go_testchan(cap):
    def main():
        # 1. Receive from an empty channel blocks; non-blocking receive takes
        #    the default; then two sends unblock the two receivers.
        c = gort.chan(cap)
        recv1 = []
        recv2 = []
        gort.go(lambda: recv1.append(c.recv()))
        gort.go(lambda: recv2.append(c.recv_ok()))
        _yield()
        assert recv1 == [] and recv2 == [], f"chan[{cap}]: receive from empty chan"
        assert gort.select(gort.recv(c), default=True) == (-1, None, False)
        assert chanrecv(c, False) == (False, None, False)
        c.send(0)
        c.send(0)
        _yield()
        assert recv1 == [0] and recv2 == [(0, True)]

        # 2. Send to a full channel blocks; non-blocking send takes the
        #    default; one receive unblocks it.
        c = gort.chan(cap)
        for i in range(cap):
            c.send(i)
        sent = []
        gort.go(lambda: (c.send(0), sent.append(True)))
        _yield()
        assert sent == [], f"chan[{cap}]: send to full chan"
        assert gort.select(gort.send(c, 0), default=True) == (-1, None, False)
        assert chansend(c, 0, False) is False
        c.recv()
        _yield()
        assert sent == [True]

        # 3. Close with buffered values: they drain in order, then zero
        #    values with ok False.
        c = gort.chan(cap)
        for i in range(cap):
            c.send(i)
        c.close()
        for i in range(cap):
            assert c.recv() == i
        assert c.recv() is None
        assert c.recv_ok() == (None, False)

        # 4. Close unblocks a pending receive.
        c = gort.chan(cap)
        got = []
        gort.go(lambda: got.append(c.recv_ok()))
        _yield()
        c.close()
        _yield()
        assert got == [(None, False)]

        # 5. FIFO, for both receive forms.
        c = gort.chan(cap)

        def sender():
            for i in range(100):
                c.send(i)

        gort.go(sender)
        for i in range(100):
            assert c.recv() == i
        gort.go(sender)
        for i in range(100):
            assert c.recv_ok() == (i, True)

        # 6. 4 producers x 1000 values, 4 consumers: nothing lost or doubled.
        c = gort.chan(cap)
        done = gort.chan()
        L, P = 1000, 4

        def producer():
            for i in range(L):
                c.send(i)
            done.send(None)

        def consumer():
            seen = Counter()
            for _ in range(L):
                seen[c.recv()] += 1
            done.send(seen)

        for _ in range(P):
            gort.go(producer)
            gort.go(consumer)
        total = Counter()
        for _ in range(2 * P):
            seen = done.recv()
            if seen is not None:
                total += seen
        assert total == Counter({i: P for i in range(L)})

        # 7. len/cap.
        c = gort.chan(cap)
        assert (len(c), c.cap) == (0, cap)
        for i in range(cap):
            c.send(i)
        assert (len(c), c.cap) == (cap, cap)
        return _ngoroutines_after_exit()

    assert gort.run(main) == 1


def test_nonblock_recv_race():
    # Go: TestNonblockRecvRace.  A non-blocking receive on a 1-buffered
    # channel that holds a value or is closed never takes the default.  The
    # goroutine's receive is placed before, between and after main's close
    # and receive.
    def main():
        for i in range(300):
            c = gort.chan(1)
            c.send(1)
            errs = []

            def f(c, errs):
                if gort.select(gort.recv(c), default=True)[0] == -1:
                    errs.append("chan is not ready")

            gort.go(f, c, errs)
            if i % 3 == 0:
                gort.gosched()
            c.close()
            if i % 3 == 1:
                gort.gosched()
            c.recv()
            while gort.num_goroutine() > 1:
                gort.gosched()
            assert errs == []

    gort.run(main)


# --------------------------------------------------------------------------
# Hand-offs and the buffer


def test_recv_from_full_buffer_with_waiting_sender():
    # Go's recv(): take the head of the buffer, move the waiting sender's
    # value into the tail, ready the sender.  FIFO order is kept.
    def main():
        c = gort.chan(2)
        c.send(1)
        c.send(2)
        done = []
        gort.go(lambda: (c.send(3), done.append(3)))
        _yield()
        assert done == [] and len(c) == 2
        assert c.recv() == 1
        assert len(c) == 2  # the sender's 3 went straight into the buffer
        _yield()
        assert done == [3]
        assert [c.recv(), c.recv()] == [2, 3]

    gort.run(main)


def test_unbuffered_direct_handoff_both_orders():
    def main():
        c = gort.chan()
        got = []
        gort.go(lambda: got.append(c.recv()))  # receiver first
        _yield()
        c.send("a")
        _yield()
        gort.go(c.send, "b")  # sender first
        _yield()
        got.append(c.recv())
        assert got == ["a", "b"]
        assert len(c) == 0

    gort.run(main)


def test_none_value_is_distinct_from_closed():
    def main():
        c = gort.chan(1)
        c.send(None)
        assert c.recv_ok() == (None, True)
        c.close()
        assert c.recv_ok() == (None, False)

    gort.run(main)


def test_waiting_receivers_served_fifo():
    def main():
        c = gort.chan()
        order = []
        for name in "abcd":
            gort.go(lambda n=name: order.append((n, c.recv())))
            _yield(1)  # parked on c before the next one comes (several Ms: bounded wait)
        for i in range(4):
            c.send(i)
        _yield()
        # Each receiver got the value its place in the queue entitles it to
        # (the order they then run in is runnext's business).
        assert sorted(order) == [("a", 0), ("b", 1), ("c", 2), ("d", 3)]

    gort.run(main)


def test_waiting_senders_served_fifo():
    def main():
        c = gort.chan(1)
        c.send("x")
        for name in "abc":
            gort.go(c.send, name)
            _yield(1)  # parked on c before the next one comes (several Ms: bounded wait)
        assert [c.recv() for _ in range(4)] == ["x", "a", "b", "c"]

    gort.run(main)


# --------------------------------------------------------------------------
# close


def test_close_twice_raises():
    c = gort.chan()
    c.close()
    with pytest.raises(gort.ClosedChannelError, match="^close of closed channel$"):
        c.close()


def test_close_nil_channel_raises():
    with pytest.raises(gort.ClosedChannelError, match="^close of nil channel$"):
        closechan(None)


def test_send_on_closed_raises():
    c = gort.chan(3)
    c.close()
    with pytest.raises(gort.ClosedChannelError, match="^send on closed channel$"):
        c.send(1)
    with pytest.raises(gort.ClosedChannelError, match="^send on closed channel$"):
        chansend(c, 1, False)
    with pytest.raises(gort.ClosedChannelError, match="^send on closed channel$"):
        chansend(c, 1, True)


def test_closed_channel_error_is_runtime_error():
    assert issubclass(gort.ClosedChannelError, RuntimeError)


def test_close_wakes_blocked_senders_which_raise():
    def main():
        c = gort.chan()
        errs = []

        def sender(v):
            try:
                c.send(v)
            except gort.ClosedChannelError as e:
                errs.append((v, str(e)))

        for v in range(3):
            gort.go(sender, v)
        _yield()
        c.close()
        _yield()
        assert sorted(errs) == [(v, "send on closed channel") for v in range(3)]
        return _ngoroutines_after_exit()

    assert gort.run(main) == 1


def test_close_wakes_every_receiver():
    def main():
        c = gort.chan(4)
        got = []
        for _ in range(5):
            gort.go(lambda: got.append(c.recv_ok()))
        gort.go(lambda: got.append(c.recv()))
        _yield()
        c.close()
        _yield()
        assert sorted(got, key=repr) == sorted([(None, False)] * 5 + [None], key=repr)
        return _ngoroutines_after_exit()

    assert gort.run(main) == 1


def test_uncaught_send_on_closed_in_goroutine_ends_run():
    def main():
        c = gort.chan()
        gort.go(c.send, 1)
        _yield(1)  # the sender is parked on c
        c.close()
        _yield(1)  # ...and has raised (several Ms: before main returns)

    with pytest.raises(gort.ClosedChannelError, match="send on closed channel"):
        gort.run(main)


# --------------------------------------------------------------------------
# Iteration (for v := range c)


def test_iteration_until_close():
    def main():
        c = gort.chan(3)

        def producer():
            for i in range(10):
                c.send(i)
            c.close()

        gort.go(producer)
        return list(c)

    assert gort.run(main) == list(range(10))


def test_iteration_parked_when_closed_ends():
    def main():
        c = gort.chan()
        out = []

        def consumer():
            for v in c:
                out.append(v)
            out.append("end")

        gort.go(consumer)
        _yield()
        c.send(1)
        _yield()  # the consumer parks again in the loop
        assert out == [1]
        c.close()
        _yield()
        assert out == [1, "end"]

    gort.run(main)


def test_iteration_on_closed_empty_channel():
    c = gort.chan()
    c.close()
    assert list(c) == []
    assert iter(c) is c


def test_multi_consumer():
    # Go: TestMultiConsumer, same sizes.
    nwork, niter = 23, 271_828
    pn = [2, 3, 7, 11, 13, 17, 19, 23, 27, 31]

    def main():
        q = gort.chan(nwork * 3)
        r = gort.chan(nwork * 3)
        wg = gort.chan(nwork)

        def worker(w):
            for v in q:
                if pn[w % len(pn)] == v:
                    gort.gosched()
                r.send(v)
            wg.send(w)

        for w in range(nwork):
            gort.go(worker, w)

        expect = [0, 0]

        def feeder():
            for i in range(niter):
                v = pn[i % len(pn)]
                expect[0] += 1
                expect[1] += v
                q.send(v)
            q.close()
            for _ in range(nwork):
                wg.recv()
            r.close()

        gort.go(feeder)
        n = s = 0
        for v in r:
            n += 1
            s += v
        assert n == expect[0] == niter
        assert s == expect[1]
        return _ngoroutines_after_exit()

    assert gort.run(main) == 1


# --------------------------------------------------------------------------
# Go's internal non-blocking forms (timer callbacks and drains use them)


def test_chansend_nonblocking():
    def main():
        c = gort.chan(1)
        assert chansend(c, 1, False) is True
        assert chansend(c, 2, False) is False  # full
        assert c.recv() == 1
        u = gort.chan()
        assert chansend(u, 1, False) is False  # no receiver
        got = []
        gort.go(lambda: got.append(u.recv()))
        _yield(1)  # the receiver is parked on u
        assert chansend(u, 7, False) is True  # hands off to the waiter
        _yield(1)
        assert got == [7]
        assert chansend(None, 1, False) is False
        assert chansend(u, 1, False) is False
        gort.go(lambda: got.append(u.recv()))
        assert chansend(u, 8, True) is True
        _yield(1)
        assert got == [7, 8]

    gort.run(main)


def test_chanrecv_nonblocking():
    def main():
        c = gort.chan(2)
        assert chanrecv(c, False) == (False, None, False)
        c.send("a")
        assert chanrecv(c, False) == (True, "a", True)
        u = gort.chan()
        gort.go(u.send, "b")
        _yield(1)  # the sender is parked on u
        assert chanrecv(u, False) == (True, "b", True)
        assert chanrecv(None, False) == (False, None, False)
        gort.go(u.send, "c")
        assert chanrecv(u, True) == (True, "c", True)
        c.send("d")
        c.close()
        assert chanrecv(c, False) == (True, "d", True)
        assert chanrecv(c, False) == (True, None, False)
        assert chanrecv(c, True) == (True, None, False)

    gort.run(main)


def test_nonblocking_forms_never_park():
    # Called where parking is impossible: no goroutine at all (lazy runtime
    # not even started by them).
    c = gort.chan()
    assert chansend(c, 1, False) is False
    assert chanrecv(c, False) == (False, None, False)
    assert sched.m0 is None


# --------------------------------------------------------------------------
# Wait reasons, the nil channel, deadlocks


def test_wait_reasons_in_goroutine_dump():
    def main():
        r, s = gort.chan(), gort.chan()
        gort.go(r.recv)
        gort.go(s.send, 1)
        gort.go(lambda: chanrecv(None, True))
        gort.go(lambda: chansend(None, 1, True))
        _yield()
        dump = goroutine_dump()
        for reason in ("chan receive", "chan send", "chan receive (nil chan)",
                       "chan send (nil chan)"):
            assert f"[{reason}]:" in dump, dump

    gort.run(main)


def test_deadlock_on_recv_nobody_sends():
    with pytest.raises(gort.Deadlock, match="all goroutines are asleep") as ei:
        gort.run(lambda: gort.chan().recv())
    assert "goroutine 1 [chan receive]:" in ei.value.dump


def test_deadlock_on_send_nobody_receives():
    with pytest.raises(gort.Deadlock) as ei:
        gort.run(lambda: gort.chan(1).send(1) or gort.chan().send(2))
    assert "[chan send]:" in ei.value.dump


def test_deadlock_on_nil_channel():
    with pytest.raises(gort.Deadlock) as ei:
        gort.run(lambda: chanrecv(None, True))
    assert "[chan receive (nil chan)]:" in ei.value.dump


def test_deadlock_names_every_blocked_goroutine():
    def main():
        c = gort.chan()
        gort.go(c.recv)
        gort.go(c.recv)
        gort.chan().send(0)

    with pytest.raises(gort.Deadlock) as ei:
        gort.run(main)
    dump = ei.value.dump
    assert dump.count("[chan receive]:") == 2 and dump.count("[chan send]:") == 1


# --------------------------------------------------------------------------
# A waiter that is killed leaves nothing behind; nothing is kept alive


def test_killed_waiters_leave_the_queues():
    c = gort.chan()
    b = gort.chan(1)
    b.send(0)

    def main():
        gort.go(c.recv)
        gort.go(c.send, 1)  # pairs with the receiver
        gort.go(c.recv)
        gort.go(b.send, 1)
        gort.go(lambda: gort.select(gort.recv(c), gort.send(b, 2)))
        gort.go(lambda: gort.select(gort.send(b, 3), gort.recv(c)))
        _yield()
        if gort.gomaxprocs() == 1:  # a select runs first, parks, and wins c's send
            assert "3 receivers waiting" in repr(c) and "2 senders waiting" in repr(b)
        else:
            # Several Ms: whoever pairs with c's sender, 3 receive on c and
            # 2 or 3 (both selects still parked) send on b.
            assert "3 receivers waiting" in repr(c)
            assert re.search("[23] senders waiting", repr(b))

    gort.run(main)  # main returns: the parked goroutines are killed
    assert len(c.recvq) == 0 and len(c.sendq) == 0
    assert len(b.recvq) == 0 and len(b.sendq) == 0
    # The channels work in a later run and hand nothing to a dead goroutine.
    assert gort.run(lambda: chansend(c, 1, False)) is False
    assert gort.run(lambda: (b.recv(), chansend(b, 5, False), b.recv())) == (0, True, 5)


def test_lazy_deadlock_leaves_channel_usable():
    # In a lazily started runtime the Deadlock is raised in the caller.
    c = gort.chan()
    with pytest.raises(gort.Deadlock):
        c.recv()
    assert len(c.recvq) == 0
    gort.go(c.send, "later")
    assert c.recv() == "later"


def test_values_are_not_kept_alive_by_sudogs():
    class Big:
        pass

    def main():
        c = gort.chan()
        refs = []

        def producer():
            b = Big()
            refs.append(weakref.ref(b))
            c.send(b)

        gort.go(producer)
        gort.gosched()
        v = c.recv()
        assert isinstance(v, Big)
        del v
        assert _ngoroutines_after_exit() == 1  # the producer's frame is gone
        gc.collect()
        assert refs[0]() is None

        got = []
        gort.go(lambda: got.append(c.recv()))
        gort.gosched()
        b = Big()
        r = weakref.ref(b)
        c.send(b)
        del b
        gort.gosched()
        got.clear()
        gc.collect()
        assert r() is None

    gort.run(main)


def test_mixed_simple_ops_and_select_reuse_sudogs_safely():
    # The G's own sudog (simple ops) and select's pooled sudogs alternate.
    def main():
        a, b = gort.chan(), gort.chan()
        out = []

        def peer():
            for i in range(2000):
                if i % 2:
                    a.send(i)
                else:
                    gort.select(gort.send(a, i), gort.send(b, -i))

        gort.go(peer)
        for i in range(2000):
            if i % 2:
                out.append(a.recv())
            else:
                out.append(gort.select(gort.recv(a), gort.recv(b))[1])
        assert sorted(abs(v) for v in out) == list(range(2000))
        assert len(a.recvq) == len(a.sendq) == len(b.recvq) == len(b.sendq) == 0
        return _ngoroutines_after_exit()

    assert gort.run(main) == 1
