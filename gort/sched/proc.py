"""The scheduler: goroutine creation, gopark/goready, schedule/findrunnable.

Go: src/runtime/proc.go.  The names are Go's, each a function (grep
``def <name>``): schedinit, mstart, newproc, gopark, park_m, goready,
schedule, findrunnable, execute, goexit0, runqput, runqputslow, globrunqput,
globrunqget, runqsteal, injectglist, wakep, startm, stopm, mget, handoffp,
procresize, checkdead -- or, where a call would cost the hot path too much,
a ``# Go: <name>`` marker on the inlined lines (runqget in _nextg and
gopark; gfget in newproc and execute; gfput in goexit0; runqgrab, mput,
checkTimers).  ``sched`` itself lives in runtime2.py (Go: runtime2.go).

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
  the runtime's structures take no locks; gort.sched.mnmode's mode tells every floor when
  a run goes M:N, before the second M starts.
* No preemption: a goroutine runs until it calls into gort.  Go's sysmon
  preempts a runnext ping-pong pair that inherits its time slice for 10 ms;
  gort rotates runnext behind the local queue every 61st tick instead.
* Timers and the network poller are reached through hooks the floors above
  install: gort/time's ``install_timers`` (checkTimers, timeSleepUntil; it
  alone writes ``sched.timer0when``, which each round reads) and
  gort/netpoll's ``install_netpoll`` (``sched.netpoll``).
"""

from __future__ import annotations

import atexit
import contextvars
import inspect
import os
import random
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from time import monotonic
from typing import Any

from greenlet import GreenletExit, getcurrent, greenlet

from . import synctest as _st
from . import sysmon
from .goroutineleak import leakcheck_at_exit
from .mnmode import mode
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
    sched,
    tracing,
)
from .traceback import goroutine_dump

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
_random = random.random


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


# The M of this OS thread (Go: getg().m; on g0 there is no G to ask).
class _mtls(threading.local):
    # Class defaults: a thread that is not an M (a foreign thread calling
    # goready through a channel op) reads None, not AttributeError.
    m: M | None = None
    tg: Any = None  # (m0, G): a foreign thread's thread G (getg_thread)


_tls = _mtls()
# gort.gomaxprocs(n): the process-wide setting, kept across runs as Go's is.
_maxprocs: int | None = None
# The execution tracer (gort/trace.py) when one is recording, else None: each
# hook below costs one global load and a branch while tracing is off.  A
# mirror of runtime2.tracing (set it with tracing.set).
_trace = tracing.register(globals())
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
# When a run first goes above one P, gort.sched.mnmode's ``mode`` flips,
# *before* the second M starts (so no goroutine is inside a critical
# section); from then on every floor takes its locks.  It flips back when
# the run ends, after the other Ms have exited.  _mn mirrors mode.on.
_mn = mode.register(globals())
_deal = False  # M:N on a free-threaded build: newproc deals (runqputspread)


def _dealhook(on: bool) -> None:
    # Deal new goroutines over the Ps only without a GIL (runqputspread);
    # read now: an extension may turn the GIL on at import, never back off.
    global _deal
    _deal = on and not getattr(sys, "_is_gil_enabled", lambda: True)()


mode.onchange(_dealhook)
_setmn = mode.set


# --------------------------------------------------------------------------
# Signals and Ctrl-C (docs/design.md, "Signals").  Go's sighandler runs on
# whatever thread the signal hits and only queues the signal and wakes
# signal_recv; everything else happens in goroutines.  CPython runs Python
# handlers on the main thread between two bytecodes -- possibly in the middle
# of runtime code holding a lock -- so gort's own handlers do no more than
# Go's: set a flag (``_sigattn``) and wake the runtime.  Any M that passes a
# safe point (park_m, or the top of findrunnable) then acts on it in
# goroutine or g0 context, with no runtime lock held (_sigsafepoint).

_sigattn = False  # a signal asked for a safe point (or the run it ended is ending)
_sigintpending = False  # Ctrl-C, to be delivered at a safe point
# gort.signal's delivery, called at a safe point with no lock held.
_sighook: Callable[[], None] | None = None
_sigint_installed = False
_wakeupfd_installed = False
# The main thread's M is asleep on its note: a handler may interrupt the wait.
_mainwait = False
_GORTDIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class _SigWake(BaseException):
    """Raised by gort's signal handlers out of the main thread's note wait in
    findrunnable (and caught there): the Event cannot be set from a handler,
    which may have interrupted its own lock."""


