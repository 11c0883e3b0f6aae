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
dead entries off the top: deltimer, Go 1.23's ``cleanHead``), and dead
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
``timerproc_park(next_when)``.  The scheduler readies it (checkTimers) when the clock passes
``sched.timer0when`` -- on every scheduling round, so a busy run queue cannot
starve timers -- which costs one greenlet switch per batch of due timers.
It is started the first time a timer is added in a runtime and forgotten by
the teardown hook.

Callbacks run on timerproc and must not block: they ready a goroutine, hand a
value to a waiting receiver, or start a goroutine.  An exception in a callback is
reported as a goroutine panic is (under ``gort.run`` it ends the run with that
exception; in a lazily started runtime it is printed) and timerproc keeps
going, so one bad callback does not silently stop every other timer.

Timer channels (Go 1.23)
------------------------
A ``chantimer`` (Go: a timer with ``isChan``; time.NewTimer, NewTicker,
After, Tick) stays out of the heap until a goroutine blocks on its channel:
chanrecv and selectgo call ``t.blockTimerChan(c)`` before they park (the
timer is added if it is armed) and ``t.unblockTimerChan(c)`` after they wake
(the last one to leave deletes it).  A receive that finds the channel empty
calls ``t.maybeRunChan()``, which runs a due timer then and there.  So
``new_timer(d).stop()`` never touches the heap, an unreferenced Timer or
Ticker is plain garbage (nothing but its channel points to it), and a timer
nobody waits on does not keep ``checkdead`` from reporting a deadlock, all
as in Go 1.23.  ``when == 0`` means stopped (Go's ``t.when = 0``).

Where gort differs: Go sends the value into the channel's 1-slot buffer
(sendTime, non-blocking) and stop/reset drain it.  gort never buffers a
timer's value: ``maybeRunChan`` returns it to the receiver that asked, and
``_firechan`` (timerproc) hands it to a receiver still waiting or, if every
waiter was already woken by another select case, leaves it owed -- due and
unsent -- for the next receive.  The observable behaviour is the same (a
buffered value is exactly a due, unsent one: stop/reset report it as
pending and discard it), and no receive path has to look at a buffer that
ordinary channels use.  The value is the time the timer was due, as Go
1.23 sends (``sendTime`` subtracts the delay); a ticker that nobody read for
a while gives the due time of its first unreceived tick and skips the rest,
which is what a 1-slot buffer filled at that tick would hold.  The heap sees
a channel timer as one-shot (timerproc does not re-arm it): ``_firechan``
advances a ticker itself, as Go's ``unlockAndRun`` does, and re-adds it only
while other receivers still wait.

Concurrency
-----------
One source per function: addtimer, deltimer, modtimer, the chantimer
methods, _firechan, bubbleadvance and the scheduler's hooks are written
once, in Go's shape, with Go's ``lock(_tlock)``/``unlock(_tlock)``
statements, and ``@specialise`` (gort.sched.mnmode) makes their one-M form
(no locks: goroutines switch only inside gopark, and nothing here parks)
and their M:N form, which the run's mode swaps in before a second M starts.
``doaddtimer``/``dodeltimer`` are addtimer/deltimer for a caller that
already holds ``_tlock`` (the held=True variant of the same source, Go's
names).  ``_tlock`` (Go: ``timers.lock``; one heap, so one lock) guards the
heap, ``_ndead``, ``_tpg``, every timer's ``when``/``hgen``/``seq``/fields,
and a chantimer's ``blocked``/``arg`` (Go: ``t.mu``).  timerproc, whose
frame lives across a change of mode, reads ``_mn`` once per pass instead:
it holds the lock while it pops, drops it around each ``f(arg, seq)`` (Go's
unlockAndRun: f may take a channel lock, and callbacks arm timers),
snapshotting ``f``/``arg``/``seq`` under it, and parks through
``timerproc_park(when)`` with the lock held from computing ``when`` until
the park commits, so a timer added meanwhile is never hidden.  Lock order:
channel locks -> ``_tlock`` -> sched.lock; ``_firechan`` takes the
channel's lock, then ``_tlock``.  A callback that runs after its timer was
stopped, reset or run by a receive in between sees it: ``seq`` (stop and
reset bump it) and, for a channel timer, ``when`` not yet due.

The scheduler
-------------
gort/time installs two hooks (``proc.install_timers``): ``checkTimers(now)``,
called in a scheduling round once the clock has passed
``sched.timer0when``, claims the parked timerproc; ``timeSleepUntil(mp)``
says when an idle M must wake for timers.  ``sched.timer0when`` and
``sched.timerg`` are written only here (see "The scheduler's view of the
timers" below); timerproc's docstring walks a timer from sleep() to the
goroutine it wakes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from heapq import heapify, heappop, heappush, heapreplace
from itertools import count
from math import nextafter
from time import monotonic
from typing import Any

# chan's lazily made lock: see the note in _firechan.
from gort.hchan import _chanlock, send
from gort.sched import proc as _proc
from gort.sched import synctest as _st
from gort.sched.mnmode import lock, mode, specialise, unlock
from gort.sched.proc import (
    _panic,
    add_teardown_hook,
    gopark,
    goready,
    install_timers,
    newproc,
    sched,
    wakebatch,
    wakeflush,
    wakeNetPoller,
)
from gort.sched.runtime2 import G, M, _Grunnable, _Gwaiting, waitReasonTimerGoroutineIdle

__all__ = ["timer", "chantimer", "btimer", "bchantimer", "addtimer", "deltimer", "modtimer",
           "numtimers", "timerslen", "bubbleadvance", "MAXWHEN"]

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
# M:N: the most due timers timerproc pops per hold of _tlock (see timerproc).
_RUNBATCH = 128


class timer:
    """A runtime timer (Go: runtime.timer).

    ``when``: absolute time on ``time.monotonic()``; ``period``: > 0 re-arms
    the timer every ``period`` seconds; ``f(arg, seq)`` runs on timerproc when
    the timer fires.  ``hgen`` is gort's: the generation of the timer's live
    heap entry, 0 when it is not in the heap (Go 2014: ``t.i``, its index).
    """

    __slots__ = ("when", "period", "f", "arg", "seq", "hgen")

    isChan = False  # Go: t.isChan (a class attribute: fixed per kind of timer)
    bubble: Any = None  # Go: the timer's synctest bubble; btimer/bchantimer have one

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


_heap: list[tuple[float, int, timer]] = []  # never rebound
_ndead = 0  # dead entries in _heap
_nextgen = count(1).__next__
_tpg: G | None = None  # the timerproc goroutine of this runtime
_sched = sched

# M:N (module docstring): the lock(_tlock)/unlock(_tlock) statements of the
# @specialise functions take it; timerproc reads _mn once per pass.
_mn = mode.register(globals())
_tlock = threading.Lock()


def _checkwhen(when: Any) -> float:
    """when, clamped to MAXWHEN; NaN and non-numbers refused (addtimer's
    slow path, modtimer's and modify's check)."""
    try:
        if when < MAXWHEN:
            return when
    except TypeError:
        raise TypeError(f"gort: timer.when must be a number (seconds on time.monotonic()), "
                        f"not {type(when).__name__}") from None
    if when != when:
        raise ValueError("gort: timer.when is NaN")
    return MAXWHEN


@specialise(bind={"held": False})
def addtimer(t: timer, held: bool) -> None:
    """Arm t: it fires at t.when (Go: addtimer; the clamp is Go's too).

    ``doaddtimer(t)`` is this function for a caller that holds ``_tlock``
    (held=True; Go: doaddtimer).  A synctest bubble's timer goes on its
    bubble's heap and clock instead.
    """
    when = t.when
    try:
        if not when < MAXWHEN:  # also catches NaN and inf
            when = t.when = _checkwhen(when)
    except TypeError:
        _checkwhen(when)  # raises, naming the problem
    if not held:
        lock(_tlock)
    if t.hgen:
        if not held:
            unlock(_tlock)
        raise RuntimeError(f"gort: addtimer of a timer that is already pending: {t!r}")
    gen = _nextgen()
    t.hgen = gen
    b = t.bubble
    if b is None:
        heappush(_heap, (when, gen, t))  # Go: append + siftupTimer
        if _tpg is None:
            _starttimerproc()
        s = _sched
        if when < s.timer0when:
            # A new earliest when: publish it (see "The scheduler's view" below)
            lock(s.lock)
            tg = s.timerg
            published = tg is None or tg.status == _Gwaiting
            if published:
                s.timer0when = when
            unlock(s.lock)
            # and wake timerproc's M if it sleeps past it (Go: wakeNetPoller):
            # one M sleeps only while the caller is another thread; under M:N
            # it sleeps at most _TIMERSLACK.
            if published and (when - monotonic() < _TIMERSLACK if _mn else s.m0.blocked):
                wakeNetPoller(when)
    else:
        # No timerproc for a bubble: its root runs them (bubbleadvance).
        # One already due runs now, not when the bubble blocks (Go's
        # checkTimers does).
        heappush(b.heap, (when, gen, t))
        if when <= b.now:
            root = _st.timerdue(b)
            if root is not None:
                goready(root)
    if not held:
        unlock(_tlock)


doaddtimer = specialise(addtimer, name="doaddtimer", bind={"held": True},
                        doc="addtimer for a caller that holds _tlock (Go: doaddtimer).")


@specialise(bind={"held": False})
def deltimer(t: timer, held: bool) -> bool:
    """Disarm t; True if it was pending (Go: deltimer).

    False means it already fired (its f has run or is running) or was never
    armed.  The heap entry is left behind, dead (see the module docstring),
    unless it heads the heap: then it is popped with the dead entries under
    it (Go 1.23: cleanHead), so the head stays live and sched.timer0when
    honest.  ``dodeltimer(t)``: for a caller that holds ``_tlock``.
    """
    global _ndead
    if not held:
        lock(_tlock)
    if not t.hgen:
        if not held:
            unlock(_tlock)
        return False
    t.hgen = 0
    heap = _heap
    if t.bubble is not None:
        _bdeltimer(t.bubble)
    elif heap[0][2] is t:  # its live entry heads the heap (the invariant)
        heappop(heap)
        while heap:
            head = heap[0]
            if head[2].hgen == head[1]:
                break
            heappop(heap)
            _ndead -= 1
        s = _sched  # publish the new head (see "The scheduler's view" below)
        lock(s.lock)
        tg = s.timerg
        if tg is None or tg.status == _Gwaiting:
            s.timer0when = heap[0][0] if heap else INF
        unlock(s.lock)
    else:
        _ndead += 1
        if _ndead > _COMPACT_MIN and _ndead > len(heap) >> 1:
            _compact()
    if not held:
        unlock(_tlock)
    return True


dodeltimer = specialise(deltimer, name="dodeltimer", bind={"held": True},
                        doc="deltimer for a caller that holds _tlock.")


@specialise
def modtimer(t: timer, when: float, period: float, f: Callable[[Any, int], Any],
             arg: Any, seq: int) -> bool:
    """Re-arm t with new fields, pending or not; True if it was pending
    (Go 1.14+: modtimer; netpoll uses it for deadlines).  Go 1.23 marks a
    pending timer modified and moves it later; gort deletes and adds it."""
    when = _checkwhen(when)
    lock(_tlock)
    pending = dodeltimer(t)
    t.when = when
    t.period = period
    t.f = f
    t.arg = arg
    t.seq = seq
    doaddtimer(t)
    unlock(_tlock)
    return pending


def numtimers() -> int:
    """Pending timers of this runtime (dead heap entries not counted)."""
    return len(_heap) - _ndead


def timerslen() -> int:
    """Heap entries, dead ones included (Go's scheddetail ``timerslen``;
    gort/sched/sysmon.py reports it)."""
    return len(_heap)


def _compact() -> None:
    """Drop every dead entry and re-heapify, O(n) (Go 1.23: adjust(force) / initHeap)."""
    global _ndead
    heap = _heap
    n = len(heap)
    live = [e for e in heap if e[2].hgen == e[1]]
    heap[:] = live
    heapify(heap)
    _ndead -= n - len(live)


# --------------------------------------------------------------------------
# Timer channels (Go 1.23: maybeRunChan, blockTimerChan, unblockTimerChan)


class chantimer(timer):
    """The runtime timer of a time.Timer/Ticker channel (Go: a timer with
    ``isChan``); see "Timer channels" in the module docstring.

    ``when`` is 0 when stopped (or a one-shot timer has run).  ``period`` is
    a ticker's.  ``blocked`` counts goroutines parked on the channel (Go:
    ``t.blocked``); the timer is in the heap only while it is > 0.  ``f`` is
    always ``_firechan``, and ``arg`` is the channel while ``blocked`` > 0,
    None otherwise: the channel already points here (``Chan.timer``), and a
    permanent pointer back would make every unreferenced timer a cycle for
    the cyclic GC instead of plain refcounted garbage.

    chanrecv and selectgo call the three methods below on ``c.timer`` from
    their slow paths only (nothing ready; about to park; woken).  With one M
    they need no lock; under M:N each takes ``_tlock`` (Go: ``t.mu``), and
    maybeRunChan and blockTimerChan are called with the channel's lock held
    (Go calls blockTimerChan under c.lock too).
    """

    __slots__ = ("blocked",)

    isChan = True

    def __init__(self, when: float = 0.0, period: float = 0.0) -> None:
        # gort.time's constructors write these fields out instead (one
        # Python call less on the new_timer path).
        self.when = when
        self.period = period
        self.f = _firechan
        self.arg = None
        self.seq = 0
        self.hgen = 0
        self.blocked = 0

    def __repr__(self) -> str:
        state = "heaped" if self.hgen else ("armed" if self.when else "stopped")
        return (f"<chantimer when={self.when:.6f} period={self.period} seq={self.seq} "
                f"blocked={self.blocked} {state}>")

    @specialise
    def maybeRunChan(self) -> float | None:
        """A receive found the channel empty: if the timer is due and not in
        the heap, run it now and return its value (the due time) to that
        receiver; None if nothing is due (Go: maybeRunChan + unlockAndRun,
        which sends into the buffer instead)."""
        lock(_tlock)
        v = None
        when = self.when
        if when and not self.hgen:  # else stopped, or the heap is in charge
            b = self.bubble
            now = monotonic() if b is None else b.now
            if when <= now:
                _chanadvance(self, when, now)
                v = when
        unlock(_tlock)
        return v

    @specialise
    def blockTimerChan(self, c: Any) -> None:
        """A receive on c is about to park: the timer must be in the heap
        if it is armed (Go: blockTimerChan + needsAdd/maybeAdd)."""
        lock(_tlock)
        self.blocked += 1
        self.arg = c
        if not self.hgen and self.when:
            doaddtimer(self)
        unlock(_tlock)

    @specialise
    def unblockTimerChan(self, c: Any) -> None:
        """A receive on c that had parked is awake (or killed): the last
        one out takes the timer out of the heap, keeping ``when`` (Go:
        unblockTimerChan, which marks it a zombie)."""
        lock(_tlock)
        b = self.blocked - 1
        self.blocked = b
        if not b:
            self.arg = None
            if self.hgen:
                dodeltimer(self)
        unlock(_tlock)

    @specialise
    def stop(self) -> bool:
        """Disarm; True if a value was still owed -- armed, or due and not
        yet received (Go 1.23: (*timer).stop, sync timer channels)."""
        lock(_tlock)
        pending = self.when != 0.0
        self.when = 0.0
        if self.hgen:
            dodeltimer(self)
        self.seq += 1  # a _firechan already in flight gives up
        unlock(_tlock)
        return pending

    @specialise
    def modify(self, when: float, period: float) -> bool:
        """Re-arm for ``when`` (and ``period``); returns what stop() would
        have.  Nothing sent before the call can be received after it: a
        timer's value only exists when a receiver takes it (Go 1.23: modify)."""
        when = _checkwhen(when)
        lock(_tlock)
        pending = self.when != 0.0
        self.period = period
        self.seq += 1  # a _firechan already in flight gives up
        if self.hgen:  # receivers wait: move it (Go: modtimer)
            dodeltimer(self)
        self.when = when
        if self.blocked:
            doaddtimer(self)
        unlock(_tlock)
        return pending


def _chanadvance(t: chantimer, when: float, now: float) -> None:
    """The timer due at ``when`` runs at ``now``: a one-shot timer is done,
    a ticker moves to its next tick after now, keeping its phase and
    skipping the ticks nobody took (Go: unlockAndRun's next)."""
    period = t.period
    t.when = _nextwhen(when, period, now) if period > 0 else 0.0


def _takehead(heap: list, t: timer, when: float, now: float) -> None:
    """t, due at ``when``, heads ``heap`` and runs at ``now``: take it off
    (Go: dodeltimer0), or re-arm a periodic timer at its next when (Go:
    ``t.when += t.period * (1 + -delta/t.period)``; siftdownTimer).  A
    channel timer is taken off like a one-shot one: ``_firechan`` re-arms a
    ticker itself."""
    period = t.period
    if period > 0 and not t.isChan:
        t.when = when = _nextwhen(when, period, now)
        gen = _nextgen()
        t.hgen = gen
        heapreplace(heap, (when, gen, t))
    else:
        heappop(heap)
        t.hgen = 0


def _nextwhen(when: float, period: float, now: float) -> float:
    """A periodic timer due at ``when`` runs at ``now``: its next when,
    skipping the periods it missed (Go: when += period*(1 + -delta/period)).
    A period below the float resolution of ``when`` would re-arm it in the
    past forever: then the next when is the next float after now."""
    when += period * (1.0 + (now - when) // period)
    if not when > now:
        return nextafter(now, INF)
    return when if when < MAXWHEN else MAXWHEN


@specialise
def _firechan(c: Any, seq: int) -> None:
    """Runs on timerproc when a channel timer in the heap is due (Go:
    unlockAndRun + sendTime): hand the due time to the first receiver that
    can still take it.  If every waiter was already woken by another select
    case, the value stays owed (due, unsent) for the next receive.

    M:N: under c.lock, then _tlock (the lock order).  timerproc popped the
    timer and dropped _tlock before calling here, so meanwhile it may have
    been stopped or reset (``seq`` moved on), run by a receive through
    maybeRunChan (``when`` advanced: not due yet), or put back in the heap
    by a receiver that blocked (``hgen`` set; that entry fires again later
    and finds what is due then).  With one M none of that can happen.
    """
    t = c.timer
    lock(c.lock or _chanlock(c))
    lock(_tlock)
    sg = None
    when = t.when
    if seq == t.seq and when:
        b = t.bubble
        now = monotonic() if b is None else b.now
        if when <= now:
            sg = c.recvq.dequeue()
            if sg is not None:
                _chanadvance(t, when, now)
        if t.when and not t.hgen and c.recvq.first is not None:
            doaddtimer(t)  # a ticker, and others still wait for its next tick
    unlock(_tlock)
    if sg is not None:
        send(c, sg, when)  # readies the receiver (under c.lock, as Go's send)
    unlock(c.lock)


# --------------------------------------------------------------------------
# synctest bubbles (Go: a bubble's own timers heap, synctestRun's advance)


class btimer(timer):
    """A timer created in a synctest bubble: on the bubble's heap and clock."""

    __slots__ = ("bubble",)


class bchantimer(chantimer):
    """A channel timer created in a synctest bubble."""

    __slots__ = ("bubble",)


def _bdeltimer(b: Any) -> None:
    """deltimer of a timer of bubble b: its entry dies where it is, and
    bubbleadvance drops it (or a compaction does)."""
    b.ndead += 1
    heap = b.heap
    if b.ndead > _COMPACT_MIN and b.ndead > len(heap) >> 1:
        live = [e for e in heap if e[2].hgen == e[1]]
        heap[:] = live
        heapify(heap)
        b.ndead = 0


@specialise
def bubbleadvance(b: Any, jump: bool) -> int:
    """Run bubble b's due timers; with ``jump`` (every goroutine of b is
    durably blocked) first move b's clock to its earliest timer (Go:
    synctestRun's ``bubble.now = next``, then the timers' check).  Returns
    how many ran: 0 with ``jump`` means no timer is left, and nothing can
    ever wake the bubble.

    Runs on b's root goroutine, which stands in for timerproc: callbacks
    start goroutines (after_func) in the bubble, because newproc takes the
    creator's bubble and the caller lends the root b while they run.
    """
    lock(_tlock)
    b.due = False  # read under b.lock by rootcommit; a stale True only costs a pass
    heap = b.heap
    batch = []
    while heap:
        when, gen, t = heap[0]
        if t.hgen != gen:  # dead
            heappop(heap)
            b.ndead -= 1
            continue
        if when > b.now:
            if batch or not jump:
                break
            b.now = when  # the jump: time passes only here
        _takehead(heap, t, when, b.now)
        batch.append((t.f, t.arg, t.seq))
    unlock(_tlock)
    for f, arg, seq in batch:
        f(arg, seq)
    return len(batch)


# --------------------------------------------------------------------------
# timerproc


def _starttimerproc() -> None:
    global _tpg
    _tpg = newproc(timerproc, (), None, system=True)


def timerproc() -> None:
    """Run due timers, then sleep until the next one (Go 2014: timerproc).

    How a timer wakes a goroutine, end to end (``time.sleep(d)``):

    1. ``sleep`` parks its goroutine; gopark's unlockf arms the goroutine's
       timer (``addtimer``: f=_goroutineReady, arg=the G, when=now+d).  If
       ``when`` is the new earliest, it publishes it in ``sched.timer0when``
       (and wakes timerproc's M if it sleeps past it).
    2. Every scheduling round compares ``sched.timer0when`` with the clock;
       once it has passed, the scheduler calls ``checkTimers`` (below), which
       claims this goroutine, parked in ``timerproc_park``, and returns it to
       be run next.  An idle M sleeps until ``timeSleepUntil``.
    3. Here: pop every due timer and call its ``f(arg, seq)``:
       ``_goroutineReady`` does ``goready(gp)`` -- the sleeper is runnable.
       A channel timer's f (``_firechan``) hands the time to a receiver
       parked on its channel; after_func's (``_goFunc``) starts a goroutine.
    4. Park in ``timerproc_park(next when)``, which publishes that when.

    A periodic timer is re-armed *before* its f runs, from the time it was
    due, skipping the periods it missed (Go: when += period*(1 + -delta/period)),
    so a late timerproc never makes a ticker fire in a burst.  A channel
    timer is popped like a one-shot one: ``_firechan`` re-arms it.

    M:N: each pass holds _tlock but for the callbacks, which it runs in
    batches of up to _RUNBATCH, and parks with it held (see the module
    docstring).  ``_mn`` is read once per pass: this frame lives across
    mode changes, so it is not @specialise'd.  With one M, f runs at once
    (a callback that stops a timer due in the same pass stops it).
    """
    global _tpg, _ndead
    me = _tpg
    heap = _heap
    lock = _tlock
    try:
        while True:
            mn = _mn
            if mn:
                wakebatch(True)
                lock.acquire()
            now = monotonic()
            batch = []
            while True:
                while heap:
                    when, gen, t = heap[0]
                    if t.hgen != gen:  # dead: deleted, possibly mid-batch
                        heappop(heap)
                        _ndead -= 1
                        continue
                    if when > now:
                        break
                    _takehead(heap, t, when, now)
                    if not mn:
                        if _proc._trace is not None:
                            _proc._trace.timer(me, t)
                        try:
                            t.f(t.arg, t.seq)
                        except Exception as e:  # noqa: BLE001 - reported, see docstring
                            _timerpanic(t.f, e)
                        continue
                    # Go's unlockAndRun: read f, arg, seq under the lock, run
                    # f without it.  M:N collects up to _RUNBATCH due timers
                    # per hold of _tlock: taking it back after every f let
                    # Ms arming timers (other goroutines' sleeps) keep
                    # timerproc off it for seconds (threading.Lock is not
                    # fair), and with it every timer's firing.
                    batch.append((t.f, t.arg, t.seq, t))
                    if len(batch) >= _RUNBATCH:
                        break
                if not batch:
                    break
                lock.release()
                tr = _proc._trace
                for f, arg, seq, t in batch:
                    if tr is not None:
                        tr.timer(me, t)
                    try:
                        f(arg, seq)
                    except Exception as e:  # noqa: BLE001 - reported, see docstring
                        _timerpanic(f, e)
                batch = []  # while parked, keep no channel alive (TestTimerGC)
                f = arg = None
                wakeflush()  # the woken Ms start on their Gs now
                lock.acquire()
                # `now` stays the pass's: a 1 ns ticker re-armed past it
                # ends the pass instead of keeping it going forever.
            if mn:
                wakebatch(False)  # under _tlock: it only takes sched.lock, as addtimer does
                if _proc.getg().m.retiring:
                    # gomaxprocs went down and took this M's P: hand the
                    # timers to a new timerproc (its newproc uses the global
                    # queue, so an active M runs it), and end, so that the M
                    # can exit.
                    _tpg = newproc(timerproc, (), None, system=True)
                    lock.release()
                    return
            if not heap:
                when = INF
            else:
                when = heap[0][0]
                if when < now + _MINPARK:
                    # Due (nearly) at once again -- a 1 ns ticker, or timers
                    # armed by the callbacks.  The scheduler runs a due
                    # timerproc before any other G, so parking "due now"
                    # would let it starve the run queue; Go runs one G
                    # between two checkTimers passes.  Give the other
                    # goroutines _MINPARK first.
                    floor = monotonic() + _MINPARK
                    if when < floor:
                        when = floor
            timerproc_park(when)
    finally:
        wakebatch(False)  # killed mid-pass: never leave this M batching
        if _tpg is me:
            _tpg = None


def timerproc_park(when: float) -> None:
    """timerproc sleeps until ``when`` (INF: until a timer is added; Go
    2014: goparkunlock(&timers.lock, "timer goroutine (idle)")).

    ``when`` is published in sched.timer0when only once timerproc is marked
    waiting, in gopark's unlockf, so an M that sees it due can always claim
    a parked timerproc.  M:N: timerproc holds _tlock from computing when
    until the park commits; addtimer publishes under the same lock, so a
    timer added meanwhile is never hidden by a later when.
    """
    _sched.timerg = _tpg
    gopark(_parkcommit, when, waitReasonTimerGoroutineIdle)


@specialise
def _parkcommit(gp: G, when: float) -> bool:
    """timerproc_park's unlockf: timerproc is marked waiting; publish when,
    then (M:N) let timers be added again."""
    s = _sched
    lock(s.lock)
    s.timer0when = when
    unlock(s.lock)
    unlock(_tlock)
    return True


# --------------------------------------------------------------------------
# The scheduler's view of the timers: sched.timer0when and two hooks
#
# sched.timer0when is the time the scheduler must ready timerproc: its
# parked wake-up, INF while nothing is pending or timerproc is claimed.
# gort/time owns it, and these are all its writers, each under sched.lock
# under M:N: addtimer (a new earliest when) and deltimer (the head went),
# while timerproc is parked or not started yet -- a claimed or running
# timerproc looks at the heap itself before it parks again; timerproc_park
# (_parkcommit: timerproc's next when); checkTimers (the claim: INF).  One
# setter function would cost addtimer+deltimer two Python calls, +8% of an
# after_func+stop (callgrind), so the hot two write it inline.  It is a
# field the scheduler reads, not a hook it calls, because every scheduling
# round compares it with the clock (and checkdead, select's default and
# ctx.err() read it): a field read is the cheapest test there is.
# sched.timerg (the parked timerproc) is gort/time's too.


@specialise
def checkTimers(now: float) -> G | None:
    """The scheduler's entry point, once per round in which the clock has
    passed sched.timer0when (Go: checkTimers, which runs the P's timers;
    gort readies the one timerproc goroutine that runs them all).  Returns
    timerproc, claimed and runnable, for the scheduler to run on its M;
    None if another M claimed it first, or it has not parked yet (it is
    queued: timer0when stays, so that a goroutine polling
    select-with-default still sees the timer due and yields to it)."""
    s = _sched
    lock(s.lock)
    tg = s.timerg
    if tg is None or now < s.timer0when:
        unlock(s.lock)
        return None
    s.timer0when = INF  # until timerproc parks again
    if tg.status != _Gwaiting:
        unlock(s.lock)
        return None
    tg.status = _Grunnable
    unlock(s.lock)
    return tg


# M:N: timerproc's M never sleeps longer than this, so a timer added by
# another M for later than now + _TIMERSLACK needs no cross-thread wake-up
# (~20 us each on a GIL build): the M sees it at its next wake at the latest.
_TIMERSLACK = 0.25


@specialise
def timeSleepUntil(mp: M) -> float:
    """The scheduler's other hook: when idle M ``mp`` must wake for timers,
    INF for never (Go: the pollUntil findRunnable gets from checkTimers).
    Only timerproc's M wakes for timers; under M:N at least every
    _TIMERSLACK (see above)."""
    s = _sched
    tg = s.timerg
    if tg is None or tg.m is not mp:
        return INF
    if _mn:
        return min(s.timer0when, monotonic() + _TIMERSLACK)
    return s.timer0when


install_timers(checkTimers, timeSleepUntil)


def _timerpanic(f: Callable[[Any, int], Any], e: Exception) -> None:
    try:
        e.add_note(f"(raised by timer callback {getattr(f, '__qualname__', f)!r} "
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
