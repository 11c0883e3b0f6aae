"""Shared fixtures: every test ends with no runtime left behind.

A test that starts the runtime lazily (plain gort calls outside gort.run)
gets it torn down here, so the next test starts clean; a test that leaves
goroutines behind under gort.run cannot, since run() kills them itself.
"""

import gc
import threading
from importlib.metadata import entry_points

import psutil
import pytest

from gort.sched import proc

# gort's pytest plugin comes with the installed package (entry point
# pytest11); a checkout run without installing loads it from here.
PLUGIN_INSTALLED = any(ep.value == "gort.pytest_plugin" for ep in entry_points(group="pytest11"))
pytest_plugins = ["pytester"] + ([] if PLUGIN_INSTALLED else ["gort.pytest_plugin"])


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "one_m: run the test's gort runtimes with GOMAXPROCS 1 (one M), whatever "
        "GORTMAXPROCS the pass sets; the test may still grow the run with "
        "gort.gomaxprocs(n) (docs/testing.md)")


@pytest.fixture(autouse=True)
def _one_m(request):
    """@pytest.mark.one_m: GORTMAXPROCS=1 for the test, as tests/run_all.py
    sets it for a whole pass.  Every runtime the test starts (gort.run, a
    lazy one, a subprocess that inherits the environment) starts with one P
    unless the test calls gort.gomaxprocs(n) itself."""
    if request.node.get_closest_marker("one_m") is not None:
        request.getfixturevalue("monkeypatch").setenv("GORTMAXPROCS", "1")


@pytest.fixture(autouse=True)
def _gort_clean_runtime():
    yield
    if proc.sched.m0 is not None:
        proc.teardown()
    assert proc.sched.m0 is None


def _end_lazy_runtime():
    # A lazily started runtime would otherwise end only in the autouse
    # fixture above, which pytest tears down last: end it before checking
    # threads (its Ms are threads under GORTMAXPROCS > 1) or switching the
    # poller (an M may be blocked in the old backend's poll).
    if proc.sched.m0 is not None:
        proc.teardown()


@pytest.fixture
def no_thread_leak():
    """Fail if the test leaves extra threads (other than idle pool workers
    that teardown stops)."""
    before = set(threading.enumerate())
    yield
    _end_lazy_runtime()
    import time
    deadline = time.monotonic() + 5
    while True:
        extra = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not extra or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert not extra, f"threads leaked: {extra}"


@pytest.fixture(params=("epoll", "poll"))
def each_netpoll_backend(request):
    """Run a test once per netpoll backend (switched in-process), and fail it
    if it leaks an fd or leaves a pollDesc open."""
    from gort.netpoll import netpoll as npmod
    from gort.netpoll import newbackend

    me = psutil.Process()
    gc.collect()
    fds0 = me.num_fds()
    default = npmod._backendname()
    npmod._setbackend(newbackend(request.param))
    try:
        yield request.param
    finally:
        _end_lazy_runtime()
        npmod._setbackend(newbackend(default))
    gc.collect()
    fds1 = me.num_fds()
    assert fds1 <= fds0, f"fd leak: {fds0} fds before the test, {fds1} after"
    assert not npmod.pdbyfd, f"pollDescs left open: {npmod.pdbyfd}"