def _siginit() -> None:
    """The runtime starts: on the main thread, make signals wake it.

    The netpollBreak pipe becomes the signal wakeup fd, so a signal wakes a
    poller blocked in netpoll (Go: sighandler's wake-up of signal_recv), and
    Ctrl-C gets gort's handler, which delivers KeyboardInterrupt only at a
    safe point.  A program that installed its own SIGINT handler, or its own
    wakeup fd, keeps it."""
    global _sigint_installed, _condwaitlines
    if threading.current_thread() is not threading.main_thread():
        return
    if not _condwaitlines:
        _condwaitlines = _condwaitsafe()
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _onsigint)
        _sigint_installed = True
    _setwakeupfd()


def _setwakeupfd() -> None:
    """Point the signal wakeup fd at the poller's break pipe (main thread)."""
    global _wakeupfd_installed
    b = getattr(sched.netpollBreak, "__self__", None)
    fd = getattr(b, "breakwfd", -1)
    if fd < 0 or threading.current_thread() is not threading.main_thread():
        return
    prev = signal.set_wakeup_fd(fd, warn_on_full_buffer=False)
    if prev != -1 and not _wakeupfd_installed:
        signal.set_wakeup_fd(prev)  # someone else's (an asyncio loop): leave it
        return
    _wakeupfd_installed = True


def _sigfini() -> None:
    """The runtime ends: give the process its signal setup back."""
    global _sigint_installed, _wakeupfd_installed, _sigattn, _sigintpending, _mainwait
    _sigattn = _sigintpending = _mainwait = False
    if threading.current_thread() is not threading.main_thread():
        return
    if _sigint_installed:
        if signal.getsignal(signal.SIGINT) is _onsigint:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        _sigint_installed = False
    if _wakeupfd_installed:
        signal.set_wakeup_fd(-1)
        _wakeupfd_installed = False


def _saferaise(frame: Any) -> bool:
    """May a signal handler raise right here, as CPython would?  Only in a
    goroutine that is running user code: no frame of gort's own below the
    interrupted one (gbody, at the bottom of every goroutine, excepted)."""
    if getattr(_tls, "m", None) is None:
        return True  # not an M's thread: plain Python
    try:
        gp = getcurrent().gort_g
    except AttributeError:
        gp = None
    if gp is None or gp.status != _Grunning:
        return False  # g0, or a G in the middle of parking
    f = frame
    while f is not None:
        code = f.f_code
        if code.co_filename.startswith(_GORTDIR) and code is not _gbodycode:
            return False
        f = f.f_back
    return True


def sigpoke(frame: Any = None) -> None:
    """From a signal handler (main thread, any point): ask for a safe point.

    Lock-free: sets ``_sigattn`` and wakes a poller with netpollBreak (a
    flag and a write); if the main thread's M sleeps on its note, the
    handler leaves the wait by raising _SigWake (findrunnable catches it) --
    only when frame (the interrupted one) is Condition.wait blocked in its
    waiter's acquire, inside the try whose finally restores the lock.  At
    any other point of Event.wait the raise could leave the Event's own
    lock held (a raise between its acquire and the with-block's setup):
    the next wait on that note then hung for good (free-threaded build,
    Ctrl-C with a lazy runtime at GOMAXPROCS 1: 2-5 runs in 6).  The note
    wait is sliced (_notewait_main), so a poke that cannot raise is seen
    within _SIGSLICE."""
    global _sigattn
    _sigattn = True
    brk = sched.netpollBreak
    if brk is not None and sched.m0 is not None:
        brk()
    if (_mainwait and frame is not None and frame.f_code is _condwaitcode
            and frame.f_lineno in _condwaitlines and getattr(_tls, "m", None) is sched.m0):
        raise _SigWake


def _condwaitsafe() -> frozenset[int]:
    """The lines of threading.Condition.wait where a raise is safe: its
    waiter.acquire calls inside the try that restores the lock."""
    try:
        lines, start = inspect.getsourcelines(threading.Condition.wait)
    except (OSError, TypeError):
        return frozenset()  # no source: never raise; the sliced wait still sees the poke
    out = set()
    intry = False
    for i, ln in enumerate(lines):
        t = ln.strip()
        if t.startswith("try:"):
            intry = True
        elif t.startswith("finally:"):
            break
        elif intry and "waiter.acquire(" in t:
            out.add(start + i)
    return frozenset(out)


_condwaitcode = threading.Condition.wait.__code__
_condwaitlines: frozenset[int] = frozenset()  # filled by _siginit (reading the source is costly)
_SIGSLICE = 0.05  # the longest M0's note wait on the main thread lasts (see sigpoke)


