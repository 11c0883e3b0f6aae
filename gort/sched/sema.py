"""Semaphores for the sync package (Go: src/runtime/sema.go).

Go keys semaphores by address in a 251-root treap (semtable).  Python has no
addresses to hash, so each ``Sema`` object *is* its address and its root: a
count, a FIFO of sudogs and the root's lock.  The algorithm is Go's:
a lock-free fast path (cansemacquire), then lock, nwait++, retry, queue,
goparkunlock; a release that hands the count straight to the first waiter
(``ticket``) when asked to, and then yields so that waiter runs at once.

Locking (M:N)
-------------
``Sema.lock`` is Go's ``semaRoot.lock``: it guards ``waiters`` and ``nwait``
in every mode.  Go changes ``count`` with atomics (Xadd, and a CAS in
cansemacquire); gort's CAS is a lock, so in M:N mode (``_mn``, set through
gort.sched.mnmode's mode before a second M starts) every read-modify-write of
``count`` also happens under ``Sema.lock``, and semrelease takes it always.
With one M, goroutines switch only inside gopark, so the count's fast paths
stay plain int updates and the lock is only taken by a goroutine that is
about to park.  The lock is made on first need: a module-level creation
lock with a double check makes that race-free under M:N (two creators must
not publish two locks).  ``waiters`` is made under ``Sema.lock``.
Lock order: Sema.lock -> sched.lock (goready runs after the lock drops).

Killed waiters (gort only)
--------------------------
Go cannot kill a goroutine parked in semacquire; gort can: at the end of a
run every parked goroutine gets GreenletExit, and a lazy runtime's main
greenlet gets its Deadlock.  semacquire then leaves the semaphore as if the
waiter had never queued: its sudog leaves the queue, or a count handed to it
(``ticket``) goes back to ``count``.  It tells the sync type above how it
was killed (``onkill(how)``: still queued, woken by a release, or handed a
count), because that type keeps its own share of the waiter (a Mutex's
waiter bits, a WaitGroup's waiter count) and must take it out too;
``semhandon`` passes a count released to the dead waiter on to the next one,
or takes it back.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from .mnmode import lock, mode, specialise, unlock
from .proc import getg, gopark, goready, goyield
from .runtime2 import G, sudog, waitReasonSemacquire

_mn = mode.register(globals())  # M:N mode: take Sema.lock for count too (see the docstring)


# Guards the first creation of any Sema's lock (double-checked).
_rootlock = threading.Lock()


class Sema:
    """A semaphore count plus its waiters (Go: *uint32 + its semaRoot)."""

    __slots__ = ("count", "nwait", "waiters", "lock")

    def __init__(self, count: int = 0) -> None:
        self.count = count
        self.nwait = 0  # Go: semaRoot.nwait; len(waiters), kept under lock
        # Made on the first wait: most semaphores (a connection's fdMutex has
        # three) never see one, and an empty deque plus a lock is ~700 bytes.
        # Under M:N every count update takes the lock, so make it now.
        self.waiters: deque[sudog] | None = None
        self.lock: threading.Lock | None = threading.Lock() if _mn else None


def _rootinit(s: Sema) -> threading.Lock:
    """s.lock, made race-free: two Ms must not publish two different locks."""
    with _rootlock:
        lock = s.lock
        if lock is None:
            lock = s.lock = threading.Lock()
    return lock


def _unlock(gp: G, lock: threading.Lock) -> bool:
    lock.release()
    return True


def cansemacquire(s: Sema) -> bool:
    """Take one count if there is one (Go: cansemacquire's CAS loop).  With
    one M a plain update; under M:N the caller holds s.lock."""
    if s.count > 0:
        s.count -= 1
        return True
    return False


# How a waiter was killed while parked (the ``onkill`` argument of semacquire).
semKilledQueued = 0  # still queued: no release chose it
semKilledWoken = 1  # a release dequeued and woke it: the count is in s.count
semKilledHandoff = 2  # a hand-off release gave it the count: given back to s.count


def semacquire(s: Sema, lifo: bool = False, reason: str = waitReasonSemacquire,
               onkill: Callable[[int], None] | None = None) -> None:
    """Wait until s.count > 0 and decrement it (Go: semacquire1).

    If the goroutine is killed while parked, the semaphore is undone (see
    the module docstring) and ``onkill(how)`` runs before the exception
    propagates: how is semKilledQueued, semKilledWoken or semKilledHandoff.
    """
    if _mn:
        lock = s.lock or _rootinit(s)
        with lock:
            if s.count > 0:
                s.count -= 1
                return
    elif s.count > 0:  # cansemacquire, inlined on the fast path
        s.count -= 1
        return
    sd = sudog(getg())
    while True:
        lock = s.lock or _rootinit(s)
        lock.acquire()
        s.nwait += 1
        # Retry after nwait++: a release from here on sees a waiter.
        if cansemacquire(s):
            s.nwait -= 1
            lock.release()
            return
        sd.ticket = 0
        q = s.waiters
        if q is None:
            q = s.waiters = deque()
        if lifo:
            q.appendleft(sd)
        else:
            q.append(sd)
        try:
            gopark(_unlock, lock, reason)
        except BaseException:
            # Killed while parked (teardown, a lazy runtime's Deadlock): take
            # our sudog out, so a later release does not wake a dead G.
            with lock:
                try:
                    q.remove(sd)
                    s.nwait -= 1
                    how = semKilledQueued
                except ValueError:  # already dequeued by a release
                    if sd.ticket:
                        s.count += 1  # hand the count back
                        how = semKilledHandoff
                    else:
                        how = semKilledWoken
            if onkill is not None:
                onkill(how)
            raise
        if sd.ticket != 0:
            return
        # Go retries cansemacquire (a CAS) here.  With one M a plain update
        # is atomic; under M:N the loop's retry under the lock does it.
        # (_mn is read after the park: the run may have gone M:N meanwhile.)
        if not _mn and s.count > 0:
            s.count -= 1
            return


@specialise
def semrelease(s: Sema, handoff: bool = False) -> None:
    """Increment s.count and wake the first waiter (Go: semrelease1).

    With handoff the count goes straight to that waiter (it cannot be
    stolen by a newcomer) and the caller yields so the waiter runs now.
    Go does the Xadd, the first nwait check and the hand-off's
    cansemacquire with atomics, outside root.lock; gort's atomics are that
    lock (module docstring), so under M:N they share one critical section.
    With one M no lock is taken at all (gort/sched/mnmode.py).
    """
    lock(s.lock or _rootinit(s))
    s.count += 1  # Go: atomic.Xadd(addr, 1)
    # Easy case: no waiters?  (Go checks nwait before and after the lock.)
    if s.nwait == 0 or not s.waiters:
        unlock(s.lock)
        return
    sd = s.waiters.popleft()  # Go: root.dequeue(addr)
    s.nwait -= 1
    ticket = 0
    if handoff and s.count > 0:  # Go: cansemacquire(addr)
        s.count -= 1
        ticket = sd.ticket = 1
    unlock(s.lock)
    # The waiter reads its ticket only after this goready wakes it.
    goready(sd.g)  # Go: readyWithTime
    if ticket:
        goyield()


def semhandon(s: Sema, passon: bool = True) -> int:
    """For a waiter killed after a release chose it (semKilledWoken or
    semKilledHandoff; gort only): the count released to it is still in
    ``s.count``, unless a newcomer's cansemacquire took it meanwhile.

    With ``passon`` and a waiter queued, wake that waiter for it (what the
    release would have done had it picked that one): returns 1.  Otherwise
    take the count back: returns 2.  Returns 0 if no count is left.
    """
    lock = s.lock or _rootinit(s)
    with lock:
        if s.count <= 0:
            return 0
        q = s.waiters
        if not (passon and q):
            s.count -= 1
            return 2
        sd = q.popleft()
        s.nwait -= 1
    goready(sd.g)
    return 1
