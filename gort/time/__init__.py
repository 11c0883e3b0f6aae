"""Go's package time on gort's runtime timers: sleep, timers, tickers.

Go: src/time/sleep.go, src/time/tick.go, and the runtime side in
src/runtime/time.go (timeSleep, resetForSleep, goroutineReady, goFunc, when,
newTimer/stopTimer/resetTimer; the channel-timer half -- sendTime,
maybeRunChan, blockTimerChan -- is in gort/time/timers.py).  Semantics are
Go 1.23's.

Durations and times are float seconds; ``now()`` is ``time.monotonic()``, the
clock every deadline in gort uses.  ``wall()`` is the wall clock
(``time.time()``), for printing when something happened: Go's time.Time
carries both readings, gort's times carry the monotonic one, and
``to_datetime(t)`` / ``from_datetime(dt)`` convert between a monotonic time
and a ``datetime`` (by the offset between the two clocks now).

A duration may be an int or a float (or any real number, or a
``datetime.timedelta``); a bool, a string or None is a TypeError, NaN a
ValueError.  A huge duration clamps to about 292 years (Go's max int64
nanoseconds): it never wraps into the past.  A zero or negative duration
means "now".

Go 1.23 timer channels, and where gort differs
---------------------------------------------
* **Lazy, as in Go 1.23.**  A Timer/Ticker/After channel's runtime timer (a
  ``chantimer``, gort/time/timers.py) is in the heap only while a goroutine
  is blocked receiving from the channel; chanrecv and select call Go's
  ``maybeRunChan``/``blockTimerChan``/``unblockTimerChan`` hooks on their
  slow paths.  So ``new_timer(d).stop()`` never touches the heap, an
  unreferenced Timer/Ticker/channel is plain refcounted garbage (Go 1.23
  TestTimerGC), and a timer nobody waits on does not keep checkdead from
  reporting a deadlock (Go 1.23 reports it too).
* **The value is the time the timer was due** (Go 1.23's sendTime subtracts
  the delay), whenever it is received.  A receive that finds a due timer
  takes the value then; a ticker nobody read for a while gives the due time
  of its first unreceived tick, drops the others and keeps its phase.
* **No stale values.**  After ``stop()`` or ``reset()`` returns, no value due
  before the call can be received: gort never puts a timer's value in the
  channel's buffer (Go sends into a 1-slot buffer and drains it), it hands
  it to a waiting receiver or to the receive that finds it due; stop/reset
  disarm and bump ``seq``, which ``_firechan`` checks (Go: ``t.seq`` in
  ``unlockAndRun``; with one M nothing can be in flight, under M:N a
  ``_firechan`` popped before the stop may still run).
* **stop/reset return "a value was still owed"** (Go 1.23): True if the
  timer was armed -- pending, or due and not yet received.  False: the value
  was received, or the timer was already stopped.
* ``len(t.c)`` and ``t.c.cap`` are 0, as in Go 1.23 (``Chan.timer`` is set).
* ``Timer.c`` of a ``new_timer`` Timer is made on its first read (a Chan
  costs more than the rest of new_timer; a timer stopped before anyone
  looks at its channel never needs one).  The state is all in the runtime
  timer, so a channel made late behaves as one made at once.  Go makes it
  in NewTimer.  Under M:N the first read makes it under a module lock, so
  two Ms reading ``t.c`` at once get the same channel.
* ``after_func`` timers are ordinary heap timers, strongly held until they
  fire or are stopped, as in Go.
* ``sleep(d)`` with d <= 0 returns at once without yielding, as Go's Sleep
  does (gevent's ``sleep(0)`` yields; in gort use ``gort.gosched()`` for that).
  ``sleep`` reuses one runtime timer per goroutine (Go: ``gp.timer``) and arms
  it in gopark's unlockf (Go: ``resetForSleep``), so it cannot fire before the
  goroutine is parked.
* M:N (GOMAXPROCS > 1): the locking is gort/time/timers.py's (``_tlock``);
  this module's own state is only ``Timer._c`` (above).
* ``tick(d)`` with d <= 0 returns None (Go: nil), which ``gort.select`` treats
  as a never-ready channel.  ``new_ticker`` and ``Ticker.reset`` with d <= 0
  raise ValueError (Go panics).
"""

from __future__ import annotations

import numbers
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from time import monotonic
from time import time as _walltime
from typing import Any

from greenlet import getcurrent

from gort.hchan import Chan, SynctestBubbleError
from gort.sched import synctest as _st
from gort.sched.mnmode import lock, specialise, unlock
from gort.sched.proc import getg, gopark, goready, newproc
from gort.sched.runtime2 import G, _Gwaiting, waitReasonSleep

from .timers import (
    MAXWHEN,
    _firechan,
    addtimer,
    bchantimer,
    btimer,
    chantimer,
    deltimer,
    modtimer,
    timer,
)