def _onsigint(signum: int, frame: Any) -> None:
    """gort's SIGINT handler (installed while a runtime runs on the main
    thread, unless the program has its own).  In user code of a running
    goroutine it raises KeyboardInterrupt at once, as CPython's default
    handler would; anywhere else (runtime code, which may hold a lock, or the
    scheduler) it leaves it for the next safe point, where the run ends with
    KeyboardInterrupt (_sigsafepoint)."""
    global _sigintpending
    if _saferaise(frame):
        raise KeyboardInterrupt
    _sigintpending = True
    sigpoke(frame)


def sigwake() -> None:
    """The poller drained a signal's byte from the break pipe: wake every
    other blocked M.  A Python handler may have readied a G on the main
    thread's M while that M slept, and each M's next round also looks at
    ``_sigattn``."""
    s = sched
    if s.m0 is None:
        return
    with s.lock:
        for mp in s.allm:
            if mp.blocked and s.pollerm is not mp:
                mp.note.set()


def _sigsafepoint() -> bool:
    """Act on ``_sigattn`` (an M at a safe point: no runtime lock held).
    Returns True when the run is ending: the caller goes to g0."""
    global _sigattn, _sigintpending
    s = sched
    if s.done or s.fatal is not None:
        return True  # _sigattn stays set, so that every M's next park diverts too
    _sigattn = False  # before the flags are read: a later signal sets it again
    if _sigintpending:
        _sigintpending = False
        _endrun(KeyboardInterrupt())
        return True
    if _needmn:
        _admit()
    h = _sighook
    if h is not None:
        h()
    return False


def _endrun(exc: BaseException) -> None:
    """End the run with exc (Ctrl-C; SystemExit or KeyboardInterrupt from a
    goroutine), at a safe point.  gort.run raises it after its teardown; a
    lazily started runtime raises it in the script's greenlet, which tears
    the runtime down first (_raise_exc), so every goroutine's finally runs."""
    global _sigattn
    s = sched
    with s.lock:
        if s.fatal is not None or s.done or s.m0 is None:
            return
        s.fatal = exc
    lg = s.m0.lazyg
    if lg is not None:
        lg.exc = exc
    _sigattn = True  # every M's next park goes to g0, which ends its loop
    _wakeall()


def _atexit() -> None:
    """Interpreter exit with a lazily started runtime still up (its script
    ended, maybe by an exception): end its goroutines, finally blocks run."""
    mp = sched.m0
    if (mp is not None and mp.lazy and mp.thread is threading.current_thread()
            and mp.lazyg is not None and mp.lazyg.gr is getcurrent()):
        teardown()


atexit.register(_atexit)


# --------------------------------------------------------------------------
# Foreign threads (docs/design.md, "Threads").  A thread that is not one of
# the runtime's Ms may use channels (send, recv, close, select) and
# from_thread.  Two things make that safe:
#
# * The run takes its locks (M:N mode, _setmn) before such a thread touches
#   a runtime structure.  With one M gort takes no locks at all, and a
#   per-operation "which thread am I" test would cost every goroutine's
#   channel operation; instead the run learns of threads as they start.
#   While a runtime runs, threading.setprofile gives every new thread a
#   profile hook (_threadprofile) that lasts until the thread's first
#   channel operation (thread_entry), or until the run is M:N anyway.  That
#   operation waits until
#   an M at a safe point (_sigsafepoint) has switched the run to M:N mode
#   (thread_attach).  A thread alive before the runtime started has no
#   hook: its first gort.from_thread call admits it (docs/design.md).
# * A thread that must block gets a *thread G* (getg_thread): a G whose M is
#   a pseudo-M of that thread, with a P only for its readyq.  It parks like
#   a goroutine (gopark), and park_m sends it to _threadpark, which sleeps on
#   the pseudo-M's note; a waker's goready reaches it through the ordinary
#   cross-M path (_pushother: readyq, then wake the M if it is blocked).
#   Go's analogue is a cgo callback thread, which gets an M (needm).

_needmn = False  # a thread asked for M:N mode
_mnack = threading.Event()  # set once the run has switched to it for the thread
_threadprofile_prev: Any = None
_threadprofile_on = False
_threadms: set[M] = set()  # pseudo-Ms of threads blocked in _threadpark
_fromwaits: dict[Any, list] = {}  # from_thread calls in flight: Event -> result box
_attachcodes: set[Any] = set()  # the entry points a thread may use (thread_entry)


