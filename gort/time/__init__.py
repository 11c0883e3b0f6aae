"""Go's package time on gort's runtime timers: sleep, timers, tickers.

Go: src/time/sleep.go, src/time/tick.go, and the runtime side in
src/runtime/time.go (timeSleep, resetForSleep, goroutineReady, sendTime,
goFunc, when).  Semantics are Go 1.23's.

Durations and times are float seconds; ``now()`` is ``time.monotonic()``, the
clock every deadline in gort uses.  A duration may be an int or a float (or
any real number, or a ``datetime.timedelta``); a bool, a string or None is a
TypeError, NaN a ValueError.  A huge duration clamps to about 292 years (Go's
max int64 nanoseconds): it never wraps into the past.  A zero or negative
duration means "now".

Go 1.23 timer channels, and where gort differs
---------------------------------------------
* **No stale values.**  After ``stop()`` or ``reset()`` returns, no value sent
  before the call can be received.  A timer channel has a 1-slot buffer
  (``chansend(c, v, block=False)`` from timerproc must never block); stop and
  reset drain it with a non-blocking ``chanrecv`` and bump the timer's
  ``seq``, and the send callback drops a send whose ``seq`` is stale (Go:
  ``t.seq`` checked in ``unlockAndRun``).  With one M the drain alone would
  do; the seq check is what M:N will need.
* **stop/reset return "a value was still owed"** (Go 1.23): True if the timer
  was pending, or had fired but its value had not been received (the drain
  took it).  False: the value was received, or the timer was already stopped.
* ``len(t.c)`` and ``t.c.cap`` are 0, as in Go 1.23 (``Chan.timer`` is set),
  though a value may sit in the hidden 1-slot buffer.
* **Unreferenced timers are collectable** (Go 1.23 TestTimerGC).  The heap
  reaches a channel timer's channel only through a weak reference; when the
  channel is collected (nobody holds the Timer, the Ticker or the channel)
  the timer is deleted.  Go 1.23 gets the same effect by keeping a channel
  timer out of the heap until someone blocks on its channel; gort cannot see
  a receive start without hooks in chanrecv/select, so it keeps the timer in
  the heap and lets the weak reference clean up.  ``after_func`` timers are
  strongly held until they fire or are stopped, as in Go.
* The value sent is the clock when timerproc ran the timer (>= the time the
  timer was due).  Go 1.23 back-dates it to the due time because it sends
  lazily at receive time; gort sends when it fires, so the value already says
  when it fired, not when it was received.
* ``sleep(d)`` with d <= 0 returns at once without yielding, as Go's Sleep
  does (gevent's ``sleep(0)`` yields; in gort use ``gort.gosched()`` for that).
  ``sleep`` reuses one runtime timer per goroutine (Go: ``gp.timer``) and arms
  it in gopark's unlockf (Go: ``resetForSleep``), so it cannot fire before the
  goroutine is parked.
* ``tick(d)`` with d <= 0 returns None (Go: nil), which ``gort.select`` treats
  as a never-ready channel.  ``new_ticker`` and ``Ticker.reset`` with d <= 0
  raise ValueError (Go panics).
"""

from __future__ import annotations

import numbers
import weakref
from collections.abc import Callable
from datetime import timedelta
from time import monotonic
from typing import Any

from gort.chan import Chan, chanrecv, chansend
from gort.sched.proc import getg, gopark, goready, newproc
from gort.sched.runtime2 import G, _Gwaiting, waitReasonSleep

from .timers import MAXWHEN, _killtimer, addtimer, deltimer, modtimer, timer

__all__ = [
    "Nanosecond", "Microsecond", "Millisecond", "Second", "Minute", "Hour",
    "Timer", "Ticker", "after", "after_func", "new_ticker", "new_timer", "now", "since",
    "sleep", "tick",
]

Nanosecond = 1e-9
Microsecond = 1e-6
Millisecond = 1e-3
Second = 1.0
Minute = 60.0
Hour = 3600.0

# The clock of every time and deadline in gort (Go: time.Now, monotonic part).
now = monotonic


def since(t: float) -> float:
    """Seconds elapsed since ``t``, a time from ``now()`` (Go: time.Since)."""
    return monotonic() - t


def _dur(d: Any, what: str) -> float:
    """Slow path: a duration that is not a plain int or float."""
    if isinstance(d, bool) or not isinstance(d, (numbers.Real, timedelta)):
        raise TypeError(f"gort.time.{what}: duration must be a number of seconds "
                        f"(int or float), not {type(d).__name__}")
    try:
        d = d.total_seconds() if isinstance(d, timedelta) else float(d)
    except OverflowError:  # a huge int-like: clamps like any huge duration
        d = float("inf") if d > 0 else float("-inf")
    if d != d:
        raise ValueError(f"gort.time.{what}: duration is NaN")
    return d


