"""Signals (issue 12, items 1-3): real os.kill on this process with the
runtime idle in netpoll, gort.signal after Go's os/signal, and Ctrl-C
(a real SIGINT on a subprocess)."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import gort
import gort.context
import gort.net
import gort.signal
import gort.time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _kill_later(delay, sig):
    t = threading.Timer(delay, os.kill, (os.getpid(), sig))
    t.start()
    return t


def test_raw_handler_wakes_idle_runtime(each_netpoll_backend):
    # The reproduction: a handler installed with signal.signal
    # cancels a context while the scheduler sits in netpoll, next to a 3 s
    # sleeper.  Before the fix the wake-up came with the sleeper, at 3.0 s.
    def main():
        ctx, cancel = gort.context.with_cancel(gort.context.background())
        old = signal.signal(signal.SIGUSR1, lambda *a: cancel())
        ln = gort.net.listen("tcp", "127.0.0.1:0")
        try:
            gort.go(_accept, ln)
            gort.go(gort.time.sleep, 3)
            t0 = time.monotonic()
            t = _kill_later(0.2, signal.SIGUSR1)
            ctx.done().recv()
            t.join()
            return time.monotonic() - t0
        finally:
            signal.signal(signal.SIGUSR1, old)
            ln.close()

    elapsed = gort.run(main)
    assert 0.15 < elapsed < 1.5, elapsed


def _accept(ln):
    try:
        ln.accept()
    except gort.net.NetClosedError:
        pass


def test_notify_wakes_runtime_with_nothing_else_pending(each_netpoll_backend):
    # Nothing but the signal watch: not a deadlock (Go's signal_recv sleeps
    # in a syscall), and the value arrives promptly.
    def main():
        ch = gort.chan(1)
        gort.signal.notify(ch, signal.SIGUSR1)
        t0 = time.monotonic()
        t = _kill_later(0.1, signal.SIGUSR1)
        v = ch.recv()
        t.join()
        gort.signal.stop(ch)
        return v, time.monotonic() - t0

    v, elapsed = gort.run(main)
    assert v == signal.SIGUSR1 and isinstance(v, signal.Signals)
    assert elapsed < 1.5


def test_notify_several_channels_and_drop_when_full():
    def main():
        a, b = gort.chan(1), gort.chan(1)
        gort.signal.notify(a, signal.SIGUSR1)
        gort.signal.notify(b, signal.SIGUSR1, signal.SIGUSR2)
        os.kill(os.getpid(), signal.SIGUSR2)
        assert b.recv() == signal.SIGUSR2
        for _ in range(3):  # a and b have room for one each: the rest drop
            os.kill(os.getpid(), signal.SIGUSR1)
            gort.time.sleep(0.02)
        gort.time.sleep(0.05)
        got = (len(a), len(b), a.recv(), b.recv())
        gort.signal.stop(a)
        gort.signal.stop(b)
        return got

    assert gort.run(main) == (1, 1, signal.SIGUSR1, signal.SIGUSR1)


def test_stop_restores_previous_handler_after_last_watcher():
    seen = []

    def mine(signum, frame):
        seen.append(signum)

    old = signal.signal(signal.SIGUSR1, mine)
    try:
        def main():
            a, b = gort.chan(4), gort.chan(4)
            gort.signal.notify(a, signal.SIGUSR1)
            gort.signal.notify(b, signal.SIGUSR1)
            assert signal.getsignal(signal.SIGUSR1) is not mine
            gort.signal.stop(a)
            assert signal.getsignal(signal.SIGUSR1) is not mine  # b still watches
            os.kill(os.getpid(), signal.SIGUSR1)
            assert b.recv() == signal.SIGUSR1
            gort.signal.stop(b)
            assert signal.getsignal(signal.SIGUSR1) is mine
            os.kill(os.getpid(), signal.SIGUSR1)
            return len(a)

        assert gort.run(main) == 0
        assert seen == [signal.SIGUSR1]
    finally:
        signal.signal(signal.SIGUSR1, old)


def test_ignore_and_reset():
    def main():
        ch = gort.chan(1)
        gort.signal.notify(ch, signal.SIGUSR1)
        gort.signal.ignore(signal.SIGUSR1)
        assert gort.signal.ignored(signal.SIGUSR1)
        assert signal.getsignal(signal.SIGUSR1) is signal.SIG_IGN
        os.kill(os.getpid(), signal.SIGUSR1)  # ignored: no value, no death
        gort.time.sleep(0.05)
        assert len(ch) == 0
        gort.signal.reset(signal.SIGUSR1)
        assert not gort.signal.ignored(signal.SIGUSR1)
        assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL

    gort.run(main)


def test_run_end_restores_handlers():
    def main():
        gort.signal.notify(gort.chan(1), signal.SIGUSR2)
        assert signal.getsignal(signal.SIGUSR2) is not signal.SIG_DFL

    gort.run(main)
    assert signal.getsignal(signal.SIGUSR2) is signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_notify_context():
    def main():
        ctx, stop = gort.signal.notify_context(gort.context.background(), signal.SIGUSR1)
        assert ctx.err() is None
        t = _kill_later(0.05, signal.SIGUSR1)
        ctx.done().recv()
        t.join()
        err = ctx.err()
        stop()
        # stop alone also cancels, and gives the handler back.
        ctx2, stop2 = gort.signal.notify_context(gort.context.background(), signal.SIGUSR1)
        stop2()
        assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL
        return err, ctx2.err()

    err, err2 = gort.run(main)
    assert isinstance(err, gort.context.CanceledError)
    assert isinstance(err2, gort.context.CanceledError)


def test_bad_input():
    def main():
        with pytest.raises(TypeError, match="gort.Chan"):
            gort.signal.notify(None, signal.SIGUSR1)
        with pytest.raises(TypeError, match="signal must be"):
            gort.signal.notify(gort.chan(1), "SIGUSR1")
        with pytest.raises(ValueError, match="cannot be caught"):
            gort.signal.notify(gort.chan(1), signal.SIGKILL)

    gort.run(main)


def test_off_main_thread_raises_clearly(no_thread_leak):
    out = []

    def main():
        with pytest.raises(RuntimeError, match="only on the main thread"):
            gort.signal.notify(gort.chan(1), signal.SIGUSR1)
        out.append(True)

    t = threading.Thread(target=gort.run, args=(main,))
    t.start()
    t.join(10)
    assert out == [True]


# --------------------------------------------------------------------------
# Ctrl-C and SystemExit, in subprocesses with real signals

_PINGPONG = textwrap.dedent("""
    import sys, time, gort, gort.time
    fin, started = [], []
    def pp(a, b):
        try:
            started.append(1)
            while True:
                b.send(a.recv())
        finally:
            fin.append(1)
    def sleeper():
        try:
            started.append(1)
            while True:
                gort.time.sleep(0.001)
        finally:
            fin.append(1)
    def main():
        for i in range(8):
            a, b = gort.chan(), gort.chan()
            gort.go(pp, a, b); gort.go(pp, b, a); gort.go(a.send, 0)
        for i in range(4):
            gort.go(sleeper)
        # Every one started (a G killed unstarted runs no finally); several
        # Ms on a loaded machine may take longer than a fixed sleep.  Bounded.
        end = time.monotonic() + 10
        while len(started) < 20 and time.monotonic() < end:
            gort.time.sleep(0.002)
        gort.time.sleep(0.02)
        print("ready", flush=True)
        gort.time.sleep(100)
    try:
        gort.run(main)
    except KeyboardInterrupt:
        print("KeyboardInterrupt", len(fin), flush=True)
