"""gort.signal: incoming signals on channels (Go: os/signal).

``notify(ch, *sigs)`` relays the signals to ``ch`` as ``signal.Signals``
values; ``stop(ch)`` ends that; ``ignore(*sigs)``, ``reset(*sigs)``,
``ignored(sig)``; ``notify_context(parent, *sigs) -> (ctx, stop)``.

How it works (Go: os/signal/signal.go + the runtime's sigsend/signal_recv)
-------------------------------------------------------------------------
Go's signal handler only queues the signal and wakes ``signal_recv``; a
goroutine (os/signal's ``loop``) hands it to every watching channel with a
non-blocking send, dropping it for a channel that is full.  gort does the
same: the Python handler (``_handler``) appends the number to ``_pending``
and calls ``proc.sigpoke`` (a flag and a netpollBreak: lock-free, because it
runs between any two bytecodes of the main thread, maybe inside runtime
code).  The next M at a safe point calls ``_kick``, which readies the
delivery goroutine ``_loop``; it sends with ``chansend(c, sig, False)``.
While anything is watched, ``_loop`` counts as a goroutine in a blocking
call (``sched.nsyscall``), as Go's signal_recv sleeps in notetsleepg: a
program waiting only for a signal is not a deadlock.

Where gort differs, and why
---------------------------
* CPython installs signal handlers only from the main thread.  ``notify``,
  ``stop``, ``ignore``, ``reset`` and ``notify_context`` must therefore run
  on the main thread: in the main goroutine of ``gort.run`` (it always runs
  on M0, the thread that called run) or in a lazily started runtime's
  script, or in any goroutine at GOMAXPROCS 1 when run() was called from the
  main thread.  Elsewhere they raise RuntimeError saying so.
* The previous Python handler of a signal is saved when gort.signal first
  takes it over, and put back when the last watcher stops (``stop``,
  ``reset``) and when the run ends: gort leaves the process as it found it.
  Go restores the default action instead (it has no previous handler).
* A watched channel that has been closed is skipped (Go would panic in its
  signal loop, ending the program).
* Signals are coalesced only while undelivered to ``_loop`` (as Go's
  per-signal mask bits are); a channel that is full drops the signal.
"""

from __future__ import annotations

import signal as _signal
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from . import context as _context
from . import netpoll as _netpoll  # noqa: F401 - the poller: signals wake it
from .hchan import Chan, ClosedChannelError, chansend
from .sched import proc as _proc
from .sched.proc import add_teardown_hook, getg, gopark, goready, newproc, sched

__all__ = ["ignore", "ignored", "notify", "notify_context", "reset", "stop"]

_lock = threading.Lock()  # the tables below; never taken in the signal handler
_watch: dict[int, dict[Chan, None]] = {}  # signal -> the channels watching it (ordered)
_chans: dict[Chan, set[int]] = {}  # channel -> its signals
_orig: dict[int, Any] = {}  # signal -> the handler before gort.signal took it
_ignored: set[int] = set()
_pending: deque[int] = deque()  # appended by the handler, drained by _loop
_parked: Any = None  # _loop's G while it waits for signals
_loopg: Any = None
_syscall = False  # _loop counted in sched.nsyscall


def _handler(signum: int, frame: Any) -> None:
    """The Python-level handler of every watched signal (Go: sighandler ->
    sigsend).  Main thread, between any two bytecodes: append and poke."""
    _pending.append(signum)
    _proc.sigpoke(frame)


def _kick() -> None:
    """At a safe point (proc._sigsafepoint): ready _loop if it waits."""
    global _parked
    with _lock:
        gp, _parked = _parked, None
    if gp is not None:
        goready(gp)


def _commit(gp: Any, _: Any) -> bool:
    global _parked
    with _lock:
        _parked = gp
        if _pending:  # arrived since _loop looked: do not sleep
            _parked = None
            return False
    return True


def _loop() -> None:
    """The delivery goroutine (Go: os/signal.loop + process)."""
    while True:
        while _pending:
            sig = _pending.popleft()
            with _lock:
                chans = list(_watch.get(sig, ()))
            try:
                value: Any = _signal.Signals(sig)
            except ValueError:
                value = sig
            for c in chans:
                try:
                    chansend(c, value, False)  # Go: select { case c <- sig: default: }
                except ClosedChannelError:
                    pass
        gopark(_commit, None, "signal wait")


def _sigs(what: str, sigs: tuple) -> list[int]:
    out = []
    for s in sigs:
        if isinstance(s, bool) or not isinstance(s, int):
            raise TypeError(f"gort.signal.{what}: a signal must be an int or signal.Signals, "
                            f"not {type(s).__name__}")
        if s not in _signal.valid_signals():
            raise ValueError(f"gort.signal.{what}: {s} is not a valid signal number")
        if s in (_signal.SIGKILL, _signal.SIGSTOP):
            raise ValueError(f"gort.signal.{what}: {_signal.Signals(s).name} cannot be caught "
                             "or ignored")
        out.append(int(s))
    if not sigs:
        # Go: no signals means all of them -- here the catchable ones that
        # are not synchronous faults (a Python handler for SIGSEGV would run
        # too late to mean anything).
        skip = {_signal.SIGKILL, _signal.SIGSTOP, _signal.SIGSEGV, _signal.SIGBUS,
                _signal.SIGFPE, _signal.SIGILL}
        out = [int(s) for s in _signal.valid_signals() if s not in skip]
    return out


def _mainthread(what: str) -> None:
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError(
            f"gort.signal.{what}: Python installs signal handlers only on the main thread, "
            f"and this goroutine runs on {threading.current_thread().name!r}; call it from the "
            "main goroutine of gort.run (it runs on the thread that called run) or from a "
            "lazily started runtime's script")


