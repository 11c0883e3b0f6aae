"""Goroutine leak detection through reachability (Go: the ``goroutineleak``
profile, proposal 74609, an experiment in Go 1.26 and on by default in 1.27).

A goroutine *leaks* when it is blocked on a concurrency primitive -- a
channel, a select, a Mutex/RWMutex/WaitGroup/Cond, a semaphore -- that no
goroutine that may still run can reach: nothing will ever wake it.  Go finds
these in the GC's mark phase: it marks from the roots *without* the stacks
of goroutines blocked on primitives, then, round by round, treats a blocked
goroutine as live once the primitive it waits on has been marked, and marks
from its stack too.  What is left blocked and unmarked at the fixed point
leaks.

gort does the same walk over Python's object graph (``gc.get_referents``):

* Roots: every module's globals (``sys.modules``), the stacks of every
  thread (``sys._current_frames``: running goroutines, plain threads, the
  ``gort.blocking`` pool), the Python signal handlers, and every goroutine
  that is not a candidate -- runnable, running, asleep in ``sleep`` (a timer
  will wake it), in IO wait or in a blocking call.
* Candidates: goroutines parked with a wait reason of a primitive
  (``_LEAKABLE``).  Their G object is a wall the walk stops at, so the
  runtime's own bookkeeping (``sched.allgs``, an M's ``curg``) never makes
  one look live.
* "The primitive it waits on was reached" is, in gort, "a sudog of that G was
  reached": a channel's ``recvq``/``sendq``, a semaphore's ``waiters`` and a
  Cond's ``notifyList`` hold the waiter's sudog, and ``sudog.g`` names it.  A
  select is live if any of its channels is.  A timer that will send on a
  channel keeps it reachable from the timer heap, as in Go.
* A candidate that becomes live adds its stack (each frame's locals; an
  unstarted one its function and arguments) and its contextvars context to
  the walk, until nothing changes.

Where gort differs: Go's walk happens with the world stopped.  gort has no
preemption to stop other Ms with, so under the GIL it raises the switch
interval for the walk (no other thread runs Python code meanwhile), and
reports a goroutine only if it is still parked with the same sudog when the
walk ends.  Objects kept alive only from C (a C extension's callback
registry, say) are not roots: a goroutine blocked on a channel that only C
code holds is reported.  Cost: the walk visits every object reachable from
the roots once -- see docs/testing.md for the figure with 100,000 parked
goroutines.
"""

from __future__ import annotations

import gc
import signal
import sys
from dataclasses import dataclass
from time import monotonic
from types import FrameType
from typing import Any, TextIO

from greenlet import greenlet

from .runtime2 import (
    G,
    _Gwaiting,
    sudog,
    waitReasonChanReceive,
    waitReasonChanReceiveNilChan,
    waitReasonChanSend,
    waitReasonChanSendNilChan,
    waitReasonSelect,
    waitReasonSelectNoCases,
    waitReasonSemacquire,
    waitReasonSyncCondWait,
    waitReasonSyncMutexLock,
    waitReasonSyncRWMutexLock,
    waitReasonSyncRWMutexRLock,
    waitReasonSynctestChanReceive,
    waitReasonSynctestChanSend,
    waitReasonSynctestSelect,
    waitReasonSynctestWaitGroupWait,
    waitReasonSyncWaitGroupWait,
)
from .sysmon import parse_gortdebug
from .traceback import goroutine_stack

# Wait reasons of goroutines blocked on a primitive (Go: waitReason.isBlockedForGC's
# list: channels, select, sync and semaphores).  Not here: sleep (a timer will
# ready it), IO wait (the poller), syscall (gort.blocking's thread), timerproc.
_LEAKABLE = frozenset({
    waitReasonChanReceive, waitReasonChanSend,
    waitReasonChanReceiveNilChan, waitReasonChanSendNilChan,
    waitReasonSelect, waitReasonSelectNoCases,
    waitReasonSemacquire, waitReasonSyncCondWait, waitReasonSyncMutexLock,
    waitReasonSyncRWMutexRLock, waitReasonSyncRWMutexLock, waitReasonSyncWaitGroupWait,
    waitReasonSynctestChanReceive, waitReasonSynctestChanSend, waitReasonSynctestSelect,
    waitReasonSynctestWaitGroupWait,
})


@dataclass(frozen=True)
class LeakedGoroutine:
    """One goroutine blocked forever, as the leak profile reports it."""

    goid: int
    wait_reason: str
    stack: str  # Go's dump format: header, frames, "created by ..."

    def __str__(self) -> str:
        return self.stack


def _frame_roots(f: FrameType | None, out: list[Any], skip: FrameType | None = None) -> None:
    # A suspended greenlet's frames report no referents to gc (greenlet does
    # not traverse them), so walk them by hand: each frame's locals, then the
    # caller.  Globals are roots already (sys.modules).
    while f is not None:
        if f is not skip:
            loc = f.f_locals
            out.append(loc if isinstance(loc, dict) else dict(loc))
        f = f.f_back


