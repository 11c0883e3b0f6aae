"""The runtime under faults (issue 12, items 6-9): an absurd GOMAXPROCS,
threads the OS refuses to start, sync objects whose waiters were killed
when a run ended, and the poll backend's deadlines under thousands of fds.

The thread-start test makes pthread_create really fail: a subprocess lowers
RLIMIT_AS just above its current address space, so a new thread's stack
cannot be mapped (no mock of the OS).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

import gort
import gort.time
from gort.sched import proc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _python(code: str, procs: int | str, timeout: float = 60) -> subprocess.CompletedProcess:
    e = dict(os.environ, PYTHONPATH=ROOT, GORTMAXPROCS=str(procs))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=e,
                          capture_output=True, text=True, timeout=timeout)


# --------------------------------------------------------------------------
# Item 6: an upper bound on GOMAXPROCS


def test_gomaxprocs_above_the_maximum_is_a_value_error():
    t0 = time.monotonic()
    with pytest.raises(ValueError, match="maximum GOMAXPROCS, 1024"):
        gort.gomaxprocs(2**70)
    with pytest.raises(ValueError, match="maximum"):
        gort.gomaxprocs(proc.MAXGOMAXPROCS + 1)
    assert proc.sched.m0 is None  # nothing started

    def main():
        prev = gort.gomaxprocs()
        with pytest.raises(ValueError, match="maximum"):
            gort.gomaxprocs(2**70)
        # The run goes on with the count it had.
        ch = gort.chan(0)
        gort.go(ch.send, 7)
        return prev, gort.gomaxprocs(), ch.recv(), len(proc.sched.allm)

    prev, now, v, nm = gort.run(main)
    assert (now, v) == (prev, 7)
    assert nm <= prev
    assert time.monotonic() - t0 < 10


@pytest.mark.parametrize("how", ["run", "report", "lazy"])
def test_gortmaxprocs_env_above_the_maximum_is_a_value_error(how):
    body = {
        "run": "gort.run(lambda: None)",
        "report": "gort.gomaxprocs()",
        "lazy": "gort.go(lambda: None)",
    }[how]
    r = _python(f"""
        import gort
        from gort.sched import proc
        try:
            {body}
        except ValueError as e:
            print("ValueError:", e)
        print("m0", proc.sched.m0)
        """, "99999999999999999999", timeout=30)
    assert r.returncode == 0, r.stderr
    assert "ValueError: GORTMAXPROCS='99999999999999999999' is above gort's maximum" in r.stdout
    assert "m0 None" in r.stdout


def test_gomaxprocs_at_the_maximum_is_accepted_before_a_run():
    assert gort.gomaxprocs(proc.MAXGOMAXPROCS) >= 1
    try:
        assert gort.gomaxprocs() == proc.MAXGOMAXPROCS
    finally:
        gort.gomaxprocs(1)
        proc._maxprocs = None


# --------------------------------------------------------------------------
# Item 7: threads the OS cannot start

_THREADFAIL = """
    import resource, threading, gort, gort.time
    from gort.sched import proc

    def vm():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * resource.getpagesize()

    def main():
        prev = gort.gomaxprocs()
        ch = gort.chan(0)
        gort.go(ch.send, 1)          # a goroutine or two exist on the old Ms
        ch.recv()
        # Room for a few 8 MiB thread stacks, not for 400.
        resource.setrlimit(resource.RLIMIT_AS, (vm() + 96 * 2**20, resource.RLIM_INFINITY))
        try:
            gort.gomaxprocs(400)
        except RuntimeError as e:
            err = repr(e) + " | " + " ".join(getattr(e, "__notes__", []))
        else:
            err = "no error"
        finally:
            resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY,) * 2)
        now = gort.gomaxprocs()
        # The runtime still works: goroutines run, timers fire, on every M.
        for i in range(20):
            gort.go(lambda i=i: (gort.time.sleep(0.001), ch.send(i)))
        got = sorted(ch.recv() for _ in range(20))
        assert got == list(range(20)), got
        unstarted = [m for m in proc.sched.allm if m.thread is not None and m.thread.ident is None]
        nps = len(proc.sched.allp)
        return f"prev={prev} now={now} nps={nps} unstarted={len(unstarted)} err={err}"

    print("result:", gort.run(main))
    print("m0:", proc.sched.m0)
    """


@pytest.mark.parametrize("procs", [1, 4])
def test_gomaxprocs_rolls_back_when_threads_cannot_start(procs):
    r = _python(_THREADFAIL, procs)
    assert r.returncode == 0, r.stderr
    assert "cannot join" not in r.stderr
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("result:"))
    assert f"prev={procs} now={procs} nps={procs} unstarted=0" in line, line
    assert "can't start new thread" in line, line
    assert "GOMAXPROCS stays" in line, line
    assert "m0: None" in r.stdout


def test_gortmaxprocs_env_whose_threads_cannot_start_fails_the_run_cleanly():
    # GOMAXPROCS from the environment: run() raises the thread error and
    # tears down without joining a thread that never started.
    r = _python("""
        import resource, gort
        from gort.sched import proc
        with open("/proc/self/statm") as f:
            vm = int(f.read().split()[0]) * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (vm + 96 * 2**20, resource.RLIM_INFINITY))
        try:
            gort.run(lambda: "main ran")
        except RuntimeError as e:
            print("RuntimeError:", e)
        resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY,) * 2)
        print("m0:", proc.sched.m0)
        gort.gomaxprocs(2)
        print("again:", gort.run(lambda: "ok"))
        """, 400)
    assert r.returncode == 0, r.stderr
    assert "cannot join" not in r.stderr
    assert "RuntimeError: can't start new thread" in r.stdout
    assert "m0: None" in r.stdout
    assert "again: ok" in r.stdout
