"""Runtime timers (gort/time/timers.py; Go: runtime/time.go): the heap, deltimer/
modtimer, seq, periodic re-arming, lazy deletion, clamping, timerproc, and how
the scheduler sees timers (starvation, checkdead)."""

import random
import time as _time
from time import monotonic

import pytest
from testutil import wait_until

import gort
import gort.time as gtime
from gort.sched import proc
from gort.time import timers
from gort.time.timers import MAXWHEN, addtimer, deltimer, modtimer, numtimers, timer


def test_fire_in_when_order_never_early():
    fired = []

    def f(arg, seq):
        fired.append((arg, monotonic()))

    def main():
        rng = random.Random(7)
        now = monotonic()
        # 0.1 s ahead: with several Ms, timerproc runs on another M while we
        # add them, so a timer due at once could fire before the count below.
        whens = [now + 0.1 + rng.uniform(0, 0.05) for _ in range(300)]
        for i, w in enumerate(whens):
            addtimer(timer(w, 0.0, f, i, 0))
        assert numtimers() == 300
        wait_until(lambda: len(fired) == 300, poll=0.001)
        order = [i for i, _ in fired]
        assert [whens[i] for i in order] == sorted(whens)
        for i, t in fired:
            assert t >= whens[i]
        assert numtimers() == 0

    gort.run(main)


def test_equal_when_fires_in_arm_order():
    fired = []

    def main():
        w = monotonic() + 0.01
        for i in range(50):
            addtimer(timer(w, 0.0, lambda a, s: fired.append(a), i, 0))
        wait_until(lambda: len(fired) == 50, poll=0.001)
        assert fired == list(range(50))

    gort.run(main)


def test_deltimer_and_modtimer():
    fired = []

    def f(arg, seq):
        fired.append((arg, seq))

    def main():
        now = monotonic()
        a = timer(now + 0.02, 0.0, f, "a", 1)
        b = timer(now + 0.03, 0.0, f, "b", 2)
        c = timer(now + 10.0, 0.0, f, "c", 3)
        for t in (a, b, c):
            addtimer(t)
        with pytest.raises(RuntimeError, match="already pending"):
            addtimer(a)
        assert deltimer(a) is True
        assert deltimer(a) is False  # already deleted
        # Move c earlier than b, with a new seq and arg: pending -> True.
        assert modtimer(c, now + 0.01, 0.0, f, "c2", 9) is True
        wait_until(lambda: len(fired) == 2, poll=0.001)
        assert fired == [("c2", 9), ("b", 2)]
        assert deltimer(b) is False  # already fired
        # modtimer of an idle timer arms it (Go 1.23's t.modify): False.
        assert modtimer(b, monotonic(), 0.0, f, "b2", 5) is False
        wait_until(lambda: len(fired) == 3, poll=0.001)
        assert fired[2] == ("b2", 5)
        # Moving a pending timer later keeps it from firing at the old time.
        t0 = monotonic()
        d = timer(t0 + 0.01, 0.0, f, "d", 0)
        addtimer(d)
        modtimer(d, t0 + 0.06, 0.0, f, "d", 1)
        gtime.sleep(0.03)
        assert len(fired) == 3
        wait_until(lambda: len(fired) == 4, poll=0.001)
        assert monotonic() >= t0 + 0.06 and fired[3] == ("d", 1)
        assert numtimers() == 0

    gort.run(main)


def test_timer0when_tracks_head():
    # Go 1.23 keeps minWhenHeap current; gort keeps sched.timer0when honest
    # while timerproc sleeps, so the scheduler and checkdead see the truth.
    def main():
        gtime.sleep(0.001)  # timerproc is running and parked
        now = monotonic()
        a = timer(now + 5, 0.0, lambda a, s: None, None, 0)
        b = timer(now + 7, 0.0, lambda a, s: None, None, 0)
        addtimer(b)
        assert proc.sched.timer0when == now + 7
        addtimer(a)
        assert proc.sched.timer0when == now + 5
        deltimer(a)
        assert proc.sched.timer0when == now + 7
        modtimer(b, now + 9, 0.0, b.f, None, 0)
        assert proc.sched.timer0when == now + 9
        deltimer(b)
        assert proc.sched.timer0when == float("inf")

    gort.run(main)


