"""fdMutex: the lifetime lock of a file descriptor.

Go: src/internal/poll/fd_mutex.go, same state layout and algorithm.

The mutex serialises readers with readers and writers with writers (so at
most one goroutine waits per direction in the pollDesc, which netpoll
requires), and counts every operation in flight.  ``increfAndClose`` marks
the FD closed, so later operations fail at once; the FD is destroyed (its
pollDesc freed, its fd closed) by whoever drops the *last* reference -- the
closer itself if nothing was in flight, else the last operation to leave.
So an fd number is never closed, and reused by the kernel, under an
operation that is still running.

State word (Go's, bit for bit)::

    bit 0      mutexClosed
    bit 1      mutexRLock      read lock held
    bit 2      mutexWLock      write lock held
    bits 3-22  references      (read + write + misc)
    bits 23-42 read waiters
    bits 43-62 write waiters

Every method is Go's compare-and-swap loop.  Where gort differs is the CAS:

* With one M, goroutines switch only inside gopark, so nothing can come
  between the load of ``state`` and the store: the store is the CAS, and
  takes no lock.  (gort/net/fd_poll.py inlines the uncontended lock and
  unlock into its hot paths for the same reason.)
* In M:N mode (more than one M; set by the run's mode, gort.sched.mnmode) ``_cas``
  compares and stores under a lock, and every change of ``state`` goes
  through it, fd_poll's included.  The locks are striped, as Go's semtable
  is: ``_caslocks[id(mu) % 251]`` guards the ``state`` of every fdMutex
  that hashes there -- no lock per connection (most never need one) and
  no lazily made lock to race on.  Reads of ``state`` take no lock: the
  CAS catches a stale one.
* The semaphores (gort.sched.sema) are M:N-safe on their own; a release
  that comes before its acquire is kept, so Go's order -- CAS, then
  semacquire -- cannot lose a wake-up.
"""

from __future__ import annotations

import threading

from gort.sched.mnmode import mode
from gort.sched.sema import Sema, semacquire, semrelease

mutexClosed = 1 << 0
mutexRLock = 1 << 1
mutexWLock = 1 << 2
mutexRef = 1 << 3
mutexRefMask = ((1 << 20) - 1) << 3
mutexRWait = 1 << 23
mutexRMask = ((1 << 20) - 1) << 23
mutexWWait = 1 << 43
mutexWMask = ((1 << 20) - 1) << 43

_overflowMsg = "inconsistent poll.fdMutex"

_mn = mode.register(globals())  # more than one M: see the module docstring


_NCASLOCKS = 251  # Go: semTabSize
_caslocks = tuple(threading.Lock() for _ in range(_NCASLOCKS))


def _cas(mu: fdMutex, old: int, new: int) -> bool:
    """Go: atomic.CompareAndSwapUint64(&mu.state, old, new), for M:N mode."""
    with _caslocks[id(mu) % _NCASLOCKS]:
        if mu.state != old:
            return False
        mu.state = new
        return True


class fdMutex:
    """Go: poll.fdMutex.  Read ops use rwlock(True)/rwunlock(True), write ops
    rwlock(False)/rwunlock(False), everything else (setsockopt, deadlines)
    incref/decref, and Close increfAndClose/decref.  Every method that drops
    a reference returns True when it dropped the last one of a closed FD:
    the caller must then destroy the FD."""

    __slots__ = ("state", "rsema", "wsema")

    def __init__(self) -> None:
        self.state = 0
        self.rsema = Sema(0)
        self.wsema = Sema(0)

    def incref(self) -> bool:
        """Add a reference; False if the FD is closed."""
        while True:
            old = self.state
            if old & mutexClosed:
                return False
            new = old + mutexRef
            if new & mutexRefMask == 0:
                raise RuntimeError(_overflowMsg)
            if not _mn:
                self.state = new
                return True
            if _cas(self, old, new):
                return True

    def increfAndClose(self) -> bool:
        """Mark closed and add a reference; False if already closed.
        Wakes every goroutine waiting for the read or write lock: they see
        the closed bit and fail."""
        while True:
            old = self.state
            if old & mutexClosed:
                return False
            new = (old | mutexClosed) + mutexRef
            if new & mutexRefMask == 0:
                raise RuntimeError(_overflowMsg)
            # Remove all read and write waiters.
            new &= ~(mutexRMask | mutexWMask)
            if not _mn:
                self.state = new
            elif not _cas(self, old, new):
                continue
            # Wake them all; they observe the closed bit after wake-up.
            while old & mutexRMask:
                old -= mutexRWait
                semrelease(self.rsema)
            while old & mutexWMask:
                old -= mutexWWait
                semrelease(self.wsema)
            return True

    def decref(self) -> bool:
        """Drop a reference; True if it was the last one of a closed FD."""
        while True:
            old = self.state
            if old & mutexRefMask == 0:
                raise RuntimeError(_overflowMsg)
            new = old - mutexRef
            if not _mn:
                self.state = new
            elif not _cas(self, old, new):
                continue
            return new & (mutexClosed | mutexRefMask) == mutexClosed

    def rwlock(self, read: bool) -> bool:
        """Take the read (or write) lock plus a reference, waiting while
        another goroutine holds it; False if the FD is or gets closed."""
        if read:
            bit, wait, mask, sema = mutexRLock, mutexRWait, mutexRMask, self.rsema
        else:
            bit, wait, mask, sema = mutexWLock, mutexWWait, mutexWMask, self.wsema
        while True:
            old = self.state
            if old & mutexClosed:
                return False
            if old & bit == 0:
                # Lock is free, acquire it.
                new = (old | bit) + mutexRef
                if new & mutexRefMask == 0:
                    raise RuntimeError(_overflowMsg)
            else:
                # Wait for lock.
                new = old + wait
                if new & mask == 0:
                    raise RuntimeError(_overflowMsg)
            if not _mn:
                self.state = new
            elif not _cas(self, old, new):
                continue
            if old & bit == 0:
                return True
            semacquire(sema)
            # The signaller has subtracted our wait count; retry.

    def rwunlock(self, read: bool) -> bool:
        """Release the read (or write) lock and its reference, handing the
        lock to one waiter; True if that was the last reference of a closed FD."""
        if read:
            bit, wait, mask, sema = mutexRLock, mutexRWait, mutexRMask, self.rsema
        else:
            bit, wait, mask, sema = mutexWLock, mutexWWait, mutexWMask, self.wsema
        while True:
            old = self.state
            if old & bit == 0 or old & mutexRefMask == 0:
                raise RuntimeError(_overflowMsg)
            # Drop lock, drop reference and wake a waiter if present.
            new = (old & ~bit) - mutexRef
            if old & mask:
                new -= wait
            if not _mn:
                self.state = new
            elif not _cas(self, old, new):
                continue
            if old & mask:
                semrelease(sema)
            return new & (mutexClosed | mutexRefMask) == mutexClosed
