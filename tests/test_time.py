"""gort.time (Go's package time, 1.23 semantics): the cases of Go's
time/sleep_test.go and time/tick_test.go, restated in
/work/shared/reference/go-conformance-cases.md section D, scaled to run fast.

Never-early checks are strict; lateness bounds are generous (noisy machine).
Many tests run for both timer flavours, as Go's do: impl=chan (new_timer) and
impl=func (after_func sending into a 1-buffered channel).
"""

import gc
import random
import weakref
from datetime import timedelta

import pytest
from testutil import wait_until

import gort
import gort.time as gtime
from gort.hchan import chanrecv
from gort.sched import proc
from gort.time import timers

MAXINT64_NS = (1 << 63) - 1
MININT64_NS = -(1 << 63)


def ready(c):
    """Non-blocking receive: (got, value)."""
    i, v, _ = gort.select(gort.recv(c), default=True)
    return i == 0, v


def recv_within(c, limit):
    """Receive from c, or fail after limit seconds."""
    i, v, _ = gort.select(gort.recv(c), gort.recv(gtime.after(limit)))
    assert i == 0, f"no value within {limit}s"
    return v


class FuncTimer:
    """Go's newTimerFunc: an AfterFunc that sends Now() into a 1-buffered C."""

    def __init__(self, d):
        self.c = gort.chan(1)
        self.t = gtime.after_func(d, lambda: self.c.send(gtime.now()))

    def stop(self):
        return self.t.stop()

    def reset(self, d):
        return self.t.reset(d)


IMPLS = {"chan": gtime.new_timer, "func": FuncTimer}


# --------------------------------------------------------------------------
# D1. Sleep and After basics


def test_constants():
    assert gtime.Nanosecond == 1e-9 and gtime.Microsecond == 1e-6
    assert gtime.Millisecond == 1e-3 and gtime.Second == 1.0
    assert gtime.Minute == 60.0 and gtime.Hour == 3600.0
    # Outside a synctest bubble now() is time.monotonic().
    mono = __import__("time").monotonic
    t0 = mono()
    n = gtime.now()
    assert t0 <= n <= mono()


def test_sleep_never_early():
    def main():
        for d in (0.1, 0.01, 0.001, 1e-6, timedelta(milliseconds=20)):
            t0 = gtime.now()
            gtime.sleep(d)
            el = gtime.since(t0)
            dd = d.total_seconds() if isinstance(d, timedelta) else d
            assert dd <= el < dd + 1.0

    gort.run(main)


def test_after():
    def main():
        t0 = gtime.now()
        v = gtime.after(0.1).recv()
        el = gtime.since(t0)
        assert el >= 0.1 and v >= t0 + 0.1
        assert el < 1.1

    gort.run(main)


def test_after_tick():
    # 10 sequential After(10ms): at least 0.9 * 100 ms in total.
    def main():
        t0 = gtime.now()
        for _ in range(10):
            gtime.after(0.01).recv()
        el = gtime.since(t0)
        assert 0.1 <= el < 3.0

    gort.run(main)


@pytest.mark.parametrize("make", ["after", "tick"])
def test_after_times_value_is_fire_time(make):
    # Go TestAfterTimes/TestTickTimes: received late, the value still says
    # when the timer fired, not when it was received.
    def main():
        t0 = gtime.now()
        c = gtime.after(0.01) if make == "after" else gtime.tick(0.01)
        gtime.sleep(0.2)
        v = c.recv()
        assert v >= t0 + 0.01
        assert v - t0 < 0.15

    gort.run(main)


