"""sync.Mutex on gort's semaphores (Go: src/internal/sync/mutex.go, which
src/sync/mutex.go wraps since Go 1.24).

The state word is Go's::

    state = waiters << mutexWaiterShift | mutexStarving | mutexWoken | mutexLocked

* ``mutexLocked`` (1): somebody holds the lock.
* ``mutexWoken`` (2): an Unlock has woken a waiter, which is on its way; other
  Unlocks need not wake another one.
* ``mutexStarving`` (4): starvation mode (below).
* ``waiters`` (bits 3 and up): goroutines parked on ``sema``.

Normal mode: the waiters queue FIFO on the semaphore, but a woken waiter does
not own the lock; it competes with goroutines that call Lock right now, and
those usually win because they are already running.  A woken waiter that
loses goes back to the *front* of the queue (LIFO).  A waiter that has gone
more than 1 ms (``starvationThreshold``) without the lock switches the mutex
to starvation mode: Unlock then hands ownership straight to the first waiter
(``semrelease(handoff=True)``, which also yields the thread to it), and
newcomers neither take the lock nor spin; they queue at the tail.  A waiter
that receives the lock ends starvation mode if it is the last waiter or it
waited less than 1 ms.

Locking (M:N)
-------------
Go changes ``state`` only with atomics: CAS in Lock/lockSlow/unlockSlow/
TryLock, AddInt32 in Unlock and in a woken starving waiter.  gort's CAS is a
lock: ``Mutex.mu`` (a threading.Lock, made on first need under the module's
``_mulock`` with a double check, so two Ms never publish two) guards every
read-modify-write of ``state`` -- but only in M:N mode (``_mn``, set through
gort.sched.mnmode's mode before a second M starts).  With one M a goroutine gives
up the thread only inside gopark/gosched, never between a read and a write
here, so the plain update *is* the CAS and the hot paths cost one global
load more than before.  ``mu`` is held only for the CAS itself, never across
semacquire/semrelease (so there is no lock order with ``Sema.lock``).
``sema`` is made under ``mu`` *before* the CAS that counts us as a waiter,
so an Unlock that sees the waiter always finds the semaphore.

Where gort differs, and why:

* No spinning (Go's ``runtime_canSpin``/``runtime_doSpin``).  Spinning only
  pays when the holder runs on another CPU and is about to unlock; with one M
  the holder cannot run while we spin (and goroutines are not preempted), so
  every spin would be wasted.  Go itself refuses to spin when GOMAXPROCS is 1.
  Under M:N a Python-level spin costs about what a park does, so gort does
  not spin there either.  Without spinning ``awoke`` is only set by a wake-up.
* Go's ``fatal("sync: unlock of unlocked mutex")`` ends the program; gort
  raises ``SyncError`` in the caller and leaves the state as it was.
* The semaphore (a ``Sema``) is created on first contention, so a Mutex that
  never blocks costs one int, like Go's zero value.
"""

from __future__ import annotations

import threading
from time import monotonic
from typing import Any, Protocol, runtime_checkable

from ..sched.error import Panic
from ..sched.mnmode import mode
from ..sched.runtime2 import waitReasonSyncMutexLock
from ..sched.sema import Sema, semacquire, semhandon, semKilledQueued, semKilledWoken, semrelease

mutexLocked = 1
mutexWoken = 2
mutexStarving = 4
mutexWaiterShift = 3
# Go: starvationThresholdNs = 1e6.  gort's clock is float seconds.
starvationThreshold = 1e-3

_mn = mode.register(globals())  # M:N mode: state updates go through Mutex._cas (see the docstring)


# Guards the first creation of a Mutex's ``mu`` (double-checked).
_mulock = threading.Lock()


def _mkmu(m: Mutex) -> threading.Lock:
    with _mulock:
        mu = m.mu
        if mu is None:
            mu = m.mu = threading.Lock()
    return mu


class SyncError(Panic):
    """Misuse of a sync primitive that Go reports with a fatal error or a
    panic: "sync: unlock of unlocked mutex", "sync: negative WaitGroup
    counter", ...  The message is Go's.  A gort.Panic (a RuntimeError)."""


@runtime_checkable
class Locker(Protocol):
    """Anything with lock() and unlock() (Go: sync.Locker)."""

    def lock(self) -> None: ...

    def unlock(self) -> None: ...


