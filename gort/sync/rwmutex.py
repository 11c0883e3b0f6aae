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

Locking (M:N): Go changes ``readerCount`` and ``readerWait`` with atomic
adds (and a CAS in TryRLock/TryLock).  gort's atomics are a lock:
``RWMutex.mu`` (made on first need under the module's ``_mulock``, double-
checked) guards both counters, in M:N mode only (``_mn``, set through
gort.sched.mnmode's mode before a second M starts).  With one M a goroutine
gives up the thread only inside gopark, never between a read and a write
here, so the plain updates are atomic and the hot paths cost one global
load more.  ``mu`` is held only for the add itself, never across the
inner Mutex or a semaphore, so it has no lock order with them.

Differs from Go: misuse raises ``SyncError`` instead of Go's fatal error,
leaving the state as it was (gort checks before it stores).  A waiter killed
while parked (the end of a run) undoes its share of the counts
(``_rlockKilled``, ``_lockKilled``; Go has no such case).
"""

from __future__ import annotations

import threading
from typing import Any

from ..sched.mnmode import mode
from ..sched.runtime2 import waitReasonSyncRWMutexLock, waitReasonSyncRWMutexRLock
from ..sched.sema import Sema, semacquire, semhandon, semKilledQueued, semrelease
from .mutex import Mutex, SyncError, mutexLocked

rwmutexMaxReaders = 1 << 30

_mn = mode.register(globals())  # M:N mode: the counters change under RWMutex.mu (see the docstring)


# Guards the first creation of an RWMutex's ``mu`` (double-checked).
_mulock = threading.Lock()


def _mkmu(rw: RWMutex) -> threading.Lock:
    with _mulock:
        mu = rw.mu
        if mu is None:
            mu = rw.mu = threading.Lock()
    return mu


class RWMutex:
    """A reader/writer lock for goroutines (Go: sync.RWMutex).

    Any number of readers (``rlock``/``runlock``) or one writer
    (``lock``/``unlock``).  Once a writer waits, new readers wait too, so
    recursive read locking can deadlock, as in Go.  ``with rw:`` takes the
    write lock; ``with rw.rlocker():`` the read lock.
    """

    __slots__ = ("w", "writerSem", "readerSem", "readerCount", "readerWait", "mu",
                 "__weakref__")

    def __init__(self) -> None:
        self.w = Mutex()  # held if there are pending writers
        self.writerSem = Sema(0)  # writers wait here for departing readers
        self.readerSem = Sema(0)  # readers wait here for the writer
        self.readerCount = 0  # pending readers (minus rwmutexMaxReaders with a writer)
        self.readerWait = 0  # departing readers the writer waits for
        # gort's atomics on the counters, M:N only (made now under M:N).
        self.mu: threading.Lock | None = threading.Lock() if _mn else None

    def __repr__(self) -> str:
        rc = self.readerCount
        writer = rc < 0
        readers = rc + rwmutexMaxReaders if writer else rc
        return (f"<gort.sync.RWMutex readers={readers} writer={'pending/held' if writer else '-'}"
                f" departing={self.readerWait}>")

    def rlock(self) -> None:
        """Lock rw for reading (Go: RWMutex.RLock)."""
        if _mn:
            with self.mu or _mkmu(self):  # Go: readerCount.Add(1)
                c = self.readerCount = self.readerCount + 1
        else:
            c = self.readerCount = self.readerCount + 1
        if c < 0:
            # A writer is pending: wait for it.
            semacquire(self.readerSem, False, waitReasonSyncRWMutexRLock, self._rlockKilled)

    def try_rlock(self) -> bool:
        """Lock rw for reading if that needs no wait (Go: TryRLock)."""
        if _mn:
            with self.mu or _mkmu(self):  # Go: the CAS loop
                c = self.readerCount
                if c < 0:
                    return False
                self.readerCount = c + 1
                return True
        c = self.readerCount
        if c < 0:
            return False
        self.readerCount = c + 1
        return True

    def runlock(self) -> None:
        """Undo one rlock (Go: RWMutex.RUnlock); raises SyncError if rw is
        not locked for reading."""
        if _mn:
            self._runlockMN()
            return
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

    def _runlockMN(self) -> None:
        # Go: readerCount.Add(-1), then rUnlockSlow's readerWait.Add(-1).
        with self.mu or _mkmu(self):
            r = self.readerCount - 1
            if r < 0 and (r + 1 == 0 or r + 1 == -rwmutexMaxReaders):
                raise SyncError("sync: RUnlock of unlocked RWMutex")
            self.readerCount = r
            if r >= 0:
                return
            w = self.readerWait = self.readerWait - 1
        if w == 0:
            semrelease(self.writerSem)

    def lock(self) -> None:
        """Lock rw for writing (Go: RWMutex.Lock)."""
        # First, resolve competition with other writers (w.lock(), its fast
        # path inlined).
        w = self.w
        if w.state == 0 and not _mn:
            w.state = mutexLocked
        else:
            w._lockSlow()
        # Announce a pending writer to readers, and wait for the active ones.
        # (Go: r := readerCount.Add(-rwmutexMaxReaders) + rwmutexMaxReaders;
        # if r != 0 && readerWait.Add(r) != 0 { semacquire(writerSem) }.
        # In Go readers leaving between the two adds can take readerWait
        # below zero for a moment; here both adds are one critical section.)
        if _mn:
            with self.mu or _mkmu(self):
                r = self.readerCount
                self.readerCount = r - rwmutexMaxReaders
                if r == 0:
                    return
                rw = self.readerWait = self.readerWait + r
        else:
            r = self.readerCount
            self.readerCount = r - rwmutexMaxReaders
            if r == 0:
                return
            rw = self.readerWait = self.readerWait + r
        if rw != 0:
            semacquire(self.writerSem, False, waitReasonSyncRWMutexLock, self._lockKilled)

    # -- waiters killed while parked (gort only: the end of a run kills
    # parked goroutines, Go cannot).  Each undoes its share of the counts.

    def _rlockKilled(self, how: int) -> None:
        """A reader parked behind a writer was killed."""
        if how != semKilledQueued:
            # The writer's unlock let us in: we hold a read lock.  Take back
            # the count it released for us and leave as a reader does.
            semhandon(self.readerSem, False)
            self.runlock()
            return
        # Still queued: the writer has not released us; stop being counted
        # as a reader it must release.
        if _mn:
            with self.mu or _mkmu(self):
                self.readerCount -= 1
        else:
            self.readerCount -= 1

    def _lockKilled(self, how: int) -> None:
        """A writer waiting for readers to leave (holding w) was killed:
        withdraw the pending writer, as unlock does, and forget the readers
        it waited for (a last reader's release, if it came, is taken back)."""
        if _mn:
            with self.mu or _mkmu(self):
                active = self.readerWait
                self.readerWait = 0
                r = self.readerCount = self.readerCount + rwmutexMaxReaders
        else:
            active = self.readerWait
            self.readerWait = 0
            r = self.readerCount = self.readerCount + rwmutexMaxReaders
        semhandon(self.writerSem, False)
        # Release the readers that queued behind us; the ``active`` ones we
        # waited for hold the read lock and are not parked.
        s = self.readerSem
        for _ in range(r - active):
            semrelease(s)
        self.w.unlock()

    def try_lock(self) -> bool:
        """Lock rw for writing if that needs no wait (Go: TryLock)."""
        if not self.w.try_lock():
            return False
        if _mn:
            with self.mu or _mkmu(self):  # Go: CAS(readerCount, 0, -rwmutexMaxReaders)
                ok = self.readerCount == 0
                if ok:
                    self.readerCount = -rwmutexMaxReaders
        else:
            ok = self.readerCount == 0
            if ok:
                self.readerCount = -rwmutexMaxReaders
        if not ok:
            self.w.unlock()
        return ok

    def unlock(self) -> None:
        """Unlock rw for writing (Go: RWMutex.Unlock); raises SyncError if rw
        is not locked for writing."""
        # Announce to readers that there is no active writer.
        if _mn:
            with self.mu or _mkmu(self):  # Go: readerCount.Add(rwmutexMaxReaders)
                r = self.readerCount + rwmutexMaxReaders
                if r >= rwmutexMaxReaders:
                    raise SyncError("sync: Unlock of unlocked RWMutex")
                self.readerCount = r
        else:
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
        if w.state == mutexLocked and not _mn:
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