__all__ = [
    "Nanosecond", "Microsecond", "Millisecond", "Second", "Minute", "Hour",
    "Timer", "Ticker", "after", "after_func", "from_datetime", "new_ticker", "new_timer",
    "now", "since", "sleep", "tick", "to_datetime", "until", "wall",
]

Nanosecond = 1e-9
Microsecond = 1e-6
Millisecond = 1e-3
Second = 1.0
Minute = 60.0
Hour = 3600.0



def _bubble() -> Any:
    """The synctest bubble of the calling goroutine (None outside any);
    one module read when no bubble exists."""
    if not _st.nbubbles:
        return None
    gp = getattr(getcurrent(), "gort_g", None)
    return None if gp is None else gp.bubble


def _bubblecheck(r: timer, op: str) -> None:
    """A timer of a synctest bubble is only used from inside it (Go: fatal
    "stop of synctest timer from outside bubble")."""
    if _bubble() is not r.bubble:
        raise SynctestBubbleError(f"{op} of synctest timer from outside bubble")


def now() -> float:
    """The clock of every time and deadline in gort: ``time.monotonic()``
    (Go: time.Now, its monotonic part); inside a synctest bubble, the
    bubble's fake clock."""
    if _st.nbubbles:
        b = _bubble()
        if b is not None:
            return b.now
    return monotonic()

_clock = threading.Lock()  # M:N: makes Timer.c on its first read



def wall() -> float:
    """The wall clock: seconds since the Unix epoch (``time.time()``; Go:
    time.Now's wall reading).  For printing and logging when something
    happened; deadlines and durations use ``now()``, which never jumps.
    Inside a synctest bubble, the fake clock's wall time: 2000-01-01
    00:00:00 UTC when the bubble starts, as in Go."""
    if _st.nbubbles:
        b = _bubble()
        if b is not None:
            return _st.WALLEPOCH + (b.now - _st.EPOCH)
    return _walltime()


def to_datetime(t: float, tz: tzinfo | None = None) -> datetime:
    """The ``datetime`` of ``t``, a time on ``now()``'s clock: the wall time
    it was (or will be), by the offset between the two clocks now.  tz None:
    the local time zone (an aware datetime).

        start = gort.time.now()
        ...
        print("started at", gort.time.to_datetime(start).isoformat())
    """
    tp = type(t)
    if tp is not float and tp is not int:
        if isinstance(t, bool) or not isinstance(t, numbers.Real):
            raise TypeError("gort.time.to_datetime: t must be a time from gort.time.now() "
                            f"(a number), not {type(t).__name__}")
        t = float(t)
    w = datetime.fromtimestamp(wall() + (t - now()), tz)
    return w if tz is not None else w.astimezone()


def from_datetime(dt: datetime) -> float:
    """The time on ``now()``'s clock of ``dt`` (a naive datetime is local
    time, as ``datetime.timestamp`` has it): what deadlines take.

        c.set_deadline(gort.time.from_datetime(datetime(2030, 1, 1, 12, 0)))
    """
    if not isinstance(dt, datetime):
        raise TypeError("gort.time.from_datetime: expected a datetime.datetime, not "
                        f"{type(dt).__name__}")
    return now() + (dt.timestamp() - wall())


# A float time more than this past now() and within ten times this of
# time.time() is a wall-clock time passed by mistake where a time on now()'s
# clock belongs (issue 16): time.time() + 5 as a deadline would never come.
# A far-future time elsewhere (now() + 292 years, Go's
# TestDialTimeoutMaxDuration) is still just far away.
_WALLCLOCK_GUARD = 365 * 86400.0


def _wallclock_mistake(t: float, what: str) -> ValueError | None:
    """The error for a time that looks like time.time() rather than now()."""
    n = now()
    if t - n > _WALLCLOCK_GUARD and abs(t - wall()) < 10 * _WALLCLOCK_GUARD:
        return ValueError(
            f"{what}: deadline {t!r} is more than a year after gort.time.now() "
            f"({n:.3f}); it looks like a wall-clock time (time.time()).  Deadlines "
            f"are on gort.time.now()'s monotonic clock: write gort.time.now() + seconds, "
            f"pass a datetime, or None for no deadline")
    return None


def _time(t: Any, what: str) -> float:
    """A time argument: a number on now()'s clock, or a datetime."""
    if isinstance(t, datetime):
        return from_datetime(t)
    if isinstance(t, bool) or not isinstance(t, numbers.Real):
        raise TypeError(f"gort.time.{what}: t must be a time from gort.time.now() (a number) "
                        f"or a datetime, not {type(t).__name__}")
    try:
        return float(t)
    except OverflowError:
        return float("inf") if t > 0 else float("-inf")