def test_overflow_sleep():
    def main():
        woke = []

        def forever():
            gtime.sleep(MAXINT64_NS * gtime.Nanosecond)
            woke.append(True)

        gort.go(forever)
        gort.go(lambda: gtime.sleep(float("inf")) or woke.append(True))
        t0 = gtime.now()
        i, _, _ = gort.select(gort.recv(gtime.after(MAXINT64_NS * 1e-9)),
                              gort.recv(gtime.after(0.025)))
        assert i == 1 and gtime.since(t0) >= 0.025
        i, _, _ = gort.select(gort.recv(gtime.after(10.0 ** 300)),
                              gort.recv(gtime.after(0.025)))
        assert i == 1
        t0 = gtime.now()
        gtime.sleep(MININT64_NS * 1e-9)
        gtime.sleep(float("-inf"))
        i, _, _ = gort.select(gort.recv(gtime.after(MININT64_NS * 1e-9)),
                              gort.recv(gtime.after(1.0)))
        assert i == 0 and gtime.since(t0) < 0.5
        # Huge ints clamp too (no OverflowError from the float conversion).
        from fractions import Fraction
        gort.go(lambda: gtime.sleep(10 ** 400) or woke.append(True))
        for big in (10 ** 400, Fraction(10 ** 400)):
            assert gtime.new_timer(big).stop() is True
            gtime.new_ticker(big).stop()
            assert gtime.after_func(big, lambda: None).stop() is True
        t0 = gtime.now()
        recv_within(gtime.new_timer(-(10 ** 400)).c, 1.0)
        recv_within(gtime.after(Fraction(-(10 ** 400))), 1.0)
        assert gtime.since(t0) < 0.5
        gtime.sleep(0.001)
        assert not woke

    gort.run(main)


@pytest.mark.one_m
def test_sleep_zero_returns_without_parking():
    # Go TestSleepZeroDeadlock, and Go's Sleep(d <= 0): returns at once,
    # without yielding.  One M: with several, another M may run the
    # goroutine whatever this one does.
    def main():
        ran = []
        gort.go(ran.append, 1)
        c = gort.chan(1)

        def gcloop():
            for _ in range(100):
                gc.collect(0)
                gort.gosched()

        gort.go(gcloop)
        for _ in range(100):
            gtime.sleep(0)
            gtime.sleep(-1)
            c.send(1)
            c.recv()
        assert ran == []  # sleep(0) never yielded to it
        gort.gosched()
        assert ran == [1]

    gort.run(main)


def test_bad_durations():
    def main():
        for fn in (gtime.sleep, gtime.after, gtime.new_timer, gtime.tick, gtime.new_ticker):
            for bad in (None, "1", True, b"1", [1]):
                with pytest.raises(TypeError, match="duration must be a number"):
                    fn(bad)
            with pytest.raises(ValueError, match="NaN"):
                fn(float("nan"))
        with pytest.raises(TypeError):
            gtime.after_func("1", lambda: None)
        with pytest.raises(TypeError, match="callable"):
            gtime.after_func(1, None)
        t = gtime.new_timer(1)
        with pytest.raises(TypeError):
            t.reset(True)
        with pytest.raises(ValueError):
            t.reset(float("nan"))
        assert t.stop() is True
        # Other real numbers are accepted.
        from fractions import Fraction
        gtime.sleep(Fraction(1, 1000))

    gort.run(main)


# --------------------------------------------------------------------------
# D2. AfterFunc


def test_after_func_runs_in_own_goroutines():
    # Go TestAfterFunc: each callback sleeps 1 s, yet the chain of 11
    # completes at once, because each runs in its own goroutine.
    def main():
        i = [10]
        done = gort.chan()
        goids = set()

        def f():
            goids.add(gort.sched.getg().goid)
            i[0] -= 1
            if i[0] >= 0:
                gtime.after_func(0, f)
                gtime.sleep(1.0)
            else:
                done.send(True)

        t0 = gtime.now()
        gtime.after_func(0, f)
        recv_within(done, 5.0)
        assert gtime.since(t0) < 0.9
        assert len(goids) == 11

    gort.run(main)


def test_after_func_exception_is_a_goroutine_panic():
    def main():
        gtime.after_func(0.001, lambda: 1 / 0)
        gtime.sleep(5)

    with pytest.raises(ZeroDivisionError):
        gort.run(main)


def test_timer_stop_stress():
    # Go TestTimerStopStress, scaled: 100 goroutines arm a 0.2 s func timer,
    # sleep 0.1 s and stop it; no callback may ever run.
    def main():
        fired = []
        stopped = []

        def g(i):
            t = gtime.after_func(0.2, lambda: fired.append(i))
            gtime.sleep(0.1)
            stopped.append(t.stop())

        for i in range(100):
            gort.go(g, i)
        gtime.sleep(0.3)
        assert fired == []
        assert stopped == [True] * 100

    gort.run(main)


# --------------------------------------------------------------------------
# D3. Stop and Reset semantics


