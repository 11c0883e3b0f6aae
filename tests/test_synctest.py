"""gort.synctest: bubbles with a fake clock (Go 1.25's testing/synctest).

Cases ported from Go's src/internal/synctest/synctest_test.go (TestNow,
TestRunEmpty, TestSimpleWait, TestWait, TestTimerReadBeforeDeadline,
TestTimerReset, TestTimeAfter, TestTimerAfterBubbleExit,
TestTimerFromOutsideBubble, TestTimerRunsImmediately, TestTimerRanInPast,
TestAfterFuncRunsImmediately, TestChannelFromOutsideBubble,
TestChannelMovedOutOfBubble, TestTimerFromInsideBubble, TestDeadlockRoot,
TestDeadlockChild, TestDeadlockTicker, TestCond, TestWaitGroupInBubble,
TestWaitGroupOutOfBubble) and testing/synctest's examples.  Each runs at
GOMAXPROCS 1 and 4, as the main goroutine of gort.run (the pytest plugin's
marker), with a real-time bound: a bubble that sleeps for hours must not
take seconds.
"""

from __future__ import annotations

import time as _walltime

import pytest

import gort
import gort.sync
import gort.synctest as synctest
import gort.time
from gort.sched.synctest import EPOCH

on_p1_p4 = pytest.mark.parametrize(
    "procs", [pytest.param(n, marks=pytest.mark.gort(gomaxprocs=n, timeout=60), id=f"P{n}")
              for n in (1, 4)])


