"""sync.WaitGroup on gort's semaphores (Go: src/sync/waitgroup.go).

Go packs the counter (high 32 bits) and the number of waiters (low bits)
into one atomic 64-bit word, so that Add and Wait see both at once.  gort
keeps them as ``v`` (counter) and ``w`` (waiters), Go's local names for the
two halves, and makes the word atomic the same way as the other sync types:
with one M, no goroutine gives up the thread between a read and a write
here, so plain updates are atomic; in M:N mode (``_mn``, set through proc's
mnmode's mode before a second M starts) ``WaitGroup.mu`` -- made on first
need under the module's ``_mulock``, double-checked -- guards ``v`` and
``w`` together: each of Go's Add, CAS and Load/Store of the word is one
critical section of it.  It is never held across the semaphore.

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

Go's "Add called concurrently with Wait" check: the word is reset in the
same step (one M: no switch; M:N: one critical section) that brings the
counter to zero, so a waiter count is never left over for an Add to find,
and Go's second check ("state changed between the Add and the reset") has
nothing to compare.  The first check is kept, as Go has it: it fires when
an add() that starts a new round races a wait() that counted itself in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from greenlet import getcurrent

from ..sched import synctest as _st
from ..sched.mnmode import mode
from ..sched.proc import _Goexit, getg, newproc
from ..sched.runtime2 import waitReasonSynctestWaitGroupWait, waitReasonSyncWaitGroupWait
from ..sched.sema import Sema, semacquire, semhandon, semKilledQueued, semrelease
from .mutex import SyncError

_mn = mode.register(globals())  # M:N mode: v and w change under WaitGroup.mu (see the docstring)


# Guards the first creation of a WaitGroup's ``mu`` (double-checked).
_mulock = threading.Lock()


def _mkmu(wg: WaitGroup) -> threading.Lock:
    with _mulock:
        mu = wg.mu
        if mu is None:
            mu = wg.mu = threading.Lock()
    return mu


class WaitGroup:
    """Wait for a group of goroutines to finish (Go: sync.WaitGroup)."""

    __slots__ = ("v", "w", "sema", "mu", "bubble", "__weakref__")

    def __init__(self) -> None:
        self.v = 0  # the counter (Go: state >> 32)
        self.w = 0  # goroutines parked in wait (Go: uint32(state))
        self.sema = Sema(0)
        # Makes (v, w) one atomic word, M:N only (made now under M:N).
        self.mu: threading.Lock | None = threading.Lock() if _mn else None
        self.bubble: Any = None  # the synctest bubble of its add calls (Go: wg's bubble)

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
        if _st.nbubbles:
            self._addbubble(delta)
        if _mn:
            with self.mu or _mkmu(self):
                w = self._add(delta)
        else:
            w = self._add(delta)
        if w:
            s = self.sema
            for _ in range(w):
                semrelease(s)

    def _add(self, delta: int) -> int:
        """Go's state.Add and its checks; returns how many waiters to wake.
        Under M:N the caller holds mu."""
        v = self.v + delta
        if v < 0:
            raise SyncError("sync: negative WaitGroup counter")
        w = self.w
        if w and delta > 0 and v == delta:
            raise SyncError("sync: WaitGroup misuse: Add called concurrently with Wait")
        self.v = v
        if v > 0 or w == 0:
            return 0
        # The counter is zero and there are waiters: reset the word (the
        # caller wakes them).
        self.w = 0
        return w

    def _addbubble(self, delta: int) -> None:
        """synctest: a group counted up from zero inside a bubble belongs to
        it, and a wait on it there is durable (Go 1.25's rule: Add inside
        the bubble).  Inside and outside at once is Go's fatal error."""
        gp = getattr(getcurrent(), "gort_g", None)
        b = None if gp is None else gp.bubble
        if self.v == 0:
            if delta > 0:
                self.bubble = b
        elif b is not self.bubble:
            raise SyncError("sync: WaitGroup.Add called from inside and outside synctest bubble")

    def done(self) -> None:
        """Decrement the counter by one (Go: Done)."""
        if not _mn:
            v = self.v - 1
            if v > 0 or (v == 0 and self.w == 0):
                self.v = v  # fast path: nobody to wake
                return
        self.add(-1)

    def wait(self) -> None:
        """Block until the counter is zero (Go: Wait)."""
        if _mn:
            # Go: Load, then CAS(state, state+1) counts us in as a waiter.
            with self.mu or _mkmu(self):
                if self.v == 0:
                    return
                self.w += 1
        else:
            if self.v == 0:
                return
            self.w += 1
        b = self.bubble
        # synctest: durable only on a group counted up in the caller's bubble.
        reason = (waitReasonSynctestWaitGroupWait if b is not None and b is getg().bubble
                  else waitReasonSyncWaitGroupWait)
        semacquire(self.sema, False, reason, self._waitKilled)
        if _mn:  # read after the park: the run may have gone M:N meanwhile
            with self.mu or _mkmu(self):  # Go: one Load of the word
                reused = self.v != 0 or self.w != 0
        else:
            reused = self.v != 0 or self.w != 0
        if reused:
            raise SyncError("sync: WaitGroup is reused before previous Wait has returned")

    def _waitKilled(self, how: int) -> None:
        """A waiter was killed while parked (gort only: the end of a run
        kills parked goroutines).  Still queued: it leaves the waiter count.
        Released: add() has reset the word already; take back the count it
        released for this waiter, or the next round's first wait() would
        return at once."""
        if how != semKilledQueued:
            semhandon(self.sema, False)
        elif _mn:
            with self.mu or _mkmu(self):
                if self.w > 0:
                    self.w -= 1
        elif self.w > 0:
            self.w -= 1

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