def thread_entry(*fns: Callable[..., Any]) -> None:
    """Mark fns as the ways a foreign thread may enter the runtime (the
    channel operations): a thread's first call of one makes the run M:N.
    Any other gort call from such a thread raises (getg's RuntimeError)."""
    for fn in fns:
        _attachcodes.update(mode.codes(fn))  # a specialised fn: both forms


_prethreads: set[threading.Thread] = set()  # alive when the runtime started
_attached: set[threading.Thread] = set()  # threads that used the runtime (thread_attach)
_THREADPOLL = 0.05  # s: how often an idle run looks whether those threads are gone


def _isruntimethread(t: threading.Thread) -> bool:
    return t.name.startswith("gort-")


def _threadsalive() -> bool:
    """Is a thread that this run started, or one that has used it (not the
    runtime's own), still alive?  Then an idle run is not a deadlock yet:
    the thread may send."""
    return any((t not in _prethreads or t in _attached) and not _isruntimethread(t)
               and t.is_alive() for t in threading.enumerate())


def _threadinit() -> None:
    """The runtime starts: learn of the other threads (module comment)."""
    global _threadprofile_prev, _threadprofile_on
    # Threads alive now get no hook (Python 3.11 cannot set another thread's
    # profile function); switching the run to M:N for them here would change
    # every one-M run in a process with an idle helper thread.  Such a thread
    # is admitted by its first gort.from_thread call (docs/design.md).
    _prethreads.clear()
    _prethreads.update(threading.enumerate())
    _attached.clear()
    if not _threadprofile_on:
        _threadprofile_prev = threading.getprofile()
        threading.setprofile(_threadprofile)
        _threadprofile_on = True


def _threadfini() -> None:
    """The runtime ends: wake the threads still blocked on its channels,
    fail the from_thread calls in flight, drop the thread hook."""
    global _needmn, _threadprofile_on, _threadprofile_prev
    _needmn = False
    _mnack.clear()
    if _threadprofile_on:
        if threading.getprofile() is _threadprofile:
            threading.setprofile(_threadprofile_prev)
        _threadprofile_on = False
        _threadprofile_prev = None
    for mp in list(_threadms):
        gp = mp.curg
        if gp is not None:
            gp.exc = RuntimeError("gort: the runtime ended while this thread was blocked on "
                                  "a channel")
            mp.p.readyq.append(gp)
        mp.note.set()
    _threadms.clear()
    for ev, box in list(_fromwaits.items()):
        if not box:
            box.append((False, RuntimeError("gort.from_thread: the runtime ended before "
                                            "the goroutine finished")))
        ev.set()
    _fromwaits.clear()


def _threadprofile(frame: Any, event: str, arg: Any) -> None:
    """The profile hook of a thread started while a runtime runs (module
    comment), first event: the runtime's own threads drop it at once."""
    prev = _threadprofile_prev
    # An M drops it too: 3.12's threading.setprofile_all_threads can hand
    # this hook to every thread, the runtime's own included.
    if (_mn or sched.m0 is None or getattr(_tls, "m", None) is not None
            or _isruntimethread(threading.current_thread())):
        sys.setprofile(prev)
        return
    # From now on current_thread() is not called: at the thread's very end
    # (after threading forgets it) it would make a _DummyThread.
    sys.setprofile(_threadprofile2)
    _threadprofile2(frame, event, arg)


def _threadprofile2(frame: Any, event: str, arg: Any) -> None:
    """On the thread's first channel operation, make the run M:N, then go away."""
    prev = _threadprofile_prev
    if _mn or sched.m0 is None:
        sys.setprofile(prev)
        return
    if event == "call" and frame.f_code in _attachcodes:
        sys.setprofile(prev)
        thread_attach()
        return
    if prev is not None:
        prev(frame, event, arg)


def thread_attach() -> None:
    """From a thread that is not an M, before it touches the runtime: wait
    until the run is in M:N mode (an M switches it at its next safe point)."""
    global _needmn, _sigattn
    if getattr(_tls, "m", None) is not None:
        return  # one of the runtime's Ms: nothing to admit (and no one to wait for)
    t = threading.current_thread()
    if t not in _attached:
        _attached.add(t)
    if _mn:
        return
    s = sched
    m0 = s.m0
    if m0 is None:
        return  # no runtime: the gort call itself will say what is wrong
    _needmn = True
    _sigattn = True
    with s.lock:
        if m0.blocked:
            _wakem(m0)
    if not _mnack.wait(10.0) and not _mn:
        raise RuntimeError(
            f"gort: thread {threading.current_thread().name!r} waited 10 s for the runtime to "
            "admit it: a goroutine is holding the runtime's thread without calling into gort "
            "(a CPU loop, or a blocking call such as Thread.join: use gort.blocking)")


