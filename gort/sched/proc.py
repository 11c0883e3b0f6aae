"""The scheduler: goroutine creation, gopark/goready, schedule/findrunnable.

Go: src/runtime/proc.go.  The names are Go's (newproc, gopark, goready,
runqput, runqget, runqputslow, globrunqput, globrunqget, injectglist,
findrunnable, execute, goexit0, gfput/gfget, checkdead).

How a G runs on a greenlet
--------------------------
Each M has a scheduler greenlet ``g0`` (Go's g0 stack) running ``schedule``.
A goroutine's greenlet runs ``gbody``: a loop that runs the G's function and,
when it returns, *keeps the greenlet* for the next goroutine (Go's gfput/gfget
keep a dead G's stack the same way).  If the next runnable G has never run,
the finished greenlet simply runs it -- no switch at all.  A parking G hands
its thread straight to the next runnable G (one greenlet switch per hand-off)
and only falls back to g0 when its P has nothing to run; measured in
docs/performance.md against always bouncing through g0 (Go's mcall(park_m)).

What differs from Go, and why
-----------------------------
* M:N with pinning (docs/sched.md, "M:N").  gomaxprocs(n) runs n Ps, each on
  its own M (an OS thread with its own g0).  A G that has started is pinned
  to its M (a greenlet only switches on its own thread), so only unstarted Gs
  are stolen (runqsteal), a P's local queue is two (runq: unstarted; readyq:
  started), a cross-M goready goes through the owner's readyq (_pushother),
  and a shrinking procresize retires Ms instead of stopping them.
* Locks only in M:N mode: with one M goroutines switch only in gopark, so
  the runtime's structures take no locks; add_mn_hook tells every floor when
  a run goes M:N, before the second M starts.
* No preemption: a goroutine runs until it calls into gort.  Go's sysmon
  preempts a runnext ping-pong pair that inherits its time slice for 10 ms;
  gort rotates runnext behind the local queue every 61st tick instead.
* Timers and the network poller are reached through hooks the floors above
  install (``sched.timer0when``/``sched.timerg``, ``sched.netpoll``).
"""

from __future__ import annotations

import contextvars
import os
import random
import sys
import threading
import traceback
from collections.abc import Callable
from time import monotonic
from typing import Any

from greenlet import GreenletExit, getcurrent, greenlet

from .runtime2 import (
    GFREE_MAX,
    GRFREE_IDLE,
    GRFREE_MAX,
    RUNQ_SIZE,
    G,
    M,
    P,
    _Gdead,
    _Grunnable,
    _Grunning,
    _Gsyscall,
    _Gwaiting,
    gList,
    gQueue,
    schedt,
    waitReasonTimerGoroutineIdle,
)

INF = float("inf")
_copy_context = contextvars.copy_context
# Context.run unbound: calling ctx.run(...) would allocate a bound method that
# stays alive (and GC-tracked) for the goroutine's whole life.
_ctxrun = contextvars.Context.run


class _greenlet(greenlet):
    """A goroutine's (or g0's) greenlet: ``gort_g`` in a slot rather than the
    greenlet's __dict__ -- ``getcurrent().gort_g`` is on every hot path
    (9 ns against 23 ns), and no dict per greenlet for the GC to traverse."""

    __slots__ = ("gort_g",)

_getframe = sys._getframe
_randbelow = random.randrange


class Deadlock(RuntimeError):
    """All goroutines are asleep: nothing runnable, no timer, no I/O waiter,
    no blocking call in flight (Go: checkdead's fatal error).

    ``dump`` holds the goroutine dump in Go's format; it is also attached as
    a note, so it prints with the traceback.
    """

    def __init__(self, msg: str = "all goroutines are asleep - deadlock!", dump: str = "") -> None:
        super().__init__(msg)
        self.dump = dump
        if dump:
            self.add_note(dump)


class _Goexit(BaseException):
    """Unwinds a goroutine for gort.goexit(); finally blocks run on the way."""


sched = schedt()
# The M of this OS thread (Go: getg().m; on g0 there is no G to ask).
_tls = threading.local()
# gort.gomaxprocs(n): the process-wide setting, kept across runs as Go's is.
_maxprocs: int | None = None
# The execution tracer (gort/trace.py) when one is recording, else None: each
# hook below costs one global load and a branch while tracing is off.
_trace: Any = None
# The largest GOMAXPROCS gort accepts (Go <= 1.9's _MaxGomaxprocs).  Every P
# is an OS thread here (its M, to which its goroutines are pinned), and with
# the default 8 MiB stack reservation 1,024 threads already reserve 8 GiB of
# address space; beyond that a typo (2**70) would only spin in procresize.
# Go 1.10 dropped its cap because a P there is cheap and Ms are made on demand.
MAXGOMAXPROCS = 1024
# Hooks that survive a reset: installed once by gort.time / gort.netpoll.
_teardown_hooks: list[Callable[[], None]] = []
_NETPOLL_HOOKS = ("netpoll", "netpollBreak")


# M:N locking.  With one M, goroutines only switch inside gopark, so the
# runtime's structures need no locks (the comments mark where Go locks).
# When a run first goes above one P, every floor that keeps shared state is
# told through its mn hook, *before* the second M starts (so no goroutine is
# inside a critical section); from then on it takes its locks.  The hooks
# are told False when the run ends, after the other Ms have exited.
_mn = False
_mn_hooks: list[Callable[[bool], None]] = []


def add_mn_hook(fn: Callable[[bool], None]) -> None:
    """Register fn(on): called with True when a second M is about to start,
    with False when the run ends (Ms >= 2 only ever run with it True)."""
    _mn_hooks.append(fn)
    if _mn:
        fn(True)


def _setmn(on: bool) -> None:
    global _mn
    if _mn == on:
        return
    _mn = on
    for fn in _mn_hooks:
        fn(on)


def add_teardown_hook(fn: Callable[[], None]) -> None:
    """Let a floor above clear its state when a run (or a lazy runtime) ends."""
    _teardown_hooks.append(fn)


# --------------------------------------------------------------------------
# getg and the lazy runtime


def getg() -> G:
    """The running goroutine (Go: getg()).  Starts the runtime lazily."""
    try:
        gp = getcurrent().gort_g
    except AttributeError:
        gp = None
    if gp is None:
        gp = _lazyinit()
    return gp