@pytest.mark.one_m
def test_periodic_rearms_from_schedule_and_skips_missed():
    # One M: "holding the thread stops timerproc" needs timerproc on this M.
    fired = []

    def main():
        period = 0.02
        t0 = monotonic()
        t = timer(t0 + period, period, lambda a, s: fired.append(monotonic()), None, 0)
        addtimer(t)
        wait_until(lambda: len(fired) >= 3, poll=0.001)
        # Each firing k is at or after t0 + k*period (re-armed from `when`,
        # not from when it ran), and when stays on the t0 + k*period grid.
        for k, ft in enumerate(fired[:3], 1):
            assert ft >= t0 + k * period
        # Hold the thread (a blocking call, no gort) across ~10 periods:
        # timerproc then fires once, not ten times, and keeps the phase.
        n = len(fired)
        _time.sleep(10 * period)
        gtime.sleep(0.001)
        gtime.sleep(0.001)
        assert len(fired) - n <= 2
        k = (t.when - t0) / period
        assert abs(k - round(k)) < 1e-6 and t.when > monotonic() - period
        assert deltimer(t) is True
        n = len(fired)
        gtime.sleep(3 * period)
        assert len(fired) == n

    gort.run(main)


def test_lazy_deletion_stays_bounded():
    def main():
        gtime.sleep(0.001)
        for _ in range(20_000):  # create+stop, one at a time
            t = gtime.after_func(10.0, lambda: None)
            t.stop()
        assert len(timers._heap) <= 2
        ts = [gtime.after_func(10.0 + i * 1e-6, lambda: None) for i in range(20_000)]
        for t in reversed(ts):  # never the head until the last: compaction
            t.stop()
        assert timers.timerslen() <= 200, timers.timerslen()
        ts = [gtime.after_func(rng, lambda: None) for rng in
              (random.Random(3).uniform(5, 10) for _ in range(20_000))]
        random.Random(4).shuffle(ts)
        for t in ts:
            assert t.stop() is True
        assert timers.timerslen() <= 200
        assert numtimers() == 0
        # Stopping everything leaves "no timer pending" for the scheduler.
        assert proc.sched.timer0when == float("inf")
        # modtimer churn on one timer (netpoll deadlines) is bounded too.
        t = timer(monotonic() + 10, 0.0, lambda a, s: None, None, 0)
        addtimer(t)
        for i in range(20_000):
            modtimer(t, monotonic() + 10 + (i % 7), 0.0, t.f, None, i)
        assert timers.timerslen() <= 200
        deltimer(t)

    gort.run(main)


def test_clamp_huge_and_nan():
    fired = []

    def main():
        t = timer(float("inf"), 0.0, lambda a, s: fired.append(a), "inf", 0)
        addtimer(t)
        assert t.when == MAXWHEN  # clamped, not wrapped into the past
        assert proc.sched.timer0when < float("inf")  # it counts as pending
        u = timer(1e300, 0.0, lambda a, s: fired.append(a), "big", 0)
        addtimer(u)
        assert u.when == MAXWHEN
        modtimer(u, 10.0 ** 200, 0.0, u.f, "big", 0)
        assert u.when == MAXWHEN
        with pytest.raises(ValueError, match="NaN"):
            addtimer(timer(float("nan"), 0.0, lambda a, s: None))
        with pytest.raises(TypeError, match="timer.when must be a number"):
            addtimer(timer("soon", 0.0, lambda a, s: None))  # type: ignore[arg-type]
        # Zero, negative and -inf when fire at once.
        for w in (0.0, -5.0, float("-inf")):
            addtimer(timer(w, 0.0, lambda a, s: fired.append(a), w, 0))
        wait_until(lambda: len(fired) == 3, poll=0.001)
        assert "inf" not in fired and "big" not in fired
        deltimer(t)
        deltimer(u)
        # A huge period clamps the re-armed time instead of overflowing
        # (Go: TestOverflowPeriodRuntimeTimer); other timers keep firing.
        p = timer(monotonic(), 1e300, lambda a, s: fired.append(a), "p", 0)
        addtimer(p)
        wait_until(lambda: "p" in fired, poll=0.001)
        assert p.when == MAXWHEN
        gtime.sleep(0.01)
        assert fired.count("p") == 1
        deltimer(p)

    gort.run(main)


