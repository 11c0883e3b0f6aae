"""GORTDEBUG, schedtrace/scheddetail formats, goroutine dumps, SIGQUIT."""

import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import mnutil
import pytest

import gort
import gort.debug
from gort.sched import proc
from gort.sched.sysmon import parse_gortdebug

SCHED_RE = re.compile(
    r"^SCHED \d+ms: gomaxprocs=\d+ idleprocs=\d+ threads=\d+ spinningthreads=\d+ "
    r"needspinning=0 idlethreads=\d+ runqueue=\d+ \[\d+( \d+)*\] schedticks=\[\d+( \d+)*\]$")


def test_parse_gortdebug():
    assert parse_gortdebug("schedtrace=1000, scheddetail=1") == {
        "schedtrace": "1000", "scheddetail": "1"}
    assert parse_gortdebug("") == {}
    with pytest.raises(ValueError, match="key=value"):
        parse_gortdebug("schedtrace")


def test_schedtrace_line_format():
    def main():
        for _ in range(3):
            gort.go(lambda: None)
        return gort.debug.schedtrace_line()

    line = gort.run(main)
    assert SCHED_RE.match(line), line


@pytest.mark.one_m  # the exact lines of one P and one M
def test_scheddetail_lines():

    def main():
        gort.go(proc.gopark, None, None, "chan receive")
        gort.gosched()
        return gort.debug.schedtrace_line(detail=True).splitlines()

    lines = gort.run(main)
    assert "gcwaiting=false" in lines[0]
    assert re.match(r"^  P0: status=\d schedtick=\d+ syscalltick=\d+ m=0 runqsize=\d+ "
                    r"gfreecnt=\d+ timerslen=\d+$", lines[1]), lines[1]
    assert re.match(r"^  M0: p=0 curg=1 .* blocked=false lockedg=nil$", lines[2]), lines[2]
    assert "  G1: status=2() m=0 lockedm=nil" in lines
    assert "  G2: status=4(chan receive) m=nil lockedm=nil" in lines


def test_stack_and_dump(capsys):
    def waiter():
        proc.gopark(None, None, "chan send")

    def main():
        gort.go(waiter)
        mnutil.wait_parked()
        mine = gort.debug.stack()
        everything = gort.debug.stack(all=True)
        gort.debug.dump()
        return mine, everything

    mine, everything = gort.run(main)
    assert mine.startswith("goroutine 1 [running]:\n")
    assert "in main" not in mine and "main(...)" in mine
    assert "goroutine 2 [chan send]:\ntest_stack_and_dump.<locals>.waiter(...)" in everything
    assert "created by test_stack_and_dump.<locals>.main in goroutine 1" in everything
    assert "goroutine 2 [chan send]:" in capsys.readouterr().err


def test_wait_minutes_in_header():
    def main():
        gp = []
        gort.go(lambda: (gp.append(proc.getg()), proc.gopark(None, None, "sleep")))
        mnutil.wait_parked()
        # Like Go's GC, the first dump stamps when it saw the G waiting ...
        assert "goroutine 2 [sleep]:" in gort.debug.stack(all=True)
        assert gp[0].waitsince > 0
        gp[0].waitsince -= 150  # ... pretend that was two and a half minutes ago
        return gort.debug.stack(all=True)

    assert "goroutine 2 [sleep, 2 minutes]:" in gort.run(main)


def _run_script(code, env_extra, timeout=30):
    env = dict(os.environ, **env_extra)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.one_m  # grow from one: no retiring M in the lines
def test_schedtrace_shows_every_p_and_m():

    def main():
        gort.gomaxprocs(3)
        line = gort.debug.schedtrace_line()
        detail = gort.debug.schedtrace_line(detail=True).splitlines()
        return line, detail

    line, detail = gort.run(main)
    assert SCHED_RE.match(line), line
    assert "gomaxprocs=3" in line
    assert re.search(r"\[\d+ \d+ \d+\] schedticks=\[\d+ \d+ \d+\]$", line), line
    assert [ln.split(":")[0] for ln in detail if ln.startswith("  P")] == ["  P0", "  P1", "  P2"]
    assert len([ln for ln in detail if ln.startswith("  M")]) == 3


