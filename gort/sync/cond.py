"""sync.Cond (Go: src/sync/cond.go) on Go's notifyList (src/runtime/sema.go).

A notifyList hands out tickets: ``wait`` is the next ticket to give a
waiter, ``notify`` the next ticket to wake.  Cond.Wait takes a ticket
*before* it unlocks L (notifyListAdd), then parks with it
(notifyListWait) -- unless a Signal or Broadcast has already passed that
ticket while L was being unlocked, in which case it returns at once.  So a
wake-up in that window is never lost, waiters wake in ticket order (FIFO),
and a Signal with nobody holding a ticket does nothing: it does not wake a
goroutine that starts waiting later.

Locking (M:N): Go's ``notifyList.lock`` guards the list, and ``wait`` and
``notify`` change atomically.  gort takes ``notifyList.lock`` (made on
first need under the module's ``_createlock``, double-checked) for all four
fields, in M:N mode only (``_mn``, set through gort.sched.mnmode's mode before a
second M starts): with one M nothing here yields between a read and a
write, so the list needs no lock.  A waiter parks with gopark's unlockf
releasing the lock, so a notifier on another M that finds its sudog finds
it parked; goready runs after the lock drops (lock order: notifyList.lock
-> sched.lock).  Signal and Broadcast first compare ``wait`` with
``notify`` without the lock, as Go does with two atomic loads.

Differs from Go: tickets are Python ints (no wrap-around, so Go's
``less(a, b)`` is ``a < b``).  Go's copyChecker ("sync.Cond is copied")
has nothing to check: assignment does not copy Python objects.
"""

from __future__ import annotations

import threading
from typing import Any

from ..sched.mnmode import mode
from ..sched.proc import getg, gopark, goready, sched
from ..sched.runtime2 import G, sudog, waitReasonSyncCondWait
from .mutex import Locker, Mutex

_mn = mode.register(globals())  # M:N mode: notifyList.lock guards the list (see the docstring)


# Guards the first creation of a notifyList's lock (double-checked).
_createlock = threading.Lock()


class notifyList:
    """Ticket-based wait list (Go: runtime.notifyList)."""

    __slots__ = ("wait", "notify", "head", "tail", "lock", "dead")

    def __init__(self) -> None:
        self.wait = 0  # ticket of the next waiter
        self.notify = 0  # ticket of the next waiter to wake
        self.head: sudog | None = None  # parked waiters, linked through sudog.next
        self.tail: sudog | None = None
        self.lock: threading.Lock | None = threading.Lock() if _mn else None  # M:N only
        # gort only: tickets of waiters killed before their notification;
        # notifyListNotifyOne skips them (else a Signal would be spent on them).
        self.dead: set[int] | None = None


def _mklock(l: notifyList) -> threading.Lock:
    with _createlock:
        lk = l.lock
        if lk is None:
            lk = l.lock = threading.Lock()
    return lk


def _unlock(gp: G, lk: threading.Lock) -> bool:
    lk.release()
    return True


def notifyListAdd(l: notifyList) -> int:
    """Take a ticket; the caller must then notifyListWait with it."""
    if _mn:
        with l.lock or _mklock(l):  # Go: atomic.Xadd(&l.wait, 1) - 1
            t = l.wait
            l.wait = t + 1
        return t
    t = l.wait
    l.wait = t + 1
    return t


def notifyListWait(l: notifyList, t: int) -> None:
    """Park until ticket t is notified; return at once if it already was."""
    lk = None
    if _mn:
        lk = l.lock or _mklock(l)
        lk.acquire()
    if t < l.notify:
        if lk is not None:
            lk.release()
        return
    s = sudog(getg())
    s.ticket = t
    if l.tail is None:
        l.head = s
    else:
        l.tail.next = s
    l.tail = s
    try:
        if lk is not None:
            gopark(_unlock, lk, waitReasonSyncCondWait)
        else:
            gopark(None, None, waitReasonSyncCondWait)
    except BaseException:
        # Killed while parked (teardown, a lazy runtime's Deadlock): unlink
        # our sudog, so a later notify does not ready a G that is gone, and
        # mark the ticket dead, so a later Signal goes to a live waiter.  A
        # notification that already chose us is passed on to the next
        # waiter (the Signal it came from must wake somebody).
        if _mn:
            with l.lock or _mklock(l):
                listed = _unlink(l, s)
        else:
            listed = _unlink(l, s)
        if not listed:
            notifyListNotifyOne(l)
        raise


