"""gort.debug.leaked_goroutines: Go 1.27's goroutineleak profile.

Each case starts goroutines, lets them park (bounded wait), and asks for the
leaks from main.  Cases from the proposal (Go issue 74609) and Go's
runtime/testdata/testgoroutineleakprofile: the three classic leaks, leaks
through select and sync, and the no-false-positive cases the issue names.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap

import pytest
from testutil import wait_until

import gort
import gort.context
import gort.debug
import gort.net
import gort.sync
import gort.time
from gort.sched import proc

_GLOBAL: list = []


def _parked(n: int, timeout: float = 5.0) -> None:
    """Wait (bounded) until n goroutines other than main are parked."""
    wait_until(lambda: sum(not g.system and not g.ismain and g.status == proc._Gwaiting
                           for g in list(proc.sched.allgs)) >= n,
               f"{n} goroutines other than main parked", timeout, poll=0.001)


def _leaks() -> list[tuple[str, str]]:
    return [(lk.wait_reason, lk.stack) for lk in gort.debug.leaked_goroutines()]


def _reasons() -> list[str]:
    return sorted(r for r, _ in _leaks())


# Each case is the main goroutine of a gort.run at GOMAXPROCS 1 and at 4
# (gort's pytest plugin: @pytest.mark.gort).
on_p1_p4 = pytest.mark.parametrize(
    "procs", [pytest.param(n, marks=pytest.mark.gort(gomaxprocs=n, timeout=60), id=f"P{n}")
              for n in (1, 4)])


# -- Go's three classic leaks ----------------------------------------------


@on_p1_p4
def test_send_after_early_return(procs):
    # The proposal's AggregateResults: the caller returns on the first error;
    # the other senders block forever on an unbuffered channel nobody holds.
    def aggregate(n):
        ch = gort.chan()
        for i in range(n):
            gort.go(lambda i=i: ch.send(("err", i)))  # every request fails
        for _ in range(n):
            kind, _v = ch.recv()
            if kind == "err":
                return "err"
        return "ok"

    assert aggregate(5) == "err"
    _parked(4)
    leaks = _leaks()
    assert [r for r, _ in leaks] == ["chan send"] * 4
    assert "created by test_send_after_early_return.<locals>.aggregate" in leaks[0][1]
    assert "test_goroutineleak.py" in leaks[0][1]


@on_p1_p4
def test_receive_with_no_sender(procs):
    def start():
        ch = gort.chan()
        gort.go(ch.recv)

    start()
    _parked(1)
    assert _reasons() == ["chan receive"]


@on_p1_p4
def test_range_over_channel_never_closed(procs):
    def worker(ch, out):
        for v in ch:
            out.append(v)

    out = []
    ch = gort.chan(4)
    gort.go(worker, ch, out)
    for i in range(3):
        ch.send(i)
    del ch  # main forgets it without closing it
    _parked(1)
    assert out == [0, 1, 2]
    leaks = _leaks()
    assert [r for r, _ in leaks] == ["chan receive"]
    assert "worker(...)" in leaks[0][1]


# -- select and sync --------------------------------------------------------


@on_p1_p4
def test_select_leaks_only_when_every_channel_is_gone(procs):
    a, b = gort.chan(), gort.chan()
    gort.go(gort.select, gort.recv(a), gort.recv(b))
    _parked(1)
    assert _leaks() == []  # main holds both
    del a
    assert _leaks() == []  # still b
    del b
    assert _reasons() == ["select"]


@on_p1_p4
def test_sync_primitives(procs):
    def start():
        mu = gort.sync.Mutex()
        mu.lock()
        gort.go(mu.lock)
        wg = gort.sync.WaitGroup()
        wg.add(1)
        gort.go(wg.wait)
        rw = gort.sync.RWMutex()
        rw.lock()
        gort.go(rw.rlock)
        cmu = gort.sync.Mutex()
        cond = gort.sync.Cond(cmu)

        def waiter():
            cmu.lock()
            cond.wait()

        gort.go(waiter)

    start()
    _parked(4)
    assert _reasons() == ["sync.Cond.Wait", "sync.Mutex.Lock",
                          "sync.RWMutex.RLock", "sync.WaitGroup.Wait"]


@on_p1_p4
def test_nil_channel_and_empty_select_always_leak(procs):
    gort.go(gort.select)  # select {} : blocked forever
    _parked(1)
    assert _reasons() == ["select (no cases)"]


@on_p1_p4
def test_a_chain_of_blocked_goroutines_leaks_whole(procs):
    # g1 waits on c1; only g2's stack holds c1; g2 waits on c2 that only g1
    # holds: each keeps the other's primitive "reachable" only from a
    # goroutine that is itself blocked forever.
    def start():
        c1, c2 = gort.chan(), gort.chan()

        def g1(keep):
            c1.recv()

        def g2(keep):
            c2.recv()

        gort.go(g1, c2)
        gort.go(g2, c1)

    start()
    _parked(2)
    assert _reasons() == ["chan receive", "chan receive"]


# -- no false positives --------------------------------------------------------


@on_p1_p4
def test_channel_held_by_a_runnable_goroutine_is_not_a_leak(procs):
    ch = gort.chan()
    gort.go(ch.recv)
    done = gort.chan()

    def holder(c):
        done.recv()  # parked, but on a channel main holds: may still run
        c.send(1)

    gort.go(holder, ch)
    del ch
    _parked(2)
    assert _leaks() == []
    done.send(None)


@on_p1_p4
def test_channel_held_by_globals_timers_and_after_func_is_not_a_leak(procs):
    g = gort.chan()
    _GLOBAL.append(g)
    gort.go(g.recv)

    def arm():
        t = gort.chan()
        gort.time.after_func(60, lambda: t.send(1))  # a pending after_func holds t
        gort.go(t.recv)

    arm()

    tm = gort.time.new_timer(60)  # a timer channel: its timer can still send
    gort.go(tm.c.recv)
    del g, tm
    _parked(3)
    try:
        assert _leaks() == []
    finally:
        _GLOBAL.clear()
    assert _reasons() == ["chan receive"]  # the global's reader, now unreachable


@on_p1_p4
def test_channel_held_by_a_goroutine_in_io_wait_is_not_a_leak(procs):
    ln = gort.net.listen("tcp", "127.0.0.1:0")
    host, port = ln.addr
    conn = gort.net.dial("tcp", f"{host}:{port}")
    srv = ln.accept()
    ch = gort.chan()

    def reader(c, out):
        try:
            c.read(1)  # IO wait: the poller may wake it
        except OSError:  # closed at the end of the test
            return
        out.send(1)

    gort.go(reader, srv, ch)
    gort.go(ch.recv)
    del ch
    _parked(2)
    try:
        assert _leaks() == []
    finally:
        conn.close()
        srv.close()
        ln.close()


@on_p1_p4
def test_sleeping_goroutine_keeps_its_channel_live(procs):
    ch = gort.chan()

    def sleeper(c):
        gort.time.sleep(60)
        c.send(1)

    gort.go(sleeper, ch)
    gort.go(ch.recv)
    del ch
    _parked(2)
    assert _leaks() == []


@on_p1_p4
def test_plain_thread_holding_a_channel_is_a_root(procs):
    import threading

    ch = gort.chan()
    stop = threading.Event()

    def thread(c):
        stop.wait(10)

    th = threading.Thread(target=thread, args=(ch,))
    th.start()
    gort.go(ch.recv)
    del ch
    _parked(1)
    try:
        assert _leaks() == []
    finally:
        stop.set()
        th.join(10)


# -- the profile, GORTDEBUG, the lazy runtime ----------------------------------------


def test_write_leak_profile_and_lazy_runtime():
    ch = gort.chan()
    gort.go(ch.send, 1)
    del ch
    gort.time.sleep(0.01)
    buf = io.StringIO()
    n = gort.debug.write_leak_profile(buf)
    text = buf.getvalue()
    assert n == 1
    assert text.startswith("goroutineleak profile: total 1\n")
    assert "[chan send]" in text


def test_no_runtime_no_leaks():
    assert proc.sched.m0 is None
    assert gort.debug.leaked_goroutines() == []


def test_gortdebug_leakcheck_prints_at_run_end(tmp_path):
    prog = tmp_path / "p.py"
    prog.write_text(textwrap.dedent("""
        import time, gort, gort.time
        from gort.sched import proc
        from gort.sched.runtime2 import _Gwaiting
        def main():
            ch = gort.chan()
            gort.go(ch.recv)
            # Until it is parked: several Ms may start it on another, later
            # than a fixed sleep (a new M's first run; bounded).
            end = time.monotonic() + 10
            while time.monotonic() < end and not any(
                    g.waitreason == "chan receive" and g.status == _Gwaiting
                    for g in list(proc.sched.allgs)):
                gort.time.sleep(0.005)
        gort.run(main)
        print("ran")
    """))
    env = dict(os.environ, GORTDEBUG="leakcheck=1",
               PYTHONPATH=os.pathsep.join([os.path.dirname(os.path.dirname(gort.__file__))]
                                          + sys.path))
    r = subprocess.run([sys.executable, str(prog)], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ran"
    assert "goroutineleak profile: total 1" in r.stderr
    assert "[chan receive]" in r.stderr
    env["GORTDEBUG"] = ""
    r = subprocess.run([sys.executable, str(prog)], env=env, capture_output=True, text=True,
                       timeout=60)
    assert "goroutineleak" not in r.stderr



def test_gortdebug_leakcheck_sees_the_leaks_of_every_m(tmp_path):
    # At GOMAXPROCS > 1 the other Ms, woken when main returned, used to end
    # the goroutines pinned to them before M0's end-of-run check looked:
    # their leaks went unreported (once in 3 runs at GOMAXPROCS 4 on a
    # free-threaded build).  They now wait for teardown.
    prog = tmp_path / "p.py"
    prog.write_text(textwrap.dedent("""
        import threading, time, gort, gort.time
        from gort.sched import proc
        from gort.sched.runtime2 import _Gwaiting
        def main():
            gort.gomaxprocs(4)
            ch = gort.chan()
            threads = set()
            def leak():
                threads.add(threading.get_ident())
                time.sleep(0.005)  # holds this M: idle ones steal the others
                ch.recv()
            for _ in range(16):
                gort.go(leak)
            end = time.monotonic() + 10
            while time.monotonic() < end and sum(
                    g.waitreason == "chan receive" and g.status == _Gwaiting
                    for g in list(proc.sched.allgs)) < 16:
                gort.time.sleep(0.002)
            print("threads", len(threads))
        gort.run(main)
    """))
    env = dict(os.environ, GORTDEBUG="leakcheck=1",
               PYTHONPATH=os.pathsep.join([os.path.dirname(os.path.dirname(gort.__file__))]
                                          + sys.path))
    spread = 0
    for _ in range(5):
        r = subprocess.run([sys.executable, str(prog)], env=env, capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert "goroutineleak profile: total 16" in r.stderr, (r.stdout, r.stderr)
        spread += r.stdout.strip() != "threads 1"
    assert spread, "the leaking goroutines never ran on more than one M"