@pytest.mark.parametrize("impl", IMPLS)
def test_after_stop(impl):
    def main():
        new = IMPLS[impl]
        gtime.after_func(0.1, lambda: None)
        t0 = new(0.05)
        c1 = gort.chan(1)
        t1 = gtime.after_func(0.15, lambda: c1.send(True))
        c2 = gtime.after(0.2)
        assert t0.stop() is True
        assert t1.stop() is True
        c2.recv()
        assert ready(t0.c) == (False, None)
        assert ready(c1) == (False, None)
        assert t1.stop() is False

    gort.run(main)


@pytest.mark.parametrize("impl", IMPLS)
def test_reset(impl):
    # Go TestReset: d from 10 ms, doubled until an attempt is clean.
    def attempt(d):
        new = IMPLS[impl]
        t0 = new(2 * d)
        gtime.sleep(d)
        if not t0.reset(3 * d):
            return "reset: timer was not active"
        gtime.sleep(2 * d)
        if ready(t0.c)[0]:
            return "timer fired early"
        gtime.sleep(2 * d)
        if not ready(t0.c)[0]:
            return "reset timer did not fire"
        if t0.reset(0.05):
            return "resetting expired timer returned true"
        t0.stop()
        return None

    def main():
        d = 0.01
        errs = []
        while d < 1.0:
            err = attempt(d)
            if err is None:
                return errs
            errs.append(err)
            d *= 2
        raise AssertionError(errs)

    gort.run(main)


@pytest.mark.parametrize("op", ["stop", "reset"])
@pytest.mark.parametrize("impl", IMPLS)
def test_stop_reset_result(impl, op):
    # Go TestStopResult/TestResetResult (issue 69312), scaled: False from
    # Stop/Reset means a value was or will be delivered -- a receive must
    # succeed; True means none will be.
    def main():
        new = IMPLS[impl]
        wg = gort.chan(200)

        def g():
            for _ in range(10):
                a, b = new(0.001), new(0.001)
                i, _, _ = gort.select(gort.recv(a.c), gort.recv(b.c))
                other = b if i == 0 else a
                r = other.stop() if op == "stop" else other.reset(3600)
                if not r:
                    recv_within(other.c, 2.0)
                else:
                    assert not ready(other.c)[0]
                    other.stop()
            wg.send(None)

        for _ in range(100):
            gort.go(g)
        for _ in range(100):
            recv_within(wg, 10.0)

    gort.run(main)


def test_zero_timer_stop_reset_raise():
    with pytest.raises(RuntimeError, match="Stop called on uninitialized Timer"):
        gtime.Timer().stop()
    with pytest.raises(RuntimeError, match="Reset called on uninitialized Timer"):
        gtime.Timer().reset(1)


def test_zero_timer():
    # Go TestZeroTimer (scaled): new_timer(0) then receive, many times; and
    # the "cache" flavour: one func timer reused with reset(0).
    def main():
        for _ in range(3000):
            t0 = gtime.now()
            t = gtime.new_timer(0)
            t.c.recv()
            assert gtime.since(t0) < 2.0
        ft = FuncTimer(3600)
        for i in range(3000):
            assert ft.reset(0) is (i == 0)  # only the first found it pending
            ft.c.recv()
        ft.stop()

    gort.run(main)


def test_timer_modified_earlier():
    # Go TestTimerModifiedEarlier (issue 47329), scaled.
    def main():
        past = -gtime.now() - 1e9
        for _ in range(100):
            t = FuncTimer(3600)
            for _ in range(10):
                if not t.stop():
                    t.c.recv()
                t.reset(past)
            recv_within(t.c, 8.0)

    gort.run(main)


def test_adjust_timers():
    # Go TestAdjustTimers (issue 47762): 100 func timers through the walk
    # create(0) -> receive -> Reset(1m) false -> Stop (+drain if false) ->
    # Reset(3m) false -> Stop -> Reset(2m) false -> Stop -> Reset(0) false
    # -> receive within 750 ms.
    def main():
        rng = random.Random(1)
        ts = [FuncTimer(0) for _ in range(100)]
        for t in ts:
            recv_within(t.c, 2.0)

        def step1(t):
            assert t.reset(60) is False
            if not t.stop():
                t.c.recv()

        def step2(t):
            assert t.reset(180) is False
            t.stop()

        def step3(t):
            assert t.reset(120) is False
            t.stop()

        def step4(t):
            assert t.reset(0) is False

        for step in (step1, step2, step3, step4):
            rng.shuffle(ts)
            for t in ts:
                step(t)
        t0 = gtime.now()
        for t in ts:
            recv_within(t.c, 2.0)
        assert gtime.since(t0) < 0.75 + 1.0

    gort.run(main)


