"""patch_thread: threading and queue park goroutines, and still block threads.

Go has no counterpart: its locks (sync.Mutex, runtime semaphores) are only
ever taken by goroutines, and every blocking wait in Go parks a G.  Python
libraries use ``threading.Lock``, ``Condition``, ``Event``, ``Semaphore`` and
``queue.Queue``; unpatched, a goroutine that waits on one blocks its whole M.

After ``patch_thread()`` these are *hybrids*, in the spirit of gort.sync's
Mutex over a sema (Go: sync.Mutex.Lock -> semacquire -> gopark):

* the caller is a goroutine: a contended acquire parks it (gopark, wait
  reason "sync.Mutex.Lock"), with a runtime timer for a timeout;
* the caller is a plain OS thread (the gort.blocking pool, a
  ``threading.Thread``, an M's scheduler g0, any thread when no runtime runs):
  it blocks that thread, as the unpatched lock would.

A release from either side wakes either kind of waiter: a goroutine with
``goready`` (from a goroutine) or ``ready_from_thread`` (from a thread).

What ``threading.Thread`` becomes (measured; docs/monkey.md): a real OS
thread, as without the patch.  gevent turns it into a greenlet; gort keeps
it a thread because a thread keeps libraries that start threads for blocking
C calls, CPU work or ``ThreadPoolExecutor`` working, and because the patched
primitives work across the two worlds.  What changes is *identity*: each
goroutine is its own "thread" for ``get_ident``, ``current_thread`` and
``threading.local`` (per goroutine, like gevent's per-greenlet locals), so a
library that keeps per-thread state (a connection per thread, an RLock's
owner) sees one per goroutine, never one shared by all goroutines of an M.
The main goroutine is the thread it runs on.  ``Thread.join`` called from a
goroutine parks it.

gort's own runtime keeps the real primitives: its modules are imported
first, and the name ``threading`` in them is rebound to a view whose Lock,
Condition, Event and Thread are the unpatched ones (an Event or Condition
created by the runtime must never park a goroutine inside the scheduler).
"""

from __future__ import annotations

import _thread
import _threading_local
import contextvars
import importlib
import pkgutil
import queue
import sys
import threading
import types
import warnings
from collections import deque
from time import monotonic
from typing import Any

from greenlet import getcurrent

from ..sched import gopark, goready, ready_from_thread, sched
from ..sched.proc import _tls as _mtls
from ..time.timers import addtimer, deltimer, timer

# The originals, captured when this module is first imported.
_allocate = _thread.allocate_lock
_OrigThread = threading.Thread
_OrigCondition = threading.Condition
_OrigEvent = threading.Event
_orig_get_ident = threading.get_ident
_orig_current_thread = threading.current_thread
_OrigRLock = threading.RLock
_OrigLocal = threading.local
_TIMEOUT_MAX = threading.TIMEOUT_MAX

waitReasonLock = "sync.Mutex.Lock"  # Go's wait reason for a parked Lock


def _curg() -> Any:
    """The running goroutine, or None on a plain thread (or g0, or before
    any runtime started).  Never starts the runtime: a plain thread keeps
    plain blocking semantics."""
    try:
        gp = getcurrent().gort_g
    except AttributeError:
        return None
    if gp is None or sched.m0 is None or gp.m is None:
        return None
    return gp


# --------------------------------------------------------------------------
# Lock


class _waiter:
    """A parked goroutine in a Lock's wait queue (Go: a sudog in semaRoot)."""

    __slots__ = ("gp", "fired")

    def __init__(self, gp: Any) -> None:
        self.gp = gp
        self.fired = False  # woken by its timeout, not by a release


# A goroutine parked on a hybrid counts in sched.nsyscall, as one in
# gort.blocking does: a thread the runtime cannot see may release it, so
# checkdead must not call it a deadlock (Go: an M in a syscall is not idle).
# A real deadlock on threading locks therefore hangs, as it does in Python.


def _unlockmu(gp: Any, mu: Any) -> bool:
    s = sched
    with s.lock:
        s.nsyscall += 1
    mu.release()
    return True


def _ready(gp: Any) -> None:
    """Ready gp, taken off a wait queue, from whatever runs: a goroutine
    (on any M) or a plain thread."""
    if _curg() is not None:
        s = sched
        with s.lock:
            s.nsyscall -= 1
        goready(gp)
    else:
        ready_from_thread(gp, syscall=True)