def test_seq_reaches_callback():
    got = []

    def main():
        t = timer(monotonic(), 0.0, lambda a, s: got.append((a, s)), "x", 41)
        addtimer(t)
        wait_until(lambda: got, poll=0.001)
        modtimer(t, monotonic(), 0.0, t.f, "y", 42)
        wait_until(lambda: len(got) == 2, poll=0.001)
        assert got == [("x", 41), ("y", 42)]

    gort.run(main)


def test_timerproc_is_a_system_goroutine_restarted_per_run():
    def main():
        gtime.sleep(0.001)
        tp = timers._tpg
        assert tp is not None and tp.system
        assert gort.num_goroutine() == 1  # timerproc is not counted
        return tp

    g1 = gort.run(main)
    assert timers._tpg is None and numtimers() == 0
    g2 = gort.run(main)  # a new runtime gets a new timerproc
    assert g2 is not g1


def test_sleep_reuses_the_g_timer():
    def main():
        gtime.sleep(0.001)
        gp = proc.getg()
        t = gp.timer
        gtime.sleep(0.001)
        assert gp.timer is t and t.hgen == 0
        assert numtimers() == 0

    gort.run(main)


def test_callback_exception_ends_run():
    def boom(arg, seq):
        raise ValueError("bad callback")

    def main():
        addtimer(timer(monotonic(), 0.0, boom, None, 0))
        gtime.sleep(1.0)

    t0 = monotonic()
    with pytest.raises(ValueError, match="bad callback") as ei:
        gort.run(main)
    assert monotonic() - t0 < 0.9
    assert any("timer callback" in n for n in getattr(ei.value, "__notes__", []))


def test_callback_exception_lazy_runtime_keeps_timerproc(capsys):
    # No run() to end: reported like a goroutine panic, and timers go on.
    def boom(arg, seq):
        raise ValueError("bad callback")

    addtimer(timer(monotonic(), 0.0, boom, None, 0))
    gtime.sleep(0.01)
    assert "bad callback" in capsys.readouterr().err
    t0 = monotonic()
    gtime.sleep(0.01)
    assert monotonic() - t0 >= 0.01


def test_after_func_starvation():
    # Go TestAfterFuncStarvation (issue 65178): two goroutines ping-pong on a
    # 1-buffered channel, so the run queue never empties; a 1 us timer must
    # still fire and stop them.
    def main():
        stop = [False]
        c = gort.chan(1)
        done = gort.chan(2)

        def sender():
            while not stop[0]:
                c.send(True)
            c.close()
            done.send(None)

        def receiver():
            for _ in c:
                pass
            done.send(None)

        gort.go(sender)
        gort.go(receiver)
        t0 = monotonic()
        gtime.after_func(1e-6, lambda: stop.__setitem__(0, True))
        done.recv()
        done.recv()
        return monotonic() - t0

    assert gort.run(main) < 2.0


def test_checkdead_sees_pending_timer():
    # A goroutine blocked on a channel while a timer is pending is not a
    # deadlock; the timer's goroutine delivers.
    def main():
        c = gort.chan()
        gtime.after_func(0.02, lambda: c.send("late"))
        return c.recv()

    assert gort.run(main) == "late"


def test_checkdead_after_many_stops():
    # 20,000 stopped timers must not look like a pending timer: the deadlock
    # is reported at once, not when the last stopped timer would have fired.
    def main():
        for _ in range(20_000):
            gtime.new_timer(30.0).stop()
        ts = [gtime.after_func(30.0, lambda: None) for _ in range(1000)]
        for t in ts:
            t.stop()
        gort.chan().recv()

    t0 = monotonic()
    with pytest.raises(gort.Deadlock):
        gort.run(main)
    assert monotonic() - t0 < 10.0


def test_checkdead_after_runtime_deltimer():
    def main():
        t = timer(monotonic() + 60, 0.0, lambda a, s: None, None, 0)
        addtimer(t)
        gtime.sleep(0.001)
        deltimer(t)
        gort.chan().recv()

    t0 = monotonic()
    with pytest.raises(gort.Deadlock):
        gort.run(main)
    assert monotonic() - t0 < 10.0


def test_teardown_clears_heap_and_unmarks_timers():
    t = timer(monotonic() + 60, 0.0, lambda a, s: None, None, 0)

    def main():
        addtimer(t)
        assert t.hgen != 0

    gort.run(main)
    assert t.hgen == 0 and timers.timerslen() == 0 and timers._tpg is None
    # It can be armed again in the next run.
    gort.run(lambda: (addtimer(t), deltimer(t)))


