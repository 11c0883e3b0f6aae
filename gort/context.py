"""Go's package context: cancellation, deadlines and request-scoped values.

Go: src/context/context.go.  The types are Go's: ``emptyCtx`` (background,
todo), ``cancelCtx``, ``timerCtx`` and ``valueCtx``; cancellation propagates
to children through ``propagateCancel``/``parentCancelCtx``/``removeChild``,
without a goroutine per context for the known types, as in Go.

    ctx, cancel = context.with_timeout(context.background(), 0.5)
    try:
        i, v, ok = gort.select(gort.recv(work), gort.recv(ctx.done()))
        if i == 1:
            raise ctx.err()          # DeadlineExceeded, or Canceled
    finally:
        cancel()

Choices, and where gort differs
-------------------------------
* ``done()`` of ``background()``/``todo()``/``without_cancel()`` (and of
  value contexts over them) is ``gort.nilchan``, Go's nil channel: a
  select case on it is never ready, and ``ctx.done().recv()`` blocks
  forever (a Deadlock if nothing else can run), as in Go.  A custom
  Context may still return None for it: gort treats None as the nil
  channel too.  A cancelable context makes its channel lazily, as Go
  does; one that is canceled before anyone asked gets a shared closed
  channel (Go: ``closedchan``).
* Clock consistency (gort has no preemption).  In Go a timerCtx's timer
  fires on time even while the goroutine that polls ``ctx.err()`` or
  ``select { case <-ctx.Done(): default: }`` never blocks.  In gort the
  timer runs on timerproc, which needs the polling goroutine to yield.
  So every cancelCtx remembers the deadline it inherits (``_dl``, the
  earliest deadline up its chain, read once at creation), and ``err()``
  and ``done()`` compare it with the clock: once it has passed, they
  cancel the context that owns it (as its timer would have) before
  answering.  Go 1.23's timer channels do the same when polled
  (maybeRunChan).  ``err()`` of a context not yet canceled also lets any
  other due timer run (it yields, as ``gort.select`` with default and
  ``gort.gosched`` do; see gort/selectgo.py), so a loop polling
  ``ctx.err()`` sees a cancel that a timer (``gort.time.after_func``)
  makes.  ``done()`` only checks its own deadline: the runtime calls it on
  timerproc, which must not yield.
* ``err()`` returns the sentinel ``Canceled`` or ``DeadlineExceeded`` itself
  (identity, like Go's ``ctx.Err() == context.Canceled``).  They are exception
  instances, of ``CanceledError(Exception)`` and ``DeadlineExceededError
  (TimeoutError)`` -- Go's deadlineExceededError has ``Timeout() == true`` --
  so ``raise ctx.err()`` works and ``except CanceledError`` /
  ``except TimeoutError`` catch them.  Their text is Go's: "context canceled",
  "context deadline exceeded".  Because the instances are shared, ``err()``
  hands them out with ``__traceback__`` cleared, so raising them over and
  over does not grow one ever-longer traceback.
* A ``timerCtx``'s deadline is a runtime timer whose callback cancels the
  context on the timerproc goroutine (cancel only closes channels and readies
  goroutines, so it cannot block).  Go uses ``time.AfterFunc``, i.e. a new
  goroutine per expiry; gort saves the goroutine.
* Deadlines are absolute times on ``gort.time.now()`` (``time.monotonic()``,
  or a synctest bubble's fake clock), the clock of every deadline in gort.
* Locking.  Go's ``cancelCtx.mu`` guards ``done``, ``children``, ``err``
  (and a timerCtx's ``timer``).  gort takes it (``_mu``, a threading.Lock)
  only in M:N mode (``_mn``, set through gort.sched.mnmode's mode before a second
  M starts): with one M, a cancel runs to completion without another
  goroutine getting in.  Under M:N, ``_mu`` is made with the context (or,
  for a context made before the run went M:N, on first need under the
  module's ``_ctxlock``, double-checked).  As in Go, a cancel holds the
  context's lock while it closes ``done`` and cancels the children (lock
  order: parent -> child -> the channel's lock -> sched.lock), and takes
  the parent's lock only after dropping its own (removeChild).  ``err`` is
  stored just before ``done`` closes, and ``err()`` reads it without the
  lock while it is None; once it is set, err() takes the lock once, so it
  returns only after the cancel that set it has closed ``done`` and
  canceled the children (what Go's locked Err gives).  gort differs in
  where the deadline timer is added and deleted: outside ``_mu`` (Go
  holds c.mu), so a context's own cancel never holds its lock while it
  takes the timer heap's; a cascade from a parent does hold the parent's,
  so timerproc must not hold the heap's lock while it runs a timer's f
  (Go's unlockAndRun does not).
* Go 1.20-1.21: ``with_cancel_cause``/``cause``, ``with_deadline_cause``,
  ``with_timeout_cause``, ``without_cancel`` and ``after_func`` are Go's
  (cancelCtx.cause, withoutCancelCtx, afterFuncCtx).  ``after_func``'s f
  runs in its own goroutine, started once, as in Go.
"""