class Mutex:
    """A mutual exclusion lock for goroutines (Go: sync.Mutex).

    ``lock()`` parks the goroutine while another holds the lock (wait reason
    "sync.Mutex.Lock"); ``unlock()`` may be called by any goroutine, as in
    Go: a Mutex is not tied to the goroutine that locked it.  ``with m:``
    locks and unlocks.  Not reentrant: locking a Mutex you hold blocks
    forever (a deadlock if nothing else can run).
    """

    __slots__ = ("state", "sema", "mu", "__weakref__")

    def __init__(self) -> None:
        self.state = 0
        self.sema: Sema | None = None
        # gort's CAS on state, M:N only: made now under M:N, else on first need.
        self.mu: threading.Lock | None = threading.Lock() if _mn else None

    def __repr__(self) -> str:
        s = self.state
        flags = "".join(f for b, f in ((mutexLocked, "L"), (mutexWoken, "W"),
                                       (mutexStarving, "S")) if s & b)
        return f"<gort.sync.Mutex state={flags or '-'} waiters={s >> mutexWaiterShift}>"

    # -- the hot paths: one compare and one store each -----------------------
    # With one M the plain update is Go's CAS (see the module docstring).
    # Under M:N, Lock's CAS(0, mutexLocked) is the first turn of _lockSlow's
    # loop and Unlock's AddInt32 the start of _unlockSlow.  (1 is
    # mutexLocked, written as a literal: a global load less, which pays for
    # the _mn test.)

    def lock(self) -> None:
        """Lock m; park until it is free if it is locked (Go: Mutex.Lock)."""
        if self.state == 0 and not _mn:  # Go: CAS(state, 0, mutexLocked)
            self.state = 1
            return
        self._lockSlow()

    def unlock(self) -> None:
        """Unlock m; raises SyncError if it is not locked (Go: Mutex.Unlock)."""
        if self.state == 1 and not _mn:  # Go's AddInt32 gives 0
            self.state = 0
            return
        self._unlockSlow()

    __enter__ = lock

    def __exit__(self, t: Any, v: Any, tb: Any) -> None:
        if self.state == 1 and not _mn:
            self.state = 0
            return
        self._unlockSlow()

    def try_lock(self) -> bool:
        """Lock m if that needs no wait; report whether it did (Go: TryLock).

        Fails in starvation mode even while the lock is being handed over,
        as in Go: the lock belongs to the first waiter then.
        """
        old = self.state
        if old & (mutexLocked | mutexStarving):
            return False
        if _mn:
            return self._cas(old, old | mutexLocked)
        self.state = old | mutexLocked
        return True

    def locked(self) -> bool:
        """Whether somebody holds m (for debugging and tests; Go has no such
        method, and the answer can be stale as soon as you yield).  A mutex
        in starvation mode that is being handed to a waiter counts as locked."""
        return bool(self.state & (mutexLocked | mutexStarving))

    def _cas(self, old: int, new: int) -> bool:
        """Go: atomic.CompareAndSwapInt32(&m.state, old, new), for M:N."""
        with self.mu or _mkmu(self):
            if self.state != old:
                return False
            self.state = new
            return True

    # -- slow paths (Go: lockSlow, unlockSlow) -------------------------------

    def _lockSlow(self) -> None:
        waitStartTime = 0.0
        starving = False
        awoke = False
        old = self.state
        while True:
            # (Go spins here while old is locked and not starving: see the
            # module docstring for why gort does not.)
            new = old
            # Don't take a starving mutex: newcomers queue.
            if not old & mutexStarving:
                new |= mutexLocked
            if old & (mutexLocked | mutexStarving):
                new += 1 << mutexWaiterShift
            # Switch to starvation mode, but only if the mutex is locked:
            # Unlock expects a starving mutex to have waiters.
            if starving and old & mutexLocked:
                new |= mutexStarving
            if awoke:
                # We were woken: clear the flag either way.
                if not new & mutexWoken:
                    raise SyncError("sync: inconsistent mutex state")
                new &= ~mutexWoken
            if _mn:  # read on every turn: the run may go M:N while we park
                if old & (mutexLocked | mutexStarving) and self.sema is None:
                    # The CAS below makes us a waiter that an Unlock on
                    # another M may wake at once: the semaphore must exist.
                    with self.mu or _mkmu(self):
                        if self.sema is None:
                            self.sema = Sema(0)
                if not self._cas(old, new):
                    old = self.state
                    continue
            else:
                self.state = new  # Go: CAS(state, old, new); cannot fail with one M
            if not old & (mutexLocked | mutexStarving):
                return  # took the lock
            # A waiter that was woken and lost goes back to the front.
            queueLifo = waitStartTime != 0.0
            if not queueLifo:
                waitStartTime = monotonic()
            s = self.sema
            if s is None:
                s = self.sema = Sema(0)
            semacquire(s, queueLifo, waitReasonSyncMutexLock, self._lockKilled)
            starving = starving or monotonic() - waitStartTime > starvationThreshold
            old = self.state
            if old & mutexStarving:
                # Ownership was handed to us; mutexLocked is not set and we
                # still count as a waiter.  Fix both.
                if old & (mutexLocked | mutexWoken) or old >> mutexWaiterShift == 0:
                    raise SyncError("sync: inconsistent mutex state")
                delta = mutexLocked - (1 << mutexWaiterShift)
                if not starving or old >> mutexWaiterShift == 1:
                    # Leave starvation mode.  It must happen here, weighing
                    # the wait time: two goroutines can otherwise go
                    # lock-step in starvation mode forever.
                    delta -= mutexStarving
                if _mn:
                    with self.mu or _mkmu(self):  # Go: AddInt32(&m.state, delta)
                        self.state += delta
                else:
                    self.state = old + delta
                return
            awoke = True

    def _lockKilled(self, how: int) -> None:
        """A waiter was killed while parked in _lockSlow (gort only: the end
        of a run kills parked goroutines; Go cannot).  Take its share out of
        the state word, so the Mutex is left as if it had never waited.

        Shares are anonymous: ``waiters`` counts the goroutines that have
        registered and not consumed a semaphore count, less the counts an
        unlock has released for them (each such unlock took one share out
        and set mutexWoken).  If a count was released to the dead waiter, it
        goes to the next queued waiter (who then plays the woken one, so one
        more share goes), or is taken back along with mutexWoken.  A mutex
        left with no waiters leaves starvation mode: an unlock would hand it
        to nobody, and locked() would stay True."""
        r = 0 if how == semKilledQueued else semhandon(self.sema)
        if how == semKilledWoken and r == 2:
            # Our wake-up (its share already gone) is withdrawn with its count.
            delta, clear = 0, mutexWoken
        else:
            delta, clear = -(1 << mutexWaiterShift), 0
        if _mn:
            with self.mu or _mkmu(self):
                self.state = _dropwaiter(self.state, delta, clear)
        else:
            self.state = _dropwaiter(self.state, delta, clear)

    def _unlockSlow(self) -> None:
        # Go: Unlock's AddInt32(&m.state, -mutexLocked), then unlockSlow(new).
        # gort checks before it stores, so a bad unlock leaves state alone.
        if _mn:
            with self.mu or _mkmu(self):
                new = self.state - mutexLocked
                if not (new + mutexLocked) & mutexLocked:
                    raise SyncError("sync: unlock of unlocked mutex")
                self.state = new
            if new == 0:
                return
        else:
            new = self.state - mutexLocked
            if not (new + mutexLocked) & mutexLocked:
                raise SyncError("sync: unlock of unlocked mutex")
            self.state = new
        if new & mutexStarving:
            # Starvation mode: hand the lock to the first waiter and yield
            # the thread to it.  mutexLocked stays clear until the waiter
            # sets it, but mutexStarving keeps newcomers out meanwhile.
            semrelease(self.sema, True)
            return
        old = new
        while True:
            # Nobody to wake, or a woken/running goroutine will take it.
            # In starvation mode the hand-off chain does not include us
            # (we did not see mutexStarving when we unlocked), so get out.
            if old >> mutexWaiterShift == 0 or old & (mutexLocked | mutexWoken | mutexStarving):
                return
            # Take the right to wake one waiter.
            new = (old - (1 << mutexWaiterShift)) | mutexWoken
            if _mn:
                if not self._cas(old, new):
                    old = self.state
                    continue
            else:
                self.state = new
            semrelease(self.sema)
            return


def _dropwaiter(state: int, delta: int, clear: int) -> int:
    new = (state + delta) & ~clear
    if new >> mutexWaiterShift <= 0:
        new &= ~mutexStarving
        if new < 0:  # cannot happen if the shares add up; never go negative
            new &= (1 << mutexWaiterShift) - 1
    return new