def _take(sig: int, handler: Any) -> None:
    """Install handler for sig, remembering the original (lock held)."""
    if sig not in _orig:
        _orig[sig] = _signal.getsignal(sig)
    try:
        _signal.signal(sig, handler)
    except (OSError, ValueError, RuntimeError):
        if handler is _handler:
            return  # an uncatchable signal in an all-signals notify: skip it, as Go does
        raise


def _give_back(sig: int) -> None:
    """Restore the original handler of sig (lock held)."""
    prev = _orig.pop(sig, None)
    if prev is not None:
        try:
            _signal.signal(sig, prev)
        except (OSError, ValueError, RuntimeError):
            pass


def _setsyscall() -> None:
    """Keep sched.nsyscall counting _loop while a signal is watched (lock held)."""
    global _syscall
    want = bool(_watch)
    if want != _syscall:
        _syscall = want
        with sched.lock:
            sched.nsyscall += 1 if want else -1


def _checkchan(what: str, ch: Any) -> None:
    if not isinstance(ch, Chan):
        raise TypeError(f"gort.signal.{what}: ch must be a gort.Chan, not {type(ch).__name__}")


def notify(ch: Chan, *sigs: int) -> None:
    """Relay the signals to ch (Go: signal.Notify): each arrival is sent
    without blocking, and dropped if ch is full, so give ch a buffer.  No
    signals: all catchable signals.  Several channels may watch one signal,
    each gets it; notifying ch again adds signals.  Main thread only (the
    module docstring says why and where that is)."""
    global _loopg
    _checkchan("notify", ch)
    nums = _sigs("notify", sigs)
    _mainthread("notify")
    getg()  # starts a lazy runtime: the loop goroutine needs one
    with _lock:
        if _loopg is None:
            _loopg = newproc(_loop, (), None, system=True)
        if _proc._sighook is None:
            _proc._sighook = _kick
        mine = _chans.setdefault(ch, set())
        for sig in nums:
            _ignored.discard(sig)
            w = _watch.get(sig)
            if w is None:
                _take(sig, _handler)
                w = _watch[sig] = {}
            w[ch] = None
            mine.add(sig)
        _setsyscall()


def _unwatch(sig: int, ch: Chan) -> None:
    """Drop ch from sig's watchers; the last one gives the handler back."""
    w = _watch.get(sig)
    if w is None:
        return
    w.pop(ch, None)
    if not w:
        del _watch[sig]
        _give_back(sig)


def stop(ch: Chan) -> None:
    """Stop relaying signals to ch (Go: signal.Stop).  A signal nobody
    watches any more gets its previous handler back.  When stop returns, ch
    receives no more signals."""
    _checkchan("stop", ch)
    with _lock:
        if ch not in _chans:
            return
    _mainthread("stop")
    with _lock:
        for sig in _chans.pop(ch, ()):
            _unwatch(sig, ch)
        _setsyscall()


def _cancel(what: str, sigs: tuple, handler: Any) -> None:
    nums = _sigs(what, sigs)
    _mainthread(what)
    with _lock:
        for sig in nums:
            w = _watch.pop(sig, None)
            for ch in w or ():
                s = _chans.get(ch)
                if s is not None:
                    s.discard(sig)
                    if not s:
                        del _chans[ch]
            if handler is None:
                _ignored.discard(sig)
                if w is not None or sig in _orig:
                    _give_back(sig)
            else:
                _ignored.add(sig)
                _take(sig, handler)
        _setsyscall()


def ignore(*sigs: int) -> None:
    """Ignore the signals (Go: signal.Ignore): SIG_IGN, and every notify
    for them is cancelled.  No signals: all.  ``reset`` undoes it."""
    _cancel("ignore", sigs, _signal.SIG_IGN)


def ignored(sig: int) -> bool:
    """Whether sig is currently ignored through gort.signal.ignore (Go:
    signal.Ignored)."""
    with _lock:
        return int(sig) in _ignored


def reset(*sigs: int) -> None:
    """Undo notify and ignore for the signals (Go: signal.Reset): their
    previous handlers are put back.  No signals: all."""
    if not sigs:
        with _lock:
            sigs = tuple(set(_watch) | _ignored | set(_orig))
        if not sigs:
            return
    _cancel("reset", sigs, None)


def notify_context(parent: _context.Context, *sigs: int
                   ) -> tuple[_context.Context, Callable[[], None]]:
    """A copy of parent that is cancelled when one of the signals arrives,
    when stop is called, or when parent is done, whichever is first (Go:
    signal.NotifyContext).  ``stop()`` stops the relay and releases the
    context's resources; after that the signals act as before."""
    ctx, cancel = _context.with_cancel(parent)
    ch: Chan = Chan(1)
    notify(ch, *sigs)
    done = ctx.done()

    def watch() -> None:
        from .selectgo import recv, select
        select(recv(ch), recv(done))
        cancel()

    def stopfn() -> None:
        stop(ch)
        cancel()

    if ctx.err() is None:
        from . import go
        go(watch)
    return ctx, stopfn


def _teardown() -> None:
    """The run ended: its channels and _loop are gone; give every handler back."""
    global _loopg, _parked, _syscall
    with _lock:
        _watch.clear()
        _chans.clear()
        _ignored.clear()
        _pending.clear()
        _loopg = _parked = None
        _syscall = False
        if _proc._sighook is _kick:
            _proc._sighook = None
        if threading.current_thread() is threading.main_thread():
            for sig in list(_orig):
                _give_back(sig)
        else:
            _orig.clear()


add_teardown_hook(_teardown)