from __future__ import annotations

import numbers
import threading
from collections.abc import Callable
from datetime import datetime as _datetime
from typing import Any

from gort.hchan import Chan, closechan, nilchan
from gort.sched.mnmode import mode
from gort.sched.proc import newproc, sched
from gort.selectgo import _polltimers, recv, select
from gort.time import _WALLCLOCK_GUARD, _dur, _newtimer, _wallclock_mistake
from gort.time import from_datetime as _from_datetime
from gort.time import now as _now
from gort.time.timers import MAXWHEN, addtimer, deltimer, timer

__all__ = [
    "Canceled", "CanceledError", "CancelCauseFunc", "CancelFunc", "Context",
    "DeadlineExceeded", "DeadlineExceededError", "after_func", "background", "cause",
    "todo", "with_cancel", "with_cancel_cause", "with_deadline", "with_deadline_cause",
    "with_timeout", "with_timeout_cause", "with_value", "without_cancel",
]

CancelFunc = Callable[[], None]
CancelCauseFunc = Callable[[BaseException | None], None]


class CanceledError(Exception):
    """The error of a context that was canceled (Go: context.Canceled)."""


class DeadlineExceededError(TimeoutError):
    """The error of a context whose deadline passed (Go: context.DeadlineExceeded,
    whose Timeout() is true: here, a TimeoutError)."""


Canceled = CanceledError("context canceled")
DeadlineExceeded = DeadlineExceededError("context deadline exceeded")

_mn = mode.register(globals())  # M:N mode: cancelCtx._mu is taken (see the module docstring)
_sched = sched
_INF = float("inf")


# Guards the first creation of a context's _mu and of _closedchan (double-checked).
_ctxlock = threading.Lock()


class Context:
    """Go's context.Context interface.  Subclass it to write your own;
    gort's own contexts come from background(), todo() and the with_*
    functions.  A context that is not one of gort's is watched by a
    goroutine when a cancelable child is derived from it (as in Go).
    """

    __slots__ = ()

    def deadline(self) -> tuple[float | None, bool]:
        """(t, True) if the context is canceled at time t (on gort.time.now()'s
        clock), else (None, False)."""
        return None, False

    def done(self) -> Chan | None:
        """A channel closed when the context is canceled; gort.nilchan
        (Go's nil channel) if it can never be canceled.  (A custom Context
        may return None instead: gort takes it as the nil channel too.)"""
        return nilchan

    def err(self) -> BaseException | None:
        """None while done() is open; then Canceled or DeadlineExceeded."""
        return None

    def value(self, key: Any) -> Any:
        """The value bound to key by with_value up the chain, or None."""
        return None


