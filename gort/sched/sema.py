"""Semaphores for the sync package (Go: src/runtime/sema.go).

Go keys semaphores by address in a 251-root treap (semtable).  Python has no
addresses to hash, so each ``Sema`` object *is* its address and its root: a
count, a FIFO of sudogs and the root's lock.  The algorithm is Go's:
a lock-free fast path (cansemacquire), then lock, nwait++, retry, queue,
goparkunlock; a release that hands the count straight to the first waiter
(``ticket``) when asked to, and then yields so that waiter runs at once.
"""

from __future__ import annotations

import threading
from collections import deque

from .proc import getg, gopark, goready, goyield
from .runtime2 import G, sudog, waitReasonSemacquire


class Sema:
    """A semaphore count plus its waiters (Go: *uint32 + its semaRoot)."""

    __slots__ = ("count", "nwait", "waiters", "lock")

    def __init__(self, count: int = 0) -> None:
        self.count = count
        self.nwait = 0  # Go: semaRoot.nwait, read without the lock by release
        # Made on the first wait: most semaphores (a connection's fdMutex has
        # three) never see one, and an empty deque plus a lock is ~700 bytes.
        # (With one M nothing can race this; M:N will allocate them eagerly.)
        self.waiters: deque[sudog] | None = None
        self.lock: threading.Lock | None = None


def _rootinit(s: Sema) -> threading.Lock:
    s.waiters = deque()
    lock = s.lock = threading.Lock()
    return lock


def _unlock(gp: G, lock: threading.Lock) -> bool:
    lock.release()
    return True


def cansemacquire(s: Sema) -> bool:
    if s.count > 0:
        s.count -= 1
        return True
    return False


def semacquire(s: Sema, lifo: bool = False, reason: str = waitReasonSemacquire) -> None:
    """Wait until s.count > 0 and decrement it (Go: semacquire1)."""
    if s.count > 0:  # cansemacquire, inlined on the fast path
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
        if lifo:
            s.waiters.appendleft(sd)
        else:
            s.waiters.append(sd)
        try:
            gopark(_unlock, lock, reason)
        except BaseException:
            # Killed while parked (teardown, a lazy runtime's Deadlock): take
            # our sudog out, so a later release does not wake a dead G.
            with lock:
                try:
                    s.waiters.remove(sd)
                    s.nwait -= 1
                except ValueError:  # already dequeued by a release
                    if sd.ticket:
                        s.count += 1  # hand the count back
            raise
        if sd.ticket != 0 or cansemacquire(s):
            return


def semrelease(s: Sema, handoff: bool = False) -> None:
    """Increment s.count and wake the first waiter (Go: semrelease1).

    With handoff the count goes straight to that waiter (it cannot be
    stolen by a newcomer) and the caller yields so the waiter runs now.
    """
    s.count += 1
    if s.nwait == 0:
        return
    with s.lock:
        if s.nwait == 0 or not s.waiters:
            return
        sd = s.waiters.popleft()
        s.nwait -= 1
    if handoff and cansemacquire(s):
        sd.ticket = 1
    goready(sd.g)
    if sd.ticket == 1:
        goyield()