def _admit() -> None:
    """At a safe point: switch the run to M:N mode for the threads that asked."""
    global _needmn
    _needmn = False
    if not _mn:
        _setmn(True)
    _mnack.set()


def getg_thread() -> G:
    """getg for the channel operations (chan.py, selectgo.py), off their fast
    paths: on a thread that is not an M, that thread's G (module comment).
    A goroutine pays what getg costs: one lookup."""
    try:
        gp = getcurrent().gort_g
    except AttributeError:
        gp = None
    if gp is not None:
        return gp
    if _tls.m is not None or sched.m0 is None or not _mn:
        return getg()
    m0 = sched.m0
    tg = getattr(_tls, "tg", None)
    if tg is None or tg[0] is not m0:
        mp = M(-1)
        pp = P(-1)
        mp.p = pp
        pp.m = mp
        gp = G()
        gp.status = _Grunning
        gp.m = mp
        gp.waitreason = ""
        mp.curg = gp
        tg = _tls.tg = (m0, gp)
    return tg[1]


def _threadpark(gp: G) -> None:
    """park_m for a thread G: sleep on the pseudo-M's note until goready
    puts gp on its readyq.  Counted as a blocking call (sched.nsyscall):
    while a thread waits, the run is not deadlocked -- the thread may be
    woken by another thread (Go: an M in a cgo call)."""
    mp = gp.m
    q = mp.p.readyq
    s = sched
    try:
        while True:
            with s.lock:
                if q:
                    q.clear()
                    break
                if s.m0 is None:
                    break
                mp.blocked = True
                mp.note.clear()
                s.nsyscall += 1
                _threadms.add(mp)
            try:
                mp.note.wait()
            finally:
                with s.lock:
                    if mp.blocked:
                        mp.blocked = False
                        if mp in _threadms:
                            _threadms.discard(mp)
                            s.nsyscall -= 1
    finally:
        gp.status = _Grunning
    if gp.exc is not None:
        exc, gp.exc = gp.exc, None
        raise exc


def from_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """From a thread that is not the runtime's: run ``fn(*args, **kwargs)``
    in a new goroutine, wait for it, and return its result or raise its
    exception here (trio's from_thread.run, asyncio's
    run_coroutine_threadsafe).  The runtime must be running (gort.run, or a
    lazily started one)."""
    if not callable(fn):
        raise TypeError(f"gort.from_thread: {type(fn).__name__!r} object is not callable")
    if getattr(_tls, "m", None) is not None:
        raise RuntimeError("gort.from_thread: called on one of the runtime's threads; a "
                           "goroutine calls fn directly (or gort.go(fn))")
    s = sched
    if s.m0 is None:
        raise RuntimeError("gort.from_thread: no gort runtime is running")
    thread_attach()
    done = threading.Event()
    box: list = []

    def body() -> None:
        try:
            box.append((True, fn(*args, **kwargs)))
        except GreenletExit:
            box.append((False, RuntimeError("gort.from_thread: the runtime ended before "
                                            "the goroutine finished")))
            raise
        except BaseException as e:  # noqa: BLE001 - handed to the calling thread
            box.append((False, e))
        finally:
            _fromwaits.pop(done, None)
            done.set()

    gp = G()
    gp.fn = body
    gp.args = ()
    gp.ctx = _copy_context()
    gp.status = _Grunnable
    with s.lock:
        if s.m0 is None or s.done or s.fatal is not None:
            raise RuntimeError("gort.from_thread: the runtime is ending")
        _fromwaits[done] = box
        # Go: newproc from a cgo callback's M; here onto the global queue,
        # where any M can take it.
        s.goidgen += 1
        gp.goid = s.goidgen
        s.allgs.add(gp)
        globrunqput(gp)
    wakep()
    done.wait()
    ok, v = box[0]
    if ok:
        return v
    raise v


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
                "that is not one of the runtime's Ms cannot run them.  From another "
                "thread, use gort.from_thread(fn, *args) to run fn in a goroutine; "
                "channel send/recv/close/select also work there (docs/design.md)")
        raise RuntimeError("gort: called from a greenlet that is not a goroutine")
    n = _defaultprocs()  # a bad GORTMAXPROCS raises before anything starts
    mp = schedinit(cur, lazy=True)
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


