"""The integrated network poller, platform-independent part.

Go: src/runtime/netpoll.go -- as the founding commit (91a670d, "runtime: convert
netpoll to Go", 2014) has it, with the fixes and refinements Go made since:

* the founding commit's ``netpollunlock`` took the lock instead of releasing it
  (fixed below, see netpollunlock);
* per-direction ``rseq``/``wseq`` (Go >= 1.12) instead of the single 2014
  ``seq``, so a deadline change re-arms one timer in place (``modtimer``)
  instead of deleting and re-adding both, and does not invalidate the other
  direction's timer; ``fdseq`` (Go >= 1.21), the descriptor's generation,
  is bumped when it goes back to the pollcache;
* ``rrun``/``wrun`` (Go >= 1.23) say whether a deadline timer is armed;
* ``everr`` (Go >= 1.12): an event that is exactly EPOLLERR makes the next
  read fail with pollErrNotPollable;
* ``netpollWaiters`` deltas (Go >= 1.22): netpollunblock reports the parked
  G it took, and its caller lowers the count after readying it.

Where gort differs, and why:

* **CAS without atomics.** rg/wg move pdNil -> pdWait -> G -> pdReady/pdNil
  by read-check-write sequences.  With one M no gort call falls inside one
  (goroutines switch only in gopark), so each is as good as Go's CAS and
  takes no lock.  In M:N mode (see "Locks" below) each such sequence runs
  under ``pd.lock``: Python has no CAS, and a lock held across the compare
  and the store is one.  Each function is written once, with Go's
  ``lock(pd.lock)``/``unlock(pd.lock)`` where Go has a CAS loop;
  gort.sched.mnmode's ``@specialise`` builds its one-M form (locks
  dropped) and its M:N form, and the run's mode picks which runs.  The
  publish-then-recheck order of netpollblock is Go's in both modes.
* **Direction-indexed words.**  Go picks a word with ``gpp := &pd.rg; if
  mode == 'w' { gpp = &pd.wg }``.  Python has no pointers: rg and wg live
  in a 2-slot list, ``pd.rwg`` (0 read, 1 write), and ``(pd.rwg, i)`` is
  the pointer; ``pd.rg``/``pd.wg`` remain as properties for readers and
  tests.  rd/wd, rt/wt, rseq/wseq and rrun/wrun keep Go's separate fields.
* **Deadlines are absolute** float seconds on time.monotonic() (the 2014
  API; Go's internal/poll later switched to relative durations).  ``None``
  or ``inf`` means no deadline, a time not after now means expired.  Go's
  encoding is kept inside: rd/wd == 0 none, -1 expired, else the deadline.
* **Lazy expiry.**  netpollcheckerr also compares rd/wd with the clock, so
  an operation that never has to wait (data always ready) still sees its
  deadline even though the timer goroutine had no chance to run: with one
  thread, a busy reader would otherwise starve timerproc (Go's os
  TestVariousDeadlines relies on a timer on another P).
* **Type stability.**  Go keeps pollDescs in never-freed memory because the
  kernel hands back a raw pointer.  Python's select.epoll/select.poll hand
  back the fd, so the backends look the pd up in ``pdbyfd`` -- the live
  registry plays the part of the tagged pointer: an event for a closed fd
  finds no pd, an event racing a close+reopen of the same fd number finds
  the new pd and leaves at worst a stale pdReady, which the next pollReset
  discards (the 2014 guarantee).  So ``fdseq`` filters no events here; it
  is kept as the visible generation number.  The pollcache free list is
  kept too (type-stable reuse, as in Go), and since a pd is reused, a
  deadline timer armed under its old owner can fire into it: rseq/wseq,
  bumped by pollOpen and pollUnblock, make that firing a no-op.
* **netpollWaiters after injection (M:N).**  Go (>= 1.22) lowers the count
  only after injectglist has queued the Gs a netpoll returned, so that no M
  sees "no I/O waiters, nothing queued" in between and declares a deadlock.
  gort's netpoll hook returns just the list, so in M:N mode netpoll hands
  each G it readies ``param = netpollWoken`` and the G lowers the count
  itself when it runs again in netpollblock (it is queued by then).  With
  one M nothing can look in between, and netpoll lowers the count at once.
  A G that parked before the run went M:N finishes its wait the M:N way
  (netpollblock reads the live mode, ``mode.on``, when gopark returns).

Locks (M:N mode only, unless marked "always"; the lock order is
pd.lock -> backend lock -> _waiterslock, and pd.lock -> the timers' lock ->
sched.lock; Gs are readied after pd.lock is released, as in Go):

* ``pd.lock`` (always): closing, rd/wd, rseq/wseq, rrun/wrun, rt/wt, user,
  rearm (pollOpen, pollSetDeadline, pollUnblock, the deadline timers,
  netpollarm).  In M:N mode also every read-modify-write of rg/wg:
  netpollblock's publish and take, netpollblockcommit, netpollunblock (its
  callers hold pd.lock), netpoll's readiness.  pollReset's plain store of
  pdNil needs none: the word is then pdNil or pdReady (its one waiter is
  the caller), and a racing netpoll only ever turns pdNil into pdReady.
  ``everr`` is a plain store by netpoll, read without a lock (Go: an
  atomic info bit).
* ``pollcache.lock`` (always): the free list.
* ``_waiterslock``: every change of ``sched.netpollWaiters``, all of which
  go through netpollAdjustWaiters (the scheduler only reads the count).
* ``pdbyfd`` is a dict: each get/set/del is one C call (atomic, also on a
  free-threaded build); an fd number cannot be opened twice at once, since
  the kernel hands it out only after close, and pollClose forgets it first.
* The backends: see netpoll_epoll.py and netpoll_poll.py.
"""