def _lazyinit() -> G:
    """Make this thread an M and its current greenlet the main goroutine."""
    cur = getcurrent()
    mp = sched.m0
    if mp is not None:
        if getattr(_tls, "m", None) is None:
            raise RuntimeError(
                f"gort: goroutines already run on thread {mp.thread.name!r}; a thread "
                "that is not one of the runtime's Ms cannot run them (gort.gomaxprocs "
                "sets how many Ms there are)")
        raise RuntimeError("gort: called from a greenlet that is not a goroutine")
    n = _defaultprocs()  # a bad GORTMAXPROCS raises before anything starts
    mp = _startm(cur, lazy=True)
    gp = G()
    sched.goidgen += 1
    gp.goid = sched.goidgen
    gp.ismain = True
    gp.gr = cur
    gp.m = mp
    gp.status = _Grunning
    cur.gort_g = gp
    mp.curg = gp
    mp.lazyg = gp
    sched.allgs.add(gp)
    if n > 1:
        procresize(n)
    return gp


def _defaultprocs() -> int:
    """GOMAXPROCS for a new run: gort.gomaxprocs(n) if it was called, else
    GORTMAXPROCS, else 1 on a GIL build and the CPU count on a free-threaded
    one (Go: the CPU count; on a GIL build more Ms only contend for the GIL)."""
    if _maxprocs is not None:
        return _maxprocs
    v = os.environ.get("GORTMAXPROCS", "").strip()
    if v:
        try:
            n = int(v)
        except ValueError:
            raise ValueError(f"GORTMAXPROCS={v!r} is not an integer") from None
        if n > MAXGOMAXPROCS:
            raise ValueError(f"GORTMAXPROCS={v!r} is above gort's maximum GOMAXPROCS, "
                             f"{MAXGOMAXPROCS} (one OS thread per P)")
        if n >= 1:  # Go ignores a GOMAXPROCS below 1
            return n
    gil = getattr(sys, "_is_gil_enabled", None)
    if gil is not None and not gil():
        return os.cpu_count() or 1
    return 1


def _startm(parent: Any, lazy: bool) -> M:
    """Make this thread M0, with P0 (Go: schedinit + mstart of m0)."""
    s = sched
    mp = M(s.mnext)
    s.mnext += 1
    pp = P(0)
    pp.m = mp
    mp.p = pp
    mp.lazy = lazy
    s.allp = [pp]
    s.allm = [mp]
    s.m0 = mp
    s.starttime = monotonic()
    g0 = _greenlet(_schedule, parent=parent)
    g0.gort_g = None
    mp.g0 = g0
    _tls.m = mp
    from . import sysmon
    sysmon.start()
    return mp


def mstart(mp: M) -> None:
    """The body of every M's thread but M0's (Go: mstart): make this
    thread's scheduler greenlet and run schedule until the run ends or the
    M retires."""
    _tls.m = mp
    g0 = _greenlet(_schedule)
    g0.gort_g = None
    mp.g0 = g0
    try:
        g0.switch(None)
    finally:
        _mexit(mp)
        _tls.m = None


def _mexit(mp: M) -> None:
    """The M's scheduler loop has returned: end the goroutines pinned to it
    (their greenlets can only be switched to on this thread), free its pool."""
    s = sched
    if s.m0 is None:
        # teardown gave up waiting for this M and reset the runtime: its
        # goroutines belong to a run that is gone; leave them to the GC.
        return
    if s.done or s.fatal is not None:
        s.exiting = True
    cur = getcurrent()
    for gp in list(s.allgs):
        gr = gp.gr
        if gp.m is mp and gr is not None and gr is not cur and gr:
            gr.throw(GreenletExit)
    pp = mp.p
    if pp is not None:
        grfreetrim(pp, 0)
    with s.lock:
        if mp in s.allm:
            s.allm.remove(mp)
        if mp in s.midle:
            s.midle.remove(mp)


# --------------------------------------------------------------------------
# Run queues


def runqput(pp: P, gp: G, next: bool) -> None:
    """Put gp on pp's local queue; with next, in runnext (Go: runqput).

    A G that has started goes to ``readyq`` (it is pinned to this P's M and
    never spills), an unstarted one to Go's bounded ``runq``.
    """
    if next:
        old = pp.runnext
        pp.runnext = gp
        if old is None:
            return
        gp = old
    if gp.gr is not None:
        pp.readyq.append(gp)
        return
    q = pp.runq
    if len(q) < RUNQ_SIZE:
        q.append(gp)
    else:
        runqputslow(pp, gp)


