"""Issue 12 item 5: timers for goroutines that never park.

gort does not preempt, so a goroutine that polls in a loop must still let
due timers run: ``select`` with default and ``gosched`` yield to timerproc
when a timer is due, and a context reports a passed deadline by the clock
(Go: timers run on every P and a busy goroutine is preempted; Go 1.23's
timer channels check the clock when polled).  Each test runs at
GOMAXPROCS 1 and 4."""

import pytest

import gort
import gort.time as gtime
from gort import context

PROCS = pytest.mark.parametrize("procs", [1, 4])


def _work():
    return sum(range(200))  # a little CPU per poll, never a gort call


@PROCS
def test_polled_timeout_context_expires(procs):
    # The loop: select(recv(ctx.done()), default=True) plus work,
    # with with_timeout(..., 0.1): it ran past 1 s with ctx.err() None.
    def main():
        gort.gomaxprocs(procs)
        ctx, cancel = context.with_timeout(context.background(), 0.1)
        start = gtime.now()
        n = 0
        while True:
            i, _, ok = gort.select(gort.recv(ctx.done()), default=True)
            if i == 0:
                break
            _work()
            n += 1
            assert gtime.now() - start < 2.0, f"still polling after 2 s (err={ctx.err()})"
        took = gtime.now() - start
        assert not ok and ctx.err() is context.DeadlineExceeded
        cancel()
        return took, n

    took, n = gort.run(main)
    assert 0.095 <= took < 1.0 and n > 0


@PROCS
def test_polled_err_reports_deadline_by_clock(procs):
    # ctx.err() alone, never a select: the deadline is read off the clock.
    def main():
        gort.gomaxprocs(procs)
        parent, cancel = context.with_timeout(context.background(), 0.05)
        child, cancel_child = context.with_cancel(context.with_value(parent, "k", 1))
        start = gtime.now()
        while child.err() is None:
            _work()
            assert gtime.now() - start < 2.0, "child.err() still None after 2 s"
        took = gtime.now() - start
        assert child.err() is context.DeadlineExceeded
        assert parent.err() is context.DeadlineExceeded  # the owner was canceled too
        # done() is closed as well, without anything having parked.
        assert gort.select(gort.recv(child.done()), default=True)[0] == 0
        cancel_child()
        cancel()
        return took

    assert 0.045 <= gort.run(main) < 1.0


@PROCS
def test_select_default_lets_due_timers_run(procs):
    # A plain channel closed by a runtime timer (after_func): only timerproc
    # can close it, so the polling loop ends only if select lets it run.
    def main():
        gort.gomaxprocs(procs)
        done = gort.chan()
        gtime.after_func(0.05, done.close)
        start = gtime.now()
        while gort.select(gort.recv(done), default=True)[0] != 0:
            _work()
            assert gtime.now() - start < 2.0, "after_func's timer never ran"
        return gtime.now() - start

    assert 0.045 <= gort.run(main) < 1.0


@PROCS
def test_select_default_two_cases_lets_due_timers_run(procs):
    def main():
        gort.gomaxprocs(procs)
        done = gort.chan()
        other = gort.chan()
        gtime.after_func(0.05, done.close)
        start = gtime.now()
        while gort.select(gort.recv(other), gort.recv(done), default=True)[0] != 1:
            _work()
            assert gtime.now() - start < 2.0, "after_func's timer never ran"
        return gtime.now() - start

    assert 0.045 <= gort.run(main) < 1.0


@PROCS
def test_gosched_lets_due_timers_run(procs):
    def main():
        gort.gomaxprocs(procs)
        fired = []
        gtime.after_func(0.05, lambda: fired.append(gtime.now()))
        start = gtime.now()
        while not fired:
            _work()
            gort.gosched()
            assert gtime.now() - start < 2.0, "gosched never let the timer run"
        return fired[0] - start

    assert 0.045 <= gort.run(main) < 1.0


@pytest.mark.one_m
def test_select_default_without_timers_does_not_yield():
    # The default path yields only when a timer is due: with none pending,
    # a polling select must not let another goroutine in.  One M: with
    # several, the new goroutine may run on another M meanwhile.

    def main():
        ran = []
        gort.go(ran.append, 1)
        c = gort.chan()
        for _ in range(100):
            assert gort.select(gort.recv(c), default=True)[0] == -1
            assert gort.select(gort.recv(c), gort.recv(c), default=True)[0] == -1
        assert ran == []
        gort.gosched()
        assert ran == [1]

    gort.run(main)


def test_clock_expiry_leaves_no_timer_behind():
    # err() that finds the deadline passed cancels the owner as its timer
    # would, and deletes the (due, not yet run) timer: none is left.
    from gort.time import timers

    def main():
        n0 = timers.numtimers()
        ctx, cancel = context.with_timeout(context.background(), 0.02)
        assert timers.numtimers() == n0 + 1
        start = gtime.now()
        while ctx.err() is None:
            assert gtime.now() - start < 2.0
        assert timers.numtimers() == n0
        cancel()

    gort.run(main)


@PROCS
def test_polled_err_sees_a_cancel_made_by_a_timer(procs):
    # ctx.err() lets other due timers run: here the cancel comes from an
    # after_func timer, not from the context's own deadline.
    def main():
        gort.gomaxprocs(procs)
        ctx, cancel = context.with_cancel(context.background())
        gtime.after_func(0.05, cancel)
        start = gtime.now()
        while ctx.err() is None:
            _work()
            assert gtime.now() - start < 2.0, "the after_func timer never ran"
        assert ctx.err() is context.Canceled
        return gtime.now() - start

    assert 0.045 <= gort.run(main) < 1.0