from __future__ import annotations

import math
import threading
from numbers import Real
from time import monotonic
from typing import Any

from gort.sched.mnmode import lock, specialise, unlock
from gort.sched.mnmode import mode as runmode
from gort.sched.proc import add_teardown_hook, getg, gopark, goready, sched
from gort.sched.runtime2 import G, gList, waitReasonIOWait
from gort.time.timers import deltimer, modtimer, timer

# Error codes returned by poll_runtime_pollReset and poll_runtime_pollWait
# (Go: these must match internal/poll's, and gort/net's).
pollNoError = 0  # no error
pollErrClosing = 1  # descriptor is closed
pollErrTimeout = 2  # I/O timeout
pollErrNotPollable = 3  # general error polling descriptor

# The states of the rg/wg binary semaphores (a G object is the fourth):
# pdReady - io readiness notification is pending; a goroutine consumes it by
#           changing the state to pdNil.
# pdWait  - a goroutine prepares to park on the semaphore, but has not yet;
#           it commits by changing the state to its G, or a concurrent io
#           notification changes it to pdReady, or a concurrent timeout/close
#           changes it to pdNil (then the commit fails and it does not sleep).
# G       - the goroutine is parked; io notification or timeout/close changes
#           the state to pdReady or pdNil respectively and readies it.
# pdNil   - none of the above.
pdNil = 0
pdReady = 1
pdWait = 2

_INF = math.inf

# True while a run has more than one M (set by the run's mode, gort.sched.mnmode):
# from then on the rg/wg words are changed under pd.lock only.
_mn = runmode.register(globals())
# Guards every change of sched.netpollWaiters in M:N mode.
_waiterslock = threading.Lock()


class _netpollWoken:
    __slots__ = ()

    def __repr__(self) -> str:
        return "netpollWoken"


# M:N mode: the gp.param netpoll hands the Gs it readies; such a G takes
# itself off netpollWaiters when it runs (see the module docstring).
netpollWoken = _netpollWoken()


