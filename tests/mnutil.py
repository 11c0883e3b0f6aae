"""Scaffolding shared by the M:N tests (tests/test_mn_*.py); not a test module.

One copy of what several of those files need: ``Book`` (thread-safe test
bookkeeping), ``fast_switching`` (the GIL's switch interval cut for a test,
optionally in the chaos mode of ``Chaos``), ``start``/``start_book`` (go M:N
from inside the run), ``spread`` (hold main's M until another M has stolen
a goroutine), and ``hold_until`` (testutil.wait_until holding the M;
``wait_until`` itself is testutil's, re-exported).  The test files import
it as ``mnutil``: pytest puts tests/ on sys.path (it has no __init__.py),
whether it runs one file or the suite.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from testutil import wait_until

import gort

# --------------------------------------------------------------------------
# Bookkeeping


class Book:
    """Thread-safe test bookkeeping: counters (and their maxima), errors, the
    OS threads (Ms) seen, overall and by tag.  The lock is never held across
    a gort call, so that the checks measure the runtime, not the test's own
    races."""

    def __init__(self) -> None:
        self.mu = threading.Lock()
        self.n: dict[str, int] = {}
        self.max: dict[str, int] = {}
        self.threads: set[int] = set()
        self.bytag: dict[str, set[int]] = {}
        self.errors: list[str] = []

    def add(self, key: str, d: int = 1) -> int:
        """Add d to counter key; returns the new value."""
        with self.mu:
            v = self.n[key] = self.n.get(key, 0) + d
            if v > self.max.get(key, 0):
                self.max[key] = v
            return v

    def get(self, key: str) -> int:
        with self.mu:
            return self.n.get(key, 0)

    def seen(self, tag: str = "") -> int:
        """Record the OS thread (the M) this goroutine runs on, under tag;
        returns its id."""
        me = threading.get_ident()
        with self.mu:
            self.threads.add(me)
            self.bytag.setdefault(tag, set()).add(me)
        return me

    def threads_of(self, *tags: str) -> set[int]:
        """The threads seen under any of tags (no tags: every thread seen)."""
        with self.mu:
            if not tags:
                return set(self.threads)
            out: set[int] = set()
            for t in tags:
                out |= self.bytag.get(t, set())
            return out

    def others(self, *tags: str) -> int:
        """How many threads other than the caller's were seen (under any of
        tags; no tags: under any tag)."""
        return len(self.threads_of(*tags) - {threading.get_ident()})

    def error(self, msg: str) -> None:
        with self.mu:
            self.errors.append(msg)


# --------------------------------------------------------------------------
# GIL switch interval and chaos mode


def _chaos_local(frame, event, arg, _sleep=time.sleep, _rand=random.random):
    if event == "line" and _rand() < 0.1:
        _sleep(2e-5)  # releases the GIL between two lines
    return _chaos_local


class Chaos:
    """Chaos mode for the modules under test: a trace function that sleeps
    20 us on one line in ten of those modules, releasing the GIL *between
    lines*, so that the other Ms run in the middle of every operation.
    ``on`` is True while a test runs in it (see ``fast_switching``); loop
    counts go through ``n``, cut down by ``cut`` then."""

    def __init__(self, *modules, cut: int) -> None:
        files = tuple(m.__file__ for m in modules)
        self.cut = cut
        self.on = False

        def tracer(frame, event, arg):  # the global trace function
            if frame.f_code.co_filename in files:
                return _chaos_local
            return None

        self.tracer = tracer

    def n(self, n: int) -> int:
        """A loop count, cut down in chaos mode (every traced line costs)."""
        return max(1, n // self.cut) if self.on else n


def is_chaos(request) -> bool:
    """Whether the test is a "...-chaos" parametrization."""
    return request.node.callspec.id.endswith("chaos")


@contextmanager
def fast_switching(interval: float, chaos: Chaos | None = None) -> Iterator[None]:
    """Cut the GIL's switch interval to interval (seconds) for the block,
    so that the Ms interleave far more often; with chaos, also run the
    block in that chaos mode (in this thread and the Ms started in it)."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(interval)
    if chaos is not None:
        chaos.on = True
        oldtrace = sys.gettrace()
        sys.settrace(chaos.tracer)
        threading.settrace(chaos.tracer)  # the Ms that gomaxprocs starts
    try:
        yield
    finally:
        sys.setswitchinterval(old)
        if chaos is not None:
            chaos.on = False
            threading.settrace(None)  # type: ignore[arg-type]
            sys.settrace(oldtrace)


# --------------------------------------------------------------------------
# Going M:N, waiting


def start(procs: int) -> None:
    """From inside the run: GOMAXPROCS procs."""
    gort.gomaxprocs(procs)
    assert gort.gomaxprocs() == procs


def start_book(procs: int) -> Book:
    """start(procs), and a new Book that has seen main's M."""
    start(procs)
    book = Book()
    book.seen()  # main's M
    return book


def hold_until(cond: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    """Hold this M, without calling into gort, until cond() (another M has
    to make it true: steal a goroutine of ours and run it)."""
    wait_until(cond, what, timeout, hold=True)  # gives up the GIL, keeps the M


def spread(book: Book, *tags: str, procs: int = 0) -> None:
    """main calls this right after starting goroutines that call
    book.seen(tag) first: it holds its M, without calling into gort (it
    only lets the GIL go), until an idle M has stolen one of them (a
    goroutine with one of tags, if given) and started it, so that
    goroutines really run on several OS threads (left alone, this M may
    start them all before another M wakes up).  With procs == 1
    there is no other M: it returns at once."""
    if procs == 1:
        return
    wait_until(lambda: book.others(*tags), "a goroutine stolen by another M", hold=True)


def wait_parked(what: str = "the other goroutines parked", timeout: float = 10.0) -> None:
    """From a goroutine, until every other (non-system) goroutine is parked:
    what one gosched after a go achieves with one M.  With several, a new
    goroutine may be running on another M, in parallel (bounded wait)."""
    from gort.sched.proc import getg, sched
    from gort.sched.runtime2 import _Gwaiting

    me = getg()
    wait_until(lambda: all(g is me or g.system or g.status == _Gwaiting
                           for g in list(sched.allgs)), what, timeout)