def _when(d: Any, what: str) -> float:
    """The absolute time d seconds from now, clamped (Go: runtime's when(d))."""
    tp = type(d)
    if tp is not float and tp is not int:
        d = _dur(d, what)
    if d > 0:
        if d >= MAXWHEN:  # also keeps a huge int from overflowing the float add
            return MAXWHEN
        w = monotonic() + d
        return w if w < MAXWHEN else MAXWHEN
    if d != d:
        raise ValueError(f"gort.time.{what}: duration is NaN")
    return monotonic()


# --------------------------------------------------------------------------
# Sleep (Go: runtime.timeSleep)


def _goroutineReady(gp: G, seq: int) -> None:
    if gp.status == _Gwaiting:
        goready(gp)


def _resetForSleep(gp: G, t: timer) -> bool:
    addtimer(t)
    return True


def sleep(d: float) -> None:
    """Pause the calling goroutine for at least d seconds (Go: time.Sleep).

    d <= 0 returns at once, without yielding (as in Go).
    """
    tp = type(d)
    if tp is not float and tp is not int:
        d = _dur(d, "sleep")
    if not d > 0:
        if d != d:
            raise ValueError("gort.time.sleep: duration is NaN")
        return
    gp = getg()
    t = gp.timer
    if t is None:
        t = gp.timer = timer(0.0, 0.0, _goroutineReady, gp, 0)
    w = monotonic() + d if d < MAXWHEN else MAXWHEN  # a huge int must not overflow
    t.when = w if w < MAXWHEN else MAXWHEN
    try:
        gopark(_resetForSleep, t, waitReasonSleep)
    except BaseException:
        # Killed while asleep (teardown) or woken with an exception: the
        # timer must not ready this G later, parked on something else.
        deltimer(t)
        raise


# --------------------------------------------------------------------------
# Channel timers


class _chanref(weakref.ref):
    """The heap's weak reference to a timer channel; ``r`` is its timer."""

    __slots__ = ("r",)


def _sendTime(w: _chanref, seq: int) -> None:
    """Runs on timerproc: send the time without blocking (Go: sendTime).

    A stale seq (the timer was stopped or reset after this send was
    scheduled) drops the send; so does a full buffer (a ticker's slow
    receiver misses ticks, as in Go).
    """
    r = w.r
    if r is None or seq != r.seq:
        return
    c = w()
    if c is not None:
        chansend(c, monotonic(), False)


def _chan_gone(w: _chanref) -> None:
    """Weakref callback: nobody can receive from a timer's channel any more.

    Runs wherever the channel was freed (possibly inside the cyclic GC, or on
    another thread), so it only marks the timer dead -- no heap surgery,
    which could interleave with a heap operation under way.  If it was the
    heap's head, timer0when is set to the past so that timerproc runs, pops
    it and tells the scheduler the honest next time.
    """
    r = getattr(w, "r", None)  # unset if the channel died inside _newchantimer
    if r is not None:
        w.r = None
        _killtimer(r)


def _newchantimer(when: float, period: float) -> tuple[Chan, timer]:
    c = Chan(1)
    w = _chanref(c, _chan_gone)
    r = timer(when, period, _sendTime, w, 0)
    w.r = r
    c.timer = r
    addtimer(r)
    return c, r


def _goFunc(f: Callable[[], Any], seq: int) -> None:
    """Runs on timerproc: start f in its own goroutine (Go: goFunc)."""
    newproc(f, (), None)


class Timer:
    """A single event (Go: time.Timer).  Make one with ``new_timer(d)`` or
    ``after_func(d, f)``.

    ``c`` receives the time once the timer fires (None for an after_func
    timer).  ``stop()`` and ``reset(d)`` return whether a value was still
    owed; after they return, no stale value can be received from ``c``.
    """

    __slots__ = ("c", "_r")

    def __init__(self) -> None:
        # The zero Timer (Go: Timer{}): stop/reset refuse it, as Go panics.
        self.c: Chan | None = None
        self._r: timer | None = None

    def stop(self) -> bool:
        """Stop the timer (Go: Timer.Stop).  True if the call stopped it,
        i.e. a value was still owed; False if it had already fired and its
        value was received (or its after_func started), or was stopped."""
        r = self._r
        if r is None:
            raise RuntimeError("time: Stop called on uninitialized Timer")
        pending = deltimer(r)
        c = self.c
        if c is not None:
            r.seq += 1
            if chanrecv(c, False)[0]:
                pending = True
        return pending

    def reset(self, d: float) -> bool:
        """Make the timer fire d seconds from now (Go: Timer.Reset).

        Returns what stop() would have returned: True if a value was still
        owed.  Any value due before the call is discarded.
        """
        r = self._r
        if r is None:
            raise RuntimeError("time: Reset called on uninitialized Timer")
        when = _when(d, "Timer.reset")
        c = self.c
        if c is None:
            return modtimer(r, when, 0.0, r.f, r.arg, r.seq)
        drained = chanrecv(c, False)[0]
        return modtimer(r, when, 0.0, _sendTime, r.arg, r.seq + 1) or drained

    def __repr__(self) -> str:
        r = self._r
        if r is None:
            return "<gort.time.Timer (uninitialized)>"
        return f"<gort.time.Timer {'pending' if r.hgen else 'stopped'} when={r.when:.6f}>"