class pollDesc:
    """A network poller descriptor (Go: type pollDesc struct).

    ``lock`` guards closing, rseq/wseq, rrun/wrun, rt/wt, rd/wd and user
    (pollOpen, pollSetDeadline, pollUnblock, the deadline timers, and the
    level-triggered backend's arming).  With one M, rg/wg change without it
    (as in Go, where they are atomics); in M:N mode every read-modify-write
    of rg/wg holds it too (see the module docstring).
    """

    __slots__ = (
        "link", "fd", "fdseq", "closing", "everr", "rrun", "wrun", "user",
        "rseq", "rt", "rd", "wseq", "wt", "wd", "rwg", "lock", "rearm",
    )

    def __init__(self) -> None:
        self.link: pollDesc | None = None  # in pollcache, under pollcache.lock
        self.fd = -1  # constant while in use
        self.fdseq = 0  # bumped on every free: a generation number
        self.closing = False
        self.everr = False  # the last event was an error (EPOLLERR alone)
        self.rrun = False  # whether rt is armed
        self.wrun = False  # whether wt is armed
        self.user = 0  # backend cookie: the level-triggered backend's armed events
        self.rseq = 0  # protects from stale read timers
        # Deadline timers, made on first use (most connections never set a
        # deadline; two timers are 160 bytes a connection) and then kept.
        self.rt: timer | None = None  # read deadline timer
        self.rd = 0.0  # read deadline: 0 none, -1 expired, else monotonic time
        self.wseq = 0  # protects from stale write timers
        self.wt: timer | None = None  # write deadline timer
        self.wd = 0.0  # write deadline
        # Go's rg and wg, indexed by direction (_dir: 0 read, 1 write), so
        # that one path serves both, as Go's ``gpp := &pd.rg; if mode == 'w'
        # { gpp = &pd.wg }`` does: each is pdReady, pdWait, the G waiting,
        # or pdNil.  Python has no pointers; a list and an index are the
        # nearest thing (as fast as two attributes; getattr by name is 2x).
        self.rwg: list[Any] = [pdNil, pdNil]
        self.lock = threading.Lock()
        # gort only: the deadline timers were dropped by a runtime teardown
        # while rd/wd stayed set; re-arm them before the next wait.
        self.rearm = False

    # Go's names, for readers and tests (the runtime indexes rwg directly).
    rg = property(lambda pd: pd.rwg[0], lambda pd, v: pd.rwg.__setitem__(0, v),
                  doc="Go's pd.rg: pdReady, pdWait, the G waiting for read, or pdNil")
    wg = property(lambda pd: pd.rwg[1], lambda pd, v: pd.rwg.__setitem__(1, v),
                  doc="Go's pd.wg: pdReady, pdWait, the G waiting for write, or pdNil")

    def __repr__(self) -> str:
        def sem(v: Any) -> str:
            if v is pdNil:
                return "pdNil"
            if v is pdReady:
                return "pdReady"
            if v is pdWait:
                return "pdWait"
            return f"G{v.goid}"

        state = " closing" if self.closing else ""
        return (f"<pollDesc fd={self.fd} rg={sem(self.rg)} wg={sem(self.wg)} "
                f"rd={self.rd} wd={self.wd} rseq={self.rseq} wseq={self.wseq}{state}>")


class pollCache:
    """Free list of pollDescs (Go: type pollCache struct).

    Go allocates them 4 KiB at a time in persistent (never freed) memory,
    because epoll/kqueue hold raw pointers to them.  gort allocates one at a
    time and keeps every pd it ever made, in use or on this list: reuse is
    what makes the seq checks meaningful, and it saves rebuilding two timers
    and a lock per connection.
    """

    __slots__ = ("lock", "first", "n")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.first: pollDesc | None = None
        self.n = 0  # descriptors ever allocated (for tests and debugging)

    def alloc(self) -> pollDesc:
        with self.lock:
            pd = self.first
            if pd is None:
                self.n += 1
                return pollDesc()
            self.first = pd.link
            pd.link = None
            return pd

    def free(self, pd: pollDesc) -> None:
        with pd.lock:
            # Any netpoll running now must not mark this pd ready for the
            # old fd (Go 1.21: fdseq in the tagged epoll data).
            pd.fdseq += 1
        with self.lock:
            pd.link = self.first
            self.first = pd


pollcache = pollCache()

# fd -> the pollDesc open on it: how the backends find a pd from an event.
pdbyfd: dict[int, pollDesc] = {}

# The backend in use (set by _setbackend): its netpollopen/netpollclose/
# netpollarm, and whether it is level-triggered (needs netpollarm per wait).
_backend: Any = None
_levelTriggered = False


def netpollinited() -> bool:
    return _backend is not None


def netpollIsPollDescriptor(fd: int) -> bool:
    """Whether fd is one of the poller's own descriptors (epoll fd, break fd)."""
    return _backend is not None and _backend.netpollIsPollDescriptor(fd)


# --------------------------------------------------------------------------
# The poll_runtime_* API (Go: internal/poll's runtime_poll* linknames)


def _checkfd(fd: Any) -> int:
    if type(fd) is not int:
        if isinstance(fd, bool) or not isinstance(fd, int):
            raise TypeError(f"poll_runtime_pollOpen: fd must be an int, not {type(fd).__name__}")
        fd = int(fd)
    if fd < 0:
        raise ValueError(f"poll_runtime_pollOpen: fd must be >= 0, got {fd}")
    return fd