def runqputslow(pp: P, gp: G) -> None:
    """Local queue full: move half of it, plus gp, to the global queue in one batch.

    Only unstarted Gs are ever in runq, so only they spill: a G woken by a
    timer or the poller never lands behind thousands of unstarted ones.
    """
    batch = gQueue()
    q = pp.runq
    for _ in range(len(q) // 2):
        try:
            batch.pushBack(q.popleft())
        except IndexError:  # M:N: thieves took the rest
            break
    batch.pushBack(gp)
    sched.nspill += 1
    with sched.lock:
        sched.runq.pushBackAll(batch)
        sched.runqsize += batch.size
    if _mn:
        wakep()


def globrunqput(gp: G) -> None:
    """Put gp at the tail of the global queue; caller holds sched.lock."""
    sched.runq.pushBack(gp)
    sched.runqsize += 1


def runqhandoff(pp: P) -> int:
    """Move all of pp's unstarted Gs to the global queue; return how many
    (Go: the run-queue half of handoffp).  Caller holds sched.lock.  Each
    popleft is atomic, so the owner and thieves never take the same G."""
    q = pp.runq
    n = 0
    while True:
        try:
            gp = q.popleft()
        except IndexError:
            return n
        globrunqput(gp)
        n += 1


def globrunqget(pp: P, max: int) -> G | None:
    """Take up to max Gs from the global queue: return one, queue the rest
    locally (Go: globrunqget; batch = min(size, size/gomaxprocs+1, max))."""
    s = sched
    with s.lock:
        if s.runqsize == 0:
            return None
        n = min(s.runqsize, s.runqsize // s.gomaxprocs + 1, max)
        s.runqsize -= n
        gp = s.runq.pop()
        q = pp.runq
        for _ in range(n - 1):
            g = s.runq.pop()
            # With one M, gosched queues started Gs here too.
            if g.gr is None:
                q.append(g)
            else:
                g.m.p.readyq.append(g)
    if gp.gr is not None and gp.m is not pp.m:
        # A started G left here from before the run went M:N: its own M runs it.
        _pushother(gp, gp.m)
        return None
    return gp


def injectglist(glist: gList) -> None:
    """Make every G of a list from netpoll runnable (Go: injectglist).

    Each goes to its own M's P: a G on another M is pushed to that M's
    readyq and the M is woken."""
    me = _tls.m if _mn else None
    gp = glist.pop()
    while gp is not None:
        gp.status = _Grunnable
        mp = gp.m
        if _mn and mp is not me:
            _pushother(gp, mp, me)
        else:
            runqput(mp.p, gp, False)
        gp = glist.pop()


def _pushother(gp: G, mp: M, me: M | None = None) -> None:
    """gp (already runnable) is pinned to mp, another M: queue it there and
    wake mp if it sleeps.  mp checks its queues under sched.lock before it
    sleeps, and we check mp.blocked under it after queueing: no lost wake-up.

    Inside a wake batch (``wakebatch``) the check is left to the batch's end:
    one lock and at most one wake-up per M for the whole batch.  ``me``:
    this thread's M, passed by callers that have looked it up already."""
    mp.p.readyq.append(gp)
    if me is None:
        me = _tls.m
    if me is not None and me.wakeq is not None:
        me.wakeq.add(mp)
        return
    s = sched
    with s.lock:
        if mp.blocked:
            _wakem(mp)


def wakebatch(on: bool) -> None:
    """M:N: begin (on) or end a batch of cross-M readies on this M.

    timerproc brackets each pass with it.  A pass readies Gs on every M;
    waking the target M once per G cost a lock, a futex wake and a GIL
    hand-off each, and at GOMAXPROCS 4 the pass fell so far behind that
    100k sleepers were 1-4 s late.  Deferring is safe: the G is on mp's
    queue already, so mp either finds it or sleeps until the batch ends,
    a few microseconds later.  (Go readies each G at once; its wake-up is a
    futex, with no GIL to hand over.)"""
    me = _tls.m
    if me is None:
        return
    if on:
        if me.wakeq is None:
            me.wakeq = set()
        return
    wakeflush()
    me.wakeq = None


def wakeflush() -> None:
    """Wake the Ms that this M's open wake batch has readied Gs for, and
    keep the batch open."""
    me = _tls.m
    q = me.wakeq if me is not None else None
    if q:
        s = sched
        with s.lock:
            for mp in q:
                if mp.blocked:
                    _wakem(mp)
        q.clear()


def runqsteal(pp: P) -> G | None:
    """Steal half of another P's unstarted Gs (Go: runqsteal/runqgrab;
    stealOrder visits the Ps from a random start).  Only ``runq`` is stolen
    from: started Gs are pinned, and runnext only ever holds a G that the
    owner readied (gort's newproc uses the tail of runq in M:N mode).  Each
    popleft is one atomic deque operation, so owner and thieves never take
    the same G."""
    ps = sched.allp
    n = len(ps)
    if n < 2:
        return None
    off = _randbelow(n)
    mine = pp.runq
    for i in range(n):
        p2 = ps[(off + i) % n]
        if p2 is pp:
            continue
        q = p2.runq
        k = len(q) - len(q) // 2
        got = None
        for _ in range(k):
            try:
                g = q.popleft()
            except IndexError:
                break
            if got is None:
                got = g
            else:
                mine.append(g)
        if got is not None:
            sched.nsteal += 1
            return got
    return None


def wakep() -> None:
    """New work that any M can take: wake an idle M to come for it, unless
    one is already spinning (Go: wakep/startm)."""
    s = sched
    if not s.nmidle or s.nmspinning:
        return
    with s.lock:
        if s.nmspinning:
            return
        if s.midle:
            mp = s.midle.pop()
            mp.spinning = True
            s.nmspinning += 1
            mp.note.set()
        elif s.pollerm is not None and not s.pollerm.retiring:
            mp = s.pollerm
            if not mp.spinning:
                mp.spinning = True
                s.nmspinning += 1
            s.netpollBreak()


def _resetspinning(mp: M) -> None:
    """A spinning M found work; if others may be left, wake another (Go:
    resetspinning)."""
    s = sched
    with s.lock:
        if mp.spinning:
            mp.spinning = False
            s.nmspinning -= 1
    if s.runqsize:
        wakep()


def _wakeall() -> None:
    """The run is ending (main returned, a fatal error): wake every M."""
    s = sched
    with s.lock:
        for mp in s.allm:
            mp.note.set()
        if s.pollerm is not None and s.netpollBreak is not None:
            s.netpollBreak()


# --------------------------------------------------------------------------
# Picking the next G


def _nextg(pp: P) -> G | None:
    """The non-blocking part of findrunnable, run on every scheduling round.

    Order as Go's: due timers (ready timerproc), the 1-in-61 fairness checks
    (global queue, netpoll), runnext, the local queue, the global queue.
    gort's local queue is two (runtime2.P): unstarted Gs first, as they were
    usually queued first, then the started Gs that were woken since.
    """
    s = sched
    tick = pp.schedtick = pp.schedtick + 1
    if s.timer0when != INF or s.netpollWaiters:
        now = monotonic()
        if now >= s.timer0when:
            if _mn:
                tg = _timerready(pp, now)
                if tg is not None:
                    return tg
            else:
                tg = s.timerg
                s.timer0when = INF
                if tg is not None and tg.status == _Gwaiting:
                    tg.status = _Grunnable
                    return tg
        # Go polls here only while no M is blocked in netpoll (lastpoll != 0):
        # that M sees the readiness itself.  Under a GIL it matters more than
        # in Go: each poll drops the GIL, and that wakes a thread waiting for
        # it just early enough to restart its 5 ms wait, so a poller M that
        # has events to hand over could starve for 100s of ms (a convoy).
        if (s.netpollWaiters and now - s.lastpoll > (0.001 if tick % 61 else 0.0)
                and s.pollerm is None):
            _pollnow(0.0)
    if tick % 61 == 0:
        if s.runqsize and not pp.m.retiring:
            gp = globrunqget(pp, 1)
            if gp is not None:
                return gp
        # Go's sysmon would preempt a runnext pair that keeps inheriting its
        # time slice; gort rotates it behind the local queue instead.
        gp = pp.runnext
        if gp is not None and (pp.runq or pp.readyq):
            pp.runnext = None
            runqput(pp, gp, False)
    gp = pp.runnext
    if gp is not None:
        pp.runnext = None
        return gp
    q = pp.runq
    if q:
        try:
            return q.popleft()
        except IndexError:  # M:N: a thief took the last one
            pass
    q = pp.readyq
    if q:
        return q.popleft()
    if s.runqsize and not pp.m.retiring:
        return globrunqget(pp, RUNQ_SIZE // 2)
    return None


def _timerready(pp: P, now: float) -> G | None:
    """M:N: a timer is due.  Claim timerproc under sched.lock (every M looks
    at timer0when); run it here if it is pinned to this M, else hand it to
    its M.  Go 1.14+ runs each P's timers on that P; gort keeps one timerproc
    goroutine, so its M is the one that fires timers (docs/sched.md)."""
    s = sched
    with s.lock:
        if now < s.timer0when:
            return None
        tg = s.timerg
        s.timer0when = INF
        if tg is None or tg.status != _Gwaiting:
            return None
        tg.status = _Grunnable
    mp = tg.m
    if mp is pp.m:
        return tg
    _pushother(tg, mp)
    return None


def _pollnow(delay: float) -> None:
    s = sched
    t0 = monotonic()
    glist = s.netpoll(delay)
    # Stamped after the poll, as Go's findRunnable stores lastpoll once
    # netpoll returns: a poll(2) over thousands of fds takes more than the
    # 1 ms that _nextg waits between polls, and stamped before it, every
    # scheduling round polled again (issue 12: deadlines seconds late).
    # A poll that costs c >= 0.25 ms also moves the stamp 4c ahead, which
    # delays _nextg's next poll (by the 1 ms rule and the 1-in-61 tick) so
    # that polling takes at most ~1/5 of a busy M: poll(2) over 5,000 fds
    # costs 0.4-2 ms; epoll's c is ~5 us, which changes nothing.
    now = monotonic()
    c = now - t0
    s.lastpoll = now if c < 0.00025 else now + 4.0 * c
    if glist is not None and glist.head is not None:
        injectglist(glist)


def execute(mp: M, gp: G) -> Any:
    """Switch this thread to gp (Go: execute + gogo).

    A G that has never run gets a greenlet now: a pooled one if the P has
    one, else a new one whose parent is g0.  Returns whatever the greenlet
    that switches back to the caller hands over.
    """
    gp.status = _Grunning
    mp.curg = gp
    if _trace is not None:
        _trace.run(mp, gp)
    gr = gp.gr
    if gr is None:
        pp = mp.p
        pooled = bool(pp.grfree)
        if pooled:
            gr = pp.grfree.pop()
        else:
            gr = _greenlet(gbody, parent=mp.g0)
            sched.ngreenlets += 1
        gp.gr = gr
        gp.m = mp
        gr.gort_g = gp
        if pooled:
            return gr.switch(gp)  # goexit0 waits for its next G
        # A fresh greenlet finds its G in gort_g: switch(gp) would keep the
        # tuple (gp,) alive as run's arguments for the greenlet's whole life,
        # one more object for every collection of the cyclic GC to visit.
    return gr.switch()


def findrunnable(mp: M) -> G | None:
    """Find a G to run, blocking until there is one (Go: findRunnable).

    Runs on g0.  Returns None when the run is over (main returned, a fatal
    error, or a deadlock in gort.run mode), or when a retiring M has no
    goroutine left to run.
    """
    s = sched
    pp = mp.p
    while True:
        if s.done or s.fatal is not None or s.m0 is None:
            # The run is over -- or, for an M that teardown could not join
            # in time, already reset: never act on a new run's state.
            return None
        gp = _nextg(pp)
        if gp is None and _mn and not mp.retiring:
            # Go polls the network without blocking (findRunnable step 8)
            # before stealing; with one M, park_m has just polled, and the
            # blocking poll below returns at once if anything is ready.
            gp = runqsteal(pp)
        if gp is not None:
            if mp.spinning:
                _resetspinning(mp)
            return gp
        # Nothing to run: block until a timer is due, I/O is ready, or
        # another M readies a G.  Decide under sched.lock, so that a waker
        # either sees mp.blocked (and how to wake it) or we see its G.
        poller = False
        with s.lock:
            if s.done or s.fatal is not None or s.m0 is None:
                continue  # _wakeall ran since the check above: do not sleep through it
            if (pp.runq or pp.readyq or pp.runnext is not None
                    or (s.runqsize and not mp.retiring)):
                continue
            if mp.spinning:
                mp.spinning = False
                s.nmspinning -= 1
                # Go: an M that stops spinning checks every P's runq once more.
                # A newproc that saw it spinning skipped wakep, and may have
                # queued its G after our runqsteal looked.
                if not mp.retiring and any(p2.runq for p2 in s.allp):
                    mp.spinning = True
                    s.nmspinning += 1
                    continue
            if mp.retiring and not _haspinned(mp):
                s.allm.remove(mp)  # procresize can no longer bring it back
                return None
            dead = (s.nmidle == len(s.allm) - 1 and s.timer0when == INF
                    and s.netpollWaiters == 0 and s.nsyscall == 0
                    and (len(s.allm) == 1 or _noqueuedwork()))
            if not dead:
                mp.blocked = True
                s.nmidle += 1
                # One M sleeps in netpoll (it is woken by netpollBreak);
                # the others on their note.  Published under the lock with
                # blocked, so a waker knows which wake-up to use.
                if s.netpoll is not None and s.pollerm is None and not mp.retiring:
                    s.pollerm = mp
                    poller = True
                elif not mp.retiring:  # wakep must never pick a retiring M
                    s.midle.append(mp)
                mp.note.clear()
        tg = s.timerg
        mytimer = tg is not None and tg.m is mp and (s.timer0when != INF or _mn)
        if len(pp.grfree) > GRFREE_IDLE and (
                dead or not mytimer or s.timer0when - monotonic() > 0.001):
            # Idle for a while: free pooled greenlets, a few at a time (each
            # costs ~10 us), then look for work again.
            if not dead:
                _unblock(mp)
            grfreetrim(pp, max(GRFREE_IDLE, len(pp.grfree) - 64))
            continue
        if dead:
            gp = checkdead(mp)
            if gp is not None:
                return gp
            if s.fatal is not None or s.done:
                return None
            continue  # the Deadlock went to the lazy main goroutine's M
        # Only timerproc's M wakes for timers.  A timer that fell due since
        # _nextg looked gives delay 0, not < 0 ("block until woken": lost).
        # M:N: it sleeps at most _TIMERSLACK, so that timer_added need not
        # wake it for a timer due later than that (see there).
        if mytimer:
            delay = max(s.timer0when - monotonic(), 0.0)
            if _mn and delay > _TIMERSLACK:
                delay = _TIMERSLACK
        else:
            delay = -1.0
        if _trace is not None:
            _trace.block(mp, poller)
        try:
            if poller:
                glist = s.netpoll(delay)
                s.lastpoll = monotonic()  # after the poll, as in _pollnow
                if glist is not None and glist.head is not None:
                    _unblock(mp)
                    injectglist(glist)
            elif delay != 0:
                mp.note.wait(None if delay < 0 else delay)
        finally:
            if mp.blocked:  # only this M sets it: no lock needed to look
                _unblock(mp)
            if _trace is not None:
                _trace.unblock(mp)


def _unblock(mp: M) -> None:
    s = sched
    with s.lock:
        if not mp.blocked:
            return
        mp.blocked = False
        if mp not in s.allm:
            return  # the runtime was reset while mp slept: its counts are not ours
        s.nmidle -= 1
        if s.pollerm is mp:
            s.pollerm = None
        elif mp in s.midle:
            s.midle.remove(mp)


def _haspinned(mp: M) -> bool:
    """Does a live goroutine run on mp's thread?  (Caller holds sched.lock.)"""
    return any(g.m is mp for g in list(sched.allgs))


def _noqueuedwork() -> bool:
    """No G queued on any M (caller holds sched.lock): part of checkdead."""
    for m in sched.allm:
        p = m.p
        if p.runq or p.readyq or p.runnext is not None:
            return False
    return sched.runqsize == 0


def grfreetrim(pp: P, keep: int) -> None:
    """Free pooled greenlets beyond ``keep`` (runs on g0, when the M is about
    to go idle: the burst that filled the pool is over).  Each is parked in
    goexit0; GreenletExit ends it and switches back here."""
    grfree = pp.grfree
    while len(grfree) > keep:
        gr = grfree.pop()
        if gr:
            gr.throw(GreenletExit)


def _schedule(gp: G | None = None) -> Any:
    """g0's loop: find a G, run it, repeat (Go: schedule).

    Whoever switches back to g0 may hand it the G to run next.
    """
    mp = _tls.m
    while True:
        if gp is None:
            gp = findrunnable(mp)
            if gp is None:
                return sched.result
        gp = execute(mp, gp)


# --------------------------------------------------------------------------
# Park and ready


def gopark(unlockf: Callable[[G, Any], bool] | None, lock: Any, reason: str,
           gp: G | None = None) -> Any:
    """Park the running goroutine until goready (Go: gopark).

    The G is marked waiting *before* ``unlockf(gp, lock)`` runs, so a waker
    that gets in as soon as the lock drops finds it parkable.  If unlockf
    returns False the park is cancelled.  Returns ``gp.param``.

    ``gp``: the running G (getg()), passed by callers that already hold it
    (channel send/recv) to skip the lookup: ~40 ns per park.
    """
    if gp is None:
        try:
            gp = getcurrent().gort_g
        except AttributeError:
            gp = None
        if gp is None:
            gp = _lazyinit()
    gp.status = _Gwaiting
    gp.waitreason = reason
    gp.waitsince = 0.0  # stamped lazily by the first dump that sees it (as Go's GC does)
    if unlockf is not None and not unlockf(gp, lock):
        gp.status = _Grunning
        gp.waitreason = ""
        return gp.param
    if _trace is not None:
        _trace.park(gp, reason)
    # Fast path of park_m + _nextg, inlined: hand the thread straight to the
    # G in runnext (a ping-pong partner, a woken receiver) when no timer is
    # pending, no I/O waits and this is not a 1-in-61 fairness tick.
    mp = gp.m
    pp = mp.p
    nxt = pp.runnext
    tick = pp.schedtick + 1
    s = sched
    if (nxt is not None and tick % 61 and s.timer0when == INF and not s.netpollWaiters
            and nxt.gr is not None and nxt is not gp):
        pp.schedtick = tick
        pp.runnext = None
        nxt.status = _Grunning
        mp.curg = nxt
        if _trace is not None:
            _trace.run(mp, nxt)
        nxt.gr.switch()
        # execute() of whoever resumed us set our status and mp.curg.
        if gp.exc is not None:
            _raise_exc(gp)
    else:
        park_m(gp)
    return gp.param


def park_m(gp: G) -> None:
    """Switch away from gp, which is already waiting or runnable.

    The thread goes straight to the next runnable G of the P, or to g0.
    Returns when gp runs again.
    """
    mp = gp.m
    if sched.exiting:
        gp.status = _Grunning
        raise GreenletExit
    pp = mp.p
    nxt = _nextg(pp)
    if nxt is None and sched.netpollWaiters and sched.netpoll is not None:
        # Poll before handing the thread to g0, which would poll next: a
        # ready socket's G then runs without the extra switch through g0.
        _pollnow(0.0)
        nxt = _nextg(pp)
    if nxt is None:
        mp.g0.switch(None)
    elif nxt is not gp:
        if nxt.gr is None and not pp.grfree:
            # A new greenlet inherits the C stack position and recursion
            # depth of the greenlet that starts it: start it from g0's
            # shallow stack, never from a parked goroutine's.
            mp.g0.switch(nxt)
        else:
            execute(mp, nxt)
    gp.status = _Grunning
    mp.curg = gp
    if gp.exc is not None:
        _raise_exc(gp)


def _raise_exc(gp: G) -> None:
    """Raise what the runtime left for gp while it was parked (a Deadlock in
    a lazy runtime's main greenlet)."""
    exc, gp.exc = gp.exc, None
    if isinstance(exc, Deadlock) and gp is gp.m.lazyg:
        teardown()
    raise exc


def goready(gp: G) -> None:
    """Make a parked G runnable, in its P's runnext (Go: goready/ready).

    In M:N mode it may be called on any M: a G pinned to another M goes to
    that M's readyq and the M is woken.  From a thread that is not an M
    (gort.blocking's workers) use ready_from_thread.
    """
    if gp.status != _Gwaiting:
        raise RuntimeError(f"gort: goready of {gp!r}: bad g status")
    gp.status = _Grunnable
    if _trace is not None:
        _trace.ready(gp)
    mp = gp.m
    if _mn:
        me = _tls.m
        if mp is not me:
            _pushother(gp, mp, me)
            return
    pp = mp.p
    old = pp.runnext
    pp.runnext = gp
    if old is not None:
        runqput(pp, old, False)


def ready_from_thread(gp: G, syscall: bool = False) -> None:
    """Ready gp from a thread that is not its M (Go: exitsyscall's slow
    path).  Go puts the G on the global queue for any M; a started G here is
    pinned, so it goes to its own M's readyq, and that M is woken."""
    s = sched
    with s.lock:
        if gp not in s.allgs:  # killed by a teardown while the call ran
            return
        if syscall:
            s.nsyscall -= 1
        if gp.status not in (_Gwaiting, _Gsyscall):
            return
        gp.status = _Grunnable
        if _trace is not None:
            _trace.ready(gp)
        mp = gp.m
        mp.p.readyq.append(gp)
        if mp.blocked:
            _wakem(mp)


def _wakem(mp: M) -> None:
    """Wake an M blocked in findrunnable; caller holds sched.lock."""
    if sched.pollerm is mp and sched.netpollBreak is not None:
        sched.netpollBreak()
    else:
        mp.note.set()


def wakeNetPoller(when: float) -> None:
    """A timer was added for ``when``: if timerproc's M sleeps past it, wake
    it (Go: wakeNetPoller)."""
    s = sched
    tg = s.timerg
    mp = tg.m if tg is not None and tg.m is not None else s.m0
    if mp is None:
        return
    with s.lock:
        if mp.blocked:
            _wakem(mp)


def goyield() -> None:
    """Let the next G run; this one goes to the tail of the local queue
    (Go: goyield, used by semaphore hand-off)."""
    gp = getg()
    gp.status = _Grunnable
    if _trace is not None:
        _trace.park(gp, None)
    gp.m.p.readyq.append(gp)
    park_m(gp)


def gosched() -> None:
    """Yield the thread; the G goes to the global queue (Go: Gosched).

    M:N: a started G is pinned, so it goes to the tail of its own M's readyq
    instead: behind everything queued on this M, not behind the global queue.
    """
    gp = getg()
    gp.status = _Grunnable
    if _trace is not None:
        _trace.park(gp, None)
    if _mn:
        gp.m.p.readyq.append(gp)
    else:
        with sched.lock:
            globrunqput(gp)
    park_m(gp)


def goexit() -> None:
    """End the calling goroutine; its finally blocks run (Go: runtime.Goexit)."""
    gp = getg()
    if gp.gr is not None and gp is gp.m.lazyg:
        raise RuntimeError("gort.goexit: the main greenlet of a lazily started runtime "
                           "is not a goroutine that can exit; return from it instead")
    raise _Goexit


# --------------------------------------------------------------------------
# Goroutine creation and exit


def newproc(fn: Callable[..., Any], args: tuple = (), kwargs: dict | None = None,
            system: bool = False) -> G:
    """Create a runnable G for fn(*args, **kwargs) (Go: newproc/newproc1).

    Like Go, the new G goes into runnext: it runs next, ahead of the queue.
    M:N: it goes to the tail of runq, where idle Ms can steal it (runnext
    cannot be stolen without a CAS), and an idle M is woken (Go: wakep).
    """
    if not callable(fn):
        raise TypeError(f"gort.go: {type(fn).__name__!r} object is not callable")
    try:
        curg = getcurrent().gort_g
    except AttributeError:
        curg = None
    if curg is None:
        curg = _lazyinit()
    pp = curg.m.p
    gp = pp.gfree.pop() if pp.gfree else G()
    s = sched
    if _mn:
        with s.lock:
            s.goidgen += 1
            gp.goid = s.goidgen
    else:
        s.goidgen += 1
        gp.goid = s.goidgen
    gp.fn = fn
    gp.args = args
    gp.kwargs = kwargs
    gp.ctx = _copy_context()
    gp.status = _Grunnable
    gp.parentgoid = curg.goid
    f = _getframe(2)
    gp.gopc = f.f_code
    gp.gopcline = f.f_lineno
    if system:
        gp.system = True
        with s.lock:
            s.ngsys += 1
    s.allgs.add(gp)
    if _trace is not None:
        _trace.create(gp, curg)
    if _mn:
        if curg.m.retiring:
            with s.lock:
                globrunqput(gp)
        elif len(pp.runq) < RUNQ_SIZE:
            pp.runq.append(gp)
        else:
            runqputslow(pp, gp)
        wakep()
        return gp
    old = pp.runnext
    pp.runnext = gp
    if old is not None:
        runqput(pp, old, False)
    return gp


def gbody() -> None:
    """A goroutine greenlet's whole life: run G after G until freed."""
    gr = getcurrent()
    gp = gr.gort_g
    s = sched
    while True:
        try:
            # Up to two arguments are passed by position, not by *args: a
            # star-call builds a tuple (ctx, fn, *args) that lives as long as
            # the goroutine, another object for every GC to traverse.
            a = gp.args
            n = len(a)
            kw = gp.kwargs
            if kw:
                r = _ctxrun(gp.ctx, gp.fn, *a, **kw)
            elif n == 0:
                r = _ctxrun(gp.ctx, gp.fn)
            elif n == 1:
                r = _ctxrun(gp.ctx, gp.fn, a[0])
            elif n == 2:
                r = _ctxrun(gp.ctx, gp.fn, a[0], a[1])
            else:
                r = _ctxrun(gp.ctx, gp.fn, *a)
            if gp.ismain:
                s.result = r
                s.done = True
                if _mn:
                    _wakeall()
        except _Goexit:
            if gp.ismain:
                s.maingoexit = True
        except GreenletExit:
            if s.exiting:
                # End the greenlet quietly: its parent (g0, or whoever threw)
                # gets None, never the exception object as a "next G".
                _gdestroy(gp)
                return
        except BaseException as e:  # noqa: BLE001 - a goroutine's panic
            _panic(gp, e)
        gp = goexit0(gp, gr)
        if gp is None:
            return


def _gdestroy(gp: G) -> None:
    gp.status = _Gdead
    sched.allgs.discard(gp)
    if gp.system:
        with sched.lock:
            sched.ngsys -= 1


def goexit0(gp: G, gr: Any) -> G | None:
    """gp has returned: free it and find this greenlet its next G (Go: goexit0).

    Returns the next G to run on this same greenlet, or None to let the
    greenlet end (which switches to g0).
    """
    mp = gp.m
    pp = mp.p
    if _trace is not None:
        _trace.exit(mp, gp)
    _gdestroy(gp)
    gp.fn = gp.ctx = gp.kwargs = gp.gr = gp.m = gp.param = gp.exc = gp.gopc = None
    gp.args = ()
    gp.waitreason = ""
    if gp.system:
        gp.system = False
    elif len(pp.gfree) < GFREE_MAX:
        pp.gfree.append(gp)
    s = sched
    if s.done or s.fatal is not None or len(pp.grfree) >= GRFREE_MAX:
        return None
    nxt = _nextg(pp)
    if nxt is not None and nxt.gr is None:
        # Never-run G: run it on this greenlet, no switch needed.
        nxt.gr = gr
        nxt.m = mp
        gr.gort_g = nxt
        nxt.status = _Grunning
        mp.curg = nxt
        if _trace is not None:
            _trace.run(mp, nxt)
        return nxt
    gr.gort_g = None
    pp.grfree.append(gr)
    if nxt is None:
        return mp.g0.switch(None)
    return execute(mp, nxt)


def _panic(gp: G, e: BaseException) -> None:
    """An exception escaped a goroutine: never lose it."""
    try:
        e.add_note(f"(uncaught in goroutine {gp.goid})")
    except Exception:  # noqa: BLE001
        pass
    m0 = sched.m0
    if m0 is not None and not m0.lazy and sched.fatal is None and not sched.exiting:
        sched.fatal = e  # run() raises it
        if _mn:
            _wakeall()
        return
    # A lazily started runtime has no run() to end, and a run that is already
    # ending raises its first error: report this one, as gevent does.
    sys.stderr.write(f"panic in goroutine {gp.goid}:\n")
    traceback.print_exception(e, file=sys.stderr)


# --------------------------------------------------------------------------
# Deadlock


def checkdead(mp: M) -> G | None:
    """Nothing runnable, no timers, no I/O waiters, no blocking calls.

    gort.run mode: record the Deadlock and end the run.  Lazy mode: raise it
    in the main greenlet (returned as the G to run, with gp.exc set).
    """
    from .traceback import goroutine_dump

    s = sched
    msg = ("no goroutines (main called runtime.Goexit) - deadlock!" if s.maingoexit
           else "all goroutines are asleep - deadlock!")
    dl = Deadlock(msg, goroutine_dump())
    lg = s.m0.lazyg
    if lg is not None and lg.status == _Gwaiting:
        lg.exc = dl
        lg.status = _Grunnable
        if lg.m is mp:
            return lg
        _pushother(lg, lg.m)
        return None
    s.fatal = dl
    if _mn:
        _wakeall()
    return None


# --------------------------------------------------------------------------
# Programs: run, teardown


def run(main: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run main as the main goroutine until it returns (Go's program).

    Returns main's result.  An uncaught exception in any goroutine ends the
    run with that exception; a deadlock raises Deadlock.  Goroutines still
    alive when main returns are killed (GreenletExit, so their finally
    blocks run), and the runtime is reset, so run() can be called again.
    """
    if not callable(main):
        raise TypeError(f"gort.run: {type(main).__name__!r} object is not callable")
    cur = getcurrent()
    mp = sched.m0
    if mp is not None:
        lg = mp.lazyg
        if (lg is not None and lg.gr is cur and mp.thread is threading.current_thread()
                and len(sched.allgs) - sched.ngsys <= 1):
            teardown()
        else:
            raise RuntimeError("gort.run: the runtime is already running here (run() does not "
                               "nest, and lazily started goroutines must finish first)")
    mp = _startm(cur, lazy=False)
    s = sched
    gp = G()
    s.goidgen += 1
    gp.goid = s.goidgen
    gp.ismain = True
    gp.fn = main
    gp.args = args
    gp.kwargs = kwargs or None
    gp.ctx = _copy_context()
    gp.status = _Grunnable
    s.allgs.add(gp)
    mp.p.runnext = gp
    try:
        n = _defaultprocs()
        if n > 1:
            procresize(n)
        mp.g0.switch(None)
        result, fatal = s.result, s.fatal
    finally:
        teardown()
    if fatal is not None:
        raise fatal
    return result


def teardown() -> None:
    """End the runtime of this process: kill every goroutine left (their
    finally blocks run), free pooled greenlets, let the floors above reset."""
    s = sched
    mp = s.m0
    if mp is None:
        return
    s.exiting = True
    cur = getcurrent()
    try:
        others = [m for m in s.allm if m is not mp]
        if others:
            # Each M ends the goroutines pinned to it, on its own thread
            # (_mexit), once its scheduler sees the run is over.
            s.done = True
            _wakeall()
            for m in others:
                t = m.thread
                if t is not None and t.ident is not None and t is not threading.current_thread():
                    t.join(timeout=10)
                    if t.is_alive():
                        sys.stderr.write(f"gort: M{m.id} ({t.name}) is still running a goroutine "
                                         "that does not yield; leaving it behind\n")
        g0 = mp.g0
        if g0 is not None and g0 and g0 is not cur:
            g0.throw(GreenletExit)
        for gp in list(s.allgs):
            gr = gp.gr
            if gr is not None and gr is not cur and gr and gp.m is mp:
                gr.throw(GreenletExit)
        for gr in mp.p.grfree:
            if gr:
                gr.throw(GreenletExit)
        mp.p.grfree.clear()
        for hook in _teardown_hooks:
            hook()
        _setmn(False)
    finally:
        from . import sysmon
        sysmon.stop()
        if getattr(cur, "gort_g", None) is not None:
            cur.gort_g = None
        _tls.m = None
        global _maxprocs
        _maxprocs = None  # gomaxprocs(n) lasts for the run it was set in (or the next)
        hooks = {k: getattr(s, k) for k in _NETPOLL_HOOKS}
        s.__init__()
        for k, v in hooks.items():
            setattr(s, k, v)


# --------------------------------------------------------------------------
# Small public helpers


def num_goroutine() -> int:
    """The number of goroutines that exist (Go: runtime.NumGoroutine)."""
    if sched.m0 is None:
        return 1
    return len(sched.allgs) - sched.ngsys


def gomaxprocs(n: int | None = None) -> int:
    """Set GOMAXPROCS, the number of Ps (each run by its own M, an OS
    thread), and return the previous setting (Go: runtime.GOMAXPROCS).

    ``n`` None or < 1 only reports, as in Go; above MAXGOMAXPROCS (1,024)
    raises ValueError.  If the OS cannot start the new Ms' threads, the
    RuntimeError of threading propagates and GOMAXPROCS stays as it was.
    Inside a running program it
    takes effect at once (procresize) and lasts until the runtime ends;
    before the runtime starts, it sets the next run's.  Default:
    GORTMAXPROCS, else 1 on a GIL build of CPython and the CPU count on a
    free-threaded one.
    """
    global _maxprocs
    if n is not None and (not isinstance(n, int) or isinstance(n, bool)):
        raise TypeError(f"gort.gomaxprocs: n must be an int, not {type(n).__name__}")
    if n is not None and n > MAXGOMAXPROCS:
        raise ValueError(f"gort.gomaxprocs: {n} is above gort's maximum GOMAXPROCS, "
                         f"{MAXGOMAXPROCS} (one OS thread per P)")
    s = sched
    prev = s.gomaxprocs if s.m0 is not None else _defaultprocs()
    if n is None or n < 1:
        return prev
    if s.m0 is not None:
        if getattr(_tls, "m", None) is None:
            raise RuntimeError("gort.gomaxprocs: call it from a goroutine, or before the "
                               "runtime starts (this thread is not one of its Ms)")
        procresize(n)
    _maxprocs = n
    return prev


def procresize(n: int) -> None:
    """Change the number of Ps to n (Go: procresize, under stop-the-world).

    Growing starts a new M (thread) for each new P, or gives a retiring M
    its P back.  Shrinking cannot stop a P at once, as Go does, because the
    goroutines that started on its M are pinned to that thread: the P's
    unstarted Gs move to the global queue, and the M retires -- it runs only
    its own goroutines from then on and exits when none is left.
    """
    s = sched
    start = []
    moved = False
    if n > 1 and not _mn:
        # Before a second M exists: every floor takes its locks from now on.
        _setmn(True)
    with s.lock:
        old = len(s.allp)
        # Copy on write: thieves and sysmon read sched.allp without the lock.
        allp = list(s.allp)
        if n > old:
            for i in range(old, n):
                mp = next((m for m in s.allm if m.retiring and m.p.id == i), None)
                if mp is not None:
                    mp.retiring = False
                    if mp.blocked:
                        _wakem(mp)
                else:
                    pp = P(i)
                    mp = M(s.mnext)
                    s.mnext += 1
                    pp.m = mp
                    mp.p = pp
                    mp.thread = threading.Thread(target=mstart, args=(mp,),
                                                 name=f"gort-M{mp.id}", daemon=True)
                    s.allm.append(mp)
                    start.append(mp)
                allp.append(mp.p)
        elif n < old:
            for pp in allp[n:]:
                mp = pp.m
                mp.retiring = True
                if runqhandoff(pp):
                    moved = True
                if mp.blocked:
                    _wakem(mp)
            del allp[n:]
        s.allp = allp
        s.gomaxprocs = n
    for i, mp in enumerate(start):
        try:
            mp.thread.start()
        except BaseException:
            # The OS refused a thread (RLIMIT_NPROC, RLIMIT_AS, ...): back to
            # the old count.  The Ms that started retire like any shrink;
            # the unstarted ones are forgotten, so nothing joins them.
            _procunstart(start[i:], old)
            e = sys.exc_info()[1]
            if isinstance(e, Exception):
                e.add_note(f"gort.gomaxprocs({n}): the OS started {i} of {len(start)} new Ms' "
                           f"threads; GOMAXPROCS stays {len(sched.allp)}")
            raise
    if n > 1:
        from . import sysmon
        sysmon.ensure_mn()
    if moved:
        wakep()


def _procunstart(unstarted: list[M], old: int) -> None:
    """procresize grew to more Ps but the threads of ``unstarted`` could not
    start: drop those Ms and their Ps, and shrink back to ``old`` Ps."""
    s = sched
    with s.lock:
        dead = set(unstarted)
        s.allm = [m for m in s.allm if m not in dead]
        s.allp = [p for p in s.allp if p.m not in dead]
        n = len(s.allp)
    if n > old:
        procresize(old)
    else:
        with s.lock:
            s.gomaxprocs = n


def install_netpoll(netpoll: Callable[[float], gList | None],
                    netpollBreak: Callable[[], None]) -> None:
    """Called once by gort.netpoll: the scheduler's window onto the poller."""
    sched.netpoll = netpoll
    sched.netpollBreak = netpollBreak


def timerproc_park(when: float, unlockf: Callable[[G, Any], bool] | None = None,
                   lock: Any = None) -> None:
    """Called by the timerproc goroutine: sleep until ``when`` (inf: until
    a timer is added).  The scheduler readies it when the clock passes when.

    ``timer0when`` is published only once timerproc is marked waiting (in
    gopark's unlockf), so an M that sees it due can always claim a parked
    timerproc.  M:N: the timers module passes its heap lock, held since it
    computed ``when``, as (unlockf, lock); timer_added runs under the same
    lock, so a timer added meanwhile is never hidden by a later ``when``.
    """
    gp = getg()
    s = sched
    s.timerg = gp

    def commit(gp: G, lk: Any) -> bool:
        if _mn:
            with s.lock:
                s.timer0when = when
        else:
            s.timer0when = when
        if unlockf is not None:
            unlockf(gp, lk)
        return True

    gopark(commit, lock, waitReasonTimerGoroutineIdle)


# M:N: timerproc's M never sleeps longer than this, so a timer added by
# another M for later than now + _TIMERSLACK needs no cross-thread wake-up
# (~20 us each on a GIL build): the M sees it at its next wake at the latest.
_TIMERSLACK = 0.25


def timer_added(when: float) -> None:
    """A timer for ``when`` was added: let the scheduler see the earlier time
    and wake timerproc's M if it sleeps past it (Go: wakeNetPoller).  M:N:
    called with the timers' heap lock held."""
    s = sched
    if when < s.timer0when:
        if _mn:
            with s.lock:
                if when < s.timer0when:
                    s.timer0when = when
                    tg = s.timerg
                    mp = tg.m if tg is not None else None
                    if (mp is not None and mp.blocked
                            and when - monotonic() < _TIMERSLACK):
                        _wakem(mp)
            return
        s.timer0when = when
        mp = s.m0
        if mp is not None and mp.blocked:
            wakeNetPoller(when)
