"""Go 1.20-1.21 context additions, ported from Go's src/context/x_test.go:
TestCause's table, TestCauseRace, TestWithoutCancel, the AfterFunc tests
(TestAfterFuncCalledAfterCancel/AfterTimeout/Immediately/
NotCalledAfterStop/StopRemovesChild...).  Each runs at GOMAXPROCS 1 and 4
where goroutines are involved."""

import datetime

import pytest

import gort
import gort.time as gtime
from gort import context
from gort.context import (
    Canceled,
    DeadlineExceeded,
    after_func,
    background,
    cause,
    todo,
    with_cancel,
    with_cancel_cause,
    with_deadline,
    with_deadline_cause,
    with_timeout,
    with_timeout_cause,
    with_value,
    without_cancel,
)

FOREVER = 1e6
PROCS = pytest.mark.parametrize("procs", [1, 4])

parentCause = Exception("parentCause")
childCause = Exception("childCause")
tooSlow = Exception("tooSlow")
finishedEarly = Exception("finishedEarly")


def _c_withcancel():
    ctx, cancel = with_cancel(background())
    cancel()
    return ctx


def _c_withcancelcause():
    ctx, cancel = with_cancel_cause(background())
    cancel(parentCause)
    return ctx


def _c_withcancelcause_nil():
    ctx, cancel = with_cancel_cause(background())
    cancel(None)
    return ctx


def _c_parent_before_child():
    ctx, cancel_parent = with_cancel_cause(background())
    ctx, cancel_child = with_cancel_cause(ctx)
    cancel_parent(parentCause)
    cancel_child(childCause)
    return ctx


def _c_parent_after_child():
    ctx, cancel_parent = with_cancel_cause(background())
    ctx, cancel_child = with_cancel_cause(ctx)
    cancel_child(childCause)
    cancel_parent(parentCause)
    return ctx


def _c_parent_before_nil():
    ctx, cancel_parent = with_cancel_cause(background())
    ctx, cancel_child = with_cancel(ctx)
    cancel_parent(parentCause)
    cancel_child()
    return ctx


def _c_parent_after_nil():
    ctx, cancel_parent = with_cancel_cause(background())
    ctx, cancel_child = with_cancel(ctx)
    cancel_child()
    cancel_parent(parentCause)
    return ctx


def _c_child_after_nil():
    ctx, cancel_parent = with_cancel_cause(background())
    ctx, cancel_child = with_cancel_cause(ctx)
    cancel_parent(None)
    cancel_child(childCause)
    return ctx


def _c_child_before_nil():
    ctx, cancel_parent = with_cancel_cause(background())
    ctx, cancel_child = with_cancel_cause(ctx)
    cancel_child(childCause)
    cancel_parent(None)
    return ctx


def _c_timeout():
    ctx, _ = with_timeout(background(), 0)
    return ctx


def _c_timeout_canceled():
    ctx, cancel = with_timeout(background(), FOREVER)
    cancel()
    return ctx


def _c_timeoutcause():
    ctx, _ = with_timeout_cause(background(), 0, tooSlow)
    return ctx


def _c_timeoutcause_canceled():
    ctx, cancel = with_timeout_cause(background(), FOREVER, tooSlow)
    cancel()
    return ctx


def _c_timeoutcause_stacked():
    ctx, cancel = with_cancel_cause(background())
    ctx, _ = with_timeout_cause(ctx, 0, tooSlow)
    cancel(finishedEarly)
    return ctx


def _c_timeoutcause_stacked_canceled():
    ctx, cancel = with_cancel_cause(background())
    ctx, _ = with_timeout_cause(ctx, FOREVER, tooSlow)
    cancel(finishedEarly)
    return ctx


def _c_withoutcancel():
    return without_cancel(background())


def _c_withoutcancel_canceled():
    ctx, cancel = with_cancel_cause(background())
    ctx = without_cancel(ctx)
    cancel(finishedEarly)
    return ctx


def _c_withoutcancel_timeout():
    ctx, cancel = with_timeout_cause(background(), 0, tooSlow)
    ctx = without_cancel(ctx)
    cancel()
    return ctx