def poll_runtime_pollOpen(fd: int) -> pollDesc:
    """Register fd with the poller and return its pollDesc (Go: pollOpen).

    Raises OSError if the backend refuses the fd (EPERM for a regular file
    under epoll: "not pollable").
    """
    fd = _checkfd(fd)
    old = pdbyfd.get(fd)
    if old is not None:
        # The fd number is registered to a pd that was never closed: its
        # owner closed the fd behind the poller's back (or dropped it to
        # the GC) and the number was reused.  Go cannot get here, since
        # internal/poll closes the pd before the fd.  Evict the stale pd: its
        # waiters (if any) see pollErrClosing, and it stays out of the
        # pollcache, since its owner may still hold it.
        _evict(old)
    pd = pollcache.alloc()
    with pd.lock:
        if pd.wg is not pdNil and pd.wg is not pdReady:
            raise RuntimeError("runtime: blocked write on free polldesc")
        if pd.rg is not pdNil and pd.rg is not pdReady:
            raise RuntimeError("runtime: blocked read on free polldesc")
        pd.fd = fd
        pd.closing = False
        pd.everr = False
        pd.rseq += 1
        pd.rg = pdNil
        pd.rd = 0.0
        pd.wseq += 1
        pd.wg = pdNil
        pd.wd = 0.0
        pd.user = 0
        pd.rearm = False
    # Published before the registration: in M:N mode another M's netpoll
    # may see the fd's first edge (epoll reports one at once for an fd that
    # is ready) before this returns, and must find the pd to record it.
    pdbyfd[fd] = pd
    try:
        _backend.netpollopen(fd, pd)
    except BaseException:
        if pdbyfd.get(fd) is pd:
            del pdbyfd[fd]
        pd.closing = True
        pollcache.free(pd)
        raise
    return pd


def _evict(pd: pollDesc) -> None:
    if pdbyfd.get(pd.fd) is pd:
        del pdbyfd[pd.fd]
        _backend.netpollclose(pd.fd)
    if not pd.closing:
        poll_runtime_pollUnblock(pd)


def poll_runtime_pollClose(pd: pollDesc) -> None:
    """Unregister pd's fd and return pd to the pollcache (Go: pollClose).

    Go's order: pollUnblock first (internal/poll's evict), and pollClose only
    once no goroutine can be waiting on pd; the fd is closed after this.
    """
    if not pd.closing:
        raise RuntimeError("runtime: close polldesc w/o unblock")
    if pd.wg is not pdNil and pd.wg is not pdReady:
        raise RuntimeError("runtime: blocked write on closing polldesc")
    if pd.rg is not pdNil and pd.rg is not pdReady:
        raise RuntimeError("runtime: blocked read on closing polldesc")
    if pd.link is not None or pollcache.first is pd:
        raise RuntimeError("runtime: close of a freed polldesc")
    fd = pd.fd
    if pdbyfd.get(fd) is pd:  # not if it was evicted by a reopen of fd
        del pdbyfd[fd]
        _backend.netpollclose(fd)
    pollcache.free(pd)


def poll_runtime_pollReset(pd: pollDesc, mode: str) -> int:
    """Prepare pd for an operation in mode 'r' or 'w' (Go: pollReset):
    report an error, else forget any stale readiness.

    Safe with edge-triggered notification because the caller tries the
    syscall first and waits only on EAGAIN: readiness is a hint, the
    syscall is the truth.
    """
    # Go: gpp := &pd.rg; if mode == 'w' { gpp = &pd.wg } (see pollDesc.rwg).
    i = 0 if mode == "r" else 1 if mode == "w" else _badmode("poll_runtime_pollReset", mode)
    # netpollcheckerr is called only when something could make it fail
    # (closing, a deadline, an event error): most connections have none,
    # and this runs before every read and write.
    if pd.closing or pd.rd or pd.wd or pd.everr:
        errcode = netpollcheckerr(pd, mode)
        if errcode != pollNoError:
            return errcode
    pd.rwg[i] = pdNil
    return pollNoError


def _badmode(fn: str, mode: Any) -> int:
    raise ValueError(f"{fn}: mode must be 'r' or 'w', got {mode!r}")


def poll_runtime_pollWait(pd: pollDesc, mode: str) -> int:
    """Park until pd is ready in mode 'r' or 'w', its deadline passes, or it
    is closed (Go: pollWait).  Returns an error code."""
    if mode != "r" and mode != "w":
        _badmode("poll_runtime_pollWait", mode)
    if pd.closing or pd.rd or pd.wd or pd.everr:  # as in pollReset
        errcode = netpollcheckerr(pd, mode)
        if errcode != pollNoError:
            return errcode
    if pd.rearm:
        netpollrearm(pd)
    # Only the level-triggered backend needs interest armed per wait (Go:
    # Solaris, illumos, AIX, wasip1).
    if _levelTriggered:
        _backend.netpollarm(pd, mode)
    while not netpollblock(pd, mode, False):
        errcode = netpollcheckerr(pd, mode)
        if errcode != pollNoError:
            return errcode
        # A deadline timer fired and woke us, but the deadline was moved
        # before we ran: pretend it did not happen and wait again.
    return pollNoError


