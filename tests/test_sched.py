"""The scheduler core: goroutine lifecycle, run queues, gopark/goready,
checkdead, lazy runtime, contextvars, gort.blocking (gort/sched/proc.py)."""

import contextvars
import os
import sys
import threading
import time

import mnutil
import psutil
import pytest
from testutil import wait_until

import gort
from gort.sched import proc
from gort.sched.runtime2 import RUNQ_SIZE, _Gwaiting


def test_run_returns_main_result():
    assert gort.run(lambda: 42) == 42
    assert gort.run(lambda a, b=0: a + b, 1, b=2) == 3


def test_run_twice_and_state_reset():
    def main():
        gort.go(lambda: None)
        return gort.num_goroutine()

    assert gort.run(main) == 2
    assert gort.run(main) == 2
    assert proc.sched.m0 is None


@pytest.mark.one_m
def test_runnext_order_like_go():
    # Go: newproc puts the new G in runnext, kicking the previous one to the
    # tail of the local queue, so the last started runs first.  (One P: with
    # several, gort's newproc uses the tail of runq so that idle Ms can steal.)
    order = []

    def main():
        for i in range(4):
            gort.go(order.append, i)
        gort.gosched()
        return order

    assert gort.run(main) == [3, 0, 1, 2]


@pytest.mark.one_m
def test_gosched_interleaves():
    # One P's order: with two, a and b may run on different Ms, each in turn.
    out = []

    def worker(name):
        for i in range(3):
            out.append((name, i))
            gort.gosched()

    def main():
        gort.go(worker, "a")
        gort.go(worker, "b")
        while len(out) < 6:
            gort.gosched()

    gort.run(main)
    names = [n for n, _ in out]
    # Strict alternation once both are running: never three in a row.
    assert names.count("a") == 3 and names.count("b") == 3
    assert all(names[i] != names[i + 1] for i in range(len(names) - 1)), names


def test_100k_goroutines():
    n = 100_000
    done = []  # appends: goroutines on several Ms must not lose a count

    def inc():
        done.append(1)

    def main():
        for _ in range(n):
            gort.go(inc)
        while len(done) < n:
            gort.gosched()
        # Several Ms: the last inc may have appended but not yet exited.
        wait_until(lambda: gort.num_goroutine() == 1, "every inc exited")
        return gort.num_goroutine()

    assert gort.run(main) == 1
    assert len(done) == n


def test_greenlets_are_reused():
    created = []
    orig = proc.greenlet

    class Counting(orig):
        def __init__(self, *a, **kw):
            created.append(1)
            super().__init__(*a, **kw)

    proc.greenlet = Counting
    try:
        def main():
            for _ in range(1000):
                gort.go(lambda: None)
            gort.gosched()
        gort.run(main)
    finally:
        proc.greenlet = orig
    # g0 + main's greenlet + the goroutines: 1000 Gs that never block all
    # run one after another on a handful of greenlets.
    assert len(created) <= 4, len(created)


def test_parked_goroutines_keep_their_greenlets_and_wake():
    woken = []
    parked = []

    def sleeper(i):
        parked.append(proc.getg())
        proc.gopark(None, None, "test wait")
        woken.append(i)

    def main():
        for i in range(100):
            gort.go(sleeper, i)
        # gosched puts main on the global queue, which the 1-in-61 check can
        # pick before the local queue is empty: yield until all have parked.
        while len(parked) < 100:
            gort.gosched()
        assert all(g.status == _Gwaiting and g.waitreason == "test wait" for g in parked)
        for g in parked:
            proc.goready(g)
        while len(woken) < 100:
            gort.gosched()
        return sorted(woken)

    assert gort.run(main) == list(range(100))


def test_gopark_unlockf_false_cancels_park():
    def main():
        calls = []

        def unlockf(gp, lock):
            calls.append((gp, lock))
            return False

        r = proc.gopark(unlockf, "L", "never")
        assert calls and calls[0][1] == "L"
        return r

    assert gort.run(main) is None


@pytest.mark.one_m  # one P's queue; other Ms would steal from it
def test_runq_overflow_spills_half_to_global():

    def main():
        pp = proc.getg().m.p
        for _ in range(RUNQ_SIZE + 10):
            gort.go(lambda: None)
        spilled = proc.sched.runqsize
        local = len(pp.runq)
        gort.gosched()
        while gort.num_goroutine() > 1:
            gort.gosched()
        return spilled, local

    spilled, local = gort.run(main)
    assert spilled > 0
    assert local <= RUNQ_SIZE


def test_global_queue_not_starved_by_local_spawner():
    # Two goroutines that keep respawning each other monopolise the local
    # queue; the 1-in-61 check must still let a G on the global queue run.
    seen = []

    def main():
        stop = [False]

        def spin(n):
            if not stop[0]:
                gort.go(spin, n + 1)

        gort.go(spin, 0)
        gort.go(spin, 0)
        gp = proc.getg()
        # Put ourselves on the global queue, like gosched does.
        gort.gosched()
        seen.append("main ran")
        stop[0] = True
        while gort.num_goroutine() > 1:
            gort.gosched()
        del gp

    gort.run(main)
    assert seen == ["main ran"]


