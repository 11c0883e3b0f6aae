"""Testing concurrent code in a bubble with a fake clock (Go: testing/synctest,
Go 1.25's Test and Wait; the runtime side is gort/sched/synctest.py).

    def test_timeout():
        def body():
            ctx, cancel = gort.context.with_timeout(gort.context.background(), 5)
            gort.time.sleep(4.999)
            assert ctx.err() is None
            gort.time.sleep(0.001)
            assert ctx.err() is gort.context.DeadlineExceeded
            cancel()
        gort.synctest.test(body)            # runs in milliseconds

``test(fn, *args)`` runs ``fn`` in a new goroutine inside a *bubble*:
goroutines it starts belong to the bubble too, and so do the channels,
timers, tickers and contexts they make.  Inside, ``gort.time`` keeps a fake
clock of its own: ``now()`` starts at 1.0 (gort/sched/synctest.py: EPOCH,
which stands for Go's 2000-01-01 00:00:00 UTC) and moves only when every
goroutine of the bubble is *durably blocked*; then it jumps to the bubble's
next timer.  A test that sleeps an
hour takes milliseconds.  ``test`` returns fn's result (or raises its
exception) once every goroutine of the bubble has exited.

``wait()`` blocks until every other goroutine of the bubble is durably
blocked: run the goroutines under test "until they are stuck", then look.

Durably blocked (Go's definition): a send or receive on a channel of the
bubble, a select over channels of the bubble only, a nil channel or an empty
select, ``sync.Cond.wait``, ``sync.WaitGroup.wait``, ``time.sleep`` (and
timer or ticker channels of the bubble), and ``wait`` itself.  Not durable:
``sync.Mutex``/``RWMutex`` locks, I/O, ``gort.blocking``, DNS lookups, and
any channel made outside the bubble -- a goroutine blocked on one of those
may be woken from outside, so time does not move and ``wait`` does not return.

Errors, as Go's panics and fatal errors: ``test`` inside a bubble
(nesting), ``wait`` outside one or from two goroutines at once, a channel of
a bubble used from outside it (``SynctestBubbleError``), and a deadlock in
the bubble -- every goroutine durably blocked and no timer to wait for --
raise ``Deadlock`` with a dump of the bubble's goroutines, including when
fn has returned and goroutines it left behind can never finish.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .hchan import SynctestBubbleError
from .sched import synctest as _st
from .sched.proc import Deadlock, _Goexit, getg, gopark, newproc, sched
from .sched.runtime2 import waitReasonSynctestRun, waitReasonSynctestWait
from .sched.traceback import goroutine_stack
from .time.timers import bubbleadvance

__all__ = ["test", "wait", "SynctestBubbleError"]


def test(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run fn(*args, **kwargs) in a new goroutine in a new bubble and wait
    for every goroutine of the bubble to exit (Go: synctest.Test).  Returns
    fn's result, or raises what fn raised."""
    if not callable(fn):
        raise TypeError(f"gort.synctest.test: {type(fn).__name__!r} object is not callable")
    root = getg()  # starts the runtime lazily, as any gort call does
    if root.bubble is not None:
        raise RuntimeError("gort.synctest.test: called from within a synctest bubble "
                           "(bubbles do not nest)")
    b = _st.synctestBubble(root)

    def body() -> None:
        try:
            b.result = fn(*args, **kwargs)
        except _Goexit:
            pass
        except BaseException as e:
            # GreenletExit (the run is being torn down) ends it like any
            # exception: the root is gone too, or will re-raise it.
            b.exc = e
        finally:
            b.done = True

    _st.bubblestart()
    try:
        root.bubble = b  # newproc takes the creator's bubble
        try:
            b.main = newproc(body, (), None)
        finally:
            root.bubble = None
        while True:
            # Parked until the bubble is idle or a timer of it is due.
            gopark(_st.rootcommit, b, waitReasonSynctestRun)
            if not b.total:
                break
            root.bubble = b  # after_func goroutines start in the bubble
            try:
                if bubbleadvance(b, False) or not _st.idle(b):
                    continue
                # Idle: nothing in the bubble can move until time does --
                # and time stops once main has returned (Go).
                if b.done or not bubbleadvance(b, True):
                    raise _deadlock(b)
            finally:
                root.bubble = None
    finally:
        _st.bubbleend()
    if b.exc is not None:
        raise b.exc
    return b.result


def wait() -> None:
    """Block until every other goroutine of the calling goroutine's bubble
    is durably blocked (Go: synctest.Wait)."""
    gp = getg()
    b = gp.bubble
    if b is None:
        raise RuntimeError("gort.synctest.wait: not called from within a synctest bubble")
    with b.lock:
        if b.waiter is not None:
            raise RuntimeError("gort.synctest.wait: called from two goroutines of one bubble "
                               "at once")
        b.waiter = gp
    # The park itself is durable; the park that leaves the bubble idle
    # (this one, or another goroutine's later) readies us (synctest.parkend).
    gopark(None, None, waitReasonSynctestWait)


def _deadlock(b: Any) -> Deadlock:
    gs = sorted((g for g in list(sched.allgs) if g.bubble is b and g is not b.root),
                key=lambda g: g.goid)
    dump = "\n\n".join(goroutine_stack(g) for g in gs)
    if b.done:
        msg = "deadlock: main bubble goroutine has exited but blocked goroutines remain"
    else:
        msg = "deadlock: all goroutines in bubble are blocked"
    err = Deadlock(msg, dump)
    if b.exc is not None:
        err.__cause__ = b.exc
    return err