def poll_runtime_pollSetDeadline(pd: pollDesc, d: float | None, mode: str) -> None:
    """Set pd's read ('r'), write ('w') or both ('rw') deadline (Go: pollSetDeadline).

    ``d`` is an absolute time on time.monotonic(); None (or inf) clears the
    deadline; a time not after now expires it at once: pending waiters are
    woken with pollErrTimeout, and every later operation fails the same way
    until the deadline is set again.
    """
    if mode == "r":
        r, w = True, False
    elif mode == "w":
        r, w = False, True
    elif mode == "rw" or mode == "wr":
        r = w = True
    else:
        raise ValueError(f"poll_runtime_pollSetDeadline: mode must be 'r', 'w' or 'rw', "
                         f"got {mode!r}")
    if d is None:
        dl = 0.0
    else:
        if type(d) is not float and (isinstance(d, bool) or not isinstance(d, Real)):
            raise TypeError("poll_runtime_pollSetDeadline: deadline must be a float "
                            f"(time.monotonic() seconds) or None, not {type(d).__name__}")
        dl = float(d)
        if dl != dl:
            raise ValueError("poll_runtime_pollSetDeadline: deadline is NaN")
        if dl == _INF:
            dl = 0.0  # never: the same as none (Go clamps to the max int64)
        elif dl <= monotonic():
            dl = -1.0  # expired (Go 2014: d <= nanotime() becomes -1)
    with pd.lock:
        if pd.closing:
            return
        rg, wg = netpollsetdeadline(pd, dl if r else pd.rd, dl if w else pd.wd)
    _readyunblocked(rg, wg)


def _newtimer(pd: pollDesc, read: bool) -> timer:
    t = timer()
    if read:
        pd.rt = t
    else:
        pd.wt = t
    return t


def netpollsetdeadline(pd: pollDesc, rd: float, wd: float) -> tuple[Any, Any]:
    """Install new rd/wd (Go's encoding) and arm, move or stop the timers.

    Caller holds pd.lock.  Returns the Gs (or None) to ready after unlocking
    with _readyunblocked (Go: the body of poll_runtime_pollSetDeadline).
    """
    rd0, wd0 = pd.rd, pd.wd
    combo0 = rd0 > 0 and rd0 == wd0
    pd.rd = rd
    pd.wd = wd
    # One timer for both directions when they share a deadline: the read
    # timer, with netpollDeadline, which expires both.
    combo = rd > 0 and rd == wd
    rtf = netpollDeadline if combo else netpollReadDeadline
    if not pd.rrun:
        if rd > 0:
            # The timer carries the current rseq; a firing whose seq no longer
            # matches (the deadline moved, the pd was closed or reused) is
            # ignored.  modtimer arms an idle timer too (Go 1.23: t.modify).
            modtimer(pd.rt or _newtimer(pd, True), rd, 0, rtf, pd, pd.rseq)
            pd.rrun = True
    elif rd != rd0 or combo != combo0:
        pd.rseq += 1  # invalidate firings already under way
        if rd > 0:
            modtimer(pd.rt, rd, 0, rtf, pd, pd.rseq)
        else:
            deltimer(pd.rt)
            pd.rrun = False
    if not pd.wrun:
        if wd > 0 and not combo:
            modtimer(pd.wt or _newtimer(pd, False), wd, 0, netpollWriteDeadline, pd, pd.wseq)
            pd.wrun = True
    elif wd != wd0 or combo != combo0:
        pd.wseq += 1
        if wd > 0 and not combo:
            modtimer(pd.wt, wd, 0, netpollWriteDeadline, pd, pd.wseq)
        else:
            deltimer(pd.wt)
            pd.wrun = False
    # A deadline in the past: unblock pending I/O now.
    rg = netpollunblock(pd, "r", False) if rd < 0 else None
    wg = netpollunblock(pd, "w", False) if wd < 0 else None
    return rg, wg