def _timeoutfire(arg: Any, seq: int) -> None:
    # Runs on timerproc (a goroutine): take the waiter off the queue if a
    # release has not already; whoever removes it readies it (one wake-up).
    lk, w = arg
    with lk._mu:
        try:
            lk._waiters.remove(w)
        except ValueError:
            return
        w.fired = True
    _ready(w.gp)


class Lock:
    """threading.Lock for goroutines and threads (module docstring).

    ``_block`` is a real lock and *is* the lock: threads block on it
    directly; goroutines try it and otherwise queue in ``_waiters`` (under
    ``_mu``) and park.  ``release`` frees ``_block`` and then readies one
    queued goroutine, which tries again (no hand-off: a thread may win,
    as in Go's normal, unfair mode of sync.Mutex).
    """

    __slots__ = ("_block", "_mu", "_waiters", "__weakref__")

    def __init__(self) -> None:
        self._block = _allocate()
        self._mu = _allocate()
        self._waiters: deque[_waiter] = deque()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if timeout == -1:  # the common call: no argument to check
            if self._block.acquire(False):
                return True
            if not blocking:
                return False
        else:
            if not blocking:
                raise ValueError("can't specify a timeout for a non-blocking call")
            if timeout < 0:
                raise ValueError("timeout value must be a non-negative number")
            if timeout > _TIMEOUT_MAX:
                raise OverflowError("timeout value is too large")
            if self._block.acquire(False):
                return True
        gp = _curg()
        if gp is None:
            return self._block.acquire(True, timeout)
        if timeout == 0:
            return False  # it was tried above
        return self._parkacquire(gp, timeout)

    def _parkacquire(self, gp: Any, timeout: float) -> bool:
        w = _waiter(gp)
        t = None
        if timeout != -1:
            t = timer(monotonic() + timeout, 0.0, _timeoutfire, (self, w), 0)
            addtimer(t)
        mu = self._mu
        block = self._block
        try:
            while True:
                mu.acquire()
                if block.acquire(False):
                    mu.release()
                    return True
                self._waiters.append(w)
                # Tried again after queueing: a release that came between our
                # failed try and the append saw no waiter, but left the lock
                # free for this try (release reads _waiters without _mu).
                if block.acquire(False):
                    self._waiters.remove(w)
                    mu.release()
                    return True
                gopark(_unlockmu, mu, waitReasonLock, gp)
                if w.fired:
                    t = None
                    return block.acquire(False)
        except BaseException:
            # Killed while parked (a teardown): leave the queue and the count.
            with mu:
                try:
                    self._waiters.remove(w)
                except ValueError:
                    pass
                else:
                    with sched.lock:
                        if sched.nsyscall > 0:
                            sched.nsyscall -= 1
            raise
        finally:
            if t is not None:
                deltimer(t)

    def release(self) -> None:
        self._block.release()  # RuntimeError: release unlocked lock
        if self._waiters:
            self._wakeone()

    def _wakeone(self) -> None:
        with self._mu:
            w = self._waiters.popleft() if self._waiters else None
        if w is not None:
            _ready(w.gp)

    __enter__ = acquire

    def __exit__(self, *exc: Any) -> None:
        self._block.release()
        if self._waiters:
            self._wakeone()

    def locked(self) -> bool:
        return self._block.locked()

    def _at_fork_reinit(self) -> None:
        self._block = _allocate()
        self._mu = _allocate()
        self._waiters = deque()

    acquire_lock = acquire  # _thread.LockType's old spellings
    release_lock = release
    locked_lock = locked

    def __repr__(self) -> str:  # the C lock's shape: "<locked _thread.lock object at ...>"
        state = "locked" if self._block.locked() else "unlocked"
        return f"<{state} gort.monkey.Lock object at {id(self):#x}>"