def _killticket(l: notifyList, t: int) -> None:
    """Ticket t's holder is gone before its notification (under M:N the
    caller holds l.lock)."""
    if t >= l.notify:
        if l.dead is None:
            l.dead = set()
        l.dead.add(t)


def _unlink(l: notifyList, s: sudog) -> bool:
    """Take a killed waiter's sudog off the list and mark its ticket dead;
    False if a notify has taken it off already."""
    p = None
    q = l.head
    while q is not None:
        if q is s:
            _remove(l, p, s)
            _killticket(l, s.ticket)
            return True
        p = q
        q = q.next
    return False


def _remove(l: notifyList, p: sudog | None, s: sudog) -> None:
    """Take s, whose predecessor is p (None: s is the head), off the list."""
    n = s.next
    if p is not None:
        p.next = n
    else:
        l.head = n
    if n is None:
        l.tail = p
    s.next = None


def notifyListNotifyAll(l: notifyList) -> None:
    """Wake every waiter that holds a ticket."""
    if l.wait == l.notify:
        return
    if _mn:
        with l.lock or _mklock(l):
            s = l.head
            l.head = l.tail = None
            l.notify = l.wait
            l.dead = None
    else:
        s = l.head
        l.head = l.tail = None
        # Every ticket handed out so far is notified: those not parked yet
        # will see it in notifyListWait.
        l.notify = l.wait
        l.dead = None
    while s is not None:
        nxt = s.next
        s.next = None
        goready(s.g)
        s = nxt


def notifyListNotifyOne(l: notifyList) -> None:
    """Wake the waiter with the oldest unnotified ticket, if any."""
    if l.wait == l.notify:
        return  # no ticket since the last notification
    if _mn:
        with l.lock or _mklock(l):
            s = _notifyOne(l)
    else:
        s = _notifyOne(l)
    if s is not None:
        goready(s.g)


def _notifyOne(l: notifyList) -> sudog | None:
    """Advance notify by one and unlink that ticket's sudog, if it is
    parked yet (under M:N the caller holds l.lock)."""
    t = l.notify
    dead = l.dead
    if dead:
        # Skip the tickets of waiters killed before their turn (gort only).
        while t in dead:
            dead.discard(t)
            t += 1
        l.notify = t
    if t == l.wait:
        return None
    l.notify = t + 1
    # The ticket's holder may not be parked yet (it is between Add and
    # Wait); then it will see the new notify number and not park.
    p = None
    s = l.head
    while s is not None:
        if s.ticket == t:
            _remove(l, p, s)
            return s
        p = s
        s = s.next
    return None


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
        return f"<gort.sync.Cond waiters={n.wait - n.notify - len(n.dead or ())} l={self.l!r}>"

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
            if _mn:
                with n.lock or _mklock(n):
                    if n.wait == t + 1 and n.notify <= t:
                        n.wait = t
            elif n.wait == t + 1 and n.notify <= t:
                n.wait = t
            raise
        try:
            notifyListWait(n, t)
        except BaseException:
            # Killed while parked (gort only): Wait returns with l locked, so
            # that the caller's `with c:` unlocks a lock it holds.  If l is
            # held elsewhere, taking it parks, and in a run that is ending
            # that raises too.  (A lazy runtime's Deadlock arrives after
            # teardown: there is nothing left to lock against.)
            if sched.m0 is not None:
                self.l.lock()
            raise
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
