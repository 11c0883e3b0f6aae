"""gort.context (Go's package context): cancellation trees, deadlines,
values, errors, and no goroutine or timer left behind."""

import pytest

import gort
import gort.time as gtime
from gort import context
from gort.time import timers


def closed(c):
    """Non-blocking: is the channel closed (a receive gives ok=False)?"""
    i, _, ok = gort.select(gort.recv(c), default=True)
    return i == 0 and not ok


def test_background_and_todo():
    for ctx, name in ((context.background(), "context.Background"),
                      (context.todo(), "context.TODO")):
        assert ctx.done() is gort.nilchan
        assert ctx.err() is None
        assert ctx.deadline() == (None, False)
        assert ctx.value("k") is None
        assert repr(ctx) == name
    assert context.background() is context.background()

    def main():
        # done() None is the nil channel: a select case that is never ready.
        i, _, _ = gort.select(gort.recv(context.background().done()),
                              gort.recv(gtime.after(0.01)))
        assert i == 1

    gort.run(main)


def test_errors_are_gos():
    assert str(context.Canceled) == "context canceled"
    assert str(context.DeadlineExceeded) == "context deadline exceeded"
    assert isinstance(context.DeadlineExceeded, TimeoutError)
    assert isinstance(context.Canceled, context.CanceledError)
    assert not isinstance(context.Canceled, TimeoutError)
    assert not isinstance(context.DeadlineExceeded, context.CanceledError)


def test_with_cancel():
    def main():
        bg = context.background()
        ctx, cancel = context.with_cancel(bg)
        d = ctx.done()
        assert d is ctx.done() and not closed(d)
        assert ctx.err() is None and ctx.deadline() == (None, False)
        woke = gort.chan(3)
        for _ in range(3):
            gort.go(lambda: woke.send(ctx.done().recv_ok()))
        gtime.sleep(0.001)
        cancel()
        assert closed(d) and ctx.err() is context.Canceled
        for _ in range(3):
            assert woke.recv() == (None, False)
        cancel()  # idempotent
        assert ctx.err() is context.Canceled
        assert "WithCancel" in repr(ctx)

    gort.run(main)


def test_cancel_propagates_down_not_up():
    def main():
        root, cancel_root = context.with_cancel(context.background())
        a, cancel_a = context.with_cancel(root)
        v = context.with_value(a, "k", 1)
        b, cancel_b = context.with_cancel(v)  # grandchild through a value ctx
        c, cancel_c = context.with_cancel(root)
        cancel_c()
        assert c.err() is context.Canceled
        assert root.err() is None and a.err() is None and b.err() is None
        assert c not in (root._children or {})  # left its parent
        cancel_root()
        for x in (root, a, v, b):
            assert x.err() is context.Canceled
            assert closed(x.done())
        assert b.value("k") == 1
        cancel_a()
        cancel_b()

    gort.run(main)


def test_child_of_canceled_parent_is_born_canceled():
    def main():
        p, cancel = context.with_cancel(context.background())
        cancel()
        c, cc = context.with_cancel(p)
        assert c.err() is context.Canceled and closed(c.done())
        t, tc = context.with_timeout(p, 10)
        assert t.err() is context.Canceled
        assert timers.numtimers() == 0
        cc()
        tc()

    gort.run(main)


def test_with_timeout_fires_never_early():
    def main():
        t0 = gtime.now()
        ctx, cancel = context.with_timeout(context.background(), 0.05)
        dl, ok = ctx.deadline()
        assert ok and t0 + 0.05 <= dl <= gtime.now() + 0.05
        assert ctx.err() is None
        ctx.done().recv()
        assert gtime.now() >= dl
        assert gtime.since(t0) < 1.05
        assert ctx.err() is context.DeadlineExceeded
        assert timers.numtimers() == 0
        cancel()
        assert ctx.err() is context.DeadlineExceeded  # cancel after expiry changes nothing
        assert "WithDeadline" in repr(ctx)

    gort.run(main)


def test_cancel_before_deadline_stops_timer():
    def main():
        ctx, cancel = context.with_timeout(context.background(), 10)
        assert timers.numtimers() == 1
        cancel()
        assert ctx.err() is context.Canceled
        assert timers.numtimers() == 0

    gort.run(main)


def test_deadline_in_the_past():
    def main():
        ctx, cancel = context.with_deadline(context.background(), gtime.now() - 5)
        assert ctx.err() is context.DeadlineExceeded and closed(ctx.done())
        ctx2, cancel2 = context.with_timeout(context.background(), -1)
        assert ctx2.err() is context.DeadlineExceeded
        assert timers.numtimers() == 0
        cancel()
        cancel2()

    gort.run(main)


def test_child_deadline_never_later_than_parent():
    def main():
        parent, pc = context.with_timeout(context.background(), 0.05)
        pdl, _ = parent.deadline()
        child, cc = context.with_timeout(parent, 10)
        assert child.deadline() == (pdl, True)
        assert timers.numtimers() == 1  # the child needs no timer of its own
        sooner, sc = context.with_timeout(parent, 0.01)
        sdl, _ = sooner.deadline()
        assert sdl < pdl
        sooner.done().recv()
        assert sooner.err() is context.DeadlineExceeded and parent.err() is None
        child.done().recv()
        assert gtime.now() >= pdl
        assert child.err() is context.DeadlineExceeded
        assert parent.err() is context.DeadlineExceeded
        for f in (pc, cc, sc):
            f()
        assert timers.numtimers() == 0

    gort.run(main)