class RLock:
    """threading.RLock on the hybrid Lock; its owner is a goroutine or a
    thread, as ``get_ident`` (patched) tells them apart."""

    __slots__ = ("_block", "_owner", "_count", "__weakref__")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The C RLock ignores arguments; 3.13 deprecates them (gh-102029).
        if (args or kwargs) and sys.version_info >= (3, 13):
            warnings.warn("Passing arguments to RLock is deprecated and will be removed "
                          "in 3.15", DeprecationWarning, stacklevel=2)
        self._block = Lock()
        self._owner: int | None = None
        self._count = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        me = get_ident()
        if self._owner == me:
            self._count += 1
            return True
        lk = self._block
        if (timeout == -1 and lk._block.acquire(False)) or lk.acquire(blocking, timeout):
            self._owner = me
            self._count = 1
            return True
        return False

    __enter__ = acquire

    def release(self) -> None:
        if self._owner != get_ident():
            raise RuntimeError("cannot release un-acquired lock")
        self._count -= 1
        if not self._count:
            self._owner = None
            lk = self._block
            lk._block.release()
            if lk._waiters:
                lk._wakeone()

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def locked(self) -> bool:
        return self._block.locked()

    # Condition's protocol for an RLock (threading._PyRLock has the same).
    def _is_owned(self) -> bool:
        return self._owner == get_ident()

    def _release_save(self) -> tuple[int, int | None]:
        if not self._count:
            raise RuntimeError("cannot release un-acquired lock")
        state = (self._count, self._owner)
        self._count = 0
        self._owner = None
        self._block.release()
        return state

    def _acquire_restore(self, state: tuple[int, int | None]) -> None:
        self._block.acquire()
        self._count, self._owner = state

    def _at_fork_reinit(self) -> None:
        self._block._at_fork_reinit()
        self._owner = None
        self._count = 0

    def __repr__(self) -> str:
        state = "locked" if self._block.locked() else "unlocked"
        return (f"<{state} gort.monkey.RLock object owner={self._owner or 0} "
                f"count={self._count} at {id(self):#x}>")


class Condition(_OrigCondition):
    """threading.Condition whose waiters are hybrid Locks (the original's
    are real locks: a goroutine waiting on one would block its M)."""

    def __init__(self, lock: Any = None) -> None:
        super().__init__(RLock() if lock is None else lock)

    def wait(self, timeout: float | None = None) -> bool:
        # threading.Condition.wait, with a hybrid waiter lock.
        if not self._is_owned():
            raise RuntimeError("cannot wait on un-acquired lock")
        waiter = Lock()
        waiter.acquire()
        self._waiters.append(waiter)
        saved_state = self._release_save()
        gotit = False
        try:
            if timeout is None:
                waiter.acquire()
                gotit = True
            elif timeout > 0:
                gotit = waiter.acquire(True, timeout)
            else:
                gotit = waiter.acquire(False)
            return gotit
        finally:
            self._acquire_restore(saved_state)
            if not gotit:
                try:
                    self._waiters.remove(waiter)
                except ValueError:
                    pass


# --------------------------------------------------------------------------
# Identity: each goroutine is a "thread" for get_ident / current_thread / local


class _GoroutineThread(_OrigThread):
    """What ``threading.current_thread()`` returns in a goroutine (gevent:
    a DummyThread per greenlet).  Not registered in ``threading._active``:
    ``threading.enumerate()`` lists OS threads only.  It lives in the
    goroutine's contextvars context, so it (and the goroutine's
    ``threading.local`` data, keyed on it) goes when the goroutine ends."""

    def __init__(self, goid: int) -> None:
        super().__init__(name=f"goroutine-{goid}", daemon=False)
        self._gort_goid = goid
        self._ident = goid
        self._started.set()

    def is_alive(self) -> bool:
        return True

    def join(self, timeout: float | None = None) -> None:
        raise RuntimeError("gort: cannot join a goroutine through threading "
                           "(use a channel or gort.sync.WaitGroup)")

    def start(self) -> None:
        raise RuntimeError("gort: a goroutine's thread object cannot be started")


_gthread: contextvars.ContextVar[_GoroutineThread | None] = contextvars.ContextVar(
    "gort.monkey.thread", default=None)


def _ismainlike(gp: Any) -> bool:
    # The main goroutine (gort.run's, or a lazy runtime's calling greenlet)
    # is the thread it runs on: code that compared current_thread() with
    # main_thread(), or took an RLock before the runtime started, still agrees.
    return gp.ismain or gp is gp.m.lazyg


def get_ident() -> int:
    """threading.get_ident: the goroutine's id in a goroutine (goids are
    small and never collide with a pthread's address), else the thread's.
    (_curg and _ismainlike inlined: RLock calls it on every acquire.)

    A thread that is not an M is answered without asking greenlet: its
    getcurrent() would give every plain thread a main greenlet, and with
    the thread churn of test_ssl on 3.13t that crashed."""
    if _mtls.m is None:
        return _orig_get_ident()
    gp = getattr(getcurrent(), "gort_g", None)
    if gp is None or gp.ismain:
        return _orig_get_ident()
    m = gp.m
    if m is None or gp is m.lazyg or sched.m0 is None:
        return _orig_get_ident()
    return gp.goid


def current_thread() -> threading.Thread:
    gp = _curg()
    if gp is None or _ismainlike(gp):
        return _orig_current_thread()
    t = _gthread.get()
    if t is None or t._gort_goid != gp.goid:  # unset, or inherited from the creator
        t = _GoroutineThread(gp.goid)
        _gthread.set(t)
    return t