def _readyunblocked(rg: Any, wg: Any) -> None:
    """Ready the Gs that netpollunblock handed back (called after pd.lock is
    released, as Go does) and take them off netpollWaiters."""
    delta = 0
    if rg is not None:
        netpollgoready(rg)
        delta -= 1
    if wg is not None:
        netpollgoready(wg)
        delta -= 1
    netpollAdjustWaiters(delta)


def netpollrearm(pd: pollDesc) -> None:
    """gort only: re-arm deadline timers that a runtime teardown dropped."""
    with pd.lock:
        if not pd.rearm or pd.closing:
            pd.rearm = False
            return
        pd.rearm = False
        rd, wd = pd.rd, pd.wd
        pd.rd = pd.wd = 0.0
        netpollsetdeadline(pd, rd, wd)  # rd/wd > 0: nobody to unblock


def poll_runtime_pollUnblock(pd: pollDesc) -> None:
    """Mark pd closing and wake its waiters with pollErrClosing (Go:
    pollUnblock, internal/poll's evict).  Stale deadline timers are
    invalidated and stopped."""
    with pd.lock:
        if pd.closing:
            if pdbyfd.get(pd.fd) is not pd:
                return  # evicted (its fd was closed behind our back): done already
            raise RuntimeError("runtime: unblock on closing polldesc")
        pd.closing = True
        pd.rseq += 1
        pd.wseq += 1
        rg = netpollunblock(pd, "r", False)
        wg = netpollunblock(pd, "w", False)
        if pd.rrun:
            deltimer(pd.rt)
            pd.rrun = False
        if pd.wrun:
            deltimer(pd.wt)
            pd.wrun = False
        pd.rearm = False
    _readyunblocked(rg, wg)


# --------------------------------------------------------------------------
# Helpers for the backends (Go: the 2014 commit exported these to the C
# pollers of Solaris and Windows).


def netpollfd(pd: pollDesc) -> int:
    return pd.fd


def netpollclosing(pd: pollDesc) -> bool:
    return pd.closing


def netpolllock(pd: pollDesc) -> None:
    pd.lock.acquire()


def netpollunlock(pd: pollDesc) -> None:
    # The founding commit's netpollunlock called lock(&pd.lock) here: the
    # second netpollupdate of the Solaris poller on the same descriptor would
    # then deadlock.  Go fixed it to unlock; so does gort.
    pd.lock.release()


# --------------------------------------------------------------------------
# The rg/wg semaphores
#
# netpollblockcommit, netpollAdjustWaiters, netpollready and netpollblock are
# written once, with Go's lock(pd.lock)/unlock(pd.lock) where Go has a CAS
# loop, and ``if _mn:`` where M:N mode does more; gort.sched.mnmode's
# @specialise makes their one-M form (no locks) and M:N form from that one
# source.


@specialise
def netpollready(toRun: gList, pd: pollDesc, mode: str) -> int:
    """pd is ready for mode 'r', 'w' or 'rw': push the goroutines this wakes
    onto toRun (linked through schedlink).  Returns the netpollWaiters delta,
    to apply once they are on a run queue (Go: netpollready).  Both backends'
    netpoll call it for every event.

    In M:N mode the caller holds pd.lock, and the delta is 0: each G woken
    gets ``param = netpollWoken`` and lowers the count itself when it runs.
    """
    delta = 0
    rg = wg = None
    if mode != "w":
        rg = netpollunblock(pd, "r", True)
    if mode != "r":
        wg = netpollunblock(pd, "w", True)
    # toRun.push(rg), toRun.push(wg), inlined as Go's compiler does (two
    # calls a ready fd saved, ~3% of an echo round trip).
    if rg is not None:
        rg.schedlink = toRun.head
        toRun.head = rg
        delta -= 1
    if wg is not None:
        wg.schedlink = toRun.head
        toRun.head = wg
        delta -= 1
    if _mn and delta:
        # The Gs lower the count themselves once queued (module docstring).
        for gp in (rg, wg):
            if gp is not None:
                gp.param = netpollWoken
        delta = 0
    return delta


def netpollcheckerr(pd: pollDesc, mode: str) -> int:
    """The error an operation in mode would get now (Go: netpollcheckerr).

    A deadline counts as expired once the clock passes it, even if its timer
    has not fired yet (gort's lazy expiry, see the module docstring).
    """
    if pd.closing:
        return pollErrClosing
    d = pd.rd if mode == "r" else pd.wd
    if d and (d < 0 or monotonic() >= d):
        return pollErrTimeout
    # An event error is reported only to readers; a writer learns the
    # specific error from its next write.
    if mode == "r" and pd.everr:
        return pollErrNotPollable
    return pollNoError