def test_exception_in_main_is_raised():
    def main():
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        gort.run(main)
    assert proc.sched.m0 is None


def test_exception_in_goroutine_ends_run_with_goroutine_id():
    def bad():
        raise KeyError("lost?")

    def main():
        gort.go(bad)
        # Several Ms: bad may run on another M; wait (bounded) for it to end the run.
        wait_until(lambda: False, "bad ended the run")
        return "not reached"

    with pytest.raises(KeyError) as ei:
        gort.run(main)
    notes = getattr(ei.value, "__notes__", [])
    assert any("uncaught in goroutine 2" in n for n in notes), notes


def test_exception_in_lazy_goroutine_is_reported(capfd):
    def bad():
        raise ZeroDivisionError("lazy boom")

    gort.go(bad)
    gort.gosched()
    wait_until(lambda: gort.num_goroutine() == 1, "bad ended")  # several Ms
    err = capfd.readouterr().err
    assert "panic in goroutine" in err and "lazy boom" in err


def test_goexit_runs_finally_and_ends_only_that_goroutine():
    log = []

    def g():
        try:
            log.append("in")
            gort.goexit()
            log.append("not here")
        finally:
            log.append("finally")

    def main():
        gort.go(g)
        gort.gosched()
        gort.gosched()
        wait_until(lambda: gort.num_goroutine() == 1, "g ended")  # several Ms
        log.append("main")
        return gort.num_goroutine()

    assert gort.run(main) == 1
    assert log == ["in", "finally", "main"]


def test_main_goexit_is_a_deadlock_once_others_finish():
    def main():
        gort.go(lambda: None)
        gort.goexit()

    with pytest.raises(gort.Deadlock, match="main called runtime.Goexit"):
        gort.run(main)


def test_deadlock_simple_with_dump():
    def main():
        proc.gopark(None, None, "chan receive")

    with pytest.raises(gort.Deadlock) as ei:
        gort.run(main)
    e = ei.value
    assert str(e) == "all goroutines are asleep - deadlock!"
    assert "goroutine 1 [chan receive]:" in e.dump
    assert "test_sched.py" in e.dump
    assert e.dump in "\n".join(getattr(e, "__notes__", []))


def test_deadlock_with_many_blocked():
    def waiter():
        proc.gopark(None, None, "select (no cases)")

    def main():
        for _ in range(500):
            gort.go(waiter)
        gort.gosched()
        proc.gopark(None, None, "chan receive")

    with pytest.raises(gort.Deadlock) as ei:
        gort.run(main)
    dump = ei.value.dump
    assert dump.count("[select (no cases)]") == 500
    assert "created by test_deadlock_with_many_blocked.<locals>.main in goroutine 1" in dump


def test_goroutines_left_behind_are_killed_with_finally():
    log = []

    def forever():
        try:
            proc.gopark(None, None, "forever")
        finally:
            log.append("cleaned")

    def main():
        for _ in range(3):
            gort.go(forever)
        gort.gosched()
        mnutil.wait_parked()  # several Ms: started and parked, not killed unstarted
        return "done"

    assert gort.run(main) == "done"
    assert log == ["cleaned"] * 3


def test_contextvars_isolated_per_goroutine():
    var = contextvars.ContextVar("var", default="unset")
    seen = {}

    def child(name):
        seen[name + "-start"] = var.get()
        var.set(name)
        gort.gosched()
        seen[name + "-end"] = var.get()

    def main():
        var.set("main")
        gort.go(child, "a")
        gort.go(child, "b")
        gort.gosched()
        gort.gosched()
        wait_until(lambda: gort.num_goroutine() == 1, "children ended")  # several Ms
        seen["main"] = var.get()

    gort.run(main)
    assert seen == {"a-start": "main", "b-start": "main", "a-end": "a", "b-end": "b",
                    "main": "main"}


@pytest.mark.one_m
def test_lazy_runtime_in_plain_code():
    # One M: plain code runs the new goroutine when it yields, not before
    # (with several Ms another may run it at once).
    out = []
    gort.go(out.append, 1)
    assert out == []
    gort.gosched()
    assert out == [1]
    assert gort.num_goroutine() == 1
    # A lazily started runtime with no goroutines left can give way to run().
    assert gort.run(lambda: "ran") == "ran"


def test_lazy_runtime_deadlock_raises_in_caller():
    with pytest.raises(gort.Deadlock):
        proc.gopark(None, None, "chan receive")
    # The runtime was reset: plain gort calls work again.
    gort.go(lambda: None)
    gort.gosched()


def test_run_refuses_to_nest():
    def main():
        with pytest.raises(RuntimeError, match="already running"):
            gort.run(lambda: None)
        return "ok"

    assert gort.run(main) == "ok"


def test_go_non_callable_raises_at_call_site():
    with pytest.raises(TypeError, match="not callable"):
        gort.go(42)
    with pytest.raises(TypeError, match="not callable"):
        gort.run("main")
    with pytest.raises(TypeError, match="not callable"):
        gort.blocking(None)