def schedinit(parent: Any, lazy: bool) -> M:
    """Make this thread M0, with P0 (Go: schedinit + mstart of m0, and
    runtime.main's newm(sysmon))."""
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
    g0 = _greenlet(schedule, parent=parent)
    g0.gort_g = None
    mp.g0 = g0
    _tls.m = mp
    sysmon.start()
    _siginit()
    _threadinit()
    return mp


def mstart(mp: M) -> None:
    """The body of every M's thread but M0's (Go: mstart): make this
    thread's scheduler greenlet and run schedule until the run ends or the
    M retires."""
    _tls.m = mp
    g0 = _greenlet(schedule)
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
    if s.done and s.fatal is None and not s.exiting:
        # main returned, and M0 has still to look at every goroutine
        # (GORTDEBUG=leakcheck's end-of-run check); killing ours first hid
        # the leaks pinned to other Ms.  teardown sets exitnote, then joins us.
        s.exitnote.wait(10.0)
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
    with sched.lock:
        sched.nspill += 1
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


def handoffp(pp: P) -> int:
    """sysmon's retake found pp's M stuck in one goroutine: hand pp's
    unstarted Gs to the other Ms and wake one (Go: handoffp, which hands
    the whole P over; a gort P stays, as its started Gs are pinned).
    Returns how many moved."""
    with sched.lock:
        n = runqhandoff(pp)
    if n:
        wakep()
    return n


sysmon.install_handoffp(handoffp)  # sysmon stands below proc: its one call up


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
        # Go: runqgrab, half of p2's queue
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
            with sched.lock:  # Ms steal at once: no lost count (issue 17)
                sched.nsteal += 1
            return got
    return None


def runqputspread(pp: P, gp: G) -> None:
    """M:N newproc on a free-threaded build (``_deal``): put the new,
    unstarted G on the less loaded of this P and one other picked at random
    (the "power of two choices"), and wake that P's M if it sleeps.

    Go puts a new G on its own P and lets idle Ps steal it (wakep); a G can
    also move later.  A gort G cannot move once it has started (its greenlet
    is bound to the thread), so when one goroutine starts several CPU-bound
    ones, the first M started them all before a woken M came to steal (8
    goroutines at GOMAXPROCS 2: 7:1 or 8:0 splits; wakep woke the second M
    while main was still making them, and it stole the one G queued then).
    Placing each new G by load keeps the split even.  Not in turn: goroutines
    made in pairs (a sender, a receiver, ...) then landed every sender on one
    M and every receiver on the other.  A P's load is its queued Gs plus the
    one its M runs; stealing still balances what is left unstarted.

    With a GIL gort keeps Go's rule: there Ms take turns on the GIL, the
    gain of M:N is C code that drops it, and a parent and the goroutine it
    starts on one M talk without a cross-thread wake and a GIL hand-off.
    """
    s = sched
    ps = s.allp
    n = len(ps)
    tp = pp
    if n > 1:
        o = ps[_randbelow(n - 1)]
        if o is pp:
            o = ps[n - 1]
        mp = o.m
        if mp is not None and not mp.retiring:
            lo = len(o.runq) + len(o.readyq) + (0 if mp.blocked else 1)
            lp = len(pp.runq) + len(pp.readyq) + 1  # + the creator, running here
            if lo < lp or (lo == lp and _random() < 0.5):
                tp = o
    q = tp.runq
    if len(q) < RUNQ_SIZE:
        q.append(gp)
    else:
        runqputslow(tp, gp)
    if tp is not pp:
        mp = tp.m
        # As _pushother: mp looks at its queues under sched.lock before it
        # sleeps, and we look at mp.blocked under it after queueing.
        with s.lock:
            if mp.blocked:
                _wakem(mp)
                return
    wakep()


def wakep() -> None:
    """New work that any M can take: wake an idle M to come for it, unless
    one is already spinning (Go: wakep)."""
    s = sched
    if not s.nmidle or s.nmspinning:
        return
    with s.lock:
        if s.nmspinning:
            return
        startm()


def startm() -> None:
    """Wake an idle M, spinning, to look for work (Go: startm(nil, true));
    caller holds sched.lock.  Go makes a new M when none is idle; a gort M
    is its P's for good, so then the M blocked in netpoll is woken."""
    s = sched
    mp = mget()
    if mp is not None:
        mp.spinning = True
        s.nmspinning += 1
        mp.note.set()
    elif s.pollerm is not None and not s.pollerm.retiring:
        mp = s.pollerm
        if not mp.spinning:
            mp.spinning = True
            s.nmspinning += 1
        s.netpollBreak()