@specialise
def netpollblockcommit(gp: G, gpp: tuple[pollDesc, int]) -> bool:
    """gopark's unlockf: commit to sleeping by moving pdWait to gp.

    Fails (and gopark returns at once) if an event moved the word to
    pdReady, or a timeout/close moved it to pdNil, since netpollblock
    published pdWait.  ``gpp`` = (pd, 0 or 1) stands in for Go's pointer
    &pd.rg / &pd.wg.
    """
    pd, i = gpp
    # Go: gpp.CompareAndSwap(pdWait, gp), then netpollAdjustWaiters(1): the
    # count goes up before pd.lock drops, so before any waker can take gp
    # out of the word and lower it.  While it is > 0 the scheduler polls
    # the network and checkdead stays quiet.
    lock(pd.lock)
    w = pd.rwg
    if w[i] is not pdWait:
        unlock(pd.lock)
        return False
    w[i] = gp
    netpollAdjustWaiters(1)
    unlock(pd.lock)
    return True


def netpollgoready(gp: G) -> None:
    goready(gp)


@specialise
def netpollAdjustWaiters(delta: int) -> None:
    """The one writer of sched.netpollWaiters (the scheduler only reads it)."""
    if delta:
        lock(_waiterslock)
        sched.netpollWaiters += delta
        unlock(_waiterslock)


@specialise
def netpollblock(pd: pollDesc, mode: str, waitio: bool) -> bool:
    """Wait for I/O readiness in mode (Go: netpollblock): where a goroutine
    parks on I/O.

    Returns True if I/O is ready, False on timeout or close (the caller
    re-checks which).  With waitio, wait for I/O only and ignore errors.
    At most one goroutine may wait per direction (internal/poll's fdMutex
    serializes readers and writers above this).
    """
    # Go: gpp := &pd.rg; if mode == 'w' { gpp = &pd.wg }
    gpp = pd.rwg
    i = 0 if mode == "r" else 1
    # Set the gpp semaphore to pdWait, or consume a pending notification
    # (Go: a CAS loop; M:N mode holds pd.lock across the compare and store).
    lock(pd.lock)
    old = gpp[i]
    if old is pdReady:
        gpp[i] = pdNil
        unlock(pd.lock)
        return True
    if old is not pdNil:
        unlock(pd.lock)
        raise RuntimeError("runtime: double wait")
    gpp[i] = pdWait
    unlock(pd.lock)
    # Re-check errors *after* publishing pdWait.  Unblockers do the opposite
    # (store closing/rd/wd, then look at the word), so one side always sees
    # the other and a close or deadline can never be missed.
    if (waitio or not (pd.closing or pd.rd or pd.wd or pd.everr)
            or netpollcheckerr(pd, mode) == pollNoError):
        try:
            param = gopark(netpollblockcommit, (pd, i), waitReasonIOWait)
        except BaseException:
            # Killed while parked (a teardown's GreenletExit): leave the
            # semaphore clean for the pd's next user.
            _dropwaiter(pd, i)
            raise
        if param is netpollWoken:
            # M:N: netpoll readied us and left the count to us.  We are
            # running, so no M can see "no waiters, nothing queued" for us.
            getg().param = None
            netpollAdjustWaiters(-1)
    # Take the result, careful not to lose a concurrent pdReady (Go:
    # gpp.Swap(pdNil)).  The run may have gone M:N while we were parked:
    # read the live mode (gort.sched.mnmode), not the form's _mn.
    mn = _mn or runmode.on
    if mn:
        pd.lock.acquire()
    old = gpp[i]
    gpp[i] = pdNil
    if mn:
        pd.lock.release()
    if old is not pdReady and old is not pdWait and old is not pdNil:
        raise RuntimeError("runtime: corrupted polldesc")
    return old is pdReady


def _dropwaiter(pd: pollDesc, i: int) -> None:
    """netpollblock was killed while parked: clear its word (not a hot
    path: pd.lock in both modes)."""
    with pd.lock:
        w = pd.rwg
        old = w[i]
        if old is pdNil or old is pdReady:
            return
        w[i] = pdNil
    if old is not pdWait:
        netpollAdjustWaiters(-1)