""")


def _spawn(src, env=None):
    return subprocess.Popen([sys.executable, "-c", src], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=ROOT, **(env or {})))


def test_ctrl_c_20_runs_at_gomaxprocs_4_none_hang():
    # The issue: SIGINT at GOMAXPROCS 4 with 8 ping-pong pairs and sleepers
    # hung 3-4 runs of 20 (KeyboardInterrupt raised inside runtime code that
    # held a lock).  Now: 20 of 20 end, every goroutine's finally ran.
    hung, bad = 0, []
    for i in range(20):
        p = _spawn(_PINGPONG, {"GORTMAXPROCS": "4"})
        try:
            assert p.stdout.readline().strip() == "ready"
            time.sleep(0.01 * (i % 5))  # land at different points of the loops
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            hung += 1
            p.kill()
            p.communicate()
            continue
        if p.returncode != 0 or out.strip() != "KeyboardInterrupt 20":
            bad.append((p.returncode, out, err[-2000:]))
    assert hung == 0 and not bad, (hung, bad)


_LAZY = textwrap.dedent("""
    import sys, gort, gort.time
    def worker(i):
        try:
            gort.time.sleep(100)
        finally:
            print("finally", i, flush=True)
    for i in range(3):
        gort.go(worker, i)
    ch = gort.chan()
    gort.go(lambda: (gort.time.sleep(0.02), print("ready", flush=True)))
    try:
        ch.recv()
    finally:
        print("main finally", flush=True)
