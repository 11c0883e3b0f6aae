"""errgroup: goroutines working on parts of one task, with the first error
kept and, optionally, a context cancelled on it (Go: golang.org/x/sync/errgroup).

    g = Group()                      # or: g, ctx = with_context(parent)
    g.set_limit(8)                   # optional: at most 8 active goroutines
    for url in urls:
        g.go(fetch, ctx, url)        # blocks while 8 are active
    g.wait()                         # raises the first error, if any

Go's Group, field for field: a WaitGroup counts the goroutines, a Once
keeps the first error, a buffered channel of capacity n is the limit's
semaphore (``go`` sends a token before starting the goroutine, the
goroutine receives it back when it ends), and ``cancel`` is the context's
cancel function (with_context only).

Errors: Go's f returns an error.  Here a member's error is either the
exception its function raises (an ``Exception``) or an exception object it
returns (so that Go code returning ``err``, e.g. a semaphore's
``acquire``, ports line for line).  The first one is kept and cancels the
context; the others are dropped, as in Go.  ``wait`` raises the first one,
on every call (Go returns it every time), with its original traceback.
A BaseException that is not an Exception (gort.goexit, KeyboardInterrupt)
is not an error: the member still counts as done, and the exception goes
on as it would in any goroutine.

Where gort differs: a goroutine gives back its token to the channel it
took it from; Go reads ``g.sem`` again when the goroutine ends, which
blocks forever if set_limit was called meanwhile (Go only catches that
misuse when a limit was already set; so does gort, with Go's panic
message, raised as SyncError).
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

from .. import context
from ..hchan import Chan, chansend
from ..sched.proc import newproc
from .mutex import SyncError
from .once import Once
from .waitgroup import WaitGroup


class Group:
    """A collection of goroutines working on subtasks of one task (Go:
    errgroup.Group).  A new Group has no limit and cancels nothing."""

    __slots__ = ("cancel", "wg", "sem", "errOnce", "err", "errtb", "__weakref__")

    def __init__(self) -> None:
        self.cancel: Callable[[BaseException | None], None] | None = None
        self.wg = WaitGroup()
        self.sem: Chan | None = None
        self.errOnce = Once()
        self.err: BaseException | None = None
        self.errtb: TracebackType | None = None

    def __repr__(self) -> str:
        lim = "none" if self.sem is None else self.sem.cap
        return f"<gort.sync.errgroup.Group limit={lim} err={self.err!r}>"

    def go(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``fn(*args, **kwargs)`` in a new goroutine of the group;
        block first while the group is at its limit (Go: Group.Go)."""
        if not callable(fn):
            raise TypeError(f"Group.go: {type(fn).__name__!r} object is not callable")
        sem = self.sem
        if sem is not None:
            sem.send(None)  # Go: g.sem <- token{}
        self.wg.add(1)
        # newproc looks two frames up for the go statement: our caller.
        newproc(_member, (self, fn, args, kwargs, sem))

    def try_go(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
        """Like go, but only if the group is below its limit now; report
        whether the goroutine was started (Go: Group.TryGo)."""
        if not callable(fn):
            raise TypeError(f"Group.try_go: {type(fn).__name__!r} object is not callable")
        sem = self.sem
        if sem is not None and not chansend(sem, None, False):
            return False
        self.wg.add(1)
        newproc(_member, (self, fn, args, kwargs, sem))
        return True

    def wait(self) -> None:
        """Wait for every goroutine started by go/try_go to end; then cancel
        the context (with_context) and raise the first error, if there was
        one (Go: Group.Wait)."""
        self.wg.wait()
        if self.cancel is not None:
            self.cancel(self.err)
        err = self.err
        if err is not None:
            # The saved traceback is put back first: raising one object
            # again and again would otherwise grow it call after call.
            raise err.with_traceback(self.errtb)

    def set_limit(self, n: int) -> None:
        """At most n goroutines of the group active at once; n < 0: no limit
        (Go: Group.SetLimit).  Not while goroutines of the group are active."""
        if type(n) is not int:
            raise TypeError(f"Group.set_limit: expected an int, not {type(n).__name__}")
        if n < 0:
            self.sem = None
            return
        sem = self.sem
        if sem is not None and len(sem) != 0:
            raise SyncError(f"errgroup: modify limit while {len(sem)} goroutines "
                            "in the group are still active")
        self.sem = Chan(n)

    def _error(self, err: BaseException) -> None:
        # Go: the errOnce.Do closure.
        def first() -> None:
            self.err, self.errtb = err, err.__traceback__
            if self.cancel is not None:
                self.cancel(err)

        self.errOnce.do(first)


def _member(g: Group, fn: Callable[..., Any], args: tuple, kwargs: dict,
            sem: Chan | None) -> None:
    """A member goroutine's body (Go: the closure in Group.Go)."""
    try:
        try:
            r = fn(*args, **kwargs)
        except Exception as e:  # the member's error
            g._error(e)
        else:
            if isinstance(r, BaseException):  # Go's "return err"
                g._error(r)
    finally:
        # Go: defer g.done() -- on return, error, goexit or a kill.
        if sem is not None:
            sem.recv()
        g.wg.done()


_member.gort_wraps = 1  # type: ignore[attr-defined]  # gort.trace names fn, not _member


def with_context(ctx: context.Context) -> tuple[Group, context.Context]:
    """A new Group and a context derived from ctx that is cancelled the first
    time a member fails or the first time wait returns, whichever comes
    first (Go: errgroup.WithContext).  Where gort.context has
    with_cancel_cause, the cause is the member's error."""
    with_cancel_cause = getattr(context, "with_cancel_cause", None)
    g = Group()
    if with_cancel_cause is not None:
        ctx, g.cancel = with_cancel_cause(ctx)
    else:
        ctx, cancel = context.with_cancel(ctx)
        g.cancel = lambda cause: cancel()
    return g, ctx


__all__ = ["Group", "with_context"]
