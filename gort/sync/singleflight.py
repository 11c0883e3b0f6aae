"""Duplicate call suppression (Go: golang.org/x/sync/singleflight).

    g = Group()
    value, shared = g.do("user:42", lambda: load_user(42))

While a call for a key is in flight, other ``do`` calls for that key wait
for it and get its result instead of calling fn again (``shared`` is True
for all of them, and for the caller that ran fn if anyone joined it).

Go's shape: a Mutex guards a map from key to the ``call`` in flight; each
call has a WaitGroup that its duplicates wait on, its result, a count of
duplicates (``dups``) and the channels of ``do_chan`` callers.  The key is
deleted when fn ends, so the next ``do`` calls fn again; ``forget`` deletes
it early.

Errors: Go's fn returns ``(value, err)`` and may also panic; in Python fn
returns its value or raises, and a raised exception is the error: ``do``
raises it in the caller that ran fn and in every duplicate (the same object,
with fn's traceback put back each time), and ``do_chan`` delivers it as
``Result.err``.  (Go re-panics a panic in every ``Do`` caller and crashes
the program for ``DoChan`` callers; Python has one kind of exception.)  If
fn ends its goroutine (gort.goexit) or is killed, duplicates in ``do``
exit too, as in Go; ``do_chan`` callers get a Result whose err is a
RuntimeError saying so, where Go sends nothing at all.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from types import TracebackType
from typing import Any, NamedTuple

from ..hchan import Chan
from ..sched.proc import goexit, newproc
from .mutex import Mutex
from .waitgroup import WaitGroup


class Result(NamedTuple):
    """What ``do_chan``'s channel delivers (Go: singleflight.Result)."""

    val: Any
    err: BaseException | None
    shared: bool


class _Exited(Exception):
    """fn did not return: it called gort.goexit or its goroutine was killed."""


class call:
    """An in-flight or completed ``do`` call (Go: singleflight.call)."""

    __slots__ = ("wg", "val", "err", "tb", "dups", "chans")

    def __init__(self) -> None:
        self.wg = WaitGroup()
        self.val: Any = None
        self.err: BaseException | None = None
        self.tb: TracebackType | None = None
        self.dups = 0
        self.chans: list[Chan] = []


class Group:
    """A namespace of keys whose calls are deduplicated (Go: singleflight.Group)."""

    __slots__ = ("mu", "m", "__weakref__")

    def __init__(self) -> None:
        self.mu = Mutex()  # guards m
        self.m: dict[Hashable, call] = {}

    def do(self, key: Hashable, fn: Callable[[], Any]) -> tuple[Any, bool]:
        """Call fn() unless a call for key is in flight; then wait for that
        one.  Returns ``(value, shared)``; raises fn's exception (Go: Group.Do)."""
        if not callable(fn):
            raise TypeError(f"Group.do: {type(fn).__name__!r} object is not callable")
        self.mu.lock()
        c = self.m.get(key)
        if c is not None:
            c.dups += 1
            self.mu.unlock()
            c.wg.wait()
            err = c.err
            if err is not None:
                if type(err) is _Exited:
                    goexit()  # Go: runtime.Goexit() in every duplicate
                raise err.with_traceback(c.tb)
            return c.val, True
        c = call()
        c.wg.add(1)
        self.m[key] = c
        self.mu.unlock()

        self._doCall(c, key, fn)
        if c.err is not None:
            raise c.err.with_traceback(c.tb)
        return c.val, c.dups > 0

    def do_chan(self, key: Hashable, fn: Callable[[], Any]) -> Chan:
        """Like do, but return at once a channel that will deliver one
        ``Result(val, err, shared)``; fn runs in a new goroutine (Go:
        Group.DoChan)."""
        if not callable(fn):
            raise TypeError(f"Group.do_chan: {type(fn).__name__!r} object is not callable")
        ch = Chan(1)
        self.mu.lock()
        c = self.m.get(key)
        if c is not None:
            c.dups += 1
            c.chans.append(ch)
            self.mu.unlock()
            return ch
        c = call()
        c.chans.append(ch)
        c.wg.add(1)
        self.m[key] = c
        self.mu.unlock()
        # newproc looks two frames up for the go statement: our caller.
        newproc(self._doCall, (c, key, fn))
        return ch

    def forget(self, key: Hashable) -> None:
        """Forget key: the next do for it calls fn, even while a call is in
        flight (Go: Group.Forget)."""
        self.mu.lock()
        self.m.pop(key, None)
        self.mu.unlock()

    def _doCall(self, c: call, key: Hashable, fn: Callable[[], Any]) -> None:
        # Go: doCall.  Every way out of fn ends in the finally block: the
        # duplicates are released and the key deleted, then the channels fed.
        try:
            c.val = fn()
        except Exception as e:
            c.err, c.tb = e, e.__traceback__
        except BaseException as e:
            c.err = _Exited(f"singleflight: fn did not return ({type(e).__name__})")
            raise
        finally:
            self.mu.lock()
            c.wg.done()
            if self.m.get(key) is c:
                del self.m[key]
            r = Result(c.val, c.err, c.dups > 0)
            for ch in c.chans:
                ch.send(r)  # buffered (1): never blocks
            self.mu.unlock()


__all__ = ["Group", "Result"]
