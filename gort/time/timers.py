"""Runtime timers: the timer struct, the heap, and the timerproc goroutine.

Go: src/runtime/time.go -- the 2014 design of the founding commit (one heap,
one ``timerproc`` goroutine, callbacks ``f(arg, seq)``), with two lessons of
later Go: deleted timers are removed lazily (1.14's ``timerDeleted``, 1.23's
zombies) and the heap is compacted when dead entries dominate (1.23's
``zombies > len/4`` forced ``adjust``).

The heap
--------
``_heap`` is a binary heap (``heapq``, in C) of ``(when, gen, t)`` entries.
``gen`` comes from a global counter; ``t.hgen`` holds the generation of
t's one live entry (0: not in the heap).  So:

* ``addtimer`` is ``heappush`` -- Go's append + ``siftupTimer``;
* ``deltimer`` is ``t.hgen = 0``: the entry stays, dead, until it reaches the
  head or a compaction drops it (Go 1.14+ marks ``timerDeleted`` the same
  way; Go 2014 removed it at once: swap with the last, ``siftupTimer`` and
  ``siftdownTimer`` from index ``t.i``);
* ``modtimer`` kills the old entry and pushes a new one (Go 1.23 marks the
  timer ``timerModified`` and fixes the heap later);
* timerproc's ``heappop``/``heapreplace`` are Go's "remove the head, move
  the last entry to 0, ``siftdownTimer``".

Go's heap is 4-ary (parent ``(i-1)/4``).  A hand-written 4-ary heap in
Python is 5x or more slower than C ``heapq`` on pops (measured in
docs/time.md), so gort keeps the binary one.  Equal ``when`` tie-break on
``gen``: timers due at the same time fire in the order they were armed, and
the timer object itself is never compared.

Invariants: the head entry is always live (whoever kills the head entry pops
dead entries off the top, ``_cleanhead``, Go 1.23's ``cleanHead``), and dead
entries never outnumber live ones by much (``_compact`` rebuilds the heap in
O(n) when they are more than half of it, Go's ``initHeap``).  So 20,000
create+stop cycles leave a small heap, and ``sched.timer0when`` -- the
earliest live ``when``, which the scheduler compares with the clock on every
round and checkdead reads as "a timer is pending" -- stays honest.

timerproc
---------
The founding commit's timer goroutine, kept here (Go 1.14 folded timers into
the scheduler): a system goroutine that runs every due timer's ``f(arg,
seq)``, re-arms periodic timers from their scheduled time, and parks in
``timerproc_park(next_when)``.  The scheduler readies it when the clock passes
``sched.timer0when`` -- on every scheduling round, so a busy run queue cannot
starve timers -- which costs one greenlet switch per batch of due timers.
It is started the first time a timer is added in a runtime and forgotten by
the teardown hook.

Callbacks run on timerproc and must not block: they ready a goroutine, send
without blocking, or start a goroutine.  An exception in a callback is
reported as a goroutine panic is (under ``gort.run`` it ends the run with that
exception; in a lazily started runtime it is printed) and timerproc keeps
going, so one bad callback does not silently stop every other timer.

Concurrency: one M runs all goroutines and the GIL serialises the rest, so
the heap has no lock (Go's ``timers.lock``).  M:N on free-threaded Python will
need one; the ``seq`` argument already lets a callback detect that it was
cancelled while in flight.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heapify, heappop, heappush, heapreplace
from itertools import count
from math import nextafter
from time import monotonic
from typing import Any

from gort.sched import proc as _proc
from gort.sched.proc import (
    _panic,
    add_teardown_hook,
    newproc,
    sched,
    timer_added,
    timerproc_park,
    wakeNetPoller,
)
from gort.sched.runtime2 import G, _Gwaiting

__all__ = ["timer", "addtimer", "deltimer", "modtimer", "numtimers", "timerslen", "MAXWHEN"]

INF = float("inf")
# Go clamps when to 1<<63-1 ns (about 292 years): a huge duration never
# wraps into the past.  Here: the same bound, in seconds on monotonic().
MAXWHEN = float((1 << 63) - 1) / 1e9
# Compact when more than half the entries are dead (and there are enough of
# them for the O(n) rebuild to pay).
_COMPACT_MIN = 64
# The least time timerproc leaves other goroutines between two of its passes
# when timers are due back to back (see timerproc).
_MINPARK = 50e-6


class timer:
    """A runtime timer (Go: runtime.timer).

    ``when``: absolute time on ``time.monotonic()``; ``period``: > 0 re-arms
    the timer every ``period`` seconds; ``f(arg, seq)`` runs on timerproc when
    the timer fires.  ``hgen`` is gort's: the generation of the timer's live
    heap entry, 0 when it is not in the heap (Go 2014: ``t.i``, its index).
    """

    __slots__ = ("when", "period", "f", "arg", "seq", "hgen")

    def __init__(self, when: float = 0.0, period: float = 0.0,
                 f: Callable[[Any, int], Any] | None = None, arg: Any = None,
                 seq: int = 0) -> None:
        self.when = when
        self.period = period
        self.f = f
        self.arg = arg
        self.seq = seq
        self.hgen = 0

    def __repr__(self) -> str:
        state = "pending" if self.hgen else "idle"
        f = getattr(self.f, "__qualname__", self.f)
        return f"<timer when={self.when:.6f} period={self.period} f={f} seq={self.seq} {state}>"


_heap: list[tuple[float, int, timer]] = []  # never rebound: functions bind it
_ndead = 0  # dead entries in _heap
_nextgen = count(1).__next__
_tpg: G | None = None  # the timerproc goroutine of this runtime
_sched = sched


def _checkwhen(when: Any) -> float:
    """Slow path of addtimer/modtimer: clamp a huge when, refuse NaN and non-numbers."""
    try:
        if when < MAXWHEN:
            return when
    except TypeError:
        raise TypeError(f"gort: timer.when must be a number (seconds on time.monotonic()), "
                        f"not {type(when).__name__}") from None
    if when != when:
        raise ValueError("gort: timer.when is NaN")
    return MAXWHEN


def addtimer(t: timer, _heap: list = _heap, _push: Any = heappush,
             _nextgen: Any = _nextgen) -> None:
    """Arm t: it fires at t.when (Go: addtimer; the clamp is Go's too)."""
    if t.hgen:
        raise RuntimeError(f"gort: addtimer of a timer that is already pending: {t!r}")
    when = t.when
    try:
        if not when < MAXWHEN:  # also catches NaN and inf
            when = t.when = _checkwhen(when)
    except TypeError:
        _checkwhen(when)  # raises, naming the problem
    gen = _nextgen()
    _push(_heap, (when, gen, t))
    t.hgen = gen
    if _tpg is None:
        _starttimerproc()
    s = _sched
    if when < s.timer0when:
        # timer_added(when), inlined: a new earliest when.  Waking the M is
        # only needed if it sleeps in findrunnable, i.e. from another thread.
        s.timer0when = when
        mp = s.m0
        if mp is not None and mp.blocked:
            wakeNetPoller(when)


def deltimer(t: timer, _heap: list = _heap, _pop: Any = heappop) -> bool:
    """Disarm t; True if it was pending (Go: deltimer).

    False means it already fired (its f has run or is running) or was never
    armed.  The heap entry is left behind, dead (see the module docstring).
    """
    global _ndead
    if not t.hgen:
        return False
    t.hgen = 0
    if _heap[0][2] is not t:
        _ndead += 1
        if _ndead > _COMPACT_MIN and _ndead > len(_heap) >> 1:
            _compact()
        return True
    # t is the head (by the invariant, its live entry): pop it, then any
    # dead entries under it (_cleanhead, inlined: this is the common case
    # of a timeout stopped before it fires).
    _pop(_heap)
    while _heap:
        head = _heap[0]
        if head[2].hgen == head[1]:
            break
        _pop(_heap)
        _ndead -= 1
    tg = _tpg
    if tg is not None and tg.status == _Gwaiting:
        _sched.timer0when = _heap[0][0] if _heap else INF
    return True


def modtimer(t: timer, when: float, period: float, f: Callable[[Any, int], Any],
             arg: Any, seq: int) -> bool:
    """Re-arm t with new fields, pending or not; True if it was pending
    (Go 1.14+: modtimer; netpoll uses it for deadlines)."""
    global _ndead
    heap = _heap
    try:
        if not when < MAXWHEN:
            when = _checkwhen(when)
    except TypeError:
        _checkwhen(when)
    pending = t.hgen != 0
    if pending:
        _ndead += 1  # the old entry dies where it is
    t.when = when
    t.period = period
    t.f = f
    t.arg = arg
    t.seq = seq
    gen = _nextgen()
    heappush(heap, (when, gen, t))
    t.hgen = gen
    if pending:
        head = heap[0]
        if head[2].hgen != head[1]:
            _cleanhead()  # t was the head and moved later
        elif _ndead > _COMPACT_MIN and _ndead > len(heap) >> 1:
            _compact()
    if _tpg is None:
        _starttimerproc()
    if when < _sched.timer0when:
        timer_added(when)
    return pending


def _killtimer(t: timer) -> None:
    """Mark t dead without touching the heap's structure.

    For weakref callbacks (gort.time's collected timer channels), which may
    run in the middle of a heap operation (inside the cyclic GC) or on
    another thread.  A dead head is left for timerproc to pop; if timerproc
    sleeps, timer0when goes to the past so that it runs and then reports the
    honest next time (or none); the same when dead entries dominate, so that
    timerproc compacts the heap.
    """
    global _ndead
    if not t.hgen:
        return
    t.hgen = 0
    _ndead += 1
    heap = _heap
    if heap and (heap[0][2] is t or (_ndead > _COMPACT_MIN and _ndead > len(heap) >> 1)):
        tg = _tpg
        if tg is not None and tg.status == _Gwaiting:
            _sched.timer0when = 0.0


def numtimers() -> int:
    """Pending timers of this runtime (dead heap entries not counted)."""
    return len(_heap) - _ndead


def timerslen() -> int:
    """Heap entries, dead ones included (Go's scheddetail ``timerslen``;
    gort/sched/sysmon.py reports it)."""
    return len(_heap)


def _cleanhead() -> None:
    """Pop dead entries off the top; if timerproc sleeps, tell the scheduler
    the (later) earliest time, or that no timer is pending at all
    (Go 1.23: cleanHead + updateMinWhenHeap)."""
    global _ndead
    heap = _heap
    while heap:
        head = heap[0]
        if head[2].hgen == head[1]:
            break
        heappop(heap)
        _ndead -= 1
    tg = _tpg
    if tg is not None and tg.status == _Gwaiting:
        _sched.timer0when = heap[0][0] if heap else INF


def _compact() -> None:
    """Drop every dead entry and re-heapify, O(n) (Go 1.23: adjust(force) / initHeap)."""
    global _ndead
    heap = _heap
    n = len(heap)
    live = [e for e in heap if e[2].hgen == e[1]]
    heap[:] = live
    heapify(heap)
    # Not "= 0": a weakref callback (_killtimer) may have killed an entry
    # the comprehension had already kept.
    _ndead -= n - len(live)


# --------------------------------------------------------------------------
# timerproc


def _starttimerproc() -> None:
    global _tpg
    _tpg = newproc(timerproc, (), None, system=True)


def timerproc() -> None:
    """Run due timers, then sleep until the next one (Go 2014: timerproc).

    A periodic timer is re-armed *before* its f runs, from the time it was
    due, skipping the periods it missed (Go: when += period*(1 + -delta/period)),
    so a late timerproc never makes a ticker fire in a burst.
    """
    global _tpg, _ndead
    me = _tpg
    heap = _heap
    nextgen = _nextgen
    try:
        while True:
            now = monotonic()
            while heap:
                when, gen, t = heap[0]
                if t.hgen != gen:  # dead: deleted mid-batch, or by _killtimer
                    heappop(heap)
                    _ndead -= 1
                    continue
                if when > now:
                    break
                period = t.period
                if period > 0:
                    when += period * (1.0 + (now - when) // period)
                    if not when > now:
                        # A period below the float resolution of `when`
                        # would re-arm it in the past forever.
                        when = nextafter(now, INF)
                    elif not when < MAXWHEN:
                        when = MAXWHEN
                    t.when = when
                    gen = nextgen()
                    t.hgen = gen
                    heapreplace(heap, (when, gen, t))
                else:
                    heappop(heap)
                    t.hgen = 0
                if _proc._trace is not None:
                    _proc._trace.timer(me, t)
                try:
                    t.f(t.arg, t.seq)
                except Exception as e:  # noqa: BLE001 - reported, see docstring
                    _timerpanic(t, e)
            if _ndead > _COMPACT_MIN and _ndead > len(heap) >> 1:
                _compact()  # dead entries left by _killtimer
            if not heap:
                timerproc_park(INF)
                continue
            when = heap[0][0]
            if when < now + _MINPARK:
                # Due (nearly) at once again -- a 1 ns ticker, or timers armed
                # by the callbacks.  The scheduler runs a due timerproc before
                # any other G, so parking "due now" would let it starve the
                # run queue; Go runs one G between two checkTimers passes.
                # Give the other goroutines _MINPARK first.
                floor = monotonic() + _MINPARK
                if when < floor:
                    when = floor
            timerproc_park(when)
    finally:
        if _tpg is me:
            _tpg = None


def _timerpanic(t: timer, e: Exception) -> None:
    try:
        e.add_note(f"(raised by timer callback {getattr(t.f, '__qualname__', t.f)!r} "
                   "on the timerproc goroutine)")
    except Exception:  # noqa: BLE001
        pass
    _panic(_tpg, e)


def _teardown() -> None:
    """The runtime ended: forget its timers and its timerproc."""
    global _tpg, _ndead
    for _, gen, t in _heap:
        if t.hgen == gen:
            t.hgen = 0
    _heap.clear()
    _ndead = 0
    _tpg = None


add_teardown_hook(_teardown)