def mget() -> M | None:
    """Take an idle M that can run new work off sched.midle (Go: mget);
    caller holds sched.lock.  An M retiring since it went idle (procresize
    shrank) stays there for procresize to end; woken by wakep, it exited
    without looking for the G it was woken for, which then waited for
    another M (once 3 s)."""
    midle = sched.midle
    for i in range(len(midle) - 1, -1, -1):
        if not midle[i].retiring:
            return midle.pop(i)
    return None


def _resetspinning(mp: M) -> None:
    """A spinning M found work; if others may be left, wake another (Go:
    resetspinning)."""
    s = sched
    with s.lock:
        if mp.spinning:
            mp.spinning = False
            s.nmspinning -= 1
    # Go wakes another M here whatever it sees; gort looks for queued
    # unstarted Gs first (a wake costs a futex and, with a GIL, a hand-off).
    if s.runqsize or any(len(p2.runq) > 1 for p2 in s.allp):
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
        if now >= s.timer0when:  # Go: checkTimers
            # gort/time's hook: timerproc, claimed, if it is due.  gort has
            # one timerproc (docs/sched.md): only its M runs it.
            tg = _checkTimers(now)
            if tg is not None:
                mp = tg.m
                if mp is pp.m:
                    return tg
                _pushother(tg, mp)
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
            gp = globrunqget(pp, 1)  # Go: schedule's 1-in-61 fairness check
            if gp is not None:
                return gp
        # Go's sysmon would preempt a runnext pair that keeps inheriting its
        # time slice; gort rotates it behind the local queue instead.
        gp = pp.runnext
        if gp is not None and (pp.runq or pp.readyq):
            pp.runnext = None
            runqput(pp, gp, False)
    # Go: runqget, inlined (this runs once per hand-off): runnext, then the
    # local queue (runq, then readyq).
    gp = pp.runnext
    if gp is not None:
        pp.runnext = None
        return gp
    q = pp.runq
    if q:
        if _deal and s.nmspinning and pp.readyq:
            # Free-threaded: an M woken by wakep is on its way to steal: run
            # a started G and leave the unstarted ones to it.  Starting one
            # pins it here for good (see runqputspread).  Not with a GIL,
            # where a gosched after a go runs the new G, as in Go.
            return pp.readyq.popleft()
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
            gr = pp.grfree.pop()  # Go: gfget's reuse of a dead G's stack
        else:
            gr = _greenlet(gbody, parent=mp.g0)
            if _mn:  # another M may count at the same moment (no GIL)
                with sched.lock:
                    sched.ngreenlets += 1
            else:
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
        if _sigattn:
            _sigsafepoint()
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
        threadwait = False
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
            if dead and _threadsalive():
                # A thread this run started may still use a channel (Go: an
                # extra M for cgo callbacks also stops checkdead): look again
                # every _THREADPOLL until it is gone.
                dead = False
                threadwait = True
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
                    s.midle.append(mp)  # Go: mput
                mp.note.clear()
        # gort/time's hook: when this M must wake for timers (INF: never).
        until = _timeSleepUntil(mp)
        if len(pp.grfree) > GRFREE_IDLE and (dead or until - monotonic() > 0.001):
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
        # A timer that fell due since _nextg looked gives delay 0, not < 0
        # ("block until woken": lost).
        delay = -1.0 if until == INF else max(until - monotonic(), 0.0)
        if threadwait and (delay < 0 or delay > _THREADPOLL):
            delay = _THREADPOLL
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
                stopm(mp, delay)
        finally:
            if mp.blocked:  # only this M sets it: no lock needed to look
                _unblock(mp)
            if _trace is not None:
                _trace.unblock(mp)


def stopm(mp: M, delay: float) -> None:
    """Sleep until another M wakes mp (note.set) or ``delay`` passes (< 0:
    no limit) (Go: stopm's mPark; findrunnable has done mput under
    sched.lock).  Go's stopm then acquires the P it was handed; a gort M
    keeps its own P, and findrunnable looks at its queues again."""
    if mp is sched.m0:
        _notewait_main(mp, delay)
    else:
        mp.note.wait(None if delay < 0 else delay)