class Thread(_OrigThread):
    """threading.Thread: still a real OS thread (module docstring); ``join``
    from a goroutine parks the goroutine instead of blocking its M."""

    # Methods name _OrigThread rather than super(): threading.Timer and
    # other subclasses of the original class call ``Thread.__init__(self)``
    # through threading's globals, which now hold this class.

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _OrigThread.__init__(self, *args, **kwargs)
        self._gort_done = threading.Event()  # patched: hybrid

    def _bootstrap_inner(self) -> None:
        try:
            _OrigThread._bootstrap_inner(self)
        finally:
            self._gort_done.set()

    def join(self, timeout: float | None = None) -> None:
        done = getattr(self, "_gort_done", None)
        if done is None or _curg() is None or not self._started.is_set():
            return _OrigThread.join(self, timeout)
        if timeout is not None and timeout < 0:
            timeout = 0
        if done.wait(timeout):
            _OrigThread.join(self)  # the thread is past run(): microseconds to exit
        # else: timed out, is_alive() stays True, as threading's join


# --------------------------------------------------------------------------
# gort's own modules keep the real primitives


class _RealCondition(_OrigCondition):
    def __init__(self, lock: Any = None) -> None:
        super().__init__(_OrigRLock() if lock is None else lock)


class _RealEvent(_OrigEvent):
    # threading.Event.__init__ looks up Condition and Lock in threading's
    # globals, which the patch replaces: build it from the originals.
    def __init__(self) -> None:
        self._cond = _RealCondition(_allocate())
        self._flag = False


class _RealThread(_OrigThread):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._started = _RealEvent()


class _RealThreading(types.ModuleType):
    """The ``threading`` that gort's runtime modules see after the patch."""

    def __getattr__(self, name: str) -> Any:
        return getattr(threading, name)


_realthreading = _RealThreading("threading")
_realthreading.__dict__.update(
    Lock=_allocate, RLock=_OrigRLock, Condition=_RealCondition, Event=_RealEvent,
    Thread=_RealThread, local=_OrigLocal, get_ident=_orig_get_ident,
    current_thread=_orig_current_thread, currentThread=_orig_current_thread,
)


def _shield_runtime() -> None:
    """Import gort's modules now and rebind ``threading`` in each to the
    originals' view (a module imported later would bind the patched one)."""
    import gort
    for info in pkgutil.walk_packages(gort.__path__, "gort."):
        if info.name.startswith("gort.monkey"):
            continue
        try:
            importlib.import_module(info.name)
        except ImportError:  # an optional extra that is not installed
            continue
    for name, mod in list(sys.modules.items()):
        if (name == "gort" or name.startswith("gort.")) and not name.startswith("gort.monkey"):
            if getattr(mod, "threading", None) is threading:
                mod.threading = _realthreading


# --------------------------------------------------------------------------
# The patch


def _local_current_thread() -> Any:
    return current_thread()


# (module, name, replacement).
_REPLACE: list[tuple[Any, str, Any]] = [
    (threading, "Lock", Lock),
    (threading, "RLock", RLock),
    (threading, "Condition", Condition),
    (threading, "Thread", Thread),
    (threading, "get_ident", get_ident),
    (threading, "current_thread", current_thread),
    # threading.currentThread is left alone: it warns, then calls
    # current_thread through threading's globals, which is the patched one.
    (threading, "local", _threading_local.local),
    (_threading_local, "current_thread", _local_current_thread),
    (_threading_local, "RLock", _OrigRLock),
    (queue, "SimpleQueue", queue._PySimpleQueue),
    # importlib's per-module import locks (_ModuleLock) take their locks and
    # their owner's id from _thread at call time: with these, a goroutine
    # that imports a module another goroutine of the same M is still
    # importing parks until it is done, instead of "owning" the lock too and
    # seeing the module half-initialised (gevent patches the same two).
    (_thread, "allocate_lock", Lock),
    (_thread, "get_ident", get_ident),
]
# Event, Semaphore, BoundedSemaphore, Barrier, Timer and queue.Queue /
# LifoQueue / PriorityQueue are not replaced: they are pure Python and look
# Condition and Lock up in their module's globals at call time, so each one
# created after the patch is built on the hybrids.


def patch() -> None:
    """Apply the patch (gort.monkey.patch_thread calls it once; each
    replacement is recorded in gort.monkey's registry, group "thread")."""
    from . import _replace
    _shield_runtime()
    for mod, name, new in _REPLACE:
        _replace(mod, name, new, "thread")
