"""sync.Once (Go: src/sync/once.go).

Go's shape: a ``done`` flag read on the fast path, and a Mutex on the slow
path, so that every concurrent caller of ``do`` waits until the first call
of f has *finished* (a plain "set the flag, then call f" would let a second
caller return while f is still running).  ``done`` is set after f returns
-- or raises: like Go, where a panicking f still counts as done, a Once
whose f raised never calls f again; the exception goes to the first caller
only, and later (or waiting) callers return normally.

Calling ``do`` again from inside f blocks on the Mutex forever, as in Go
(a deadlock, reported as one when nothing else can run).

Locking (M:N): ``done`` is written only while ``m`` is held, and ``m`` is a
gort Mutex, which is correct across Ms; the fast path reads ``done``
without it, as Go does with an atomic load (a Python attribute load is one
atomic reference load; the Mutex's threading.Lock orders f's effects before
``done`` for callers that take the slow path).  So Once needs no lock of
its own and no M:N mode switch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .mutex import Mutex


class Once:
    """Run a function exactly once (Go: sync.Once)."""

    __slots__ = ("done", "m", "__weakref__")

    def __init__(self) -> None:
        self.done = False
        self.m = Mutex()

    def __repr__(self) -> str:
        return f"<gort.sync.Once done={self.done}>"

    def do(self, f: Callable[[], Any]) -> None:
        """Call f() if and only if this is the first do on this Once; every
        call returns only after that first f() has returned or raised."""
        if not self.done:
            self._doSlow(f)

    def _doSlow(self, f: Callable[[], Any]) -> None:
        if not callable(f):
            raise TypeError(f"Once.do: {type(f).__name__!r} object is not callable")
        m = self.m
        m.lock()
        try:
            if not self.done:
                try:
                    f()
                finally:
                    self.done = True
        finally:
            m.unlock()