# Go: TestCause's table -- name, ctx, err, cause.
CAUSES = [
    ("Background", background, None, None),
    ("TODO", todo, None, None),
    ("WithCancel", _c_withcancel, Canceled, Canceled),
    ("WithCancelCause", _c_withcancelcause, Canceled, parentCause),
    ("WithCancelCause nil", _c_withcancelcause_nil, Canceled, Canceled),
    ("parent cause before child", _c_parent_before_child, Canceled, parentCause),
    ("parent cause after child", _c_parent_after_child, Canceled, childCause),
    ("parent cause before nil", _c_parent_before_nil, Canceled, parentCause),
    ("parent cause after nil", _c_parent_after_nil, Canceled, Canceled),
    ("child cause after nil", _c_child_after_nil, Canceled, Canceled),
    ("child cause before nil", _c_child_before_nil, Canceled, childCause),
    ("WithTimeout", _c_timeout, DeadlineExceeded, DeadlineExceeded),
    ("WithTimeout canceled", _c_timeout_canceled, Canceled, Canceled),
    ("WithTimeoutCause", _c_timeoutcause, DeadlineExceeded, tooSlow),
    ("WithTimeoutCause canceled", _c_timeoutcause_canceled, Canceled, Canceled),
    ("WithTimeoutCause stacked", _c_timeoutcause_stacked, DeadlineExceeded, tooSlow),
    ("WithTimeoutCause stacked canceled", _c_timeoutcause_stacked_canceled, Canceled,
     finishedEarly),
    ("WithoutCancel", _c_withoutcancel, None, None),
    ("WithoutCancel canceled", _c_withoutcancel_canceled, None, None),
    ("WithoutCancel timeout", _c_withoutcancel_timeout, None, None),
]


@pytest.mark.parametrize("name,mk,err,want", CAUSES, ids=[c[0] for c in CAUSES])
def test_cause(name, mk, err, want):
    def main():
        ctx = mk()
        assert ctx.err() is err
        assert cause(ctx) is want
        # Derived contexts see the same cause (Go: Cause walks to the cancelCtx).
        assert cause(with_value(ctx, "k", "v")) is want
        got = cause(with_cancel(ctx)[0])
        assert got is want or (want is None and got is None)

    gort.run(main)


def test_cause_validates():
    ctx, cancel = with_cancel_cause(background())
    with pytest.raises(TypeError, match="cause must be an exception"):
        cancel("not an exception")
    cancel()
    with pytest.raises(TypeError, match="cause must be an exception"):
        with_timeout_cause(background(), 1, "slow")
    with pytest.raises(TypeError, match="nil parent"):
        without_cancel(None)


@PROCS
def test_cause_race(procs):
    # Go: TestCauseRace -- a cancel(cause) on one goroutine, cause() polled
    # on another (not done(): cause must not lose the race with the
    # cancellation): the first cause() that is set is the cause given, and
    # err() is set by then.  (Polling err() and then cause() would race
    # under M:N: the cancel can land between the two reads.)
    def main():
        gort.gomaxprocs(procs)
        for _ in range(20):
            ctx, cancel = with_cancel_cause(background())
            wg = gort.sync.WaitGroup()
            wg.add(1)

            def canceler(cancel=cancel, wg=wg):
                cancel(parentCause)
                wg.done()
            gort.go(canceler)
            while (c := cause(ctx)) is None:
                gort.gosched()
            assert c is parentCause
            assert ctx.err() is not None
            wg.wait()

    gort.run(main)


def test_without_cancel():
    # Go: TestWithoutCancel
    def main():
        key, value = object(), "value"
        ctx = with_value(background(), key, value)
        ctx, cancel = with_cancel(ctx)
        ctx, cancel_t = with_timeout(ctx, FOREVER)
        wc = without_cancel(ctx)
        assert wc.value(key) == value
        assert wc.deadline() == (None, False)
        assert wc.done() is gort.nilchan
        cancel()
        assert ctx.err() is Canceled
        assert wc.err() is None and cause(wc) is None
        assert wc.value(key) == value
        # A cancelable child of it is independent of the canceled parent.
        child, cancel_child = with_cancel(wc)
        assert child.err() is None
        cancel_child()
        assert child.err() is Canceled
        assert "WithoutCancel" in repr(wc)
        cancel_t()

    gort.run(main)


@PROCS
def test_after_func_called_after_cancel(procs):
    # Go: TestAfterFuncCalledAfterCancel
    def main():
        gort.gomaxprocs(procs)
        ctx, cancel = with_cancel(background())
        donec = gort.chan()
        stop = after_func(ctx, donec.close)
        i, _, _ = gort.select(gort.recv(donec), gort.recv(gtime.after(0.01)))
        assert i == 1, "AfterFunc called before context is done"
        cancel()
        i, _, _ = gort.select(gort.recv(donec), gort.recv(gtime.after(5)))
        assert i == 0, "AfterFunc not called after context is canceled"
        assert stop() is False, "stop() = True, want False"

    gort.run(main)


