"""The suite's own harness: testutil.wait_until, testutil.mn_mode and the
one_m marker (tests/conftest.py, docs/testing.md)."""

import os
import threading

import pytest
from testutil import in_goroutine, mn_mode, wait_until

import gort
from gort.sched import proc

# --------------------------------------------------------------------------
# The one_m marker


@pytest.mark.one_m
def test_one_m_runs_with_one_m_whatever_the_pass():
    assert os.environ["GORTMAXPROCS"] == "1"
    assert gort.run(lambda: (gort.gomaxprocs(), mn_mode())) == (1, False)


@pytest.mark.one_m
def test_one_m_lets_the_test_grow_the_run():
    def main():
        before = (gort.gomaxprocs(), mn_mode())
        gort.gomaxprocs(2)
        return before, (gort.gomaxprocs(), mn_mode())

    assert gort.run(main) == ((1, False), (2, True))


def test_one_m_is_registered(request):
    # --strict-markers fails a run that uses an unregistered marker.
    assert any(m.startswith("one_m:") for m in request.config.getini("markers"))


def test_unmarked_test_keeps_the_pass_setting(monkeypatch):
    # What the marker overrides: a pass at GORTMAXPROCS 2 runs M:N.
    monkeypatch.setenv("GORTMAXPROCS", "2")
    assert gort.run(lambda: (gort.gomaxprocs(), mn_mode())) == (2, True)


# --------------------------------------------------------------------------
# wait_until


@pytest.mark.one_m
def test_wait_until_in_a_goroutine_lets_the_others_run():
    # One M: the goroutine can run only if the wait yields to it (a plain
    # sleep would hold the M until the timeout).
    def main():
        assert in_goroutine()
        done = []
        gort.go(done.append, 1)
        wait_until(lambda: done, "the goroutine to run", timeout=5)
        return done

    assert gort.run(main) == [1]


@pytest.mark.one_m
def test_wait_until_in_a_lazily_started_runtime_yields():
    done = []
    gort.go(done.append, 1)  # starts the runtime: this greenlet is its main goroutine
    assert in_goroutine()
    wait_until(lambda: done, "the goroutine to run", timeout=5)


def test_wait_until_from_a_plain_thread_sleeps():
    # No runtime: it sleeps (and does not start one), the thread sets the flag.
    assert not in_goroutine()
    flag = threading.Event()
    t = threading.Timer(0.02, flag.set)
    t.start()
    try:
        wait_until(flag.is_set, "the timer thread", timeout=5)
    finally:
        t.join(5)
    assert proc.sched.m0 is None


def test_wait_until_names_what_it_waited_for():
    with pytest.raises(AssertionError, match=r"timed out after 0\.05 s waiting for: the flag"):
        wait_until(lambda: False, "the flag", timeout=0.05)
    # Without a name, the condition's source line and place.
    with pytest.raises(AssertionError, match=r"lambda: 1 == 2.*test_harness\.py:\d+"):
        wait_until(lambda: 1 == 2, timeout=0.05)


def test_wait_until_times_out_in_a_goroutine():
    def main():
        with pytest.raises(AssertionError, match="never"):
            wait_until(lambda: False, "never", timeout=0.05)
        with pytest.raises(AssertionError, match="never"):
            wait_until(lambda: False, "never", timeout=0.05, poll=0.01)

    gort.run(main)
