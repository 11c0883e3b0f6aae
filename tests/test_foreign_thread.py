"""Foreign threads (issue 12, item 4): channel operations from a plain
threading.Thread / threading.Timer, gort.from_thread, and the clear error
for every other gort call from such a thread.  Run at GORTMAXPROCS 1 and 4."""

import threading
import time

import pytest
from testutil import wait_until

import gort
import gort.time
from gort.sched import proc


def _join(*threads):
    # Join from a goroutine without holding its M (a plain join would block
    # the runtime's thread, and with it the goroutines the threads wait on).
    for t in threads:
        gort.blocking(t.join, 10)
        assert not t.is_alive()


def test_timer_send_wakes_receiver(no_thread_leak):
    # The issue: at P1 the receiver woke with the 1 s sleeper (1.00 s); at P4
    # the send raised "goroutines already run on thread 'MainThread'".
    def main():
        ch = gort.chan()
        gort.go(gort.time.sleep, 1)
        t0 = time.monotonic()
        t = threading.Timer(0.1, ch.send, ("hi",))
        t.start()
        v = ch.recv()
        elapsed = time.monotonic() - t0
        _join(t)
        return v, elapsed

    v, elapsed = gort.run(main)
    assert v == "hi"
    assert elapsed < 0.7, elapsed


def test_thread_blocks_on_recv_and_send(no_thread_leak):
    def main():
        a, b = gort.chan(), gort.chan()
        got = []

        def th():
            got.append(a.recv())  # blocks this thread until main sends
            b.send("back")  # blocks until main receives

        t = threading.Thread(target=th)
        t.start()
        gort.time.sleep(0.05)
        a.send(1)
        v = b.recv()
        _join(t)
        return got, v

    assert gort.run(main) == ([1], "back")


def test_thread_close_and_select(no_thread_leak):
    def main():
        c = gort.chan(1)
        d = gort.chan()
        out = []

        def th():
            out.append(gort.select(gort.send(c, 5), default=True))
            out.append(gort.select(gort.send(c, 6), default=True))  # full: default
            i, v, ok = gort.select(gort.recv(d))  # blocks until main sends
            out.append((i, v, ok))
            c.close()

        t = threading.Thread(target=th)
        t.start()
        d.send("x")  # the thread's two sends on c are over by now: c is full
        first = c.recv()
        rest = list(c)
        _join(t)
        return out, first, rest

    out, first, rest = gort.run(main)
    assert out[0][0] == 0 and out[1][0] == -1 and out[2] == (0, "x", True)
    assert first == 5 and rest == []


def test_thread_close_wakes_waiting_goroutines(no_thread_leak):
    def main():
        c = gort.chan()
        done = gort.chan(3)
        for _ in range(3):
            gort.go(lambda: done.send(c.recv_ok()))
        gort.time.sleep(0.02)
        t = threading.Timer(0.05, c.close)
        t.start()
        res = [done.recv() for _ in range(3)]
        _join(t)
        return res

    assert gort.run(main) == [(None, False)] * 3


def test_many_threads_and_goroutines_exchange_exactly(no_thread_leak):
    T, G, N = 4, 4, 300

    def main():
        work = gort.chan()
        results = gort.chan(16)

        def thread_producer(k):
            for i in range(N):
                work.send((k, i))

        def consumer():
            for item in work:
                results.send(item)

        threads = [threading.Thread(target=thread_producer, args=(k,)) for k in range(T)]
        for _ in range(G):
            gort.go(consumer)
        for t in threads:
            t.start()
        seen = set()
        for _ in range(T * N):
            seen.add(results.recv())
        _join(*threads)
        work.close()
        return seen

    assert gort.run(main) == {(k, i) for k in range(4) for i in range(300)}


def test_from_thread(no_thread_leak):
    def main():
        out = []

        def th():
            out.append(gort.from_thread(lambda a, b=0: (a + b, gort.num_goroutine() > 0), 40, b=2))
            try:
                gort.from_thread(lambda: 1 / 0)
            except ZeroDivisionError:
                out.append("raised")
            ch = gort.chan(1)
            # fn runs in a goroutine: it may block, sleep, use the runtime freely.
            out.append(gort.from_thread(lambda: (gort.time.sleep(0.01), ch.send(7), ch.recv())[2]))

        t = threading.Thread(target=th)
        t.start()
        _join(t)
        return out

    assert gort.run(main) == [(42, True), "raised", 7]


