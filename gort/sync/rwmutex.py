"""sync.RWMutex on gort's semaphores (Go: src/sync/rwmutex.go).

Go's design, field for field:

* ``w``: a Mutex that writers take first, so writers queue among themselves.
* ``readerCount``: readers holding or waiting for the read lock.  A writer
  subtracts ``rwmutexMaxReaders`` (2**30) from it, so a negative count tells
  every new RLock "a writer is pending: wait" -- writer preference: a
  waiting writer blocks new readers, so readers cannot starve it.
* ``readerWait``: readers the pending writer still waits for (those that
  held the read lock when it announced itself); the last of them to RUnlock
  releases ``writerSem``.
* ``readerSem``: readers parked behind a writer; Unlock releases one count
  per parked reader.

Wait reasons as in Go: "sync.RWMutex.RLock" for a reader behind a writer,
"sync.RWMutex.Lock" for a writer waiting for readers to leave, and -- because
writers queue on the inner Mutex -- "sync.Mutex.Lock" for a writer queued
behind another writer (Go shows the same).

Differs from Go: the atomic adds are plain int updates (one M, no preemption
between read and write; see mutex.py), and misuse raises ``SyncError``
instead of Go's fatal error, leaving the state as it was.
"""

from __future__ import annotations

from typing import Any

from ..sched.runtime2 import waitReasonSyncRWMutexLock, waitReasonSyncRWMutexRLock
from ..sched.sema import Sema, semacquire, semrelease
from .mutex import Mutex, SyncError, mutexLocked

rwmutexMaxReaders = 1 << 30


class RWMutex:
    """A reader/writer lock for goroutines (Go: sync.RWMutex).

    Any number of readers (``rlock``/``runlock``) or one writer
    (``lock``/``unlock``).  Once a writer waits, new readers wait too, so
    recursive read locking can deadlock, as in Go.  ``with rw:`` takes the
    write lock; ``with rw.rlocker():`` the read lock.
    """

    __slots__ = ("w", "writerSem", "readerSem", "readerCount", "readerWait", "__weakref__")

    def __init__(self) -> None:
        self.w = Mutex()  # held if there are pending writers
        self.writerSem = Sema(0)  # writers wait here for departing readers
        self.readerSem = Sema(0)  # readers wait here for the writer
        self.readerCount = 0  # pending readers (minus rwmutexMaxReaders with a writer)
        self.readerWait = 0  # departing readers the writer waits for

    def __repr__(self) -> str:
        rc = self.readerCount
        writer = rc < 0
        readers = rc + rwmutexMaxReaders if writer else rc
        return (f"<gort.sync.RWMutex readers={readers} writer={'pending/held' if writer else '-'}"
                f" departing={self.readerWait}>")

    def rlock(self) -> None:
        """Lock rw for reading (Go: RWMutex.RLock)."""
        c = self.readerCount + 1
        self.readerCount = c
        if c < 0:
            # A writer is pending: wait for it.
            semacquire(self.readerSem, False, waitReasonSyncRWMutexRLock)

    def try_rlock(self) -> bool:
        """Lock rw for reading if that needs no wait (Go: TryRLock)."""
        c = self.readerCount
        if c < 0:
            return False
        self.readerCount = c + 1
        return True

    def runlock(self) -> None:
        """Undo one rlock (Go: RWMutex.RUnlock); raises SyncError if rw is
        not locked for reading."""
        r = self.readerCount - 1
        if r >= 0:
            self.readerCount = r
            return
        if r + 1 == 0 or r + 1 == -rwmutexMaxReaders:
            raise SyncError("sync: RUnlock of unlocked RWMutex")
        self.readerCount = r
        # A writer is pending; the last departing reader lets it in.
        w = self.readerWait - 1
        self.readerWait = w
        if w == 0:
            semrelease(self.writerSem)

    def lock(self) -> None:
        """Lock rw for writing (Go: RWMutex.Lock)."""
        # First, resolve competition with other writers (w.lock(), its fast
        # path inlined).
        w = self.w
        if w.state == 0:
            w.state = mutexLocked
        else:
            w._lockSlow()
        # Announce a pending writer to readers.
        r = self.readerCount
        self.readerCount = r - rwmutexMaxReaders
        # Wait for the active readers.
        if r != 0:
            rw = self.readerWait + r
            self.readerWait = rw
            if rw != 0:
                semacquire(self.writerSem, False, waitReasonSyncRWMutexLock)

    def try_lock(self) -> bool:
        """Lock rw for writing if that needs no wait (Go: TryLock)."""
        if not self.w.try_lock():
            return False
        if self.readerCount != 0:
            self.w.unlock()
            return False
        self.readerCount = -rwmutexMaxReaders
        return True

    def unlock(self) -> None:
        """Unlock rw for writing (Go: RWMutex.Unlock); raises SyncError if rw
        is not locked for writing."""
        # Announce to readers that there is no active writer.
        r = self.readerCount + rwmutexMaxReaders
        if r >= rwmutexMaxReaders:
            raise SyncError("sync: Unlock of unlocked RWMutex")
        self.readerCount = r
        # Unblock the readers that queued behind us.
        if r:
            s = self.readerSem
            for _ in range(r):
                semrelease(s)
        # Let the other writers proceed (w.unlock(), fast path inlined).
        w = self.w
        if w.state == mutexLocked:
            w.state = 0
        else:
            w._unlockSlow()

    __enter__ = lock

    def __exit__(self, t: Any, v: Any, tb: Any) -> None:
        self.unlock()

    def rlocker(self) -> RLocker:
        """A Locker whose lock/unlock are rw's rlock/runlock (Go: RLocker)."""
        return RLocker(self)


class RLocker:
    """rw's read side as a Locker (Go: the rlocker type); usable with
    ``with`` and as a ``Cond``'s lock."""

    __slots__ = ("rw",)

    def __init__(self, rw: RWMutex) -> None:
        self.rw = rw

    def lock(self) -> None:
        self.rw.rlock()

    def unlock(self) -> None:
        self.rw.runlock()

    def __enter__(self) -> None:
        self.rw.rlock()

    def __exit__(self, t: Any, v: Any, tb: Any) -> None:
        self.rw.runlock()