def test_many_timers_due_at_once():
    # 50,000 timers due at once: one timerproc round fires them all.
    n = 50_000
    got = [0]

    def f(arg, seq):
        got[0] += 1

    def main():
        w = monotonic() + 0.01
        for _ in range(n):
            addtimer(timer(w, 0.0, f, None, 0))
        wait_until(lambda: got[0] == n, timeout=20, poll=0.001)
        assert len(timers._heap) == 0

    gort.run(main)


@pytest.mark.one_m
def test_back_to_back_due_timer_does_not_starve_goroutines():
    # A 1 ns periodic timer is due again as soon as timerproc parks; the
    # scheduler runs a due timerproc first, so timerproc leaves the others
    # a slice (_MINPARK) between passes instead of parking "due now".
    # One M's interleaving: with several, timerproc may start on another M
    # after main's 2,000 goscheds (a few ms) are over.
    fired = [0]

    def main():
        t = timer(monotonic(), 1e-9, lambda a, s: fired.__setitem__(0, fired[0] + 1), None, 0)
        addtimer(t)
        n = 0
        t0 = monotonic()
        while n < 2000:
            gort.gosched()
            n += 1
        assert monotonic() - t0 < 10
        assert fired[0] > 0
        deltimer(t)

    gort.run(main)


def test_period_below_float_resolution_does_not_hang():
    # now + 1e-20 == now in floating point: re-arming must still move on.
    fired = [0]

    def main():
        t = timer(monotonic(), 1e-20, lambda a, s: fired.__setitem__(0, fired[0] + 1), None, 0)
        addtimer(t)
        gtime.sleep(0.01)
        assert fired[0] > 0 and t.when > 0
        deltimer(t)

    gort.run(main)


@pytest.mark.parametrize("procs", [1, 4])
def test_after_func_reset_in_a_bubble_stays_on_its_clock(procs):
    # modtimer (Timer.reset of an after_func timer) once pushed a bubble's
    # timer onto the runtime's heap: it fired on the real clock, outside the
    # bubble.  Now it is deleted and added like any other: on the bubble's.
    import gort.synctest as synctest

    def body():
        fired = []
        t0 = gtime.now()
        t = gtime.after_func(5, lambda: fired.append(gtime.since(t0)))
        assert t.reset(1)
        gtime.sleep(2)
        assert fired == [1]
        assert numtimers() == 0

    def main():
        if procs > 1:
            gort.gomaxprocs(procs)
        synctest.test(body)

    start = monotonic()
    gort.run(main)
    assert monotonic() - start < 0.5  # fake time: no real second passed


def test_addtimer_deltimer_have_one_source():
    # Issue 14: the one-M and M:N forms come from one source (mnmode.specialise);
    # doaddtimer/dodeltimer are its held=True variants, not copies.
    from gort.sched.mnmode import mode

    for fn in (addtimer, deltimer, modtimer, timers.doaddtimer, timers.dodeltimer,
               timers.checkTimers, timers.chantimer.stop):
        one, many = mode.codes(fn)
        assert one is not many, fn
        assert one.co_filename == many.co_filename == timers.__file__
        assert one.co_firstlineno == many.co_firstlineno
    assert timers.doaddtimer.__wrapped_source__ is addtimer.__wrapped_source__
    # The one-M form takes no lock, the M:N form takes _tlock.
    one, many = mode.codes(addtimer)
    assert "_tlock" not in one.co_names and "_tlock" in many.co_names


def test_only_gort_time_writes_timer0when():
    # Issue 14: the timer module owns sched.timer0when; the scheduler reads
    # it and calls the hooks gort/time installs (install_timers).
    import pathlib
    import re

    root = pathlib.Path(gort.__file__).parent
    writers = set()
    for path in root.rglob("*.py"):
        # (runtime2's schedt.__init__ gives it its first value, INF)
        if re.search(r"(?<!self)\.timer0when\s*=(?!=)", path.read_text()):
            writers.add(path.relative_to(root).as_posix())
    assert writers == {"time/timers.py"}
    assert proc._checkTimers is timers.checkTimers
    assert proc._timeSleepUntil is timers.timeSleepUntil