def test_from_thread_on_a_goroutine_or_without_runtime_raises():
    with pytest.raises(RuntimeError, match="no gort runtime"):
        gort.from_thread(lambda: None)

    def main():
        with pytest.raises(RuntimeError, match="runtime's threads"):
            gort.from_thread(lambda: None)
        with pytest.raises(TypeError):
            gort.from_thread(42)

    gort.run(main)


def test_other_calls_from_a_thread_name_from_thread(no_thread_leak):
    def main():
        errs = []

        def th():
            for call in (lambda: gort.go(lambda: None), lambda: gort.time.sleep(0.01),
                         gort.gosched):
                try:
                    call()
                except RuntimeError as e:
                    errs.append(str(e))

        t = threading.Thread(target=th)
        t.start()
        _join(t)
        return errs

    errs = gort.run(main)
    assert len(errs) == 3 and all("from_thread" in e for e in errs), errs


def test_thread_blocked_when_run_ends_gets_an_error(no_thread_leak):
    box = []
    ready = threading.Event()

    def th(c):
        ready.set()
        try:
            c.recv()
        except RuntimeError as e:
            box.append(str(e))

    def main():
        c = gort.chan()
        t = threading.Thread(target=th, args=(c,))
        t.start()
        gort.blocking(ready.wait, 5)
        wait_until(lambda: len(c.recvq), "the thread parked on c", poll=0.005)
        assert len(c.recvq) == 1
        return t

    t = gort.run(main)
    t.join(5)
    assert not t.is_alive()
    assert box and "runtime ended" in box[0]


def test_waiting_thread_is_not_a_deadlock(no_thread_leak):
    # main waits on a channel that only a thread will send on, with nothing
    # else pending: the thread, once blocked in a channel op itself, keeps
    # the run alive (as a blocking call does).
    def main():
        a, b = gort.chan(), gort.chan()

        def th():
            b.send(a.recv() + 1)

        t = threading.Thread(target=th)
        t.start()
        wait_until(lambda: len(a.recvq), "the thread parked on a", poll=0.005)
        a.send(1)
        v = b.recv()
        _join(t)
        return v

    assert gort.run(main) == 2


def test_goroutine_hot_paths_take_no_locks_without_threads():
    # A run with no foreign thread stays in single-M mode at P1: no channel
    # lock is taken (the reason foreign threads are admitted by a hook).
    def main():
        return proc._mn

    others = [t for t in threading.enumerate()
              if t is not threading.current_thread() and not t.name.startswith("gort-")]
    if proc._defaultprocs() == 1 and not others:
        assert gort.run(main) is False


def test_thread_older_than_the_runtime_is_admitted_by_from_thread(no_thread_leak):
    # No hook for a thread that predates the run: its first call is from_thread.
    box = []
    go_on = threading.Event()
    admitted = threading.Event()
    handoff = []

    def th():
        go_on.wait(10)
        ch = gort.from_thread(lambda: handoff[0])
        admitted.set()
        ch.send("from an old thread")
        box.append(ch.recv())

    t = threading.Thread(target=th)
    t.start()

    def main():
        ch = gort.chan()
        handoff.append(ch)
        go_on.set()
        gort.blocking(admitted.wait, 10)
        v = ch.recv()
        ch.send("reply")
        _join(t)
        return v

    assert gort.run(main) == "from an old thread"
    assert box == ["reply"]


def test_the_thread_hook_on_an_m_itself_is_dropped_not_waited_on():
    # threading.setprofile_all_threads (3.12+) can give the runtime's own
    # thread the hook that admits plain threads; CPython's test_threading
    # does, restoring the hook it found.  The M must drop it: before, its
    # next channel operation waited 10 s for its own admission and raised.
    import sys

    def main():
        prev = sys.getprofile()
        sys.setprofile(proc._threadprofile)
        try:
            c = gort.chan(1)
            t0 = time.monotonic()
            c.send(1)
            assert c.recv() == 1
            proc.thread_attach()  # an M: returns at once
            return time.monotonic() - t0
        finally:
            sys.setprofile(prev)

    assert gort.run(main) < 1.0