# --------------------------------------------------------------------------
# D4. Tickers


def test_ticker_and_reset():
    # Go TestTicker (count 10, 20 ms): 5 ticks, Reset(2*delta), 5 more, Stop;
    # total >= 15*delta; then no tick pending after 2*delta.
    def main():
        delta = 0.02
        tk = gtime.new_ticker(delta)
        t0 = gtime.now()
        for _ in range(5):
            tk.c.recv()
        tk.reset(2 * delta)
        for _ in range(5):
            tk.c.recv()
        tk.stop()
        el = gtime.since(t0)
        assert el >= 15 * delta - 1e-9
        assert el < 15 * delta + 1.5
        gtime.sleep(2 * delta)
        assert ready(tk.c) == (False, None)

    gort.run(main)


def test_ticker_misses_ticks_and_keeps_phase():
    # A slow receiver misses ticks instead of queueing them, and the ticker
    # keeps its phase (Go: re-armed from when, skipping missed periods).
    # The value is the due time (Go 1.23), so t0 is read before the ticker
    # reads the clock: the ticks are due at creation + k*p >= t0 + k*p.
    def main():
        p = 0.05
        t0 = gtime.now()
        tk = gtime.new_ticker(p)
        t1 = gtime.now()
        gtime.sleep(5.2 * p)
        v = tk.c.recv()
        # The first tick nobody took (what a 1-slot buffer filled then
        # would hold); the other four were dropped.
        assert t0 + p <= v <= t1 + p
        # The next one is the tick due at 6p, not a queued old one.
        v2 = tk.c.recv()
        assert t0 + 6 * p <= v2 <= t1 + 6 * p
        assert gtime.since(t0) >= 6 * p
        tk.stop()
        assert len(tk.c) == 0 and tk.c.cap == 0  # Go 1.23

    gort.run(main)


def test_ticker_stress():
    # Go TestTickerStress: a 1 ns ticker, 100 ticks while another goroutine
    # loops GC + Sleep(1ns).
    def main():
        stop = [False]

        def churn():
            while not stop[0]:
                gc.collect(0)
                gtime.sleep(1e-9)

        gort.go(churn)
        tk = gtime.new_ticker(1e-9)
        for _ in range(100):
            recv_within(tk.c, 2.0)
        tk.stop()
        stop[0] = True

    gort.run(main)


def test_ticker_concurrent_stress():
    def main():
        tk = gtime.new_ticker(1e-9)
        done = gort.chan(10)

        def g():
            for _ in range(100):
                recv_within(tk.c, 2.0)
            done.send(None)

        for _ in range(10):
            gort.go(g)
        for _ in range(10):
            recv_within(done, 10.0)
        tk.stop()

    gort.run(main)


def test_teardown_tickers():
    def main():
        for _ in range(3):
            tk = gtime.new_ticker(0.02)
            tk.c.recv()
            tk.stop()
        assert timers.numtimers() == 0

    gort.run(main)


def test_tick_and_ticker_bad_intervals():
    def main():
        assert gtime.tick(-1) is None
        assert gtime.tick(0) is None
        with pytest.raises(ValueError, match="non-positive interval"):
            gtime.new_ticker(-1)
        with pytest.raises(ValueError, match="non-positive interval"):
            gtime.new_ticker(0)
        tk = gtime.new_ticker(1)
        with pytest.raises(ValueError, match="non-positive interval"):
            tk.reset(0)
        tk.stop()
        gtime.Ticker().stop()  # Go: a zero Ticker's Stop does not crash
        with pytest.raises(RuntimeError, match="uninitialized Ticker"):
            gtime.Ticker().reset(1)
        # tick(-1) is the nil channel: a select case that is never ready.
        i, _, _ = gort.select(gort.recv(gtime.tick(-1)), default=True)
        assert i == -1

    gort.run(main)


# --------------------------------------------------------------------------
# D5. Go 1.23 synchronous timer channels (TestChan, sync mode)