def netpollunblock(pd: pollDesc, mode: str, ioready: bool) -> G | None:
    """Move pd.rg (mode 'r') or pd.wg ('w') to pdReady (ioready) or pdNil
    (timeout/close) and return the goroutine parked there, if any
    (Go: netpollunblock).  The caller readies it and lowers netpollWaiters.
    In M:N mode the caller holds pd.lock (Go's CAS loop).

    Only I/O may create pdReady; a timeout or close finding pdNil does
    nothing, because the waiter re-checks errors before it parks.
    """
    # Go: gpp := &pd.rg; if mode == 'w' { gpp = &pd.wg }
    gpp = pd.rwg
    i = 0 if mode == "r" else 1
    old = gpp[i]
    if old is pdReady:
        return None
    if old is pdNil and not ioready:
        return None
    gpp[i] = pdReady if ioready else pdNil
    if old is pdWait or old is pdNil:
        return None
    return old


# --------------------------------------------------------------------------
# Deadline timers: f(arg, seq), run by the timerproc goroutine


def netpolldeadlineimpl(pd: pollDesc, seq: int, read: bool, write: bool) -> None:
    with pd.lock:
        # seq is the rseq/wseq the timer was armed with.  If it is stale, the
        # deadline was moved, or the pd was closed or reused: ignore the firing.
        currentSeq = pd.rseq if read else pd.wseq
        if seq != currentSeq:
            return
        rg = wg = None
        if read:
            if pd.rd <= 0 or not pd.rrun:
                raise RuntimeError("runtime: inconsistent read deadline")
            pd.rd = -1.0
            pd.rrun = False
            rg = netpollunblock(pd, "r", False)
        if write:
            if pd.wd <= 0 or (not pd.wrun and not read):
                raise RuntimeError("runtime: inconsistent write deadline")
            pd.wd = -1.0
            pd.wrun = False
            wg = netpollunblock(pd, "w", False)
    _readyunblocked(rg, wg)


def netpollDeadline(arg: pollDesc, seq: int) -> None:
    netpolldeadlineimpl(arg, seq, True, True)


def netpollReadDeadline(arg: pollDesc, seq: int) -> None:
    netpolldeadlineimpl(arg, seq, True, False)


def netpollWriteDeadline(arg: pollDesc, seq: int) -> None:
    netpolldeadlineimpl(arg, seq, False, True)


# --------------------------------------------------------------------------
# Backend selection and the end of a run


def _setbackend(backend: Any) -> None:
    """Make ``backend`` the poller and install it into the scheduler.

    Used once at import, and by tests to run on both backends: the old
    backend's descriptors are closed, open pds move over (registered anew
    for edge-triggered notification, or re-armed for the waits in flight).
    """
    global _backend, _levelTriggered
    old = _backend
    backend.netpollinit()
    stale = []
    try:
        for pd in pdbyfd.values():
            pd.user = 0
            try:
                backend.netpollopen(pd.fd, pd)
            except OSError:
                stale.append(pd)  # its fd was closed behind the poller's back
                continue
            if backend.levelTriggered:
                for mode, word in zip("rw", pd.rwg, strict=True):
                    if word is not pdNil and word is not pdReady:
                        backend.netpollarm(pd, mode)
    except BaseException:
        backend.netpolldestroy()
        raise
    _backend = backend
    _levelTriggered = backend.levelTriggered
    from gort.sched.proc import install_netpoll
    install_netpoll(backend.netpoll, backend.netpollBreak)
    if old is not None:
        old.netpolldestroy()
    for pd in stale:
        # Forget it, and wake its waiters with pollErrClosing.
        del pdbyfd[pd.fd]
        if not pd.closing:
            poll_runtime_pollUnblock(pd)


def _backendname() -> str:
    return _backend.name if _backend is not None else ""


def _teardown() -> None:
    """A run ended: its parked goroutines are gone, so are the timers.

    Open pds outlive the run (a Conn can), so each is left clean: no dead G
    in rg/wg, deadline timers stopped, seqs bumped so any firing still in
    flight is ignored; a deadline still set is re-armed at the next wait.
    sched.netpollWaiters is reset by the scheduler itself.
    """
    for pd in list(pdbyfd.values()):
        with pd.lock:
            w = pd.rwg
            for i in (0, 1):
                if w[i] is not pdNil and w[i] is not pdReady:
                    w[i] = pdNil
            if pd.rrun or pd.wrun:
                if pd.rrun:
                    deltimer(pd.rt)
                if pd.wrun:
                    deltimer(pd.wt)
                pd.rrun = pd.wrun = False
                pd.rseq += 1
                pd.wseq += 1
                pd.rearm = pd.rd > 0 or pd.wd > 0
    if _backend is not None:
        _backend.netpollreset()


add_teardown_hook(_teardown)