def test_gomaxprocs_setting_and_bad_input(monkeypatch):
    monkeypatch.delenv("GORTMAXPROCS", raising=False)
    # The documented default: 1 with a GIL, the CPU count without one.
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    assert gort.gomaxprocs() == (1 if gil else (os.cpu_count() or 1))
    with pytest.raises(TypeError):
        gort.gomaxprocs("2")
    with pytest.raises(TypeError):
        gort.gomaxprocs(True)

    def main() -> list:
        out = [gort.gomaxprocs(2), gort.gomaxprocs(), gort.gomaxprocs(0), gort.gomaxprocs(1)]
        out.append(gort.gomaxprocs())
        return out

    assert gort.run(main) == [1 if gil else (os.cpu_count() or 1), 2, 2, 2, 1]
    monkeypatch.setenv("GORTMAXPROCS", "3")
    assert gort.run(gort.gomaxprocs) == 3
    monkeypatch.setenv("GORTMAXPROCS", "x")
    with pytest.raises(ValueError, match="GORTMAXPROCS"):
        gort.run(gort.gomaxprocs)


def test_other_thread_cannot_host_goroutines_meanwhile():
    gort.go(lambda: None)  # this thread is now the M
    err = []

    def other():
        try:
            gort.go(lambda: None)
        except RuntimeError as e:
            err.append(str(e))

    t = threading.Thread(target=other)
    t.start()
    t.join(5)
    assert err and "already run on thread" in err[0]


# --- gort.blocking ---------------------------------------------------------


def test_blocking_result_and_exception():
    def main():
        assert gort.blocking(lambda a, b: a * b, 6, b=7) == 42
        with pytest.raises(OSError, match="nope"):
            gort.blocking(_raise_oserror)
        return threading.get_ident()

    assert gort.run(main) == threading.get_ident()


def _raise_oserror():
    raise OSError("nope")


def test_blocking_worker_keeps_no_argument_alive():
    # An idle pool worker used to hold its last call's function and
    # arguments (a socket, a buffer) until its next task or its exit.
    import gc
    import weakref

    class Arg:
        pass

    def main():
        a = Arg()
        ref = weakref.ref(a)
        assert gort.blocking(lambda x: x is not None, a)
        del a
        gc.collect()
        return ref() is None, len(proc_pool_threads())

    def proc_pool_threads():
        from gort.sched import syscall
        return syscall._pool.threads

    freed, nworkers = gort.run(main)
    assert nworkers >= 1  # the worker is still there, idle
    assert freed


def test_blocking_lets_other_goroutines_run(no_thread_leak):
    ticks = [0]

    def ticker():
        while ticks[0] >= 0:
            ticks[0] += 1
            gort.gosched()
            if ticks[0] > 10_000_000:
                break

    def main():
        gort.go(ticker)
        t0 = time.monotonic()
        gort.blocking(time.sleep, 0.2)
        elapsed = time.monotonic() - t0
        n = ticks[0]
        ticks[0] = -10**9
        return n, elapsed

    n, elapsed = gort.run(main)
    assert elapsed >= 0.2
    assert n > 100  # the ticker ran meanwhile


def test_blocking_many_in_parallel_and_idle_wakeup(no_thread_leak):
    # Every goroutine parks in gort.blocking: the M sleeps (nothing else to
    # do) and must be woken by the pool threads, not deadlock.
    results = []

    def worker(i):
        results.append(gort.blocking(lambda: (time.sleep(0.05), i)[1]))

    def main():
        for i in range(20):
            gort.go(worker, i)
        while len(results) < 20:
            gort.gosched()
            if len(results) < 20:
                gort.blocking(time.sleep, 0.01)
        return sorted(results)

    t0 = time.monotonic()
    assert gort.run(main) == list(range(20))
    assert time.monotonic() - t0 < 5


def test_blocking_only_main_waits_is_not_deadlock():
    assert gort.run(lambda: gort.blocking(time.sleep, 0.05) or "woke") == "woke"


def test_no_goroutine_or_thread_leaks_after_many_runs(no_thread_leak):
    proc_ = psutil.Process()
    fds = proc_.num_fds()

    def main():
        for _ in range(100):
            gort.go(gort.blocking, time.sleep, 0)
        gort.blocking(time.sleep, 0.01)
        gort.gosched()

    for _ in range(5):
        gort.run(main)
    assert gort.num_goroutine() == 1
    assert proc_.num_fds() <= fds


def test_second_exception_is_reported_not_lost(capfd):
    def bad(msg):
        raise ValueError(msg)

    def cleanup_fails():
        try:
            proc.gopark(None, None, "forever")
        finally:
            raise KeyError("raised while being killed")

    def main():
        gort.go(cleanup_fails)
        gort.gosched()
        mnutil.wait_parked()  # several Ms: parked in its try before main raises
        bad("first")

    with pytest.raises(ValueError, match="first"):
        gort.run(main)
    err = capfd.readouterr().err
    assert "panic in goroutine 2" in err and "raised while being killed" in err