@pytest.mark.parametrize("kind", ["timer", "ticker"])
def test_chan_sync_semantics(kind):
    sched = 0.01
    is_ticker = kind == "ticker"

    def assert_tick(c):
        recv_within(c, 1.0)

    def no_tick(c):
        assert not ready(c)[0]
        assert len(c) == 0 and c.cap == 0

    def main():
        if is_ticker:
            t = gtime.new_ticker(10000)

            def reset(d):
                t.reset(d)
                return None
        else:
            t = gtime.new_timer(10000)
            reset = t.reset
        c = t.c
        # 1. not in a heap: stop and reset give no tick
        t.stop()
        no_tick(c)
        reset(10000)
        no_tick(c)
        # 2. fires; len and cap stay 0 even while a value is owed
        reset(1e-9)
        gtime.sleep(sched)
        assert len(c) == 0 and c.cap == 0
        assert_tick(c)
        # 3. a due value is discarded by reset
        gtime.sleep(sched)
        reset(10000)
        no_tick(c)
        # 4. a blocked receiver: reset later keeps it waiting, reset(1) wakes it
        got = gort.chan(4)
        gort.go(lambda: got.send(c.recv()))
        gtime.sleep(sched)
        assert not ready(got)[0]
        reset(20000)
        gtime.sleep(sched)
        assert not ready(got)[0]
        reset(1e-9)
        recv_within(got, 1.0)
        if not is_ticker:
            gtime.sleep(sched)
            no_tick(c)
        t.stop()
        no_tick(c)
        # 7. no stale values (proposal 37196)
        if not is_ticker:
            reset(1e-9)
            gtime.sleep(sched)
            assert t.stop() is True  # fired but not received: still owed
            no_tick(c)
            assert t.reset(3600) is False
            no_tick(c)
            assert t.reset(1e-9) is True
            assert_tick(c)
            gtime.sleep(sched)
            no_tick(c)
            assert t.reset(3600) is False
            no_tick(c)
            t.stop()
        else:
            reset(1e-9)
            gtime.sleep(sched)
            t.stop()
            no_tick(c)
            reset(3600)
            no_tick(c)
            reset(1e-9)
            assert_tick(c)
            gtime.sleep(sched)
            assert_tick(c)
            reset(3600)
            no_tick(c)
            t.stop()

    gort.run(main)


def test_select_waiters_on_stopped_timer():
    # TestChan 5 and 6: two goroutines select on C or a stop channel.
    def main():
        t = gtime.new_timer(10000)
        stop = gort.chan()
        got = gort.chan(4)

        def g():
            i, v, _ = gort.select(gort.recv(t.c), gort.recv(stop))
            got.send(i)

        gort.go(g)
        gort.go(g)
        t.reset(0.005)
        first = recv_within(got, 2.0)
        assert first == 0
        t.stop()
        stop.close()
        assert recv_within(got, 2.0) == 1  # the other one exits via stop
        assert not ready(got)[0]

    gort.run(main)


# --------------------------------------------------------------------------
# D6. GC of unreferenced timers (Go 1.23 TestTimerGC)


def test_timer_gc():
    def main():
        gtime.sleep(0.001)
        sample = gtime.after(3600)
        ref = weakref.ref(sample)
        del sample
        assert ref() is None
        for _ in range(10_000):
            gtime.after(3600)
            gtime.tick(3600)
            gtime.new_timer(3600)
            gtime.new_ticker(3600)
            gtime.new_timer(3600).stop()
            gtime.new_ticker(3600).stop()
        gc.collect()
        assert timers.numtimers() == 0
        gtime.sleep(0.01)  # timerproc pops what the collected ones left
        assert timers.timerslen() < 1000
        # A channel still held keeps its timer, even when its Timer is gone.
        c = gtime.new_timer(0.01).c
        gc.collect()
        assert recv_within(c, 2.0) > 0
        # ... and a held Timer keeps its channel's timer.
        t = gtime.new_timer(0.01)
        gc.collect()
        recv_within(t.c, 2.0)

    gort.run(main)


# --------------------------------------------------------------------------
# D6b. Go 1.23 lazy timer channels: in the heap only while someone waits