class _emptyCtx(Context):
    """background() and todo(): never canceled, no values, no deadline."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


_background = _emptyCtx("context.Background")
_todo = _emptyCtx("context.TODO")


def background() -> Context:
    """The root of every context tree: never canceled, no values, no deadline
    (Go: context.Background)."""
    return _background


def todo() -> Context:
    """A placeholder context for code that does not have one yet (Go: context.TODO)."""
    return _todo


# Go: &cancelCtxKey -- value(_cancelCtxKey) finds the nearest cancelCtx.
_cancelCtxKey = object()
_closedchan: Chan | None = None  # Go: closedchan, made on first use


def _getclosedchan() -> Chan:
    global _closedchan
    c = _closedchan
    if c is None:
        with _ctxlock:  # two Ms must not publish two closedchans
            c = _closedchan
            if c is None:
                c = Chan()
                closechan(c)
                _closedchan = c
    return c


def _mkmu(c: _cancelCtx) -> threading.Lock:
    with _ctxlock:
        mu = c._mu
        if mu is None:
            mu = c._mu = threading.Lock()
    return mu


class _cancelCtx(Context):
    """Go: cancelCtx.  ``_children`` is a dict used as an ordered set."""

    __slots__ = ("_parent", "_done", "_err", "_cause", "_children", "_mu", "_dl")

    def __init__(self, parent: Context, dl: float | None = None) -> None:
        self._parent = parent
        self._done: Chan | None = None
        self._err: BaseException | None = None
        self._cause: BaseException | None = None  # Go 1.20: cancelCtx.cause
        self._children: dict[_cancelCtx, None] | None = None
        # Go: cancelCtx.mu; taken under M:N only (see the module docstring).
        self._mu: threading.Lock | None = threading.Lock() if _mn else None
        # The earliest deadline up the chain, for err()/done()'s clock check.
        self._dl = dl

    def deadline(self) -> tuple[float | None, bool]:
        return self._parent.deadline()

    def _expire(self) -> None:
        """The inherited deadline has passed by the clock, but its timer has
        not run (the asking goroutine never yielded): cancel the context
        that owns the deadline, as its timer would, and so this one."""
        dl = self._dl
        p: Any = self
        while True:
            tp = type(p)
            if tp is _timerCtx:
                if p._deadline == dl:
                    # Its timer is due but has not run: cancel deletes it.
                    p._cancel(True, DeadlineExceeded, p._dlcause)
                    break
                p = p._parent
            elif tp is _cancelCtx or tp is _valueCtx or tp is _afterFuncCtx:
                p = p._parent
            else:
                break
        if self._err is None:  # a chain through a custom Context: no owner found
            self._cancel(True, DeadlineExceeded, None)

    def done(self) -> Chan:
        dl = self._dl
        if dl is not None and self._err is None and _now() >= dl:
            self._expire()  # clock consistency (module docstring)
        d = self._done
        if d is None:
            if _mn:
                with self._mu or _mkmu(self):  # Go: the double-checked done.Load
                    d = self._done
                    if d is None:
                        d = self._done = Chan()
            else:
                d = self._done = Chan()
        return d

    def err(self) -> BaseException | None:
        e = self._err
        if e is None:
            t0 = _sched.timer0when
            dl = self._dl
            if dl is None and t0 == _INF:
                return None  # no deadline, no timer pending: no clock read
            now = _now()
            if dl is not None and now >= dl:
                self._expire()  # clock consistency (module docstring)
            elif now >= t0:
                _polltimers()  # another timer is due: let it run (it may cancel us)
            e = self._err
            if e is None:
                return None
        if _mn:
            # Set while a cancel holds _mu: wait for it to finish closing
            # done and canceling children, as Go's locked Err would.
            with self._mu or _mkmu(self):
                pass
        e.__traceback__ = None  # a shared sentinel: see the module docstring
        return e

    def value(self, key: Any) -> Any:
        if key is _cancelCtxKey:
            return self
        return _value(self._parent, key)

    def _cancel(self, remove_from_parent: bool, err: BaseException,
                cause: BaseException | None) -> bool:
        """Close done, cancel every child, leave the parent (Go: cancelCtx.cancel).
        Returns False if the context was already canceled.  cause None: err."""
        if _mn:
            with self._mu or _mkmu(self):
                if not self._cancelLocked(err, cause):
                    return False
        elif not self._cancelLocked(err, cause):
            return False
        if remove_from_parent:
            _removeChild(self._parent, self)
        return True

    def _cancelLocked(self, err: BaseException, cause: BaseException | None) -> bool:
        # Under M:N the caller holds self._mu.
        if self._err is not None:
            return False  # already canceled
        if cause is None:
            cause = err
        self._cause = cause  # before err: cause() reads it once err is set
        # err before done closes: see err() and the module docstring.
        self._err = err
        d = self._done
        if d is None:
            self._done = _getclosedchan()
        else:
            closechan(d)
        children = self._children
        self._children = None
        if children:
            for child in children:
                # Go: child.cancel(false, err, cause) -- the parent drops them
                # all, holding its lock (lock order: parent -> child).
                child._cancel(False, err, cause)
        return True

    def __repr__(self) -> str:
        return f"{self._parent!r}.WithCancel"


class _timerCtx(_cancelCtx):
    """Go: timerCtx -- a cancelCtx with a deadline and the timer that enforces it."""

    __slots__ = ("_deadline", "_timer", "_dlcause")

    def __init__(self, parent: Context, d: float, dlcause: BaseException | None) -> None:
        super().__init__(parent, d)
        self._deadline = d
        self._timer: timer | None = None
        self._dlcause = dlcause  # with_deadline_cause's cause, for the expiry

    def deadline(self) -> tuple[float | None, bool]:
        return self._deadline, True

    def _cancel(self, remove_from_parent: bool, err: BaseException,
                cause: BaseException | None) -> bool:
        if not _cancelCtx._cancel(self, False, err, cause):
            return False
        if remove_from_parent:
            # Remove this timerCtx from its parent's children (Go does it
            # here, not in cancelCtx.cancel, for the same reason: the
            # parent of the embedded cancelCtx is this context's parent).
            _removeChild(self._parent, self)
        if _mn:
            with self._mu or _mkmu(self):
                t = self._timer
                self._timer = None
        else:
            t = self._timer
            self._timer = None
        if t is not None:
            deltimer(t)  # no timer left behind after cancel (outside _mu)
        return True

    def __repr__(self) -> str:
        left = self._deadline - _now()
        return f"{self._parent!r}.WithDeadline({self._deadline:.6f} [{left:.6f}s])"


class _valueCtx(Context):
    """Go: valueCtx -- one key/value pair on top of a parent."""

    __slots__ = ("_parent", "_key", "_val")

    def __init__(self, parent: Context, key: Any, val: Any) -> None:
        self._parent = parent
        self._key = key
        self._val = val

    def deadline(self) -> tuple[float | None, bool]:
        return self._parent.deadline()

    def done(self) -> Chan | None:
        return self._parent.done()

    def err(self) -> BaseException | None:
        return self._parent.err()

    def value(self, key: Any) -> Any:
        return _value(self, key)

    def __repr__(self) -> str:
        return f"{self._parent!r}.WithValue({self._key!r}, {self._val!r})"


def _value(c: Context, key: Any) -> Any:
    """Walk up the chain without recursion (Go: context.value)."""
    while True:
        tp = type(c)
        if tp is _valueCtx:
            k = c._key  # type: ignore[attr-defined]
            if k is key or k == key:
                return c._val  # type: ignore[attr-defined]
            c = c._parent  # type: ignore[attr-defined]
        elif tp is _cancelCtx or tp is _timerCtx:
            if key is _cancelCtxKey:
                return c
            c = c._parent  # type: ignore[attr-defined]
        elif tp is _afterFuncCtx:
            if key is _cancelCtxKey:
                return c
            c = c._parent  # type: ignore[attr-defined]
        elif tp is _withoutCancelCtx:
            if key is _cancelCtxKey:
                return None  # Go: a withoutCancelCtx hides the cancelCtx above it
            c = c._parent  # type: ignore[attr-defined]
        elif tp is _emptyCtx:
            return None
        else:
            return c.value(key)


def _parentCancelCtx(parent: Context) -> _cancelCtx | None:
    """The nearest cancelCtx that parent's done() belongs to, or None
    (Go: parentCancelCtx).  A custom Context that wraps a cancelCtx but has
    its own done channel does not count."""
    done = parent.done()
    if done is None or done is nilchan or done is _closedchan:
        return None
    p = _value(parent, _cancelCtxKey)
    if not isinstance(p, _cancelCtx) or p._done is not done:
        return None
    return p


def _removeChild(parent: Context, child: _cancelCtx) -> None:
    p = _parentCancelCtx(parent)
    if p is None:
        return
    if _mn:
        with p._mu or _mkmu(p):
            if p._children is not None:
                p._children.pop(child, None)
    elif p._children is not None:
        p._children.pop(child, None)


def _propagateCancel(parent: Context, child: _cancelCtx) -> None:
    """Arrange for child to be canceled when parent is (Go: propagateCancel)."""
    done = parent.done()
    if done is None or done is nilchan:
        return  # parent is never canceled
    err = parent.err()
    if err is not None:
        child._cancel(False, err, cause(parent))  # parent is already canceled
        return
    p = _parentCancelCtx(parent)
    if p is not None:
        if _mn:
            with p._mu or _mkmu(p):  # lock order: parent -> child
                _adopt(p, child)
        else:
            _adopt(p, child)
        return
    # A Context gort does not know: watch it from a goroutine, as Go does.
    # The goroutine ends when either side is done.
    cdone = child.done()

    def watch() -> None:
        i, _, _ = select(recv(done), recv(cdone))
        if i == 0:
            child._cancel(False, parent.err() or Canceled, cause(parent))

    newproc(watch, (), None)


def _adopt(p: _cancelCtx, child: _cancelCtx) -> None:
    """Make child one of p's children, or cancel it if p already is
    (under M:N the caller holds p._mu)."""
    if p._err is not None:
        child._cancel(False, p._err, p._cause)
    else:
        ch = p._children
        if ch is None:
            ch = p._children = {}
        ch[child] = None


def _checkparent(parent: Any, what: str) -> None:
    if not isinstance(parent, Context):
        if parent is None:
            raise TypeError(f"gort.context.{what}: cannot create context from nil parent")
        raise TypeError(f"gort.context.{what}: parent must be a Context, "
                        f"not {type(parent).__name__}")


def _cancelfunc(c: _cancelCtx) -> CancelFunc:
    def cancel() -> None:  # returns None, as Go's CancelFunc returns nothing
        c._cancel(True, Canceled, None)
    return cancel


def _inherited(parent: Context) -> float | None:
    """The deadline a new cancelCtx inherits, for its clock check."""
    if type(parent) is _emptyCtx:
        return None
    d, ok = parent.deadline()
    if not ok or type(d) is not float and type(d) is not int:
        return None  # a custom Context's odd deadline: leave it to its done()
    return d


def with_cancel(parent: Context) -> tuple[Context, CancelFunc]:
    """A child of parent whose done() closes when cancel() is called or
    parent is canceled, whichever first (Go: context.WithCancel).

    Call cancel when the work is done: it releases the child's place in
    its parent.  cancel() is idempotent.
    """
    _checkparent(parent, "with_cancel")
    c = _cancelCtx(parent, _inherited(parent))
    _propagateCancel(parent, c)
    return c, _cancelfunc(c)


def with_cancel_cause(parent: Context) -> tuple[Context, CancelCauseFunc]:
    """with_cancel, but cancel takes a cause (Go 1.20: context.WithCancelCause).

    ``cancel(cause)`` cancels the context with err() Canceled and records
    cause (None: Canceled itself); ``cause(ctx)`` returns it, for ctx and
    for every context derived from it.
    """
    _checkparent(parent, "with_cancel_cause")
    c = _cancelCtx(parent, _inherited(parent))
    _propagateCancel(parent, c)

    def cancel(cause: BaseException | None = None) -> None:
        if cause is not None and not isinstance(cause, BaseException):
            raise TypeError("gort.context.with_cancel_cause: the cause must be an exception "
                            f"or None, not {type(cause).__name__}")
        c._cancel(True, Canceled, cause)
    return c, cancel


def cause(c: Context) -> BaseException | None:
    """Why c was canceled (Go 1.20: context.Cause): the cause given to a
    with_cancel_cause cancel function or to with_deadline_cause /
    with_timeout_cause, inherited by derived contexts; c.err() if there is
    none; None while c is not canceled."""
    cc = _value(c, _cancelCtxKey)
    if isinstance(cc, _cancelCtx):
        cc.err()  # the clock check; and under M:N, waits for a cancel in flight
        if _mn:
            with cc._mu or _mkmu(cc):
                return cc._cause
        return cc._cause
    # Not below any cancelCtx: no specific cause, though a custom Context
    # may still have an error.
    return c.err()


def _fireTimerCtx(c: _timerCtx, seq: int) -> None:
    # Runs on timerproc (must not block: cancel only closes channels).
    if not _mn:
        c._timer = None  # fired: nothing for cancel to delete
    # (Under M:N cancel takes _timer under _mu; deltimer of a fired timer
    # is a no-op.)
    c._cancel(True, DeadlineExceeded, c._dlcause)


def with_deadline(parent: Context, d: float) -> tuple[Context, CancelFunc]:
    """A child of parent canceled at time d (on gort.time.now()'s clock) with
    DeadlineExceeded, or earlier by cancel() or the parent (Go:
    context.WithDeadline).  If the parent's deadline is already earlier,
    the child simply shares it: a child's deadline is never later than its
    parent's.  d may be a ``datetime`` (converted with gort.time.from_datetime)."""
    return _withDeadline(parent, d, None, "with_deadline")


def with_deadline_cause(parent: Context, d: float,
                        cause: BaseException | None) -> tuple[Context, CancelFunc]:
    """with_deadline, and cause(ctx) is ``cause`` once the deadline passes
    (Go 1.21: context.WithDeadlineCause).  The cancel function returned
    does not set the cause."""
    return _withDeadline(parent, d, cause, "with_deadline_cause")


def _withDeadline(parent: Context, d: Any, dlcause: BaseException | None,
                  what: str, relative: bool = False) -> tuple[Context, CancelFunc]:
    _checkparent(parent, what)
    if dlcause is not None and not isinstance(dlcause, BaseException):
        raise TypeError(f"gort.context.{what}: the cause must be an exception or None, "
                        f"not {type(dlcause).__name__}")
    if type(d) is not float and type(d) is not int:
        if isinstance(d, _datetime):
            d = _from_datetime(d)
        elif isinstance(d, bool) or not isinstance(d, numbers.Real):
            raise TypeError(f"gort.context.{what}: the deadline must be a time on "
                            "gort.time.now()'s clock (a number) or a datetime, not "
                            f"{type(d).__name__}")
        else:
            try:
                d = float(d)
            except OverflowError:
                d = float("inf") if d > 0 else float("-inf")
    if d != d:
        raise ValueError(f"gort.context.{what}: deadline is NaN")
    if d > MAXWHEN:
        d = MAXWHEN  # clamp (Go saturates a huge deadline too); never overflow
    elif not relative and d - _now() > _WALLCLOCK_GUARD:
        err = _wallclock_mistake(d, f"gort.context.{what}")
        if err is not None:
            raise err
    cur, ok = parent.deadline()
    if ok and cur < d:  # type: ignore[operator]
        return with_cancel(parent)
    c = _timerCtx(parent, d, dlcause)
    _propagateCancel(parent, c)
    cancel = _cancelfunc(c)
    if d - _now() <= 0:
        c._cancel(True, DeadlineExceeded, dlcause)  # deadline already passed
        return c, cancel
    if _mn:
        _armTimerCtx(c, d)
    elif c._err is None:
        t = c._timer = _newtimer(d, _fireTimerCtx, c)
        addtimer(t)
    return c, cancel


def _armTimerCtx(c: _timerCtx, d: float) -> None:
    """with_deadline's timer under M:N: Go adds it holding c.mu; gort adds it
    outside (see the module docstring), so a cancel on another M can come
    between -- it then takes the timer and deletes it before it is added.
    Look again after adding, and delete it ourselves if so (a second
    deltimer is a no-op)."""
    t = _newtimer(d, _fireTimerCtx, c)
    mu = c._mu or _mkmu(c)
    with mu:
        if c._err is not None:
            return
        c._timer = t
    addtimer(t)
    with mu:
        canceled = c._err is not None
    if canceled:
        deltimer(t)


def with_timeout(parent: Context, timeout: float) -> tuple[Context, CancelFunc]:
    """with_deadline(parent, now() + timeout) (Go: context.WithTimeout)."""
    return _withTimeout(parent, timeout, None, "with_timeout")


def with_timeout_cause(parent: Context, timeout: float,
                       cause: BaseException | None) -> tuple[Context, CancelFunc]:
    """with_deadline_cause(parent, now() + timeout, cause) (Go 1.21:
    context.WithTimeoutCause)."""
    return _withTimeout(parent, timeout, cause, "with_timeout_cause")


def _withTimeout(parent: Context, timeout: Any, dlcause: BaseException | None,
                 what: str) -> tuple[Context, CancelFunc]:
    _checkparent(parent, what)
    if type(timeout) is not float and type(timeout) is not int:
        timeout = _dur(timeout, what)
    elif timeout != timeout:
        raise ValueError(f"gort.context.{what}: timeout is NaN")
    return _withDeadline(parent, _now() + timeout if timeout < MAXWHEN else MAXWHEN,
                         dlcause, what, True)


def with_value(parent: Context, key: Any, val: Any) -> Context:
    """A child of parent in which value(key) is val (Go: context.WithValue).

    Keys compare with ``==``; use a private object or class of your own as
    the key so that packages cannot collide.  A None key is refused, as Go
    refuses a nil key.
    """
    _checkparent(parent, "with_value")
    if key is None:
        raise TypeError("gort.context.with_value: nil key")
    return _valueCtx(parent, key, val)


class _withoutCancelCtx(Context):
    """Go 1.21: withoutCancelCtx -- the parent's values, never canceled."""

    __slots__ = ("_parent",)

    def __init__(self, parent: Context) -> None:
        self._parent = parent

    def value(self, key: Any) -> Any:
        return _value(self, key)

    def __repr__(self) -> str:
        return f"{self._parent!r}.WithoutCancel"


def without_cancel(parent: Context) -> Context:
    """A child of parent that keeps its values but is never canceled: no
    deadline, done() is gort.nilchan, err() None, cause() None (Go 1.21:
    context.WithoutCancel).  For work that must outlive the request that
    started it."""
    _checkparent(parent, "without_cancel")
    return _withoutCancelCtx(parent)


class _afterFuncCtx(_cancelCtx):
    """Go 1.21: afterFuncCtx -- a cancelCtx child of ctx whose cancel starts
    f in a goroutine, once (``_fstate``: 0 armed, 1 taken; Go: a sync.Once)."""

    __slots__ = ("_f", "_fstate")

    def __init__(self, parent: Context, f: Callable[[], Any]) -> None:
        super().__init__(parent, _inherited(parent))
        self._f = f
        self._fstate = 0

    def _take(self) -> bool:
        """Go: a.once.Do -- True for the one caller that gets there first."""
        if _mn:
            with self._mu or _mkmu(self):
                won = self._fstate == 0
                self._fstate = 1
            return won
        won = self._fstate == 0
        self._fstate = 1
        return won

    def _cancel(self, remove_from_parent: bool, err: BaseException,
                cause: BaseException | None) -> bool:
        if not _cancelCtx._cancel(self, False, err, cause):
            return False
        if remove_from_parent:
            _removeChild(self._parent, self)
        if self._take():
            f = self._f
            self._f = None
            newproc(f, (), None)  # Go: go a.f()
        return True

    def __repr__(self) -> str:
        return f"{self._parent!r}.AfterFunc"


def after_func(ctx: Context, f: Callable[[], Any]) -> Callable[[], bool]:
    """Run f in its own goroutine once ctx is done (Go 1.21: context.AfterFunc).

    If ctx is already done, f starts at once.  Returns ``stop``: stop()
    keeps f from running and returns True if it had not started; False if
    f has started or stop was already called.  stop does not wait for f.
    """
    _checkparent(ctx, "after_func")
    if not callable(f):
        raise TypeError(f"gort.context.after_func: f must be callable, not {type(f).__name__}")
    a = _afterFuncCtx(ctx, f)
    _propagateCancel(ctx, a)

    def stop() -> bool:
        if not a._take():
            return False
        a._f = None
        a._cancel(True, Canceled, None)
        return True
    return stop