def _notewait_main(mp: M, delay: float) -> None:
    """M0's note wait, which gort's signal handlers may leave by raising
    _SigWake (sigpoke).  The flag is cleared in an inner finally, so a
    _SigWake raised at any point while it is set is caught here."""
    global _mainwait
    try:
        try:
            _mainwait = True
            # A signal whose handler ran before _mainwait was set, or that
            # could not raise (see sigpoke), left only _sigattn: looked at
            # here, and at least every _SIGSLICE (findrunnable loops).
            if not _sigattn:
                mp.note.wait(_SIGSLICE if delay < 0 or delay > _SIGSLICE else delay)
        finally:
            _mainwait = False
    except _SigWake:
        pass


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


def schedule(gp: G | None = None) -> Any:
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
    b = gp.bubble
    if b is not None:
        _st.parkbegin(gp, reason, lock)  # synctest: a durable park leaves b's running count
    if unlockf is not None and not unlockf(gp, lock):
        gp.status = _Grunning
        gp.waitreason = ""
        if b is not None:
            _st.parkcancel(gp)
        return gp.param
    if b is not None:
        w = _st.parkend(gp)
        if w is not None:
            goready(w)  # the bubble is idle: its synctest.wait caller, or its root
    if _trace is not None:
        _trace.park(gp, reason)
    # Go: park_m -> schedule -> runqget, inlined for its fast path: hand
    # the thread straight to the G in runnext (a ping-pong partner, a woken
    # receiver) when no timer is pending, no I/O waits and this is not a
    # 1-in-61 fairness tick.
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
    if mp.id < 0:
        _threadpark(gp)  # a thread G (getg_thread): not a goroutine
        return
    if sched.exiting:
        gp.status = _Grunning
        raise GreenletExit
    if _sigattn and _sigsafepoint():
        # A signal (or SystemExit in a goroutine) ended the run: g0's
        # findrunnable sees it and ends this M's loop.
        mp.g0.switch(None)
        gp.status = _Grunning
        mp.curg = gp
        if gp.exc is not None:
            _raise_exc(gp)
        return
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
    if gp is gp.m.lazyg and (isinstance(exc, Deadlock) or exc is sched.fatal):
        teardown()  # a Deadlock, or _endrun's KeyboardInterrupt/SystemExit
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
    if gp.bwait:
        _st.readyg(gp)  # synctest: back in its bubble's running count
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
    gp = pp.gfree.pop() if pp.gfree else G()  # Go: gfget (inlined: hot)
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
    # A goroutine started in a synctest bubble is in it (a system one never).
    b = gp.bubble = None if system else curg.bubble
    if b is not None:
        _st.newg(b)
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
        elif _deal:
            runqputspread(pp, gp)
            return gp
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


_gbodycode = gbody.__code__


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
    if gp.bubble is not None:
        w = _st.exitg(gp)
        if w is not None:
            goready(w)
    _gdestroy(gp)
    gp.fn = gp.ctx = gp.kwargs = gp.gr = gp.m = gp.param = gp.exc = gp.gopc = None
    gp.args = ()
    gp.waitreason = ""
    if gp.system:
        gp.system = False
    elif len(pp.gfree) < GFREE_MAX:
        pp.gfree.append(gp)  # Go: gfput (inlined: hot)
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
    pp.grfree.append(gr)  # Go: gfput keeps the dead G's stack
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
    if isinstance(e, (KeyboardInterrupt, SystemExit)) and m0 is not None and not sched.exiting:
        # They end the program, as in a plain script; under a lazy runtime too.
        _endrun(e)
        return
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
    mp = schedinit(cur, lazy=False)
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
        if fatal is None:
            leakcheck_at_exit(s.allgs)  # GORTDEBUG=leakcheck=1
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
    s.exitnote.set()
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
        sysmon.stop()
        _sigfini()
        _threadfini()
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
    if sched.m0 is not None and sched.m0.thread is threading.main_thread():
        _setwakeupfd()  # a new backend (tests switch them): its pipe wakes on signals


def install_timers(checkTimers: Callable[[float], G | None],
                   timeSleepUntil: Callable[[M], float]) -> None:
    """Called once by gort.time: the scheduler's window onto the timers.

    ``checkTimers(now)``: called in a round in which the clock has passed
    ``sched.timer0when``; returns the timer goroutine, made runnable, or
    None.  ``timeSleepUntil(mp)``: when idle M mp must wake for timers (INF:
    never).  ``sched.timer0when`` and ``sched.timerg`` are gort/time's to
    write; the scheduler only reads them."""
    global _checkTimers, _timeSleepUntil
    _checkTimers = checkTimers
    _timeSleepUntil = timeSleepUntil


def _checkTimers(now: float) -> G | None:  # until gort.time installs its hook
    return None


def _timeSleepUntil(mp: M) -> float:
    return INF