def since(t: float) -> float:
    """Seconds elapsed since ``t``, a time from ``now()`` or a datetime
    (Go: time.Since)."""
    if type(t) is not float and type(t) is not int:
        t = _time(t, "since")
    return now() - t


def until(t: float) -> float:
    """Seconds until ``t``, a time from ``now()`` or a datetime (Go: time.Until)."""
    if type(t) is not float and type(t) is not int:
        t = _time(t, "until")
    return t - now()


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


def _when(d: Any, what: str, b: Any = None) -> float:
    """The absolute time d seconds from now, clamped (Go: runtime's when(d)),
    on bubble b's clock if b is given."""
    tp = type(d)
    if tp is not float and tp is not int:
        d = _dur(d, what)
    t = monotonic() if b is None else b.now
    if d > 0:
        if d >= MAXWHEN:  # also keeps a huge int from overflowing the float add
            return MAXWHEN
        w = t + d
        return w if w < MAXWHEN else MAXWHEN
    if d != d:
        raise ValueError(f"gort.time.{what}: duration is NaN")
    return t


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
    b = gp.bubble
    if t is None or t.bubble is not b:
        if b is None:
            t = gp.timer = timer(0.0, 0.0, _goroutineReady, gp, 0)
        else:  # on the bubble's clock and heap
            t = gp.timer = btimer(0.0, 0.0, _goroutineReady, gp, 0)
            t.bubble = b
    w = (monotonic() if b is None else b.now) + d if d < MAXWHEN else MAXWHEN
    t.when = w if w < MAXWHEN else MAXWHEN
    try:
        gopark(_resetForSleep, t, waitReasonSleep)
    except BaseException:
        # Killed while asleep (teardown) or woken with an exception: the
        # timer must not ready this G later, parked on something else.
        deltimer(t)
        raise


# --------------------------------------------------------------------------
# Channel timers (the runtime side is gort/time/timers.py: chantimer)


def _newchantimer(when: float, period: float, b: Any = None) -> tuple[Chan, chantimer]:
    c = Chan(1)  # Go's make(chan Time, 1); gort never fills the slot (timers.py)
    if b is None:
        r = chantimer(when, period)
    else:
        r = bchantimer(when, period)
        r.bubble = c.bubble = b
    c.timer = r
    return c, r


def _newtimer(when: float, f: Callable[[Any, int], Any], arg: Any) -> timer:
    """A runtime timer for f(arg, seq) at ``when``, on the calling
    goroutine's synctest bubble if it is in one (context's deadlines)."""
    b = _bubble()
    if b is None:
        return timer(when, 0.0, f, arg, 0)
    t = btimer(when, 0.0, f, arg, 0)
    t.bubble = b
    return t


def _goFunc(f: Callable[[], Any], seq: int) -> None:
    """Runs on timerproc: start f in its own goroutine (Go: goFunc)."""
    newproc(f, (), None)


class Timer:
    """A single event (Go: time.Timer).  Make one with ``new_timer(d)`` or
    ``after_func(d, f)``.

    ``c`` receives the time the timer was due, once it is (None for an
    after_func timer).  ``stop()`` and ``reset(d)`` return whether a value
    was still owed; after they return, no stale value can be received from
    ``c``.

    A ``new_timer`` Timer makes its channel on the first read of ``c`` (a
    Chan costs more than the rest of the timer; a timer that is stopped
    before anyone looks at its channel never needs one).  The timer's state
    lives in the runtime timer, so a channel made late behaves exactly as
    one made at once.
    """

    __slots__ = ("_c", "_r")

    def __init__(self) -> None:
        # The zero Timer (Go: Timer{}): stop/reset refuse it, as Go panics.
        self._c: Chan | None = None
        self._r: timer | None = None

    @property
    @specialise
    def c(self) -> Chan | None:
        """The channel that receives the time (Go: Timer.C)."""
        c = self._c
        if c is None:
            r = self._r
            if r is not None and r.isChan:
                lock(_clock)  # two Ms reading it at once get one channel
                c = self._c
                if c is None:
                    c = Chan(1)
                    c.timer = r  # before it is published
                    c.bubble = r.bubble  # the timer's bubble, whoever reads c first
                    self._c = c
                unlock(_clock)
        return c

    def stop(self) -> bool:
        """Stop the timer (Go: Timer.Stop).  True if the call stopped it,
        i.e. a value was still owed; False if it had already fired and its
        value was received (or its after_func started), or was stopped."""
        r = self._r
        if r is None:
            raise RuntimeError("time: Stop called on uninitialized Timer")
        if r.bubble is not None:
            _bubblecheck(r, "stop")
        if not r.isChan:
            return deltimer(r)
        return r.stop()

    def reset(self, d: float) -> bool:
        """Make the timer fire d seconds from now (Go: Timer.Reset).

        Returns what stop() would have returned: True if a value was still
        owed.  Any value due before the call is discarded.
        """
        r = self._r
        if r is None:
            raise RuntimeError("time: Reset called on uninitialized Timer")
        if r.bubble is not None:
            _bubblecheck(r, "reset")
        when = _when(d, "Timer.reset", r.bubble)
        if not r.isChan:
            return modtimer(r, when, 0.0, r.f, r.arg, r.seq)
        return r.modify(when, 0.0)

    def __repr__(self) -> str:
        r = self._r
        if r is None:
            return "<gort.time.Timer (uninitialized)>"
        pending = r.when != 0.0 if r.isChan else r.hgen
        return f"<gort.time.Timer {'pending' if pending else 'stopped'} when={r.when:.6f}>"


