"""A weighted semaphore for goroutines (Go: golang.org/x/sync/semaphore).

    sem = Weighted(10)
    err = sem.acquire(ctx, 3)   # None, or ctx's error (then nothing is held)
    if err is None:
        try: ...
        finally: sem.release(3)

Go's algorithm, names and all: a Mutex guards ``size``, ``cur`` and a FIFO
of waiters; each waiter has a ``ready`` channel that the releaser closes
once it has counted the waiter's tokens in.  The queue is strict FIFO: when
the waiter at the head asks for more than is free, nobody behind it is
served, even a small request that would fit -- so a large request (a
writer wanting all N tokens) cannot be starved by a stream of small ones.

``acquire`` returns the context's error (Go: ``return ctx.Err()``) instead
of raising it, as Go's does, so that code checking ``err`` ports as it is;
``errgroup`` members may return it.  A context that is already done makes
``acquire`` fail even when tokens are free (Go's x/sync since 2023); a
context cancelled while waiting leaves the semaphore as it was, also when
the tokens arrived just as it was cancelled (they are given back).
Releasing more than is held is Go's panic "semaphore: released more than
held", raised as SyncError -- before anything changes, where Go has already
subtracted.

gort.context's done() is None (the nil channel) for a context that can
never be cancelled (``gort.nilchan`` once gort has a nil channel object):
``select`` and ``chanrecv`` take either as a channel that is never ready.
"""

from __future__ import annotations

from typing import Any

from ..context import Context
from ..hchan import Chan, chanrecv, closechan
from ..selectgo import recv, select
from .mutex import Mutex, SyncError


class _waiter:
    __slots__ = ("n", "ready")

    def __init__(self, n: int) -> None:
        self.n = n
        self.ready = Chan()  # closed when the semaphore is acquired


def _checkn(n: Any, what: str) -> None:
    """Raise for a weight that is not a non-negative int."""
    if type(n) is not int:
        raise TypeError(f"Weighted.{what}: expected an int weight, not {type(n).__name__}")
    if n < 0:
        raise ValueError(f"Weighted.{what}: negative weight {n}")


def _isdone(done: Any) -> bool:
    """Go: ``select { case <-done: true; default: false }``: one
    non-blocking receive (chanrecv takes None, the nil channel, too)."""
    return done is not None and chanrecv(done, False)[0]


class Weighted:
    """Bounded concurrent access to a resource by weight (Go: semaphore.Weighted;
    ``Weighted(n)`` is Go's NewWeighted(n))."""

    __slots__ = ("size", "cur", "mu", "waiters", "__weakref__")

    def __init__(self, n: int) -> None:
        if type(n) is not int:
            raise TypeError(f"Weighted: expected an int size, not {type(n).__name__}")
        self.size = n
        self.cur = 0
        self.mu = Mutex()
        # Go: container/list.  A dict keeps insertion order and removes any
        # waiter in O(1): the front is next(iter(waiters)).
        self.waiters: dict[_waiter, None] = {}

    def __repr__(self) -> str:
        return (f"<gort.sync.semaphore.Weighted size={self.size} cur={self.cur} "
                f"waiters={len(self.waiters)}>")

    def acquire(self, ctx: Context, n: int = 1) -> BaseException | None:
        """Acquire n tokens, parking until they are free or ctx is done.
        Returns None on success; else ctx's error, and the semaphore is left
        unchanged (Go: Weighted.Acquire)."""
        if type(n) is not int or n < 0:
            _checkn(n, "acquire")
        done = ctx.done()
        mu = self.mu
        mu.lock()
        if done is not None and chanrecv(done, False)[0]:  # _isdone, inlined
            # ctx becoming done "happened before" acquiring: fail even if
            # the tokens are free.
            mu.unlock()
            return ctx.err()
        if self.size - self.cur >= n and not self.waiters:
            self.cur += n
            mu.unlock()
            return None
        if n > self.size:
            # Don't make other acquires wait behind one that cannot succeed.
            mu.unlock()
            select(recv(done))  # Go: <-done (forever, for a nil channel)
            return ctx.err()

        w = _waiter(n)
        self.waiters[w] = None
        mu.unlock()

        i, _, _ = select(recv(done), recv(w.ready))
        if i == 0:
            mu.lock()
            if chanrecv(w.ready, False)[0]:  # closed by a release
                # Acquired after we were cancelled: give the tokens back.
                self.cur -= n
                self._notifyWaiters()
            else:
                isFront = next(iter(self.waiters)) is w
                del self.waiters[w]
                # At the front with tokens left over: the ones behind us
                # may fit now.
                if isFront and self.size > self.cur:
                    self._notifyWaiters()
            mu.unlock()
            return ctx.err()
        # Acquired.  If ctx is done by now, fail anyway (Go checks done
        # again: ctx.Err() would walk the context chain).
        if _isdone(done):
            self.release(n)
            return ctx.err()
        return None

    def try_acquire(self, n: int = 1) -> bool:
        """Acquire n tokens if that needs no wait; report whether it did
        (Go: Weighted.TryAcquire).  Fails while anyone is queued."""
        if type(n) is not int or n < 0:
            _checkn(n, "try_acquire")
        mu = self.mu
        mu.lock()
        ok = self.size - self.cur >= n and not self.waiters
        if ok:
            self.cur += n
        mu.unlock()
        return ok

    def release(self, n: int = 1) -> None:
        """Give back n tokens and wake the waiters they satisfy, in queue
        order (Go: Weighted.Release)."""
        if type(n) is not int or n < 0:
            _checkn(n, "release")
        mu = self.mu
        mu.lock()
        if self.cur - n < 0:
            mu.unlock()
            raise SyncError("semaphore: released more than held")
        self.cur -= n
        if self.waiters:
            self._notifyWaiters()
        mu.unlock()

    def _notifyWaiters(self) -> None:
        # Called with mu held.
        waiters = self.waiters
        while waiters:
            w = next(iter(waiters))
            if self.size - self.cur < w.n:
                # Not enough for the head.  Serving a smaller waiter behind
                # it could starve the head forever (a writer wanting all N
                # tokens behind a stream of readers): leave them all queued.
                break
            self.cur += w.n
            del waiters[w]
            closechan(w.ready)


__all__ = ["Weighted"]
