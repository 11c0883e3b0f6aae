"""sync.Once (Go: src/sync/once.go), and Go 1.21's once_func, once_value and
once_values (Go: src/sync/oncefunc.go).

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
from traceback import clear_frames
from types import TracebackType
from typing import Any, TypeVar

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


# --------------------------------------------------------------------------
# Go 1.21: OnceFunc, OnceValue, OnceValues

_T = TypeVar("_T")


def _oncevalue(f: Callable[[], Any], name: str, nvalues: int) -> Callable[[], Any]:
    """The one body of once_func, once_value and once_values (Go writes it
    three times, once per signature); nvalues is what f returns: 0 (its
    result is dropped), 1, or 2 (a pair, checked).

    As in Go: the returned function calls f at most once, through a Once;
    if f raises, every call raises that same exception object (the first
    call with f's own traceback; later calls with it too, under their own
    frame -- the saved traceback is put back first, so it does not grow
    call after call).  f is dropped after its call (Go: f = nil), so what
    it holds can be collected.  Not when f raised: the saved exception's
    traceback holds f's frame, and a frame holds its function (CPython);
    the locals of f's finished frames are cleared, at least.  An f that
    ends its goroutine (gort.goexit) or is killed leaves a RuntimeError for
    later calls: Go leaves the result unspecified (it panics with nil),
    and a later caller must not be made to exit its own goroutine.
    """
    once = Once()
    valid = False
    p: BaseException | None = None
    tb: TracebackType | None = None
    result: Any = None

    def g() -> None:
        nonlocal f, valid, p, tb, result
        try:
            r = f()
            if nvalues == 0:
                r = None  # once_func: f's result is not returned
            elif nvalues == 2:
                try:
                    r1, r2 = r
                except (TypeError, ValueError):
                    raise TypeError(f"{name}: f must return two values, "
                                    f"not {type(r).__name__}") from None
                r = (r1, r2)
            result = r
            valid = True
        except Exception as e:
            p, tb = e, e.__traceback__
            # The saved traceback would keep f's finished frames, and so
            # everything f held, alive for good: drop their locals (the
            # traceback still prints; frames still running are skipped).
            clear_frames(tb)
            raise
        except BaseException as e:
            p = RuntimeError(f"{name}: f did not return ({type(e).__name__})")
            raise
        finally:
            f = None  # type: ignore[assignment]

    def call() -> Any:
        if valid:
            return result
        once.do(g)
        if valid:
            return result
        raise p.with_traceback(tb)  # type: ignore[union-attr]

    call.__qualname__ = call.__name__ = name
    return call


def once_func(f: Callable[[], Any]) -> Callable[[], None]:
    """A function that calls f() only on its first call (Go 1.21: OnceFunc).
    Safe to call concurrently: every call returns after f has returned.
    If f raises, every call raises the same exception."""
    if not callable(f):
        raise TypeError(f"once_func: {type(f).__name__!r} object is not callable")
    return _oncevalue(f, "once_func", 0)


def once_value(f: Callable[[], _T]) -> Callable[[], _T]:
    """A function that calls f() on its first call and returns its value on
    every call (Go 1.21: OnceValue).  If f raises, every call raises the
    same exception."""
    if not callable(f):
        raise TypeError(f"once_value: {type(f).__name__!r} object is not callable")
    return _oncevalue(f, "once_value", 1)


def once_values(f: Callable[[], tuple[Any, Any]]) -> Callable[[], tuple[Any, Any]]:
    """once_value for an f that returns two values, e.g. ``(value, err)``
    (Go 1.21: OnceValues): every call returns the same pair."""
    if not callable(f):
        raise TypeError(f"once_values: {type(f).__name__!r} object is not callable")
    return _oncevalue(f, "once_values", 2)