""")


@pytest.mark.parametrize("procs", ["1", "4"])
def test_ctrl_c_lazy_runtime_tears_down_every_goroutine(procs):
    p = _spawn(_LAZY, {"GORTMAXPROCS": procs})
    try:
        assert p.stdout.readline().strip() == "ready"
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=15)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode != 0
    assert "KeyboardInterrupt" in err and "gort/sched" not in err.split("KeyboardInterrupt")[-1]
    lines = out.split()
    for i in range(3):
        assert f"finally {i}" in out, out
    assert "main finally" in out and lines.count("finally") == 4, out


def test_ctrl_c_lazy_runtime_12_runs_none_hang():
    # The main thread's M asleep on its note: the handler's _SigWake once
    # raised anywhere in Event.wait, and a raise between the Event's lock
    # acquire and its with-block left that lock held; the next wait hung
    # (free-threaded build, GOMAXPROCS 1: 2-5 runs in 6).  Now it raises
    # only out of the waiter's acquire, and the wait is sliced.
    hung, bad = 0, []
    for _ in range(12):
        p = _spawn(_LAZY, {"GORTMAXPROCS": "1"})
        try:
            assert p.stdout.readline().strip() == "ready"
            p.send_signal(signal.SIGINT)  # at once: M0 is on its way to sleep (the window)
            out, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            hung += 1
            p.kill()
            p.communicate()
            continue
        if p.returncode == 0 or "KeyboardInterrupt" not in err or "main finally" not in out:
            bad.append((p.returncode, out, err[-2000:]))
    assert hung == 0 and not bad, (hung, bad)


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("procs", ["1", "4"])
def test_system_exit_in_goroutine_ends_program(lazy, procs):
    body = textwrap.dedent("""
        import sys, gort, gort.time
        def bye():
            gort.time.sleep(0.01)
            sys.exit(7)
        def main():
            gort.go(bye)
            gort.time.sleep(30)
            print("not reached")
    """)
    if lazy:
        body += "gort.go(bye)\ngort.time.sleep(30)\nprint('not reached')\n"
    else:
        body += "gort.run(main)\n"
    p = _spawn(body, {"GORTMAXPROCS": procs})
    t0 = time.monotonic()
    out, err = p.communicate(timeout=20)
    assert p.returncode == 7, (out, err)
    assert "not reached" not in out and "panic" not in err
    assert time.monotonic() - t0 < 15


# --------------------------------------------------------------------------
# The samples shut down on SIGTERM and Ctrl-C (gort.signal.notify_context)


@pytest.mark.parametrize("sample,args", [
    ("samples/echo_server.py", ["--port", "0"]),
    ("samples/chat_server.py", ["--port", "0"]),
])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sample_server_shuts_down_on_signal(sample, args, sig):
    p = subprocess.Popen([sys.executable, sample, *args], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, PYTHONPATH=ROOT))
    try:
        line = p.stdout.readline()
        assert "server on" in line, (line, p.stderr.read() if p.poll() is not None else "")
        # An idle server: the runtime sits in netpoll when the signal comes.
        time.sleep(0.1)
        p.send_signal(sig)
        out, err = p.communicate(timeout=15)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode == 0, (out, err)
    assert "Traceback" not in err, err
    assert "shutting down" in out + err


def test_notify_in_a_lazy_runtime():
    # No gort.run: the script's greenlet is the main goroutine, on the main thread.
    ch = gort.chan(1)
    gort.signal.notify(ch, signal.SIGUSR2)
    try:
        t = _kill_later(0.05, signal.SIGUSR2)
        assert ch.recv() == signal.SIGUSR2
        t.join()
    finally:
        gort.signal.stop(ch)
    assert signal.getsignal(signal.SIGUSR2) is signal.SIG_DFL


def test_notify_all_and_reset_all():
    def main():
        ch = gort.chan(1)
        gort.signal.notify(ch)  # Go: no signals = all of them
        assert signal.getsignal(signal.SIGUSR1) is not signal.SIG_DFL
        assert signal.getsignal(signal.SIGSEGV) is signal.SIG_DFL  # faults are left alone
        os.kill(os.getpid(), signal.SIGUSR1)
        v = ch.recv()
        gort.signal.reset()
        return v

    assert gort.run(main) == signal.SIGUSR1
    assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