@PROCS
def test_after_func_called_after_timeout(procs):
    # Go: TestAfterFuncCalledAfterTimeout
    def main():
        gort.gomaxprocs(procs)
        ctx, cancel = with_timeout(background(), 0.005)
        donec = gort.chan()
        after_func(ctx, donec.close)
        i, _, _ = gort.select(gort.recv(donec), gort.recv(gtime.after(5)))
        assert i == 0, "AfterFunc not called after context is canceled"
        cancel()

    gort.run(main)


def test_after_func_called_immediately_and_asynchronously():
    # Go: TestAfterFuncCalledImmediately -- the context is already done; f
    # still runs in its own goroutine, not inside after_func.
    def main():
        ctx, cancel = with_cancel(background())
        cancel()
        ran = []
        me = gort.sched.getg()
        donec = gort.chan()

        def f():
            ran.append(gort.sched.getg() is not me)
            donec.close()
        after_func(ctx, f)
        assert ran == []  # not inline
        i, _, _ = gort.select(gort.recv(donec), gort.recv(gtime.after(5)))
        assert i == 0 and ran == [True]

    gort.run(main)


def test_after_func_not_called_after_stop():
    # Go: TestAfterFuncNotCalledAfterStop
    def main():
        ctx, cancel = with_cancel(background())
        donec = gort.chan()
        stop = after_func(ctx, donec.close)
        assert stop() is True, "stop() = False, want True"
        cancel()
        i, _, _ = gort.select(gort.recv(donec), gort.recv(gtime.after(0.01)))
        assert i == 1, "AfterFunc called for already-stopped context"
        assert stop() is False, "stop() = True, want False"

    gort.run(main)


def test_after_func_stop_removes_child():
    # Go: the afterFuncCtx leaves its parent's children on stop, and on
    # the parent's cancel no stale child is left behind.
    def main():
        ctx, cancel = with_cancel(background())
        stop = after_func(ctx, lambda: None)
        assert len(ctx._children or {}) == 1
        stop()
        assert not ctx._children
        cancel()

    gort.run(main)


def test_after_func_validates():
    with pytest.raises(TypeError, match="must be callable"):
        after_func(background(), 42)
    with pytest.raises(TypeError, match="nil parent"):
        after_func(None, print)


def test_after_func_on_background_never_runs():
    def main():
        ran = []
        stop = after_func(background(), lambda: ran.append(1))
        gtime.sleep(0.01)
        assert ran == [] and stop() is True and stop() is False

    gort.run(main)


def test_deadline_takes_a_datetime():
    def main():
        when = datetime.datetime.now() + datetime.timedelta(seconds=0.05)
        ctx, cancel = with_deadline(background(), when)
        dl, ok = ctx.deadline()
        assert ok and abs(dl - (gtime.now() + 0.05)) < 0.02
        ctx.done().recv()
        assert ctx.err() is DeadlineExceeded
        cancel()
        ctx, cancel = with_deadline_cause(background(), datetime.datetime(2000, 1, 1), tooSlow)
        assert ctx.err() is DeadlineExceeded and cause(ctx) is tooSlow
        cancel()

    gort.run(main)


@PROCS
def test_deadline_cause_by_timer(procs):
    # The timer (not the clock check) cancels it: main parks in recv.
    def main():
        gort.gomaxprocs(procs)
        ctx, cancel = with_timeout_cause(background(), 0.01, tooSlow)
        child, cancel_child = with_cancel(ctx)
        child.done().recv()
        assert child.err() is DeadlineExceeded and cause(child) is tooSlow
        assert cause(ctx) is tooSlow
        cancel_child()
        cancel()

    gort.run(main)


def test_context_module_exports():
    for name in ("with_cancel_cause", "cause", "with_deadline_cause", "with_timeout_cause",
                 "without_cancel", "after_func"):
        assert name in context.__all__ and callable(getattr(context, name))


def test_deadline_on_the_wall_clock_is_refused():
    # time.time() + 5 where a time on now()'s clock belongs would never
    # come: refused, as conn deadlines refuse it (docs/net.md).
    import time

    with pytest.raises(ValueError, match=r"wall-clock time \(time.time\(\)\)"):
        with_deadline(background(), time.time() + 5)
    with pytest.raises(ValueError, match="gort.context.with_deadline_cause"):
        with_deadline_cause(background(), time.time() + 5, tooSlow)
    # Far away on now()'s clock is fine (Go saturates it).
    ctx, cancel = with_deadline(background(), gtime.now() + 300 * 365 * 86400.0)
    assert ctx.err() is None
    cancel()


def test_long_timeout_is_not_taken_for_a_wall_clock_time():
    # A relative timeout that lands near time.time()'s value is still a
    # timeout: only absolute deadlines are checked.
    import time

    ctx, cancel = with_timeout(background(), time.time() - gtime.now())
    assert ctx.err() is None
    cancel()