def _raises(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn()


@on_p1_p4
def test_now_starts_at_2000_and_moves_only_by_sleep(procs):
    seen = []

    def body():
        assert gort.time.now() == EPOCH
        gort.go(lambda: seen.append(gort.time.now()))  # new goroutines share the clock
        gort.time.sleep(1)
        assert gort.time.now() == EPOCH + 1
        assert gort.time.since(EPOCH) == 1

    synctest.test(body)
    assert seen == [EPOCH]


@on_p1_p4
def test_an_hour_of_sleeps_takes_no_real_time(procs):
    def body():
        t0 = gort.time.now()
        out = []

        def sleeper(d):
            gort.time.sleep(d)
            out.append((d, gort.time.now() - t0))

        for d in (3600, 1, 1800, 2):
            gort.go(sleeper, d)
        gort.time.sleep(7200)
        return out

    start = _walltime.monotonic()
    out = synctest.test(body)
    assert _walltime.monotonic() - start < 2.0
    assert out == [(1, 1), (2, 2), (1800, 1800), (3600, 3600)]


@on_p1_p4
def test_run_empty_and_simple_waits(procs):
    assert synctest.test(lambda: 42) == 42
    synctest.test(synctest.wait)

    def gowait():
        gort.go(lambda: None)
        synctest.wait()

    synctest.test(gowait)


@on_p1_p4
def test_wait_waits_for_a_chain_of_goroutines(procs):
    # TestWait: 100 goroutines hand a count down a channel; wait() returns
    # only when the last one is done.
    def body():
        done = []
        ch = gort.chan()

        def f():
            count = ch.recv()
            if count == 0:
                done.append(True)
            else:
                gort.go(f)
                ch.send(count - 1)

        gort.go(f)
        ch.send(100)
        synctest.wait()
        assert done == [True]

    synctest.test(body)


@on_p1_p4
def test_timer_read_before_and_after_its_deadline(procs):
    def before():
        start = gort.time.now()
        tm = gort.time.new_timer(5)
        assert tm.c.recv() == start + 5
        assert gort.time.since(start) == 5

    def after():
        want = gort.time.now() + 1
        tm = gort.time.new_timer(1)
        gort.time.sleep(2)
        assert tm.c.recv() == want  # the time it fired, in the past
        tm2 = gort.time.new_timer(1)
        gort.time.sleep(2)
        assert gort.select(gort.recv(tm2.c), default=True)[1] == want + 2

    synctest.test(before)
    synctest.test(after)


@on_p1_p4
def test_timer_reset(procs):
    def body():
        start = gort.time.now()
        tm = gort.time.new_timer(1)
        assert tm.c.recv() == start + 1
        tm.reset(2)
        assert tm.c.recv() == start + 3
        tm.reset(3)
        gort.time.sleep(1)
        tm.reset(3)
        assert tm.c.recv() == start + 7

    synctest.test(body)


@on_p1_p4
def test_after_func_goroutines_join_the_bubble(procs):
    # TestTimeAfter: membership propagates through AfterFunc.
    def body():
        i = []

        def f():
            i.append(1)

            def g():
                gort.time.sleep(1)
                i.append(2)

            gort.go(g)

        gort.time.after_func(1, f)
        gort.time.sleep(3)
        synctest.wait()
        return i

    assert synctest.test(body) == [1, 2]


@on_p1_p4
def test_timer_after_bubble_exit_never_runs(procs):
    run = []
    synctest.test(lambda: gort.time.after_func(1, lambda: run.append(1)))
    assert run == []


@on_p1_p4
def test_timer_from_outside_the_bubble_is_real_time(procs):
    # TestTimerFromOutsideBubble: reading it is not durable; the bubble
    # waits (really) for it.
    tm = gort.time.new_timer(0.05)
    start = _walltime.monotonic()
    synctest.test(tm.c.recv)
    assert _walltime.monotonic() - start >= 0.04
    assert not tm.stop()


@on_p1_p4
def test_zero_timers_run_without_the_bubble_blocking(procs):
    def timer0():
        start = gort.time.now()
        tm = gort.time.new_timer(0)
        i, v, ok = gort.select(gort.recv(tm.c), default=True)
        assert (i, v) == (0, start)

    def afterfunc0():
        b = []
        gort.time.after_func(0, lambda: b.append(True))
        deadline = _walltime.monotonic() + 10
        while not b:
            assert _walltime.monotonic() < deadline
            gort.gosched()

    synctest.test(timer0)
    synctest.test(afterfunc0)


@on_p1_p4
def test_ticker_in_a_bubble(procs):
    def body():
        start = gort.time.now()
        tk = gort.time.new_ticker(10)
        got = [tk.c.recv() - start for _ in range(3)]
        gort.time.sleep(35)  # a slow receiver: missed ticks are dropped
        got.append(tk.c.recv() - start)
        tk.reset(1)
        got.append(tk.c.recv() - start)
        tk.stop()
        return got

    assert synctest.test(body) == [10, 20, 30, 40, 66]  # now 65: reset(1) ticks at 66


@on_p1_p4
def test_select_over_bubble_channels_and_a_timeout(procs):
    # testing/synctest's first example: a read with a 60 s timeout.
    def read(ch):
        i, v, _ = gort.select(gort.recv(ch), gort.recv(gort.time.after(60)))
        return v if i == 0 else "timeout"

    def body():
        t0 = gort.time.now()
        assert read(gort.chan()) == "timeout"
        assert gort.time.now() - t0 == 60

    synctest.test(body)


@pytest.mark.parametrize("desc", ["read closed", "read value", "write value",
                                  "select outside only", "select mixed"])
@on_p1_p4
def test_channel_from_outside_the_bubble_is_not_durable(procs, desc):
    # TestChannelFromOutsideBubble: the bubble waits for the outside to act
    # (here after 20 ms of real time) instead of reporting a deadlock.
    outside = gort.chan()
    ch = gort.chan()

    def act():
        if desc == "read closed" or desc.startswith("select"):
            ch.close()
        elif desc == "read value":
            ch.send(0)
        else:
            ch.recv()

    def inside():
        if desc.startswith("read"):
            ch.recv()
        elif desc == "write value":
            ch.send(0)
        elif desc == "select outside only":
            gort.select(gort.recv(ch), gort.recv(outside))
        else:
            gort.select(gort.recv(ch), gort.recv(gort.chan()))

    gort.time.after_func(0.02, act)
    synctest.test(inside)


@pytest.mark.parametrize("op,want", [
    ("receive", "receive on synctest channel from outside bubble"),
    ("send", "send on synctest channel from outside bubble"),
    ("close", "close of synctest channel from outside bubble"),
    ("select", "select on synctest channel from outside bubble"),
])
@on_p1_p4
def test_channel_moved_out_of_the_bubble(procs, op, want):
    moved = []
    synctest.test(lambda: moved.append(gort.chan(1)))
    c = moved[0]

    def use(c):
        if op == "receive":
            c.recv()
        elif op == "send":
            c.send(1)
        elif op == "close":
            c.close()
        else:
            gort.select(gort.recv(c), default=True)

    _raises(lambda: use(c), synctest.SynctestBubbleError, want)
    # ...and from a different bubble.
    synctest.test(lambda: _raises(lambda: use(c), synctest.SynctestBubbleError, want))


@pytest.mark.parametrize("op,want", [
    ("read", "receive on synctest channel from outside bubble"),
    ("reset", "reset of synctest timer from outside bubble"),
    ("stop", "stop of synctest timer from outside bubble"),
])
@on_p1_p4
def test_timer_from_inside_the_bubble_used_outside(procs, op, want):
    moved = []

    def body():
        moved.append(gort.time.new_timer(1))
        moved[0].stop()

    synctest.test(body)
    tm = moved[0]
    f = {"read": lambda: tm.c.recv(), "reset": lambda: tm.reset(1), "stop": tm.stop}[op]
    _raises(f, synctest.SynctestBubbleError, want)


@on_p1_p4
def test_deadlocks_in_the_bubble(procs):
    with pytest.raises(gort.Deadlock, match="deadlock: all goroutines in bubble are blocked") as e:
        synctest.test(gort.select)
    assert "select (no cases)" in str(e.value.dump)

    def child():
        gort.go(gort.select)

    with pytest.raises(gort.Deadlock, match="main bubble goroutine has exited but blocked"):
        synctest.test(child)

    def ticker():
        def loop():
            for _ in gort.time.tick(1):
                raise AssertionError("ticker unexpectedly ran")

        gort.go(loop)

    # Time does not move once main has returned (Go: TestDeadlockTicker).
    with pytest.raises(gort.Deadlock, match="main bubble goroutine has exited but blocked"):
        synctest.test(ticker)


@on_p1_p4
def test_cond_signal_and_broadcast(procs):
    def body():
        mu = gort.sync.Mutex()
        cond = gort.sync.Cond(mu)
        start = gort.time.now()
        wait_time = 0.001

        def signaller():
            gort.time.sleep(wait_time)
            mu.lock()
            cond.signal()
            mu.unlock()
            gort.time.sleep(wait_time)
            mu.lock()
            cond.broadcast()
            mu.unlock()

        gort.go(signaller)
        mu.lock()
        cond.wait()
        mu.unlock()
        assert gort.time.since(start) == pytest.approx(wait_time, abs=1e-12)
        done = []

        def waiter():
            mu.lock()
            cond.wait()
            mu.unlock()
            done.append(True)

        gort.go(waiter)
        mu.lock()
        cond.wait()
        mu.unlock()
        synctest.wait()
        assert done == [True]
        assert gort.time.since(start) == pytest.approx(2 * wait_time, abs=1e-12)

    synctest.test(body)


@on_p1_p4
def test_waitgroup_in_and_out_of_the_bubble(procs):
    def inbubble():
        wg = gort.sync.WaitGroup()
        wg.add(1)

        def done():
            gort.time.sleep(1)
            wg.done()

        gort.go(done)
        start = gort.time.now()
        wg.wait()
        assert gort.time.since(start) == 1

    synctest.test(inbubble)

    # Add outside the bubble: its Wait inside is not durable, and the bubble
    # waits (really) for the Done.
    wg = gort.sync.WaitGroup()
    wg.add(1)
    gort.time.after_func(0.02, wg.done)
    start = _walltime.monotonic()
    synctest.test(wg.wait)
    assert _walltime.monotonic() - start >= 0.015


@on_p1_p4
def test_wait_does_not_return_while_a_goroutine_waits_on_an_outside_channel(procs):
    outside = gort.chan()
    order = []

    def body():
        gort.go(outside.recv)  # not durable
        synctest.wait()
        order.append("waited")

    def sender():
        gort.time.sleep(0.02)
        order.append("sent")
        outside.send(1)

    gort.go(sender)
    synctest.test(body)
    assert order == ["sent", "waited"]


@on_p1_p4
def test_nesting_and_misuse_are_errors(procs):
    _raises(synctest.wait, RuntimeError, "not called from within a synctest bubble")
    synctest.test(lambda: _raises(lambda: synctest.test(lambda: None), RuntimeError,
                                  "bubbles do not nest"))
    _raises(lambda: synctest.test(42), TypeError, "not callable")


@on_p1_p4
def test_exceptions_propagate_from_the_main_bubble_goroutine(procs):
    def body():
        gort.time.sleep(10)
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        synctest.test(body)


def test_lazy_runtime():
    # Without gort.run: the first gort call starts the runtime, as anywhere.
    def body():
        gort.time.sleep(60)
        return gort.time.now() - EPOCH

    assert synctest.test(body) == 60
