"""sync.Cond (Go: src/sync/cond.go) on Go's notifyList (src/runtime/sema.go).

A notifyList hands out tickets: ``wait`` is the next ticket to give a
waiter, ``notify`` the next ticket to wake.  Cond.Wait takes a ticket
*before* it unlocks L (notifyListAdd), then parks with it
(notifyListWait) -- unless a Signal or Broadcast has already passed that
ticket while L was being unlocked, in which case it returns at once.  So a
wake-up in that window is never lost, waiters wake in ticket order (FIFO),
and a Signal with nobody holding a ticket does nothing: it does not wake a
goroutine that starts waiting later.

Differs from Go: tickets are Python ints (no wrap-around, so Go's
``less(a, b)`` is ``a < b``), and the list has no lock: one M runs every
goroutine and nothing here yields between a read and a write.  M:N on
free-threaded Python will need the lock back (a later issue).  Go's
copyChecker ("sync.Cond is copied") has nothing to check: assignment does
not copy Python objects.
"""

from __future__ import annotations

from typing import Any

from ..sched.proc import getg, gopark, goready
from ..sched.runtime2 import sudog, waitReasonSyncCondWait
from .mutex import Locker, Mutex


class notifyList:
    """Ticket-based wait list (Go: runtime.notifyList)."""

    __slots__ = ("wait", "notify", "head", "tail")

    def __init__(self) -> None:
        self.wait = 0  # ticket of the next waiter
        self.notify = 0  # ticket of the next waiter to wake
        self.head: sudog | None = None  # parked waiters, linked through sudog.next
        self.tail: sudog | None = None


def notifyListAdd(l: notifyList) -> int:
    """Take a ticket; the caller must then notifyListWait with it."""
    t = l.wait
    l.wait = t + 1
    return t


def notifyListWait(l: notifyList, t: int) -> None:
    """Park until ticket t is notified; return at once if it already was."""
    if t < l.notify:
        return
    s = sudog(getg())
    s.ticket = t
    if l.tail is None:
        l.head = s
    else:
        l.tail.next = s
    l.tail = s
    gopark(None, None, waitReasonSyncCondWait)


def notifyListNotifyAll(l: notifyList) -> None:
    """Wake every waiter that holds a ticket."""
    if l.wait == l.notify:
        return
    s = l.head
    l.head = l.tail = None
    # Every ticket handed out so far is notified: those not parked yet will
    # see it in notifyListWait.
    l.notify = l.wait
    while s is not None:
        nxt = s.next
        s.next = None
        goready(s.g)
        s = nxt


def notifyListNotifyOne(l: notifyList) -> None:
    """Wake the waiter with the oldest unnotified ticket, if any."""
    t = l.notify
    if t == l.wait:
        return  # no ticket since the last notification
    l.notify = t + 1
    # The ticket's holder may not be parked yet (it is between Add and
    # Wait); then it will see the new notify number and not park.
    p = None
    s = l.head
    while s is not None:
        if s.ticket == t:
            n = s.next
            if p is not None:
                p.next = n
            else:
                l.head = n
            if n is None:
                l.tail = p
            s.next = None
            goready(s.g)
            return
        p = s
        s = s.next


class Cond:
    """A condition variable: goroutines wait for, or announce, an event
    (Go: sync.Cond).

    ``l`` (Go's L) is the Locker held while the condition is checked or
    changed: a Mutex (the default), an RWMutex, or ``rw.rlocker()``.
    ``with c:`` locks and unlocks ``c.l``.  Wait in a loop::

        with c:
            while not condition():
                c.wait()
    """

    __slots__ = ("l", "notify", "__weakref__")

    def __init__(self, l: Locker | None = None) -> None:
        if l is None:
            l = Mutex()
        elif not (callable(getattr(l, "lock", None)) and callable(getattr(l, "unlock", None))):
            raise TypeError(f"Cond: {type(l).__name__!r} object is not a Locker "
                            "(it needs lock() and unlock())")
        self.l = l
        self.notify = notifyList()

    def __repr__(self) -> str:
        n = self.notify
        return f"<gort.sync.Cond waiters={n.wait - n.notify} l={self.l!r}>"

    def wait(self) -> None:
        """Unlock l, park until signal/broadcast, lock l again (Go: Wait).

        The caller must hold l.  Wait cannot return without a wake-up.
        """
        n = self.notify
        t = notifyListAdd(n)
        try:
            self.l.unlock()
        except BaseException:
            # Not holding l (Go would have died here): give the ticket
            # back, so that a later signal is not spent on it.
            if n.wait == t + 1 and n.notify <= t:
                n.wait = t
            raise
        notifyListWait(n, t)
        self.l.lock()

    def signal(self) -> None:
        """Wake one waiting goroutine, the longest waiting, if any (Go: Signal).

        The caller may but need not hold l.
        """
        notifyListNotifyOne(self.notify)

    def broadcast(self) -> None:
        """Wake every waiting goroutine (Go: Broadcast)."""
        notifyListNotifyAll(self.notify)

    def __enter__(self) -> None:
        self.l.lock()

    def __exit__(self, t: Any, v: Any, tb: Any) -> None:
        self.l.unlock()