class Ticker:
    """Ticks at a fixed period (Go: time.Ticker); make one with
    ``new_ticker(d)``.  A slow receiver misses ticks rather than queueing
    them: ``c`` holds at most one, and the ticker keeps its phase."""

    __slots__ = ("c", "_r")

    def __init__(self) -> None:
        self.c: Chan | None = None
        self._r: timer | None = None

    def stop(self) -> None:
        """Stop the ticker; no tick is received after this returns
        (Go: Ticker.Stop; like Go, stopping a zero Ticker does nothing)."""
        r = self._r
        if r is None:
            return
        deltimer(r)
        r.seq += 1
        chanrecv(self.c, False)

    def reset(self, d: float) -> None:
        """Stop the ticker and restart it with period d; the next tick comes
        d seconds from now (Go: Ticker.Reset)."""
        period = _period(d, "Ticker.reset")
        r = self._r
        if r is None:
            raise RuntimeError("time: Reset called on uninitialized Ticker")
        chanrecv(self.c, False)
        modtimer(r, _when(period, "Ticker.reset"), period, _sendTime, r.arg, r.seq + 1)

    def __repr__(self) -> str:
        r = self._r
        if r is None:
            return "<gort.time.Ticker (uninitialized)>"
        return f"<gort.time.Ticker period={r.period} {'running' if r.hgen else 'stopped'}>"


def _period(d: Any, what: str) -> float:
    tp = type(d)
    if tp is not float and tp is not int:
        d = _dur(d, what)
    if not d > 0:
        if d != d:
            raise ValueError(f"gort.time.{what}: duration is NaN")
        raise ValueError(f"gort.time.{what}: non-positive interval {d!r} for a Ticker")
    return d if d < MAXWHEN else MAXWHEN


_new = object.__new__


def new_timer(d: float) -> Timer:
    """A Timer that sends the time on its channel ``c`` after d seconds
    (Go: time.NewTimer)."""
    tm = _new(Timer)  # skips Timer.__init__'s two stores: they are made here
    tm.c, tm._r = _newchantimer(_when(d, "new_timer"), 0.0)
    return tm


def after(d: float) -> Chan:
    """A channel that receives the time after d seconds (Go: time.After).

    Since Go 1.23 (and in gort) an unreferenced After channel and its timer
    are garbage-collected even before they fire.
    """
    return _newchantimer(_when(d, "after"), 0.0)[0]


def after_func(d: float, f: Callable[[], Any]) -> Timer:
    """Run f() in its own goroutine after d seconds (Go: time.AfterFunc).

    ``stop()`` returns True if it stopped the timer before f started.
    """
    if not callable(f):
        raise TypeError(f"gort.time.after_func: f must be callable, not {type(f).__name__}")
    # _when(d) and timer(...) written out for the common case (a float or
    # int duration in range): after_func+stop is the callback-timer churn
    # path, and each Python call it saves is ~8% of it.
    tp = d.__class__
    if (tp is float or tp is int) and 0 < d < MAXWHEN:
        when = monotonic() + d
        if not when < MAXWHEN:
            when = MAXWHEN
    else:
        when = _when(d, "after_func")
    r = _new(timer)
    r.when = when
    r.period = 0.0
    r.f = _goFunc
    r.arg = f
    r.seq = 0
    r.hgen = 0
    addtimer(r)
    tm = _new(Timer)
    tm.c = None
    tm._r = r
    return tm


def new_ticker(d: float) -> Ticker:
    """A Ticker that sends the time on ``c`` every d seconds (Go: time.NewTicker).

    d must be > 0 (ValueError otherwise, as Go panics).
    """
    period = _period(d, "new_ticker")
    tk = Ticker()
    tk.c, tk._r = _newchantimer(_when(period, "new_ticker"), period)
    return tk


def tick(d: float) -> Chan | None:
    """The channel of a new Ticker (Go: time.Tick); None if d <= 0, as Go
    returns nil.  Unreferenced, it is collected with its ticker (Go 1.23)."""
    tp = type(d)
    if tp is not float and tp is not int:
        d = _dur(d, "tick")
    if not d > 0:
        if d != d:
            raise ValueError("gort.time.tick: duration is NaN")
        return None
    return new_ticker(d).c