def _g_roots(gp: G, out: list[Any]) -> None:
    gr = gp.gr
    if gr is not None:
        _frame_roots(gr.gr_frame, out)
        ctx = getattr(gr, "gr_context", None)
        if ctx is not None:
            out.append(ctx)
    else:  # not started: what it will run with
        out.append(gp.fn)
        out.append(gp.args)
        if gp.kwargs:
            out.append(gp.kwargs)
    if gp.ctx is not None:
        out.append(gp.ctx)


def find_leaks(allgs: Any, exclude: Any = ()) -> list[G]:
    """The goroutines of ``allgs`` that are blocked forever, by goid.

    ``exclude``: objects the walk must not enter (the caller's own lists).
    """
    gs = [g for g in list(allgs) if not g.system]
    cand: dict[int, G] = {}
    roots: list[Any] = [sys.modules]
    for gp in gs:
        if gp.status == _Gwaiting and gp.waitreason in _LEAKABLE:
            cand[id(gp)] = gp
        else:
            _g_roots(gp, roots)
    snap = {i: (gp.waitreason, gp.waiting) for i, gp in cand.items()}
    me = sys._getframe()
    for f in sys._current_frames().values():
        # This thread's frames from find_leaks's caller on: our own locals
        # hold every candidate and must not count.
        _frame_roots(me.f_back if f is me else f, roots)
    for sig in signal.valid_signals():
        try:
            h = signal.getsignal(sig)
        except (OSError, ValueError):
            continue
        if callable(h):
            roots.append(h)

    # Objects the walk never enters: the candidates (a wall), our bookkeeping.
    seen: set[int] = set(cand)
    seen.update(id(o) for o in (allgs, gs, cand, snap, roots, exclude))
    seen.update(id(o) for o in exclude)
    live: set[int] = set()
    frontier = roots
    seen.update(id(o) for o in frontier)
    # Every object the walk visited stays referenced until it ends: the
    # locals dicts it makes are new objects, and a freed one's id could be
    # taken by a later one that "seen" would then skip.
    visited: list[list[Any]] = []
    Gtype, sdtype, frametype = G, sudog, FrameType
    get_referents = gc.get_referents
    while frontier:
        visited.append(frontier)
        nxt: list[Any] = []
        woken: list[G] = []
        for o in frontier:
            t = type(o)
            if t is sdtype:
                gp = o.g
                if id(gp) in cand and id(gp) not in live:
                    live.add(id(gp))
                    woken.append(gp)
            elif t is frametype:  # a frame met on the way (a traceback's, a generator's)
                _frame_roots(o, nxt)
            elif t is Gtype:  # a non-candidate G met on the way: its stack is a root anyway
                continue
            elif issubclass(t, greenlet) and getattr(o, "gort_g", None) is None:
                _frame_roots(o.gr_frame, nxt)  # a greenlet that is no goroutine's
        for o in get_referents(*frontier):
            i = id(o)
            if i not in seen:
                seen.add(i)
                nxt.append(o)
        for gp in woken:
            extra: list[Any] = []
            _g_roots(gp, extra)
            for o in extra:
                i = id(o)
                if i not in seen:
                    seen.add(i)
                    nxt.append(o)
        frontier = nxt
    return sorted(
        (gp for i, gp in cand.items()
         if i not in live and gp.status == _Gwaiting
         and (gp.waitreason, gp.waiting) == snap[i]),
        key=lambda g: g.goid)


def leaked(allgs: Any) -> list[LeakedGoroutine]:
    """find_leaks with the world held still as far as gort can (see above),
    each leak in the dump format."""
    old = sys.getswitchinterval()
    # Under the GIL no other thread runs Python code during the walk.
    sys.setswitchinterval(60.0)
    try:
        gs = find_leaks(allgs)
        now = monotonic()
        return [LeakedGoroutine(gp.goid, gp.waitreason, goroutine_stack(gp, now)) for gp in gs]
    finally:
        sys.setswitchinterval(old)


def write_profile(leaks: list[LeakedGoroutine], out: TextIO) -> None:
    """The goroutineleak profile in text form (Go: pprof's debug=2 goroutine
    format, which the goroutineleak profile shares)."""
    out.write(f"goroutineleak profile: total {len(leaks)}\n")
    for lk in leaks:
        out.write("\n" + lk.stack + "\n")
    out.flush()


def leakcheck_at_exit(allgs: Any) -> None:
    """GORTDEBUG=leakcheck=1: print the leaks when gort.run's main returns,
    before the goroutines left are killed."""
    if parse_gortdebug().get("leakcheck", "0") in ("", "0"):
        return
    leaks = leaked(allgs)
    if leaks:
        write_profile(leaks, sys.stderr)