def test_with_value():
    def main():
        class Key:
            pass

        k1, k2 = Key(), Key()
        bg = context.background()
        a = context.with_value(bg, k1, "a")
        b = context.with_value(a, k2, "b")
        c, cancel = context.with_cancel(b)
        d = context.with_value(c, k1, "shadow")
        assert a.value(k1) == "a" and a.value(k2) is None
        assert c.value(k1) == "a" and c.value(k2) == "b"
        assert d.value(k1) == "shadow" and d.value(k2) == "b"
        assert d.value("missing") is None
        assert d.done() is c.done() and a.done() is gort.nilchan
        assert "WithValue" in repr(b)
        cancel()
        assert d.err() is context.Canceled
        with pytest.raises(TypeError, match="nil key"):
            context.with_value(bg, None, 1)

    gort.run(main)


def test_bad_input():
    bg = context.background()
    for fn, args in ((context.with_cancel, ()), (context.with_timeout, (1,)),
                     (context.with_deadline, (1,)), (context.with_value, ("k", 1))):
        with pytest.raises(TypeError, match="nil parent"):
            fn(None, *args)
        with pytest.raises(TypeError, match="must be a Context"):
            fn("ctx", *args)
    with pytest.raises(TypeError):
        context.with_timeout(bg, "1s")
    with pytest.raises(TypeError):
        context.with_deadline(bg, None)
    with pytest.raises(ValueError, match="NaN"):
        context.with_timeout(bg, float("nan"))
    with pytest.raises(ValueError, match="NaN"):
        context.with_deadline(bg, float("nan"))


def test_custom_context_parent_is_watched():
    # A Context gort does not know: a goroutine propagates its cancel (Go
    # does the same) and ends when either side is done.
    class MyCtx(context.Context):
        def __init__(self):
            self.ch = gort.chan()
            self.e = None

        def done(self):
            return self.ch

        def err(self):
            return self.e

        def cancel(self):
            self.e = context.Canceled
            self.ch.close()

    def main():
        p = MyCtx()
        c, cancel = context.with_cancel(p)
        gtime.sleep(0.001)
        assert gort.num_goroutine() == 2  # the watcher
        p.cancel()
        c.done().recv()
        assert c.err() is context.Canceled
        gtime.sleep(0.001)
        assert gort.num_goroutine() == 1
        p2 = MyCtx()
        c2, cancel2 = context.with_cancel(p2)
        cancel2()  # the child ends first: the watcher goes too
        gtime.sleep(0.001)
        assert gort.num_goroutine() == 1
        assert p2.err() is None
        cancel()

    gort.run(main)


def test_no_leaks_after_cancel():
    def main():
        root, cancel_root = context.with_cancel(context.background())
        for _ in range(10_000):
            ctx, cancel = context.with_timeout(root, 30)
            c2, cancel2 = context.with_cancel(ctx)
            cancel2()
            cancel()
        assert not root._children
        assert timers.numtimers() == 0
        assert gort.num_goroutine() == 1
        # 10,000 live children canceled by their parent at once.
        kids = [context.with_timeout(root, 30)[0] for _ in range(10_000)]
        assert len(root._children) == 10_000
        cancel_root()
        assert all(k.err() is context.Canceled for k in kids)
        assert timers.numtimers() == 0

    gort.run(main)


def test_raise_err_does_not_grow_traceback():
    def main():
        ctx, cancel = context.with_cancel(context.background())
        cancel()
        for _ in range(50):
            try:
                raise ctx.err()
            except context.CanceledError as e:
                n, tb = 0, e.__traceback__
                while tb is not None:
                    n += 1
                    tb = tb.tb_next
        assert n <= 2

    gort.run(main)


def test_huge_timeouts_clamp():
    def main():
        bg = context.background()
        for ctx, cancel in (context.with_timeout(bg, 10 ** 400),
                            context.with_timeout(bg, float("inf")),
                            context.with_deadline(bg, 10 ** 400)):
            dl, ok = ctx.deadline()
            assert ok and dl == timers.MAXWHEN
            assert ctx.err() is None
            cancel()
            assert ctx.err() is context.Canceled
        assert timers.numtimers() == 0

    gort.run(main)


def test_select_on_done_with_work():
    # The pattern of the module docstring: whichever comes first.
    def main():
        work = gort.chan()
        t0 = gtime.now()  # before with_timeout, which reads the clock after it
        ctx, cancel = context.with_timeout(context.background(), 0.02)
        i, _, _ = gort.select(gort.recv(work), gort.recv(ctx.done()))
        assert i == 1 and gtime.since(t0) >= 0.02
        with pytest.raises(TimeoutError):
            raise ctx.err()
        cancel()

    gort.run(main)