def test_chan_timer_not_in_heap_until_a_receiver_blocks():
    def main():
        base = timers.numtimers()
        t = gtime.new_timer(3600)
        tk = gtime.new_ticker(3600)
        c = gtime.after(3600)
        assert timers.numtimers() == base and timers.timerslen() == base
        got = gort.chan(2)
        gort.go(lambda: got.send(t.c.recv_ok()))
        gort.go(lambda: got.send(gort.select(gort.recv(tk.c), gort.recv(c))))
        # (all three: the select may be between tk and c on another M)
        wait_until(lambda: t._r.blocked == 1 and tk._r.blocked == 1 and c.timer.blocked == 1)
        assert c.timer.blocked == 1
        assert timers.numtimers() == base + 3  # t, tk and after's timer
        t.reset(0)  # moves it in the heap; the waiter gets the value
        v, ok = recv_within(got, 2.0)
        assert ok and v > 0 and t._r.blocked == 0
        assert timers.numtimers() == base + 2
        tk.reset(1e-3)  # a ticker with a waiter fires; the select wins it
        i, v, ok = recv_within(got, 2.0)
        assert (i, ok) == (0, True) and v > 0
        # Nobody waits any more: nothing is pending, the ticker is idle.
        assert timers.numtimers() == base
        assert tk._r.blocked == 0 and c.timer.blocked == 0 and c.timer.arg is None
        tk.stop()

    gort.run(main)


def test_chan_timer_churn_leaves_heap_empty():
    def main():
        gtime.sleep(0.001)  # starts timerproc, so that timer0when is its report
        for _ in range(20_000):
            gtime.new_timer(60).stop()
        for _ in range(2_000):
            t = gtime.new_timer(60)
            assert t.c is t.c  # the channel, made on first read, changes nothing
            assert t.reset(120) is True
            assert t.stop() is True
            assert t.stop() is False
        assert timers.timerslen() == 0 and timers.numtimers() == 0
        assert proc.sched.timer0when == float("inf")

    gort.run(main)


def test_due_timer_seen_by_nonblocking_recv_and_select_default():
    def main():
        other = gort.chan()
        t0 = gtime.now()
        a = gtime.new_timer(0.005)
        b = gtime.new_timer(0.005)
        c = gtime.new_timer(0.005)
        assert chanrecv(a.c, False) == (False, None, False)  # not due yet
        assert ready(b.c) == (False, None)
        gtime.sleep(0.02)
        assert timers.numtimers() == 0  # due, but nobody waited: not heaped
        ok, v, rok = chanrecv(a.c, False)  # Go: selectnbrecv
        assert ok and rok and t0 + 0.005 <= v <= gtime.now()
        i, v, rok = gort.select(gort.recv(other), gort.recv(b.c), default=True)
        assert i == 1 and rok and t0 + 0.005 <= v
        # A blocking receive of a due timer does not park.
        assert t0 + 0.005 <= c.c.recv() <= gtime.now()
        # Taken once: a one-shot timer is done, and stop says so.
        assert chanrecv(a.c, False)[0] is False
        assert a.stop() is False and b.stop() is False and c.stop() is False
        # Due and not received is "still owed": stop discards it.
        d = gtime.new_timer(0)
        assert d.stop() is True
        assert ready(d.c) == (False, None)

    gort.run(main)


def test_ticker_values_after_a_long_gap():
    # Nobody reads a ticker for a while: the next receive gets the due time
    # of the first tick it did not take (what Go 1.23's 1-slot buffer,
    # filled at that tick, would hold), the ticks after it are dropped, and
    # the phase is kept.
    def main():
        p = 0.05
        t0 = gtime.now()
        tk = gtime.new_ticker(p)
        t1 = gtime.now()
        gtime.sleep(5.5 * p)
        assert timers.numtimers() == 0
        i, v, _ = gort.select(gort.recv(tk.c), default=True)
        assert i == 0 and t0 + p <= v <= t1 + p
        if gtime.now() < t0 + 6 * p:  # (unless this M stalled past the next tick)
            assert ready(tk.c) == (False, None)  # the four after it are gone
        v = tk.c.recv()  # blocks until the tick on the grid after the gap
        assert t0 + 6 * p <= v <= t1 + 6 * p
        assert gtime.now() >= v
        tk.stop()
        gtime.sleep(2 * p)
        assert ready(tk.c) == (False, None)

    gort.run(main)


def test_timer_value_owed_when_select_woken_by_another_case():
    # The waiter on t.c is woken by another case before the timer fires:
    # nobody can take the value then, and it is not lost -- the next
    # receive gets it (Go buffers it; gort leaves it owed).
    def main():
        t = gtime.new_timer(0.01)
        x = gort.chan()
        got = gort.chan(1)
        gort.go(lambda: got.send(gort.select(gort.recv(t.c), gort.recv(x))[0]))
        wait_until(lambda: t._r.blocked == 1)
        x.send("x")  # readies the selecting goroutine; it has not run yet
        end = gtime.now() + 0.02
        while gtime.now() < end:  # hold the M past the timer's due time
            pass
        assert recv_within(got, 2.0) == 1
        assert t._r.blocked == 0 and timers.numtimers() == 0
        i, v, _ = gort.select(gort.recv(t.c), default=True)
        assert i == 0 and v > 0
        assert t.stop() is False

    gort.run(main)


