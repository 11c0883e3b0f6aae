"""sync.WaitGroup on gort's semaphores (Go: src/sync/waitgroup.go).

Go packs the counter (high 32 bits) and the number of waiters (low bits)
into one atomic 64-bit word, so that Add and Wait see both at once.  With
one M and no preemption between a read and a write, two plain ints are
just as atomic; gort keeps them as ``v`` (counter) and ``w`` (waiters),
Go's local names for the two halves.

* ``add(delta)``: a counter below zero raises "sync: negative WaitGroup
  counter" (and, unlike Go's panic, leaves the counter as it was).  When the
  counter reaches zero with waiters, the word is reset and the semaphore is
  released once per waiter.
* ``wait()``: returns at once if the counter is zero; else counts itself as
  a waiter and parks (wait reason "sync.WaitGroup.Wait").  A waiter that
  wakes to a non-zero word raises "sync: WaitGroup is reused before previous
  Wait has returned": someone called add() for a new round before the woken
  waiters ran.  That can happen in gort too, because done() does not yield.
* ``go(fn, ...)`` (Go 1.25's WaitGroup.Go): add(1), then run fn in a new
  goroutine that calls done() when fn returns (or calls gort.goexit).  If fn
  raises, done() is *not* called, as in Go: the exception ends the program
  (gort.run), and Wait must not return to race with it.

Go's "Add called concurrently with Wait" check cannot fire with one M: the
word is reset in the same step that brings the counter to zero, so a waiter
count is never left over for an Add to find.  It is kept, as Go has it, for
the day goroutines run on several Ms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..sched.proc import _Goexit, newproc
from ..sched.runtime2 import waitReasonSyncWaitGroupWait
from ..sched.sema import Sema, semacquire, semrelease
from .mutex import SyncError


class WaitGroup:
    """Wait for a group of goroutines to finish (Go: sync.WaitGroup)."""

    __slots__ = ("v", "w", "sema", "__weakref__")

    def __init__(self) -> None:
        self.v = 0  # the counter (Go: state >> 32)
        self.w = 0  # goroutines parked in wait (Go: uint32(state))
        self.sema = Sema(0)

    def __repr__(self) -> str:
        return f"<gort.sync.WaitGroup counter={self.v} waiters={self.w}>"

    def add(self, delta: int) -> None:
        """Add delta, which may be negative, to the counter (Go: Add).

        When it reaches zero, every goroutine blocked in wait() is released.
        Raises SyncError if it would go negative.
        """
        if delta.__class__ is not int:
            if not isinstance(delta, int) or isinstance(delta, bool):
                raise TypeError(f"WaitGroup.add: delta must be an int, not {type(delta).__name__}")
        v = self.v + delta
        if v < 0:
            raise SyncError("sync: negative WaitGroup counter")
        w = self.w
        if w and delta > 0 and v == delta:
            raise SyncError("sync: WaitGroup misuse: Add called concurrently with Wait")
        self.v = v
        if v > 0 or w == 0:
            return
        # The counter is zero and there are waiters: reset the word, wake them.
        self.w = 0
        s = self.sema
        for _ in range(w):
            semrelease(s)

    def done(self) -> None:
        """Decrement the counter by one (Go: Done)."""
        v = self.v - 1
        if v > 0 or (v == 0 and self.w == 0):
            self.v = v  # fast path: nobody to wake
            return
        self.add(-1)

    def wait(self) -> None:
        """Block until the counter is zero (Go: Wait)."""
        if self.v == 0:
            return
        self.w += 1
        semacquire(self.sema, False, waitReasonSyncWaitGroupWait)
        if self.v != 0 or self.w != 0:
            raise SyncError("sync: WaitGroup is reused before previous Wait has returned")

    def go(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``fn(*args, **kwargs)`` in a new goroutine counted by the
        group: add(1) now, done() when fn returns (Go 1.25: WaitGroup.Go).

        If fn raises, done() is not called and the exception is the
        goroutine's panic, as in Go.
        """
        if not callable(fn):
            raise TypeError(f"WaitGroup.go: {type(fn).__name__!r} object is not callable")
        self.add(1)
        # newproc looks two frames up for the go statement: our caller.
        newproc(_wgbody, (self, fn, args, kwargs))


def _wgbody(wg: WaitGroup, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
    try:
        fn(*args, **kwargs)
    except _Goexit:
        # Go: f completed "abruptly using goexit": still done.
        wg.done()
        raise
    wg.done()


_wgbody.gort_wraps = 1  # type: ignore[attr-defined]  # gort.trace names fn, not _wgbody
