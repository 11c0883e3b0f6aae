"""gort's pytest plugin: @pytest.mark.gort, its options, and the leak checks.

The marker runs a test as gort.run's main goroutine; each case here runs a
small test file in a pytest subprocess (pytester) and reads its outcome.
"""

from __future__ import annotations

import os

import pytest
from conftest import PLUGIN_INSTALLED

import gort
import gort.time
from gort.sched import proc

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(pytester: pytest.Pytester, src: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_inner=src)
    extra = [] if PLUGIN_INSTALLED else ["-p", "gort.pytest_plugin"]
    path = os.pathsep.join(p for p in (_ROOT, os.environ.get("PYTHONPATH", "")) if p)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", path)
        return pytester.runpytest_subprocess(*extra, "-p", "no:cacheprovider", *args,
                                             timeout=120)


# -- the marker in this process ---------------------------------------------------------


@pytest.mark.gort
def test_marked_test_is_the_main_goroutine():
    me = proc.getg()
    assert me.ismain
    ch = gort.chan()
    gort.go(ch.send, 42)
    assert ch.recv() == 42


@pytest.mark.gort(gomaxprocs=2)
def test_marker_sets_gomaxprocs():
    assert gort.gomaxprocs() == 2


@pytest.fixture
def value():
    return 7


@pytest.mark.gort(leakcheck=True)
def test_marked_test_gets_its_fixtures(value):
    done = gort.chan()
    gort.go(lambda: done.send(value))
    assert done.recv() == 7


def test_leakcheck_fixture_passes_when_goroutines_end(gort_leakcheck):
    ch = gort.chan()
    gort.go(ch.send, 1)
    assert ch.recv() == 1


# -- outcomes, through a pytest subprocess ---------------------------------------------


def test_leakcheck_fails_a_leaking_test_with_the_dump(pytester):
    r = _run(pytester, """
        import pytest, gort

        @pytest.mark.gort(leakcheck=True)
        def test_leaky():
            ch = gort.chan()
            gort.go(ch.send, 1)     # nobody receives: blocked forever

        @pytest.mark.gort(leakcheck=True)
        def test_clean():
            ch = gort.chan()
            gort.go(ch.send, 1)
            ch.recv()
    """)
    r.assert_outcomes(passed=1, failed=1)
    out = r.stdout.str()
    assert "GoroutineLeakError" in out
    assert "1 goroutine(s) left running after the test (1 blocked forever)" in out
    assert "[chan send]:  <- blocked forever (leaked)" in out
    assert "created by test_leaky in goroutine 1" in out


def test_leakcheck_waits_for_goroutines_that_are_finishing(pytester):
    r = _run(pytester, """
        import pytest, gort, gort.time

        @pytest.mark.gort(leakcheck=True)
        def test_finishing():
            gort.go(gort.time.sleep, 0.1)   # ends within the check's 1 s
    """)
    r.assert_outcomes(passed=1)


def test_leakcheck_reports_a_live_goroutine_without_calling_it_leaked(pytester):
    r = _run(pytester, """
        import pytest, gort, gort.time

        @pytest.mark.gort(leakcheck=True)
        def test_sleeper():
            gort.go(gort.time.sleep, 30)
    """)
    r.assert_outcomes(failed=1)
    out = r.stdout.str()
    assert "1 goroutine(s) left running after the test (0 blocked forever)" in out
    assert "goroutine 2 [sleep]:\n" in out


def test_command_line_flag_turns_leakcheck_on(pytester):
    src = """
        import pytest, gort

        @pytest.mark.gort
        def test_leaky():
            gort.go(gort.chan().recv)
    """
    _run(pytester, src).assert_outcomes(passed=1)
    _run(pytester, src, "--gort-leakcheck").assert_outcomes(failed=1)


def test_leakcheck_fixture_fails_a_lazy_runtime_test(pytester):
    r = _run(pytester, """
        import gort

        def test_lazy(gort_leakcheck):
            gort.go(gort.chan().recv)
    """)
    r.assert_outcomes(passed=1, errors=1)  # the failure is in the fixture's teardown
    assert "blocked forever (leaked)" in r.stdout.str()


def test_timeout_fails_a_stuck_test_with_a_dump(pytester):
    r = _run(pytester, """
        import pytest, gort

        @pytest.mark.gort(timeout=0.3)
        def test_stuck():
            gort.chan().recv()
    """)
    r.assert_outcomes(failed=1)
    out = r.stdout.str()
    assert "GortTestTimeout: test timed out after 0.3 s" in out
    assert "[chan receive]" in out


def test_a_deadlock_without_timeout_is_reported_at_once(pytester):
    r = _run(pytester, """
        import pytest, gort

        @pytest.mark.gort
        def test_deadlock():
            gort.chan().recv()
    """)
    r.assert_outcomes(failed=1)
    assert "all goroutines are asleep - deadlock!" in r.stdout.str()


def test_bad_marker_options_are_errors(pytester):
    r = _run(pytester, """
        import pytest

        @pytest.mark.gort(gomaxprocs=0)
        def test_a():
            pass

        @pytest.mark.gort(timeout="5")
        def test_b():
            pass

        @pytest.mark.gort(procs=2)
        def test_c():
            pass

        @pytest.mark.gort(2)
        def test_d():
            pass
    """)
    r.assert_outcomes(failed=4)
    out = r.stdout.str()
    assert "gomaxprocs must be an int >= 1, not 0" in out
    assert "timeout must be a number of seconds > 0, not '5'" in out
    assert "unknown option(s) ['procs']" in out
    assert "takes keyword options only" in out



@pytest.mark.synctest
def test_synctest_marker_runs_the_test_in_a_bubble():
    from gort.sched.synctest import EPOCH

    assert proc.getg().bubble is not None
    assert gort.time.now() == EPOCH
    gort.time.sleep(3600)
    assert gort.time.now() == EPOCH + 3600


def test_synctest_marker_reports_a_bubble_deadlock(pytester):
    r = _run(pytester, """
        import pytest, gort, gort.time

        @pytest.mark.synctest(gomaxprocs=2)
        def test_ok():
            gort.time.sleep(86400)

        @pytest.mark.synctest
        def test_stuck():
            gort.chan().recv()
    """)
    r.assert_outcomes(passed=1, failed=1)
    assert "deadlock: all goroutines in bubble are blocked" in r.stdout.str()


def test_sample_sleepy_suite_runs_hours_of_fake_time_at_once():
    # samples/test_sleepy.py sleeps through more than a day of fake time.
    import subprocess
    import sys
    import time

    extra = [] if PLUGIN_INSTALLED else ["-p", "gort.pytest_plugin"]
    path = os.pathsep.join(p for p in (_ROOT, os.environ.get("PYTHONPATH", "")) if p)
    t = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *extra,
                        os.path.join(_ROOT, "samples", "test_sleepy.py")],
                       capture_output=True, text=True, timeout=120, cwd=_ROOT,
                       env=dict(os.environ, PYTHONPATH=path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 passed" in r.stdout
    assert time.monotonic() - t < 30  # real seconds, for process start-up on a loaded machine