class Ticker:
    """Ticks at a fixed period (Go: time.Ticker); make one with
    ``new_ticker(d)``.  A slow receiver misses ticks rather than queueing
    them: it gets the due time of the first tick it did not take, and the
    ticker keeps its phase."""

    __slots__ = ("c", "_r")

    def __init__(self) -> None:
        self.c: Chan | None = None
        self._r: chantimer | None = None

    def stop(self) -> None:
        """Stop the ticker; no tick is received after this returns
        (Go: Ticker.Stop; like Go, stopping a zero Ticker does nothing)."""
        r = self._r
        if r is not None:
            if r.bubble is not None:
                _bubblecheck(r, "stop")
            r.stop()

    def reset(self, d: float) -> None:
        """Stop the ticker and restart it with period d; the next tick comes
        d seconds from now (Go: Ticker.Reset)."""
        period = _period(d, "Ticker.reset")
        r = self._r
        if r is None:
            raise RuntimeError("time: Reset called on uninitialized Ticker")
        if r.bubble is not None:
            _bubblecheck(r, "reset")
        r.modify(_when(period, "Ticker.reset", r.bubble), period)

    def __repr__(self) -> str:
        r = self._r
        if r is None:
            return "<gort.time.Ticker (uninitialized)>"
        return f"<gort.time.Ticker period={r.period} {'running' if r.when else 'stopped'}>"


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
    (Go: time.NewTimer).  It enters the timer heap only while a goroutine
    waits on ``c`` (Go 1.23)."""
    # _when(d) and chantimer(...) written out for the common case, as in
    # after_func: this is the channel-timer churn path.
    if _st.nbubbles:
        b = _bubble()
        if b is not None:
            c, r = _newchantimer(_when(d, "new_timer", b), 0.0, b)
            tm = _new(Timer)
            tm._c = c
            tm._r = r
            return tm
    tp = d.__class__
    if (tp is float or tp is int) and 0 < d < MAXWHEN:
        when = monotonic() + d
        if not when < MAXWHEN:
            when = MAXWHEN
    else:
        when = _when(d, "new_timer")
    r = _new(chantimer)
    r.when = when
    r.period = 0.0
    r.f = _firechan
    r.arg = None
    r.seq = 0
    r.hgen = 0
    r.blocked = 0
    tm = _new(Timer)
    tm._c = None  # made on first read of tm.c
    tm._r = r
    return tm


def after(d: float) -> Chan:
    """A channel that receives the time after d seconds (Go: time.After).

    Since Go 1.23 (and in gort) an unreferenced After channel and its timer
    are garbage-collected even before they fire: the timer is in the heap
    only while a goroutine waits on the channel.
    """
    b = _bubble()
    return _newchantimer(_when(d, "after", b), 0.0, b)[0]


def after_func(d: float, f: Callable[[], Any]) -> Timer:
    """Run f() in its own goroutine after d seconds (Go: time.AfterFunc).

    ``stop()`` returns True if it stopped the timer before f started.
    """
    if not callable(f):
        raise TypeError(f"gort.time.after_func: f must be callable, not {type(f).__name__}")
    # _when(d) and timer(...) written out for the common case (a float or
    # int duration in range): after_func+stop is the callback-timer churn
    # path, and each Python call it saves is ~8% of it.
    if _st.nbubbles:
        b = _bubble()
        if b is not None:
            r = btimer(_when(d, "after_func", b), 0.0, _goFunc, f, 0)
            r.bubble = b
            addtimer(r)
            tm = _new(Timer)
            tm._c = None
            tm._r = r
            return tm
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
    tm._c = None
    tm._r = r
    return tm


def new_ticker(d: float) -> Ticker:
    """A Ticker that sends the time on ``c`` every d seconds (Go: time.NewTicker).

    d must be > 0 (ValueError otherwise, as Go panics).
    """
    period = _period(d, "new_ticker")
    tk = _new(Ticker)
    b = _bubble()
    tk.c, tk._r = _newchantimer(_when(period, "new_ticker", b), period, b)
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

