"""gort's pytest plugin: tests that run as goroutines, and goroutine leak checks.

Installed with gort (entry point ``pytest11``), so nothing needs importing::

    @pytest.mark.gort                         # the test is gort.run's main goroutine
    def test_echo():
        ...

    @pytest.mark.gort(gomaxprocs=4, timeout=5, leakcheck=True)
    def test_pool():
        ...

    def test_lazy(gort_leakcheck):            # lazily started runtime, checked at the end
        gort.go(...)

    @pytest.mark.synctest                     # the same, inside a synctest bubble
    def test_retry_backoff():
        gort.time.sleep(3600)                 # fake clock: instant

Options of ``@pytest.mark.gort`` (and ``@pytest.mark.synctest``):

* ``gomaxprocs=n``: run with n Ps (default: GORTMAXPROCS, else gort's default).
* ``timeout=s``: fail the test when it has not finished after s seconds,
  with a goroutine dump.  As with ``go test -timeout``, the timer counts as
  pending work, so a deadlocked test fails at the timeout rather than with
  ``gort.Deadlock`` at once (Go's checkdead does not report a deadlock while
  a timer is pending either).
* ``leakcheck=True`` (or ``--gort-leakcheck`` for every marked test): after
  the test returns, wait up to 1 s for the goroutines it started to end, then
  fail with the dump of those left, each marked "blocked forever" where
  gort.debug.leaked_goroutines() finds it unreachable (Uber's goleak does the
  first half; Go 1.27's goroutineleak profile the second).

``@pytest.mark.synctest`` runs the test function through
``gort.synctest.test`` on gort.run's main goroutine: its goroutines, timers
and channels are in a bubble with a fake clock; ``timeout=`` stays real time.

Go's counterparts: ``testing`` runs each test in its own goroutine; goleak's
``VerifyNone``; the goroutineleak profile; ``synctest.Test(t, f)``.
"""

from __future__ import annotations

import time as _walltime
from collections.abc import Callable
from typing import Any

import pytest

LEAK_WAIT = 1.0  # seconds a leak check waits for goroutines to finish


class GoroutineLeakError(AssertionError):
    """A test left goroutines behind."""


class GortTestTimeout(AssertionError):
    """A @pytest.mark.gort(timeout=...) test ran out of time."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--gort-leakcheck", action="store_true", default=False,
                     help="gort: fail every @pytest.mark.gort test that leaves goroutines behind")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "gort(gomaxprocs=None, timeout=None, leakcheck=False): run the test as the main "
        "goroutine of gort.run")
    config.addinivalue_line(
        "markers",
        "synctest(gomaxprocs=None, timeout=None, leakcheck=False): run the test in a "
        "gort.synctest bubble (fake clock) on gort.run's main goroutine")


def _options(marker: pytest.Mark, config: pytest.Config) -> dict[str, Any]:
    name = f"@pytest.mark.{marker.name}"
    if marker.args:
        raise TypeError(f"{name} takes keyword options only (gomaxprocs=, timeout=, leakcheck=)")
    opts = dict(marker.kwargs)
    unknown = set(opts) - {"gomaxprocs", "timeout", "leakcheck"}
    if unknown:
        raise TypeError(f"{name}: unknown option(s) {sorted(unknown)}")
    n = opts.get("gomaxprocs")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
        raise ValueError(f"{name}: gomaxprocs must be an int >= 1, not {n!r}")
    t = opts.get("timeout")
    if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or not t > 0):
        raise ValueError(f"{name}: timeout must be a number of seconds > 0, not {t!r}")
    if config.getoption("--gort-leakcheck", default=False):
        opts.setdefault("leakcheck", True)
    return opts


def check_goroutines(wait: float = LEAK_WAIT) -> None:
    """Fail (GoroutineLeakError, with their dump) if goroutines other than
    the caller are still alive after waiting up to ``wait`` seconds for them
    to end.  Call it from the main goroutine (or the lazy runtime's)."""
    import gort
    import gort.debug
    import gort.time
    from gort.sched import proc
    from gort.sched.traceback import goroutine_stack

    if proc.sched.m0 is None:
        return
    me = proc.getg()
    deadline = _walltime.monotonic() + wait
    while gort.num_goroutine() > 1 and _walltime.monotonic() < deadline:
        gort.time.sleep(0.005)
    others = sorted((g for g in list(proc.sched.allgs) if not g.system and g is not me),
                    key=lambda g: g.goid)
    if not others:
        return
    forever = {lk.goid for lk in gort.debug.leaked_goroutines()}
    parts = []
    for g in others:
        text = goroutine_stack(g)
        if g.goid in forever:
            head, _, rest = text.partition("\n")
            text = f"{head}  <- blocked forever (leaked)\n{rest}"
        parts.append(text)
    raise GoroutineLeakError(
        f"{len(others)} goroutine(s) left running after the test "
        f"({len(forever)} blocked forever):\n\n" + "\n\n".join(parts))


def run_test(fn: Callable[..., Any], kwargs: dict[str, Any], *, gomaxprocs: int | None = None,
             timeout: float | None = None, leakcheck: bool = False,
             bubble: bool = False) -> Any:
    """Run fn(**kwargs) as gort.run's main goroutine with the marker's
    options (``bubble``: inside gort.synctest.test)."""
    import gort
    import gort.synctest
    import gort.time
    from gort.sched.traceback import goroutine_dump

    def expire() -> None:
        raise GortTestTimeout(f"test timed out after {timeout} s\n\n{goroutine_dump()}")

    def main() -> Any:
        t = gort.time.after_func(timeout, expire) if timeout else None
        try:
            if bubble:
                result = gort.synctest.test(fn, **kwargs)
            else:
                result = fn(**kwargs)
        finally:
            if t is not None:
                t.stop()
        if leakcheck:
            check_goroutines()
        return result

    if gomaxprocs is not None:
        gort.gomaxprocs(gomaxprocs)  # before the run starts: sets that run's
    return gort.run(main)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    marker = pyfuncitem.get_closest_marker("synctest")
    bubble = marker is not None
    if marker is None:
        marker = pyfuncitem.get_closest_marker("gort")
        if marker is None:
            return None
    opts = _options(marker, pyfuncitem.config)
    opts["bubble"] = bubble
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}
    run_test(pyfuncitem.obj, kwargs, **opts)
    return True


@pytest.fixture
def gort_leakcheck() -> Any:
    """Fail the test if goroutines it started (in a lazily started runtime)
    are still alive when it ends, with their dump."""
    yield
    check_goroutines()