def test_chan_timer_checkdead():
    # Go 1.23: a Timer nobody waits on is not "a timer pending" -- the
    # deadlock is reported at once ...
    def idle():
        t = gtime.new_timer(30)
        tk = gtime.new_ticker(30)
        gort.chan().recv()
        t.stop()
        tk.stop()

    t0 = gtime.now()
    with pytest.raises(gort.Deadlock):
        gort.run(idle)
    assert gtime.since(t0) < 10
    # ... and a goroutine blocked on a timer's channel is not a deadlock.
    assert gort.run(lambda: gtime.new_timer(0.02).c.recv()) > 0
    # Blocked on a stopped timer: nothing can ever fire, deadlock (Go too).
    def stopped():
        t = gtime.new_timer(30)
        t.stop()
        t.c.recv()

    with pytest.raises(gort.Deadlock):
        gort.run(stopped)


def test_chan_timer_waiter_killed_at_teardown():
    box = []

    def main():
        t = gtime.new_timer(3600)
        box.append(t)
        gort.go(t.c.recv)
        gort.go(lambda: gort.select(gort.recv(t.c), gort.recv(gort.chan())))
        wait_until(lambda: t._r.blocked == 2)
        assert timers.numtimers() == 1

    gort.run(main)  # kills both waiters
    r = box[0]._r
    assert r.blocked == 0 and r.hgen == 0 and r.arg is None
    assert timers.timerslen() == 0


def test_unreferenced_chan_timers_are_plain_garbage():
    # No cycle between a Timer, its runtime timer and its channel: with the
    # cyclic GC off, dropping the last reference frees them.
    def main():
        gc.disable()
        try:
            t = gtime.new_timer(3600)
            c = t.c
            ref = weakref.ref(c)
            del t, c
            assert ref() is None
            c = gtime.new_ticker(3600).c
            ref = weakref.ref(c)
            del c
            assert ref() is None
            # ... also after a receiver has waited on it and left.
            t = gtime.new_timer(0.001)
            t.c.recv()
            ref = weakref.ref(t.c)
            del t
            assert ref() is None
        finally:
            gc.enable()

    gort.run(main)


# --------------------------------------------------------------------------
# D7. TestAfterQueuing: ordering


def test_after_queuing():
    slots = [5, 3, 6, 6, 6, 1, 1, 2, 7, 9, 4, 8, 0]

    def attempt(delta):
        result = gort.chan(len(slots))
        t0 = gtime.now()

        def await_(slot):
            gtime.after(slot * delta).recv()
            result.send((slot, gtime.now()))

        for s in slots:
            gort.go(await_, s)
        last = -1
        for _ in slots:
            slot, t = recv_within(result, 10.0)
            if slot < last:
                return f"slot {slot} after {last}"
            if t - t0 < slot * delta:
                raise AssertionError(f"slot {slot} early: {t - t0}")
            if t - t0 > slot * delta + 10 * delta:
                return f"slot {slot} late: {t - t0}"
            last = slot
        return None

    def main():
        errs = []
        for i in range(5):
            err = attempt(0.02 + i * 0.05)
            if err is None:
                return
            errs.append(err)
        raise AssertionError(errs)

    gort.run(main)


def test_many_sleepers():
    n = 10_000

    def main():
        rng = random.Random(2)
        late = []

        def sleeper(d):
            t0 = gtime.now()
            gtime.sleep(d)
            late.append(gtime.since(t0) - d)

        for _ in range(n):
            gort.go(sleeper, rng.uniform(0, 0.2))
        while len(late) < n:
            gtime.sleep(0.01)
        assert min(late) >= 0
        late.sort()
        assert late[n // 2] < 0.5
        assert timers.numtimers() == 0
        assert gort.num_goroutine() == 1

    gort.run(main)


def test_lazy_runtime_sleep_and_after():
    # Without gort.run, as in a script or a REPL.
    t0 = gtime.now()
    gtime.sleep(0.01)
    assert gtime.since(t0) >= 0.01
    assert gtime.after(0.01).recv() >= t0 + 0.02