def test_schedtrace_env_prints_periodically():
    r = _run_script("""
        import time, gort
        def main():
            t = time.monotonic()
            while time.monotonic() - t < 0.35:
                gort.gosched()
        gort.run(main)
    """, {"GORTDEBUG": "schedtrace=100"})
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("SCHED")]
    assert len(lines) >= 2, r.stderr
    assert all(SCHED_RE.match(ln) for ln in lines), lines


def test_blockwarn_reports_a_goroutine_that_does_not_yield():
    r = _run_script("""
        import time, gort
        def hog(done):
            t = time.monotonic()
            while time.monotonic() - t < 0.3:
                pass
            done.close()
        def main():
            done = gort.chan()
            gort.go(hog, done)
            done.recv()  # several Ms: the run must not end while hog runs on another
        gort.run(main)
    """, {"GORTDEBUG": "blockwarn=50"})
    assert r.returncode == 0, r.stderr
    # Whichever M the hog runs on (several Ms: maybe not main's).
    assert re.search(r"has held M\d+ for", r.stderr), r.stderr
    assert "without yielding" in r.stderr, r.stderr
    assert "hog(...)" in r.stderr


@pytest.mark.skipif(not hasattr(signal, "SIGQUIT"), reason="no SIGQUIT")
@pytest.mark.parametrize("mode", ["keep-running", "exit"])
def test_sigquit_dumps_goroutines(mode):
    code = """
        import os, signal, sys, time, gort
        from gort.sched import proc
        from gort.sched.runtime2 import _Gwaiting
        def main():
            gp = []
            gort.go(lambda: (gp.append(proc.getg()), proc.gopark(None, None, "chan receive")))
            t = time.monotonic()  # parked (several Ms: it may run on another)
            while not (gp and gp[0].status == _Gwaiting) and time.monotonic() - t < 10:
                gort.gosched()
            os.kill(os.getpid(), signal.SIGQUIT)
            gort.gosched()
            print("still running")
        gort.run(main)
    """
    env = {"GORTDEBUG": "sigquit=exit"} if mode == "exit" else {"GORTDEBUG": ""}
    r = _run_script(code, env)
    assert "SIGQUIT: quit" in r.stderr
    assert "goroutine 1 [running]:" in r.stderr
    assert "goroutine 2 [chan receive]:" in r.stderr
    if mode == "exit":
        assert r.returncode == 2 and "still running" not in r.stdout
    else:
        assert r.returncode == 0 and "still running" in r.stdout


@pytest.mark.parametrize("procs", [2, 4])
def test_dump_while_other_ms_start_and_end_goroutines(procs):
    # goroutine_dump iterated sched.allgs itself while other Ms added and
    # dropped Gs: "Set changed size during iteration" on a free-threaded build
    # (and with a GIL when a switch fell inside the loop).  It takes a copy,
    # as every other reader of allgs does.
    from gort.sched.traceback import goroutine_dump

    def main():
        book = mnutil.start_book(procs)
        stop = []

        def churn():
            book.seen("churn")
            while not stop:
                for _ in range(20):
                    gort.go(lambda: None)
                gort.gosched()

        for _ in range(procs - 1):
            gort.go(churn)
        mnutil.spread(book, "churn", procs=procs)
        dumps = 0
        try:
            with mnutil.fast_switching(1e-6):
                end = time.monotonic() + 1.0
                while time.monotonic() < end:
                    assert "goroutine 1 [running]:" in goroutine_dump()
                    dumps += 1
        finally:
            stop.append(1)
        return dumps

    assert gort.run(main) > 0
