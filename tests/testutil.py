"""Helpers every test file may use; not a test module.

* ``wait_until``: the suite's one bounded wait for a condition.  It works
  from a goroutine (it yields to the others) and from a plain thread (it
  sleeps), and fails with a message naming what it waited for.
* ``in_goroutine`` and ``mn_mode``: what the helpers ask the runtime, in
  one place each, so that a change in gort's internals is followed here.

The test files import it as ``testutil``: pytest puts tests/ on sys.path
(it has no __init__.py), whether it runs one file or the suite, on the GIL
build and the free-threaded one alike.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from time import monotonic

from greenlet import getcurrent

import gort
import gort.time

# The real time.sleep, taken when conftest.py imports this module (before
# any test can have patched it with gort.monkey): from a plain thread, and
# to let the GIL go without calling into gort.
_sleep = time.sleep


def in_goroutine() -> bool:
    """Whether the caller runs as a goroutine (gort.run's, a lazily started
    runtime's main greenlet, or one started with gort.go) -- as opposed to a
    plain thread, or the main thread before any runtime started."""
    return getattr(getcurrent(), "gort_g", None) is not None


def mn_mode() -> bool:
    """Whether the runtime runs in M:N mode: more than one M, channels and
    the other floors taking their locks.  False with one M (and with no
    runtime)."""
    from gort.sched.mnmode import mode
    return mode.on


def _describe(cond: Callable[[], object]) -> str:
    """The condition's source (a lambda's line), for the failure message."""
    try:
        src = inspect.getsource(cond).strip()
        where = f"{cond.__code__.co_filename.rsplit('/', 1)[-1]}:{cond.__code__.co_firstlineno}"
    except (OSError, TypeError, AttributeError):
        return repr(cond)
    return f"{src}  ({where})"


def wait_until(cond: Callable[[], object], what: str | None = None, timeout: float = 10.0,
               *, poll: float | None = None, hold: bool = False) -> None:
    """Return once cond() is true; fail (AssertionError naming ``what``, by
    default the condition's source line) if it is still false after
    ``timeout`` real seconds.  The time limit is the monotonic clock's, so
    a synctest bubble's fake clock cannot stretch it.

    Between two checks:

    * in a goroutine: ``gort.gosched()`` (no timer involved), or with
      ``poll``, ``gort.time.sleep(poll)`` (this M is free meanwhile).  In
      M:N mode it also lets the GIL go, since the goroutines it waits for
      may run on other Ms (a gosched with nothing else queued on this M
      returns at once);
    * with ``hold``: hold this M, without calling into gort, only letting
      the GIL go (another M has to make cond true: steal a goroutine of
      ours and run it);
    * in a plain thread (or before any runtime started): ``time.sleep(poll)``
      (1 ms by default), the real one.
    """
    if cond():
        return
    if hold:
        def pause() -> None:
            _sleep(0)
    elif in_goroutine():
        if poll is None:
            def pause() -> None:
                gort.gosched()
                if mn_mode():
                    _sleep(0)
        else:
            def pause() -> None:
                gort.time.sleep(poll)
    else:
        step = 0.001 if poll is None else poll

        def pause() -> None:
            _sleep(step)
    end = monotonic() + timeout
    while not cond():
        if monotonic() > end:
            raise AssertionError(f"timed out after {timeout} s waiting for: "
                                 f"{what if what is not None else _describe(cond)}")
        pause()
